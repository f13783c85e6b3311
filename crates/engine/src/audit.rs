//! The audit trail: every write through the API (who, role, when, from where, what, the
//! outcome), kept for `[serve] audit_days`, in the same transaction as the change it records.
//!
//! A front end runs a write under [`Engine::audited`]: its entry waits in a task-local slot,
//! and the first store transaction of the write that changes a row appends it (status 200,
//! `ok`) and commits with it ([`crate::store::change`]). After the answer,
//! [`Engine::settle_audit`] amends a kept entry whose answer was not that, or appends the entry
//! of a write that changed nothing (invalid, not found, refused) with its outcome. So no change
//! is stored without its entry, and no entry claims a change that did not happen.
//!
//! The alarm database keeps the entries of the writes it takes; entry ids come from one
//! counter, so the trail reads both in one order.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::*;
use crate::store::AuditDb;
use crate::store::team as sql;
use cocpit_api::model::team::{AuditEntry, AuditQuery};

tokio::task_local! {
    /// The write the current request makes, while it runs.
    static WRITE: Arc<Pending>;
}

/// A write's entry, and whether a transaction has kept it.
pub struct Pending(Mutex<Slot>);

struct Slot {
    entry: AuditEntry,
    kept: bool,
}

impl Pending {
    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A write that ran under [`Engine::audited`], to settle with its answer.
pub struct AuditTicket(Arc<Pending>);

impl AuditTicket {
    /// The entry's id.
    pub fn id(&self) -> i64 {
        self.0.slot().entry.id
    }
}

/// An entry a transaction appended; given back when that transaction does not commit.
pub(crate) struct Kept(Arc<Pending>);

impl Kept {
    pub(crate) fn give_back(self) {
        self.0.slot().kept = false;
    }
}

/// Inside a store transaction that changed a row: appends the entry of the write in progress,
/// the first time.
pub(crate) fn keep_in(tx: &rusqlite::Transaction) -> rusqlite::Result<Option<Kept>> {
    let Ok(pending) = WRITE.try_with(Arc::clone) else {
        return Ok(None);
    };
    let mut slot = pending.slot();
    if slot.kept {
        return Ok(None);
    }
    sql::audit_insert(tx, &slot.entry)?;
    slot.kept = true;
    drop(slot);
    Ok(Some(Kept(pending)))
}

/// The status and outcome an entry is kept with when its change commits.
const KEPT_STATUS: u16 = 200;
const KEPT_OUTCOME: &str = "ok";

/// How often, at most, old entries are dropped.
const PRUNE_EVERY_MS: i64 = 60_000;

/// The trail's ids (one sequence over both databases) and its retention.
pub(crate) struct Trail {
    next_id: AtomicI64,
    last_prune: AtomicI64,
}

impl Trail {
    pub(crate) fn open(store: &Store, alarms: &alarms::store::AlarmStore) -> Result<Trail> {
        let last = store.audit_last_id()?.max(alarms.audit_last_id()?);
        Ok(Trail {
            next_id: AtomicI64::new(last + 1),
            last_prune: AtomicI64::new(0),
        })
    }
}

impl Engine {
    fn pending(&self, mut entry: AuditEntry) -> Arc<Pending> {
        entry.id = self.inner.trail.next_id.fetch_add(1, Ordering::Relaxed);
        entry.status = KEPT_STATUS;
        entry.outcome = KEPT_OUTCOME.to_string();
        Arc::new(Pending(Mutex::new(Slot { entry, kept: false })))
    }

    /// Runs `write` (a request's handler) as the write `entry` describes: its first change
    /// commits with the entry. Settle the ticket with the answer.
    pub async fn audited<F: Future>(
        &self,
        entry: AuditEntry,
        write: F,
    ) -> (F::Output, AuditTicket) {
        let pending = self.pending(entry);
        let out = WRITE.scope(pending.clone(), write).await;
        (out, AuditTicket(pending))
    }

    /// [`Engine::audited`] for a write that does not wait.
    pub fn audited_now<R>(&self, entry: AuditEntry, write: impl FnOnce() -> R) -> (R, AuditTicket) {
        let pending = self.pending(entry);
        let out = WRITE.sync_scope(pending.clone(), write);
        (out, AuditTicket(pending))
    }

    /// After the answer: a kept entry whose answer differs gets its status and outcome; the
    /// entry of a write that changed nothing is appended with them. Entries older than
    /// `keep_days` (if set) are dropped.
    pub fn settle_audit(
        &self,
        ticket: AuditTicket,
        status: u16,
        outcome: &str,
        keep_days: Option<u64>,
    ) -> Result<()> {
        let (mut entry, kept) = {
            let slot = ticket.0.slot();
            (slot.entry.clone(), slot.kept)
        };
        if kept {
            if status != entry.status || outcome != entry.outcome {
                self.inner.store.audit_amend(entry.id, status, outcome)?;
                self.inner
                    .alarms
                    .store
                    .audit_amend(entry.id, status, outcome)?;
            }
        } else {
            entry.status = status;
            entry.outcome = outcome.to_string();
            self.inner.store.audit_append(&entry)?;
        }
        self.prune_audit(entry.at, keep_days)
    }

    /// Appends an entry on its own (a write refused before it ran); its id.
    pub fn record_audit(&self, entry: &AuditEntry, keep_days: Option<u64>) -> Result<i64> {
        let mut entry = entry.clone();
        entry.id = self.inner.trail.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner.store.audit_append(&entry)?;
        self.prune_audit(entry.at, keep_days)?;
        Ok(entry.id)
    }

    fn prune_audit(&self, now: i64, keep_days: Option<u64>) -> Result<()> {
        let Some(days) = keep_days else {
            return Ok(());
        };
        let last = self.inner.trail.last_prune.load(Ordering::Relaxed);
        if now - last < PRUNE_EVERY_MS
            || self
                .inner
                .trail
                .last_prune
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        let before = now - (days as i64) * 86_400_000;
        self.inner.store.audit_prune(before)?;
        self.inner.alarms.store.audit_prune(before)?;
        Ok(())
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
        let mut all = self.inner.store.audit_entries(q, limit)?;
        all.extend(self.inner.alarms.store.audit_entries(q, limit)?);
        all.sort_by_key(|e| std::cmp::Reverse(e.id));
        all.truncate(limit as usize);
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cocpit_api::model::script::AddScriptModel;
    use cocpit_api::model::team::{Caller, Role};

    fn alice() -> Caller {
        Caller {
            user: "alice".into(),
            user_id: "u-alice".into(),
            role: Role::Operator,
        }
    }

    fn creating(name: &str) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: now_ms(),
            user: "alice".into(),
            user_id: "u-alice".into(),
            role: "operator".into(),
            address: "127.0.0.1:1".into(),
            method: "POST".into(),
            operation: "CREATE_SCRIPT".into(),
            target: name.into(),
            status: 0,
            outcome: String::new(),
        }
    }

    fn script(name: &str) -> AddScriptModel {
        AddScriptModel::shell(name, "audited", "echo\n")
    }

    fn named(e: &Engine, name: &str) -> bool {
        e.inner.store.script_name_taken(name).unwrap()
    }

    /// The process may die between a change and its answer: the change's entry is already
    /// there, because it committed with the change.
    #[tokio::test]
    async fn a_change_commits_with_its_entry_and_survives_a_crash_before_the_answer() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &Setup::default()).unwrap();
        let (made, ticket) = engine.audited_now(creating("kept"), || {
            engine.create_script(script("kept"), &alice())
        });
        made.unwrap();
        let id = ticket.id();
        drop(ticket); // never settled: the answer was never sent
        drop(engine);
        let engine = Engine::open(dir.path(), &Setup::default()).unwrap();
        assert!(named(&engine, "kept"));
        let trail = engine.audit(&AuditQuery::default()).unwrap();
        assert_eq!(trail.len(), 1, "{trail:?}");
        assert_eq!((trail[0].id, trail[0].status), (id, 200));
        assert_eq!(trail[0].outcome, "ok");
    }

    /// An entry that cannot be written takes its change with it.
    #[tokio::test]
    async fn a_change_whose_entry_cannot_be_written_does_not_happen() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &Setup::default()).unwrap();
        // Another writer takes the id the next entry will get.
        let next = engine.inner.trail.next_id.load(Ordering::Relaxed);
        rusqlite::Connection::open(dir.path().join("cocpit.db"))
            .unwrap()
            .execute(
                "INSERT INTO audit (id, at, user, user_id, role, address, method, operation, \
                 target, status, outcome) VALUES (?1, 0, '', '', '', '', '', '', '', 0, '')",
                [next],
            )
            .unwrap();
        let (made, _ticket) = engine.audited_now(creating("lost"), || {
            engine.create_script(script("lost"), &alice())
        });
        assert!(made.is_err());
        assert!(!named(&engine, "lost"));
    }

    /// A write that changed nothing is in the trail with why; a kept one whose answer was not
    /// a success says so; a write outside any audit leaves no entry.
    #[tokio::test]
    async fn settling_records_failures_and_amends_kept_entries() {
        let engine = Engine::in_memory(&Setup::default()).unwrap();
        let (made, ticket) = engine
            .audited(creating("a"), async {
                engine.create_script(script("a"), &alice())
            })
            .await;
        made.unwrap();
        engine
            .settle_audit(ticket, 500, "failed (500): answer lost", None)
            .unwrap();
        let (dup, ticket) = engine.audited_now(creating("a"), || {
            engine.create_script(script("a"), &alice())
        });
        assert!(dup.is_err());
        engine
            .settle_audit(ticket, 400, "failed (400): name taken", None)
            .unwrap();
        engine.create_script(script("b"), &alice()).unwrap();
        let trail = engine.audit(&AuditQuery::default()).unwrap();
        let seen: Vec<(u16, &str)> = trail
            .iter()
            .map(|e| (e.status, e.outcome.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (400, "failed (400): name taken"),
                (500, "failed (500): answer lost")
            ]
        );
    }
}
