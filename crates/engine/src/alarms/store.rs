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
    // Fewer b-trees per alarm (ingest writes every alarm through them): an alarm's id is its
    // sequence number (`AL` and ten digits or more), so it needs no index of its own, and ids
    // given before keep working through `legacy_id`; its history is one table keyed by the
    // alarm, and the line it fired is `fired_at` on its row, not a row of its own. (Alarms are
    // never deleted, so without AUTOINCREMENT a sequence number is still never given twice.)
    r#"
CREATE TABLE alarms_next (
    seq INTEGER PRIMARY KEY,
    legacy_id TEXT,
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
    fired_at INTEGER,
    UNIQUE (integration_key, source_id)
);
INSERT INTO alarms_next SELECT seq, alarm_id, integration_key, source_id, name, level, state,
    namespace, region_id, application_id, resource_name, resource_id, description, url, source,
    labels, count, first_seen, last_seen, cleared_at, acked_by, acked_at, incident_num, NULL
    FROM alarms;
CREATE TABLE alarm_history_next (
    alarm_seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (alarm_seq, n)
) WITHOUT ROWID;
INSERT INTO alarm_history_next SELECT a.seq, h.seq, h.at, h.who, h.action, h.detail
    FROM alarm_history h JOIN alarms a ON a.alarm_id = h.alarm_id;
DROP TABLE alarm_history;
DROP TABLE alarms;
ALTER TABLE alarms_next RENAME TO alarms;
ALTER TABLE alarm_history_next RENAME TO alarm_history;
CREATE UNIQUE INDEX alarms_legacy_id ON alarms(legacy_id) WHERE legacy_id IS NOT NULL;
"#,
];

/// An alarm's id: `AL` and its sequence number, ten digits or more. Ids of alarms stored before
/// (`AL`, the milliseconds and a counter: 19 digits) are kept as they were.
fn id_of(seq: i64, legacy: Option<String>) -> String {
    legacy.unwrap_or_else(|| format!("AL{seq:010}"))
}

/// The sequence number an id of today's form names (only its one spelling).
fn seq_in(id: &str) -> Option<i64> {
    let seq: i64 = id.strip_prefix("AL")?.parse().ok()?;
    (seq > 0 && id_of(seq, None) == id).then_some(seq)
}

/// The alarm an id names, by its sequence number; `None` when there is no such alarm.
fn resolve(conn: &Connection, id: &str) -> Result<Option<i64>> {
    if let Some(seq) = seq_in(id) {
        let found = conn
            .prepare_cached("SELECT seq FROM alarms WHERE seq = ?1 AND legacy_id IS NULL")?
            .query_row([seq], |r| r.get(0))
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    // An id from before (it may read as a sequence number too).
    conn.prepare_cached("SELECT seq FROM alarms WHERE legacy_id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()
}

/// Adds a line to an alarm's history, after its others.
const HISTORY_LINE: &str = "INSERT INTO alarm_history (alarm_seq, n, at, who, action, detail)
    VALUES (?1, COALESCE((SELECT MAX(n) FROM alarm_history WHERE alarm_seq = ?1), 0) + 1, ?2, ?3, ?4, ?5)";

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

const COLUMNS: &str = "legacy_id, integration_key, source_id, name, level, state, namespace, \
    region_id, application_id, resource_name, resource_id, description, url, source, labels, \
    count, first_seen, last_seen, cleared_at, acked_by, acked_at, incident_num, seq";

fn alarm_of(r: &rusqlite::Row) -> Result<(Alarm, i64)> {
    let level: String = r.get(4)?;
    let state: String = r.get(5)?;
    let labels: String = r.get(14)?;
    let seq: i64 = r.get(22)?;
    Ok((
        Alarm {
            alarm_id: id_of(seq, r.get(0)?),
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
        seq,
    ))
}

/// An alarm ready for the writer, its labels already JSON: that work is done by the request's
/// task, beside the others, not by the one writer thread.
#[derive(Debug)]
pub struct Ready {
    pub alarm: AlarmIn,
    labels: String,
}

impl Ready {
    pub fn new(alarm: AlarmIn) -> Ready {
        // A map of strings is always JSON.
        let labels = serde_json::to_string(&alarm.labels).unwrap_or_default();
        Ready { alarm, labels }
    }
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
    /// integration key and source id) counted, `firing: false` clears.
    pub fn write(&self, alarms: &[&Ready], now: i64) -> Result<Vec<Stored>> {
        self.change(|tx| {
            let mut out = Vec::with_capacity(alarms.len());
            let mut find = tx.prepare_cached(
                "SELECT seq, legacy_id, state FROM alarms WHERE integration_key = ?1 AND source_id = ?2",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO alarms (integration_key, source_id, name, level, state,
                    namespace, region_id, application_id, resource_name, resource_id, description,
                    url, source, labels, count, first_seen, last_seen, cleared_at, fired_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 1, ?17, ?15, ?16, ?18)",
            )?;
            let mut repeat = tx.prepare_cached(
                "UPDATE alarms SET name = ?2, level = ?3, state = ?4, description = ?5, url = ?6,
                    labels = ?7, count = count + (CASE WHEN ?4 = 'firing' THEN 1 ELSE 0 END),
                    last_seen = ?8,
                    cleared_at = CASE WHEN ?4 = 'cleared' THEN COALESCE(cleared_at, ?9) ELSE NULL END
                 WHERE seq = ?1",
            )?;
            let mut history = tx.prepare_cached(HISTORY_LINE)?;
            for ready in alarms {
                let (a, labels) = (&ready.alarm, &ready.labels);
                let state = if a.firing {
                    AlarmState::Firing
                } else {
                    AlarmState::Cleared
                };
                let found: Option<(i64, Option<String>, String)> = find
                    .query_row(params![a.integration_key, a.source_id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()?;
                let deduplicated = found.is_some();
                let (seq, legacy, transition) = match found {
                    None => {
                        insert.execute(params![
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
                            a.firing.then_some(now),
                        ])?;
                        let seq = tx.last_insert_rowid();
                        (seq, None, Some(if a.firing { "fired" } else { "cleared" }))
                    }
                    Some((seq, legacy, old)) => {
                        repeat.execute(params![
                            seq,
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
                        (seq, legacy, t)
                    }
                };
                // The line it fired is its `fired_at`.
                if let Some(t) = transition.filter(|_| deduplicated || !a.firing) {
                    history.execute(params![seq, now, a.source, t, a.description])?;
                }
                out.push(Stored {
                    alarm_id: id_of(seq, legacy),
                    transition,
                    deduplicated,
                });
            }
            Ok(out)
        })
    }

    pub fn alarm(&self, id: &str) -> Result<Option<Alarm>> {
        let conn = self.conn();
        let Some(seq) = resolve(&conn, id)? else {
            return Ok(None);
        };
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM alarms WHERE seq = ?1"),
            [seq],
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
            "UPDATE alarms SET acked_by = ?2, acked_at = ?3 WHERE seq = ?1",
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
             WHERE seq = ?1",
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
                let Some(seq) = resolve(tx, id)? else {
                    continue;
                };
                n += tx.execute(
                    "UPDATE alarms SET incident_num = ?2 WHERE seq = ?1",
                    params![seq, num],
                )?;
                tx.execute(HISTORY_LINE, params![seq, now, who, "incident", num])?;
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
                let Some(seq) = resolve(tx, id)? else {
                    continue;
                };
                let changed = tx.execute(sql, params![seq, who, now])?;
                if changed > 0 {
                    tx.execute(HISTORY_LINE, params![seq, now, who, action, detail])?;
                }
                n += changed;
            }
            Ok(n)
        })
    }

    /// An alarm's history, oldest first: the line it fired (from its row), then the others.
    /// The fired line carries no detail: the row keeps only the newest description, which a
    /// repeat may have changed since.
    pub fn history(&self, id: &str) -> Result<Vec<HistoryRow>> {
        let conn = self.conn();
        let Some(seq) = resolve(&conn, id)? else {
            return Ok(vec![]);
        };
        let fired = conn
            .prepare_cached("SELECT fired_at, source FROM alarms WHERE seq = ?1")?
            .query_row([seq], |r| {
                let Some(at) = r.get::<_, Option<i64>>(0)? else {
                    return Ok(None);
                };
                Ok(Some(HistoryRow {
                    at,
                    who: r.get(1)?,
                    action: "fired".into(),
                    detail: String::new(),
                }))
            })?;
        let mut st = conn.prepare_cached(
            "SELECT at, who, action, detail FROM alarm_history WHERE alarm_seq = ?1 ORDER BY n",
        )?;
        let rows = st.query_map([seq], |r| {
            Ok(HistoryRow {
                at: r.get(0)?,
                who: r.get(1)?,
                action: r.get(2)?,
                detail: r.get(3)?,
            })
        })?;
        fired.into_iter().map(Ok).chain(rows).collect()
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

#[cfg(test)]
mod tests;

impl crate::store::AuditDb for AlarmStore {
    fn connection(&self) -> MutexGuard<'_, Connection> {
        self.conn()
    }
}
