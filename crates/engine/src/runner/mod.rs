//! Driving orders: batches in order, the instances of a batch concurrently, rotation pauses,
//! the success-rate threshold, timeouts and the six operator operations.
//!
//! Each open order has one driver task. It keeps no state of its own: on every wake-up (an
//! instance ended, an operation arrived) it reads the order from the store and takes the next
//! step, so a restart resumes exactly where the store says. Transitions happen under
//! `Runs::lock`, which operations take too. The runner holds a [`Driver`]: the store, the
//! inventory, running on hosts, its own state and where changes go; nothing else of the engine. Starting instances (and making the next batch's
//! runs ready) is `launch`; the operator's operations are `operate`.

mod launch;
mod operate;

use std::sync::Arc;

use tokio::sync::{Notify, watch};

use super::store::Store;
use super::store::{InstanceRow, OrderRow};
use super::{Change, Result, StopReason, exec, now_ms};
use cocpit_api::model::order::{
    BELOW_THRESHOLD, InstanceStatus, OrderStatus, RotationStrategy, Tally,
};
use launch::{arm, disarm_order, start_instance};
pub(super) use operate::operate;

/// The runner's own state: which orders are being driven and which instances run.
#[derive(Default)]
pub(crate) struct Runs {
    /// Serialises order state transitions (driver decisions and operator operations).
    pub(crate) lock: tokio::sync::Mutex<()>,
    pub(crate) drivers: std::sync::Mutex<std::collections::HashMap<i64, Arc<Notify>>>,
    pub(crate) running:
        std::sync::Mutex<std::collections::HashMap<i64, watch::Sender<Option<StopReason>>>>,
    /// Runs made ready on their hosts ahead of their batch (see [`launch::arm`]), by instance.
    armed: std::sync::Mutex<std::collections::HashMap<i64, launch::Armed>>,
}

/// What the order driver works with, and all it gets of the engine.
#[derive(Clone)]
pub(crate) struct Driver {
    pub(crate) store: Arc<Store>,
    pub(crate) hosts: Arc<std::collections::BTreeMap<String, crate::settings::Host>>,
    /// Running on hosts.
    pub(crate) exec: Arc<exec::Hosts>,
    /// The runner's own state.
    pub(crate) runs: Arc<Runs>,
    pub(crate) events: tokio::sync::broadcast::Sender<Change>,
    /// Bytes of output kept per instance.
    pub(crate) output_cap: usize,
}

impl Driver {
    fn emit(&self, e: Change) {
        // No subscriber is fine: events are notifications, the store is the truth.
        let _ = self.events.send(e);
    }
}

impl Runs {
    fn armed(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, launch::Armed>> {
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Starts the order's driver, or wakes it if it is already running.
pub(super) fn ensure_driver(d: &Driver, order_id: i64) {
    let mut drivers = d.runs.drivers.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = drivers.get(&order_id) {
        n.notify_one();
        return;
    }
    let notify = Arc::new(Notify::new());
    drivers.insert(order_id, notify.clone());
    let d = d.clone();
    tokio::spawn(async move { drive(d, order_id, notify).await });
}

fn poke(d: &Driver, order_id: i64) {
    let drivers = d.runs.drivers.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = drivers.get(&order_id) {
        n.notify_one();
    }
}

async fn drive(d: Driver, order_id: i64, notify: Arc<Notify>) {
    loop {
        {
            let _g = d.runs.lock.lock().await;
            let keep = step(&d, order_id).unwrap_or_else(|e| {
                tracing::error!("order {order_id}: {e}");
                false
            });
            if !keep {
                d.runs
                    .drivers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&order_id);
                return;
            }
        }
        notify.notified().await;
    }
}

/// Publishes an order's state as the API shows it (a pause reason in today's numbers).
fn emit_order(d: &Driver, o: &OrderRow) {
    let tally = d.store.tally(o.id).unwrap_or_default();
    let info = crate::views::order_info(o.clone(), &tally);
    d.emit(Change::OrderChanged {
        execute_uuid: info.execute_uuid,
        status: info.status,
        current_batch: info.properties.current_execute_batch_index,
        pause_reason: info.properties.pause_reason,
        gmt_finished: info.gmt_finished,
    });
}

/// Publishes an instance's row after a change, with its batch's status and the order's tally.
/// When it ended with a reason (or lost output to the cap), the end of its `message` follows as
/// output, so a front end's copy of the message is the API's.
fn emit_instance(d: &Driver, execute_uuid: &str, order_id: i64, instance_id: i64) {
    let emitted = (|| -> Result<()> {
        // The row and the order's counts: never every instance of the order, once per change.
        let Some(i) = d.store.instance(instance_id)? else {
            return Ok(());
        };
        let counts = Counts::of(d, order_id)?;
        let batch_status = d
            .store
            .batches(order_id)?
            .iter()
            .find(|b| b.batch_index == i.batch_index)
            .map(|b| {
                crate::views::batch_status_counted(b, |s| counts.count(Some(b.batch_index), s))
                    .to_string()
            });
        d.emit(Change::InstanceChanged {
            execute_uuid: execute_uuid.to_string(),
            instance_id,
            batch_index: i.batch_index,
            status: i.status,
            attempt: i.attempt,
            exit_code: i.exit_code,
            gmt_finished: i.gmt_finished,
            execute_costs: crate::views::costs(i.gmt_started, i.gmt_finished),
            batch_status,
            tally: Some(counts.tally()),
        });
        if i.status.is_done() && (i.reason.is_some() || i.dropped_bytes > 0) {
            let out = d.store.output(i.id)?;
            let text = crate::views::message_tail(&i, &out, d.output_cap);
            if !text.is_empty() {
                d.emit(Change::Output {
                    execute_uuid: execute_uuid.to_string(),
                    instance_id,
                    text,
                    stderr: false,
                    at: now_ms(),
                    offset: String::from_utf8_lossy(&out).len() as u64,
                    attempt: i.attempt,
                });
            }
        }
        Ok(())
    })();
    if let Err(e) = emitted {
        tracing::error!("instance {instance_id}: {e}");
    }
}

fn set_order(
    d: &Driver,
    o: &mut OrderRow,
    status: OrderStatus,
    batch: i64,
    reason: Option<String>,
) -> Result<()> {
    o.status = status;
    o.current_batch = batch;
    o.pause_reason = reason;
    o.gmt_finished = status.is_terminal().then(now_ms);
    if status != OrderStatus::Processing {
        disarm_order(d, o.id);
    }
    d.store.set_order_state(
        o.id,
        status,
        batch,
        o.pause_reason.as_deref(),
        o.gmt_finished,
    )?;
    tracing::info!(
        order = %o.execute_uuid,
        status = status.as_str(),
        batch,
        reason = o.pause_reason.as_deref().unwrap_or(""),
        "order state"
    );
    emit_order(d, o);
    Ok(())
}

fn set_instance(
    d: &Driver,
    o: &OrderRow,
    i: &InstanceRow,
    status: InstanceStatus,
    reason: Option<&str>,
) -> Result<()> {
    let finished = status.is_done().then(now_ms);
    d.runs.armed().remove(&i.id);
    d.store
        .set_instance_status(i.id, status, reason, finished)?;
    emit_instance(d, &o.execute_uuid, o.id, i.id);
    Ok(())
}

/// Instances of an order counted by batch and status.
struct Counts(Vec<(i64, InstanceStatus, i64)>);

impl Counts {
    fn of(d: &Driver, order_id: i64) -> Result<Counts> {
        Ok(Counts(d.store.status_counts(order_id)?))
    }

    fn count(&self, batch: Option<i64>, status: InstanceStatus) -> i64 {
        self.0
            .iter()
            .filter(|c| c.1 == status && batch.is_none_or(|b| c.0 == b))
            .map(|c| c.2)
            .sum()
    }

    fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for (_, s, n) in &self.0 {
            t.add(*s, *n);
        }
        t
    }
}

/// Whether the order must pause on its success rate: judged over every instance settled so
/// far, and only once failures beyond those an operator already continued past exist.
fn rate_below(o: &OrderRow, counts: &Counts) -> bool {
    let t = counts.tally();
    t.failed > o.acked_failures && t.below(o.execute_param.success_rate)
}

/// Takes every step the order can take now. Returns whether the driver should keep waiting.
fn step(d: &Driver, order_id: i64) -> Result<bool> {
    loop {
        let mut o = d.store.order_by_id(order_id)?;
        if o.status.is_terminal() {
            return Ok(false);
        }
        if o.status != OrderStatus::Processing {
            return Ok(true);
        }
        let batches = d.store.batches(order_id)?;
        let counts = Counts::of(d, order_id)?;
        let last = batches.last().map(|b| b.batch_index).unwrap_or(0);
        let b = o.current_batch;
        let Some(batch) = batches.iter().find(|x| x.batch_index == b) else {
            set_order(d, &mut o, OrderStatus::Finished, b, None)?;
            return Ok(false);
        };
        if counts.count(Some(b), InstanceStatus::Ready) > 0 {
            if !batch.skipped {
                // This batch's masters first, then the next two batches' (see `masters`).
                for ahead in b..=(b + 2).min(last) {
                    request_masters(d, order_id, ahead)?;
                }
            }
            for i in d.store.instances_in(order_id, b, InstanceStatus::Ready)? {
                if batch.skipped {
                    set_instance(
                        d,
                        &o,
                        &i,
                        InstanceStatus::Canceled,
                        Some("batch skipped by operator"),
                    )?;
                } else {
                    start_instance(d, &o, &i)?;
                }
            }
            // The order flows on into the next batch unless a rotation pause stops it: make
            // that batch's runs ready on their hosts now, so starting it costs no process
            // start-up and no ssh session.
            if !batch.skipped && batch.rotation_strategy != RotationStrategy::Pause && b < last {
                let next_skipped = batches.iter().any(|x| x.batch_index == b + 1 && x.skipped);
                if !next_skipped {
                    arm(d, &o, b + 1)?;
                }
            }
            continue;
        }
        if counts.count(Some(b), InstanceStatus::Processing) > 0 {
            return Ok(true);
        }
        // The batch has settled: now, and only now, the success rate is judged.
        if rate_below(&o, &counts) {
            set_order(
                d,
                &mut o,
                OrderStatus::Paused,
                b,
                Some(BELOW_THRESHOLD.into()),
            )?;
            return Ok(true);
        }
        if batch.rotation_strategy == RotationStrategy::Pause && b < last && !batch.skipped {
            let why = format!(
                "rotation: paused after batch {b} of {last}; continue to run batch {}",
                b + 1
            );
            set_order(d, &mut o, OrderStatus::Paused, b, Some(why))?;
            return Ok(true);
        }
        if b >= last {
            set_order(d, &mut o, OrderStatus::Finished, b, None)?;
            return Ok(false);
        }
        set_order(d, &mut o, OrderStatus::Processing, b + 1, None)?;
    }
}

/// Queues ssh master connections for the hosts of batch `b` that have yet to run.
fn request_masters(d: &Driver, order_id: i64, b: i64) -> Result<()> {
    for i in d.store.instances_in(order_id, b, InstanceStatus::Ready)? {
        if let Some(host) = d.hosts.get(&i.resource_id) {
            d.exec.masters.request(host);
        }
    }
    Ok(())
}

/// Pauses a PROCESSING order with `reason` (the engine is stopping); `false` when it was not
/// processing by the time the lock was held.
pub(super) async fn pause(d: &Driver, order_id: i64, reason: &str) -> Result<bool> {
    let _g = d.runs.lock.lock().await;
    let mut o = d.store.order_by_id(order_id)?;
    if o.status != OrderStatus::Processing {
        return Ok(false);
    }
    let b = o.current_batch;
    set_order(d, &mut o, OrderStatus::Paused, b, Some(reason.into()))?;
    Ok(true)
}

fn stop(d: &Driver, instance_id: i64, why: &str) {
    let running = d.runs.running.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(tx) = running.get(&instance_id) {
        let _ = tx.send(Some(StopReason::Canceled(why.to_string())));
    }
}
