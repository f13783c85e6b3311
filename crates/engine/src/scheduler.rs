//! Tencent TAT: commands, scheduled invokers and a scheduler that really fires them.
//!
//! Each enabled invoker's next fire time is kept in the store and in an in-memory heap; one
//! task sleeps until the earliest (on the engine's [`Clock`](super::clock::Clock), so tests move
//! time by hand) and fires what is due: the command runs on the invoker's instances through the
//! same executor as scripts, and an invoker record keeps the tasks' results. After a restart a
//! fire whose time passed while the engine was down is recorded as missed, never run late.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::exec::{self, Captured, Verdict};
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

fn put_invoker(inner: &Inner, inv: &Invoker, next: Option<i64>) -> Tat<()> {
    inner
        .store
        .put(TAT_INVOKERS, &inv.invoker_id, &[next.into()], inv)
        .map_err(internal)
}

fn put_record(inner: &Inner, r: &InvokerRecord) -> Tat<()> {
    inner
        .store
        .put(
            TAT_RECORDS,
            &r.invocation_id,
            &[r.invoker_id.clone().into()],
            r,
        )
        .map_err(internal)
}

fn put_task(inner: &Inner, t: &InvocationTask) -> Tat<()> {
    inner
        .store
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
    let now = inner.clock.now();
    let rows: Vec<(rusqlite::types::Value, Invoker)> = inner.store.scan(TAT_INVOKERS)?;
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
                put_record(inner, &record)
                    .map_err(|e| super::EngineError::Internal(e.to_string()))?;
                s.next_after(now).map(ms)
            }
            Err(_) => None,
        };
        put_invoker(inner, &inv, later).map_err(|e| super::EngineError::Internal(e.to_string()))?;
        plan.set(&inv.invoker_id, later);
    }
    fail_interrupted(inner)?;
    *inner.plan.lock().unwrap_or_else(|p| p.into_inner()) = plan;
    // Without a runtime (an in-memory engine in a synchronous test) nothing fires.
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(run(Arc::downgrade(inner)));
    }
    Ok(())
}

/// Fires that were running when the engine stopped have an unknown result.
fn fail_interrupted(inner: &Inner) -> super::Result<()> {
    for mut r in inner.store.tat_open_records()? {
        r.result = "FAILED".into();
        r.reason = format!("{} ({})", r.reason, super::RESTART_REASON);
        put_record(inner, &r).map_err(|e| super::EngineError::Internal(e.to_string()))?;
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
        let changed = inner.schedule_changed.clone();
        let next = inner.plan.lock().unwrap_or_else(|p| p.into_inner()).peek();
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
            .plan
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_due(ms(now));
        for (id, fire_at) in due {
            if let Err(e) = fire(&inner, &id, fire_at, now) {
                tracing::error!("invoker {id}: {e}");
            }
        }
    }
}

/// Starts one fire: the next time is stored first (a crash never fires twice), then the
/// record, then a task per instance.
fn fire(inner: &Arc<Inner>, id: &str, fire_at: i64, now: DateTime<Utc>) -> Tat<()> {
    let Some(inv): Option<Invoker> = inner.store.get(TAT_INVOKERS, id).map_err(internal)? else {
        return Ok(());
    };
    if !inv.enable {
        return Ok(());
    }
    let next = schedule_of(&inv)
        .ok()
        .and_then(|s| s.next_after(now.max(at(fire_at))))
        .map(ms);
    put_invoker(inner, &inv, next)?;
    inner
        .plan
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .set(id, next);
    let record = InvokerRecord {
        invoker_id: inv.invoker_id.clone(),
        invoke_time: format_ms(fire_at),
        reason: match inv.schedule_settings.policy.as_str() {
            "ONCE" => "scheduled (ONCE)".into(),
            _ => format!(
                "scheduled (RECURRENCE {:?}, UTC+8)",
                inv.schedule_settings.recurrence.as_deref().unwrap_or("")
            ),
        },
        invocation_id: short_id("inv"),
        result: "RUNNING".into(),
    };
    put_record(inner, &record)?;
    inner.emit(Change::InvokerChanged {
        invoker_id: inv.invoker_id.clone(),
    });
    let inner = inner.clone();
    tokio::spawn(async move {
        let result = run_invocation(&inner, &inv, &record.invocation_id, "INVOKER").await;
        let mut record = record;
        record.result = result;
        if let Err(e) = put_record(&inner, &record) {
            tracing::error!("invoker record {}: {e}", record.invocation_id);
        }
        inner.emit(Change::InvokerChanged {
            invoker_id: inv.invoker_id.clone(),
        });
    });
    Ok(())
}

/// The command's script with parameters filled in, and the values to mask.
fn render(cmd: &Command, parameters: &str) -> Tat<(String, Vec<String>)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&cmd.content)
        .map_err(|e| tat_error(codes::INVALID_VALUE, format!("Content is not base64: {e}")))?;
    let mut script = String::from_utf8_lossy(&bytes).into_owned();
    let mut secrets = Vec::new();
    if cmd.enable_parameter {
        let mut values: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(if cmd.default_parameters.is_empty() {
                "{}"
            } else {
                &cmd.default_parameters
            })
            .unwrap_or_default();
        if !parameters.is_empty()
            && let Ok(serde_json::Value::Object(given)) = serde_json::from_str(parameters)
        {
            values.extend(given);
        }
        for (k, v) in values {
            let v = v.as_str().map(str::to_string).unwrap_or(v.to_string());
            let hidden = format!("{{{{tat-hidden:{k}}}}}");
            if script.contains(&hidden) {
                secrets.push(v.clone());
                script = script.replace(&hidden, &v);
            }
            script = script.replace(&format!("{{{{{k}}}}}"), &v);
        }
    }
    Ok((script, secrets))
}

/// Runs the invoker's command on each of its instances at once; the record's `Result`.
async fn run_invocation(
    inner: &Arc<Inner>,
    inv: &Invoker,
    invocation_id: &str,
    source: &str,
) -> String {
    let cmd: Option<Command> = inner
        .store
        .get(TAT_COMMANDS, &inv.command_id)
        .ok()
        .flatten();
    let now = || format_time(inner.clock.now());
    let mut set = tokio::task::JoinSet::new();
    for instance in &inv.instance_ids {
        let mut task = InvocationTask {
            invocation_id: invocation_id.into(),
            invocation_task_id: short_id("invt"),
            command_id: inv.command_id.clone(),
            task_status: "PENDING".into(),
            instance_id: instance.clone(),
            task_result: TaskResult {
                exit_code: 0,
                output: String::new(),
                exec_start_time: None,
                exec_end_time: None,
                dropped: 0,
            },
            start_time: None,
            end_time: None,
            created_time: now(),
            updated_time: now(),
            error_info: String::new(),
            invocation_source: source.into(),
            command_name: cmd
                .as_ref()
                .map(|c| c.command_name.clone())
                .unwrap_or_default(),
        };
        let _ = put_task(inner, &task);
        let (inner, cmd, parameters) = (inner.clone(), cmd.clone(), inv.parameters.clone());
        set.spawn(async move {
            let start_failed = |task: &mut InvocationTask, why: String| {
                task.task_status = "START_FAILED".into();
                task.error_info = why;
            };
            match (&cmd, inner.hosts.get(&task.instance_id).cloned()) {
                (None, _) => start_failed(&mut task, "the command no longer exists".into()),
                (_, None) => {
                    let why = format!(
                        "instance {} is no longer in the inventory",
                        task.instance_id
                    );
                    start_failed(&mut task, why)
                }
                (Some(cmd), Some(host)) => {
                    match (render(cmd, &parameters), cmd.command_type.as_str()) {
                        (Err(e), _) => start_failed(&mut task, e.message),
                        (_, "POWERSHELL") => start_failed(
                            &mut task,
                            "POWERSHELL commands cannot run on this engine's hosts".into(),
                        ),
                        (Ok((script, secrets)), kind) => {
                            task.task_status = "RUNNING".into();
                            task.start_time = Some(format_time(inner.clock.now()));
                            task.task_result.exec_start_time = task.start_time.clone();
                            let _ = put_task(&inner, &task);
                            let launch = Launch {
                                script_type: if kind == "BAT" {
                                    ScriptType::Bat
                                } else {
                                    ScriptType::Shell
                                },
                                content: script,
                                args: vec![],
                                env: vec![
                                    ("COCPIT_RESOURCE_ID".into(), task.instance_id.clone()),
                                    ("COCPIT_INVOCATION_ID".into(), task.invocation_id.clone()),
                                ],
                                limits: Default::default(),
                            };
                            let (_tx, rx) = watch::channel(None);
                            let mut out = Captured::with_cap(OUTPUT_CAP);
                            let workdir = inner.work_dir.join(&task.invocation_task_id);
                            let verdict = exec::run(
                                &inner,
                                &host,
                                &launch,
                                &workdir,
                                Duration::from_secs(cmd.timeout.clamp(1, 86400) as u64),
                                &secrets,
                                rx,
                                &mut out,
                            )
                            .await;
                            task.task_status = match &verdict {
                                Verdict::Succeeded => "SUCCESS",
                                Verdict::TimedOut { .. } => "TIMEOUT",
                                Verdict::Stopped { .. } => "TERMINATED",
                                Verdict::Failed { .. } => "FAILED",
                            }
                            .into();
                            task.task_result.exit_code = verdict.exit_code().unwrap_or(-1) as i64;
                            task.task_result.output =
                                base64::engine::general_purpose::STANDARD.encode(&out.bytes);
                            task.task_result.dropped = out.dropped as i64;
                            task.error_info = verdict.reason().unwrap_or_default().to_string();
                        }
                    }
                }
            }
            task.end_time = Some(format_time(inner.clock.now()));
            task.task_result.exec_end_time = task.end_time.clone();
            task.updated_time = format_time(inner.clock.now());
            let _ = put_task(&inner, &task);
            task.task_status
        });
    }
    let mut statuses = Vec::new();
    while let Some(r) = set.join_next().await {
        statuses.push(r.unwrap_or_else(|_| "FAILED".into()));
    }
    let ok = statuses.iter().filter(|s| *s == "SUCCESS").count();
    if ok == statuses.len() {
        "SUCCESS".into()
    } else if statuses.iter().all(|s| s == "TIMEOUT") {
        "TIMEOUT".into()
    } else if ok == 0 {
        "FAILED".into()
    } else {
        "PARTIAL_FAILED".into()
    }
}

fn page(limit: Option<i64>, offset: Option<i64>) -> Tat<(u64, u64)> {
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(tat_error(
            codes::RANGE,
            format!("Limit must be 1 to 100 (got {limit})"),
        ));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(tat_error(codes::RANGE, "Offset must not be negative"));
    }
    Ok((limit as u64, offset as u64))
}

/// One page of what matched, with how many matched in all.
fn paged<T>(matching: Vec<T>, offset: u64, limit: u64) -> Described<T> {
    Described {
        total_count: matching.len() as u64,
        set: matching
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect(),
    }
}

fn filter_value<'a>(filters: &'a Option<Vec<Filter>>, name: &str) -> Option<&'a [String]> {
    filters
        .as_deref()?
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.values.as_slice())
}

fn check_len(field: &str, v: &str, max: usize) -> Tat<()> {
    let n = v.chars().count();
    if n > max {
        return Err(tat_error(
            codes::TOO_LONG,
            format!("{field} must be at most {max} characters (got {n})"),
        ));
    }
    Ok(())
}

fn check_tags(tags: &Option<Vec<Tag>>) -> Tat<Vec<Tag>> {
    let tags = tags.clone().unwrap_or_default();
    if tags.len() > MAX_TAGS {
        return Err(tat_error(
            codes::RANGE,
            format!("Tags may hold at most {MAX_TAGS} tags (got {})", tags.len()),
        ));
    }
    Ok(tags)
}

impl Engine {
    /// `CreateCommand`.
    pub fn create_command(&self, r: &CreateCommandRequest) -> Tat<String> {
        let name = r
            .command_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| tat_error(codes::MISSING, "CommandName is required"))?;
        if name.len() > MAX_COMMAND_NAME {
            return Err(tat_error(
                codes::TOO_LONG,
                format!("CommandName must be at most {MAX_COMMAND_NAME} bytes"),
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(tat_error(
                codes::INVALID_VALUE,
                "CommandName may contain only letters, digits, _, - and .",
            ));
        }
        let content = r
            .content
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| tat_error(codes::MISSING, "Content is required (base64)"))?;
        if content.len() > MAX_CONTENT_B64 {
            return Err(tat_error(
                codes::TOO_LONG,
                "Content must be at most 64 KB of base64",
            ));
        }
        base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| tat_error(codes::INVALID_VALUE, format!("Content is not base64: {e}")))?;
        let kind = r.command_type.clone().unwrap_or("SHELL".into());
        if !COMMAND_TYPES.contains(&kind.as_str()) {
            return Err(tat_error(
                codes::INVALID_VALUE,
                format!("CommandType must be one of {}", COMMAND_TYPES.join(", ")),
            ));
        }
        let timeout = r.timeout.unwrap_or(60);
        if !(TIMEOUT_RANGE.0..=TIMEOUT_RANGE.1).contains(&timeout) {
            return Err(tat_error(
                codes::RANGE,
                format!("Timeout must be 1 to 86400 seconds (got {timeout})"),
            ));
        }
        check_len(
            "Description",
            r.description.as_deref().unwrap_or(""),
            MAX_DESCRIPTION,
        )?;
        let enable = r.enable_parameter.unwrap_or(false);
        let defaults = r.default_parameters.clone().unwrap_or_default();
        if !defaults.is_empty() {
            if !enable {
                return Err(tat_error(
                    codes::INVALID_PARAMETER,
                    "DefaultParameters needs EnableParameter true",
                ));
            }
            json_object("DefaultParameters", &defaults)?;
        }
        let tags = check_tags(&r.tags)?;
        let now = format_time(self.inner.clock.now());
        let id = self.unused_id(TAT_COMMANDS, "cmd")?;
        let cmd = Command {
            command_id: id.clone(),
            command_name: name.into(),
            description: r.description.clone().unwrap_or_default(),
            content: content.into(),
            command_type: kind,
            working_directory: r.working_directory.clone().unwrap_or_default(),
            timeout,
            created_time: now.clone(),
            updated_time: now,
            enable_parameter: enable,
            default_parameters: defaults,
            created_by: "USER".into(),
            tags,
            username: r.username.clone().unwrap_or_default(),
        };
        self.inner
            .store
            .put(TAT_COMMANDS, &id, &[], &cmd)
            .map_err(internal)?;
        Ok(id)
    }

    fn unused_id(&self, t: super::store::Table, prefix: &str) -> Tat<String> {
        loop {
            let id = short_id(prefix);
            let taken: Option<serde_json::Value> =
                self.inner.store.get(t, &id).map_err(internal)?;
            if taken.is_none() {
                return Ok(id);
            }
        }
    }

    /// `DescribeCommands`.
    pub fn describe_commands(&self, r: &DescribeRequest) -> Tat<Described<Command>> {
        let (limit, offset) = page(r.limit, r.offset)?;
        let ids = r
            .command_ids
            .clone()
            .or_else(|| filter_value(&r.filters, "command-id").map(<[String]>::to_vec));
        let (_, all): (u64, Vec<Command>) = self
            .inner
            .store
            .select(
                TAT_COMMANDS,
                &Select {
                    within: ids.map(|v| vec![("id", v)]).unwrap_or_default(),
                    limit: u64::MAX >> 1,
                    ..Default::default()
                },
            )
            .map_err(internal)?;
        let names = filter_value(&r.filters, "command-name");
        let types = filter_value(&r.filters, "command-type");
        let matching: Vec<Command> = all
            .into_iter()
            .filter(|c| names.is_none_or(|n| n.contains(&c.command_name)))
            .filter(|c| types.is_none_or(|t| t.contains(&c.command_type)))
            .collect();
        Ok(paged(matching, offset, limit))
    }

    /// `CreateInvoker`: checks everything against the seed's rules before anything is stored.
    pub fn create_invoker(&self, r: &CreateInvokerRequest) -> Tat<String> {
        let now = self.inner.clock.now();
        let name = r
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| tat_error(codes::MISSING, "Name is required"))?;
        check_len("Name", name, MAX_INVOKER_NAME)?;
        match r.invoker_type.as_deref() {
            Some("SCHEDULE") => {}
            None => return Err(tat_error(codes::MISSING, "Type is required (SCHEDULE)")),
            Some(other) => {
                return Err(tat_error(
                    codes::INVALID_VALUE,
                    format!("Type {other:?} is not supported: the only type is SCHEDULE"),
                ));
            }
        }
        let command_id = r
            .command_id
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| tat_error(codes::MISSING, "CommandId is required"))?;
        if !command_id.starts_with("cmd-") {
            return Err(tat_error(
                codes::INVALID_COMMAND_ID,
                format!("CommandId {command_id:?} is not a command id (cmd-…)"),
            ));
        }
        let instances = r.instance_ids.clone().unwrap_or_default();
        if instances.is_empty() || instances.len() > MAX_INSTANCES {
            return Err(tat_error(
                codes::RANGE,
                format!(
                    "InstanceIds must hold 1 to {MAX_INSTANCES} ids (got {})",
                    instances.len()
                ),
            ));
        }
        check_len(
            "Username",
            r.username.as_deref().unwrap_or(""),
            MAX_USERNAME,
        )?;
        let parameters = r.parameters.clone().unwrap_or_default();
        if !parameters.is_empty() {
            json_object("Parameters", &parameters)?;
        }
        let tags = check_tags(&r.tags)?;
        let schedule = schedule(r.schedule_settings.as_ref(), now)?;
        let cmd: Command = self
            .inner
            .store
            .get(TAT_COMMANDS, command_id)
            .map_err(internal)?
            .ok_or_else(|| {
                tat_error(
                    codes::COMMAND_NOT_FOUND,
                    format!("command {command_id} does not exist (CreateCommand makes one)"),
                )
            })?;
        if !parameters.is_empty() && !cmd.enable_parameter {
            return Err(tat_error(
                codes::INVALID_PARAMETER,
                format!("Parameters: command {command_id} was created with EnableParameter false"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for id in &instances {
            if !seen.insert(id) {
                return Err(tat_error(
                    codes::INVALID_INSTANCE_ID,
                    format!("InstanceIds lists {id} twice"),
                ));
            }
            if !self.inner.hosts.contains_key(id) {
                return Err(tat_error(
                    codes::INSTANCE_NOT_FOUND,
                    format!("instance {id} does not exist"),
                ));
            }
        }
        let stamp = format_time(now);
        let id = self.unused_id(TAT_INVOKERS, "ivk")?;
        let invoker = Invoker {
            invoker_id: id.clone(),
            name: name.into(),
            invoker_type: "SCHEDULE".into(),
            command_id: command_id.into(),
            username: r.username.clone().unwrap_or_default(),
            parameters,
            instance_ids: instances,
            enable: true,
            schedule_settings: r.schedule_settings.clone().unwrap_or_default(),
            created_time: stamp.clone(),
            updated_time: stamp,
            tags,
        };
        let next = schedule.next_after(now).map(ms);
        put_invoker(&self.inner, &invoker, next)?;
        self.replan(&id, next);
        Ok(id)
    }

    fn replan(&self, id: &str, next: Option<i64>) {
        self.inner
            .plan
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set(id, next);
        self.inner.schedule_changed.notify_one();
        self.inner.emit(Change::InvokerChanged {
            invoker_id: id.to_string(),
        });
    }

    fn invoker(&self, id: Option<&str>) -> Tat<Invoker> {
        let id = id
            .filter(|i| !i.is_empty())
            .ok_or_else(|| tat_error(codes::MISSING, "InvokerId is required"))?;
        self.inner
            .store
            .get(TAT_INVOKERS, id)
            .map_err(internal)?
            .ok_or_else(|| {
                tat_error(
                    codes::INVOKER_NOT_FOUND,
                    format!("invoker {id} does not exist"),
                )
            })
    }

    /// `EnableInvoker` / `DisableInvoker`. Enabling schedules from now on.
    pub fn set_invoker_enabled(&self, id: Option<&str>, enable: bool) -> Tat<()> {
        let mut inv = self.invoker(id)?;
        let now = self.inner.clock.now();
        inv.enable = enable;
        inv.updated_time = format_time(now);
        let next = if enable {
            schedule_of(&inv)
                .ok()
                .and_then(|s| s.next_after(now))
                .map(ms)
        } else {
            None
        };
        put_invoker(&self.inner, &inv, next)?;
        self.replan(&inv.invoker_id, next);
        Ok(())
    }

    /// `DeleteInvoker` (its records stay readable).
    pub fn delete_invoker(&self, id: Option<&str>) -> Tat<()> {
        let inv = self.invoker(id)?;
        self.inner
            .store
            .delete(TAT_INVOKERS, &inv.invoker_id)
            .map_err(internal)?;
        self.replan(&inv.invoker_id, None);
        Ok(())
    }

    /// `DescribeInvokers`; `ScheduleSettings.InvokeTime` is the next fire time.
    pub fn describe_invokers(&self, r: &DescribeRequest) -> Tat<Described<Invoker>> {
        let (limit, offset) = page(r.limit, r.offset)?;
        let ids = r
            .invoker_ids
            .clone()
            .or_else(|| filter_value(&r.filters, "invoker-id").map(<[String]>::to_vec));
        let (_, all): (u64, Vec<Invoker>) = self
            .inner
            .store
            .select(
                TAT_INVOKERS,
                &Select {
                    within: ids.map(|v| vec![("id", v)]).unwrap_or_default(),
                    limit: u64::MAX >> 1,
                    ..Default::default()
                },
            )
            .map_err(internal)?;
        let commands = filter_value(&r.filters, "command-id");
        let types = filter_value(&r.filters, "invoker-type");
        let matching: Vec<Invoker> = all
            .into_iter()
            .filter(|i| commands.is_none_or(|c| c.contains(&i.command_id)))
            .filter(|i| types.is_none_or(|t| t.contains(&i.invoker_type)))
            .collect();
        let total_count = matching.len() as u64;
        let plan = self.inner.plan.lock().unwrap_or_else(|p| p.into_inner());
        let set = matching
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|mut i| {
                i.schedule_settings.invoke_time =
                    plan.next.get(&i.invoker_id).map(|t| format_ms(*t));
                i
            })
            .collect::<Vec<_>>();
        Ok(Described { total_count, set })
    }

    /// `DescribeInvokerRecords`, newest first.
    pub fn describe_invoker_records(&self, r: &DescribeRequest) -> Tat<Described<InvokerRecord>> {
        let (limit, offset) = page(r.limit, r.offset)?;
        let within = match &r.invoker_ids {
            Some(ids) if !ids.is_empty() => vec![("invoker_id", ids.clone())],
            _ => vec![],
        };
        let (total_count, set) = self
            .inner
            .store
            .select(
                TAT_RECORDS,
                &Select {
                    within,
                    limit,
                    offset,
                    ..Default::default()
                },
            )
            .map_err(internal)?;
        Ok(Described { total_count, set })
    }

    /// `DescribeInvocationTasks`; output is hidden unless `HideOutput` is false.
    pub fn describe_invocation_tasks(&self, r: &DescribeRequest) -> Tat<Described<InvocationTask>> {
        let (limit, offset) = page(r.limit, r.offset)?;
        let mut sel = Select {
            within: r
                .invocation_task_ids
                .clone()
                .or_else(|| filter_value(&r.filters, "invocation-task-id").map(<[String]>::to_vec))
                .map(|v| vec![("id", v)])
                .unwrap_or_default(),
            limit: u64::MAX >> 1,
            oldest_first: true,
            ..Default::default()
        };
        if let Some([one]) = filter_value(&r.filters, "invocation-id") {
            sel.equal.push(("invocation_id", one.clone().into()));
        }
        let (_, all): (u64, Vec<InvocationTask>) =
            self.inner.store.select(TAT_TASKS, &sel).map_err(internal)?;
        let invocations = filter_value(&r.filters, "invocation-id");
        let instances = filter_value(&r.filters, "instance-id");
        let commands = filter_value(&r.filters, "command-id");
        let hide = r.hide_output.unwrap_or(true);
        let matching: Vec<InvocationTask> = all
            .into_iter()
            .filter(|t| invocations.is_none_or(|v| v.contains(&t.invocation_id)))
            .filter(|t| instances.is_none_or(|v| v.contains(&t.instance_id)))
            .filter(|t| commands.is_none_or(|v| v.contains(&t.command_id)))
            .collect();
        let mut page = paged(matching, offset, limit);
        if hide {
            for t in &mut page.set {
                t.task_result.output.clear();
            }
        }
        Ok(page)
    }

    /// How many invokers are scheduled (benchmarks, the console).
    pub fn scheduled_invokers(&self) -> usize {
        self.inner
            .plan
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

fn json_object(field: &str, text: &str) -> Tat<()> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(m)) => {
            for (k, v) in &m {
                if !v.is_string() {
                    return Err(tat_error(
                        codes::BAD_JSON,
                        format!("{field}: the value of {k:?} must be a string"),
                    ));
                }
            }
            Ok(())
        }
        Ok(_) => Err(tat_error(
            codes::BAD_JSON,
            format!("{field} must be a JSON object of strings, such as {{\"name\": \"value\"}}"),
        )),
        Err(e) => Err(tat_error(
            codes::BAD_JSON,
            format!("{field} is not valid JSON: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_gives_the_earliest_and_forgets_replaced_times() {
        let mut p = Plan::default();
        p.set("a", Some(30));
        p.set("b", Some(10));
        p.set("b", Some(40));
        p.set("c", Some(20));
        p.set("c", None);
        assert_eq!(p.peek(), Some(30));
        assert_eq!(p.take_due(35), vec![("a".to_string(), 30)]);
        assert_eq!(p.take_due(35), vec![]);
        assert_eq!(p.take_due(40), vec![("b".to_string(), 40)]);
        assert!(p.is_empty());
    }

    #[test]
    fn parameters_fill_the_script_and_hidden_ones_are_masked() {
        let cmd = Command {
            command_id: "cmd-1".into(),
            command_name: "n".into(),
            description: String::new(),
            content: base64::engine::general_purpose::STANDARD
                .encode("echo {{word}} {{tat-hidden:pw}} {{left}}"),
            command_type: "SHELL".into(),
            working_directory: String::new(),
            timeout: 60,
            created_time: String::new(),
            updated_time: String::new(),
            enable_parameter: true,
            default_parameters: r#"{"word":"hi","left":"L"}"#.into(),
            created_by: "USER".into(),
            tags: vec![],
            username: String::new(),
        };
        let (script, secrets) = render(&cmd, r#"{"word":"hello","pw":"s3cret"}"#).unwrap();
        assert_eq!(script, "echo hello s3cret L");
        assert_eq!(secrets, vec!["s3cret".to_string()]);
    }
}
