//! The alarm database: its own SQLite file (`alarms.db`) with `synchronous=FULL`, so an alarm
//! acknowledged with a 200 survives a crash of the process or the machine. Writes come in
//! groups (see `writer`), so one fsync covers every alarm of a group.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use cocpit_api::model::alarm::*;

pub type Result<T> = rusqlite::Result<T>;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE alarms (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm_id TEXT NOT NULL UNIQUE,
    integration_key TEXT NOT NULL,
    source_id TEXT NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    state TEXT NOT NULL,
    namespace TEXT NOT NULL,
    region_id TEXT NOT NULL,
    application_id TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    description TEXT NOT NULL,
    url TEXT NOT NULL,
    source TEXT NOT NULL,
    labels TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    cleared_at INTEGER,
    acked_by TEXT,
    acked_at INTEGER,
    incident_num TEXT,
    UNIQUE (integration_key, source_id)
);
CREATE TABLE alarm_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX alarm_history_alarm ON alarm_history(alarm_id);
CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    author TEXT NOT NULL,
    comment TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
"#,
    // The entries of the writes this database takes (see `crate::audit`).
    crate::store::team::AUDIT_TABLE,
];

pub struct AlarmStore {
    conn: Mutex<Connection>,
}

/// One history line of an alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub at: i64,
    pub who: String,
    pub action: String,
    pub detail: String,
}

const COLUMNS: &str = "alarm_id, integration_key, source_id, name, level, state, namespace, \
    region_id, application_id, resource_name, resource_id, description, url, source, labels, \
    count, first_seen, last_seen, cleared_at, acked_by, acked_at, incident_num, seq";

fn alarm_of(r: &rusqlite::Row) -> Result<(Alarm, i64)> {
    let level: String = r.get(4)?;
    let state: String = r.get(5)?;
    let labels: String = r.get(14)?;
    Ok((
        Alarm {
            alarm_id: r.get(0)?,
            integration_key: r.get(1)?,
            source_id: r.get(2)?,
            name: r.get(3)?,
            level: level.parse().unwrap_or(AlarmLevel::Info),
            state: state.parse().unwrap_or(AlarmState::Firing),
            namespace: r.get(6)?,
            region_id: r.get(7)?,
            application_id: r.get(8)?,
            resource_name: r.get(9)?,
            resource_id: r.get(10)?,
            description: r.get(11)?,
            url: r.get(12)?,
            source: r.get(13)?,
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            count: r.get(15)?,
            first_seen: r.get(16)?,
            last_seen: r.get(17)?,
            cleared_at: r.get(18)?,
            acked_by: r.get(19)?,
            acked_at: r.get(20)?,
            incident_num: r.get(21)?,
            silenced_by: None,
        },
        r.get(22)?,
    ))
}

/// What one stored alarm became: its id, and whether it changed state (fired or cleared).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub alarm_id: String,
    pub transition: Option<&'static str>,
    /// It matched an alarm already stored (a repeat or a clear).
    pub deduplicated: bool,
}

impl AlarmStore {
    pub fn open(path: &Path) -> Result<AlarmStore> {
        Self::init(Connection::open(path)?)
    }

    pub fn open_in_memory() -> Result<AlarmStore> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<AlarmStore> {
        // Every commit reaches the disk before the 200 is sent.
        let conn = crate::store::prepare(conn, "FULL", MIGRATIONS)?;
        Ok(AlarmStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One write, in one transaction ([`crate::store::change`]).
    fn change<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T>) -> Result<T> {
        crate::store::change(&mut self.conn(), f)
    }

    /// Takes the write lock and lets it go: fails when the database cannot be written.
    pub fn probe_write(&self) -> Result<()> {
        self.conn().execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
    }

    /// Stores a group of alarms in one transaction: new ones are inserted, repeats (same
    /// integration key and source id) counted, `firing: false` clears. `new_id` names new rows.
    pub fn write(
        &self,
        alarms: &[&AlarmIn],
        now: i64,
        mut new_id: impl FnMut() -> String,
    ) -> Result<Vec<Stored>> {
        self.change(|tx| {
        let mut out = Vec::with_capacity(alarms.len());
        {
            let mut find = tx.prepare_cached(
                "SELECT alarm_id, state FROM alarms WHERE integration_key = ?1 AND source_id = ?2",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO alarms (alarm_id, integration_key, source_id, name, level, state,
                    namespace, region_id, application_id, resource_name, resource_id, description,
                    url, source, labels, count, first_seen, last_seen, cleared_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 1, ?18, ?16, ?17)",
            )?;
            let mut repeat = tx.prepare_cached(
                "UPDATE alarms SET name = ?2, level = ?3, state = ?4, description = ?5, url = ?6,
                    labels = ?7, count = count + (CASE WHEN ?4 = 'firing' THEN 1 ELSE 0 END),
                    last_seen = ?8,
                    cleared_at = CASE WHEN ?4 = 'cleared' THEN COALESCE(cleared_at, ?9) ELSE NULL END
                 WHERE alarm_id = ?1",
            )?;
            let mut history = tx.prepare_cached(
                "INSERT INTO alarm_history (alarm_id, at, who, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for a in alarms {
                let state = if a.firing {
                    AlarmState::Firing
                } else {
                    AlarmState::Cleared
                };
                let labels = serde_json::to_string(&a.labels)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                let found: Option<(String, String)> = find
                    .query_row(params![a.integration_key, a.source_id], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                let deduplicated = found.is_some();
                let (alarm_id, transition) = match found {
                    None => {
                        let id = new_id();
                        insert.execute(params![
                            id,
                            a.integration_key,
                            a.source_id,
                            a.name,
                            a.level.as_str(),
                            state.as_str(),
                            a.namespace,
                            a.region_id,
                            a.application_id,
                            a.resource_name,
                            a.resource_id,
                            a.description,
                            a.url,
                            a.source,
                            labels,
                            now,
                            (!a.firing).then_some(a.ended.unwrap_or(now)),
                            // It began when its source says it did.
                            a.started.unwrap_or(now),
                        ])?;
                        (id, Some(if a.firing { "fired" } else { "cleared" }))
                    }
                    Some((id, old)) => {
                        repeat.execute(params![
                            id,
                            a.name,
                            a.level.as_str(),
                            state.as_str(),
                            a.description,
                            a.url,
                            labels,
                            now,
                            a.ended.unwrap_or(now),
                        ])?;
                        let t = match (old == AlarmState::Firing.as_str(), a.firing) {
                            (true, false) => Some("cleared"),
                            (false, true) => Some("fired again"),
                            _ => None,
                        };
                        (id, t)
                    }
                };
                if let Some(t) = transition {
                    history.execute(params![alarm_id, now, a.source, t, a.description])?;
                }
                out.push(Stored {
                    alarm_id,
                    transition,
                    deduplicated,
                });
            }
        }
                Ok(out)
        })
    }

    pub fn alarm(&self, id: &str) -> Result<Option<Alarm>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM alarms WHERE alarm_id = ?1"),
                [id],
                |r| alarm_of(r).map(|(a, _)| a),
            )
            .optional()
    }

    /// Alarms newest first (by arrival), from before `marker` (a sequence number) when given;
    /// with each alarm's sequence number for the next page.
    pub fn list(
        &self,
        state: Option<&str>,
        level: Option<&str>,
        marker: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(Alarm, i64)>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM alarms
             WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR level = ?2) AND (?3 IS NULL OR seq < ?3)
             ORDER BY seq DESC LIMIT ?4"
        ))?;
        let rows = st.query_map(params![state, level, marker, limit], alarm_of)?;
        rows.collect()
    }

    pub fn count(&self) -> Result<i64> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM alarms", [], |r| r.get(0))
    }

    /// Marks alarms acknowledged (or cleared, or linked to an incident) and records it.
    pub fn ack(&self, ids: &[String], who: &str, now: i64) -> Result<usize> {
        self.touch(
            ids,
            "UPDATE alarms SET acked_by = ?2, acked_at = ?3 WHERE alarm_id = ?1",
            who,
            now,
            "acknowledged",
            "",
        )
    }

    pub fn clear(&self, ids: &[String], who: &str, now: i64, remarks: &str) -> Result<usize> {
        self.touch(
            ids,
            "UPDATE alarms SET state = 'cleared', cleared_at = COALESCE(cleared_at, ?3), acked_by = COALESCE(acked_by, ?2)
             WHERE alarm_id = ?1",
            who,
            now,
            "cleared",
            remarks,
        )
    }

    pub fn link_incident(&self, ids: &[String], num: &str, who: &str, now: i64) -> Result<usize> {
        self.change(|tx| {
        let mut n = 0;
        for id in ids {
            n += tx.execute(
                "UPDATE alarms SET incident_num = ?2 WHERE alarm_id = ?1",
                params![id, num],
            )?;
            tx.execute(
                "INSERT INTO alarm_history (alarm_id, at, who, action, detail) VALUES (?1, ?2, ?3, 'incident', ?4)",
                params![id, now, who, num],
            )?;
        }
                Ok(n)
        })
    }

    fn touch(
        &self,
        ids: &[String],
        sql: &str,
        who: &str,
        now: i64,
        action: &str,
        detail: &str,
    ) -> Result<usize> {
        self.change(|tx| {
        let mut n = 0;
        for id in ids {
            let changed = tx.execute(sql, params![id, who, now])?;
            if changed > 0 {
                tx.execute(
                    "INSERT INTO alarm_history (alarm_id, at, who, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, now, who, action, detail],
                )?;
            }
            n += changed;
        }
                Ok(n)
        })
    }

    pub fn history(&self, id: &str) -> Result<Vec<HistoryRow>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT at, who, action, detail FROM alarm_history WHERE alarm_id = ?1 ORDER BY seq",
        )?;
        let rows = st.query_map([id], |r| {
            Ok(HistoryRow {
                at: r.get(0)?,
                who: r.get(1)?,
                action: r.get(2)?,
                detail: r.get(3)?,
            })
        })?;
        rows.collect()
    }

    pub fn insert_silence(&self, s: &Silence) -> Result<()> {
        self.change(|c| {
            c.execute(
            "INSERT INTO silences (id, matchers, author, comment, starts_at, ends_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                s.id,
                serde_json::to_string(&s.matchers)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                s.author,
                s.comment,
                s.starts_at,
                s.ends_at,
                s.created_at
            ],
        )
        })?;
        Ok(())
    }

    /// Ends a silence now (kept, for the record); false if there is none by that id.
    pub fn expire_silence(&self, id: &str, now: i64) -> Result<bool> {
        Ok(self.change(|c| {
            c.execute(
                "UPDATE silences SET ends_at = MIN(ends_at, ?2) WHERE id = ?1",
                params![id, now],
            )
        })? > 0)
    }

    /// Silences ending after `since`, newest first.
    pub fn silences(&self, since: i64) -> Result<Vec<Silence>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT id, matchers, author, comment, starts_at, ends_at, created_at FROM silences
             WHERE ends_at > ?1 ORDER BY created_at DESC",
        )?;
        let rows = st.query_map([since], |r| {
            let m: String = r.get(1)?;
            Ok(Silence {
                id: r.get(0)?,
                matchers: serde_json::from_str(&m).unwrap_or_default(),
                author: r.get(2)?,
                comment: r.get(3)?,
                starts_at: r.get(4)?,
                ends_at: r.get(5)?,
                created_at: r.get(6)?,
            })
        })?;
        rows.collect()
    }
}

impl crate::store::AuditDb for AlarmStore {
    fn connection(&self) -> MutexGuard<'_, Connection> {
        self.conn()
    }
}
