//! Incidents: creation, the state machine of §4.4.1, the timeline of every transition, and the
//! enumerations the detail API spells out.
//!
//! TRIGGERED → accept → ACKNOWLEDGED → commitSolution → RESOLVED → confirm(true) → COMPLETED;
//! confirm(false) sends it back to ACKNOWLEDGED; TRIGGERED → reject → REJECTED.

use crate::Fault;
use serde_json::{Map, Value};

use super::{Change, Engine, EngineError, Result, now_ms};
use cocpit_api::model::Page;
use cocpit_api::model::incident::*;
use cocpit_api::model::incident::{MAX_FIELD, in_table};
use cocpit_api::model::validate::{invalid, length};

fn param_bool(p: &Map<String, Value>, name: &str) -> std::result::Result<bool, EngineError> {
    match p.get(name) {
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(other) => Err(invalid(
            format!("parameter.{name}"),
            format!("must be true or false (got {other})"),
        )
        .into()),
        None => Err(invalid(format!("parameter.{name}"), "is required").into()),
    }
}

fn param_text<'a>(
    p: &'a Map<String, Value>,
    name: &str,
    max: usize,
) -> std::result::Result<&'a str, EngineError> {
    let f = format!("parameter.{name}");
    match p.get(name) {
        Some(Value::String(s)) => {
            length(&f, s, 1, max)?;
            Ok(s)
        }
        Some(other) => Err(invalid(f, format!("must be text (got {other})")).into()),
        None => Err(invalid(f, "is required").into()),
    }
}

/// A fresh number in the seed's shape: `IM` + UTC time to the second + 10 digits.
fn incident_num(now: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
    format!(
        "IM{}{:010}",
        t.format("%Y%m%d%H%M%S"),
        fastrand::u64(0..10_000_000_000)
    )
}

/// The `enum_data_list` of a detail: the names of each coded field.
fn enum_data(info: &IncidentInfo) -> Vec<TicketInfoEnumData> {
    let row = |filed_key: &str, enum_key: &str, zh: &str, en: &str| TicketInfoEnumData {
        filed_key: filed_key.into(),
        enum_key: enum_key.into(),
        name_zh: zh.into(),
        name_en: en.into(),
    };
    let coded = |filed_key: &str, key: &str, table: &[EnumRow]| {
        find(table, key).map(|(k, zh, en)| row(filed_key, k, zh, en))
    };
    let mut v = vec![];
    if let Some(app) = info.current_cloud_service.first() {
        v.push(row("current_cloud_service_id", app, app, app));
    }
    v.push(row("creator", &info.creator, &info.creator, &info.creator));
    v.extend(coded("level_id", &info.incident_level, LEVELS));
    v.push(row(
        "work_flow_status",
        info.status.as_str(),
        info.status.name_zh(),
        info.status.name_en(),
    ));
    v.extend(coded("mtm_type", &info.incident_type, TYPES));
    v.extend(coded("source_id", &info.incident_source, SOURCES));
    for a in &info.incident_assignee {
        v.push(row("assignee", a, a, a));
    }
    v
}

fn summary(info: &IncidentInfo, alarm_ids: &[String]) -> IncidentSummary {
    IncidentSummary {
        incident_num: info.incident_num.clone(),
        incident_title: info.incident_title.clone(),
        incident_level: info.incident_level.clone(),
        incident_type: info.incident_type.clone(),
        incident_source: info.incident_source.clone(),
        status: info.status,
        is_service_interrupt: info.is_service_interrupt,
        create_time: info.create_time,
        handle_time: info.handle_time,
        creator: info.creator.clone(),
        incident_assignee: info.incident_assignee.clone(),
        alarm_ids: alarm_ids.to_vec(),
    }
}

impl Engine {
    /// Creates an incident (TRIGGERED) and returns its number. `alarm_ids` links the alarms it
    /// was made from.
    pub fn create_incident(&self, c: CreateIncident, alarm_ids: Vec<String>) -> Result<String> {
        check_create(&c)?;
        let now = now_ms();
        let store = &self.inner.store;
        let mut info = IncidentInfo {
            incident_num: String::new(),
            region: c.region,
            enterprise_project: c.enterprise_project,
            current_cloud_service: c.current_cloud_service,
            incident_level: c.incident_level,
            is_service_interrupt: c.is_service_interrupt,
            start_time: c.start_time.or(Some(now)),
            fault_recovery_time: None,
            fault_delineation_time: None,
            incident_ownership: c.incident_ownership,
            incident_type: c.incident_type,
            incident_title: c.incident_title,
            incident_description: c.incident_description,
            incident_source: c.incident_source,
            incident_assignee: c.incident_assignee,
            assignee_scene: c.assignee_scene,
            assignee_role: c.assignee_role,
            warroom_id: None,
            handle_time: None,
            status: IncidentStatus::Triggered,
            create_time: now,
            creator: c.creator.clone(),
            enum_data_list: vec![],
        };
        let mut parameter = Map::new();
        if !alarm_ids.is_empty() {
            parameter.insert("alarm_ids".into(), alarm_ids.clone().into());
        }
        let first = TimelineEntry {
            at: now,
            operator: c.creator,
            action: "create".into(),
            from_status: None,
            to_status: IncidentStatus::Triggered,
            parameter,
        };
        // Numbers are random within the second: a clash is retried, never overwritten.
        for _ in 0..8 {
            info.incident_num = incident_num(now);
            let row = super::store::IncidentRow {
                info: info.clone(),
                alarm_ids: alarm_ids.clone(),
            };
            if store.insert_incident(&row, &first)? {
                self.inner.emit(Change::IncidentChanged {
                    incident_num: info.incident_num.clone(),
                    status: IncidentStatus::Triggered,
                    summary: Some(Box::new(summary(&info, &alarm_ids))),
                });
                return Ok(info.incident_num);
            }
        }
        Err(EngineError(Fault::Internal(
            "could not draw a free incident number".into(),
        )))
    }

    /// One operation on an incident, legal only in its state (§4.4.1.2–4.4.1.4).
    pub fn handle_incident(&self, h: HandleIncident) -> Result<IncidentStatus> {
        length("incident_num", &h.incident_num, 1, MAX_FIELD)?;
        length("operator", &h.operator, 1, MAX_FIELD)?;
        let key: OperateKey = h.operate_key.parse().map_err(|_| {
            invalid(
                "operate_key",
                format!(
                    "The field[operate_key] value[{}] invalid (one of {})",
                    h.operate_key,
                    OperateKey::allowed()
                ),
            )
        })?;
        let store = &self.inner.store;
        let Some(mut row) = store.incident(&h.incident_num)? else {
            return Err(EngineError(Fault::NotFound(format!(
                "incident_num: no incident {}",
                h.incident_num
            ))));
        };
        let from = row.info.status;
        if !from.operations().contains(&key) {
            let allowed: Vec<&str> = from.operations().iter().map(|k| k.as_str()).collect();
            return Err(EngineError(Fault::Conflict(format!(
                "operate_key: {key} is not allowed while incident {} is {from}; allowed: {}",
                h.incident_num,
                if allowed.is_empty() {
                    "none (the incident is closed)".to_string()
                } else {
                    allowed.join(", ")
                }
            ))));
        }
        let p = h.parameter.clone().unwrap_or_default();
        let now = now_ms();
        let to = match key {
            OperateKey::Accept => IncidentStatus::Acknowledged,
            OperateKey::Reject => {
                param_text(&p, "reason", 300)?;
                IncidentStatus::Rejected
            }
            OperateKey::CommitSolution => {
                let mtm = param_text(&p, "mtm_type", MAX_FIELD)?;
                in_table("parameter.mtm_type", mtm, TYPES)?;
                let interrupted = param_bool(&p, "is_service_interrupt")?;
                param_text(&p, "cause", 10_000)?;
                param_text(&p, "solution", 10_000)?;
                row.info.incident_type = mtm.to_string();
                row.info.is_service_interrupt = interrupted;
                row.info.handle_time = Some(now);
                IncidentStatus::Resolved
            }
            OperateKey::Confirm => {
                let ok = param_bool(&p, "virtual_confirm_result")?;
                match p.get("virtual_confirm_comment") {
                    Some(Value::String(s)) => {
                        length("parameter.virtual_confirm_comment", s, 0, 300)?
                    }
                    Some(other) => {
                        return Err(invalid(
                            "parameter.virtual_confirm_comment",
                            format!("must be text (got {other})"),
                        )
                        .into());
                    }
                    None => {
                        return Err(
                            invalid("parameter.virtual_confirm_comment", "is required").into()
                        );
                    }
                }
                if ok {
                    row.info.fault_recovery_time = Some(now);
                    IncidentStatus::Completed
                } else {
                    IncidentStatus::Acknowledged
                }
            }
        };
        row.info.status = to;
        let entry = TimelineEntry {
            at: now,
            operator: h.operator,
            action: key.as_str().into(),
            from_status: Some(from),
            to_status: to,
            parameter: p,
        };
        if !store.update_incident(&row, from, &entry)? {
            return Err(EngineError(Fault::Conflict(format!(
                "incident {} changed meanwhile; read it again",
                h.incident_num
            ))));
        }
        self.inner.emit(Change::IncidentChanged {
            incident_num: row.info.incident_num.clone(),
            status: to,
            summary: Some(Box::new(summary(&row.info, &row.alarm_ids))),
        });
        Ok(to)
    }

    fn incident_row(&self, num: &str) -> Result<super::store::IncidentRow> {
        self.inner
            .store
            .incident(num)?
            .ok_or_else(|| EngineError(Fault::NotFound(format!("incident_num: no incident {num}"))))
    }

    /// The detail API's view, with `enum_data_list`.
    pub fn incident(&self, num: &str) -> Result<IncidentInfo> {
        let mut info = self.incident_row(num)?.info;
        info.enum_data_list = enum_data(&info);
        Ok(info)
    }

    /// An incident with its timeline and alarms.
    pub fn incident_detail(&self, num: &str) -> Result<IncidentDetail> {
        let row = self.incident_row(num)?;
        let mut info = row.info;
        info.enum_data_list = enum_data(&info);
        Ok(IncidentDetail {
            timeline: self.inner.store.timeline(num)?,
            info,
            alarm_ids: row.alarm_ids,
        })
    }

    /// Incidents newest first.
    pub fn list_incidents(&self, q: &ListIncidentsQuery) -> Result<Page<IncidentSummary>> {
        if let Some(s) = &q.status {
            s.parse::<IncidentStatus>()
                .map_err(|rule| invalid("status", rule))?;
        }
        if let Some(l) = &q.level {
            in_table("level", l, LEVELS)?;
        }
        let limit = cocpit_api::model::validate::limit(q.limit, 1000)?;
        let offset = q.offset.unwrap_or(0).max(0);
        let (rows, total) = self.inner.store.list_incidents(
            q.status.as_deref(),
            q.level.as_deref(),
            offset,
            limit,
        )?;
        Ok(Page {
            total,
            data: rows
                .iter()
                .map(|r| summary(&r.info, &r.alarm_ids))
                .collect(),
        })
    }
}
