//! The audit trail: every write through the API (who, role, when, from where, what, the
//! outcome), kept for `[serve] audit_days`.

use super::*;
use cocpit_api::model::team::{AuditEntry, AuditQuery};

impl Engine {
    /// Appends one write; entries older than `keep_days` (if set) are dropped.
    pub fn record_audit(&self, e: &AuditEntry, keep_days: Option<u64>) -> Result<()> {
        let before = keep_days.map(|d| e.at - (d as i64) * 86_400_000);
        Ok(self.inner.store.audit(e, before)?)
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
