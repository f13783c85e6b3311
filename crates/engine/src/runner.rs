//! Driving orders: batches in order, the instances of a batch concurrently, rotation pauses,
//! the success-rate threshold, timeouts and the six operator operations.
//!
//! Each open order has one driver task. It keeps no state of its own: on every wake-up (an
//! instance ended, an operation arrived) it reads the order from the store and takes the next
//! step, so a restart resumes exactly where the store says. Transitions happen under
//! `Inner::lock`, which operations take too.

use crate::Fault;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::exec::{self, OutputSink, Verdict};
use super::output::Cap;
use super::store::{InstanceRow, OrderRow};
use super::transport::Launch;
use super::{Change, EngineError, Inner, Result, StopReason, now_ms};

/// The runner's own state: which orders are being driven and which instances run.
#[derive(Default)]
pub(crate) struct Runs {
    /// Serialises order state transitions (driver decisions and operator operations).
    pub(crate) lock: tokio::sync::Mutex<()>,
    pub(crate) drivers: std::sync::Mutex<std::collections::HashMap<i64, Arc<Notify>>>,
    pub(crate) running:
        std::sync::Mutex<std::collections::HashMap<i64, watch::Sender<Option<StopReason>>>>,
    /// Runs made ready on their hosts ahead of their batch (see [`arm`]), by instance.
    armed: std::sync::Mutex<std::collections::HashMap<i64, Armed>>,
}

/// An instance's run being made ready, for one order and attempt.
struct Armed {
    order_id: i64,
    attempt: i64,
    /// Set when its preparation began (it waits [`ARM_AFTER`] first).
    begun: Arc<std::sync::atomic::AtomicBool>,
    ready: tokio::sync::oneshot::Receiver<exec::Prepared>,
}

/// How long after a batch starts the next batch's runs are made ready: starting processes
/// takes CPU, and the batch's own scripts, starting now, come first.
const ARM_AFTER: Duration = Duration::from_millis(30);

impl Runs {
    fn armed(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, Armed>> {
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }
}
use cocpit_api::model::order::{
    BELOW_THRESHOLD, InstanceStatus, JobScriptOrderOperationBody, OperationType, OrderStatus,
    RotationStrategy, Tally,
};

/// Starts the order's driver, or wakes it if it is already running.
pub(super) fn ensure_driver(inner: &Arc<Inner>, order_id: i64) {
    let mut drivers = inner.runs.drivers.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = drivers.get(&order_id) {
        n.notify_one();
        return;
    }
    let notify = Arc::new(Notify::new());
    drivers.insert(order_id, notify.clone());
    let inner = inner.clone();
    tokio::spawn(async move { drive(inner, order_id, notify).await });
}

fn poke(inner: &Inner, order_id: i64) {
    let drivers = inner.runs.drivers.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = drivers.get(&order_id) {
        n.notify_one();
    }
}

async fn drive(inner: Arc<Inner>, order_id: i64, notify: Arc<Notify>) {
    loop {
        {
            let _g = inner.runs.lock.lock().await;
            let keep = step(&inner, order_id).unwrap_or_else(|e| {
                tracing::error!("order {order_id}: {e}");
                false
            });
            if !keep {
                inner
                    .runs
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
fn emit_order(inner: &Inner, o: &OrderRow) {
    let tally = inner.store.tally(o.id).unwrap_or_default();
    let info = crate::views::order_info(o.clone(), &tally);
    inner.emit(Change::OrderChanged {
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
fn emit_instance(inner: &Inner, execute_uuid: &str, order_id: i64, instance_id: i64) {
    let emitted = (|| -> Result<()> {
        // The row and the order's counts: never every instance of the order, once per change.
        let Some(i) = inner.store.instance(instance_id)? else {
            return Ok(());
        };
        let counts = Counts::of(inner, order_id)?;
        let batch_status = inner
            .store
            .batches(order_id)?
            .iter()
            .find(|b| b.batch_index == i.batch_index)
            .map(|b| {
                crate::views::batch_status_counted(b, |s| counts.count(Some(b.batch_index), s))
                    .to_string()
            });
        inner.emit(Change::InstanceChanged {
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
            let out = inner.store.output(i.id)?;
            let text = crate::views::message_tail(&i, &out, inner.settings.output_cap);
            if !text.is_empty() {
                inner.emit(Change::Output {
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
    inner: &Inner,
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
        disarm_order(inner, o.id);
    }
    inner.store.set_order_state(
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
    emit_order(inner, o);
    Ok(())
}

fn set_instance(
    inner: &Inner,
    o: &OrderRow,
    i: &InstanceRow,
    status: InstanceStatus,
    reason: Option<&str>,
) -> Result<()> {
    let finished = status.is_done().then(now_ms);
    inner.runs.armed().remove(&i.id);
    inner
        .store
        .set_instance_status(i.id, status, reason, finished)?;
    emit_instance(inner, &o.execute_uuid, o.id, i.id);
    Ok(())
}

/// Instances of an order counted by batch and status.
struct Counts(Vec<(i64, InstanceStatus, i64)>);

impl Counts {
    fn of(inner: &Inner, order_id: i64) -> Result<Counts> {
        Ok(Counts(inner.store.status_counts(order_id)?))
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
fn step(inner: &Arc<Inner>, order_id: i64) -> Result<bool> {
    loop {
        let mut o = inner.store.order_by_id(order_id)?;
        if o.status.is_terminal() {
            return Ok(false);
        }
        if o.status != OrderStatus::Processing {
            return Ok(true);
        }
        let batches = inner.store.batches(order_id)?;
        let counts = Counts::of(inner, order_id)?;
        let last = batches.last().map(|b| b.batch_index).unwrap_or(0);
        let b = o.current_batch;
        let Some(batch) = batches.iter().find(|x| x.batch_index == b) else {
            set_order(inner, &mut o, OrderStatus::Finished, b, None)?;
            return Ok(false);
        };
        if counts.count(Some(b), InstanceStatus::Ready) > 0 {
            if !batch.skipped {
                // This batch's masters first, then the next two batches' (see `masters`).
                for ahead in b..=(b + 2).min(last) {
                    request_masters(inner, order_id, ahead)?;
                }
            }
            for i in inner
                .store
                .instances_in(order_id, b, InstanceStatus::Ready)?
            {
                if batch.skipped {
                    set_instance(
                        inner,
                        &o,
                        &i,
                        InstanceStatus::Canceled,
                        Some("batch skipped by operator"),
                    )?;
                } else {
                    start_instance(inner, &o, &i)?;
                }
            }
            // The order flows on into the next batch unless a rotation pause stops it: make
            // that batch's runs ready on their hosts now, so starting it costs no process
            // start-up and no ssh session.
            if !batch.skipped && batch.rotation_strategy != RotationStrategy::Pause && b < last {
                arm(inner, &o, b + 1)?;
            }
            continue;
        }
        if counts.count(Some(b), InstanceStatus::Processing) > 0 {
            return Ok(true);
        }
        // The batch has settled: now, and only now, the success rate is judged.
        if rate_below(&o, &counts) {
            set_order(
                inner,
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
            set_order(inner, &mut o, OrderStatus::Paused, b, Some(why))?;
            return Ok(true);
        }
        if b >= last {
            set_order(inner, &mut o, OrderStatus::Finished, b, None)?;
            return Ok(false);
        }
        set_order(inner, &mut o, OrderStatus::Processing, b + 1, None)?;
    }
}

/// Queues ssh master connections for the hosts of batch `b` that have yet to run.
fn request_masters(inner: &Arc<Inner>, order_id: i64, b: i64) -> Result<()> {
    for i in inner
        .store
        .instances_in(order_id, b, InstanceStatus::Ready)?
    {
        if let Some(host) = inner.hosts.get(&i.resource_id) {
            inner.exec.masters.request(host);
        }
    }
    Ok(())
}

/// Makes the runs of batch `b`'s waiting instances ready on their hosts (see
/// [`exec::Prepared`]); [`start_instance`] takes them. A run made ready that does not start
/// (the order paused or ended, the instance canceled, the batch skipped) is dropped, which
/// kills it before anything of the script ran.
fn arm(inner: &Arc<Inner>, o: &OrderRow, b: i64) -> Result<()> {
    let batch = inner.store.batches(o.id)?;
    if batch.iter().any(|x| x.batch_index == b && x.skipped) {
        return Ok(());
    }
    for i in inner.store.instances_in(o.id, b, InstanceStatus::Ready)? {
        let Some(host) = inner.hosts.get(&i.resource_id).cloned() else {
            continue;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let begun = Arc::new(std::sync::atomic::AtomicBool::new(false));
        inner.runs.armed().insert(
            i.id,
            Armed {
                order_id: o.id,
                attempt: i.attempt,
                begun: begun.clone(),
                ready: rx,
            },
        );
        let job = job(o, &i);
        let workdir = run_dir(inner, &i);
        let inner = inner.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ARM_AFTER).await;
            // Called off, or its batch already started it cold.
            if tx.is_closed() {
                return;
            }
            begun.store(true, std::sync::atomic::Ordering::SeqCst);
            let prepared = exec::prepare(&inner.exec, &host, &job.launch, &workdir).await;
            // Refused when it was called off meanwhile: the run is dropped, and killed.
            let _ = tx.send(prepared);
        });
    }
    Ok(())
}

/// Drops the runs made ready for `order_id`'s instances.
fn disarm_order(inner: &Inner, order_id: i64) {
    inner.runs.armed().retain(|_, a| a.order_id != order_id);
}

/// A local working directory for a run of an instance: its attempt's, and this preparation's
/// own (a run made ready and called off removes its directory whenever its drop comes).
fn run_dir(inner: &Inner, i: &InstanceRow) -> std::path::PathBuf {
    static PREPARED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = PREPARED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    inner
        .exec
        .work_dir
        .join(format!("{}-{}-{n}", i.id, i.attempt + 1))
}

/// Pauses a PROCESSING order with `reason` (the engine is stopping); `false` when it was not
/// processing by the time the lock was held.
pub(super) async fn pause(inner: &Arc<Inner>, order_id: i64, reason: &str) -> Result<bool> {
    let _g = inner.runs.lock.lock().await;
    let mut o = inner.store.order_by_id(order_id)?;
    if o.status != OrderStatus::Processing {
        return Ok(false);
    }
    let b = o.current_batch;
    set_order(inner, &mut o, OrderStatus::Paused, b, Some(reason.into()))?;
    Ok(true)
}

/// The operator's operations, legal only where they make sense.
pub(super) async fn operate(
    inner: &Arc<Inner>,
    order_id: i64,
    op: &JobScriptOrderOperationBody,
) -> Result<()> {
    let _g = inner.runs.lock.lock().await;
    let mut o = inner.store.order_by_id(order_id)?;
    let insts = inner.store.instances(order_id)?;
    let batches = inner.store.batches(order_id)?;
    let last = batches.last().map(|b| b.batch_index).unwrap_or(0);
    let kind = op.operation_type;
    let illegal = |what: &str| {
        Err(EngineError(Fault::Conflict(format!(
            "{kind} is not allowed: {what} (order {} is {})",
            o.execute_uuid, o.status
        ))))
    };
    let find_instance = |id: i64| -> Result<&InstanceRow> {
        let i = insts.iter().find(|i| i.id == id).ok_or_else(|| {
            EngineError(Fault::NotFound(format!(
                "order {} has no instance {id}",
                o.execute_uuid
            )))
        })?;
        if let Some(b) = op.batch_index
            && b != i.batch_index
        {
            return Err(EngineError(Fault::Invalid(
                cocpit_api::model::validate::invalid(
                    "batch_index",
                    format!("instance {id} is in batch {}, not {b}", i.batch_index),
                ),
            )));
        }
        Ok(i)
    };
    match kind {
        OperationType::PauseOrder => {
            if o.status != OrderStatus::Processing {
                return illegal("only a PROCESSING order can be paused");
            }
            let b = o.current_batch;
            set_order(
                inner,
                &mut o,
                OrderStatus::Paused,
                b,
                Some("paused by operator".into()),
            )?;
        }
        OperationType::ContinueOrder => {
            if o.status != OrderStatus::Paused {
                return illegal("only a PAUSED order can be continued");
            }
            let failed = Tally::of(insts.iter().map(|i| i.status)).failed;
            inner.store.set_acked_failures(o.id, failed)?;
            let b = o.current_batch;
            let batch_done = insts
                .iter()
                .filter(|i| i.batch_index == b)
                .all(|i| i.status.is_done());
            let next = if batch_done && b < last { b + 1 } else { b };
            set_order(inner, &mut o, OrderStatus::Processing, next, None)?;
            ensure_driver(inner, o.id);
        }
        OperationType::CancelOrder => {
            if o.status.is_terminal() {
                return illegal("the order has already ended");
            }
            for i in &insts {
                match i.status {
                    InstanceStatus::Ready => set_instance(
                        inner,
                        &o,
                        i,
                        InstanceStatus::Canceled,
                        Some("order canceled by operator"),
                    )?,
                    InstanceStatus::Processing => stop(inner, i.id, "order canceled by operator"),
                    _ => {}
                }
            }
            let b = o.current_batch;
            set_order(inner, &mut o, OrderStatus::Canceled, b, None)?;
            poke(inner, o.id);
        }
        OperationType::SkipBatch => {
            let b = op.batch_index.unwrap_or_default();
            if o.status.is_terminal() {
                return illegal("the order has already ended");
            }
            if !batches.iter().any(|x| x.batch_index == b) {
                return Err(EngineError(Fault::NotFound(format!(
                    "order {} has no batch {b}",
                    o.execute_uuid
                ))));
            }
            if insts
                .iter()
                .any(|i| i.batch_index == b && i.status != InstanceStatus::Ready)
            {
                return illegal(&format!("batch {b} has already started"));
            }
            inner.store.skip_batch(o.id, b)?;
            for i in insts.iter().filter(|i| i.batch_index == b) {
                set_instance(
                    inner,
                    &o,
                    i,
                    InstanceStatus::Canceled,
                    Some("batch skipped by operator"),
                )?;
            }
            poke(inner, o.id);
        }
        OperationType::CancelInstance => {
            let i = find_instance(op.instance_id.unwrap_or_default())?;
            match i.status {
                InstanceStatus::Ready => {
                    set_instance(
                        inner,
                        &o,
                        i,
                        InstanceStatus::Canceled,
                        Some("canceled by operator"),
                    )?;
                    poke(inner, o.id);
                }
                InstanceStatus::Processing => stop(inner, i.id, "canceled by operator"),
                s => {
                    return illegal(&format!(
                        "instance {} is {s}; only READY or PROCESSING instances can be canceled",
                        i.id
                    ));
                }
            }
        }
        OperationType::RetryInstance => {
            let i = find_instance(op.instance_id.unwrap_or_default())?;
            if !matches!(
                i.status,
                InstanceStatus::Abnormal | InstanceStatus::Canceled
            ) {
                return illegal(&format!(
                    "instance {} is {}; only ABNORMAL or CANCELED instances can be retried",
                    i.id, i.status
                ));
            }
            if o.status == OrderStatus::Canceled {
                return illegal("a canceled order cannot run again");
            }
            if o.status.is_terminal() {
                let b = o.current_batch;
                set_order(inner, &mut o, OrderStatus::Processing, b, None)?;
            }
            if i.batch_index <= o.current_batch {
                start_instance(inner, &o, i)?;
            } else {
                set_instance(inner, &o, i, InstanceStatus::Ready, None)?;
            }
            ensure_driver(inner, o.id);
        }
    }
    Ok(())
}

fn stop(inner: &Inner, instance_id: i64, why: &str) {
    let running = inner.runs.running.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(tx) = running.get(&instance_id) {
        let _ = tx.send(Some(StopReason::Canceled(why.to_string())));
    }
}

/// What an instance of an order needs to run, taken from the order once.
struct Job {
    execute_uuid: String,
    order_id: i64,
    launch: Launch,
    secrets: Vec<String>,
    timeout: Duration,
}

/// The job of one instance: its parameters, plus where it runs (`COCPIT_RESOURCE_ID`,
/// `COCPIT_EXECUTE_UUID`, `COCPIT_INSTANCE_ID` in its environment).
fn job(o: &OrderRow, i: &InstanceRow) -> Job {
    let p = &o.execute_param;
    // Declared defaults, overridden by the values given to this execution.
    let mut values: Vec<(String, String, i64)> = o
        .script_params
        .iter()
        .map(|d| (d.param_name.clone(), d.param_value.clone(), d.param_order))
        .collect();
    for given in &p.script_params {
        // A sensitive value is only ever shown masked: the mask given back means "the stored
        // value", never the six asterisks.
        let masked = given.param_value == super::output::MASK
            && o.script_params
                .iter()
                .any(|d| d.param_name == given.param_name && d.sensitive);
        if let Some(v) = values.iter_mut().find(|v| v.0 == given.param_name)
            && !masked
        {
            v.1 = given.param_value.clone();
        }
    }
    values.sort_by_key(|v| v.2);
    let secrets = o
        .script_params
        .iter()
        .filter(|d| d.sensitive)
        .filter_map(|d| values.iter().find(|v| v.0 == d.param_name))
        .map(|v| v.1.clone())
        .collect();
    let mut env: Vec<(String, String)> = vec![
        ("COCPIT_RESOURCE_ID".into(), i.resource_id.clone()),
        ("COCPIT_EXECUTE_UUID".into(), o.execute_uuid.clone()),
        ("COCPIT_INSTANCE_ID".into(), i.id.to_string()),
    ];
    env.extend(values.iter().map(|v| (v.0.clone(), v.1.clone())));
    let launch = Launch {
        script_type: o.script_type,
        content: o.content.clone(),
        args: values.iter().map(|v| v.1.clone()).collect(),
        env,
        limits: Default::default(),
    };
    Job {
        execute_uuid: o.execute_uuid.clone(),
        order_id: o.id,
        launch,
        secrets,
        timeout: Duration::from_secs(p.timeout.max(1) as u64),
    }
}

fn start_instance(inner: &Arc<Inner>, o: &OrderRow, i: &InstanceRow) -> Result<()> {
    inner.store.start_instance(i.id, now_ms())?;
    emit_instance(inner, &o.execute_uuid, o.id, i.id);
    let (tx, rx) = watch::channel(None);
    inner
        .runs
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(i.id, tx);
    // A run still waiting to be made ready is dropped: starting it cold is quicker.
    let armed = inner
        .runs
        .armed()
        .remove(&i.id)
        .filter(|a| a.attempt == i.attempt && a.begun.load(std::sync::atomic::Ordering::SeqCst))
        .map(|a| a.ready);
    let inner = inner.clone();
    let job = job(o, i);
    let inst = i.clone();
    tokio::spawn(async move {
        let (status, exit_code, reason) = run_instance(&inner, &job, &inst, armed, rx).await;
        let _g = inner.runs.lock.lock().await;
        inner
            .runs
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&inst.id);
        if let Err(e) =
            inner
                .store
                .finish_instance(inst.id, status, exit_code, reason.as_deref(), now_ms())
        {
            tracing::error!("instance {}: {e}", inst.id);
        }
        emit_instance(&inner, &job.execute_uuid, job.order_id, inst.id);
        poke(&inner, job.order_id);
    });
    Ok(())
}

/// An instance's output on its way to the store (capped) and the event stream.
struct StoreSink<'a> {
    inner: &'a Inner,
    execute_uuid: &'a str,
    instance_id: i64,
    attempt: i64,
    cap: Cap,
}

impl OutputSink for StoreSink<'_> {
    fn write(&mut self, data: &[u8], stderr: bool) {
        if data.is_empty() {
            return;
        }
        let at = now_ms();
        let (kept, dropped) = self.cap.take(data);
        let offset = (self.cap.kept - kept.len()) as u64;
        if let Err(e) = self
            .inner
            .store
            .append_output(self.instance_id, kept, stderr, at, dropped)
        {
            tracing::error!("output of instance {}: {e}", self.instance_id);
        }
        if !kept.is_empty() {
            self.inner.emit(Change::Output {
                execute_uuid: self.execute_uuid.to_string(),
                instance_id: self.instance_id,
                text: String::from_utf8_lossy(kept).into_owned(),
                stderr,
                at,
                offset,
                attempt: self.attempt,
            });
        }
    }
}

async fn run_instance(
    inner: &Inner,
    job: &Job,
    inst: &InstanceRow,
    armed: Option<tokio::sync::oneshot::Receiver<exec::Prepared>>,
    stop_rx: watch::Receiver<Option<StopReason>>,
) -> (InstanceStatus, Option<i32>, Option<String>) {
    let Some(host) = inner.hosts.get(&inst.resource_id) else {
        return (
            InstanceStatus::Abnormal,
            None,
            Some(format!(
                "host {:?} is no longer in the inventory",
                inst.resource_id
            )),
        );
    };
    let workdir = run_dir(inner, inst);
    let mut sink = StoreSink {
        inner,
        execute_uuid: &job.execute_uuid,
        instance_id: inst.id,
        // The run that started (the row read before it counted it).
        attempt: inst.attempt + 1,
        cap: Cap {
            limit: inner.settings.output_cap,
            kept: 0,
        },
    };
    // The run made ready ahead, unless it ended while it waited (its session died).
    let ready = match armed {
        Some(rx) => rx.await.ok().and_then(|mut p| p.is_waiting().then_some(p)),
        None => None,
    };
    let start = if ready.is_some() { "ready" } else { "cold" };
    metrics::counter!(crate::metric::RUNS_STARTED, "start" => start).increment(1);
    let prepared = match ready {
        Some(p) => p,
        None => exec::prepare(&inner.exec, host, &job.launch, &workdir).await,
    };
    let verdict = prepared
        .run(job.timeout, &job.secrets, stop_rx, &mut sink)
        .await;
    let status = match verdict {
        Verdict::Succeeded => InstanceStatus::Finished,
        Verdict::Stopped { .. } => InstanceStatus::Canceled,
        Verdict::Failed { .. } | Verdict::TimedOut { .. } => InstanceStatus::Abnormal,
    };
    (
        status,
        verdict.exit_code(),
        verdict.reason().map(str::to_string),
    )
}
