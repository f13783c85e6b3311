//! What each list shows of its rows: a key, the text the filter searches, sort keys.

use super::*;

/// A row of a list: a stable key (for marks and keeping the selection across reloads) and the
/// text the filter searches.
pub trait Row {
    fn key(&self) -> String;
    fn haystack(&self) -> String;
    /// The columns the list can be sorted by, as their headers read.
    const SORT_COLUMNS: &'static [&'static str] = &[];
    /// What orders rows by column `c` of [`Row::SORT_COLUMNS`] (numbers zero-padded).
    fn sort_key(&self, _c: usize) -> String {
        String::new()
    }
}

/// A number as a key that sorts as the number does (for non-negative values).
pub(super) fn num(n: i64) -> String {
    format!("{:020}", n.max(0))
}

impl Row for ScriptListModel {
    fn key(&self) -> String {
        self.script_uuid.clone()
    }
    const SORT_COLUMNS: &'static [&'static str] = &["NAME", "TYPE", "RISK", "VERSION", "UPDATED"];
    fn sort_key(&self, c: usize) -> String {
        match c {
            0 => self.name.to_lowercase(),
            1 => self.script_type.to_string(),
            2 => (self.properties.risk_level as u8).to_string(),
            3 => self.properties.version.clone(),
            _ => num(self.gmt_modified),
        }
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.name,
            self.script_uuid,
            self.script_type,
            self.properties.risk_level,
            self.properties.version
        )
    }
}

impl Row for JobScriptOrderListModel {
    fn key(&self) -> String {
        self.execute_uuid.clone()
    }
    const SORT_COLUMNS: &'static [&'static str] = &[
        "STATUS", "SCRIPT", "HOSTS", "PROGRESS", "CREATED", "DURATION",
    ];
    fn sort_key(&self, c: usize) -> String {
        let t = self.properties.tally.unwrap_or_default();
        match c {
            0 => self.status.words().to_string(),
            1 => self.order_name.to_lowercase(),
            2 => num(t.total),
            3 => num((t.total - t.waiting - t.running) * 1000 / t.total.max(1)),
            4 => num(self.gmt_created),
            _ => num(self.execute_costs.unwrap_or(0)),
        }
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {}",
            self.execute_uuid, self.order_name, self.status, self.creator
        )
    }
}

impl Row for Resource {
    fn key(&self) -> String {
        self.resource_id.clone()
    }
    const SORT_COLUMNS: &'static [&'static str] = &["RESOURCE_ID", "TRANSPORT", "REACHABLE"];
    fn sort_key(&self, c: usize) -> String {
        let prop = |k: &str| {
            self.properties
                .get(k)
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        match c {
            0 => self.resource_id.clone(),
            1 => prop("transport"),
            _ => prop("reachable"),
        }
    }
    fn haystack(&self) -> String {
        let tags: Vec<String> = self
            .tags
            .iter()
            .map(|t| format!("{}={}", t.key, t.value))
            .collect();
        format!("{} {} {}", self.resource_id, self.name, tags.join(" "))
    }
}

impl Row for cocpit_api::model::agent::AgentSummary {
    fn key(&self) -> String {
        self.instance_id.clone()
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {}",
            self.instance_id,
            self.agent_state.as_deref().unwrap_or(""),
            self.version.as_deref().unwrap_or("")
        )
    }
}

impl Row for cocpit_api::model::desktop::AgentsCondition {
    fn key(&self) -> String {
        self.desktop_id.clone()
    }
    fn haystack(&self) -> String {
        format!("{} {} {}", self.desktop_id, self.desktop_name, self.status)
    }
}

impl Row for cocpit_api::model::tat::Invoker {
    fn key(&self) -> String {
        self.invoker_id.clone()
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {}",
            self.invoker_id,
            self.name,
            self.command_id,
            self.instance_ids.join(" ")
        )
    }
}

impl Row for cocpit_api::model::tat::InvokerRecord {
    fn key(&self) -> String {
        self.invocation_id.clone()
    }
    fn haystack(&self) -> String {
        format!("{} {} {}", self.invoke_time, self.result, self.reason)
    }
}

impl Row for Alarm {
    fn key(&self) -> String {
        self.alarm_id.clone()
    }
    const SORT_COLUMNS: &'static [&'static str] = &["LEVEL", "STATE", "LAST SEEN", "NAME"];
    fn sort_key(&self, c: usize) -> String {
        match c {
            0 => self.level.rank().to_string(),
            1 => format!("{:?}", self.state),
            2 => num(self.last_seen),
            _ => self.name.to_lowercase(),
        }
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {}",
            self.name,
            self.level,
            self.state,
            self.application_id,
            self.resource_name,
            self.description,
            self.alarm_id,
            if self.acked_by.is_some() { "acked" } else { "" }
        )
    }
}

impl Row for AlarmGroup {
    fn key(&self) -> String {
        self.group_key.clone()
    }
    fn haystack(&self) -> String {
        format!("{} {} {}", self.group_key, self.level, self.application_id)
    }
}

impl Row for IncidentSummary {
    fn key(&self) -> String {
        self.incident_num.clone()
    }
    const SORT_COLUMNS: &'static [&'static str] = &["STATUS", "LEVEL", "CREATED", "TITLE"];
    fn sort_key(&self, c: usize) -> String {
        match c {
            0 => self.status.name_en().to_string(),
            1 => self.incident_level.clone(),
            2 => num(self.create_time),
            _ => self.incident_title.to_lowercase(),
        }
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.incident_num,
            self.incident_title,
            self.status.name_en(),
            self.incident_level,
            self.incident_type
        )
    }
}

/// Firing, unsilenced alarms by level (Critical, Major, Minor, Info), for the header.
pub fn alarm_counts(alarms: &[Alarm]) -> [usize; 4] {
    let mut c = [0; 4];
    for a in alarms {
        if a.state == AlarmState::Firing && a.silenced_by.is_none() {
            c[a.level.rank() as usize] += 1;
        }
    }
    c
}

pub const ALARM_LEVELS: [AlarmLevel; 4] = [
    AlarmLevel::Critical,
    AlarmLevel::Major,
    AlarmLevel::Minor,
    AlarmLevel::Info,
];

impl Row for cocpit_api::model::team::AuditEntry {
    fn key(&self) -> String {
        self.id.to_string()
    }
    const SORT_COLUMNS: &'static [&'static str] = &["WHEN", "USER", "OPERATION", "STATUS"];
    fn sort_key(&self, c: usize) -> String {
        match c {
            0 => num(self.at),
            1 => self.user.to_lowercase(),
            2 => self.operation.clone(),
            _ => num(self.status as i64),
        }
    }
    fn haystack(&self) -> String {
        format!(
            "{} {} {} {} {} {} {}",
            self.user,
            self.role,
            self.address,
            self.operation,
            self.target,
            self.status,
            self.outcome
        )
    }
}
