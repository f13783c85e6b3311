//! The audit trail: every write through the API (who, role, when, from where, what, the
//! outcome), kept for `[serve] audit_days`.

use super::*;
use cocpit_api::model::team::{AuditEntry, AuditQuery};

/// The outcome of a write the process stopped in the middle of (it may or may not have happened).
pub const UNFINISHED: &str = "unknown: the server stopped before it answered";

impl Engine {
    /// Appends one write, and returns its id; entries older than `keep_days` (if set) are
    /// dropped. An entry with status 0 is begun before its write and finished after
    /// ([`Engine::finish_audit`]): no change happens without its entry, and one the process
    /// never finished says so after a restart.
    pub fn record_audit(&self, e: &AuditEntry, keep_days: Option<u64>) -> Result<i64> {
        let before = keep_days.map(|d| e.at - (d as i64) * 86_400_000);
        Ok(self.inner.store.audit(e, before)?)
    }

    pub fn finish_audit(&self, id: i64, status: u16, outcome: &str) -> Result<()> {
        Ok(self.inner.store.audit_finish(id, status, outcome)?)
    }

    /// The trail, newest first: at most `limit` (1..100, default 50) entries after `marker`.
    pub fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let limit = validate::limit(q.limit, 100)?;
        if let Some(u) = &q.user {
            validate::length("user", u, 1, 128)?;
        }
        if let Some(k) = &q.kind {
            validate::length("kind", k, 1, 64)?;
        }
        Ok(self.inner.store.audit_entries(q, limit)?)
    }
}
