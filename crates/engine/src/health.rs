//! What a server's health routes ask of the engine: can it write, and how many of what.

use crate::{Engine, Result, metric};

impl Engine {
    /// Both stores take writes now (what `/readyz` answers).
    pub fn ready(&self) -> Result<()> {
        self.inner.store.probe_write()?;
        self.inner.alarms.store.probe_write()?;
        Ok(())
    }

    /// Sets the gauges read when metrics are scraped: orders and instances by status, ssh
    /// masters up.
    pub fn measure(&self) -> Result<()> {
        use cocpit_api::model::order::{InstanceStatus, OrderStatus};
        let [orders, instances] = self.inner.store.totals_by_status()?;
        let order_states = OrderStatus::ALL.iter().map(|s| s.as_str());
        let instance_states = InstanceStatus::ALL.iter().map(|s| s.as_str());
        for (name, counts, known) in [
            (metric::ORDERS, orders, order_states.collect::<Vec<_>>()),
            (metric::INSTANCES, instances, instance_states.collect()),
        ] {
            // Every state is set, so one that has emptied reads 0, not its last count.
            for status in known {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!(name, "status" => status).set(n as f64);
            }
        }
        metrics::gauge!(metric::SSH_MASTERS_OPEN).set(self.inner.exec.masters.open_count() as f64);
        Ok(())
    }
}
