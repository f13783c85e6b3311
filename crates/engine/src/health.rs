//! What a server's health routes ask of the engine: can it write, and how many of what.

use crate::{Engine, Result, metric};

impl Engine {
    /// Both stores take writes now (what `/readyz` answers).
    pub fn ready(&self) -> Result<()> {
        self.inner.store.probe_write()?;
        self.inner.alarms.probe_write()?;
        Ok(())
    }

    /// Sets the gauges read when metrics are scraped: orders and instances by status, ssh
    /// masters up.
    pub fn measure(&self) -> Result<()> {
        let [orders, instances] = self.inner.store.totals_by_status()?;
        for (name, counts) in [(metric::ORDERS, orders), (metric::INSTANCES, instances)] {
            for (status, n) in counts {
                metrics::gauge!(name, "status" => status).set(n as f64);
            }
        }
        metrics::gauge!(metric::SSH_MASTERS_OPEN).set(self.inner.masters.open_count() as f64);
        Ok(())
    }
}
