//! Incidents (seed 003 §4.4.1): create, handle, detail, their enumerations, and the GOM
//! envelope (`provider_code` "049") these APIs answer with.

use serde::{Deserialize, Deserializer, Serialize};

use super::validate::{Checked, invalid, length};
use super::wire_enum;

/// `{"provider_code": "049", "error_code": "GOM.00000000", "error_msg": null, "data": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gom<T> {
    pub provider_code: String,
    pub error_code: String,
    pub error_msg: Option<String>,
    pub data: T,
}

pub const PROVIDER_CODE: &str = "049";
pub const GOM_OK: &str = "GOM.00000000";

impl<T> Gom<T> {
    pub fn ok(data: T) -> Gom<T> {
        Gom {
            provider_code: PROVIDER_CODE.into(),
            error_code: GOM_OK.into(),
            error_msg: None,
            data,
        }
    }
}

wire_enum!(
    /// Incident Status (§4.4.1.6.4).
    IncidentStatus {
        Draft = "incident_draft",
        Triggered = "INCIDENT_STATUS_TRIGGERED",
        Acknowledged = "INCIDENT_STATUS_ACKNOWLEDGED",
        Rejected = "INCIDENT_STATUS_REJECTED",
        Resolved = "INCIDENT_STATUS_RESOLVED",
        Completed = "INCIDENT_STATUS_COMPLETED",
    }
);

impl IncidentStatus {
    /// The English name the seed's enumeration gives (`ACKNOWLEDGED`).
    pub fn name_en(self) -> &'static str {
        match self {
            IncidentStatus::Draft => "DRAFT",
            IncidentStatus::Triggered => "TRIGGERED",
            IncidentStatus::Acknowledged => "ACKNOWLEDGED",
            IncidentStatus::Rejected => "REJECTED",
            IncidentStatus::Resolved => "RESOLVED",
            IncidentStatus::Completed => "COMPLETED",
        }
    }

    /// The seed table's "Chinese name" column (as the translated document gives it).
    pub fn name_zh(self) -> &'static str {
        match self {
            IncidentStatus::Draft => "Draft",
            IncidentStatus::Triggered => "Unaccepted",
            IncidentStatus::Acknowledged => "Accepted",
            IncidentStatus::Rejected => "Rejected",
            IncidentStatus::Resolved => "To-be-verified",
            IncidentStatus::Completed => "Completed",
        }
    }

    /// The operations (`operate_key`s) legal in this status.
    pub fn operations(self) -> &'static [OperateKey] {
        match self {
            IncidentStatus::Triggered => &[OperateKey::Accept, OperateKey::Reject],
            IncidentStatus::Acknowledged => &[OperateKey::CommitSolution],
            IncidentStatus::Resolved => &[OperateKey::Confirm],
            _ => &[],
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, IncidentStatus::Completed | IncidentStatus::Rejected)
    }
}

wire_enum!(
    /// `operate_key` of `POST /v1/external/incident/handle`. Rejecting is cocpit's name: the seed
    /// documents the state but not its key.
    OperateKey {
        Accept = "acceptedIncident1",
        CommitSolution = "commitSolution1",
        Confirm = "confirm",
        Reject = "rejectedIncident1",
    }
);

/// `(key, Chinese name, English name)` rows of an enumeration table.
pub type EnumRow = (&'static str, &'static str, &'static str);

/// Incident Level (§4.4.1.6.1).
pub const LEVELS: &[EnumRow] = &[
    ("level_10", "P1", "P1"),
    ("level_20", "P2", "P2"),
    ("level_30", "P3", "P3"),
    ("level_40", "P4", "P4"),
    ("level_50", "P5", "P5"),
];

/// Incident Type (§4.4.1.6.2), as the seed's table has it (its `ohter` spelling included; its
/// "Chinese name" column is the translated document's).
pub const TYPES: &[EnumRow] = &[
    (
        "inc_type_p_security_issues",
        "Security Issues",
        "Security issues",
    ),
    (
        "inc_type_p_function_issues",
        "Function issues",
        "function issues",
    ),
    (
        "inc_type_p_reliability_issues",
        "Performance/ reliability Issues",
        "reliability issues",
    ),
    (
        "inc_type_p_config_issues",
        "Configuration issues",
        "config issues",
    ),
    (
        "inc_type_p_middlewares",
        "Middleware issues",
        "middleware issues",
    ),
    (
        "inc_type_p_hardware_issues",
        "Hardware issues",
        "hardware issues",
    ),
    (
        "inc_type_p_networking_issues",
        "Network issues",
        "networking issues",
    ),
    (
        "inc_type_p_shelter_issues",
        "Equipment room issues",
        "shelter issues",
    ),
    (
        "inc_type_p_monitoring_issues",
        "Monitoring issues",
        "monitoring issues",
    ),
    (
        "inc_type_p_consulting_issues",
        "Consultation issues",
        "consulting issues",
    ),
    (
        "inc_type_p_suppliers_issues",
        "Supplier issues",
        "suppliers issues",
    ),
    ("inc_type_p_ohter_issues", "Other", "Other issues"),
    (
        "inc_type_p_change_issues",
        "Change operation issues",
        "Change operation problem",
    ),
];

/// Incident Source (§4.4.1.6.3).
pub const SOURCES: &[EnumRow] = &[
    (
        "incident_source_manual",
        "Manual creation",
        "Manual Creation",
    ),
    (
        "incident_source_forwarding",
        "Transfer creation",
        "Transfer creation",
    ),
    ("incident_source_alarm", "Alarm", "alarm"),
];

impl OperateKey {
    /// What the operation does, in words (`acceptedIncident1` → `accepted`).
    pub fn words(self) -> &'static str {
        match self {
            OperateKey::Accept => "accepted",
            OperateKey::CommitSolution => "solution submitted",
            OperateKey::Confirm => "verified",
            OperateKey::Reject => "rejected",
        }
    }
}

/// Any incident code in words: a level (`P3`), a type (`Function issues`), a source (`Alarm`),
/// a timeline action (`accepted`); an unknown code as it is.
pub fn words(code: &str) -> String {
    if let Some(r) = find(LEVELS, code) {
        return r.2.to_string();
    }
    for table in [TYPES, SOURCES] {
        if let Some(r) = find(table, code) {
            return r.1.to_string();
        }
    }
    match code.parse::<OperateKey>() {
        Ok(k) => k.words().to_string(),
        Err(_) => code.to_string(),
    }
}

/// The English name of a level key (`level_10` → `P1`), or the key itself.
pub fn level_name(key: &str) -> String {
    find(LEVELS, key)
        .map(|r| r.2.to_string())
        .unwrap_or_else(|| key.into())
}

pub fn find(table: &[EnumRow], key: &str) -> Option<EnumRow> {
    table.iter().copied().find(|(k, _, _)| *k == key)
}

pub fn keys(table: &[EnumRow]) -> String {
    table
        .iter()
        .map(|(k, _, _)| *k)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A boolean the seed's example (and the SDK, whose field is a `str`) may send as `"true"`.
pub fn bool_or_str<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        B(bool),
        S(String),
    }
    match B::deserialize(d)? {
        B::B(b) => Ok(b),
        B::S(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "expected true or false, got {other:?}"
            ))),
        },
    }
}

/// `CreateExternalIncidentRequest`: the body of `POST /v1/external/incident/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateIncident {
    #[serde(default)]
    pub region: Vec<String>,
    #[serde(default)]
    pub enterprise_project: Vec<String>,
    pub current_cloud_service: Vec<String>,
    pub incident_level: String,
    #[serde(deserialize_with = "bool_or_str")]
    pub is_service_interrupt: bool,
    pub incident_type: String,
    pub incident_title: String,
    pub incident_description: String,
    pub incident_source: String,
    #[serde(default)]
    pub incident_assignee: Vec<String>,
    /// The seed's table says `assignee_scenario`; its examples and the SDK say `assignee_scene`.
    #[serde(default, alias = "assignee_scenario")]
    pub assignee_scene: Option<String>,
    #[serde(default)]
    pub assignee_role: Option<String>,
    pub creator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_ownership: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedIncident {
    pub incident_num: String,
}

/// `HandleExternalIncidentRequest`: the body of `POST /v1/external/incident/handle`. The key is
/// read as text so an unknown one gets the seed's own message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandleIncident {
    pub incident_num: String,
    pub operator: String,
    pub operate_key: String,
    #[serde(default)]
    pub parameter: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `TicketInfoEnumData`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketInfoEnumData {
    pub filed_key: String,
    pub enum_key: String,
    pub name_zh: String,
    pub name_en: String,
}

/// `IncidentTicketInfoResponseData`: `GET /v1/external/incident/{incident_num}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentInfo {
    pub incident_num: String,
    pub region: Vec<String>,
    pub enterprise_project: Vec<String>,
    pub current_cloud_service: Vec<String>,
    pub incident_level: String,
    pub is_service_interrupt: bool,
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub fault_recovery_time: Option<i64>,
    #[serde(default)]
    pub fault_delineation_time: Option<i64>,
    #[serde(default)]
    pub incident_ownership: Option<String>,
    pub incident_type: String,
    pub incident_title: String,
    pub incident_description: String,
    pub incident_source: String,
    pub incident_assignee: Vec<String>,
    #[serde(default, alias = "assignee_scenario")]
    pub assignee_scene: Option<String>,
    #[serde(default)]
    pub assignee_role: Option<String>,
    #[serde(default)]
    pub warroom_id: Option<String>,
    pub handle_time: Option<i64>,
    pub status: IncidentStatus,
    pub create_time: i64,
    pub creator: String,
    #[serde(default)]
    pub enum_data_list: Vec<TicketInfoEnumData>,
}

/// One step of an incident's life: who did what, when, and with which parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: i64,
    pub operator: String,
    /// `create`, an `operate_key`, or `link_alarm`.
    pub action: String,
    pub from_status: Option<IncidentStatus>,
    pub to_status: IncidentStatus,
    #[serde(default)]
    pub parameter: serde_json::Map<String, serde_json::Value>,
}

/// A row of cocpit's incident list (`GET /v1/cocpit/incidents`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    pub incident_num: String,
    pub incident_title: String,
    pub incident_level: String,
    pub incident_type: String,
    pub incident_source: String,
    pub status: IncidentStatus,
    pub is_service_interrupt: bool,
    pub create_time: i64,
    pub handle_time: Option<i64>,
    pub creator: String,
    pub incident_assignee: Vec<String>,
    /// Alarms this incident was created from.
    #[serde(default)]
    pub alarm_ids: Vec<String>,
}

/// Query of cocpit's incident list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListIncidentsQuery {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// One incident with its timeline and linked alarms (`GET /v1/cocpit/incidents/{num}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    pub info: IncidentInfo,
    pub timeline: Vec<TimelineEntry>,
    pub alarm_ids: Vec<String>,
}

/// The longest text of any incident field without a stated limit.
pub const MAX_FIELD: usize = 255;

fn one_at_most(field: &str, v: &[String]) -> Checked {
    if v.len() > 1 {
        return Err(invalid(field, format!("at most 1 value (got {})", v.len())));
    }
    for (i, s) in v.iter().enumerate() {
        length(&format!("{field}[{i}]"), s, 0, MAX_FIELD)?;
    }
    Ok(())
}

pub fn in_table(field: &str, value: &str, table: &[EnumRow]) -> Checked {
    if find(table, value).is_none() {
        return Err(invalid(
            field,
            format!("{value:?} is not one of {}", keys(table)),
        ));
    }
    Ok(())
}

/// Every rule of the create body (§4.4.1.1).
pub fn check_create(c: &CreateIncident) -> Checked {
    one_at_most("region", &c.region)?;
    one_at_most("enterprise_project", &c.enterprise_project)?;
    if c.current_cloud_service.is_empty() {
        return Err(invalid(
            "current_cloud_service",
            "must hold the application id (1 value)",
        ));
    }
    one_at_most("current_cloud_service", &c.current_cloud_service)?;
    in_table("incident_level", &c.incident_level, LEVELS)?;
    in_table("incident_type", &c.incident_type, TYPES)?;
    in_table("incident_source", &c.incident_source, SOURCES)?;
    length("incident_title", &c.incident_title, 1, 200)?;
    length("incident_description", &c.incident_description, 1, 600)?;
    length("creator", &c.creator, 1, MAX_FIELD)?;
    one_at_most("incident_assignee", &c.incident_assignee)?;
    let scene = c.assignee_scene.as_deref().unwrap_or("").trim();
    let role = c.assignee_role.as_deref().unwrap_or("").trim();
    length("assignee_scene", scene, 0, MAX_FIELD)?;
    length("assignee_role", role, 0, MAX_FIELD)?;
    let assignee = c.incident_assignee.iter().any(|a| !a.trim().is_empty());
    if !assignee {
        match (scene.is_empty(), role.is_empty()) {
            (true, true) => {
                return Err(invalid(
                    "incident_assignee",
                    "an owner is required: incident_assignee, or assignee_scene with assignee_role",
                ));
            }
            (false, true) => {
                return Err(invalid(
                    "assignee_role",
                    "must be set with assignee_scene (they go together)",
                ));
            }
            (true, false) => {
                return Err(invalid(
                    "assignee_scene",
                    "must be set with assignee_role (they go together)",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
