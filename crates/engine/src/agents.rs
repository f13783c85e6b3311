//! Cloud Eye agent maintenance tasks that really run: INSTALL, UPDATE, ROLLBACK, RETRY,
//! SET_REMOTE_INSTALLER and REMOTE_INSTALL. Each task is an invocation on one instance; its
//! command (from the config) runs through the same executor as scripts, and the instance's
//! agent (state, version, the version before) is recorded when it ends.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::exec::{self, Captured, Verdict};
use super::store::docs::{AGENT_INVOCATIONS, AGENTS, Select};
use super::transport::Launch;
use super::{Change, Engine, Inner, Result, now_ms, uuid4, views};
use crate::settings::{Host, HostKind};
use cocpit_api::model::agent::*;
use cocpit_api::model::script::ScriptType;
use cocpit_api::model::validate::invalid;

/// What is known of the agent on one instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    /// The installed version; none when not installed.
    pub version: Option<String>,
    /// A task is running on the instance.
    pub busy: bool,
    /// The last install failed (and nothing is installed).
    pub failed: bool,
    /// The agent was removed by a rollback.
    pub removed: bool,
    /// This instance installs onto others (SET_REMOTE_INSTALLER).
    pub installer: bool,
}

impl AgentRecord {
    /// The COC `agent_state` (`reachable`: whether the host answers).
    pub fn state(&self, reachable: bool) -> Option<&'static str> {
        if self.busy {
            Some("INSTALLING")
        } else if self.version.is_some() {
            Some(if reachable { "ONLINE" } else { "OFFLINE" })
        } else if self.failed {
            Some("FAILED")
        } else if self.removed {
            Some("UNINSTALLED")
        } else {
            None
        }
    }
}

/// A task to start: where, what, and what to record.
struct Task {
    info: InvocationInfo,
    host: Host,
    command: String,
    env: Vec<(String, String)>,
    secrets: Vec<String>,
    /// The agent of `info.instance_id` is this cocpit's to record (not a remote install's).
    records_agent: bool,
    /// A rollback marks this invocation ROLLBACKED when it succeeds.
    rolls_back: Option<String>,
}

/// Result messages keep the end of the output, as much as the SDK allows.
const RESULT_MSG_MAX: usize = 5000;

pub(crate) fn agent(inner: &Inner, instance_id: &str) -> Result<AgentRecord> {
    Ok(inner.store.get(AGENTS, instance_id)?.unwrap_or_default())
}

fn put_agent(inner: &Inner, instance_id: &str, a: &AgentRecord) -> Result<()> {
    Ok(inner.store.put(AGENTS, instance_id, &[], a)?)
}

fn put_invocation(inner: &Inner, i: &InvocationInfo) -> Result<()> {
    Ok(inner.store.put(
        AGENT_INVOCATIONS,
        &i.invocation_id,
        &[
            i.instance_id.clone().into(),
            i.invocation_status.as_str().to_string().into(),
        ],
        i,
    )?)
}

fn invocation(inner: &Inner, id: &str) -> Result<Option<InvocationInfo>> {
    Ok(inner.store.get(AGENT_INVOCATIONS, id)?)
}

fn new_info(host: &Host, kind: InvocationType, target: Option<String>, now: i64) -> InvocationInfo {
    let r = views::resource(host, None);
    InvocationInfo {
        invocation_id: uuid4(),
        instance_id: host.id.clone(),
        instance_name: views::host_name(host),
        instance_type: "ECS".into(),
        intranet_ips: r.inner_ip.into_iter().collect(),
        elastic_ips: vec![],
        invocation_type: kind,
        invocation_status: InvocationStatus::Pending,
        invocation_target: TARGET.into(),
        create_time: now,
        update_time: now,
        current_version: None,
        target_version: target,
        result_msg: None,
    }
}

/// After a crash: tasks that were running have an unknown result.
pub(crate) fn recover(inner: &Inner) -> Result<()> {
    for status in [InvocationStatus::Pending, InvocationStatus::Running] {
        let (_, open): (u64, Vec<InvocationInfo>) = inner.store.select(
            AGENT_INVOCATIONS,
            &Select {
                equal: vec![("status", status.as_str().to_string().into())],
                limit: u64::MAX >> 1,
                ..Default::default()
            },
        )?;
        for mut i in open {
            i.invocation_status = InvocationStatus::Failed;
            i.result_msg = Some(super::RESTART_REASON.into());
            i.update_time = now_ms();
            put_invocation(inner, &i)?;
            let mut a = agent(inner, &i.instance_id)?;
            if a.busy {
                a.busy = false;
                a.failed = a.version.is_none();
                put_agent(inner, &i.instance_id, &a)?;
            }
        }
    }
    Ok(())
}

impl Engine {
    /// `POST /v3/{project_id}/agent-invocations/batch-create`: one answer per target; a target
    /// that cannot take the task gets `ret_status` error with an `invocationmgr` code.
    pub fn create_agent_invocations(
        &self,
        body: &BatchCreateInvocationRequestBody,
    ) -> Result<Vec<BatchCreateInvocationInfo>> {
        let kind = check(body)?;
        let inner = &self.inner;
        let settings = &inner.agent_settings;
        let now = now_ms();
        let mut answers = Vec::new();
        let mut tasks = Vec::new();
        let wanted = body
            .version
            .clone()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| settings.version.clone());
        match kind {
            InvocationType::Install | InvocationType::Update => {
                for id in unique(body.instance_ids.as_deref().unwrap_or_default()) {
                    let Some(host) = inner.hosts.get(id) else {
                        answers.push(BatchCreateInvocationInfo::error(
                            id,
                            None,
                            1,
                            format!("instance {id} is not in the inventory"),
                        ));
                        continue;
                    };
                    let a = agent(inner, id)?;
                    if a.busy {
                        answers.push(busy(id, None));
                        continue;
                    }
                    if kind == InvocationType::Update && a.version.is_none() {
                        answers.push(BatchCreateInvocationInfo::error(
                            id,
                            None,
                            4,
                            format!("no agent on {id} to update: install it first"),
                        ));
                        continue;
                    }
                    let mut info = new_info(host, kind, Some(wanted.clone()), now);
                    info.current_version = a.version.clone();
                    let command = if kind == InvocationType::Install {
                        &settings.install
                    } else {
                        &settings.update
                    };
                    answers.push(BatchCreateInvocationInfo::ok(id, &info.invocation_id));
                    tasks.push(Task {
                        env: agent_env(host, &wanted),
                        info,
                        host: host.clone(),
                        command: command.clone(),
                        secrets: vec![],
                        records_agent: true,
                        rolls_back: None,
                    });
                }
            }
            InvocationType::Retry | InvocationType::Rollback => {
                for id in unique(body.invocation_ids.as_deref().unwrap_or_default()) {
                    match self.follow_up(kind, id, now)? {
                        Ok(task) => {
                            answers.push(BatchCreateInvocationInfo::ok(
                                &task.info.instance_id,
                                &task.info.invocation_id,
                            ));
                            tasks.push(task);
                        }
                        Err(answer) => answers.push(answer),
                    }
                }
            }
            InvocationType::SetRemoteInstaller => {
                let id = &body.instance_ids.as_deref().unwrap_or_default()[0];
                answers.push(self.set_installer(id, now)?);
            }
            InvocationType::RemoteInstall => {
                let installer = self.installer()?;
                for h in body.remote_install_meta.as_deref().unwrap_or_default() {
                    let target = h.target();
                    let Some(installer) = &installer else {
                        answers.push(BatchCreateInvocationInfo::error(
                            &target,
                            None,
                            7,
                            "no remote installer: designate one with SET_REMOTE_INSTALLER".into(),
                        ));
                        continue;
                    };
                    let mut info = new_info(installer, kind, Some(wanted.clone()), now);
                    info.instance_id = target.clone();
                    info.instance_name = h.instance_name.clone().unwrap_or(target.clone());
                    info.intranet_ips = h.remote_ip.clone().into_iter().collect();
                    let mut env = agent_env(installer, &wanted);
                    env.push((
                        "COCPIT_REMOTE_IP".into(),
                        h.remote_ip.clone().unwrap_or_default(),
                    ));
                    env.push((
                        "COCPIT_REMOTE_PORT".into(),
                        h.port.clone().unwrap_or("22".into()),
                    ));
                    env.push((
                        "COCPIT_REMOTE_USER".into(),
                        h.user_name.clone().unwrap_or("root".into()),
                    ));
                    env.push((
                        "COCPIT_REMOTE_USE_PEM".into(),
                        h.remote_use_pem.unwrap_or(false).to_string(),
                    ));
                    env.push((
                        "COCPIT_REMOTE_SSH_OPTIONS".into(),
                        settings.remote_ssh_options.clone(),
                    ));
                    env.push((
                        "COCPIT_REMOTE_AGENT_HOME".into(),
                        settings.remote_agent_home.clone(),
                    ));
                    let secrets: Vec<String> = h.password.clone().into_iter().collect();
                    if let Some(p) = &h.password {
                        env.push(("COCPIT_REMOTE_PASSWORD".into(), p.clone()));
                    }
                    answers.push(BatchCreateInvocationInfo::ok(&target, &info.invocation_id));
                    tasks.push(Task {
                        info,
                        host: installer.clone(),
                        command: settings.remote_install.clone(),
                        env,
                        secrets,
                        records_agent: false,
                        rolls_back: None,
                    });
                }
            }
        }
        let mut touched = Vec::new();
        for t in &tasks {
            put_invocation(inner, &t.info)?;
            if t.records_agent {
                let mut a = agent(inner, &t.info.instance_id)?;
                a.busy = true;
                put_agent(inner, &t.info.instance_id, &a)?;
            }
            touched.push(t.info.instance_id.clone());
        }
        if !touched.is_empty() {
            inner.emit(Change::AgentsChanged {
                instance_ids: touched,
            });
        }
        for t in tasks {
            spawn(inner.clone(), t);
        }
        Ok(answers)
    }

    /// The task a RETRY or ROLLBACK of invocation `id` starts, or the error answer.
    fn follow_up(
        &self,
        kind: InvocationType,
        id: &str,
        now: i64,
    ) -> Result<std::result::Result<Task, BatchCreateInvocationInfo>> {
        let inner = &self.inner;
        let Some(old) = invocation(inner, id)? else {
            return Ok(Err(BatchCreateInvocationInfo::error(
                "",
                Some(id),
                5,
                format!("invocation {id} does not exist"),
            )));
        };
        let refuse = |code, msg: String| {
            Ok(Err(BatchCreateInvocationInfo::error(
                &old.instance_id,
                Some(id),
                code,
                msg,
            )))
        };
        let Some(host) = inner.hosts.get(&old.instance_id).or_else(|| {
            (old.invocation_type == InvocationType::RemoteInstall)
                .then(|| self.installer().ok().flatten())
                .flatten()
                .and_then(|h| inner.hosts.get(&h.id))
        }) else {
            return refuse(
                1,
                format!("instance {} is not in the inventory", old.instance_id),
            );
        };
        let a = agent(inner, &old.instance_id)?;
        if a.busy {
            return Ok(Err(busy(&old.instance_id, Some(id))));
        }
        let settings = &inner.agent_settings;
        match kind {
            InvocationType::Retry => {
                if !old.invocation_status.retryable() {
                    return refuse(
                        6,
                        format!(
                            "invocation {id} is {}; only FAILED, TIMEOUT or CANCELED ones can be retried",
                            old.invocation_status
                        ),
                    );
                }
                if old.invocation_type == InvocationType::RemoteInstall {
                    return refuse(
                        6,
                        "a remote install carries a password that is not kept: create it again"
                            .into(),
                    );
                }
                let target = old.target_version.clone().unwrap_or_default();
                let mut info = new_info(host, old.invocation_type, old.target_version.clone(), now);
                info.current_version = a.version.clone();
                let command = match old.invocation_type {
                    InvocationType::Update => &settings.update,
                    InvocationType::Rollback => &settings.rollback,
                    _ => &settings.install,
                };
                Ok(Ok(Task {
                    env: agent_env(host, &target),
                    info,
                    host: host.clone(),
                    command: command.clone(),
                    secrets: vec![],
                    records_agent: true,
                    rolls_back: None,
                }))
            }
            _ => {
                let installs = matches!(
                    old.invocation_type,
                    InvocationType::Install | InvocationType::Update
                );
                if !installs || old.invocation_status != InvocationStatus::Succeeded {
                    return refuse(
                        8,
                        format!(
                            "invocation {id} is a {} that is {}; only a SUCCEEDED INSTALL or UPDATE can be rolled back",
                            old.invocation_type, old.invocation_status
                        ),
                    );
                }
                if a.version != old.target_version {
                    return refuse(
                        8,
                        format!(
                            "the agent on {} is now {}, no longer what invocation {id} installed",
                            old.instance_id,
                            a.version.as_deref().unwrap_or("not installed")
                        ),
                    );
                }
                let back_to = old.current_version.clone();
                let mut info = new_info(host, InvocationType::Rollback, back_to.clone(), now);
                info.current_version = a.version.clone();
                Ok(Ok(Task {
                    env: agent_env(host, back_to.as_deref().unwrap_or("")),
                    info,
                    host: host.clone(),
                    command: settings.rollback.clone(),
                    secrets: vec![],
                    records_agent: true,
                    rolls_back: Some(id.to_string()),
                }))
            }
        }
    }

    fn set_installer(&self, id: &str, now: i64) -> Result<BatchCreateInvocationInfo> {
        let inner = &self.inner;
        let Some(host) = inner.hosts.get(id) else {
            return Ok(BatchCreateInvocationInfo::error(
                id,
                None,
                1,
                format!("instance {id} is not in the inventory"),
            ));
        };
        let mut a = agent(inner, id)?;
        if a.version.is_none() || a.busy {
            return Ok(BatchCreateInvocationInfo::error(
                id,
                None,
                4,
                format!("instance {id} has no installed agent: install it first"),
            ));
        }
        if let Some(old) = self.installer()?
            && old.id != id
        {
            let mut o = agent(inner, &old.id)?;
            o.installer = false;
            put_agent(inner, &old.id, &o)?;
        }
        a.installer = true;
        put_agent(inner, id, &a)?;
        let mut info = new_info(
            host,
            InvocationType::SetRemoteInstaller,
            a.version.clone(),
            now,
        );
        info.current_version = a.version.clone();
        info.invocation_status = InvocationStatus::Succeeded;
        info.result_msg = Some(format!("{id} is the remote installer"));
        put_invocation(inner, &info)?;
        inner.emit(Change::AgentsChanged {
            instance_ids: vec![id.to_string()],
        });
        Ok(BatchCreateInvocationInfo::ok(id, &info.invocation_id))
    }

    fn installer(&self) -> Result<Option<Host>> {
        for h in self.inner.hosts.values() {
            if agent(&self.inner, &h.id)?.installer {
                return Ok(Some(h.clone()));
            }
        }
        Ok(None)
    }

    /// `GET /v3/{project_id}/agent-invocations`, newest first.
    pub fn list_agent_invocations(
        &self,
        q: &ListAgentInvocationsQuery,
    ) -> Result<ListAgentInvocationsResponse> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=100).contains(&limit) {
            return Err(invalid("limit", format!("must be 1 to 100 (got {limit})")).into());
        }
        let offset = q.offset.unwrap_or(0);
        if offset < 0 {
            return Err(invalid("offset", "must not be negative").into());
        }
        if let Some(t) = &q.invocation_type {
            t.parse::<InvocationType>()
                .map_err(|rule| invalid("invocation_type", rule))?;
        }
        let mut sel = Select {
            limit: u64::MAX >> 1,
            ..Default::default()
        };
        if let Some(i) = &q.instance_id {
            sel.equal.push(("instance_id", i.clone().into()));
        }
        if let Some(i) = &q.invocation_id {
            sel.equal.push(("id", i.clone().into()));
        }
        let (_, all): (u64, Vec<InvocationInfo>) =
            self.inner.store.select(AGENT_INVOCATIONS, &sel)?;
        let matching: Vec<InvocationInfo> = all
            .into_iter()
            .filter(|i| {
                q.invocation_type
                    .as_deref()
                    .is_none_or(|t| i.invocation_type.as_str() == t)
            })
            .filter(|i| {
                q.invocation_target
                    .as_deref()
                    .is_none_or(|t| i.invocation_target == t)
            })
            .filter(|i| {
                q.instance_type
                    .as_deref()
                    .is_none_or(|t| i.instance_type == t)
            })
            .collect();
        Ok(ListAgentInvocationsResponse {
            count: matching.len() as u64,
            invocations: matching
                .into_iter()
                .skip(offset as usize)
                .take(limit as usize)
                .collect(),
        })
    }

    /// `POST /v3/{project_id}/agent-status/batch-query`.
    pub fn agent_status(&self, q: &ListAgentStatusRequestBody) -> Result<ListAgentStatusResponse> {
        if q.instance_ids.is_empty() || q.instance_ids.len() > MAX_IDS {
            return Err(invalid(
                "instance_ids",
                format!(
                    "must hold 1 to {MAX_IDS} ids (got {})",
                    q.instance_ids.len()
                ),
            )
            .into());
        }
        let mut out = Vec::new();
        for id in unique(&q.instance_ids) {
            let (uniagent, ext) = match self.inner.hosts.get(id) {
                None => (
                    "none",
                    ExtensionInfo {
                        name: TARGET.into(),
                        status: "none".into(),
                        version: None,
                    },
                ),
                Some(h) => {
                    let reachable = self.reachable(h);
                    let a = agent(&self.inner, id)?;
                    let status = match (&a.version, reachable) {
                        (None, _) => "none",
                        (Some(_), Some(true)) => "running",
                        (Some(_), Some(false)) => "unknown",
                        (Some(_), None) => "unknown",
                    };
                    (
                        match reachable {
                            Some(true) => "running",
                            _ => "unknown",
                        },
                        ExtensionInfo {
                            name: TARGET.into(),
                            status: status.into(),
                            version: a.version,
                        },
                    )
                }
            };
            let info = AgentStatusInfo {
                instance_id: id.clone(),
                uniagent_status: uniagent.into(),
                extensions: vec![ext],
            };
            let keep = q
                .uniagent_status
                .as_deref()
                .is_none_or(|s| info.uniagent_status == s)
                && q.extension_status
                    .as_deref()
                    .is_none_or(|s| info.extensions.iter().any(|e| e.status == s))
                && q.extension_name
                    .as_deref()
                    .is_none_or(|n| info.extensions.iter().any(|e| e.name == n));
            if keep {
                out.push(info);
            }
        }
        Ok(ListAgentStatusResponse { agent_status: out })
    }

    /// Every server's agent, for the console.
    pub fn agents(&self) -> Result<Vec<AgentSummary>> {
        let mut out = Vec::new();
        for h in self
            .inner
            .hosts
            .values()
            .filter(|h| h.kind == HostKind::Server)
        {
            let a = agent(&self.inner, &h.id)?;
            let (_, last): (u64, Vec<InvocationInfo>) = self.inner.store.select(
                AGENT_INVOCATIONS,
                &Select {
                    equal: vec![("instance_id", h.id.clone().into())],
                    limit: 1,
                    ..Default::default()
                },
            )?;
            out.push(AgentSummary {
                instance_id: h.id.clone(),
                agent_state: a
                    .state(self.reachable(h).unwrap_or(true))
                    .map(str::to_string),
                version: a.version.clone(),
                installer: a.installer,
                last_invocation: last.into_iter().next(),
            });
        }
        Ok(out)
    }

    fn reachable(&self, h: &Host) -> Option<bool> {
        self.reachability(h).map(|r| r.is_ok())
    }
}

fn unique(ids: &[String]) -> Vec<&String> {
    let mut seen = std::collections::HashSet::new();
    ids.iter().filter(|i| seen.insert(i.as_str())).collect()
}

fn busy(id: &str, invocation: Option<&str>) -> BatchCreateInvocationInfo {
    BatchCreateInvocationInfo::error(
        id,
        invocation,
        3,
        format!("a task is already running on {id}"),
    )
}

fn agent_env(host: &Host, version: &str) -> Vec<(String, String)> {
    vec![
        ("COCPIT_RESOURCE_ID".into(), host.id.clone()),
        ("COCPIT_AGENT_VERSION".into(), version.into()),
    ]
}

/// Runs an agent command on `host` to its end: the verdict and the output's tail.
pub(crate) async fn run_command(
    inner: &Inner,
    host: &Host,
    command: &str,
    env: Vec<(String, String)>,
    secrets: &[String],
    tag: &str,
) -> (Verdict, String) {
    // Commands start from a clean environment; where the demo agent lives is the one setting
    // of the engine's own they are handed (`COCPIT_AGENT_HOME`, documented with `[agents]`).
    let mut env = env;
    if let Ok(home) = std::env::var("COCPIT_AGENT_HOME") {
        env.push(("COCPIT_AGENT_HOME".into(), home));
    }
    let launch = Launch {
        script_type: ScriptType::Shell,
        content: command.to_string(),
        args: vec![],
        env,
        limits: Default::default(),
    };
    let workdir = inner.work_dir.join(format!("agent-{tag}"));
    let (_tx, rx) = watch::channel(None);
    let mut out = Captured::with_cap(64 * 1024);
    let verdict = exec::run(
        inner,
        host,
        &launch,
        &workdir,
        Duration::from_secs(inner.agent_settings.timeout.max(1)),
        secrets,
        rx,
        &mut out,
    )
    .await;
    let text = cocpit_api::sanitize::for_display(&out.text());
    let tail: String = {
        let chars: Vec<char> = text.trim_end().chars().collect();
        chars[chars.len().saturating_sub(RESULT_MSG_MAX)..]
            .iter()
            .collect()
    };
    (verdict, tail)
}

fn spawn(inner: Arc<Inner>, t: Task) {
    tokio::spawn(async move {
        let mut info = t.info;
        info.invocation_status = InvocationStatus::Running;
        info.update_time = now_ms();
        let _ = put_invocation(&inner, &info);
        inner.emit(Change::AgentsChanged {
            instance_ids: vec![info.instance_id.clone()],
        });
        let (verdict, output) = run_command(
            &inner,
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
        if let Err(e) = finish(&inner, &info, t.records_agent, t.rolls_back.as_deref()) {
            tracing::error!("agent task {}: {e}", info.invocation_id);
        }
        inner.emit(Change::AgentsChanged {
            instance_ids: vec![info.instance_id.clone()],
        });
    });
}

fn finish(
    inner: &Inner,
    info: &InvocationInfo,
    records_agent: bool,
    rolls_back: Option<&str>,
) -> Result<()> {
    put_invocation(inner, info)?;
    let ok = info.invocation_status == InvocationStatus::Succeeded;
    if records_agent {
        let mut a = agent(inner, &info.instance_id)?;
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
        put_agent(inner, &info.instance_id, &a)?;
    }
    if ok
        && let Some(id) = rolls_back
        && let Some(mut old) = invocation(inner, id)?
    {
        old.invocation_status = InvocationStatus::Rollbacked;
        old.update_time = now_ms();
        put_invocation(inner, &old)?;
    }
    Ok(())
}
