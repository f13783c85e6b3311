//! Tencent TAT: commands, scheduled invokers and a scheduler that really fires them.
//!
//! Each enabled invoker's next fire time is kept in the store and in an in-memory heap; one
//! task sleeps until the earliest (on the engine's [`Clock`](super::clock::Clock), so tests move
//! time by hand) and fires what is due: the command runs on the invoker's instances through the
//! same executor as scripts, and an invoker record keeps the tasks' results. After a restart a
//! fire whose time passed while the engine was down is recorded as missed, never run late.

mod api;
mod fire;

use crate::Fault;
use fire::*;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::exec::{self, Verdict};
use super::store::docs::{Select, TAT_COMMANDS, TAT_INVOKERS, TAT_RECORDS, TAT_TASKS};
use super::transport::Launch;
use super::{Change, Engine, Inner};
use cocpit_api::model::script::ScriptType;
use cocpit_api::model::tat::*;

type Tat<T> = std::result::Result<T, TatError>;

/// Output a task keeps (TAT's limit), base64 in the answer.
const OUTPUT_CAP: usize = 24 * 1024;
/// At most this many missed fires are counted for one invoker after a restart.
const MAX_MISSED_COUNT: usize = 100_000;

fn internal(e: impl std::fmt::Display) -> TatError {
    tat_error(codes::INTERNAL, format!("store: {e}"))
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn short_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let tail: String = (0..8)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}-{tail}")
}

/// What firing invokers works with, and all it gets of the engine: the store, the inventory,
/// running on hosts, the timetable, where changes go and the clock.
#[derive(Clone)]
pub(crate) struct Fires {
    pub(crate) store: Arc<super::store::Store>,
    pub(crate) hosts: Arc<std::collections::BTreeMap<String, crate::settings::Host>>,
    pub(crate) exec: Arc<exec::Hosts>,
    pub(crate) schedule: Arc<Timetable>,
    pub(crate) events: tokio::sync::broadcast::Sender<Change>,
    pub(crate) clock: Arc<dyn super::clock::Clock>,
}

impl Fires {
    fn emit(&self, e: Change) {
        // No subscriber is fine: events are notifications, the store is the truth.
        let _ = self.events.send(e);
    }
}

/// The scheduler's own state: the invokers' next fire times, and what wakes it when they change.
#[derive(Default)]
pub(crate) struct Timetable {
    pub(crate) plan: std::sync::Mutex<Plan>,
    pub(crate) changed: Arc<tokio::sync::Notify>,
}

/// The invokers' next fire times, earliest first. Stale heap entries (an invoker changed or
/// removed since) are skipped lazily.
#[derive(Debug, Default)]
pub struct Plan {
    heap: BinaryHeap<Reverse<(i64, String)>>,
    next: HashMap<String, i64>,
}

impl Plan {
    pub fn set(&mut self, id: &str, next: Option<i64>) {
        match next {
            Some(t) => {
                self.next.insert(id.to_string(), t);
                self.heap.push(Reverse((t, id.to_string())));
            }
            None => {
                self.next.remove(id);
            }
        }
    }

    /// The earliest fire time.
    pub fn peek(&mut self) -> Option<i64> {
        while let Some(Reverse((t, id))) = self.heap.peek() {
            if self.next.get(id) == Some(t) {
                return Some(*t);
            }
            self.heap.pop();
        }
        None
    }

    /// Takes every fire due at `now`.
    pub fn take_due(&mut self, now: i64) -> Vec<(String, i64)> {
        let mut due = Vec::new();
        while let Some(t) = self.peek() {
            if t > now {
                break;
            }
            let Some(Reverse((t, id))) = self.heap.pop() else {
                break;
            };
            self.next.remove(&id);
            due.push((id, t));
        }
        due
    }

    pub fn len(&self) -> usize {
        self.next.len()
    }

    pub fn is_empty(&self) -> bool {
        self.next.is_empty()
    }
}

fn schedule_of(inv: &Invoker) -> Tat<Schedule> {
    let s = &inv.schedule_settings;
    match s.policy.as_str() {
        "ONCE" => Ok(Schedule::Once(parse_time(
            s.invoke_time.as_deref().unwrap_or(""),
        )?)),
        _ => Ok(Schedule::Recurrence(
            Box::new(parse_cron(s.recurrence.as_deref().unwrap_or(""))?),
            s.recurrence.clone().unwrap_or_default(),
        )),
    }
}

fn put_invoker(f: &Fires, inv: &Invoker, next: Option<i64>) -> Tat<()> {
    f.store
        .put(TAT_INVOKERS, &inv.invoker_id, &[next.into()], inv)
        .map_err(internal)
}

/// Tells the front ends that an invoker changed: its row as it is now (with its next fire), or
/// that it is gone, and the record of the fire that started or ended, if one did.
fn emit_invoker(f: &Fires, invoker_id: &str, record: Option<&InvokerRecord>) {
    let stored: Option<Invoker> = f.store.get(TAT_INVOKERS, invoker_id).ok().flatten();
    let deleted = stored.is_none();
    let invoker = stored.map(|mut i| {
        let plan = f.schedule.plan.lock().unwrap_or_else(|p| p.into_inner());
        i.schedule_settings.invoke_time = plan.next.get(invoker_id).map(|t| format_ms(*t));
        Box::new(i)
    });
    f.emit(Change::InvokerChanged {
        invoker_id: invoker_id.to_string(),
        invoker,
        deleted,
        record: record.cloned().map(Box::new),
    });
}

fn put_record(f: &Fires, r: &InvokerRecord) -> Tat<()> {
    f.store
        .put(
            TAT_RECORDS,
            &r.invocation_id,
            &[r.invoker_id.clone().into()],
            r,
        )
        .map_err(internal)
}

fn put_task(f: &Fires, t: &InvocationTask) -> Tat<()> {
    f.store
        .put(
            TAT_TASKS,
            &t.invocation_task_id,
            &[t.invocation_id.clone().into(), t.instance_id.clone().into()],
            t,
        )
        .map_err(internal)
}

/// Loads the schedule, records fires missed while the engine was down, and starts the loop.
pub(crate) fn start(inner: &Arc<Inner>) -> super::Result<()> {
    let f = inner.fires();
    let now = f.clock.now();
    let rows: Vec<(rusqlite::types::Value, Invoker)> = f.store.scan(TAT_INVOKERS)?;
    let mut plan = Plan::default();
    for (next, inv) in rows {
        let rusqlite::types::Value::Integer(next) = next else {
            continue;
        };
        if !inv.enable {
            continue;
        }
        if next > ms(now) {
            plan.set(&inv.invoker_id, Some(next));
            continue;
        }
        // Missed: record it, then go on from now.
        let later = match schedule_of(&inv) {
            Ok(s) => {
                let mut count = 1;
                let mut t = at(next);
                while count < MAX_MISSED_COUNT {
                    match s.next_after(t) {
                        Some(n) if n <= now => {
                            count += 1;
                            t = n;
                        }
                        _ => break,
                    }
                }
                let last = t;
                let record = InvokerRecord {
                    invoker_id: inv.invoker_id.clone(),
                    invoke_time: format_ms(next),
                    reason: if count == 1 {
                        format!(
                            "MISSED: the engine was not running at {}; the command was not run",
                            format_ms(next)
                        )
                    } else {
                        format!(
                            "MISSED: the engine was not running for {count} fires from {} to {}; the command was not run",
                            format_ms(next),
                            format_time(last)
                        )
                    },
                    invocation_id: short_id("inv"),
                    result: "CANCELLED".into(),
                };
                put_record(&f, &record)
                    .map_err(|e| super::EngineError(Fault::Internal(e.to_string())))?;
                metrics::counter!(crate::metric::SCHEDULER_FIRES, "kind" => "missed")
                    .increment(count as u64);
                s.next_after(now).map(ms)
            }
            Err(_) => None,
        };
        put_invoker(&f, &inv, later)
            .map_err(|e| super::EngineError(Fault::Internal(e.to_string())))?;
        plan.set(&inv.invoker_id, later);
    }
    fail_interrupted(&f)?;
    *f.schedule.plan.lock().unwrap_or_else(|p| p.into_inner()) = plan;
    // Without a runtime (an in-memory engine in a synchronous test) nothing fires.
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(run(Arc::downgrade(inner)));
    }
    Ok(())
}

/// Fires that were running when the engine stopped have an unknown result.
fn fail_interrupted(f: &Fires) -> super::Result<()> {
    for mut r in f.store.tat_open_records()? {
        r.result = "FAILED".into();
        r.reason = format!("{} ({})", r.reason, super::RESTART_REASON);
        put_record(f, &r).map_err(|e| super::EngineError(Fault::Internal(e.to_string())))?;
    }
    Ok(())
}

/// Sleeps until the next fire, fires what is due, and goes round. Holds the engine only while
/// working, so dropping the engine ends it.
async fn run(weak: Weak<Inner>) {
    loop {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let clock = inner.clock.clone();
        let changed = inner.schedule.changed.clone();
        let next = inner
            .schedule
            .plan
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .peek();
        drop(inner);
        let woken = changed.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        match next {
            Some(t) => {
                tokio::select! {
                    _ = clock.sleep_until(at(t)) => {}
                    _ = &mut woken => continue,
                }
            }
            None => {
                woken.await;
                continue;
            }
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let now = inner.clock.now();
        let due = inner
            .schedule
            .plan
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_due(ms(now));
        let f = inner.fires();
        drop(inner);
        for (id, fire_at) in due {
            if let Err(e) = fire(&f, &id, fire_at, now) {
                tracing::error!("invoker {id}: {e}");
            }
        }
    }
}
