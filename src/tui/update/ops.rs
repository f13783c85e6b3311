//! The agents, desktops and invokers panes: agent tasks on a multi-selection, desktop installs,
//! and enabling, disabling or deleting scheduled invokers.

use crate::model::agent::{AgentSummary, InvocationStatus};
use crate::model::desktop::AgentsCondition;
use crate::model::tat::Invoker;
use crate::tui::action::Action;
use crate::tui::state::*;

use super::{Effect, Outcome, is_move, list_move};

/// Work on the backend for these panes.
#[derive(Debug, Clone, PartialEq)]
pub enum OpsEffect {
    LoadAgents,
    LoadDesktops,
    LoadInvokers,
    /// An agent task: `kind` on instances (INSTALL, UPDATE) or on tasks (ROLLBACK, RETRY).
    Agent {
        kind: &'static str,
        ids: Vec<String>,
    },
    InstallDesktops(Vec<String>),
    SetInvoker {
        id: String,
        enable: bool,
    },
    DeleteInvoker(String),
}

/// The backend's answers.
#[derive(Debug)]
pub enum OpsMsg {
    Agents(Result<Vec<AgentSummary>, String>),
    Desktops(Result<Vec<AgentsCondition>, String>),
    Invokers(Result<Vec<Invoker>, String>),
    Done(Result<String, String>),
}

fn fx(e: OpsEffect) -> Effect {
    Effect::Ops(e)
}

pub fn load(pane: Pane) -> Option<Effect> {
    match pane {
        Pane::Agents => Some(fx(OpsEffect::LoadAgents)),
        Pane::Desktops => Some(fx(OpsEffect::LoadDesktops)),
        Pane::Invokers => Some(fx(OpsEffect::LoadInvokers)),
        _ => None,
    }
}

pub fn message(s: &mut State, m: OpsMsg) -> Outcome {
    match m {
        OpsMsg::Agents(r) => super::loaded(&mut s.agents, r),
        OpsMsg::Desktops(r) => super::loaded(&mut s.desktops, r),
        OpsMsg::Invokers(r) => super::loaded(&mut s.invokers, r),
        OpsMsg::Done(r) => {
            s.message = Some(match r {
                Ok(m) => (Level::Info, m),
                Err(e) => (Level::Error, e),
            });
            let mut out = Outcome::redraw();
            if let Some(e) = load(s.pane) {
                out = out.with(e);
            }
            out
        }
    }
}

/// The marked rows' keys, or the selected one.
fn chosen<T: Row>(l: &List<T>) -> Vec<String> {
    if l.marked.is_empty() {
        l.selected_item().map(Row::key).into_iter().collect()
    } else {
        l.marked.iter().cloned().collect()
    }
}

fn list_keys<T: Row>(l: &mut List<T>, a: Action, page: usize) -> Option<Outcome> {
    if is_move(a) {
        list_move(l, a, page);
        return Some(Outcome::redraw());
    }
    match a {
        Action::ToggleMark => {
            l.toggle_mark();
            l.move_by(1);
            Some(Outcome::redraw())
        }
        _ => None,
    }
}

fn start(s: &mut State, what: String, e: OpsEffect) -> Outcome {
    s.message = Some((Level::Info, what));
    Outcome::redraw().with(fx(e))
}

/// The last task of each chosen instance that satisfies `ok`.
fn last_tasks(s: &State, ok: impl Fn(InvocationStatus) -> bool) -> Vec<String> {
    let ids = chosen(&s.agents);
    s.agents
        .items
        .iter()
        .filter(|a| ids.contains(&a.instance_id))
        .filter_map(|a| a.last_invocation.as_ref())
        .filter(|i| ok(i.invocation_status))
        .map(|i| i.invocation_id.clone())
        .collect()
}

pub fn act(s: &mut State, a: Action, page: usize) -> Outcome {
    match s.pane {
        Pane::Agents => {
            if let Some(out) = list_keys(&mut s.agents, a, page) {
                return out;
            }
            match a {
                Action::Filter => filter(s),
                Action::InstallAgent | Action::UpdateAgent => {
                    let ids = chosen(&s.agents);
                    if ids.is_empty() {
                        return Outcome::default();
                    }
                    let kind = if a == Action::InstallAgent {
                        "INSTALL"
                    } else {
                        "UPDATE"
                    };
                    s.agents.marked.clear();
                    start(
                        s,
                        format!("{} on {}…", kind.to_lowercase(), ids.join(" ")),
                        OpsEffect::Agent { kind, ids },
                    )
                }
                Action::RetryAgent => {
                    let tasks = last_tasks(s, InvocationStatus::retryable);
                    if tasks.is_empty() {
                        s.message = Some((Level::Error, "no failed task to retry here".into()));
                        return Outcome::redraw();
                    }
                    start(
                        s,
                        format!("retrying {} task(s)…", tasks.len()),
                        OpsEffect::Agent {
                            kind: "RETRY",
                            ids: tasks,
                        },
                    )
                }
                Action::RollbackAgent => {
                    let tasks = last_tasks(s, |st| st == InvocationStatus::Succeeded);
                    if tasks.is_empty() {
                        s.message = Some((
                            Level::Error,
                            "no succeeded install or update to roll back here".into(),
                        ));
                        return Outcome::redraw();
                    }
                    s.overlay = Overlay::Confirm(Confirm {
                        question: format!(
                            "roll back {} agent task(s) to the version before? (y/n)",
                            tasks.len()
                        ),
                        then: Pending::RollbackAgents(tasks),
                    });
                    Outcome::redraw()
                }
                _ => Outcome::default(),
            }
        }
        Pane::Desktops => {
            if let Some(out) = list_keys(&mut s.desktops, a, page) {
                return out;
            }
            match a {
                Action::Filter => filter(s),
                Action::InstallAgent => {
                    let ids = chosen(&s.desktops);
                    if ids.is_empty() {
                        return Outcome::default();
                    }
                    s.desktops.marked.clear();
                    start(
                        s,
                        format!("installing the agent on {}…", ids.join(" ")),
                        OpsEffect::InstallDesktops(ids),
                    )
                }
                _ => Outcome::default(),
            }
        }
        Pane::Invokers => {
            if let Some(out) = list_keys(&mut s.invokers, a, page) {
                return out;
            }
            let Some(inv) = s.invokers.selected_item().cloned() else {
                return if a == Action::Filter {
                    filter(s)
                } else {
                    Outcome::default()
                };
            };
            match a {
                Action::Filter => filter(s),
                Action::ToggleInvoker => start(
                    s,
                    format!(
                        "{} {}…",
                        if inv.enable { "disabling" } else { "enabling" },
                        inv.invoker_id
                    ),
                    OpsEffect::SetInvoker {
                        id: inv.invoker_id.clone(),
                        enable: !inv.enable,
                    },
                ),
                Action::DeleteInvoker => {
                    s.overlay = Overlay::Confirm(Confirm {
                        question: format!(
                            "delete invoker {} ({})? (y/n)",
                            inv.invoker_id, inv.name
                        ),
                        then: Pending::DeleteInvoker(inv.invoker_id.clone()),
                    });
                    Outcome::redraw()
                }
                _ => Outcome::default(),
            }
        }
        _ => Outcome::default(),
    }
}

fn filter(s: &mut State) -> Outcome {
    let input = match s.pane {
        Pane::Agents => s.agents.filter.clone(),
        Pane::Desktops => s.desktops.filter.clone(),
        _ => s.invokers.filter.clone(),
    };
    s.overlay = Overlay::Filter { input };
    Outcome::redraw()
}

pub fn confirmed(s: &mut State, p: Pending) -> Outcome {
    match p {
        Pending::RollbackAgents(ids) => start(
            s,
            "rolling back…".into(),
            OpsEffect::Agent {
                kind: "ROLLBACK",
                ids,
            },
        ),
        Pending::DeleteInvoker(id) => {
            start(s, format!("deleting {id}…"), OpsEffect::DeleteInvoker(id))
        }
        _ => Outcome::default(),
    }
}
