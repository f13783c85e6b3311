//! Review decisions and the audit trail.

use super::*;
use cocpit_api::model::script::ScriptStatus;
use cocpit_api::model::team::{AuditEntry, AuditQuery, ScriptReview};

impl Store {
    /// Records a decision and sets the script's status, in one transaction: no status without
    /// its decision. False when the script is gone.
    pub fn decide(&self, r: &ScriptReview) -> Result<bool> {
        let mut c = self.conn();
        let tx = c.transaction()?;
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
        tx.commit()?;
        Ok(true)
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

    /// Sets the outcome of an entry begun before its write ([`Store::audit`] with status 0).
    pub fn audit_finish(&self, id: i64, status: u16, outcome: &str) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE audit SET status = ?2, outcome = ?3 WHERE id = ?1")?
            .execute(params![id, status, outcome])?;
        Ok(())
    }

    /// After a crash: entries begun but never finished say so.
    pub fn audit_unfinished(&self, outcome: &str) -> Result<usize> {
        self.conn()
            .execute("UPDATE audit SET outcome = ?1 WHERE status = 0", [outcome])
    }

    /// Appends one write to the audit trail (its id); entries older than `keep_before` go.
    pub fn audit(&self, e: &AuditEntry, keep_before: Option<i64>) -> Result<i64> {
        let c = self.conn();
        c.prepare_cached(
            "INSERT INTO audit (at, user, user_id, role, address, method, operation, target, \
             status, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
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
        let id = c.last_insert_rowid();
        if let Some(before) = keep_before {
            c.prepare_cached("DELETE FROM audit WHERE at < ?1")?
                .execute([before])?;
        }
        Ok(id)
    }

    /// The audit trail, newest first, filtered.
    pub fn audit_entries(&self, q: &AuditQuery, limit: i64) -> Result<Vec<AuditEntry>> {
        let c = self.conn();
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
