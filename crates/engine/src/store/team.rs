//! Review decisions and the audit trail.

use super::*;
use cocpit_api::model::script::ScriptStatus;
use cocpit_api::model::team::{AuditEntry, AuditQuery, ScriptReview};

impl Store {
    /// Records a decision and sets the script's status, in one transaction: no status without
    /// its decision. False when the script is gone.
    pub fn decide(&self, r: &ScriptReview) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE scripts SET status = ?2 WHERE script_uuid = ?1",
                params![r.script_uuid, r.status.as_str()],
            )?;
            if n != 1 {
                return Ok(false);
            }
            tx.execute(
            "INSERT INTO script_reviews (script_uuid, reviewer, reviewer_id, status, comments, at, \
             content_sha256, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                r.script_uuid,
                r.reviewer,
                r.reviewer_id,
                r.status.as_str(),
                r.comments,
                r.at,
                r.content_sha256,
                r.content
            ],
        )?;
            Ok(true)
        })
    }

    /// A script's decisions, oldest first.
    pub fn reviews(&self, uuid: &str) -> Result<Vec<ScriptReview>> {
        let c = self.conn();
        let mut stmt = c.prepare_cached(
            "SELECT script_uuid, reviewer, reviewer_id, status, comments, at, content_sha256, \
             content FROM script_reviews WHERE script_uuid = ?1 ORDER BY id",
        )?;
        stmt.query_map([uuid], |r| {
            let status: String = r.get(3)?;
            Ok(ScriptReview {
                script_uuid: r.get(0)?,
                reviewer: r.get(1)?,
                reviewer_id: r.get(2)?,
                status: status.parse().unwrap_or(ScriptStatus::PendingApprove),
                comments: r.get(4)?,
                at: r.get(5)?,
                content_sha256: r.get(6)?,
                content: r.get(7)?,
            })
        })?
        .collect()
    }
}

/// A database that keeps audit entries (the main store, and the alarm store for the writes it
/// takes): the trail's statements, declared once.
pub(crate) trait AuditDb {
    fn connection(&self) -> MutexGuard<'_, Connection>;

    /// The newest entry's id (0 when there is none).
    fn audit_last_id(&self) -> Result<i64> {
        self.connection()
            .query_row("SELECT COALESCE(MAX(id), 0) FROM audit", [], |r| r.get(0))
    }

    /// Appends an entry on its own.
    fn audit_append(&self, e: &AuditEntry) -> Result<()> {
        audit_insert(&self.connection(), e)
    }

    /// Sets a kept entry's status and outcome (no-op when this database does not hold it).
    fn audit_amend(&self, id: i64, status: u16, outcome: &str) -> Result<()> {
        self.connection()
            .prepare_cached("UPDATE audit SET status = ?2, outcome = ?3 WHERE id = ?1")?
            .execute(params![id, status, outcome])?;
        Ok(())
    }

    /// Drops the entries from before `before` (ms).
    fn audit_prune(&self, before: i64) -> Result<()> {
        self.connection()
            .prepare_cached("DELETE FROM audit WHERE at < ?1")?
            .execute([before])?;
        Ok(())
    }

    /// The entries, newest first, filtered.
    fn audit_entries(&self, q: &AuditQuery, limit: i64) -> Result<Vec<AuditEntry>> {
        let c = self.connection();
        let mut stmt = c.prepare_cached(
            "SELECT id, at, user, user_id, role, address, method, operation, target, status, \
             outcome FROM audit WHERE (?1 IS NULL OR user = ?1) \
             AND (?2 IS NULL OR substr(operation, 1, length(?2)) = ?2) \
             AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4) \
             AND (?5 IS NULL OR id < ?5) ORDER BY id DESC LIMIT ?6",
        )?;
        stmt.query_map(
            params![
                q.user,
                q.kind,
                q.since,
                q.until,
                q.marker.filter(|m| *m > 0),
                limit
            ],
            |r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    user: r.get(2)?,
                    user_id: r.get(3)?,
                    role: r.get(4)?,
                    address: r.get(5)?,
                    method: r.get(6)?,
                    operation: r.get(7)?,
                    target: r.get(8)?,
                    status: r.get(9)?,
                    outcome: r.get(10)?,
                })
            },
        )?
        .collect()
    }
}

impl AuditDb for Store {
    fn connection(&self) -> MutexGuard<'_, Connection> {
        self.conn()
    }
}

/// Appends `e` (with its id) in `conn`'s transaction, if one is open.
pub(crate) fn audit_insert(conn: &Connection, e: &AuditEntry) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (id, at, user, user_id, role, address, method, operation, target, \
         status, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        e.id,
        e.at,
        e.user,
        e.user_id,
        e.role,
        e.address,
        e.method,
        e.operation,
        e.target,
        e.status,
        e.outcome
    ])?;
    Ok(())
}

/// The audit table, for the alarm database's migration. The main store's is the same table,
/// written out in its own (released, so never edited) migration.
pub(crate) const AUDIT_TABLE: &str = "
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
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
";
