//! The agents, desktops and invokers panes: agent tasks on a multi-selection, desktop installs,
//! and creating, enabling, disabling or deleting scheduled invokers and reading their fires.

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, Utc};

use crate::action::Action;
use crate::state::*;
use cocpit_api::model::agent::{AgentSummary, InvocationInfo, InvocationStatus};
use cocpit_api::model::desktop::AgentsCondition;
use cocpit_api::model::tat::{
    self, CreateInvokerRequest, InvocationTask, Invoker, InvokerRecord, ScheduleSettings,
};

use super::{Effect, Outcome, form, go, is_move, list_move};

/// How many of the newest agent tasks the agents pane shows.
pub const AGENT_TASKS_SHOWN: i64 = 50;

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
    /// Create an invoker, first creating its command from `script` when one is given.
    CreateInvoker {
        script: Option<String>,
        request: Box<CreateInvokerRequest>,
    },
    /// The fires of an invoker.
    LoadRecords(String),
    /// The tasks of one fire, with their output.
    LoadTasks(String),
}

/// The backend's answers.
#[derive(Debug)]
pub enum OpsMsg {
    /// Each instance's agent, and the newest tasks.
    Agents(Result<(Vec<AgentSummary>, Vec<InvocationInfo>), String>),
    Desktops(Result<Vec<AgentsCondition>, String>),
    Invokers(Result<Vec<Invoker>, String>),
    Done(Result<String, String>),
    /// An invoker was created: its id.
    Created(Result<String, String>),
    Records(String, Result<Vec<InvokerRecord>, String>),
    Tasks(String, Result<Vec<InvocationTask>, String>),
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

/// Servers' agents changed: their rows (carried by the event) are patched into the list, which
/// is not read again.
pub fn agents_changed(s: &mut State, rows: &[cocpit_api::model::agent::AgentSummary]) {
    s.agents.upsert(rows, false);
    // Each row's last task is its instance's newest: it replaces its older self in the task
    // list, or heads it.
    for task in rows.iter().filter_map(|r| r.last_invocation.as_ref()) {
        match s
            .agent_tasks
            .iter_mut()
            .find(|t| t.invocation_id == task.invocation_id)
        {
            Some(shown) => *shown = task.clone(),
            None => s.agent_tasks.insert(0, task.clone()),
        }
    }
    s.agent_tasks.truncate(AGENT_TASKS_SHOWN as usize);
}

/// A desktop job changed: its desktops' rows (carried by the event) are patched into the list.
pub fn desktops_changed(s: &mut State, rows: &[cocpit_api::model::desktop::AgentsCondition]) {
    s.desktops.upsert(rows, false);
}

/// Opens one invoker's fires.
pub fn open_invoker(s: &mut State, id: String) -> Outcome {
    if s.invoker.as_ref().is_none_or(|v| v.invoker_id != id) {
        s.invoker = Some(InvokerView::new(id.clone()));
    }
    go(s, Pane::Invoker).with(fx(OpsEffect::LoadRecords(id)))
}

/// An invoker changed or fired: reload what shows it.
/// What an invoker event carries (see [`cocpit_api::event::Change::InvokerChanged`]).
pub struct Carried<'a> {
    pub invoker: Option<&'a Invoker>,
    pub deleted: bool,
    pub record: Option<&'a InvokerRecord>,
}

/// An invoker changed: its row and the record of a fire (carried by the event) are patched into
/// what is shown; the fire's tasks are read again when that fire is the one shown. An event
/// that carries nothing (an older server) reads the list and the records back.
pub fn invoker_changed(s: &mut State, id: &str, c: Carried) -> Vec<Effect> {
    let mut v = vec![];
    let carries_row = c.invoker.is_some() || c.deleted;
    match c.invoker {
        _ if !carries_row || s.invokers.load != Load::Ready => {
            if s.invokers.load != Load::Loading {
                v.push(fx(OpsEffect::LoadInvokers));
            }
        }
        Some(row) => s.invokers.upsert([row], true),
        None => s
            .invokers
            .modify(|items| items.retain(|i| i.invoker_id != id)),
    }
    let Some(view) = s.invoker.as_mut().filter(|view| view.invoker_id == id) else {
        return v;
    };
    match c.record {
        Some(record) if view.records.load == Load::Ready => {
            // Newest first.
            view.records.upsert([record], true);
            if view.selected_invocation().as_deref() == Some(record.invocation_id.as_str()) {
                v.push(fx(OpsEffect::LoadTasks(record.invocation_id.clone())));
            }
        }
        // A change of the invoker alone (enabled, disabled) leaves its fires as they are.
        None if carries_row => {}
        _ => v.push(fx(OpsEffect::LoadRecords(id.to_string()))),
    }
    v
}

/// The tasks of the selected fire, unless they are those shown.
fn follow_selection(s: &State) -> Option<Effect> {
    let view = s.invoker.as_ref()?;
    let inv = view.selected_invocation()?;
    (view.tasks_of.as_deref() != Some(inv.as_str())).then(|| fx(OpsEffect::LoadTasks(inv)))
}

fn decode(t: InvocationTask) -> TaskOutput {
    let text = base64::engine::general_purpose::STANDARD
        .decode(&t.task_result.output)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|_| t.task_result.output.clone());
    TaskOutput { task: t, text }
}

pub fn message(s: &mut State, m: OpsMsg) -> Outcome {
    match m {
        OpsMsg::Agents(r) => {
            let r = r.map(|(agents, tasks)| {
                s.agent_tasks = tasks;
                agents
            });
            super::loaded(&mut s.agents, r)
        }
        OpsMsg::Desktops(r) => super::loaded(&mut s.desktops, r),
        OpsMsg::Invokers(r) => {
            let out = super::loaded(&mut s.invokers, r);
            if let Some(id) = s.select_invoker.take() {
                s.invokers.select_key(&id);
            }
            out
        }
        OpsMsg::Records(id, r) => {
            let Some(view) = s.invoker.as_mut().filter(|v| v.invoker_id == id) else {
                return Outcome::default();
            };
            let out = super::loaded(&mut view.records, r);
            // A fire's tasks change while it runs: read them again with every change.
            match s
                .invoker
                .as_ref()
                .and_then(InvokerView::selected_invocation)
            {
                Some(inv) => out.with(fx(OpsEffect::LoadTasks(inv))),
                None => out,
            }
        }
        OpsMsg::Tasks(inv, r) => {
            let Some(view) = s.invoker.as_mut() else {
                return Outcome::default();
            };
            if view.selected_invocation().as_deref() != Some(inv.as_str()) {
                return Outcome::default();
            }
            match r {
                Ok(tasks) => {
                    view.tasks = tasks.into_iter().map(decode).collect();
                    view.tasks_of = Some(inv);
                }
                Err(e) => s.message = Some((Level::Error, format!("tasks of {inv}: {e}"))),
            }
            Outcome::redraw()
        }
        OpsMsg::Created(r) => {
            s.message = Some(match r {
                Ok(id) => {
                    let m = format!("invoker {id} created");
                    s.select_invoker = Some(id);
                    (Level::Info, m)
                }
                Err(e) => (Level::Error, format!("not created: {e}")),
            });
            Outcome::redraw().with(fx(OpsEffect::LoadInvokers))
        }
        OpsMsg::Done(r) => {
            s.message = Some(match r {
                Ok(m) => (Level::Info, m),
                Err(e) => (Level::Error, e),
            });
            let mut out = Outcome::redraw();
            if let Some(e) = load(s.pane) {
                out = out.with(e);
            }
            if s.pane == Pane::Invoker
                && let Some(v) = &s.invoker
            {
                out = out.with(fx(OpsEffect::LoadRecords(v.invoker_id.clone())));
                out = out.with(fx(OpsEffect::LoadInvokers));
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
                            "roll back {} agent task(s) to the version before?",
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
            match a {
                Action::NewInvoker => new_invoker(s),
                _ => match s.invokers.selected_item().cloned() {
                    Some(inv) if a == Action::Open => open_invoker(s, inv.invoker_id),
                    Some(inv) => invoker_action(s, a, inv),
                    None => Outcome::default(),
                },
            }
        }
        Pane::Invoker => {
            let Some(view) = s.invoker.as_mut() else {
                return Outcome::default();
            };
            if is_move(a) {
                list_move(&mut view.records, a, page);
                let out = Outcome::redraw();
                return match follow_selection(s) {
                    Some(e) => out.with(e),
                    None => out,
                };
            }
            if a == Action::NewInvoker {
                return new_invoker(s);
            }
            let id = view.invoker_id.clone();
            match s
                .invokers
                .items
                .iter()
                .find(|i| i.invoker_id == id)
                .cloned()
            {
                Some(inv) => invoker_action(s, a, inv),
                None => Outcome::default(),
            }
        }
        _ => Outcome::default(),
    }
}

/// Enable, disable or delete one invoker.
fn invoker_action(s: &mut State, a: Action, inv: Invoker) -> Outcome {
    match a {
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
                question: format!("Delete invoker {} ({})?", inv.invoker_id, inv.name),
                then: Pending::DeleteInvoker(inv.invoker_id.clone()),
            });
            Outcome::redraw()
        }
        _ => Outcome::default(),
    }
}

const EVERY_FIVE_MINUTES: &str = "*/5 * * * *";
const IN_TEN_MINUTES: &str = "+10m";

/// The create form, its instances taken from the selected invoker when there is one.
fn new_invoker(s: &mut State) -> Outcome {
    let instances = s
        .invokers
        .selected_item()
        .map(|i| i.instance_ids.join(" "))
        .unwrap_or_default();
    form::open(
        s,
        "new invoker".into(),
        FormPurpose::CreateInvoker,
        vec![
            form::text("name", ""),
            form::text("command", ""),
            form::text("instances", &instances),
            form::choice(
                "policy",
                "RECURRENCE",
                vec!["RECURRENCE".into(), "ONCE".into()],
            ),
            form::text("schedule", EVERY_FIVE_MINUTES),
        ],
    )
}

/// The policy changed: an untouched schedule becomes the other policy's example.
pub fn policy_changed(f: &mut Form) {
    let once = f.value("policy") == "ONCE";
    if let Some(field) = f.fields.iter_mut().find(|x| x.label == "schedule")
        && [EVERY_FIVE_MINUTES, IN_TEN_MINUTES, ""].contains(&field.value.as_str())
    {
        field.value = if once {
            IN_TEN_MINUTES
        } else {
            EVERY_FIVE_MINUTES
        }
        .into();
    }
}

/// The schedule the form describes, read against `now` in the viewer's `zone`.
fn form_schedule(
    f: &Form,
    now: DateTime<Utc>,
    zone: FixedOffset,
) -> Result<ScheduleSettings, String> {
    let text = f.value("schedule").trim();
    if f.value("policy") == "ONCE" {
        let at = tat::parse_user_time(text, now, zone).map_err(|e| format!("schedule: {e}"))?;
        return Ok(ScheduleSettings {
            policy: "ONCE".into(),
            recurrence: None,
            invoke_time: Some(tat::format_time(at)),
        });
    }
    let settings = ScheduleSettings {
        policy: "RECURRENCE".into(),
        recurrence: Some(text.to_string()),
        invoke_time: None,
    };
    tat::cron(text).map_err(|e| format!("schedule: {e}"))?;
    Ok(settings)
}

/// What the create form asks for, or its first problem.
pub fn check_invoker(f: &Form, now: DateTime<Utc>, zone: FixedOffset) -> Result<Effect, String> {
    let name = f.value("name").trim();
    if name.is_empty() {
        return Err("name: must not be empty".into());
    }
    if name.chars().count() > tat::MAX_INVOKER_NAME {
        return Err(format!(
            "name: at most {} characters",
            tat::MAX_INVOKER_NAME
        ));
    }
    let command = f.value("command").trim();
    if command.is_empty() {
        return Err("command: a command id (cmd-…) or a shell line to run".into());
    }
    let instances: Vec<String> = f
        .value("instances")
        .split([' ', ','])
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect();
    if instances.is_empty() {
        return Err("instances: at least one instance id (space-separated)".into());
    }
    if instances.len() > tat::MAX_INSTANCES {
        return Err(format!("instances: at most {}", tat::MAX_INSTANCES));
    }
    let settings = form_schedule(f, now, zone)?;
    let existing = command.starts_with("cmd-") && !command.contains(char::is_whitespace);
    Ok(fx(OpsEffect::CreateInvoker {
        script: (!existing).then(|| command.to_string()),
        request: Box::new(CreateInvokerRequest {
            name: Some(name.to_string()),
            invoker_type: Some("SCHEDULE".into()),
            command_id: existing.then(|| command.to_string()),
            instance_ids: Some(instances),
            schedule_settings: Some(settings),
            ..Default::default()
        }),
    }))
}

/// The fires the form's schedule would make: the next five, in both zones.
pub fn invoker_notes(f: &Form, now: DateTime<Utc>, zone: FixedOffset) -> Vec<String> {
    let Ok(settings) = form_schedule(f, now, zone) else {
        return vec![];
    };
    let Ok(schedule) = tat::schedule(Some(&settings), now) else {
        return vec![];
    };
    let fires = schedule.upcoming(now, 5);
    let head = match settings.policy.as_str() {
        "ONCE" => "fires once:".to_string(),
        _ => "next fires (the cron is read in UTC+8):".to_string(),
    };
    std::iter::once(head)
        .chain(
            fires
                .into_iter()
                .map(|t| format!("  {}", tat::both_zones(t, zone))),
        )
        .collect()
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
            if s.pane == Pane::Invoker {
                super::back(s);
            }
            start(s, format!("deleting {id}…"), OpsEffect::DeleteInvoker(id))
        }
        _ => Outcome::default(),
    }
}
