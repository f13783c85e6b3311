//! Alarms: the custom integration body (seed 003 §4.4.2), Prometheus Alertmanager's webhook, the
//! SDK's alarm-management shapes, and cocpit's own list, group and silence types.

use serde::{Deserialize, Serialize};

use super::wire_enum;

wire_enum!(
    /// `alarmLevel`.
    AlarmLevel {
        Critical = "Critical",
        Major = "Major",
        Minor = "Minor",
        Info = "Info",
    }
);

impl AlarmLevel {
    /// The incident level an alarm of this severity opens (Critical → P1 … Info → P4).
    pub fn incident_level(self) -> &'static str {
        match self {
            AlarmLevel::Critical => "level_10",
            AlarmLevel::Major => "level_20",
            AlarmLevel::Minor => "level_30",
            AlarmLevel::Info => "level_40",
        }
    }

    /// Most severe first.
    pub fn rank(self) -> u8 {
        match self {
            AlarmLevel::Critical => 0,
            AlarmLevel::Major => 1,
            AlarmLevel::Minor => 2,
            AlarmLevel::Info => 3,
        }
    }
}

wire_enum!(
    /// Where an alarm stands: firing, or cleared (`alarmStatus: ok`, Alertmanager `resolved`, or
    /// cleared by an operator).
    AlarmState {
        Firing = "firing",
        Cleared = "cleared",
    }
);

/// `ReportCustomEventRequestBody`. Every field is optional here so that a request missing
/// several gets one answer naming them all, as the seed's example does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomEvent {
    #[serde(rename = "alarmId", default)]
    pub alarm_id: Option<String>,
    #[serde(rename = "alarmName", default)]
    pub alarm_name: Option<String>,
    #[serde(rename = "alarmLevel", default)]
    pub alarm_level: Option<String>,
    #[serde(default, deserialize_with = "super::lenient::opt_i64_or_str")]
    pub time: Option<i64>,
    #[serde(rename = "nameSpace", default)]
    pub name_space: Option<String>,
    #[serde(rename = "regionId", default)]
    pub region_id: Option<String>,
    #[serde(rename = "applicationId", default)]
    pub application_id: Option<String>,
    #[serde(rename = "resourceName", default)]
    pub resource_name: Option<String>,
    #[serde(rename = "resourceId", default)]
    pub resource_id: Option<String>,
    #[serde(rename = "alarmDesc", default)]
    pub alarm_desc: Option<String>,
    #[serde(rename = "URL", default)]
    pub url: Option<String>,
    #[serde(rename = "alarmStatus", default)]
    pub alarm_status: Option<String>,
    #[serde(rename = "alarmSource", default)]
    pub alarm_source: Option<String>,
    #[serde(default)]
    pub additional: Option<serde_json::Value>,
}

/// Prometheus Alertmanager's webhook body (version "4").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerWebhook {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub group_key: String,
    #[serde(default)]
    pub truncated_alerts: Option<i64>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub group_labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: std::collections::BTreeMap<String, String>,
    #[serde(rename = "externalURL", default)]
    pub external_url: String,
    pub alerts: Vec<Alert>,
}

/// One alert of the webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub status: String,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    #[serde(rename = "generatorURL", default)]
    pub generator_url: Option<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// An alarm as it arrives, whatever its source, checked and ready to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmIn {
    pub integration_key: String,
    /// The sender's id: `alarmId`, or an Alertmanager fingerprint. With the integration key,
    /// the deduplication key.
    pub source_id: String,
    pub name: String,
    pub level: AlarmLevel,
    pub firing: bool,
    /// When the source says it happened (ms).
    pub time: i64,
    /// When the source says it began and ended (ms), when it says so (Alertmanager's
    /// `startsAt`, and `endsAt` of a resolved alert): the alarm's first seen and cleared times.
    pub started: Option<i64>,
    pub ended: Option<i64>,
    pub namespace: String,
    pub region_id: String,
    pub application_id: String,
    pub resource_name: String,
    pub resource_id: String,
    pub description: String,
    pub url: String,
    pub source: String,
    /// Labels, annotations and `additional` fields, flattened to text.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// A stored alarm, as cocpit lists it (`GET /v1/cocpit/alarms`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    pub alarm_id: String,
    pub integration_key: String,
    pub source_id: String,
    pub name: String,
    pub level: AlarmLevel,
    pub state: AlarmState,
    pub namespace: String,
    pub region_id: String,
    pub application_id: String,
    pub resource_name: String,
    pub resource_id: String,
    pub description: String,
    pub url: String,
    pub source: String,
    pub labels: std::collections::BTreeMap<String, String>,
    /// How many times it arrived.
    pub count: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub cleared_at: Option<i64>,
    pub acked_by: Option<String>,
    pub acked_at: Option<i64>,
    pub incident_num: Option<String>,
    /// Hidden by a silence (computed when read).
    #[serde(default)]
    pub silenced_by: Option<String>,
}

/// Labels (and annotations, and the `additional` fields of a COC push) an alarm may carry, and
/// the longest name and value of one: an alarm stays a few hundred kilobytes at most.
pub const MAX_LABELS: usize = 64;
pub const MAX_LABEL_NAME: usize = 255;
pub const MAX_LABEL_VALUE: usize = 4096;

/// Checks a set of labels against [`MAX_LABELS`], [`MAX_LABEL_NAME`] and [`MAX_LABEL_VALUE`],
/// naming the field (`alerts[0].labels.team`).
pub fn check_labels<'a>(
    field: impl Fn() -> String,
    labels: impl ExactSizeIterator<Item = (&'a String, &'a String)>,
) -> Result<(), super::validate::Invalid> {
    use super::validate::{invalid, length_of};
    if labels.len() > MAX_LABELS {
        return Err(invalid(
            field(),
            format!("at most {MAX_LABELS} entries (got {})", labels.len()),
        ));
    }
    for (k, v) in labels {
        length_of(|| format!("{} name", field()), k, 1, MAX_LABEL_NAME)?;
        length_of(|| format!("{}.{k}", field()), v, 0, MAX_LABEL_VALUE)?;
    }
    Ok(())
}

impl Alarm {
    /// About how many bytes the alarm takes as JSON (to bound a list answer in bytes).
    pub fn approx_size(&self) -> usize {
        let text = [
            &self.alarm_id,
            &self.integration_key,
            &self.source_id,
            &self.name,
            &self.namespace,
            &self.region_id,
            &self.application_id,
            &self.resource_name,
            &self.resource_id,
            &self.description,
            &self.url,
            &self.source,
        ];
        let labels: usize = self.labels.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
        400 + text.iter().map(|t| t.len()).sum::<usize>() + labels
    }

    /// The value of a matcher's name for this alarm: a built-in field or a label.
    pub fn field(&self, name: &str) -> Option<&str> {
        Some(match name {
            "alarmname" | "name" | "alertname" => &self.name,
            "level" | "severity" => self.level.as_str(),
            "application" | "applicationId" => &self.application_id,
            "namespace" | "nameSpace" => &self.namespace,
            "region" | "regionId" => &self.region_id,
            "resource_id" | "resourceId" => &self.resource_id,
            "resource_name" | "resourceName" => &self.resource_name,
            "source" | "alarmSource" => &self.source,
            "integration" => &self.integration_key,
            other => return self.labels.get(other).map(String::as_str),
        })
    }
}

/// A silence matcher: `name` equals `value` (or matches it as a regular expression).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub is_regex: bool,
}

/// A silence: matching alarms are hidden (never dropped) until it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub author: String,
    pub comment: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_at: i64,
}

/// The body that creates a silence: a duration or an end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    pub author: String,
    #[serde(default)]
    pub comment: String,
    /// Seconds from now; or `ends_at` (ms).
    #[serde(default)]
    pub duration_s: Option<i64>,
    #[serde(default)]
    pub ends_at: Option<i64>,
}

/// Alarms that belong together (same name and application by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmGroup {
    pub group_key: String,
    pub name: String,
    pub application_id: String,
    pub level: AlarmLevel,
    pub firing: i64,
    pub total: i64,
    pub count: i64,
    pub last_seen: i64,
    pub alarm_ids: Vec<String>,
}

/// Query of cocpit's alarm list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAlarmsQuery {
    /// `firing` or `cleared`.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub level: Option<String>,
    /// Also the silenced ones (hidden by default).
    #[serde(default)]
    pub include_silenced: Option<bool>,
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
    /// Where the page starts: the `next_marker` of the previous one.
    #[serde(default)]
    pub marker: Option<i64>,
    /// Only these alarms (comma-separated ids, at most [`MAX_IDS`]), silenced ones included:
    /// what a front end reads when an event names them.
    #[serde(default)]
    pub ids: Option<String>,
}

/// Alarms one list call may name in `ids`.
pub const MAX_IDS: usize = 200;

/// `AlarmInfoDTO` of `GET /v1/alarm-mgmt/alarm/{alarm_id}` (the SDK's model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmInfoDto {
    pub id: String,
    pub name: String,
    pub importance: String,
    pub come_from: String,
    pub come_from_en: String,
    pub app: String,
    pub status: String,
    pub converge_count: i64,
    pub associate_event_id: Option<String>,
    pub creator: String,
    pub create_time: i64,
    pub update_time: i64,
    pub remarks: Option<String>,
    pub region: String,
}

/// `AlarmHandleHistory` of `GET /v1/alarm-mgmt/alarm/{alarm_id}/handle-histories`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmHandleHistory {
    pub work_order_id: Option<String>,
    pub create_name: String,
    pub task_type: String,
    pub start_time: i64,
    pub end_time: i64,
    pub duration: i64,
    pub status: String,
    pub associated_task_id: Option<String>,
    pub associated_task_name: Option<String>,
}

/// Query of `GET /v1/alarm-mgmt/alarm/{alarm_id}/handle-histories`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoriesQuery {
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// The answer of `GET /v1/alarm-mgmt/alarm/{alarm_id}/handle-histories`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histories {
    pub count: i64,
    pub alarm_handle_histories: Vec<AlarmHandleHistory>,
}

/// Body of cocpit's `POST /v1/cocpit/alarms/ack`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckAlarms {
    pub alarm_ids: Vec<String>,
}

/// `ClearAlarmRequestBody` (`alarm_ids` comma-separated, as the SDK's `str` field carries them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearAlarms {
    pub alarm_ids: String,
    #[serde(default)]
    pub remarks: Option<String>,
    #[serde(default)]
    pub is_service_interrupt: Option<bool>,
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub fault_recovery_time: Option<i64>,
}

/// `AlarmToIncidentRequestBody`: alarms (comma-separated ids) into one incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmsToIncident {
    pub alarm_ids: String,
    #[serde(default)]
    pub enterprise_project_id: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub assignee_role: Option<String>,
    #[serde(default)]
    pub assignee_scene: Option<String>,
    #[serde(default)]
    pub current_cloud_service_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub is_service_interrupt: Option<bool>,
    #[serde(default)]
    pub level_id: Option<String>,
    #[serde(default)]
    pub mtm_region: Option<String>,
    #[serde(default)]
    pub mtm_type: Option<String>,
    #[serde(default)]
    pub source_id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

/// A page of cocpit's alarm list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmPage {
    pub alarms: Vec<Alarm>,
    /// Pass as `marker` for the next page; null on the last.
    pub next_marker: Option<i64>,
}
