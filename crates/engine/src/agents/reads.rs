//! What the agent API reads: invocations, agent status, the summary per server.

use super::*;

impl Engine {
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
        let w = self.inner.agent_work();
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
                    let reachable = self.reachability(h).map(|r| r.is_ok());
                    let a = w.agent(id)?;
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
        let w = self.inner.agent_work();
        w.hosts
            .values()
            .filter(|h| h.kind == HostKind::Server)
            .map(|h| w.summary(h))
            .collect()
    }
}
