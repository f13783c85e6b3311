//! The inventory as COC resources, with each ssh host's reachability.

use super::*;

impl Engine {
    pub fn list_resources(&self, q: &ListResourcesQuery) -> Result<Vec<Resource>> {
        let limit = validate::limit(q.limit, 100)?;
        if let Some(p) = &q.provider
            && p != "ecs"
        {
            return Ok(vec![]);
        }
        if let Some(t) = &q.resource_type
            && t != "cloudservers"
        {
            return Ok(vec![]);
        }
        Ok(self
            .inner
            .hosts
            .values()
            .filter(|h| h.kind == crate::settings::HostKind::Server)
            .filter(|h| q.marker.as_deref().is_none_or(|m| h.id.as_str() > m))
            .filter(|h| q.resource_id_list.is_empty() || q.resource_id_list.contains(&h.id))
            .filter(|h| {
                q.name
                    .as_deref()
                    .is_none_or(|n| views::host_name(h).contains(n))
            })
            .map(|h| {
                let reach = self.reachability(h);
                let mut r = views::resource(h, reach.clone());
                if let Ok(a) = agents::agent(&self.inner, &h.id)
                    && let Some(state) = a.state(reach.is_none_or(|r| r.is_ok()))
                {
                    r.agent_state = Some(state.into());
                }
                r
            })
            .filter(|r| {
                q.agent_state
                    .as_deref()
                    .is_none_or(|s| r.agent_state.as_deref() == Some(s))
            })
            .take(limit as usize)
            .collect())
    }

    /// What is known of whether `h` answers: local hosts do; an ssh host does when its master
    /// is up or last opened; `None` until first checked. Listing a host whose knowledge is
    /// older than [`PROBE_EVERY`] checks it again in the background (by opening its master,
    /// which a run then reuses) and announces the answer as a `ResourceChanged` event.
    pub(crate) fn reachability(&self, h: &Host) -> Option<std::result::Result<(), String>> {
        if h.transport == crate::settings::TransportKind::Local {
            return Some(Ok(()));
        }
        let m = &self.inner.exec.masters;
        if m.is_up(h) {
            return Some(Ok(()));
        }
        let known = m.outcome(&h.id);
        let stale = known
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() > PROBE_EVERY);
        if stale && tokio::runtime::Handle::try_current().is_ok() {
            let mut probed = self.inner.probed.lock().unwrap_or_else(|p| p.into_inner());
            let due = probed
                .get(&h.id)
                .is_none_or(|at| at.elapsed() > PROBE_EVERY);
            if due {
                probed.insert(h.id.clone(), std::time::Instant::now());
                let (inner, host) = (self.inner.clone(), h.clone());
                tokio::spawn(async move {
                    inner.exec.masters.ready(&host).await;
                    inner.emit(Change::ResourceChanged {
                        resource_id: host.id.clone(),
                    });
                });
            }
        }
        known.map(|(r, _)| r)
    }

    // ---------------------------------------------------------------- scripts
}
