//! Alarms as they arrive: the COC custom body and Alertmanager's webhook, checked and turned
//! into what the store keeps.

use super::*;

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
    check_labels(|| "additional".into(), labels.iter())?;
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
        started: None,
        ended: None,
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
pub(super) fn severity(s: Option<&String>) -> AlarmLevel {
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
            check_labels(|| field("labels"), a.labels.iter())?;
            check_labels(|| field("annotations"), a.annotations.iter())?;
            let name = a
                .labels
                .get("alertname")
                .cloned()
                .ok_or_else(|| invalid(field("labels.alertname"), "is required"))?;
            length_of(|| field("labels.alertname"), &name, 1, 255)?;
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
            // Alertmanager's times; its "zero" time (year 1) means none.
            let at = |t: &Option<String>| {
                t.as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.timestamp_millis())
                    .filter(|ms| *ms > 0)
            };
            let started = at(&a.starts_at);
            let ended = at(&a.ends_at).filter(|_| !firing);
            let time = started.unwrap_or(now);
            let label = |k: &str| a.labels.get(k).cloned().unwrap_or_default();
            let description = a
                .annotations
                .get("description")
                .or_else(|| a.annotations.get("summary"))
                .cloned()
                .unwrap_or_else(|| name.clone());
            let application = ["application", "app", "service", "job"]
                .iter()
                .find_map(|k| a.labels.get(*k).cloned())
                .unwrap_or_default();
            let (level, namespace, region_id) = (
                severity(a.labels.get("severity")),
                label("namespace"),
                label("region"),
            );
            let instance = label("instance");
            // The labels and annotations, kept as they came (moved, not copied).
            let mut labels = a.labels;
            for (k, v) in a.annotations {
                labels.insert(format!("annotation.{k}"), v);
            }
            Ok(AlarmIn {
                integration_key: key.to_string(),
                source_id,
                level,
                firing,
                time,
                started,
                ended,
                namespace,
                region_id,
                application_id: application,
                resource_name: instance.clone(),
                resource_id: instance,
                description,
                url: a.generator_url.unwrap_or_default(),
                source: "prometheus".into(),
                labels,
                name,
            })
        })
        .collect()
}
