//! Alarms: checked on arrival (custom body or Alertmanager webhook), stored durably through the
//! group-commit writer, deduplicated by integration key and source id, cleared by `ok` /
//! `resolved`, grouped, silenced (hidden, never dropped), acknowledged, and turned into
//! incidents.

pub mod store;
mod writer;

use std::collections::BTreeMap;

use super::{Change, Engine, EngineError, Result, now_ms};
use cocpit_api::model::alarm::*;
use cocpit_api::model::incident::{CreateIncident, TYPES, find, keys};
use cocpit_api::model::validate::{Invalid, invalid, length};
pub use writer::Writer;

/// Checks a custom-integration body (§4.4.2) and turns it into an alarm. Every missing
/// required field is named at once, as the seed's example answer does.
pub fn from_custom(key: &str, e: CustomEvent, now: i64) -> std::result::Result<AlarmIn, Invalid> {
    let required = [
        ("alarmId", e.alarm_id.is_none()),
        ("alarmName", e.alarm_name.is_none()),
        ("alarmLevel", e.alarm_level.is_none()),
        ("time", e.time.is_none()),
        ("nameSpace", e.name_space.is_none()),
        ("applicationId", e.application_id.is_none()),
        ("alarmDesc", e.alarm_desc.is_none()),
        ("alarmSource", e.alarm_source.is_none()),
    ];
    let missing: Vec<String> = required
        .iter()
        .filter(|(_, m)| *m)
        .map(|(f, _)| format!("{f} must not be null"))
        .collect();
    if !missing.is_empty() {
        let first = required
            .iter()
            .find(|(_, m)| *m)
            .map(|(f, _)| *f)
            .unwrap_or("body");
        return Err(invalid(first, missing.join(" | ")));
    }
    let text = |v: Option<String>| v.unwrap_or_default();
    let (alarm_id, name, level) = (text(e.alarm_id), text(e.alarm_name), text(e.alarm_level));
    let (ns, app, desc, source) = (
        text(e.name_space),
        text(e.application_id),
        text(e.alarm_desc),
        text(e.alarm_source),
    );
    for (f, v) in [
        ("alarmId", &alarm_id),
        ("alarmName", &name),
        ("nameSpace", &ns),
        ("applicationId", &app),
        ("alarmDesc", &desc),
        ("alarmSource", &source),
    ] {
        length(f, v, 1, 255)?;
    }
    let level: AlarmLevel = level.parse().map_err(|r| invalid("alarmLevel", r))?;
    let firing = match e.alarm_status.as_deref() {
        None | Some("") | Some("alarm") => true,
        Some("ok") => false,
        Some(other) => {
            return Err(invalid(
                "alarmStatus",
                format!("must be alarm or ok (got {other:?})"),
            ));
        }
    };
    let mut labels = BTreeMap::new();
    if let Some(serde_json::Value::Object(m)) = &e.additional
        && m.len() > MAX_LABELS
    {
        return Err(invalid(
            "additional",
            format!("at most {MAX_LABELS} entries (got {})", m.len()),
        ));
    }
    if let Some(serde_json::Value::Object(m)) = e.additional {
        for (k, v) in m {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            labels.insert(k, v);
        }
    }
    check_labels("additional", labels.iter())?;
    let opt = |v: Option<String>, f: &str| -> std::result::Result<String, Invalid> {
        let v = v.unwrap_or_default();
        length(f, &v, 0, 255)?;
        Ok(v)
    };
    Ok(AlarmIn {
        integration_key: key.to_string(),
        source_id: alarm_id,
        name,
        level,
        firing,
        time: e.time.unwrap_or(now),
        namespace: ns,
        region_id: opt(e.region_id, "regionId")?,
        application_id: app,
        resource_name: opt(e.resource_name, "resourceName")?,
        resource_id: opt(e.resource_id, "resourceId")?,
        description: desc,
        url: opt(e.url, "URL")?,
        source,
        labels,
    })
}

/// Alertmanager's `severity` label as a level.
fn severity(s: Option<&String>) -> AlarmLevel {
    match s.map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("critical" | "page" | "fatal" | "emergency" | "p1") => AlarmLevel::Critical,
        Some("major" | "error" | "high" | "p2") => AlarmLevel::Major,
        Some("warning" | "warn" | "minor" | "medium" | "p3") => AlarmLevel::Minor,
        Some(_) => AlarmLevel::Info,
        None => AlarmLevel::Major,
    }
}

/// Maps each alert of an Alertmanager webhook to an alarm: the fingerprint is the dedup key,
/// `resolved` clears, labels and annotations are kept.
pub fn from_alertmanager(
    key: &str,
    w: AlertmanagerWebhook,
    now: i64,
) -> std::result::Result<Vec<AlarmIn>, Invalid> {
    if w.alerts.is_empty() {
        return Err(invalid("alerts", "must hold at least one alert"));
    }
    w.alerts
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let field = |f: &str| format!("alerts[{i}].{f}");
            let firing = match a.status.as_str() {
                "firing" => true,
                "resolved" => false,
                other => {
                    return Err(invalid(
                        field("status"),
                        format!("must be firing or resolved (got {other:?})"),
                    ));
                }
            };
            check_labels(&field("labels"), a.labels.iter())?;
            check_labels(&field("annotations"), a.annotations.iter())?;
            let name = a
                .labels
                .get("alertname")
                .cloned()
                .ok_or_else(|| invalid(field("labels.alertname"), "is required"))?;
            length(&field("labels.alertname"), &name, 1, 255)?;
            // Without a fingerprint, the sorted labels identify the alert (as Alertmanager's own
            // fingerprint does).
            let source_id = a
                .fingerprint
                .clone()
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| {
                    let joined: Vec<String> =
                        a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    cocpit_api::sign::sha256_hex(joined.join(",").as_bytes())[..16].to_string()
                });
            let time = a
                .starts_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis())
                .unwrap_or(now);
            let label = |k: &str| a.labels.get(k).cloned().unwrap_or_default();
            let description = a
                .annotations
                .get("description")
                .or_else(|| a.annotations.get("summary"))
                .cloned()
                .unwrap_or_else(|| name.clone());
            let mut labels = a.labels.clone();
            for (k, v) in &a.annotations {
                labels.insert(format!("annotation.{k}"), v.clone());
            }
            let application = ["application", "app", "service", "job"]
                .iter()
                .find_map(|k| a.labels.get(*k).cloned())
                .unwrap_or_default();
            Ok(AlarmIn {
                integration_key: key.to_string(),
                source_id,
                level: severity(a.labels.get("severity")),
                firing,
                time,
                namespace: label("namespace"),
                region_id: label("region"),
                application_id: application,
                resource_name: label("instance"),
                resource_id: label("instance"),
                description,
                url: a.generator_url.clone().unwrap_or_default(),
                source: "prometheus".into(),
                labels,
                name,
            })
        })
        .collect()
}

/// A silence with its regular expressions compiled once, for all the alarms it is tested on.
struct Compiled {
    silence: Silence,
    /// One per matcher: the anchored expression of a regex matcher.
    regexes: Vec<Option<regex::Regex>>,
}

/// The largest compiled matcher (Alertmanager's RE2 semantics: linear time, bounded size).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A matcher's expression as Alertmanager anchors it (`^(?:…)$`), compiled by Rust's `regex`
/// (RE2 syntax, linear-time matching): no lookaround, no backreference, bounded size.
fn compile(value: &str) -> std::result::Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{value})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

impl Compiled {
    fn new(silence: Silence) -> Compiled {
        let regexes = silence
            .matchers
            .iter()
            .map(|m| m.is_regex.then(|| compile(&m.value).ok()).flatten())
            .collect();
        Compiled { silence, regexes }
    }

    /// Whether every matcher holds for `a` (a stored matcher that no longer compiles holds for
    /// nothing).
    fn matches(&self, a: &Alarm) -> bool {
        self.silence
            .matchers
            .iter()
            .zip(&self.regexes)
            .all(|(m, r)| {
                let v = a.field(&m.name).unwrap_or("");
                match (m.is_regex, r) {
                    (true, Some(r)) => r.is_match(v),
                    (true, None) => false,
                    (false, _) => v == m.value,
                }
            })
    }
}

fn check_matchers(ms: &[Matcher]) -> std::result::Result<(), Invalid> {
    if ms.is_empty() {
        return Err(invalid(
            "matchers",
            "at least one (a silence of everything hides too much)",
        ));
    }
    for (i, m) in ms.iter().enumerate() {
        length(&format!("matchers[{i}].name"), &m.name, 1, 255)?;
        length(&format!("matchers[{i}].value"), &m.value, 0, 1024)?;
        if m.is_regex
            && let Err(e) = compile(&m.value)
        {
            let why = match e {
                regex::Error::CompiledTooBig(_) => "is too large once compiled".to_string(),
                e => format!(
                    "is not an RE2 expression (no lookaround, no backreference): {}",
                    e.to_string().lines().last().unwrap_or("")
                ),
            };
            return Err(invalid(
                format!("matchers[{i}].value"),
                format!("{:?} {why}", m.value),
            ));
        }
    }
    Ok(())
}

/// The ids of a comma-separated `alarm_ids`, each checked to exist.
fn ids_of(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// The most a page of alarms holds, in bytes (about), whatever its `limit`.
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// An alarm as readers see it: the integration key, which is a credential for unsigned pushes,
/// only as a fingerprint that tells integrations apart.
fn shown(mut a: Alarm) -> Alarm {
    a.integration_key = format!(
        "key:{}",
        &cocpit_api::sign::sha256_hex(a.integration_key.as_bytes())[..8]
    );
    a
}

/// Seconds a silence may last at most: a year.
pub const MAX_SILENCE_S: i64 = 366 * 24 * 3600;

impl Engine {
    /// Stores alarms durably (the call returns once they are on disk) and announces them.
    pub async fn ingest(&self, alarms: Vec<AlarmIn>) -> Result<Vec<String>> {
        let stored = self
            .inner
            .alarm_writer
            .write(alarms)
            .await
            .map_err(EngineError::Internal)?;
        Ok(stored.into_iter().map(|s| s.alarm_id).collect())
    }

    /// The silences in force now, each compiled once.
    fn active_silences(&self, now: i64) -> Result<Vec<Compiled>> {
        Ok(self
            .inner
            .alarms
            .silences(now)?
            .into_iter()
            .filter(|s| s.starts_at <= now)
            .map(Compiled::new)
            .collect())
    }

    pub fn alarm(&self, id: &str) -> Result<Alarm> {
        let mut a = self
            .inner
            .alarms
            .alarm(id)?
            .ok_or_else(|| EngineError::NotFound(format!("alarm_id: no alarm {id}")))?;
        let now = now_ms();
        a.silenced_by = self
            .active_silences(now)?
            .iter()
            .find(|s| s.matches(&a))
            .map(|s| s.silence.id.clone());
        Ok(shown(a))
    }

    /// Alarms newest first, silenced ones hidden unless asked for; with the marker of the next
    /// page when there may be one.
    pub fn list_alarms(
        &self,
        q: &ListAlarmsQuery,
        marker: Option<i64>,
    ) -> Result<(Vec<Alarm>, Option<i64>)> {
        if let Some(s) = &q.state {
            s.parse::<AlarmState>().map_err(|r| invalid("state", r))?;
        }
        if let Some(l) = &q.level {
            l.parse::<AlarmLevel>().map_err(|r| invalid("level", r))?;
        }
        let limit = cocpit_api::model::validate::limit(q.limit, 1000)?;
        let now = now_ms();
        let silences = self.active_silences(now)?;
        if let Some(ids) = &q.ids {
            let ids: Vec<&str> = ids.split(',').filter(|i| !i.is_empty()).collect();
            if ids.len() > MAX_IDS {
                return Err(invalid(
                    "ids",
                    format!("at most {MAX_IDS} alarm ids (got {})", ids.len()),
                )
                .into());
            }
            let mut out = vec![];
            for id in ids {
                if let Some(mut a) = self.inner.alarms.alarm(id)? {
                    a.silenced_by = silences
                        .iter()
                        .find(|s| s.matches(&a))
                        .map(|s| s.silence.id.clone());
                    out.push(shown(a));
                }
            }
            return Ok((out, None));
        }
        let show_silenced = q.include_silenced.unwrap_or(false);
        let mut out = vec![];
        let mut bytes = 0;
        let mut cursor = marker;
        // Silenced alarms are skipped, so a page may need more than one read.
        loop {
            let rows =
                self.inner
                    .alarms
                    .list(q.state.as_deref(), q.level.as_deref(), cursor, limit)?;
            let n = rows.len() as i64;
            for (mut a, seq) in rows {
                cursor = Some(seq);
                a.silenced_by = silences
                    .iter()
                    .find(|s| s.matches(&a))
                    .map(|s| s.silence.id.clone());
                if show_silenced || a.silenced_by.is_none() {
                    bytes += a.approx_size();
                    out.push(shown(a));
                    // A page is bounded in bytes too: the rest come with the next marker.
                    if out.len() as i64 == limit || bytes >= MAX_PAGE_BYTES {
                        return Ok((out, cursor));
                    }
                }
            }
            if n < limit {
                return Ok((out, None));
            }
        }
    }

    /// Firing, unsilenced alarms grouped by the configured fields (name and application by
    /// default), most severe and most recent first.
    pub fn alarm_groups(&self) -> Result<Vec<AlarmGroup>> {
        let q = ListAlarmsQuery {
            state: Some("firing".into()),
            limit: Some(1000),
            ..Default::default()
        };
        let mut groups: BTreeMap<String, AlarmGroup> = BTreeMap::new();
        let mut marker = None;
        loop {
            let (page, next) = self.list_alarms(&q, marker)?;
            for a in page {
                let key: Vec<&str> = self
                    .inner
                    .group_by
                    .iter()
                    .map(|f| a.field(f).unwrap_or(""))
                    .collect();
                let key = key.join(" / ");
                let g = groups.entry(key.clone()).or_insert_with(|| AlarmGroup {
                    group_key: key,
                    name: a.name.clone(),
                    application_id: a.application_id.clone(),
                    level: a.level,
                    firing: 0,
                    total: 0,
                    count: 0,
                    last_seen: 0,
                    alarm_ids: vec![],
                });
                g.total += 1;
                g.firing += (a.state == AlarmState::Firing) as i64;
                g.count += a.count;
                g.last_seen = g.last_seen.max(a.last_seen);
                if a.level.rank() < g.level.rank() {
                    g.level = a.level;
                }
                g.alarm_ids.push(a.alarm_id);
            }
            match next {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        let mut v: Vec<AlarmGroup> = groups.into_values().collect();
        v.sort_by_key(|g| (g.level.rank(), std::cmp::Reverse(g.last_seen)));
        Ok(v)
    }

    fn changed(&self, ids: Vec<String>) {
        self.inner.emit(Change::AlarmsChanged { alarm_ids: ids });
    }

    fn existing(&self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Err(invalid("alarm_ids", "at least one alarm id").into());
        }
        for id in ids {
            if self.inner.alarms.alarm(id)?.is_none() {
                return Err(EngineError::NotFound(format!("alarm_ids: no alarm {id}")));
            }
        }
        Ok(())
    }

    /// Acknowledges alarms (recorded in their history).
    pub fn ack_alarms(&self, ids: &[String], who: &str) -> Result<usize> {
        self.existing(ids)?;
        let n = self.inner.alarms.ack(ids, who, now_ms())?;
        self.changed(ids.to_vec());
        Ok(n)
    }

    /// Clears alarms by hand (`POST /v1/alarm-mgmt/alarms/cancel`).
    pub fn clear_alarms(&self, c: &ClearAlarms, who: &str) -> Result<Vec<String>> {
        let ids = ids_of(&c.alarm_ids);
        self.existing(&ids)?;
        let remarks = c.remarks.clone().unwrap_or_default();
        length("remarks", &remarks, 0, 1000)?;
        self.inner.alarms.clear(&ids, who, now_ms(), &remarks)?;
        self.changed(ids.clone());
        Ok(ids)
    }

    /// One incident from alarms (`incident_source_alarm`, level from the most severe alarm,
    /// the alarms in its description), linked both ways.
    pub fn alarms_to_incident(&self, t: &AlarmsToIncident, who: &str) -> Result<String> {
        let ids = ids_of(&t.alarm_ids);
        self.existing(&ids)?;
        let alarms: Vec<Alarm> = ids.iter().map(|id| self.alarm(id)).collect::<Result<_>>()?;
        if let Some(a) = alarms.iter().find(|a| a.incident_num.is_some()) {
            return Err(EngineError::Conflict(format!(
                "alarm_ids: alarm {} already belongs to incident {}",
                a.alarm_id,
                a.incident_num.clone().unwrap_or_default()
            )));
        }
        let worst = alarms
            .iter()
            .min_by_key(|a| a.level.rank())
            .expect("at least one alarm");
        let mut description: String = alarms
            .iter()
            .map(|a| {
                format!(
                    "[{}] {} ({}, {}×): {}",
                    a.level, a.name, a.alarm_id, a.count, a.description
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        if let Some(d) = &t.description {
            description = format!("{d}\n{description}");
        }
        let description: String = description.chars().take(600).collect();
        let mtm_type = t
            .mtm_type
            .clone()
            .unwrap_or_else(|| "inc_type_p_monitoring_issues".into());
        if find(TYPES, &mtm_type).is_none() {
            return Err(invalid(
                "mtm_type",
                format!("{mtm_type:?} is not one of {}", keys(TYPES)),
            )
            .into());
        }
        let app = t
            .current_cloud_service_id
            .clone()
            .unwrap_or_else(|| worst.application_id.clone());
        let title = t.title.clone().unwrap_or_else(|| {
            if alarms.len() == 1 {
                worst.name.clone()
            } else {
                format!("{} (+{} alarms)", worst.name, alarms.len() - 1)
            }
        });
        let assignee = t.assignee.clone().filter(|a| !a.is_empty());
        let create = CreateIncident {
            region: t
                .mtm_region
                .clone()
                .or_else(|| Some(worst.region_id.clone()).filter(|r| !r.is_empty()))
                .into_iter()
                .collect(),
            enterprise_project: t.enterprise_project_id.clone().into_iter().collect(),
            current_cloud_service: vec![app],
            incident_level: t
                .level_id
                .clone()
                .unwrap_or_else(|| worst.level.incident_level().into()),
            is_service_interrupt: t.is_service_interrupt.unwrap_or(false),
            incident_type: mtm_type,
            incident_title: title.chars().take(200).collect(),
            incident_description: description,
            incident_source: "incident_source_alarm".into(),
            incident_assignee: Some(assignee.clone().unwrap_or_else(|| who.to_string()))
                .into_iter()
                .collect(),
            assignee_scene: t.assignee_scene.clone(),
            assignee_role: t.assignee_role.clone(),
            creator: who.to_string(),
            incident_ownership: None,
            start_time: alarms.iter().map(|a| a.first_seen).min(),
        };
        let num = self.create_incident(create, ids.clone())?;
        self.inner.alarms.link_incident(&ids, &num, who, now_ms())?;
        self.changed(ids);
        Ok(num)
    }

    /// The SDK's `AlarmInfoDTO`.
    pub fn alarm_info(&self, id: &str) -> Result<AlarmInfoDto> {
        let a = self.alarm(id)?;
        Ok(AlarmInfoDto {
            id: a.alarm_id,
            name: a.name,
            importance: a.level.as_str().into(),
            come_from: a.source.clone(),
            come_from_en: a.source,
            app: a.application_id,
            status: a.state.as_str().into(),
            converge_count: a.count,
            associate_event_id: a.incident_num,
            creator: a.integration_key,
            create_time: a.first_seen,
            update_time: a.last_seen,
            remarks: Some(a.description),
            region: a.region_id,
        })
    }

    /// The SDK's handle histories: what happened to an alarm, oldest first.
    pub fn alarm_histories(
        &self,
        id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<AlarmHandleHistory>)> {
        let a = self.alarm(id)?;
        let all = self.inner.alarms.history(id)?;
        let count = all.len() as i64;
        let page = all
            .into_iter()
            .skip(offset.max(0) as usize)
            .take(limit.max(0) as usize)
            .map(|h| AlarmHandleHistory {
                work_order_id: a.incident_num.clone().filter(|_| h.action == "incident"),
                create_name: h.who,
                task_type: h.action,
                start_time: h.at,
                end_time: h.at,
                duration: 0,
                status: "finished".into(),
                associated_task_id: (!h.detail.is_empty()).then(|| h.detail.clone()),
                associated_task_name: None,
            })
            .collect();
        Ok((count, page))
    }

    pub fn silences(&self) -> Result<Vec<Silence>> {
        Ok(self.inner.alarms.silences(now_ms())?)
    }

    /// A silence of at most [`MAX_SILENCE_S`]: no overflow, none that ends before it starts.
    pub fn create_silence(&self, n: NewSilence) -> Result<Silence> {
        check_matchers(&n.matchers)?;
        length("author", &n.author, 1, 255)?;
        length("comment", &n.comment, 0, 1000)?;
        let now = now_ms();
        let ends_at = match (n.duration_s, n.ends_at) {
            (Some(d), _) if (1..=MAX_SILENCE_S).contains(&d) => now + d * 1000,
            (Some(d), _) => {
                return Err(invalid(
                    "duration_s",
                    format!("must be 1 to {MAX_SILENCE_S} seconds (a year; got {d})"),
                )
                .into());
            }
            (None, Some(e)) if e > now && e <= now + MAX_SILENCE_S * 1000 => e,
            (None, Some(_)) => {
                return Err(
                    invalid("ends_at", "must be in the future, at most a year away").into(),
                );
            }
            (None, None) => {
                return Err(invalid("duration_s", "a duration or ends_at is required").into());
            }
        };
        let s = Silence {
            id: format!("SIL{now}{:04}", fastrand::u16(..10_000)),
            matchers: n.matchers,
            author: n.author,
            comment: n.comment,
            starts_at: now,
            ends_at,
            created_at: now,
        };
        self.inner.alarms.insert_silence(&s)?;
        self.changed(vec![]);
        Ok(s)
    }

    pub fn expire_silence(&self, id: &str) -> Result<()> {
        if !self.inner.alarms.expire_silence(id, now_ms())? {
            return Err(EngineError::NotFound(format!("silence: no silence {id}")));
        }
        self.changed(vec![]);
        Ok(())
    }

    /// How many alarms are stored.
    pub fn alarm_count(&self) -> Result<i64> {
        Ok(self.inner.alarms.count()?)
    }
}
