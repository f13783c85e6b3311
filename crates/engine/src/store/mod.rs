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
];

pub mod docs;
mod incidents;

pub use docs::{Column, Table};
pub use incidents::IncidentRow;

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

    fn sealed_params(&self, declared: &[ScriptParamDefine]) -> String {
        let mut v = declared.to_vec();
        self.vault.seal_params(&mut v);
        json(&v)
    }

    /// A script as read, its sensitive defaults opened.
    fn script_opened(&self, r: &rusqlite::Row) -> Result<ScriptRow> {
        let mut s = script_row(r)?;
        self.vault
            .open_params(&mut s.script_params)
            .map_err(unreadable)?;
        Ok(s)
    }

    /// An order as read, its sensitive values opened.
    fn order_opened(&self, r: &rusqlite::Row) -> Result<OrderRow> {
        let mut o = order_row(r)?;
        self.vault
            .open_params(&mut o.script_params)
            .map_err(unreadable)?;
        self.vault
            .open_given(&mut o.execute_param, &o.script_params)
            .map_err(unreadable)?;
        Ok(o)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn schema_version(&self) -> Result<i64> {
        self.conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
    }

    // ---------------------------------------------------------------- scripts

    pub fn insert_script(&self, s: &ScriptRow) -> Result<i64> {
        let c = self.conn();
        c.execute(
            "INSERT INTO scripts (script_uuid, name, description, type, content, properties, script_params, \
             status, gmt_created, gmt_modified, creator, creator_id, operator, enterprise_project_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                s.script_uuid,
                s.name,
                s.description,
                s.script_type.as_str(),
                s.content,
                json(&s.properties),
                self.sealed_params(&s.script_params),
                s.status.as_str(),
                s.gmt_created,
                s.gmt_modified,
                s.creator,
                s.creator_id,
                s.operator,
                s.enterprise_project_id
            ],
        )?;
        Ok(c.last_insert_rowid())
    }

    pub fn script_name_taken(&self, name: &str) -> Result<bool> {
        self.conn()
            .query_row("SELECT 1 FROM scripts WHERE name = ?1", [name], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    }

    pub fn script(&self, uuid: &str) -> Result<Option<ScriptRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {SCRIPT_COLS} FROM scripts WHERE script_uuid = ?1"),
                [uuid],
                |r| self.script_opened(r),
            )
            .optional()
    }

    pub fn update_script(&self, s: &ScriptRow) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE scripts SET description = ?2, content = ?3, properties = ?4, script_params = ?5, \
             gmt_modified = ?6, operator = ?7 WHERE script_uuid = ?1",
            params![
                s.script_uuid,
                s.description,
                s.content,
                json(&s.properties),
                self.sealed_params(&s.script_params),
                s.gmt_modified,
                s.operator
            ],
        )?;
        Ok(n == 1)
    }

    pub fn delete_script(&self, uuid: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM scripts WHERE script_uuid = ?1", [uuid])?
            == 1)
    }

    /// Scripts newest first; `marker` is the `id` of the last row of the previous page.
    pub fn list_scripts(
        &self,
        f: &ScriptFilter,
        marker: Option<i64>,
        limit: i64,
    ) -> Result<(u64, Vec<ScriptRow>)> {
        let mut cond = vec!["1 = 1".to_string()];
        let mut args: Vec<rusqlite::types::Value> = vec![];
        let mut push = |sql: &str, v: rusqlite::types::Value| {
            args.push(v);
            cond.push(sql.replace('?', &format!("?{}", args.len())));
        };
        if let Some(n) = &f.name_like {
            let escaped = n
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            push("name LIKE ? ESCAPE '\\'", format!("%{escaped}%").into());
        }
        if let Some(c) = &f.creator {
            push("creator = ?", c.clone().into());
        }
        if let Some(r) = &f.risk_level {
            push(
                "json_extract(properties, '$.risk_level') = ?",
                r.clone().into(),
            );
        }
        if let Some(t) = &f.script_type {
            push("type = ?", t.clone().into());
        }
        let c = self.conn();
        let where_ = cond.join(" AND ");
        let total: i64 = c.query_row(
            &format!("SELECT COUNT(*) FROM scripts WHERE {where_}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let mut page_args = args.clone();
        let mut page_where = where_;
        if let Some(m) = marker {
            page_args.push(m.into());
            page_where.push_str(&format!(" AND id < ?{}", page_args.len()));
        }
        page_args.push(limit.into());
        let sql = format!(
            "SELECT {SCRIPT_COLS} FROM scripts WHERE {page_where} ORDER BY id DESC LIMIT ?{}",
            page_args.len()
        );
        let mut stmt = c.prepare(&sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(page_args.iter()), |r| {
                self.script_opened(r)
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok((total as u64, rows))
    }

    // ---------------------------------------------------------------- orders

    /// Stores an order with all its batches and instances in one transaction.
    pub fn insert_order(&self, o: &NewOrder) -> Result<i64> {
        let mut given = o.execute_param.clone();
        self.vault.seal_given(&mut given, &o.script.script_params);
        let declared = self.sealed_params(&o.script.script_params);
        let mut c = self.conn();
        let tx = c.transaction()?;
        tx.execute(
            "INSERT INTO orders (execute_uuid, script_uuid, script_name, script_version, script_type, content, \
             script_params, execute_param, status, current_batch, region_ids, creator, gmt_created) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?12)",
            params![
                o.execute_uuid,
                o.script.script_uuid,
                o.script.name,
                o.script.properties.version,
                o.script.script_type.as_str(),
                o.script.content,
                declared,
                json(&given),
                OrderStatus::Processing.as_str(),
                o.region_ids,
                o.creator,
                o.now
            ],
        )?;
        let order_id = tx.last_insert_rowid();
        for b in &o.batches {
            tx.execute(
                "INSERT INTO batches (order_id, batch_index, rotation_strategy) VALUES (?1, ?2, ?3)",
                params![order_id, b.index, b.rotation.as_str()],
            )?;
            for (resource_id, target) in &b.targets {
                tx.execute(
                    "INSERT INTO instances (order_id, batch_index, resource_id, target, status, gmt_created) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        order_id,
                        b.index,
                        resource_id,
                        target,
                        InstanceStatus::Ready.as_str(),
                        o.now
                    ],
                )?;
            }
        }
        tx.commit()?;
        Ok(order_id)
    }

    pub fn order(&self, execute_uuid: &str) -> Result<Option<OrderRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {ORDER_COLS} FROM orders WHERE execute_uuid = ?1"),
                [execute_uuid],
                |r| self.order_opened(r),
            )
            .optional()
    }

    pub fn order_by_id(&self, id: i64) -> Result<OrderRow> {
        self.conn().query_row(
            &format!("SELECT {ORDER_COLS} FROM orders WHERE id = ?1"),
            [id],
            |r| self.order_opened(r),
        )
    }

    /// Orders newest first; `marker` is the `order_id` of the last row of the previous page.
    pub fn list_orders(
        &self,
        f: &OrderFilter,
        marker: Option<i64>,
        limit: i64,
    ) -> Result<(u64, Vec<OrderRow>)> {
        let mut cond = vec!["1 = 1".to_string()];
        let mut args: Vec<rusqlite::types::Value> = vec![];
        let mut push = |sql: &str, v: rusqlite::types::Value| {
            args.push(v);
            cond.push(sql.replace('?', &format!("?{}", args.len())));
        };
        if let Some(s) = f.status {
            push("status = ?", s.as_str().to_string().into());
        }
        if let Some(c) = &f.creator {
            push("creator = ?", c.clone().into());
        }
        if let Some(t) = f.created_from {
            push("gmt_created >= ?", t.into());
        }
        if let Some(t) = f.created_to {
            push("gmt_created <= ?", t.into());
        }
        let c = self.conn();
        let where_ = cond.join(" AND ");
        let total: i64 = c.query_row(
            &format!("SELECT COUNT(*) FROM orders WHERE {where_}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let mut page_args = args.clone();
        let mut page_where = where_;
        if let Some(m) = marker {
            page_args.push(m.into());
            page_where.push_str(&format!(" AND id < ?{}", page_args.len()));
        }
        page_args.push(limit.into());
        let sql = format!(
            "SELECT {ORDER_COLS} FROM orders WHERE {page_where} ORDER BY id DESC LIMIT ?{}",
            page_args.len()
        );
        let mut stmt = c.prepare(&sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(page_args.iter()), |r| {
                self.order_opened(r)
            })?
            .collect::<Result<Vec<_>>>()?;
        Ok((total as u64, rows))
    }

    /// Orders that still have work or a decision pending.
    pub fn open_orders(&self) -> Result<Vec<OrderRow>> {
        let c = self.conn();
        let mut stmt = c.prepare(&format!(
            "SELECT {ORDER_COLS} FROM orders WHERE status NOT IN ('CANCELED', 'FINISHED', 'ROLLBACKED') ORDER BY id"
        ))?;
        stmt.query_map([], |r| self.order_opened(r))?.collect()
    }

    pub fn set_order_state(
        &self,
        order_id: i64,
        status: OrderStatus,
        current_batch: i64,
        pause_reason: Option<&str>,
        gmt_finished: Option<i64>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE orders SET status = ?2, current_batch = ?3, pause_reason = ?4, gmt_finished = ?5 WHERE id = ?1",
            params![order_id, status.as_str(), current_batch, pause_reason, gmt_finished],
        )?;
        Ok(())
    }

    pub fn set_acked_failures(&self, order_id: i64, n: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE orders SET acked_failures = ?2 WHERE id = ?1",
            params![order_id, n],
        )?;
        Ok(())
    }

    pub fn batches(&self, order_id: i64) -> Result<Vec<BatchRow>> {
        let c = self.conn();
        let mut stmt = c.prepare(
            "SELECT batch_index, rotation_strategy, skipped FROM batches WHERE order_id = ?1 ORDER BY batch_index",
        )?;
        stmt.query_map([order_id], |r| {
            Ok(BatchRow {
                batch_index: r.get(0)?,
                rotation_strategy: parse(r.get(1)?)?,
                skipped: r.get(2)?,
            })
        })?
        .collect()
    }

    pub fn skip_batch(&self, order_id: i64, batch_index: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE batches SET skipped = 1 WHERE order_id = ?1 AND batch_index = ?2",
            params![order_id, batch_index],
        )?;
        Ok(())
    }

    // ---------------------------------------------------------------- instances

    pub fn instances(&self, order_id: i64) -> Result<Vec<InstanceRow>> {
        let c = self.conn();
        let mut stmt = c.prepare(&format!(
            "SELECT {INSTANCE_COLS} FROM instances WHERE order_id = ?1 ORDER BY id"
        ))?;
        stmt.query_map([order_id], instance_row)?.collect()
    }

    /// How many instances of the order are in each (batch, status): what the driver decides on.
    pub fn status_counts(&self, order_id: i64) -> Result<Vec<(i64, InstanceStatus, i64)>> {
        let c = self.conn();
        let mut stmt = c.prepare_cached(
            "SELECT batch_index, status, COUNT(*) FROM instances WHERE order_id = ?1 GROUP BY batch_index, status",
        )?;
        stmt.query_map([order_id], |r| {
            Ok((r.get(0)?, parse(r.get(1)?)?, r.get(2)?))
        })?
        .collect()
    }

    /// The order's instances counted by what they came to.
    pub fn tally(&self, order_id: i64) -> Result<Tally> {
        let mut t = Tally::default();
        for (_, status, n) in self.status_counts(order_id)? {
            t.add(status, n);
        }
        Ok(t)
    }

    /// The tallies of several orders in one query (a page of the orders list).
    pub fn tallies(&self, order_ids: &[i64]) -> Result<std::collections::HashMap<i64, Tally>> {
        let mut out: std::collections::HashMap<i64, Tally> = std::collections::HashMap::new();
        if order_ids.is_empty() {
            return Ok(out);
        }
        let marks = vec!["?"; order_ids.len()].join(",");
        let c = self.conn();
        let mut stmt = c.prepare(&format!(
            "SELECT order_id, status, COUNT(*) FROM instances WHERE order_id IN ({marks}) \
             GROUP BY order_id, status"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(order_ids.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                parse::<InstanceStatus>(r.get(1)?)?,
                r.get(2)?,
            ))
        })?;
        for row in rows {
            let (id, status, n) = row?;
            out.entry(id).or_default().add(status, n);
        }
        Ok(out)
    }

    /// The instances of one batch in one status.
    pub fn instances_in(
        &self,
        order_id: i64,
        batch_index: i64,
        status: InstanceStatus,
    ) -> Result<Vec<InstanceRow>> {
        let c = self.conn();
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {INSTANCE_COLS} FROM instances WHERE order_id = ?1 AND batch_index = ?2 AND status = ?3 ORDER BY id"
        ))?;
        stmt.query_map(
            params![order_id, batch_index, status.as_str()],
            instance_row,
        )?
        .collect()
    }

    pub fn instance(&self, id: i64) -> Result<Option<InstanceRow>> {
        self.conn()
            .query_row(
                &format!("SELECT {INSTANCE_COLS} FROM instances WHERE id = ?1"),
                [id],
                instance_row,
            )
            .optional()
    }

    /// Marks an instance as started: a new attempt, with the previous attempt's output gone.
    pub fn start_instance(&self, id: i64, now: i64) -> Result<()> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        tx.execute("DELETE FROM output WHERE instance_id = ?1", [id])?;
        tx.execute(
            "UPDATE instances SET status = 'PROCESSING', gmt_started = ?2, gmt_finished = NULL, exit_code = NULL, \
             reason = NULL, output_bytes = 0, dropped_bytes = 0, attempt = attempt + 1 WHERE id = ?1",
            params![id, now],
        )?;
        tx.commit()
    }

    pub fn finish_instance(
        &self,
        id: i64,
        status: InstanceStatus,
        exit_code: Option<i32>,
        reason: Option<&str>,
        now: i64,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE instances SET status = ?2, exit_code = ?3, reason = ?4, gmt_finished = ?5 WHERE id = ?1",
            params![id, status.as_str(), exit_code, reason, now],
        )?;
        Ok(())
    }

    /// Puts an instance back to READY (a retry) or sets a status without an attempt.
    pub fn set_instance_status(
        &self,
        id: i64,
        status: InstanceStatus,
        reason: Option<&str>,
        gmt_finished: Option<i64>,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE instances SET status = ?2, reason = ?3, gmt_finished = ?4 WHERE id = ?1",
            params![id, status.as_str(), reason, gmt_finished],
        )?;
        Ok(())
    }

    /// Appends whole lines of one stream (already capped by the caller), arrived at `at_ms`, and
    /// counts dropped bytes.
    pub fn append_output(
        &self,
        id: i64,
        data: &[u8],
        stderr: bool,
        at_ms: i64,
        dropped: u64,
    ) -> Result<()> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        if !data.is_empty() {
            tx.execute(
                "INSERT INTO output (instance_id, data, stderr, at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![id, data, stderr, at_ms],
            )?;
        }
        tx.execute(
            "UPDATE instances SET output_bytes = output_bytes + ?2, dropped_bytes = dropped_bytes + ?3 WHERE id = ?1",
            params![id, data.len() as i64, dropped as i64],
        )?;
        tx.commit()
    }

    /// The captured output of an instance's latest attempt as it arrived: pieces of whole
    /// lines, each with its stream and arrival time.
    pub fn output_pieces(&self, id: i64) -> Result<Vec<(i64, bool, Vec<u8>)>> {
        let c = self.conn();
        let mut stmt = c.prepare_cached(
            "SELECT at_ms, stderr, data FROM output WHERE instance_id = ?1 ORDER BY seq",
        )?;
        stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
    }

    /// The whole captured output of an instance's latest attempt.
    pub fn output(&self, id: i64) -> Result<Vec<u8>> {
        let c = self.conn();
        let mut stmt = c.prepare("SELECT data FROM output WHERE instance_id = ?1 ORDER BY seq")?;
        let mut out = Vec::new();
        let mut rows = stmt.query([id])?;
        while let Some(r) = rows.next()? {
            let chunk: Vec<u8> = r.get(0)?;
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The instances that were running: their order's `execute_uuid`, their id and host.
    pub fn running_instances(&self) -> Result<Vec<(String, i64, String)>> {
        let c = self.conn();
        let mut stmt = c.prepare(
            "SELECT o.execute_uuid, i.id, i.resource_id FROM instances i \
             JOIN orders o ON o.id = i.order_id WHERE i.status = 'PROCESSING'",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
    }

    /// After a crash: every instance that was PROCESSING becomes ABNORMAL with `reason`, and every
    /// order that was PROCESSING becomes PAUSED. Returns the number of instances marked.
    pub fn recover_after_restart(&self, reason: &str, now: i64) -> Result<usize> {
        let mut c = self.conn();
        let tx = c.transaction()?;
        let n = tx.execute(
            "UPDATE instances SET status = 'ABNORMAL', reason = ?1, gmt_finished = ?2 WHERE status = 'PROCESSING'",
            params![reason, now],
        )?;
        tx.execute(
            "UPDATE orders SET status = 'PAUSED', pause_reason = ?1 WHERE status IN ('PROCESSING', 'READY')",
            params![reason],
        )?;
        tx.commit()?;
        Ok(n)
    }
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
