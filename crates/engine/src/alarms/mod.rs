//! Alarms: checked on arrival (custom body or Alertmanager webhook), stored durably through the
//! group-commit writer, deduplicated by integration key and source id, cleared by `ok` /
//! `resolved`, grouped, silenced (hidden, never dropped), acknowledged, and turned into
//! incidents.

mod intake;
mod silence_rules;
mod silences;
pub mod store;
mod writer;

use crate::Fault;
use std::collections::BTreeMap;

use super::{Change, Engine, EngineError, Result, now_ms};
use cocpit_api::model::alarm::*;
use cocpit_api::model::incident::{CreateIncident, TYPES, find, keys};
use cocpit_api::model::validate::{Invalid, invalid, length, length_of};
pub use intake::{from_alertmanager, from_custom};
use silence_rules::*;
pub use writer::Writer;

/// The alarm domain's own state: its database, the group-commit writer, and what puts alarms
/// in one group.
pub(crate) struct Alarms {
    pub(crate) store: std::sync::Arc<store::AlarmStore>,
    pub(crate) writer: Writer,
    pub(crate) group_by: Vec<String>,
}

/// The largest compiled matcher (Alertmanager's RE2 semantics: linear time, bounded size).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

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
            .alarms
            .writer
            .write(alarms)
            .await
            .map_err(|e| EngineError(Fault::Internal(e)))?;
        Ok(stored.into_iter().map(|s| s.alarm_id).collect())
    }

    pub fn alarm(&self, id: &str) -> Result<Alarm> {
        let mut a = self
            .inner
            .alarms
            .store
            .alarm(id)?
            .ok_or_else(|| EngineError(Fault::NotFound(format!("alarm_id: no alarm {id}"))))?;
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
                if let Some(mut a) = self.inner.alarms.store.alarm(id)? {
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
            let rows = self.inner.alarms.store.list(
                q.state.as_deref(),
                q.level.as_deref(),
                cursor,
                limit,
            )?;
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
                    .alarms
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
            if self.inner.alarms.store.alarm(id)?.is_none() {
                return Err(EngineError(Fault::NotFound(format!(
                    "alarm_ids: no alarm {id}"
                ))));
            }
        }
        Ok(())
    }

    /// Acknowledges alarms (recorded in their history).
    pub fn ack_alarms(&self, ids: &[String], who: &str) -> Result<usize> {
        self.existing(ids)?;
        let n = self.inner.alarms.store.ack(ids, who, now_ms())?;
        self.changed(ids.to_vec());
        Ok(n)
    }

    /// Clears alarms by hand (`POST /v1/alarm-mgmt/alarms/cancel`).
    pub fn clear_alarms(&self, c: &ClearAlarms, who: &str) -> Result<Vec<String>> {
        let ids = ids_of(&c.alarm_ids);
        self.existing(&ids)?;
        let remarks = c.remarks.clone().unwrap_or_default();
        length("remarks", &remarks, 0, 1000)?;
        self.inner
            .alarms
            .store
            .clear(&ids, who, now_ms(), &remarks)?;
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
            return Err(EngineError(Fault::Conflict(format!(
                "alarm_ids: alarm {} already belongs to incident {}",
                a.alarm_id,
                a.incident_num.clone().unwrap_or_default()
            ))));
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
        self.inner
            .alarms
            .store
            .link_incident(&ids, &num, who, now_ms())?;
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
        let all = self.inner.alarms.store.history(id)?;
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

    /// How many alarms are stored.
    pub fn alarm_count(&self) -> Result<i64> {
        Ok(self.inner.alarms.store.count()?)
    }
}
