//! Incidents and their timelines in the main database.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};
use cocpit_api::model::incident::{IncidentInfo, IncidentStatus, TimelineEntry};

fn json_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn from_json<T: serde::de::DeserializeOwned>(i: usize, s: String) -> Result<T> {
    serde_json::from_str(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A stored incident: what the detail API shows (without its enumerations) and its alarms.
#[derive(Debug, Clone)]
pub struct IncidentRow {
    pub info: IncidentInfo,
    pub alarm_ids: Vec<String>,
}

impl Store {
    /// Stores a new incident and its first timeline entry in one transaction; false when the
    /// number is taken.
    pub fn insert_incident(&self, row: &IncidentRow, first: &TimelineEntry) -> Result<bool> {
        self.write(|tx| {
        let n = tx.execute(
            "INSERT OR IGNORE INTO incidents (incident_num, status, incident_level, create_time, info, alarm_ids)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                row.info.incident_num,
                row.info.status.as_str(),
                row.info.incident_level,
                row.info.create_time,
                serde_json::to_string(&row.info).map_err(json_err)?,
                serde_json::to_string(&row.alarm_ids).map_err(json_err)?,
            ],
        )?;
        if n == 0 {
            return Ok(false);
        }
        insert_entry(tx, &row.info.incident_num, first)?;
                Ok(true)
        })
    }

    pub fn incident(&self, num: &str) -> Result<Option<IncidentRow>> {
        self.conn()
            .query_row(
                "SELECT info, alarm_ids FROM incidents WHERE incident_num = ?1",
                [num],
                |r| {
                    Ok(IncidentRow {
                        info: from_json(0, r.get(0)?)?,
                        alarm_ids: from_json(1, r.get(1)?)?,
                    })
                },
            )
            .optional()
    }

    /// Replaces an incident's state and appends to its timeline, in one transaction, only if
    /// its status is still `expected` (so two operators cannot both move it).
    pub fn update_incident(
        &self,
        row: &IncidentRow,
        expected: IncidentStatus,
        entry: &TimelineEntry,
    ) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE incidents SET status = ?2, incident_level = ?3, info = ?4, alarm_ids = ?5
             WHERE incident_num = ?1 AND status = ?6",
                params![
                    row.info.incident_num,
                    row.info.status.as_str(),
                    row.info.incident_level,
                    serde_json::to_string(&row.info).map_err(json_err)?,
                    serde_json::to_string(&row.alarm_ids).map_err(json_err)?,
                    expected.as_str(),
                ],
            )?;
            if n == 0 {
                return Ok(false);
            }
            insert_entry(tx, &row.info.incident_num, entry)?;
            Ok(true)
        })
    }

    pub fn timeline(&self, num: &str) -> Result<Vec<TimelineEntry>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT at, operator, action, from_status, to_status, parameter
             FROM incident_timeline WHERE incident_num = ?1 ORDER BY seq",
        )?;
        let rows = st.query_map([num], |r| {
            let from: Option<String> = r.get(3)?;
            let to: String = r.get(4)?;
            Ok(TimelineEntry {
                at: r.get(0)?,
                operator: r.get(1)?,
                action: r.get(2)?,
                from_status: from.and_then(|s| s.parse().ok()),
                to_status: to.parse().unwrap_or(IncidentStatus::Triggered),
                parameter: from_json(5, r.get(5)?)?,
            })
        })?;
        rows.collect()
    }

    /// Incidents newest first, optionally of one status and level; and how many match.
    pub fn list_incidents(
        &self,
        status: Option<&str>,
        level: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<IncidentRow>, u64)> {
        let conn = self.conn();
        let filter = "(?1 IS NULL OR status = ?1) AND (?2 IS NULL OR incident_level = ?2)";
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM incidents WHERE {filter}"),
            params![status, level],
            |r| r.get(0),
        )?;
        let mut st = conn.prepare_cached(&format!(
            "SELECT info, alarm_ids FROM incidents WHERE {filter}
             ORDER BY create_time DESC, incident_num DESC LIMIT ?3 OFFSET ?4"
        ))?;
        let rows = st.query_map(params![status, level, limit, offset], |r| {
            Ok(IncidentRow {
                info: from_json(0, r.get(0)?)?,
                alarm_ids: from_json(1, r.get(1)?)?,
            })
        })?;
        Ok((rows.collect::<Result<_>>()?, total as u64))
    }
}

fn insert_entry(tx: &rusqlite::Transaction, num: &str, e: &TimelineEntry) -> Result<()> {
    tx.execute(
        "INSERT INTO incident_timeline (incident_num, at, operator, action, from_status, to_status, parameter)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            num,
            e.at,
            e.operator,
            e.action,
            e.from_status.map(|s| s.as_str()),
            e.to_status.as_str(),
            serde_json::to_string(&e.parameter).map_err(json_err)?,
        ],
    )?;
    Ok(())
}
