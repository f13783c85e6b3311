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
        let agents = self.inner.agent_work();
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
                if let Ok(a) = agents.agent(&h.id)
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

    /// What is known of whether `h` answers (see [`crate::masters::Masters::reachability`]);
    /// a background check announces its answer as a `ResourceChanged` event.
    pub(crate) fn reachability(&self, h: &Host) -> Option<std::result::Result<(), String>> {
        reachability(&self.inner.exec, &self.inner.events, h)
    }

    // ---------------------------------------------------------------- scripts
}

/// [`Engine::reachability`] for the workers that hold running on hosts and the event sender, not
/// the engine.
pub(crate) fn reachability(
    exec: &crate::exec::Hosts,
    events: &tokio::sync::broadcast::Sender<Change>,
    h: &Host,
) -> Option<std::result::Result<(), String>> {
    let (events, resource_id) = (events.clone(), h.id.clone());
    exec.masters.reachability(h, move || {
        let _ = events.send(Change::ResourceChanged { resource_id });
    })
}
