//! Starting an order's instances: what each runs with (its job), the runs of the next batch
//! made ready while a batch runs (see `exec::Prepared`), and each run followed to its end with
//! its output on its way to the store and the event stream.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Driver;
use super::{emit_instance, poke};
use crate::exec::{self, OutputSink, Verdict};
use crate::output::Cap;
use crate::store::{InstanceRow, OrderRow};
use crate::transport::Launch;
use crate::{Change, Result, StopReason, now_ms};
use cocpit_api::model::order::InstanceStatus;

/// An instance's run being made ready, for one order and attempt.
pub(super) struct Armed {
    order_id: i64,
    attempt: i64,
    /// Set when its preparation began (it waits [`ARM_AFTER`] first).
    begun: Arc<std::sync::atomic::AtomicBool>,
    ready: tokio::sync::oneshot::Receiver<exec::Prepared>,
}

/// How long after a batch starts the next batch's runs are made ready: starting processes
/// takes CPU, and the batch's own scripts, starting now, come first.
const ARM_AFTER: Duration = Duration::from_millis(30);

/// Makes the runs of batch `b`'s waiting instances ready on their hosts (see
/// [`exec::Prepared`]); [`start_instance`] takes them. A run made ready that does not start
/// (the order paused or ended, the instance canceled, the batch skipped) is dropped, which
/// kills it before anything of the script ran.
pub(super) fn arm(d: &Driver, o: &OrderRow, b: i64) -> Result<()> {
    for i in d.store.instances_in(o.id, b, InstanceStatus::Ready)? {
        let Some(host) = d.hosts.get(&i.resource_id).cloned() else {
            continue;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let begun = Arc::new(std::sync::atomic::AtomicBool::new(false));
        d.runs.armed().insert(
            i.id,
            Armed {
                order_id: o.id,
                attempt: i.attempt,
                begun: begun.clone(),
                ready: rx,
            },
        );
        let job = job(o, &i);
        let workdir = run_dir(d, &i);
        let d = d.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ARM_AFTER).await;
            // Called off, or its batch already started it cold.
            if tx.is_closed() {
                return;
            }
            begun.store(true, std::sync::atomic::Ordering::SeqCst);
            let prepared = exec::prepare(&d.exec, &host, &job.launch, &workdir).await;
            // Refused when it was called off meanwhile: the run is dropped, and killed.
            let _ = tx.send(prepared);
        });
    }
    Ok(())
}

/// Drops the runs made ready for `order_id`'s instances.
pub(super) fn disarm_order(d: &Driver, order_id: i64) {
    d.runs.armed().retain(|_, a| a.order_id != order_id);
}

/// A local working directory for a run of an instance: its attempt's, and this preparation's
/// own (a run made ready and called off removes its directory whenever its drop comes).
fn run_dir(d: &Driver, i: &InstanceRow) -> std::path::PathBuf {
    static PREPARED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = PREPARED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    d.exec
        .work_dir
        .join(format!("{}-{}-{n}", i.id, i.attempt + 1))
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
        let masked = given.param_value == crate::output::MASK
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

pub(super) fn start_instance(d: &Driver, o: &OrderRow, i: &InstanceRow) -> Result<()> {
    d.store.start_instance(i.id, now_ms())?;
    emit_instance(d, &o.execute_uuid, o.id, i.id);
    let (tx, rx) = watch::channel(None);
    d.runs
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(i.id, tx);
    // A run still waiting to be made ready is dropped: starting it cold is quicker.
    let armed = d
        .runs
        .armed()
        .remove(&i.id)
        .filter(|a| a.attempt == i.attempt && a.begun.load(std::sync::atomic::Ordering::SeqCst))
        .map(|a| a.ready);
    let d = d.clone();
    let job = job(o, i);
    let inst = i.clone();
    tokio::spawn(async move {
        let (status, exit_code, reason) = run_instance(&d, &job, &inst, armed, rx).await;
        let _g = d.runs.lock.lock().await;
        d.runs
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&inst.id);
        if let Err(e) =
            d.store
                .finish_instance(inst.id, status, exit_code, reason.as_deref(), now_ms())
        {
            tracing::error!("instance {}: {e}", inst.id);
        }
        emit_instance(&d, &job.execute_uuid, job.order_id, inst.id);
        poke(&d, job.order_id);
    });
    Ok(())
}

/// An instance's output on its way to the store (capped) and the event stream.
struct StoreSink<'a> {
    d: &'a Driver,
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
            .d
            .store
            .append_output(self.instance_id, kept, stderr, at, dropped)
        {
            tracing::error!("output of instance {}: {e}", self.instance_id);
        }
        if !kept.is_empty() {
            self.d.emit(Change::Output {
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
    d: &Driver,
    job: &Job,
    inst: &InstanceRow,
    armed: Option<tokio::sync::oneshot::Receiver<exec::Prepared>>,
    stop_rx: watch::Receiver<Option<StopReason>>,
) -> (InstanceStatus, Option<i32>, Option<String>) {
    let Some(host) = d.hosts.get(&inst.resource_id) else {
        return (
            InstanceStatus::Abnormal,
            None,
            Some(format!(
                "host {:?} is no longer in the inventory",
                inst.resource_id
            )),
        );
    };
    let workdir = run_dir(d, inst);
    let mut sink = StoreSink {
        d,
        execute_uuid: &job.execute_uuid,
        instance_id: inst.id,
        // The run that started (the row read before it counted it).
        attempt: inst.attempt + 1,
        cap: Cap {
            limit: d.output_cap,
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
        None => exec::prepare(&d.exec, host, &job.launch, &workdir).await,
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
