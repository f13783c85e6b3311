//! Tencent TAT (seed `001`, API 2020-10-28): commands, scheduled invokers, their records and the
//! tasks a fire runs. Keys are TAT's PascalCase; times are `YYYY-MM-DDThh:mm:ssZ` (UTC).
//! Crontab expressions are read in Beijing time (UTC+8), as the SDK documents.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

/// TAT's API version, sent as `X-TC-Version`.
pub const VERSION: &str = "2020-10-28";
pub const MAX_INVOKER_NAME: usize = 120;
pub const MAX_INSTANCES: usize = 100;
pub const MAX_USERNAME: usize = 256;
pub const MAX_TAGS: usize = 10;
pub const MAX_COMMAND_NAME: usize = 60;
pub const MAX_DESCRIPTION: usize = 120;
pub const MAX_CONTENT_B64: usize = 64 * 1024;
pub const TIMEOUT_RANGE: (i64, i64) = (1, 86400);
pub const COMMAND_TYPES: &[&str] = &["SHELL", "POWERSHELL", "BAT"];

/// The zone TAT reads crontab expressions in: UTC+8.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// TAT's time format.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A fire time as people read it: in UTC+8 (the zone crontabs are read in) and in `local`.
pub fn both_zones(t: DateTime<Utc>, local: FixedOffset) -> String {
    format!(
        "{} UTC+8 · {} local",
        t.with_timezone(&beijing()).format("%a %m-%d %H:%M"),
        t.with_timezone(&local).format("%a %m-%d %H:%M")
    )
}

pub fn format_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(format_time)
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

/// `ScheduleSettings`: `Policy` ONCE (with `InvokeTime`) or RECURRENCE (with `Recurrence`).
/// In answers `InvokeTime` is the next fire time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleSettings {
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoke_time: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInvokerRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "Type")]
    pub invoker_type: Option<String>,
    #[serde(default)]
    pub command_id: Option<String>,
    #[serde(default)]
    pub instance_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_settings: Option<ScheduleSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateCommandRequest {
    #[serde(default)]
    pub command_name: Option<String>,
    /// Base64 of the script.
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "query_form::int"
    )]
    pub timeout: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "query_form::flag"
    )]
    pub enable_parameter: Option<bool>,
    /// JSON text: `{"name": "default value"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_parameters: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// `Command`, as `DescribeCommands` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Command {
    pub command_id: String,
    pub command_name: String,
    pub description: String,
    pub content: String,
    pub command_type: String,
    pub working_directory: String,
    pub timeout: i64,
    pub created_time: String,
    pub updated_time: String,
    pub enable_parameter: bool,
    pub default_parameters: String,
    pub created_by: String,
    pub tags: Vec<Tag>,
    pub username: String,
}

/// `Invoker`, as `DescribeInvokers` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Invoker {
    pub invoker_id: String,
    pub name: String,
    #[serde(rename = "Type")]
    pub invoker_type: String,
    pub command_id: String,
    pub username: String,
    pub parameters: String,
    pub instance_ids: Vec<String>,
    pub enable: bool,
    pub schedule_settings: ScheduleSettings,
    pub created_time: String,
    pub updated_time: String,
    pub tags: Vec<Tag>,
}

/// `InvokerRecord`: one fire of an invoker (or a fire that was missed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvokerRecord {
    pub invoker_id: String,
    pub invoke_time: String,
    pub reason: String,
    pub invocation_id: String,
    /// `PENDING`, `RUNNING`, `SUCCESS`, `TIMEOUT`, `FAILED`, `CANCELLED`, `PARTIAL_FAILED`, …
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskResult {
    pub exit_code: i64,
    /// Base64 of the output (at most 24 KB kept).
    pub output: String,
    pub exec_start_time: Option<String>,
    pub exec_end_time: Option<String>,
    pub dropped: i64,
}

/// `InvocationTask`: what one fire did on one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvocationTask {
    pub invocation_id: String,
    pub invocation_task_id: String,
    pub command_id: String,
    /// `PENDING`, `RUNNING`, `SUCCESS`, `FAILED`, `TIMEOUT`, `START_FAILED`, `CANCELLED`, …
    pub task_status: String,
    pub instance_id: String,
    pub task_result: TaskResult,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub created_time: String,
    pub updated_time: String,
    pub error_info: String,
    pub invocation_source: String,
    pub command_name: String,
}

/// The request of the Describe* actions (each uses some of these).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoker_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_task_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Vec<Filter>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "query_form::int"
    )]
    pub limit: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "query_form::int"
    )]
    pub offset: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "query_form::flag"
    )]
    pub hide_output: Option<bool>,
}

/// `EnableInvoker` / `DisableInvoker` / `DeleteInvoker`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvokerIdRequest {
    #[serde(default)]
    pub invoker_id: Option<String>,
}

/// A page of a Describe* answer: `TotalCount` plus the named set.
#[derive(Debug, Clone, PartialEq)]
pub struct Described<T> {
    pub total_count: u64,
    pub set: Vec<T>,
}

/// A TAT error: `Response.Error{Code, Message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TatError {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for TatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for TatError {}

pub fn tat_error(code: &'static str, message: impl Into<String>) -> TatError {
    TatError {
        code,
        message: message.into(),
    }
}

/// The seed's error codes.
pub mod codes {
    pub const INVALID_PARAMETER: &str = "InvalidParameter";
    pub const INVALID_VALUE: &str = "InvalidParameterValue";
    pub const INVALID_CRON: &str = "InvalidParameterValue.InvalidCronExpression";
    pub const INVALID_TIME: &str = "InvalidParameterValue.InvalidTimeFormat";
    pub const TIME_EXPIRED: &str = "InvalidParameterValue.InvokeTimeExpired";
    pub const BAD_JSON: &str = "InvalidParameterValue.ParameterInvalidJsonFormat";
    pub const TOO_LONG: &str = "InvalidParameterValue.TooLong";
    pub const RANGE: &str = "InvalidParameterValue.Range";
    pub const INVALID_COMMAND_ID: &str = "InvalidParameterValue.InvalidCommandId";
    pub const INVALID_INSTANCE_ID: &str = "InvalidParameterValue.InvalidInstanceId";
    pub const COMMAND_NOT_FOUND: &str = "ResourceNotFound.CommandNotFound";
    pub const INSTANCE_NOT_FOUND: &str = "ResourceNotFound.InstanceNotFound";
    pub const INVOKER_NOT_FOUND: &str = "ResourceNotFound.InvokerNotFound";
    pub const MISSING: &str = "MissingParameter";
    pub const UNSUPPORTED: &str = "UnsupportedOperation";
    pub const INTERNAL: &str = "InternalError";
}

/// A parsed, checked schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    Once(DateTime<Utc>),
    Recurrence(Box<croner::Cron>, String),
}

impl Schedule {
    /// The first fire strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Once(t) => (*t > after).then_some(*t),
            Schedule::Recurrence(cron, _) => cron
                .find_next_occurrence(&after.with_timezone(&beijing()), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }

    /// The next `n` fires after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut t = after;
        while out.len() < n {
            match self.next_after(t) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }
}

/// Parses a crontab expression (5 fields, or 6 with seconds first), as TAT reads it in UTC+8.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, TatError> {
    cron(expr).map_err(|e| {
        tat_error(
            codes::INVALID_CRON,
            format!("ScheduleSettings.Recurrence {expr:?}: {e}"),
        )
    })
}

const CRON_FIELDS: [&str; 6] = [
    "second (0-59)",
    "minute (0-59)",
    "hour (0-23)",
    "day of month (1-31)",
    "month (1-12)",
    "day of week (0-7)",
];

/// Parses a crontab expression; the error names the field at fault.
pub fn cron(expr: &str) -> Result<croner::Cron, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if !(5..=6).contains(&fields.len()) {
        return Err(format!(
            "a crontab expression has 5 fields (minute hour day month weekday), got {}",
            fields.len()
        ));
    }
    let parse = |e: &str| croner::Cron::new(e).with_seconds_optional().parse();
    parse(expr).map_err(|e| {
        // croner does not say which field is wrong: the one that, made `*`, lets it parse.
        let names = &CRON_FIELDS[6 - fields.len()..];
        let culprit = (0..fields.len()).find(|&i| {
            let mut f = fields.clone();
            f[i] = "*";
            parse(&f.join(" ")).is_ok()
        });
        match culprit {
            Some(i) => format!("the {} field {:?} is invalid: {e}", names[i], fields[i]),
            None => e.to_string(),
        }
    })
}

/// Parses `InvokeTime` (`YYYY-MM-DDThh:mm:ssZ`, or with an offset such as `+08:00`).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, TatError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            tat_error(
                codes::INVALID_TIME,
                format!(
                    "ScheduleSettings.InvokeTime {s:?} is not a time of the form YYYY-MM-DDThh:mm:ssZ: {e}"
                ),
            )
        })
}

/// A time as a person types it, read in `zone`: `+10m` (from now), `HH:MM` (the next such
/// time), `YYYY-MM-DD HH:MM`, or TAT's own `YYYY-MM-DDThh:mm:ssZ`. It must be after `now`.
pub fn parse_user_time(
    text: &str,
    now: DateTime<Utc>,
    zone: FixedOffset,
) -> Result<DateTime<Utc>, String> {
    use chrono::{NaiveDateTime, NaiveTime, TimeZone};
    let text = text.trim();
    let t = if let Some(rel) = text.strip_prefix('+') {
        now + chrono::Duration::seconds(crate::format::parse_duration(rel)?)
    } else if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        t.with_timezone(&Utc)
    } else if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M") {
        zone.from_local_datetime(&t)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("time {text:?} does not exist at UTC{zone}"))?
    } else if let Ok(hm) = NaiveTime::parse_from_str(text, "%H:%M") {
        let local = now.with_timezone(&zone);
        let today = local.date_naive().and_time(hm);
        let t = zone
            .from_local_datetime(&today)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("time {text:?} does not exist at UTC{zone}"))?;
        if t <= now {
            t + chrono::Duration::days(1)
        } else {
            t
        }
    } else {
        return Err(format!(
            "time {text:?}: write +10m, HH:MM, YYYY-MM-DD HH:MM or YYYY-MM-DDThh:mm:ssZ"
        ));
    };
    if t <= now {
        return Err(format!("time {text:?} is not in the future"));
    }
    Ok(t)
}

/// Checks `ScheduleSettings` against `now`.
pub fn schedule(s: Option<&ScheduleSettings>, now: DateTime<Utc>) -> Result<Schedule, TatError> {
    let Some(s) = s else {
        return Err(tat_error(
            codes::MISSING,
            "ScheduleSettings is required when Type is SCHEDULE",
        ));
    };
    match s.policy.as_str() {
        "ONCE" => {
            let Some(t) = s.invoke_time.as_deref() else {
                return Err(tat_error(
                    codes::MISSING,
                    "ScheduleSettings.InvokeTime is required when Policy is ONCE",
                ));
            };
            let t = parse_time(t)?;
            if t <= now {
                return Err(tat_error(
                    codes::TIME_EXPIRED,
                    format!(
                        "ScheduleSettings.InvokeTime {} is not in the future (now {})",
                        format_time(t),
                        format_time(now)
                    ),
                ));
            }
            Ok(Schedule::Once(t))
        }
        "RECURRENCE" => {
            let Some(expr) = s.recurrence.as_deref() else {
                return Err(tat_error(
                    codes::MISSING,
                    "ScheduleSettings.Recurrence is required when Policy is RECURRENCE",
                ));
            };
            Ok(Schedule::Recurrence(
                Box::new(parse_cron(expr)?),
                expr.to_string(),
            ))
        }
        other => Err(tat_error(
            codes::INVALID_VALUE,
            format!("ScheduleSettings.Policy {other:?} must be ONCE or RECURRENCE"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn a_bad_cron_names_its_field() {
        let e = cron("61 * * * *").unwrap_err();
        assert!(
            e.starts_with("the minute (0-59) field \"61\" is invalid"),
            "{e}"
        );
        let e = cron("0 0 * 13 *").unwrap_err();
        assert!(e.starts_with("the month (1-12) field \"13\""), "{e}");
        let e = cron("0 0 0 * * 9").unwrap_err();
        assert!(e.starts_with("the day of week (0-7) field \"9\""), "{e}");
        let e = cron("* * *").unwrap_err();
        assert!(e.contains("has 5 fields"), "{e}");
        let api = parse_cron("61 * * * *").unwrap_err();
        assert_eq!(api.code, codes::INVALID_CRON);
        assert!(
            api.message
                .starts_with("ScheduleSettings.Recurrence \"61 * * * *\": the minute")
        );
    }

    #[test]
    fn typed_times_are_read_in_the_viewers_zone() {
        let now = at("2026-11-24T12:00:00Z");
        let paris = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            parse_user_time("+10m", now, paris),
            Ok(at("2026-11-24T12:10:00Z"))
        );
        assert_eq!(
            parse_user_time("2026-11-25 03:00", now, paris),
            Ok(at("2026-11-25T02:00:00Z"))
        );
        // 14:00 in Paris is still to come today; 09:00 has passed, so it is tomorrow's.
        assert_eq!(
            parse_user_time("14:00", now, paris),
            Ok(at("2026-11-24T13:00:00Z"))
        );
        assert_eq!(
            parse_user_time("09:00", now, paris),
            Ok(at("2026-11-25T08:00:00Z"))
        );
        assert_eq!(
            parse_user_time("2026-11-25T03:00:00+08:00", now, paris),
            Ok(at("2026-11-24T19:00:00Z"))
        );
        let past = parse_user_time("2026-11-24 08:00", now, paris).unwrap_err();
        assert!(past.contains("not in the future"), "{past}");
        let junk = parse_user_time("tomorrow", now, paris).unwrap_err();
        assert!(junk.contains("HH:MM"), "{junk}");
    }

    #[test]
    fn crontab_is_read_in_beijing_time() {
        // 00:00 on the first of the month in UTC+8 is 16:00 UTC the day before.
        let s = schedule(
            Some(&ScheduleSettings {
                policy: "RECURRENCE".into(),
                recurrence: Some("0 0 1 * *".into()),
                invoke_time: None,
            }),
            at("2026-01-01T00:00:00Z"),
        )
        .unwrap();
        let next = s.upcoming(at("2026-01-15T00:00:00Z"), 2);
        assert_eq!(
            next,
            vec![at("2026-01-31T16:00:00Z"), at("2026-02-28T16:00:00Z")]
        );
    }

    #[test]
    fn crossing_a_day_and_a_month() {
        let s = Schedule::Recurrence(Box::new(parse_cron("30 23 * * *").unwrap()), "".into());
        // 23:30 UTC+8 is 15:30 UTC.
        let next = s.upcoming(at("2026-01-31T15:00:00Z"), 3);
        assert_eq!(
            next,
            vec![
                at("2026-01-31T15:30:00Z"),
                at("2026-02-01T15:30:00Z"),
                at("2026-02-02T15:30:00Z")
            ]
        );
    }

    #[test]
    fn once_fires_once() {
        let s = Schedule::Once(at("2026-03-01T00:00:00+08:00"));
        assert_eq!(
            s.upcoming(at("2026-02-01T00:00:00Z"), 5),
            vec![at("2026-02-28T16:00:00Z")]
        );
        assert_eq!(s.next_after(at("2026-02-28T16:00:00Z")), None);
    }

    #[test]
    fn bad_settings_get_the_seeds_codes() {
        let now = at("2026-06-01T00:00:00Z");
        let cases = [
            ("RECURRENCE", Some("61 * * * *"), None, codes::INVALID_CRON),
            (
                "RECURRENCE",
                Some("every minute"),
                None,
                codes::INVALID_CRON,
            ),
            ("ONCE", None, Some("tomorrow"), codes::INVALID_TIME),
            (
                "ONCE",
                None,
                Some("2026-05-31T23:59:59Z"),
                codes::TIME_EXPIRED,
            ),
            ("WEEKLY", None, None, codes::INVALID_VALUE),
        ];
        for (policy, rec, time, code) in cases {
            let e = schedule(
                Some(&ScheduleSettings {
                    policy: policy.into(),
                    recurrence: rec.map(String::from),
                    invoke_time: time.map(String::from),
                }),
                now,
            )
            .unwrap_err();
            assert_eq!(e.code, code, "{policy} {rec:?} {time:?}: {e}");
        }
    }
}

/// A TC3 GET carries its parameters in the query string, where every value is text: the
/// number and flag fields take `"20"` and `"true"` as well as `20` and `true`.
mod query_form {
    use serde::{Deserialize, Deserializer, de::Error};
    use serde_json::Value;

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Value::String(t)) if t.parse::<i64>().is_ok() => Ok(t.parse().ok()),
            Some(other) => Err(D::Error::custom(format!(
                "expected an integer, got {other}"
            ))),
        }
    }

    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::String(t)) if t == "true" || t == "false" => Ok(Some(t == "true")),
            Some(other) => Err(D::Error::custom(format!(
                "expected true or false, got {other}"
            ))),
        }
    }
}
