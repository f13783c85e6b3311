//! SQLite storage of scripts, orders, batches, instances and their output.
//!
//! One connection behind a mutex is the one writer; WAL lets readers of the same file (another
//! process, a backup) proceed. Every API answer is read from here, so a restart loses nothing.
//! Schema changes are numbered migrations tracked in `PRAGMA user_version`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use cocpit_api::model::order::{
    InstanceStatus, OrderStatus, RotationStrategy, ScriptExecuteParam, Tally,
};
use cocpit_api::model::script::{
    ScriptParamDefine, ScriptPropertiesModel, ScriptStatus, ScriptType,
};

/// Each entry moves the schema one version up; never edit a released entry, append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE scripts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    script_uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    properties TEXT NOT NULL,
    script_params TEXT NOT NULL,
    status TEXT NOT NULL,
    gmt_created INTEGER NOT NULL,
    gmt_modified INTEGER NOT NULL,
    creator TEXT NOT NULL,
    creator_id TEXT NOT NULL,
    operator TEXT NOT NULL,
    enterprise_project_id TEXT
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    execute_uuid TEXT NOT NULL UNIQUE,
    script_uuid TEXT NOT NULL,
    script_name TEXT NOT NULL,
    script_version TEXT NOT NULL,
    script_type TEXT NOT NULL,
    content TEXT NOT NULL,
    script_params TEXT NOT NULL,
    execute_param TEXT NOT NULL,
    status TEXT NOT NULL,
    current_batch INTEGER NOT NULL,
    region_ids TEXT NOT NULL,
    pause_reason TEXT,
    acked_failures INTEGER NOT NULL DEFAULT 0,
    creator TEXT NOT NULL,
    gmt_created INTEGER NOT NULL,
    gmt_finished INTEGER
);
CREATE INDEX orders_status ON orders(status);
CREATE TABLE batches (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    batch_index INTEGER NOT NULL,
    rotation_strategy TEXT NOT NULL,
    skipped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, batch_index)
);
CREATE TABLE instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    batch_index INTEGER NOT NULL,
    resource_id TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    gmt_created INTEGER NOT NULL,
    gmt_started INTEGER,
    gmt_finished INTEGER,
    exit_code INTEGER,
    reason TEXT,
    output_bytes INTEGER NOT NULL DEFAULT 0,
    dropped_bytes INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX instances_order ON instances(order_id, batch_index);
CREATE TABLE output (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id INTEGER NOT NULL REFERENCES instances(id),
    data BLOB NOT NULL
);
CREATE INDEX output_instance ON output(instance_id, seq);
"#,
    r#"
CREATE TABLE incidents (
    incident_num TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    incident_level TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    info TEXT NOT NULL,
    alarm_ids TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX incidents_created ON incidents(create_time);
CREATE TABLE incident_timeline (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_num TEXT NOT NULL REFERENCES incidents(incident_num),
    at INTEGER NOT NULL,
    operator TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    parameter TEXT NOT NULL
);
CREATE INDEX incident_timeline_num ON incident_timeline(incident_num);
"#,
    // Agent tasks, desktop jobs and TAT: documents (the API's own JSON) keyed by id, with the
    // columns the engine filters on.
    r#"
CREATE TABLE agent_invocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    instance_id TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX agent_invocations_instance ON agent_invocations(instance_id, seq);
CREATE TABLE agents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE desktop_jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE tat_commands (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL
);
CREATE TABLE tat_invokers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    next_fire INTEGER,
    body TEXT NOT NULL
);
CREATE TABLE tat_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    invoker_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX tat_records_invoker ON tat_records(invoker_id, seq);
CREATE TABLE tat_tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    invocation_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX tat_tasks_invocation ON tat_tasks(invocation_id);
"#,
    // Each output row is whole lines of one stream, with the time they arrived.
    r#"
ALTER TABLE output ADD COLUMN stderr INTEGER NOT NULL DEFAULT 0;
ALTER TABLE output ADD COLUMN at_ms INTEGER NOT NULL DEFAULT 0;
"#,
    // A team on one server: every review decision, and every write.
    r#"
CREATE TABLE script_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    script_uuid TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    reviewer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    comments TEXT NOT NULL,
    at INTEGER NOT NULL,
    content_sha256 TEXT NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX script_reviews_script ON script_reviews(script_uuid, id);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    user TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    address TEXT NOT NULL,
    method TEXT NOT NULL,
    operation TEXT NOT NULL,
    target TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
"#,
];

mod change;
pub mod docs;
mod incidents;
mod orders;
mod paging;
mod scripts;
pub(crate) mod team;

pub use change::change;
pub use docs::{Column, Table};
pub use incidents::IncidentRow;
pub(crate) use team::AuditDb;

pub type Result<T> = rusqlite::Result<T>;

pub struct Store {
    conn: Mutex<Connection>,
    /// Seals sensitive parameter values on their way in, opens them on their way out.
    vault: super::vault::Vault,
}

/// A stored script.
#[derive(Debug, Clone)]
pub struct ScriptRow {
    pub id: i64,
    pub script_uuid: String,
    pub name: String,
    pub description: String,
    pub script_type: ScriptType,
    pub content: String,
    pub properties: ScriptPropertiesModel,
    pub script_params: Vec<ScriptParamDefine>,
    pub status: ScriptStatus,
    pub gmt_created: i64,
    pub gmt_modified: i64,
    pub creator: String,
    pub creator_id: String,
    pub operator: String,
    pub enterprise_project_id: Option<String>,
}

/// A stored order (script ticket).
#[derive(Debug, Clone)]
pub struct OrderRow {
    pub id: i64,
    pub execute_uuid: String,
    pub script_uuid: String,
    pub script_name: String,
    pub script_version: String,
    pub script_type: ScriptType,
    pub content: String,
    pub script_params: Vec<ScriptParamDefine>,
    pub execute_param: ScriptExecuteParam,
    pub status: OrderStatus,
    pub current_batch: i64,
    /// The targets' regions, comma-separated (the order list shows them).
    pub region_ids: String,
    pub pause_reason: Option<String>,
    pub acked_failures: i64,
    pub creator: String,
    pub gmt_created: i64,
    pub gmt_finished: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct BatchRow {
    pub batch_index: i64,
    pub rotation_strategy: RotationStrategy,
    pub skipped: bool,
}

/// A stored instance: one host in one batch of one order.
#[derive(Debug, Clone)]
pub struct InstanceRow {
    pub id: i64,
    pub order_id: i64,
    pub batch_index: i64,
    pub resource_id: String,
    pub target: String,
    pub status: InstanceStatus,
    pub gmt_created: i64,
    pub gmt_started: Option<i64>,
    pub gmt_finished: Option<i64>,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub output_bytes: i64,
    pub dropped_bytes: i64,
    pub attempt: i64,
}

/// A batch of a new order: index, rotation, and its targets as (resource_id, target JSON).
pub struct NewBatch {
    pub index: i64,
    pub rotation: RotationStrategy,
    pub targets: Vec<(String, String)>,
}

/// A new order with its batches, before it has ids.
pub struct NewOrder {
    pub execute_uuid: String,
    pub script: ScriptRow,
    pub execute_param: ScriptExecuteParam,
    pub creator: String,
    pub now: i64,
    pub region_ids: String,
    pub batches: Vec<NewBatch>,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("model types serialize")
}

fn from_json<T: serde::de::DeserializeOwned>(s: String) -> Result<T> {
    serde_json::from_str(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn parse<T: std::str::FromStr<Err = String>>(s: String) -> Result<T> {
    s.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

const SCRIPT_COLS: &str = "id, script_uuid, name, description, type, content, properties, \
    script_params, status, gmt_created, gmt_modified, creator, creator_id, operator, enterprise_project_id";

fn unreadable(e: super::vault::Unreadable) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn script_row(r: &rusqlite::Row) -> Result<ScriptRow> {
    Ok(ScriptRow {
        id: r.get(0)?,
        script_uuid: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        script_type: parse(r.get(4)?)?,
        content: r.get(5)?,
        properties: from_json(r.get(6)?)?,
        script_params: from_json(r.get(7)?)?,
        status: parse(r.get(8)?)?,
        gmt_created: r.get(9)?,
        gmt_modified: r.get(10)?,
        creator: r.get(11)?,
        creator_id: r.get(12)?,
        operator: r.get(13)?,
        enterprise_project_id: r.get(14)?,
    })
}

const ORDER_COLS: &str = "id, execute_uuid, script_uuid, script_name, script_version, script_type, \
    content, script_params, execute_param, status, current_batch, region_ids, pause_reason, acked_failures, \
    creator, gmt_created, gmt_finished";

fn order_row(r: &rusqlite::Row) -> Result<OrderRow> {
    Ok(OrderRow {
        id: r.get(0)?,
        execute_uuid: r.get(1)?,
        script_uuid: r.get(2)?,
        script_name: r.get(3)?,
        script_version: r.get(4)?,
        script_type: parse(r.get(5)?)?,
        content: r.get(6)?,
        script_params: from_json(r.get(7)?)?,
        execute_param: from_json(r.get(8)?)?,
        status: parse(r.get(9)?)?,
        current_batch: r.get(10)?,
        region_ids: r.get(11)?,
        pause_reason: r.get(12)?,
        acked_failures: r.get(13)?,
        creator: r.get(14)?,
        gmt_created: r.get(15)?,
        gmt_finished: r.get(16)?,
    })
}

const INSTANCE_COLS: &str = "id, order_id, batch_index, resource_id, target, status, gmt_created, \
    gmt_started, gmt_finished, exit_code, reason, output_bytes, dropped_bytes, attempt";

fn instance_row(r: &rusqlite::Row) -> Result<InstanceRow> {
    Ok(InstanceRow {
        id: r.get(0)?,
        order_id: r.get(1)?,
        batch_index: r.get(2)?,
        resource_id: r.get(3)?,
        target: r.get(4)?,
        status: parse(r.get(5)?)?,
        gmt_created: r.get(6)?,
        gmt_started: r.get(7)?,
        gmt_finished: r.get(8)?,
        exit_code: r.get(9)?,
        reason: r.get(10)?,
        output_bytes: r.get(11)?,
        dropped_bytes: r.get(12)?,
        attempt: r.get(13)?,
    })
}

/// Filters of the script list.
#[derive(Debug, Default, Clone)]
pub struct ScriptFilter {
    pub name_like: Option<String>,
    pub creator: Option<String>,
    pub risk_level: Option<String>,
    pub script_type: Option<String>,
}

/// Filters of the order list.
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub creator: Option<String>,
    /// Creation time bounds, in milliseconds.
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
}

/// Sets a connection up as every cocpit database is (WAL, the given `synchronous`, foreign
/// keys, a busy timeout) and applies the migrations it has not seen (`PRAGMA user_version`).
pub fn prepare(mut conn: Connection, synchronous: &str, migrations: &[&str]) -> Result<Connection> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in migrations.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path, vault: super::vault::Vault) -> Result<Store> {
        let conn = Connection::open(path)?;
        Self::init(conn, vault)
    }

    pub fn open_in_memory() -> Result<Store> {
        Self::init(
            Connection::open_in_memory()?,
            super::vault::Vault::ephemeral(),
        )
    }

    fn init(conn: Connection, vault: super::vault::Vault) -> Result<Store> {
        Ok(Store {
            conn: Mutex::new(prepare(conn, "NORMAL", MIGRATIONS)?),
            vault,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One write, in one transaction ([`change`]).
    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T>) -> Result<T> {
        change(&mut self.conn(), f)
    }

    /// Takes the write lock and lets it go: fails when the database cannot be written.
    pub fn probe_write(&self) -> Result<()> {
        self.conn().execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
    }

    /// Orders and instances stored, each counted by status.
    pub fn totals_by_status(&self) -> Result<[Vec<(String, u64)>; 2]> {
        let c = self.conn();
        let by = |sql: &str| -> Result<Vec<(String, u64)>> {
            let mut stmt = c.prepare_cached(sql)?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        };
        Ok([
            by("SELECT status, COUNT(*) FROM orders GROUP BY status")?,
            by("SELECT status, COUNT(*) FROM instances GROUP BY status")?,
        ])
    }

    pub fn schema_version(&self) -> Result<i64> {
        self.conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
    }

    // ---------------------------------------------------------------- scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_reopening_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let s = Store::open(&path, crate::vault::Vault::of_dir(dir.path()).unwrap()).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let mode: String = s
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        s.insert_script(&ScriptRow {
            id: 0,
            script_uuid: "SC1".into(),
            name: "kept".into(),
            description: "d".into(),
            script_type: ScriptType::Shell,
            content: "echo".into(),
            properties: ScriptPropertiesModel {
                risk_level: cocpit_api::model::script::RiskLevel::Low,
                version: "1".into(),
                reviewers: None,
                protocol: None,
            },
            script_params: vec![],
            status: ScriptStatus::Approved,
            gmt_created: 1,
            gmt_modified: 1,
            creator: "c".into(),
            creator_id: "c".into(),
            operator: "c".into(),
            enterprise_project_id: None,
        })
        .unwrap();
        drop(s);
        let again = Store::open(&path, crate::vault::Vault::of_dir(dir.path()).unwrap()).unwrap();
        assert_eq!(again.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(again.script("SC1").unwrap().unwrap().name, "kept");
    }
}
