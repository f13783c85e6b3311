//! Every pane, declared once: its title, its tab, the palette command and action that open it,
//! the contexts whose keys apply, what its footer offers, how it loads, acts, filters and draws,
//! the pane `esc` goes up to, and whether it shows work under way. The central code (keys, the
//! palette, tabs, rendering, loading, polling, `esc`) reads this table instead of matching on
//! [`Pane`]; adding a pane is a variant, an entry here, and its module's functions.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::action::{Action, Context};
use crate::panes;
use crate::state::{Focus, List, Listing, Pane, State};
use crate::update::{self, Effect, Outcome};
use cocpit_api::model::order::OrderStatus;
use cocpit_api::model::script::ScriptStatus;

/// One pane's declaration.
pub struct PaneSpec {
    pub pane: Pane,
    pub title: &'static str,
    /// Its tab's name, and a shorter one for narrow terminals (details have no tab); tabs are
    /// numbered in the table's order.
    pub tab: Option<(&'static str, &'static str)>,
    /// What opens it from anywhere: an action (its digit) and a palette command with what the
    /// palette says of it.
    pub opened_by: Option<(Action, &'static str, &'static str)>,
    /// The contexts whose bindings apply here, after the global ones.
    pub contexts: &'static [Context],
    /// The actions the footer advertises.
    pub footer: fn(&State) -> &'static [Action],
    /// What to read when it is shown.
    pub load: fn(&State) -> Vec<Effect>,
    /// Its own actions (after the global ones), with the page height for moves.
    pub act: fn(&mut State, Action, usize) -> Outcome,
    /// The lists `/` filters, `esc` clears and `s` sorts (the first), if any.
    pub lists: fn(&mut State) -> Vec<&mut dyn Listing>,
    /// Where `esc` goes: the list a detail belongs to; top-level panes have none.
    pub parent: fn(&State) -> Option<Pane>,
    /// Work it shows is under way (a backend without events reads it more often).
    pub busy: fn(&State) -> bool,
    pub render: fn(&State, &mut Frame, Rect),
}

impl Pane {
    pub fn spec(self) -> &'static PaneSpec {
        &PANES[self as usize]
    }
}

fn none(_: &State) -> Option<Pane> {
    None
}

fn idle(_: &State) -> bool {
    false
}

fn no_lists(_: &mut State) -> Vec<&mut dyn Listing> {
    vec![]
}

fn one<T: crate::state::Row>(l: &mut List<T>) -> Vec<&mut dyn Listing> {
    vec![l]
}

fn loads(e: Option<Effect>) -> Vec<Effect> {
    e.into_iter().collect()
}

/// In [`Pane`]'s order (a test holds it to that).
pub static PANES: [PaneSpec; 15] = [
    PaneSpec {
        pane: Pane::Scripts,
        title: "Scripts",
        tab: Some(("scripts", "scripts")),
        opened_by: Some((Action::Scripts, "scripts", "list scripts")),
        contexts: &[Context::List, Context::Scripts],
        footer: |_| {
            &[
                Action::Open,
                Action::RunScript,
                Action::NewScript,
                Action::EditScript,
                Action::Filter,
                Action::Orders,
            ]
        },
        load: |s| vec![Effect::LoadScripts(s.scripts.want)],
        act: update::lists::scripts,
        lists: |s| one(&mut s.scripts),
        parent: none,
        busy: idle,
        render: panes::lists::scripts,
    },
    PaneSpec {
        pane: Pane::Orders,
        title: "Orders",
        tab: Some(("orders", "orders")),
        opened_by: Some((Action::Orders, "orders", "list orders")),
        contexts: &[Context::List],
        footer: |_| &[Action::Open, Action::Filter, Action::Scripts],
        load: |s| vec![Effect::LoadOrders(s.orders.want)],
        act: update::lists::orders,
        lists: |s| one(&mut s.orders),
        parent: none,
        busy: |s| s.running_orders() > 0,
        render: panes::lists::orders,
    },
    PaneSpec {
        pane: Pane::Resources,
        title: "Resources",
        tab: Some(("resources", "res")),
        opened_by: Some((Action::Resources, "resources", "list resources")),
        contexts: &[
            Context::List,
            Context::Marks,
            Context::Resources,
            Context::Scripts,
        ],
        footer: |_| &[Action::ToggleMark, Action::RunScript, Action::Filter],
        load: |_| vec![Effect::LoadResources],
        act: update::lists::resources,
        lists: |s| one(&mut s.resources),
        parent: none,
        busy: idle,
        render: panes::lists::resources,
    },
    PaneSpec {
        pane: Pane::Incidents,
        title: "Incidents",
        tab: Some(("incidents", "inc")),
        opened_by: Some((Action::Incidents, "incidents", "incidents")),
        contexts: &[Context::List, Context::Incidents],
        footer: |_| {
            &[
                Action::Open,
                Action::NewIncident,
                Action::AcceptIncident,
                Action::Filter,
            ]
        },
        load: |_| update::triage::load(Pane::Incidents),
        act: |s, a, _| update::triage::incidents_action(s, a),
        lists: |s| one(&mut s.incidents),
        parent: none,
        busy: idle,
        render: panes::triage::incidents,
    },
    PaneSpec {
        pane: Pane::Alarms,
        title: "Alarms",
        tab: Some(("alarms", "alarm")),
        opened_by: Some((Action::Alarms, "alarms", "alarms")),
        contexts: &[Context::List, Context::Marks, Context::Alarms],
        footer: |_| {
            &[
                Action::AckAlarm,
                Action::SilenceAlarm,
                Action::AlarmToIncident,
                Action::ToggleGroups,
                Action::Filter,
            ]
        },
        load: |_| update::triage::load(Pane::Alarms),
        act: |s, a, _| update::triage::alarms_action(s, a),
        // One filter for both views; the one shown sorts.
        lists: |s| {
            if s.grouped {
                vec![&mut s.alarm_groups, &mut s.alarms]
            } else {
                vec![&mut s.alarms, &mut s.alarm_groups]
            }
        },
        parent: none,
        busy: idle,
        render: panes::triage::alarms,
    },
    PaneSpec {
        pane: Pane::Order,
        title: "Order",
        tab: None,
        opened_by: None,
        contexts: &[Context::List, Context::OrderView],
        footer: |s| {
            if s.order.as_ref().is_some_and(|v| v.focus == Focus::Log) {
                &[
                    Action::Filter,
                    Action::SearchNext,
                    Action::CopyLine,
                    Action::SaveLog,
                    Action::ToggleTimes,
                    Action::ToggleFollow,
                    Action::SwitchFocus,
                ]
            } else {
                &[
                    Action::ContinueOrder,
                    Action::PauseOrder,
                    Action::CancelOrder,
                    Action::RetryFailed,
                    Action::NextBatch,
                    Action::SwitchFocus,
                    Action::ToggleFollow,
                ]
            }
        },
        load: |s| {
            loads(
                s.order
                    .as_ref()
                    .map(|v| Effect::LoadOrder(v.execute_uuid.clone())),
            )
        },
        act: |s, a, _| update::order_action(s, a),
        // The log's search.
        lists: |s| s.order.iter_mut().map(|v| v as &mut dyn Listing).collect(),
        parent: |_| Some(Pane::Orders),
        busy: |s| {
            s.order
                .as_ref()
                .and_then(|v| v.info.as_ref())
                .is_some_and(|i| i.status == OrderStatus::Processing)
        },
        render: panes::order::render,
    },
    PaneSpec {
        pane: Pane::Script,
        title: "Script",
        tab: None,
        opened_by: None,
        contexts: &[Context::Scripts],
        footer: |s| {
            let pending = s
                .script
                .as_ref()
                .and_then(|v| v.detail.as_ref())
                .is_some_and(|d| d.status == ScriptStatus::PendingApprove);
            if pending {
                // A script waiting for review: the decision first.
                &[
                    Action::ApproveScript,
                    Action::RejectScript,
                    Action::EditScript,
                    Action::ExternalEditor,
                ]
            } else {
                &[
                    Action::EditScript,
                    Action::ExternalEditor,
                    Action::RunScript,
                    Action::DeleteScript,
                ]
            }
        },
        load: |s| {
            loads(
                s.script
                    .as_ref()
                    .map(|v| Effect::LoadScript(v.script_uuid.clone())),
            )
        },
        act: |s, a, _| update::script_action(s, a),
        lists: no_lists,
        parent: |s| Some(s.script.as_ref().map_or(Pane::Scripts, |v| v.from)),
        busy: idle,
        render: panes::editor::render_detail,
    },
    PaneSpec {
        pane: Pane::Editor,
        title: "Editor",
        tab: None,
        opened_by: None,
        // Script keys such as ctrl-e ($EDITOR) work in the editor too.
        contexts: &[Context::Editor, Context::Scripts],
        footer: |_| {
            &[
                Action::Save,
                Action::SwitchFocus,
                Action::AddParam,
                Action::ExternalEditor,
            ]
        },
        load: |_| vec![],
        // Reached only without an editor (it takes its keys first).
        act: |_, _, _| Outcome::default(),
        lists: no_lists,
        parent: |s| {
            let edited = s.editor.as_ref().and_then(|e| e.script_uuid.clone());
            let shown = s.script.as_ref().map(|v| v.script_uuid.clone());
            Some(if edited.is_some() && edited == shown {
                Pane::Script
            } else {
                Pane::Scripts
            })
        },
        busy: idle,
        render: panes::editor::render,
    },
    PaneSpec {
        pane: Pane::Incident,
        title: "Incident",
        tab: None,
        opened_by: None,
        contexts: &[Context::Incidents],
        footer: |_| {
            &[
                Action::AcceptIncident,
                Action::ResolveIncident,
                Action::VerifyIncident,
                Action::RejectIncident,
            ]
        },
        load: |s| {
            loads(s.incident.as_ref().map(|v| {
                Effect::Triage(update::TriageEffect::LoadIncident(v.incident_num.clone()))
            }))
        },
        act: |s, a, _| update::triage::incidents_action(s, a),
        lists: no_lists,
        parent: |_| Some(Pane::Incidents),
        busy: idle,
        render: panes::triage::incident,
    },
    PaneSpec {
        pane: Pane::Agents,
        title: "Agents",
        tab: Some(("agents", "agent")),
        opened_by: Some((Action::Agents, "agents", "Cloud Eye agents and their tasks")),
        contexts: &[
            Context::List,
            Context::Marks,
            Context::Resources,
            Context::Agents,
        ],
        footer: |_| {
            &[
                Action::ToggleMark,
                Action::InstallAgent,
                Action::UpdateAgent,
                Action::RollbackAgent,
                Action::RetryAgent,
            ]
        },
        load: |_| loads(update::ops::load(Pane::Agents)),
        act: update::ops::act,
        lists: |s| one(&mut s.agents),
        parent: none,
        busy: |s| {
            s.agents
                .items
                .iter()
                .any(|a| a.agent_state.as_deref() == Some("INSTALLING"))
        },
        render: panes::ops::agents,
    },
    PaneSpec {
        pane: Pane::Desktops,
        title: "Desktops",
        tab: Some(("desktops", "desk")),
        opened_by: Some((
            Action::Desktops,
            "desktops",
            "Workspace desktops and their agent",
        )),
        contexts: &[
            Context::List,
            Context::Marks,
            Context::Resources,
            Context::Agents,
        ],
        footer: |_| &[Action::ToggleMark, Action::InstallAgent, Action::Filter],
        load: |_| loads(update::ops::load(Pane::Desktops)),
        act: update::ops::act,
        lists: |s| one(&mut s.desktops),
        parent: none,
        busy: |s| {
            s.desktops
                .items
                .iter()
                .any(|d| matches!(d.task_status.as_deref(), Some("WAITING" | "RUNNING")))
        },
        render: panes::ops::desktops,
    },
    PaneSpec {
        pane: Pane::Invokers,
        title: "Invokers",
        tab: Some(("invokers", "invok")),
        opened_by: Some((Action::Invokers, "invokers", "TAT scheduled invokers")),
        contexts: &[Context::List, Context::Invokers],
        footer: |_| {
            &[
                Action::Open,
                Action::NewInvoker,
                Action::ToggleInvoker,
                Action::DeleteInvoker,
                Action::Filter,
            ]
        },
        load: |_| loads(update::ops::load(Pane::Invokers)),
        act: update::ops::act,
        lists: |s| one(&mut s.invokers),
        parent: none,
        busy: idle,
        render: panes::ops::invokers,
    },
    PaneSpec {
        pane: Pane::Invoker,
        title: "Invoker",
        tab: None,
        opened_by: None,
        contexts: &[Context::List, Context::Invokers],
        footer: |_| {
            &[
                Action::NewInvoker,
                Action::ToggleInvoker,
                Action::DeleteInvoker,
            ]
        },
        load: |s| match &s.invoker {
            Some(v) => vec![
                Effect::Ops(update::OpsEffect::LoadRecords(v.invoker_id.clone())),
                Effect::Ops(update::OpsEffect::LoadInvokers),
            ],
            None => vec![],
        },
        act: update::ops::act,
        lists: no_lists,
        parent: |_| Some(Pane::Invokers),
        busy: |s| {
            s.invoker
                .as_ref()
                .is_some_and(|v| v.records.items.iter().any(|r| r.result == "RUNNING"))
        },
        render: panes::ops::invoker,
    },
    PaneSpec {
        pane: Pane::Reviews,
        title: "Reviews",
        tab: Some(("reviews", "rev")),
        opened_by: Some((
            Action::Reviews,
            "reviews",
            "scripts waiting for your review",
        )),
        contexts: &[Context::List, Context::Scripts],
        footer: |_| {
            &[
                Action::Open,
                Action::ApproveScript,
                Action::RejectScript,
                Action::Filter,
            ]
        },
        // Reviews are the scripts waiting for us: read the scripts (and who we are) again.
        load: |s| vec![Effect::LoadScripts(s.scripts.want), Effect::LoadIdentity],
        act: update::review::act,
        lists: |s| one(&mut s.reviews),
        parent: none,
        busy: idle,
        render: panes::lists::reviews,
    },
    PaneSpec {
        pane: Pane::Audit,
        title: "Audit",
        tab: None,
        opened_by: Some((
            Action::Audit,
            "audit",
            "the audit trail: every write, who, when, the outcome",
        )),
        contexts: &[Context::List],
        footer: |_| &[Action::Filter, Action::Sort, Action::Refresh],
        load: |_| vec![Effect::LoadAudit],
        act: update::lists::audit,
        lists: |s| one(&mut s.audit),
        parent: none,
        busy: idle,
        render: panes::lists::audit,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_pane_order_and_names_each_pane_once() {
        for (i, p) in PANES.iter().enumerate() {
            assert_eq!(p.pane as usize, i, "{} is out of place", p.title);
            assert_eq!(p.pane.spec().title, p.title);
        }
        let mut commands: Vec<&str> = PANES
            .iter()
            .filter_map(|p| p.opened_by.map(|(_, c, _)| c))
            .collect();
        let n = commands.len();
        commands.dedup();
        assert_eq!(commands.len(), n);
    }
}
