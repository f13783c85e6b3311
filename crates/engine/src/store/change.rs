//! Every write to a database is one transaction through [`change`]. When an API write is being
//! audited ([`crate::audit`]), the first transaction of it that changes a row appends the
//! write's audit entry to the same database in that transaction: the change and its entry
//! commit together or not at all.

use rusqlite::{Connection, Transaction};

use super::Result;

/// Runs `f` in one transaction and commits it, with the audit entry of the write in progress
/// when `f` changed a row.
pub fn change<T>(conn: &mut Connection, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
    let tx = conn.transaction()?;
    let before = tx.total_changes();
    let out = f(&tx)?;
    let entry = if tx.total_changes() > before {
        crate::audit::keep_in(&tx)?
    } else {
        None
    };
    match tx.commit() {
        Ok(()) => Ok(out),
        Err(e) => {
            // Not kept after all: the write's entry waits for its next change, or its answer.
            if let Some(entry) = entry {
                entry.give_back();
            }
            Err(e)
        }
    }
}
