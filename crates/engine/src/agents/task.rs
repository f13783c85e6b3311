//! One agent task on a host: its environment, run by the same runner as scripts, and its
//! result recorded.

use super::*;

/// A task to start: where, what, and what to record.
pub(super) struct Task {
    pub(super) info: InvocationInfo,
    pub(super) host: Host,
    pub(super) command: String,
    pub(super) env: Vec<(String, String)>,
    pub(super) secrets: Vec<String>,
    /// The agent of `info.instance_id` is this cocpit's to record (not a remote install's).
    pub(super) records_agent: bool,
    /// A rollback marks this invocation ROLLBACKED when it succeeds.
    pub(super) rolls_back: Option<String>,
}

/// Result messages keep the end of the output, as much as the SDK allows.
pub(super) const RESULT_MSG_MAX: usize = 5000;

pub(super) fn agent_env(host: &Host, version: &str) -> Vec<(String, String)> {
    vec![
        ("COCPIT_RESOURCE_ID".into(), host.id.clone()),
        ("COCPIT_AGENT_VERSION".into(), version.into()),
    ]
}

pub(super) fn spawn(w: Work, t: Task) {
    tokio::spawn(async move {
        let mut info = t.info;
        info.invocation_status = InvocationStatus::Running;
        info.update_time = now_ms();
        let _ = w.put_invocation(&info);
        w.emit_agents(vec![info.instance_id.clone()]);
        let (verdict, output) = run_command(
            &w,
            &t.host,
            &t.command,
            t.env,
            &t.secrets,
            &info.invocation_id,
        )
        .await;
        info.invocation_status = match &verdict {
            Verdict::Succeeded => InvocationStatus::Succeeded,
            Verdict::TimedOut { .. } => InvocationStatus::Timeout,
            Verdict::Stopped { .. } => InvocationStatus::Canceled,
            Verdict::Failed { .. } => InvocationStatus::Failed,
        };
        info.result_msg = Some(match verdict.reason() {
            None => output,
            Some(r) if output.is_empty() => r.to_string(),
            Some(r) => format!("{r}\n{output}"),
        });
        info.update_time = now_ms();
        if let Err(e) = finish(&w, &info, t.records_agent, t.rolls_back.as_deref()) {
            tracing::error!("agent task {}: {e}", info.invocation_id);
        }
        w.emit_agents(vec![info.instance_id.clone()]);
    });
}

pub(super) fn finish(
    w: &Work,
    info: &InvocationInfo,
    records_agent: bool,
    rolls_back: Option<&str>,
) -> Result<()> {
    w.put_invocation(info)?;
    let ok = info.invocation_status == InvocationStatus::Succeeded;
    if records_agent {
        let mut a = w.agent(&info.instance_id)?;
        a.busy = false;
        if ok {
            a.version = info.target_version.clone().filter(|v| !v.is_empty());
            a.failed = false;
            a.removed = a.version.is_none();
            if a.removed {
                a.installer = false;
            }
        } else if a.version.is_none() {
            a.failed = true;
        }
        w.put_agent(&info.instance_id, &a)?;
    }
    if ok
        && let Some(id) = rolls_back
        && let Some(mut old) = w.invocation(id)?
    {
        old.invocation_status = InvocationStatus::Rollbacked;
        old.update_time = now_ms();
        w.put_invocation(&old)?;
    }
    Ok(())
}
