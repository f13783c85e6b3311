//! Cloud Eye agent maintenance tasks that really run: INSTALL, UPDATE, ROLLBACK, RETRY,
//! SET_REMOTE_INSTALLER and REMOTE_INSTALL. Each task is an invocation on one instance; its
//! command (from the config) runs through the same executor as scripts, and the instance's
//! agent (state, version, the version before) is recorded when it ends.

mod reads;
mod remote;
mod task;
use task::*;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::exec::{self, Verdict};
use super::store::docs::{AGENT_INVOCATIONS, AGENTS, Select};
use super::transport::Launch;
use std::collections::BTreeMap;

use tokio::sync::broadcast;

use super::clock::Clock;
use super::store::Store;
use super::{Change, Engine, Result, now_ms, uuid4, views};
use crate::settings::AgentSettings;
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

/// What agent tasks and desktop installs reach, and no more: the store, the inventory, running
/// on hosts, where changes are published, the agent settings and the clock. `Inner::agent_work()`
/// hands it out; a task that runs holds this, not the engine.
#[derive(Clone)]
pub(crate) struct Work {
    pub(crate) store: Arc<Store>,
    pub(crate) hosts: Arc<BTreeMap<String, Host>>,
    pub(crate) exec: Arc<exec::Hosts>,
    pub(crate) events: broadcast::Sender<Change>,
    pub(crate) settings: Arc<AgentSettings>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Work {
    pub(crate) fn agent(&self, instance_id: &str) -> Result<AgentRecord> {
        Ok(self.store.get(AGENTS, instance_id)?.unwrap_or_default())
    }

    fn put_agent(&self, instance_id: &str, a: &AgentRecord) -> Result<()> {
        Ok(self.store.put(AGENTS, instance_id, &[], a)?)
    }

    fn put_invocation(&self, i: &InvocationInfo) -> Result<()> {
        Ok(self.store.put(
            AGENT_INVOCATIONS,
            &i.invocation_id,
            &[
                i.instance_id.clone().into(),
                i.invocation_status.as_str().to_string().into(),
            ],
            i,
        )?)
    }

    fn invocation(&self, id: &str) -> Result<Option<InvocationInfo>> {
        Ok(self.store.get(AGENT_INVOCATIONS, id)?)
    }

    /// What is known of whether `h` answers (see `Engine::reachability`).
    pub(crate) fn reachability(&self, h: &Host) -> Option<std::result::Result<(), String>> {
        crate::resources::reachability(&self.exec, &self.events, h)
    }

    /// Tells the front ends that these instances' agents changed, with their rows as they are
    /// now.
    fn emit_agents(&self, instance_ids: Vec<String>) {
        let agents = instance_ids
            .iter()
            .filter_map(|id| self.hosts.get(id))
            .filter(|h| h.kind == HostKind::Server)
            .filter_map(|h| self.summary(h).ok())
            .collect();
        let _ = self.events.send(Change::AgentsChanged {
            instance_ids,
            agents,
        });
    }

    /// One server's agent and its last task, as the agents list shows it.
    pub(crate) fn summary(&self, h: &Host) -> Result<AgentSummary> {
        let a = self.agent(&h.id)?;
        let (_, last): (u64, Vec<InvocationInfo>) = self.store.select(
            AGENT_INVOCATIONS,
            &Select {
                equal: vec![("instance_id", h.id.clone().into())],
                limit: 1,
                ..Default::default()
            },
        )?;
        Ok(AgentSummary {
            instance_id: h.id.clone(),
            agent_state: a
                .state(self.reachability(h).is_none_or(|r| r.is_ok()))
                .map(str::to_string),
            version: a.version.clone(),
            installer: a.installer,
            last_invocation: last.into_iter().next(),
        })
    }
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
pub(crate) fn recover(w: &Work) -> Result<()> {
    for status in [InvocationStatus::Pending, InvocationStatus::Running] {
        let (_, open): (u64, Vec<InvocationInfo>) = w.store.select(
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
            w.put_invocation(&i)?;
            let mut a = w.agent(&i.instance_id)?;
            if a.busy {
                a.busy = false;
                a.failed = a.version.is_none();
                w.put_agent(&i.instance_id, &a)?;
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
        let w = &self.inner.agent_work();
        let settings = &w.settings;
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
                    let Some(host) = w.hosts.get(id) else {
                        answers.push(BatchCreateInvocationInfo::error(
                            id,
                            None,
                            1,
                            format!("instance {id} is not in the inventory"),
                        ));
                        continue;
                    };
                    let a = w.agent(id)?;
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
            w.put_invocation(&t.info)?;
            if t.records_agent {
                let mut a = w.agent(&t.info.instance_id)?;
                a.busy = true;
                w.put_agent(&t.info.instance_id, &a)?;
            }
            touched.push(t.info.instance_id.clone());
        }
        if !touched.is_empty() {
            w.emit_agents(touched);
        }
        for t in tasks {
            spawn(w.clone(), t);
        }
        Ok(answers)
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

/// Runs an agent command on `host` to its end: the verdict and the output's tail.
pub(crate) async fn run_command(
    w: &Work,
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
    let (verdict, out) = exec::run_captured(
        &w.exec,
        host,
        &launch,
        &format!("agent-{tag}"),
        Duration::from_secs(w.settings.timeout.max(1)),
        secrets,
        64 * 1024,
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
