//! `cocpit agent …` and `cocpit desktop …`: Cloud Eye agent tasks and Workspace desktop
//! agents from the shell.

use clap::Subcommand;
use serde_json::json;

use super::table::{Table, time};
use super::{CliResult, Output, print_json};
use crate::backend::prelude::*;
use crate::model::agent::*;

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
