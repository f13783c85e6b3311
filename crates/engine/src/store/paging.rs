//! One way to read a list newest first, a page at a time: conditions built with numbered
//! parameters, the total under them, and the rows before a `marker` id.

use rusqlite::types::Value;

use super::{Result, Store};

/// `WHERE` conditions and their values, each `?` numbered as it is added.
#[derive(Default)]
pub struct Conditions {
    sql: Vec<String>,
    args: Vec<Value>,
}

impl Conditions {
    /// Adds `sql` (with one `?`) bound to `v`.
    pub fn push(&mut self, sql: &str, v: impl Into<Value>) {
        self.args.push(v.into());
        self.sql
            .push(sql.replace('?', &format!("?{}", self.args.len())));
    }
}

impl Store {
    /// The number of rows of `table` under `c`, and up to `limit` of them newest first after
    /// `marker` (the `id` of the last row of the previous page), each read with `row`.
    pub(super) fn page<T>(
        &self,
        table: &str,
        cols: &str,
        c: Conditions,
        marker: Option<i64>,
        limit: i64,
        row: impl Fn(&rusqlite::Row) -> Result<T>,
    ) -> Result<(u64, Vec<T>)> {
        let Conditions { sql, mut args } = c;
        let where_ = if sql.is_empty() {
            "1 = 1".to_string()
        } else {
            sql.join(" AND ")
        };
        let conn = self.conn();
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM {table} WHERE {where_}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let mut page_where = where_;
        if let Some(m) = marker {
            args.push(m.into());
            page_where.push_str(&format!(" AND id < ?{}", args.len()));
        }
        args.push(limit.into());
        let query = format!(
            "SELECT {cols} FROM {table} WHERE {page_where} ORDER BY id DESC LIMIT ?{}",
            args.len()
        );
        let mut stmt = conn.prepare(&query)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| row(r))?
            .collect::<Result<Vec<_>>>()?;
        Ok((total as u64, rows))
    }
}
