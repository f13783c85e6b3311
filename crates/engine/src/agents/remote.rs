//! Tasks that follow from others (RETRY, ROLLBACK) and the remote installer
//! (SET_REMOTE_INSTALLER, REMOTE_INSTALL).

use super::*;

impl Engine {
    /// The task a RETRY or ROLLBACK of invocation `id` starts, or the error answer.
    pub(super) fn follow_up(
        &self,
        kind: InvocationType,
        id: &str,
        now: i64,
    ) -> Result<std::result::Result<Task, BatchCreateInvocationInfo>> {
        let w = &self.inner.agent_work();
        let Some(old) = w.invocation(id)? else {
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
        let Some(host) = w.hosts.get(&old.instance_id).or_else(|| {
            (old.invocation_type == InvocationType::RemoteInstall)
                .then(|| self.installer().ok().flatten())
                .flatten()
                .and_then(|h| w.hosts.get(&h.id))
        }) else {
            return refuse(
                1,
                format!("instance {} is not in the inventory", old.instance_id),
            );
        };
        let a = w.agent(&old.instance_id)?;
        if a.busy {
            return Ok(Err(busy(&old.instance_id, Some(id))));
        }
        let settings = &w.settings;
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

    pub(super) fn set_installer(&self, id: &str, now: i64) -> Result<BatchCreateInvocationInfo> {
        let w = &self.inner.agent_work();
        let Some(host) = w.hosts.get(id) else {
            return Ok(BatchCreateInvocationInfo::error(
                id,
                None,
                1,
                format!("instance {id} is not in the inventory"),
            ));
        };
        let mut a = w.agent(id)?;
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
            let mut o = w.agent(&old.id)?;
            o.installer = false;
            w.put_agent(&old.id, &o)?;
        }
        a.installer = true;
        w.put_agent(id, &a)?;
        let mut info = new_info(
            host,
            InvocationType::SetRemoteInstaller,
            a.version.clone(),
            now,
        );
        info.current_version = a.version.clone();
        info.invocation_status = InvocationStatus::Succeeded;
        info.result_msg = Some(format!("{id} is the remote installer"));
        w.put_invocation(&info)?;
        w.emit_agents(vec![id.to_string()]);
        Ok(BatchCreateInvocationInfo::ok(id, &info.invocation_id))
    }

    pub(super) fn installer(&self) -> Result<Option<Host>> {
        let w = self.inner.agent_work();
        for h in w.hosts.values() {
            if w.agent(&h.id)?.installer {
                return Ok(Some(h.clone()));
            }
        }
        Ok(None)
    }
}
