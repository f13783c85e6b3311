//! `cocpit agent …`, `cocpit desktop …` and `cocpit invoker …`: Cloud Eye agent tasks,
//! Workspace desktop agents and TAT scheduled invokers from the shell.

use base64::Engine as _;
use chrono::Utc;
use clap::Subcommand;
use serde_json::json;

use super::table::{Table, time};
use super::{CliResult, Output, fail, print_json};
use crate::backend::prelude::*;
use crate::format::local_offset;
use crate::model::agent::*;
use crate::model::tat::{self, *};

#[derive(Debug, Subcommand)]
pub enum AgentCmd {
    /// Every server's agent: state, version, last task.
    List,
    /// Install the agent on instances.
    Install {
        #[arg(required = true)]
        instance_ids: Vec<String>,
        /// The version (default: the config's).
        #[arg(long)]
        version: Option<String>,
    },
    /// Update the agent on instances.
    Update {
        #[arg(required = true)]
        instance_ids: Vec<String>,
        #[arg(long)]
        version: Option<String>,
    },
    /// Roll back tasks (an INSTALL or UPDATE that succeeded): the version before comes back.
    Rollback {
        #[arg(required = true)]
        invocation_ids: Vec<String>,
    },
    /// Run failed tasks again.
    Retry {
        #[arg(required = true)]
        invocation_ids: Vec<String>,
    },
    /// Agent tasks, newest first.
    Tasks {
        #[arg(long)]
        instance_id: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum DesktopCmd {
    /// Desktops and their agent.
    List,
    /// Install the agent on desktops (one job).
    Install {
        #[arg(required = true)]
        desktop_ids: Vec<String>,
    },
    /// Install jobs, newest first.
    Jobs,
}

#[derive(Debug, Subcommand)]
pub enum InvokerCmd {
    /// Invokers with their policy and next fire.
    List,
    /// Create an invoker: --at TIME (ONCE) or --cron EXPR (RECURRENCE, read in UTC+8).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        command_id: String,
        #[arg(long = "instance", required = true)]
        instance_ids: Vec<String>,
        /// ONCE at this time: +10m, HH:MM or "YYYY-MM-DD HH:MM" (local time), or
        /// YYYY-MM-DDThh:mm:ssZ.
        #[arg(long, conflicts_with = "cron")]
        at: Option<String>,
        /// RECURRENCE on this crontab expression, read in UTC+8 (Beijing time).
        #[arg(long)]
        cron: Option<String>,
        /// Parameters as JSON text: {"name": "value"}.
        #[arg(long)]
        parameters: Option<String>,
    },
    Enable {
        invoker_id: String,
    },
    Disable {
        invoker_id: String,
    },
    Delete {
        invoker_id: String,
    },
    /// Fires of an invoker, newest first.
    Records {
        invoker_id: String,
    },
    /// The tasks of one fire, with their output.
    Tasks {
        invocation_id: String,
    },
    /// The next fire times of a crontab expression (UTC+8), without creating anything.
    Preview {
        cron: String,
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// Create a command (the script an invoker runs).
    CommandCreate {
        #[arg(long)]
        name: String,
        /// The script text (it is sent base64-encoded).
        #[arg(long)]
        content: String,
        #[arg(long, default_value = "SHELL")]
        command_type: String,
        #[arg(long, default_value_t = 60)]
        timeout: i64,
        /// Allow {{name}} parameters, with these defaults as JSON text.
        #[arg(long)]
        parameters: Option<String>,
    },
    /// Commands.
    Commands,
}

fn create_body(
    kind: &str,
    ids: Vec<String>,
    version: Option<String>,
) -> BatchCreateInvocationRequestBody {
    BatchCreateInvocationRequestBody {
        instance_ids: (!ids.is_empty()).then_some(ids),
        invocation_type: kind.into(),
        invocation_target: Some(TARGET.into()),
        version,
        ..Default::default()
    }
}

fn invocation_body(kind: &str, ids: Vec<String>) -> BatchCreateInvocationRequestBody {
    BatchCreateInvocationRequestBody {
        invocation_ids: Some(ids),
        invocation_type: kind.into(),
        ..Default::default()
    }
}

/// Waits until `check` gives an answer, re-checking on every engine event (and each second,
/// for a backend without an event stream).
async fn until<T, F, Fut>(b: &dyn Backend, check: F) -> Result<T, super::Failure>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, crate::backend::Error>>,
{
    let mut events = b.subscribe();
    loop {
        if let Some(t) = check().await? {
            return Ok(t);
        }
        match events.as_mut() {
            Some(rx) => {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), rx.recv()).await;
            }
            None => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
        }
    }
}

async fn create(b: &dyn Backend, body: BatchCreateInvocationRequestBody, out: Output) -> CliResult {
    let mut answers = b.create_agent_invocations(body).await?;
    // Follow the tasks to their end (on the local engine they run in this process).
    let ids: Vec<String> = answers
        .iter()
        .filter(|a| a.ret_status == "successful")
        .filter_map(|a| a.invocation_id.clone())
        .collect();
    let ended: Vec<InvocationInfo> = until(b, || {
        let ids = &ids;
        async move {
            let mut ended = Vec::new();
            for id in ids {
                let r = b
                    .list_agent_invocations(ListAgentInvocationsQuery {
                        invocation_id: Some(id.clone()),
                        ..Default::default()
                    })
                    .await?;
                match r.invocations.into_iter().next() {
                    Some(i) if !i.invocation_status.is_open() => ended.push(i),
                    _ => return Ok(None),
                }
            }
            Ok(Some(ended))
        }
    })
    .await?;
    for a in answers.iter_mut() {
        if let Some(i) = ended
            .iter()
            .find(|i| Some(&i.invocation_id) == a.invocation_id.as_ref())
            && i.invocation_status != InvocationStatus::Succeeded
        {
            a.error_msg = Some(format!(
                "{}: {}",
                i.invocation_status,
                i.result_msg
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .last()
                    .unwrap_or("")
            ));
        }
    }
    let failed = answers.iter().any(|a| a.ret_status != "successful")
        || ended
            .iter()
            .any(|i| i.invocation_status != InvocationStatus::Succeeded);
    match out {
        Output::Json => print_json(&BatchCreateAgentInvocationsResponse {
            invocations: answers,
        }),
        Output::Table => {
            let mut t = Table::new(&["INSTANCE", "TASK", "RESULT", "WHY"]);
            for a in &answers {
                t.row(vec![
                    a.instance_id.clone(),
                    a.invocation_id.clone().unwrap_or_default(),
                    a.ret_status.clone(),
                    match (&a.error_code, &a.error_msg) {
                        (Some(c), Some(m)) => format!("{c}: {m}"),
                        (None, Some(m)) => m.clone(),
                        _ => String::new(),
                    },
                ]);
            }
            print!("{}", t.render());
        }
    }
    Ok(if failed { 1 } else { 0 })
}

pub async fn agent(b: &dyn Backend, cmd: AgentCmd, out: Output) -> CliResult {
    match cmd {
        AgentCmd::List => {
            let agents = b.agents().await?;
            match out {
                Output::Json => print_json(&crate::model::Data::new(&agents)),
                Output::Table => {
                    let mut t =
                        Table::new(&["INSTANCE", "STATE", "VERSION", "LAST TASK", "STATUS"]);
                    for a in &agents {
                        let last = a.last_invocation.as_ref();
                        t.row(vec![
                            a.instance_id.clone() + if a.installer { " (installer)" } else { "" },
                            a.agent_state.clone().unwrap_or("-".into()),
                            a.version.clone().unwrap_or("-".into()),
                            last.map(|l| l.invocation_type.to_string())
                                .unwrap_or_default(),
                            last.map(|l| l.invocation_status.to_string())
                                .unwrap_or_default(),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
            Ok(0)
        }
        AgentCmd::Install {
            instance_ids,
            version,
        } => create(b, create_body("INSTALL", instance_ids, version), out).await,
        AgentCmd::Update {
            instance_ids,
            version,
        } => create(b, create_body("UPDATE", instance_ids, version), out).await,
        AgentCmd::Rollback { invocation_ids } => {
            create(b, invocation_body("ROLLBACK", invocation_ids), out).await
        }
        AgentCmd::Retry { invocation_ids } => {
            create(b, invocation_body("RETRY", invocation_ids), out).await
        }
        AgentCmd::Tasks { instance_id, limit } => {
            let r = b
                .list_agent_invocations(ListAgentInvocationsQuery {
                    instance_id,
                    limit: Some(limit),
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&r),
                Output::Table => {
                    let mut t = Table::new(&[
                        "TASK", "INSTANCE", "TYPE", "STATUS", "FROM", "TO", "UPDATED",
                    ]);
                    for i in &r.invocations {
                        t.row(vec![
                            i.invocation_id.clone(),
                            i.instance_id.clone(),
                            i.invocation_type.to_string(),
                            i.invocation_status.to_string(),
                            i.current_version.clone().unwrap_or("-".into()),
                            i.target_version.clone().unwrap_or("-".into()),
                            time(i.update_time),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
            Ok(0)
        }
    }
}

pub async fn desktop(b: &dyn Backend, cmd: DesktopCmd, out: Output) -> CliResult {
    match cmd {
        DesktopCmd::List => {
            let r = b.desktop_agents().await?;
            match out {
                Output::Json => print_json(&r),
                Output::Table => {
                    let mut t =
                        Table::new(&["DESKTOP", "NAME", "STATE", "AGENT", "TASK", "PROGRESS"]);
                    for d in &r.agents_condition {
                        let a = d.agent_info.first();
                        t.row(vec![
                            d.desktop_id.clone(),
                            d.desktop_name.clone(),
                            d.status.clone(),
                            a.and_then(|a| a.agent_version.clone())
                                .unwrap_or("-".into()),
                            d.task_status.clone().unwrap_or_default(),
                            d.process.map(|p| format!("{p} %")).unwrap_or_default(),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
            Ok(0)
        }
        DesktopCmd::Install { desktop_ids } => {
            let job_id = b.install_desktop_agents(desktop_ids).await?;
            let status = until(b, || {
                let job_id = &job_id;
                async move {
                    let jobs = b.desktop_jobs().await?;
                    let j = jobs.into_iter().find(|j| &j.id == job_id);
                    Ok(match j {
                        Some(j) if j.status.is_open() => None,
                        j => Some(j.map(|j| j.status)),
                    })
                }
            })
            .await?;
            let ok = status == Some(crate::model::desktop::JobStatus::Success);
            if !ok {
                eprintln!(
                    "cocpit: job {job_id} ended {}: see cocpit desktop jobs",
                    status.map(|s| s.to_string()).unwrap_or("unknown".into())
                );
            }
            match out {
                Output::Json => print_json(&json!({ "job_id": job_id })),
                Output::Table => say!("{job_id}"),
            }
            Ok(if ok { 0 } else { 1 })
        }
        DesktopCmd::Jobs => {
            let jobs = b.desktop_jobs().await?;
            match out {
                Output::Json => print_json(&crate::model::Data::new(&jobs)),
                Output::Table => {
                    let mut t = Table::new(&["JOB", "STATUS", "BEGAN", "DESKTOPS", "WHY"]);
                    for j in &jobs {
                        t.row(vec![
                            j.id.clone(),
                            j.status.to_string(),
                            j.begin_time.clone(),
                            j.sub_jobs_total.to_string(),
                            j.fail_reason.clone().unwrap_or_default(),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
            Ok(0)
        }
    }
}

fn policy(i: &Invoker) -> String {
    match i.schedule_settings.policy.as_str() {
        "RECURRENCE" => format!(
            "cron {}",
            i.schedule_settings.recurrence.as_deref().unwrap_or("")
        ),
        other => other.to_string(),
    }
}

pub async fn invoker(b: &dyn Backend, cmd: InvokerCmd, out: Output) -> CliResult {
    let all = || DescribeRequest {
        limit: Some(100),
        ..Default::default()
    };
    match cmd {
        InvokerCmd::List => {
            let d = b.describe_invokers(all()).await?;
            match out {
                Output::Json => {
                    print_json(&json!({"TotalCount": d.total_count, "InvokerSet": d.set}))
                }
                Output::Table => {
                    let mut t = Table::new(&[
                        "INVOKER",
                        "NAME",
                        "ENABLED",
                        "POLICY",
                        "NEXT FIRE",
                        "INSTANCES",
                    ]);
                    for i in &d.set {
                        t.row(vec![
                            i.invoker_id.clone(),
                            i.name.clone(),
                            if i.enable { "yes" } else { "no" }.into(),
                            policy(i),
                            i.schedule_settings
                                .invoke_time
                                .as_deref()
                                .and_then(|s| parse_time(s).ok())
                                .map(|t| both_zones(t, local_offset()))
                                .unwrap_or("-".into()),
                            i.instance_ids.join(" "),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
            Ok(0)
        }
        InvokerCmd::Create {
            name,
            command_id,
            instance_ids,
            at,
            cron,
            parameters,
        } => {
            let settings = match (at, cron) {
                (Some(at), None) => ScheduleSettings {
                    policy: "ONCE".into(),
                    recurrence: None,
                    invoke_time: Some(tat::format_time(
                        tat::parse_user_time(
                            &at,
                            chrono::Utc::now(),
                            crate::format::local_offset(),
                        )
                        .map_err(|e| fail(format!("--at: {e}")))?,
                    )),
                },
                (None, Some(c)) => ScheduleSettings {
                    policy: "RECURRENCE".into(),
                    recurrence: Some(c),
                    invoke_time: None,
                },
                _ => return Err(fail("give --at TIME (ONCE) or --cron EXPR (RECURRENCE)")),
            };
            let id = b
                .create_invoker(CreateInvokerRequest {
                    name: Some(name),
                    invoker_type: Some("SCHEDULE".into()),
                    command_id: Some(command_id),
                    instance_ids: Some(instance_ids),
                    parameters,
                    schedule_settings: Some(settings),
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&json!({ "InvokerId": id })),
                Output::Table => say!("{id}"),
            }
            Ok(0)
        }
        InvokerCmd::Enable { invoker_id } => {
            b.set_invoker_enabled(&invoker_id, true).await?;
            Ok(0)
        }
        InvokerCmd::Disable { invoker_id } => {
            b.set_invoker_enabled(&invoker_id, false).await?;
            Ok(0)
        }
        InvokerCmd::Delete { invoker_id } => {
            b.delete_invoker(&invoker_id).await?;
            Ok(0)
        }
        InvokerCmd::Records { invoker_id } => {
            let d = b
                .invoker_records(DescribeRequest {
                    invoker_ids: Some(vec![invoker_id]),
                    limit: Some(100),
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => {
                    print_json(&json!({"TotalCount": d.total_count, "InvokerRecordSet": d.set}))
                }
                Output::Table => {
                    let mut t = Table::new(&["FIRED", "RESULT", "INVOCATION", "REASON"]);
                    for r in &d.set {
                        t.row(vec![
                            parse_time(&r.invoke_time)
                                .map(|t| both_zones(t, local_offset()))
                                .unwrap_or(r.invoke_time.clone()),
                            r.result.clone(),
                            r.invocation_id.clone(),
                            r.reason.clone(),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
            Ok(0)
        }
        InvokerCmd::Tasks { invocation_id } => {
            let d = b
                .invocation_tasks(DescribeRequest {
                    filters: Some(vec![Filter {
                        name: "invocation-id".into(),
                        values: vec![invocation_id],
                    }]),
                    hide_output: Some(false),
                    limit: Some(100),
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => {
                    print_json(&json!({"TotalCount": d.total_count, "InvocationTaskSet": d.set}))
                }
                Output::Table => {
                    for task in &d.set {
                        say!(
                            "{}  {}  {}  exit {}",
                            task.invocation_task_id,
                            task.instance_id,
                            task.task_status,
                            task.task_result.exit_code
                        );
                        let out = base64::engine::general_purpose::STANDARD
                            .decode(&task.task_result.output)
                            .unwrap_or_default();
                        print!(
                            "{}",
                            crate::sanitize::for_display(&String::from_utf8_lossy(&out))
                        );
                        if !task.error_info.is_empty() {
                            say!("  {}", crate::sanitize::for_display(&task.error_info));
                        }
                    }
                }
            }
            Ok(0)
        }
        InvokerCmd::Preview { cron, count } => {
            let c = parse_cron(&cron).map_err(|e| fail(e.to_string()))?;
            let s = Schedule::Recurrence(Box::new(c), cron);
            for t in s.upcoming(Utc::now(), count) {
                say!("{}", both_zones(t, local_offset()));
            }
            Ok(0)
        }
        InvokerCmd::CommandCreate {
            name,
            content,
            command_type,
            timeout,
            parameters,
        } => {
            let id = b
                .create_command(CreateCommandRequest {
                    command_name: Some(name),
                    content: Some(base64::engine::general_purpose::STANDARD.encode(content)),
                    command_type: Some(command_type),
                    timeout: Some(timeout),
                    enable_parameter: Some(parameters.is_some()),
                    default_parameters: parameters,
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&json!({ "CommandId": id })),
                Output::Table => say!("{id}"),
            }
            Ok(0)
        }
        InvokerCmd::Commands => {
            let d = b.describe_commands(all()).await?;
            match out {
                Output::Json => {
                    print_json(&json!({"TotalCount": d.total_count, "CommandSet": d.set}))
                }
                Output::Table => {
                    let mut t = Table::new(&["COMMAND", "NAME", "TYPE", "TIMEOUT", "PARAMETERS"]);
                    for c in &d.set {
                        t.row(vec![
                            c.command_id.clone(),
                            c.command_name.clone(),
                            c.command_type.clone(),
                            format!("{} s", c.timeout),
                            if c.enable_parameter {
                                c.default_parameters.clone()
                            } else {
                                "-".into()
                            },
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
            Ok(0)
        }
    }
}
