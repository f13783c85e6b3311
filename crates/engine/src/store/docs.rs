//! Documents: rows that keep the API's own JSON as `body`, keyed by `id`, with a few plain
//! columns to filter on. Agent tasks, desktop jobs and TAT objects are stored this way: their
//! shape is the wire's, and only the engine's queries need columns.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params_from_iter};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Result, Store};

/// A document table and its filter columns (besides `id` and `body`).
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

pub const AGENT_INVOCATIONS: Table = Table {
    name: "agent_invocations",
    columns: &["instance_id", "status"],
};
pub const AGENTS: Table = Table {
    name: "agents",
    columns: &[],
};
pub const DESKTOP_JOBS: Table = Table {
    name: "desktop_jobs",
    columns: &["status"],
};
pub const TAT_COMMANDS: Table = Table {
    name: "tat_commands",
    columns: &[],
};
pub const TAT_INVOKERS: Table = Table {
    name: "tat_invokers",
    columns: &["next_fire"],
};
pub const TAT_RECORDS: Table = Table {
    name: "tat_records",
    columns: &["invoker_id"],
};
pub const TAT_TASKS: Table = Table {
    name: "tat_tasks",
    columns: &["invocation_id", "instance_id"],
};

/// A filter column's value.
pub type Column = Value;

fn json_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn from_json<T: DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Which documents a listing takes: `column = value` for each pair of `equal`, `column IN
/// (values)` for each of `within` (an empty list matches nothing), newest first.
#[derive(Debug, Clone, Default)]
pub struct Select {
    pub equal: Vec<(&'static str, Value)>,
    pub within: Vec<(&'static str, Vec<String>)>,
    pub offset: u64,
    pub limit: u64,
    pub oldest_first: bool,
}

impl Store {
    /// Inserts or replaces the document `id` with its filter columns (in `t.columns` order).
    pub fn put<T: Serialize>(&self, t: Table, id: &str, columns: &[Value], body: &T) -> Result<()> {
        debug_assert_eq!(columns.len(), t.columns.len());
        let body = serde_json::to_string(body).map_err(json_err)?;
        let cols = t.columns.join(", ");
        let marks: Vec<String> = (0..t.columns.len())
            .map(|i| format!("?{}", i + 3))
            .collect();
        let sets: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let sql = format!(
            "INSERT INTO {} (id, body{}{}) VALUES (?1, ?2{}{})
             ON CONFLICT(id) DO UPDATE SET body = excluded.body{}{}",
            t.name,
            if cols.is_empty() { "" } else { ", " },
            cols,
            if marks.is_empty() { "" } else { ", " },
            marks.join(", "),
            if sets.is_empty() { "" } else { ", " },
            sets.join(", "),
        );
        let mut values: Vec<Value> = vec![Value::Text(id.into()), Value::Text(body)];
        values.extend(columns.iter().cloned());
        self.write(|c| c.prepare_cached(&sql)?.execute(params_from_iter(values)))?;
        Ok(())
    }

    pub fn get<T: DeserializeOwned>(&self, t: Table, id: &str) -> Result<Option<T>> {
        let body: Option<String> = self
            .conn()
            .prepare_cached(&format!("SELECT body FROM {} WHERE id = ?1", t.name))?
            .query_row([id], |r| r.get(0))
            .optional()?;
        body.map(|b| from_json(&b)).transpose()
    }

    pub fn delete(&self, t: Table, id: &str) -> Result<bool> {
        let n =
            self.write(|c| c.execute(&format!("DELETE FROM {} WHERE id = ?1", t.name), [id]))?;
        Ok(n > 0)
    }

    /// The documents `s` selects and how many match in all.
    pub fn select<T: DeserializeOwned>(&self, t: Table, s: &Select) -> Result<(u64, Vec<T>)> {
        let mut clauses = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        for (col, v) in &s.equal {
            values.push(v.clone());
            clauses.push(format!("{col} = ?{}", values.len()));
        }
        for (col, any) in &s.within {
            let marks: Vec<String> = any
                .iter()
                .map(|v| {
                    values.push(Value::Text(v.clone()));
                    format!("?{}", values.len())
                })
                .collect();
            clauses.push(format!("{col} IN ({})", marks.join(", ")));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let c = self.conn();
        let total: i64 = c.query_row(
            &format!("SELECT COUNT(*) FROM {}{filter}", t.name),
            params_from_iter(values.iter()),
            |r| r.get(0),
        )?;
        let order = if s.oldest_first { "ASC" } else { "DESC" };
        let mut stmt = c.prepare(&format!(
            "SELECT body FROM {}{filter} ORDER BY seq {order} LIMIT {} OFFSET {}",
            t.name, s.limit, s.offset
        ))?;
        let rows = stmt
            .query_map(params_from_iter(values.iter()), |r| r.get::<_, String>(0))?
            .map(|b| b.and_then(|b| from_json(&b)))
            .collect::<Result<Vec<T>>>()?;
        Ok((total as u64, rows))
    }

    /// TAT fires still PENDING or RUNNING.
    pub fn tat_open_records(&self) -> Result<Vec<cocpit_api::model::tat::InvokerRecord>> {
        let c = self.conn();
        let mut stmt = c.prepare(
            "SELECT body FROM tat_records WHERE json_extract(body, '$.Result') IN ('PENDING', 'RUNNING')",
        )?;
        stmt.query_map([], |r| r.get::<_, String>(0))?
            .map(|b| b.and_then(|b| from_json(&b)))
            .collect()
    }

    /// Every document of `t` with its first filter column, oldest first (loading at start).
    pub fn scan<T: DeserializeOwned>(&self, t: Table) -> Result<Vec<(Value, T)>> {
        let first = t.columns.first().copied().unwrap_or("NULL");
        let c = self.conn();
        let mut stmt = c.prepare(&format!(
            "SELECT {first}, body FROM {} ORDER BY seq",
            t.name
        ))?;
        stmt.query_map([], |r| Ok((r.get::<_, Value>(0)?, r.get::<_, String>(1)?)))?
            .map(|row| row.and_then(|(v, b)| Ok((v, from_json(&b)?))))
            .collect()
    }
}
