//! One fire of an invoker: its command rendered with the parameters, run on each instance,
//! recorded as a record and its tasks.

use super::*;

/// Starts one fire: the next time is stored first (a crash never fires twice), then the
/// record, then a task per instance.
pub(super) fn fire(f: &Fires, id: &str, fire_at: i64, now: DateTime<Utc>) -> Tat<()> {
    let Some(inv): Option<Invoker> = f.store.get(TAT_INVOKERS, id).map_err(internal)? else {
        return Ok(());
    };
    if !inv.enable {
        return Ok(());
    }
    let next = schedule_of(&inv)
        .ok()
        .and_then(|s| s.next_after(now.max(at(fire_at))))
        .map(ms);
    put_invoker(f, &inv, next)?;
    f.schedule
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
    put_record(f, &record)?;
    metrics::counter!(crate::metric::SCHEDULER_FIRES, "kind" => "fired").increment(1);
    emit_invoker(f, &inv.invoker_id, Some(&record));
    let f = f.clone();
    tokio::spawn(async move {
        let result = run_invocation(&f, &inv, &record.invocation_id, "INVOKER").await;
        let mut record = record;
        record.result = result;
        if let Err(e) = put_record(&f, &record) {
            tracing::error!("invoker record {}: {e}", record.invocation_id);
        }
        emit_invoker(&f, &inv.invoker_id, Some(&record));
    });
    Ok(())
}

/// The command's script with parameters filled in, and the values to mask.
pub(super) fn render(cmd: &Command, parameters: &str) -> Tat<(String, Vec<String>)> {
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
pub(super) async fn run_invocation(
    f: &Fires,
    inv: &Invoker,
    invocation_id: &str,
    source: &str,
) -> String {
    let cmd: Option<Command> = f.store.get(TAT_COMMANDS, &inv.command_id).ok().flatten();
    let now = || format_time(f.clock.now());
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
        let _ = put_task(f, &task);
        let (f, cmd, parameters) = (f.clone(), cmd.clone(), inv.parameters.clone());
        set.spawn(async move {
            let start_failed = |task: &mut InvocationTask, why: String| {
                task.task_status = "START_FAILED".into();
                task.error_info = why;
            };
            match (&cmd, f.hosts.get(&task.instance_id).cloned()) {
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
                            task.start_time = Some(format_time(f.clock.now()));
                            task.task_result.exec_start_time = task.start_time.clone();
                            let _ = put_task(&f, &task);
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
                            let (verdict, out) = exec::run_captured(
                                &f.exec,
                                &host,
                                &launch,
                                &task.invocation_task_id,
                                Duration::from_secs(cmd.timeout.clamp(1, 86400) as u64),
                                &secrets,
                                OUTPUT_CAP,
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
            task.end_time = Some(format_time(f.clock.now()));
            task.task_result.exec_end_time = task.end_time.clone();
            task.updated_time = format_time(f.clock.now());
            let _ = put_task(&f, &task);
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
