//! What keeps a long-lived engine up (work that runs or is scheduled) and how it stops cleanly:
//! its orders paused with a reason, never left to come back ABNORMAL.

use std::collections::HashSet;

use cocpit_api::model::agent::InvocationStatus;
use cocpit_api::model::desktop::JobStatus;
use cocpit_api::model::engine::Work;
use cocpit_api::model::order::OrderStatus;

use crate::store::docs::{AGENT_INVOCATIONS, DESKTOP_JOBS, Select};
use crate::{Engine, Result, runner};

impl Engine {
    /// What runs and what is scheduled now.
    pub fn work(&self) -> Result<Work> {
        let store = &self.inner.store;
        let running = store.running_instances()?;
        let mut orders: HashSet<String> = running.iter().map(|(eid, _, _)| eid.clone()).collect();
        for o in store.open_orders()? {
            if o.status == OrderStatus::Processing {
                orders.insert(o.execute_uuid);
            }
        }
        let count = |t, statuses: &[&str]| -> Result<u64> {
            let mut n = 0;
            for s in statuses {
                let (total, _): (u64, Vec<serde_json::Value>) = store.select(
                    t,
                    &Select {
                        equal: vec![("status", s.to_string().into())],
                        limit: 0,
                        ..Default::default()
                    },
                )?;
                n += total;
            }
            Ok(n)
        };
        Ok(Work {
            orders: orders.len() as u64,
            instances: running.len() as u64,
            agent_tasks: count(
                AGENT_INVOCATIONS,
                &[
                    InvocationStatus::Pending.as_str(),
                    InvocationStatus::Running.as_str(),
                ],
            )?,
            desktop_jobs: count(
                DESKTOP_JOBS,
                &[JobStatus::Waiting.as_str(), JobStatus::Running.as_str()],
            )?,
            invokers: self.scheduled_invokers() as u64,
        })
    }

    /// Pauses every PROCESSING order with `reason` (their running instances go on). Returns
    /// the orders paused.
    pub async fn pause_all(&self, reason: &str) -> Result<Vec<String>> {
        let mut paused = vec![];
        for o in self.inner.store.open_orders()? {
            if o.status == OrderStatus::Processing
                && runner::pause(&self.inner.driver(), o.id, reason).await?
            {
                paused.push(o.execute_uuid);
            }
        }
        Ok(paused)
    }

    /// Before the engine stops: pauses its orders with `reason` and waits until what already
    /// runs has ended (instances, TAT fires, agent tasks, desktop jobs, each bounded by its own
    /// timeout), pausing again any order started meanwhile, then closes the kept ssh masters.
    /// Returns the orders paused.
    pub async fn wind_down(&self, reason: &str) -> Result<Vec<String>> {
        let mut events = self.subscribe();
        let mut paused = vec![];
        loop {
            paused.extend(self.pause_all(reason).await?);
            let w = self.work()?;
            let running = w.instances + w.agent_tasks + w.desktop_jobs;
            if running == 0 && self.inner.store.tat_open_records()?.is_empty() {
                // Nothing runs over them any more: the kept ssh masters close with the engine.
                let masters = self.inner.exec.masters.clone();
                let _ = tokio::task::spawn_blocking(move || masters.close_all()).await;
                return Ok(paused);
            }
            // Whatever ends says so: then it is counted again.
            if let Err(tokio::sync::broadcast::error::RecvError::Closed) = events.recv().await {
                return Ok(paused);
            }
        }
    }
}
