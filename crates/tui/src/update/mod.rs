//! `update(state, msg)`: the only place the console's state changes. Input becomes an
//! [`Action`]; backend answers and engine events arrive as [`Msg`]s; anything slow leaves as an
//! [`Effect`] for the loop to run off the render path.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use cocpit_api::event::Change;
use cocpit_api::model::order::*;
use cocpit_api::model::resource::Resource;
use cocpit_api::model::script::{
    AddScriptModel, EditScriptModel, RiskLevel, ScriptDetailModel, ScriptListModel,
};

use super::editor::draft::Draft;

mod editor;
mod form;
mod ops;
mod triage;

pub use ops::{AGENT_TASKS_SHOWN, OpsEffect, OpsMsg};
pub use triage::{MAX_LOADED_ALARMS, TriageEffect, TriageMsg};

pub use editor::follow as follow_editor;

use super::action::Action;
use super::state::*;
use super::theme::Theme;

/// Everything that happens to the console.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    /// The engine's event stream fell behind: re-read what is shown instead of replaying.
    Resync,
    Clock(String),
    /// Scripts, and whether the server has more.
    Scripts(Result<Vec<ScriptListModel>, String>, bool),
    Orders(Result<Vec<JobScriptOrderListModel>, String>, bool),
    Resources(Result<Vec<Resource>, String>),
    Order(String, Result<Box<OrderSnapshot>, String>),
    Engine(Change),
    /// An operation finished: a confirmation or an error for the message line.
    Done(Result<String, String>),
    /// An order was started; open it.
    Started(String),
    /// The declared parameters of a script, for the run form.
    ScriptParams(
        String,
        Result<Vec<cocpit_api::model::script::ScriptParamDefine>, String>,
    ),
    /// One script, for the script pane or the editor.
    Script(String, Result<Box<ScriptDetailModel>, String>),
    /// A save ended: the script's uuid, or why not.
    Saved {
        draft_key: String,
        result: Result<String, String>,
    },
    /// Drafts on disk at start (and files that could not be read).
    Drafts(Vec<Draft>, Vec<String>),
    /// `$EDITOR` closed: the file's text.
    ExternalEdited(Result<String, String>),
    /// A script was deleted.
    Deleted(Result<String, String>),
    /// Alarms and incidents.
    Triage(TriageMsg),
    /// Agents, desktops and invokers.
    Ops(OpsMsg),
    /// A remote backend's connection changed.
    Connection(String),
    /// When an instance's log lines arrived.
    Log(String, i64, Result<Vec<LogPiece>, String>),
    /// Time to read the shown pane again (a backend without events).
    Poll,
}

/// Create or modify.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptSave {
    Create(AddScriptModel),
    Update(String, EditScriptModel),
}

pub use cocpit_api::model::order::OrderSnapshot;

/// Work for the loop to do on the backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The first scripts, at least this many (more pages as the user scrolls).
    LoadScripts(usize),
    LoadOrders(usize),
    LoadResources,
    LoadOrder(String),
    LoadScriptParams(String),
    Operate {
        execute_uuid: String,
        op: JobScriptOrderOperationBody,
    },
    Execute {
        script_uuid: String,
        body: ScriptExecuteModel,
    },
    LoadScript(String),
    SaveScript {
        draft_key: String,
        save: Box<ScriptSave>,
    },
    DeleteScript(String),
    /// Written by the loop at once, in order (not a background job): a kill right after a
    /// keystroke still finds it.
    SaveDraft(Box<Draft>),
    RemoveDraft(String),
    Triage(TriageEffect),
    Ops(OpsEffect),
    /// When an instance's log lines arrived.
    LoadLog {
        execute_uuid: String,
        instance_id: i64,
    },
    /// Written to the terminal as an OSC 52 sequence by the loop: the clipboard, also over SSH.
    Copy(String),
    /// Written by the loop: a log saved to a new file.
    SaveLog {
        file: String,
        text: String,
    },
    /// Suspends the console and opens `$VISUAL`/`$EDITOR` on the content.
    ExternalEdit {
        content: String,
        extension: &'static str,
    },
}

/// What an update asks of the loop: effects to run, and whether the screen changed.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub effects: Vec<Effect>,
    pub redraw: bool,
}

impl Outcome {
    fn redraw() -> Outcome {
        Outcome {
            effects: vec![],
            redraw: true,
        }
    }

    fn with_opt(self, e: Option<Effect>) -> Outcome {
        match e {
            Some(e) => self.with(e),
            None => self,
        }
    }

    fn with(mut self, e: Effect) -> Outcome {
        if !self.effects.contains(&e) {
            self.effects.push(e);
        }
        self
    }
}

pub fn update(s: &mut State, msg: Msg) -> Outcome {
    match msg {
        Msg::Key(k) => key(s, k),
        Msg::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp => act(s, Action::Up),
            MouseEventKind::ScrollDown => act(s, Action::Down),
            _ => Outcome::default(),
        },
        Msg::Resize => {
            editor::follow(s);
            Outcome::redraw()
        }
        Msg::Resync => {
            let out = Outcome::redraw()
                .with(Effect::LoadScripts(s.scripts.want))
                .with(Effect::LoadOrders(s.orders.want))
                .with(Effect::Triage(TriageEffect::LoadAlarms))
                .with(Effect::Triage(TriageEffect::LoadIncidents));
            match &s.order {
                Some(v) => out.with(Effect::LoadOrder(v.execute_uuid.clone())),
                None => out,
            }
        }
        Msg::Clock(c) => {
            s.clock = c;
            Outcome::redraw()
        }
        Msg::Scripts(r, more) => {
            s.scripts.more = more;
            loaded(&mut s.scripts, r)
        }
        Msg::Orders(r, more) => {
            s.orders.more = more;
            s.orders_asked = false;
            loaded(&mut s.orders, r)
        }
        Msg::Resources(r) => {
            let out = loaded(&mut s.resources, r);
            // A run form opened before the hosts were known takes them now.
            if let Overlay::Run(f) = &mut s.overlay
                && f.hosts.is_empty()
                && s.resources.marked.is_empty()
            {
                f.known = s
                    .resources
                    .items
                    .iter()
                    .map(|r| r.resource_id.clone())
                    .collect();
                f.hosts = f.known.clone();
                f.error = run_plan(f).err();
            }
            out
        }
        Msg::Order(eid, r) => {
            let Some(v) = s.order.as_mut().filter(|v| v.execute_uuid == eid) else {
                return Outcome::default();
            };
            match r {
                Ok(snap) => {
                    let snap = *snap;
                    // The list (and the header's count) agree with the order shown, also when
                    // only the shown pane is read again (polling).
                    let tally = Tally::of(snap.instances.iter().map(|i| i.instance.status));
                    let (status, eid) = (snap.info.status, snap.info.execute_uuid.clone());
                    if s.orders.items.iter().any(|r| r.execute_uuid == eid) {
                        s.orders.modify(|rows| {
                            if let Some(r) = rows.iter_mut().find(|r| r.execute_uuid == eid) {
                                r.status = status;
                                r.properties.tally = Some(tally);
                            }
                        });
                    }
                    let Some(v) = s.order.as_mut() else {
                        return Outcome::default();
                    };
                    v.info = Some(snap.info);
                    v.batches = snap.batches;
                    v.instances = snap.instances;
                    v.load = Load::Ready;
                    if v.on_current
                        && let Some(cur) = v.current_batch()
                        && cur != v.batch
                    {
                        v.batch = cur;
                        v.instance = 0;
                    }
                    v.batch = v.batch.min(v.batches.len().saturating_sub(1));
                    let n = v.batch_instances().len();
                    v.instance = v.instance.min(n.saturating_sub(1));
                    // What changed while the read was out, on top of it.
                    let mut out = Outcome::redraw();
                    for e in v.recent.clone() {
                        if let Patched::Missing = patch_order(v, e) {
                            out = out.with(Effect::LoadOrder(eid.clone()));
                            break;
                        }
                    }
                    return out;
                }
                Err(e) => v.load = Load::Failed(e),
            }
            Outcome::redraw()
        }
        Msg::Engine(Change::Resync) => update(s, Msg::Resync),
        Msg::Engine(e) => engine_event(s, e),
        Msg::Done(r) => {
            s.message = Some(match r {
                Ok(m) => (Level::Info, m),
                Err(e) => (Level::Error, e),
            });
            Outcome::redraw()
        }
        Msg::ScriptParams(uuid, r) => {
            if let Overlay::Run(f) = &mut s.overlay
                && f.script_uuid == uuid
            {
                match r {
                    Ok(params) => {
                        f.params = params;
                        f.params_loaded = true;
                        f.error = run_plan(f).err();
                    }
                    Err(e) => f.error = Some(format!("cannot read the script's parameters: {e}")),
                }
            }
            Outcome::redraw()
        }
        Msg::Script(uuid, r) => editor::script_loaded(s, uuid, r),
        Msg::Saved { draft_key, result } => editor::saved(s, draft_key, result),
        Msg::Drafts(d, problems) => editor::drafts_found(s, d, problems),
        Msg::ExternalEdited(r) => editor::external_done(s, r),
        Msg::Triage(m) => triage::message(s, m),
        Msg::Ops(m) => ops::message(s, m),
        Msg::Log(eid, id, r) => {
            let Some(v) = s.order.as_mut().filter(|v| v.execute_uuid == eid) else {
                return Outcome::default();
            };
            match r {
                Ok(pieces) => v.times = Some(LogTimes::new(id, &pieces)),
                Err(e) => {
                    v.show_times = false;
                    s.message = Some((Level::Error, format!("no arrival times here: {e}")));
                }
            }
            Outcome::redraw()
        }
        Msg::Connection(c) => {
            s.polling = c.starts_with("polling");
            s.connection = Some(c);
            Outcome::redraw()
        }
        // Without an event stream only the pane shown is read again.
        Msg::Poll => {
            let pane = s.pane;
            go(s, pane)
        }
        Msg::Deleted(r) => {
            match r {
                Ok(uuid) => {
                    s.message = Some((Level::Info, format!("deleted {uuid}")));
                    if s.script.as_ref().is_some_and(|v| v.script_uuid == uuid) {
                        s.script = None;
                        if s.pane == Pane::Script {
                            back(s);
                        }
                    }
                }
                Err(e) => s.message = Some((Level::Error, format!("not deleted: {e}"))),
            }
            Outcome::redraw().with(Effect::LoadScripts(s.scripts.want))
        }
        Msg::Started(eid) => {
            s.message = Some((Level::Info, format!("order {eid} started")));
            open_order(s, eid).with(Effect::LoadOrders(s.orders.want))
        }
    }
}

/// How often the shown pane is read again when the backend has no event stream: often while
/// work the user watches is under way, seldom otherwise; never without need.
pub fn poll_interval(s: &State) -> Option<std::time::Duration> {
    use std::time::Duration;
    if !s.polling {
        return None;
    }
    let busy = match s.pane {
        Pane::Order => s
            .order
            .as_ref()
            .and_then(|v| v.info.as_ref())
            .is_some_and(|i| i.status == OrderStatus::Processing),
        Pane::Orders => s.running_orders() > 0,
        Pane::Agents => s
            .agents
            .items
            .iter()
            .any(|a| a.agent_state.as_deref() == Some("INSTALLING")),
        Pane::Desktops => s
            .desktops
            .items
            .iter()
            .any(|d| matches!(d.task_status.as_deref(), Some("WAITING" | "RUNNING"))),
        Pane::Invoker => s
            .invoker
            .as_ref()
            .is_some_and(|v| v.records.items.iter().any(|r| r.result == "RUNNING")),
        _ => false,
    };
    Some(Duration::from_secs(if busy {
        POLL_BUSY_S
    } else {
        POLL_IDLE_S
    }))
}

/// Seconds between reads while watched work runs, and otherwise.
pub const POLL_BUSY_S: u64 = 2;
pub const POLL_IDLE_S: u64 = 15;

/// The selection came near the end of a paged list the server has more of: ask for a page
/// more (once: until it arrives, fewer rows are loaded than wanted).
fn wants_more<T>(l: &mut List<T>) -> bool {
    let near_end = l.selected + cocpit_api::pages::PAGE / 5 >= l.visible.len();
    if l.more && near_end && l.items.len() >= l.want {
        l.want += cocpit_api::pages::PAGE;
        return true;
    }
    false
}

fn loaded<T: Row>(list: &mut List<T>, r: Result<Vec<T>, String>) -> Outcome {
    match r {
        Ok(items) => list.set_items(items),
        Err(e) => list.load = Load::Failed(e),
    }
    Outcome::redraw()
}

fn engine_event(s: &mut State, e: Change) -> Outcome {
    let mut out = Outcome::default();
    match &e {
        Change::IncidentChanged { incident_num, .. } => {
            out = triage::incident_changed(s, incident_num);
        }
        Change::AlarmsChanged { alarm_ids } => out = triage::alarms_changed(s, alarm_ids),
        Change::Resync => {}
        Change::AgentsChanged { .. } | Change::DesktopJobChanged { .. } => {
            for (loaded, pane) in [
                (s.agents.load != Load::Loading, Pane::Agents),
                (s.desktops.load != Load::Loading, Pane::Desktops),
            ] {
                if loaded && let Some(e) = ops::load(pane) {
                    out = out.with(e);
                }
            }
        }
        Change::InvokerChanged { invoker_id } => {
            for e in ops::invoker_changed(s, invoker_id) {
                out = out.with(e);
            }
        }
        Change::ResourceChanged { .. } => {
            if s.resources.load != Load::Loading {
                out = out.with(Effect::LoadResources);
            }
        }
        Change::ScriptChanged { .. } => {
            if s.scripts.load != Load::Loading {
                out = out.with(Effect::LoadScripts(s.scripts.want));
            }
        }
        Change::Output { .. } | Change::InstanceChanged { .. } | Change::OrderChanged { .. } => {
            out = order_change(s, e);
        }
    }
    out
}

/// An order's change, patched into the orders list and the order shown. The patches are
/// idempotent (rows are whole, output carries its offset and run), so the view keeps its recent
/// changes and applies them again on top of every read: a read answered after a change it
/// predates does not undo it.
fn order_change(s: &mut State, e: Change) -> Outcome {
    let mut out = Outcome::default();
    let eid = match &e {
        Change::Output { execute_uuid, .. }
        | Change::InstanceChanged { execute_uuid, .. }
        | Change::OrderChanged { execute_uuid, .. } => execute_uuid.clone(),
        _ => return out,
    };
    // The list row: whole status and counts; a row not listed yet is read.
    let listed = match &e {
        Change::InstanceChanged { tally: Some(t), .. } => {
            patch_order_row(s, &eid, |r| r.properties.tally = Some(*t))
        }
        Change::OrderChanged { status, .. } => patch_order_row(s, &eid, |r| r.status = *status),
        _ => true,
    };
    if !listed && !s.orders_asked {
        s.orders_asked = true;
        out = out.with(Effect::LoadOrders(s.orders.want));
    }
    out.redraw |= s.pane == Pane::Orders && !matches!(e, Change::Output { .. });
    let shown = s.pane == Pane::Order;
    let Some(v) = s.order.as_mut().filter(|v| v.execute_uuid == eid) else {
        return out;
    };
    v.remember(&e);
    if v.info.is_none() {
        // The first read is out: applied on top of it.
        return out;
    }
    match patch_order(v, e) {
        Patched::Shown(visible) => out.redraw |= shown && visible,
        Patched::Missing | Patched::Bare => out = out.with(Effect::LoadOrder(eid)),
    }
    out
}

enum Patched {
    /// Applied (or already had); whether it shows on the order's screen.
    Shown(bool),
    /// Something the view lacks (an instance it does not know, output it missed): read it.
    Missing,
    /// An event that carries no row (a server older than this console): read it.
    Bare,
}

/// Applies one change to a loaded order view.
fn patch_order(v: &mut OrderView, e: Change) -> Patched {
    match e {
        Change::OrderChanged {
            status,
            current_batch,
            pause_reason,
            gmt_finished,
            ..
        } => {
            let Some(info) = v.info.as_mut() else {
                return Patched::Missing;
            };
            info.status = status;
            info.gmt_finished = gmt_finished;
            info.execute_costs = gmt_finished.map(|f| f - info.gmt_created);
            info.properties.current_execute_batch_index = current_batch;
            info.properties.pause_reason = pause_reason;
            if v.on_current
                && let Some(cur) = v.current_batch()
                && cur != v.batch
            {
                v.batch = cur;
                v.instance = 0;
            }
            Patched::Shown(true)
        }
        Change::InstanceChanged {
            instance_id,
            batch_index,
            status,
            attempt,
            exit_code,
            gmt_finished,
            execute_costs,
            batch_status,
            ..
        } => {
            let Some(batch_status) = batch_status else {
                return Patched::Bare;
            };
            let Some(i) = v.instance_mut(instance_id) else {
                return Patched::Missing;
            };
            let shown_attempt = i.attempt.unwrap_or(0);
            if attempt < shown_attempt {
                return Patched::Shown(false);
            }
            let restarted = attempt > shown_attempt;
            if restarted {
                // A new run begins a new output.
                i.message.clear();
                i.attempt = Some(attempt);
            }
            i.status = status;
            i.exit_code = exit_code;
            i.gmt_finished = gmt_finished;
            i.execute_costs = execute_costs;
            if restarted
                && v.times
                    .as_ref()
                    .is_some_and(|t| t.instance_id == instance_id)
            {
                v.times = None;
            }
            if let Some(b) = v.batches.iter_mut().find(|b| b.batch_index == batch_index) {
                b.properties = Some(batch_status);
            }
            Patched::Shown(true)
        }
        Change::Output {
            instance_id,
            text,
            stderr,
            at,
            offset,
            attempt,
            ..
        } => {
            let Some(i) = v.instance_mut(instance_id) else {
                return Patched::Missing;
            };
            // A server that tells no run or offset: append, as it arrives.
            let tracked = i.attempt.is_some();
            if tracked && attempt < i.attempt.unwrap_or(0) {
                return Patched::Shown(false);
            }
            if tracked && attempt > i.attempt.unwrap_or(0) {
                // The run's own event comes first; output of a later one means events were lost.
                return Patched::Missing;
            }
            let have = i.message.len() as u64;
            let new = if !tracked || offset == have {
                text.as_str()
            } else if offset + text.len() as u64 <= have {
                return Patched::Shown(false);
            } else if offset < have {
                match text.get((have - offset) as usize..) {
                    Some(rest) => rest,
                    None => return Patched::Missing,
                }
            } else {
                return Patched::Missing;
            };
            i.message.push_str(new);
            if let Some(t) = v.times.as_mut().filter(|t| t.instance_id == instance_id) {
                t.push(at, stderr, new);
            }
            Patched::Shown(v.shows_instance(instance_id))
        }
        _ => Patched::Shown(false),
    }
}

/// Patches the orders list's row of `execute_uuid`; `false` when the list has no such row.
fn patch_order_row(
    s: &mut State,
    execute_uuid: &str,
    patch: impl Fn(&mut JobScriptOrderListModel),
) -> bool {
    if !s
        .orders
        .items
        .iter()
        .any(|r| r.execute_uuid == execute_uuid)
    {
        return false;
    }
    s.orders.modify(|rows| {
        if let Some(r) = rows.iter_mut().find(|r| r.execute_uuid == execute_uuid) {
            patch(r);
        }
    });
    true
}

fn key(s: &mut State, k: KeyEvent) -> Outcome {
    // Text-entry overlays take the keys first.
    match &s.overlay {
        Overlay::Filter { input } => {
            let input = input.clone();
            return filter_key(s, k, input);
        }
        Overlay::Palette { .. } => return palette_key(s, k),
        Overlay::Run(_) => return run_key(s, k),
        Overlay::Form(_) => return form::key(s, k),
        Overlay::Confirm(c) => {
            let c = c.clone();
            s.overlay = Overlay::None;
            return match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => confirmed(s, c.then),
                _ => {
                    s.message = Some((
                        Level::Info,
                        match c.then {
                            Pending::RestoreDraft(_) => {
                                "draft kept: it is offered again next time, and i on its script reopens it"
                            }
                            _ => "not done",
                        }
                        .into(),
                    ));
                    Outcome::redraw()
                }
            };
        }
        Overlay::Help => {
            s.overlay = Overlay::None;
            return Outcome::redraw();
        }
        Overlay::None => {}
    }
    if s.pane == Pane::Editor && s.editor.is_some() {
        return editor::editor_key(s, k);
    }
    match s.keymap.action(&k, &s.pane.contexts()) {
        Some(a) => act(s, a),
        None => Outcome::default(),
    }
}

fn confirmed(s: &mut State, p: Pending) -> Outcome {
    match p {
        Pending::Quit => {
            s.quit = true;
            Outcome::redraw()
        }
        Pending::Operate { execute_uuid, op } => operate(
            s,
            execute_uuid,
            op.operation_type,
            op.batch_index,
            op.instance_id,
        ),
        Pending::RestoreDraft(key) => editor::restore_draft(s, key),
        Pending::Incident {
            incident_num,
            key,
            parameter,
        } => {
            s.message = Some((Level::Info, "sending…".into()));
            Outcome::redraw().with(Effect::Triage(TriageEffect::Handle {
                incident_num,
                key,
                parameter,
            }))
        }
        p @ (Pending::RollbackAgents(_) | Pending::DeleteInvoker(_)) => ops::confirmed(s, p),
        Pending::DeleteScript(uuid) => {
            s.message = Some((Level::Info, "deleting…".into()));
            Outcome::redraw().with(Effect::DeleteScript(uuid))
        }
    }
}

/// Switches to a pane and loads what it shows.
pub fn go(s: &mut State, pane: Pane) -> Outcome {
    s.pane = pane;
    let out = Outcome::redraw();
    match pane {
        Pane::Scripts => out.with(Effect::LoadScripts(s.scripts.want)),
        Pane::Orders => out.with(Effect::LoadOrders(s.orders.want)),
        Pane::Resources => out.with(Effect::LoadResources),
        Pane::Order => match &s.order {
            Some(v) => out.with(Effect::LoadOrder(v.execute_uuid.clone())),
            None => out,
        },
        Pane::Script => match &s.script {
            Some(v) => out.with(Effect::LoadScript(v.script_uuid.clone())),
            None => out,
        },
        Pane::Incidents | Pane::Alarms => {
            let mut out = out;
            for e in triage::load(pane) {
                out = out.with(e);
            }
            out
        }
        Pane::Incident => match &s.incident {
            Some(v) => out.with(Effect::Triage(TriageEffect::LoadIncident(
                v.incident_num.clone(),
            ))),
            None => out,
        },
        Pane::Editor => out,
        Pane::Agents | Pane::Desktops | Pane::Invokers => match ops::load(pane) {
            Some(e) => out.with(e),
            None => out,
        },
        Pane::Invoker => match &s.invoker {
            Some(v) => out
                .with(Effect::Ops(OpsEffect::LoadRecords(v.invoker_id.clone())))
                .with(Effect::Ops(OpsEffect::LoadInvokers)),
            None => out,
        },
    }
}

/// Goes up one level: from a detail to its list (never sideways to another pane).
pub fn back(s: &mut State) {
    if let Some(up) = parent(s) {
        s.pane = up;
    }
}

/// The pane one level up from the current one; top-level panes have none.
pub fn parent(s: &State) -> Option<Pane> {
    match s.pane {
        Pane::Order => Some(Pane::Orders),
        Pane::Script => Some(Pane::Scripts),
        Pane::Editor => {
            let edited = s.editor.as_ref().and_then(|e| e.script_uuid.clone());
            let shown = s.script.as_ref().map(|v| v.script_uuid.clone());
            Some(if edited.is_some() && edited == shown {
                Pane::Script
            } else {
                Pane::Scripts
            })
        }
        Pane::Incident => Some(Pane::Incidents),
        Pane::Invoker => Some(Pane::Invokers),
        _ => None,
    }
}

/// `esc`: clears the pane's applied filter first, then goes up one level.
fn escape(s: &mut State) -> Outcome {
    let was = if s.pane == Pane::Order {
        "search"
    } else {
        "filter"
    };
    let cleared = match s.pane {
        Pane::Scripts => clear(&mut s.scripts),
        Pane::Orders => clear(&mut s.orders),
        Pane::Resources => clear(&mut s.resources),
        Pane::Alarms => clear(&mut s.alarms) | clear(&mut s.alarm_groups),
        Pane::Incidents => clear(&mut s.incidents),
        Pane::Agents => clear(&mut s.agents),
        Pane::Desktops => clear(&mut s.desktops),
        Pane::Invokers => clear(&mut s.invokers),
        Pane::Order => s
            .order
            .as_mut()
            .is_some_and(|v| !std::mem::take(&mut v.search).is_empty()),
        _ => false,
    };
    if cleared {
        s.message = Some((Level::Info, format!("{was} cleared")));
        return Outcome::redraw();
    }
    match parent(s) {
        Some(up) => go(s, up),
        None => Outcome::default(),
    }
}

fn clear<T: Row>(l: &mut List<T>) -> bool {
    if l.filter.is_empty() {
        return false;
    }
    l.set_filter("");
    true
}

fn open_order(s: &mut State, eid: String) -> Outcome {
    if s.order.as_ref().is_none_or(|v| v.execute_uuid != eid) {
        s.order = Some(OrderView::new(eid));
    }
    go(s, Pane::Order)
}

/// Asks before a destructive operation on an order.
fn ask_operation(
    s: &mut State,
    question: String,
    execute_uuid: String,
    t: OperationType,
    batch: Option<i64>,
    instance: Option<i64>,
) {
    s.overlay = Overlay::Confirm(Confirm {
        question,
        then: Pending::Operate {
            execute_uuid,
            op: JobScriptOrderOperationBody {
                batch_index: batch,
                instance_id: instance,
                operation_type: t,
            },
        },
    });
}

fn operate(
    s: &mut State,
    eid: String,
    t: OperationType,
    batch: Option<i64>,
    instance: Option<i64>,
) -> Outcome {
    s.message = Some((Level::Info, format!("{t} sent")));
    Outcome::redraw().with(Effect::Operate {
        execute_uuid: eid,
        op: JobScriptOrderOperationBody {
            batch_index: batch,
            instance_id: instance,
            operation_type: t,
        },
    })
}

fn list_move<T: Row>(list: &mut List<T>, a: Action, page: usize) {
    match a {
        Action::Up => list.move_by(-1),
        Action::Down => list.move_by(1),
        Action::Top => list.selected = 0,
        Action::Bottom => list.move_by(isize::MAX / 2),
        Action::PageUp => list.move_by(-(page.max(1) as isize)),
        Action::PageDown => list.move_by(page.max(1) as isize),
        _ => {}
    }
}

fn is_move(a: Action) -> bool {
    matches!(
        a,
        Action::Up
            | Action::Down
            | Action::Top
            | Action::Bottom
            | Action::PageUp
            | Action::PageDown
    )
}

pub fn act(s: &mut State, a: Action) -> Outcome {
    s.message = None;
    let page = s.page;
    match a {
        Action::Quit => {
            if let Some(e) = s.editor.as_ref().filter(|e| e.dirty) {
                let name = if e.name.is_empty() {
                    "a new script"
                } else {
                    &e.name
                };
                s.overlay = Overlay::Confirm(Confirm {
                    question: format!(
                        "Quit with unsaved changes to {name}? They stay as a draft, offered next start."
                    ),
                    then: Pending::Quit,
                });
                return Outcome::redraw();
            }
            s.quit = true;
            return Outcome::redraw();
        }
        Action::Help => {
            s.overlay = Overlay::Help;
            return Outcome::redraw();
        }
        Action::Palette => {
            s.overlay = Overlay::Palette {
                input: String::new(),
                selected: 0,
            };
            return Outcome::redraw();
        }
        Action::Back => return escape(s),
        Action::NewScript if matches!(s.pane, Pane::Scripts | Pane::Script) => {
            return editor::new_script(s);
        }
        Action::Scripts => return go(s, Pane::Scripts),
        Action::Orders => return go(s, Pane::Orders),
        Action::Resources => return go(s, Pane::Resources),
        Action::Incidents => return go(s, Pane::Incidents),
        Action::Alarms => return go(s, Pane::Alarms),
        Action::Agents => return go(s, Pane::Agents),
        Action::Desktops => return go(s, Pane::Desktops),
        Action::Invokers => return go(s, Pane::Invokers),
        Action::Sort | Action::SortReverse => {
            let flip = a == Action::SortReverse;
            let said = match s.pane {
                Pane::Scripts => s.scripts.sort_by(flip),
                Pane::Orders => s.orders.sort_by(flip),
                Pane::Resources => s.resources.sort_by(flip),
                Pane::Alarms if !s.grouped => s.alarms.sort_by(flip),
                Pane::Incidents => s.incidents.sort_by(flip),
                _ => "this view has no sortable columns".into(),
            };
            s.message = Some((Level::Info, said));
            return Outcome::redraw();
        }
        Action::Refresh => {
            let pane = s.pane;
            let out = go(s, pane);
            s.message = Some((Level::Info, "reloading".into()));
            return out;
        }
        _ => {}
    }
    match s.pane {
        Pane::Scripts => match a {
            _ if is_move(a) => {
                list_move(&mut s.scripts, a, page);
                if wants_more(&mut s.scripts) {
                    return Outcome::redraw().with(Effect::LoadScripts(s.scripts.want));
                }
            }
            Action::Filter => {
                s.overlay = Overlay::Filter {
                    input: s.scripts.filter.clone(),
                }
            }
            Action::RunScript => return start_run(s),
            Action::Open | Action::EditScript | Action::ExternalEditor | Action::DeleteScript => {
                let Some(uuid) = s.scripts.selected_item().map(|x| x.script_uuid.clone()) else {
                    s.message = Some((Level::Error, "no script selected".into()));
                    return Outcome::redraw();
                };
                return match a {
                    Action::Open => editor::open_script(s, uuid),
                    Action::DeleteScript => editor::ask_delete(s, uuid),
                    _ => editor::edit_script(s, uuid, a == Action::ExternalEditor),
                };
            }
            _ => return Outcome::default(),
        },
        Pane::Script => return editor::script_action(s, a),
        Pane::Agents | Pane::Desktops | Pane::Invokers | Pane::Invoker => {
            return ops::act(s, a, page);
        }
        Pane::Editor => {
            // Reached only without an editor (it takes its keys first).
            return Outcome::default();
        }
        Pane::Orders => match a {
            _ if is_move(a) => {
                list_move(&mut s.orders, a, page);
                if wants_more(&mut s.orders) {
                    return Outcome::redraw().with(Effect::LoadOrders(s.orders.want));
                }
            }
            Action::Filter => {
                s.overlay = Overlay::Filter {
                    input: s.orders.filter.clone(),
                }
            }
            Action::Open => {
                if let Some(o) = s.orders.selected_item() {
                    let eid = o.execute_uuid.clone();
                    return open_order(s, eid);
                }
            }
            _ => return Outcome::default(),
        },
        Pane::Resources => match a {
            _ if is_move(a) => list_move(&mut s.resources, a, page),
            Action::Filter => {
                s.overlay = Overlay::Filter {
                    input: s.resources.filter.clone(),
                }
            }
            Action::ToggleMark => {
                s.resources.toggle_mark();
                s.resources.move_by(1);
            }
            Action::RunScript => {
                if s.resources.marked.is_empty() {
                    s.message = Some((Level::Error, "mark hosts with space first".into()));
                } else {
                    s.message = Some((
                        Level::Info,
                        format!(
                            "{} hosts marked: pick a script and press r",
                            s.resources.marked.len()
                        ),
                    ));
                    return go(s, Pane::Scripts);
                }
            }
            _ => return Outcome::default(),
        },
        Pane::Alarms => return triage::alarms_action(s, a),
        Pane::Incidents | Pane::Incident => return triage::incidents_action(s, a),
        Pane::Order => return order_action(s, a),
    }
    Outcome::redraw()
}

fn order_action(s: &mut State, a: Action) -> Outcome {
    let page = s.page;
    let Some(v) = s.order.as_mut() else {
        return Outcome::default();
    };
    let eid = v.execute_uuid.clone();
    let batch = v.batch_index();
    let inst = v.selected_instance().map(|i| (i.id, i.status));
    match a {
        _ if is_move(a) && v.focus == Focus::Log => {
            let step = match a {
                Action::Up => 1,
                Action::Down => -1,
                Action::PageUp => page as isize,
                Action::PageDown => -(page as isize),
                Action::Top => isize::MAX / 2,
                _ => isize::MIN / 2,
            };
            let last = v
                .selected_instance()
                .map(|i| i.message.lines().count().saturating_sub(1))
                .unwrap_or(0);
            v.log_scroll = (v.log_scroll as isize)
                .saturating_add(step)
                .clamp(0, last as isize) as usize;
            v.follow = v.log_scroll == 0;
        }
        _ if is_move(a) => {
            let n = v.batch_instances().len() as isize;
            let cur = v.instance as isize;
            let next = match a {
                Action::Up => cur - 1,
                Action::Down => cur + 1,
                Action::Top => 0,
                Action::Bottom => n - 1,
                Action::PageUp => cur - page as isize,
                _ => cur + page as isize,
            };
            v.instance = next.clamp(0, (n - 1).max(0)) as usize;
            v.log_scroll = 0;
            v.follow = true;
        }
        Action::NextBatch | Action::PrevBatch => {
            let n = v.batches.len();
            if n > 0 {
                v.batch = if a == Action::NextBatch {
                    (v.batch + 1) % n
                } else {
                    (v.batch + n - 1) % n
                };
                v.instance = 0;
                v.log_scroll = 0;
                v.on_current = v.current_batch() == Some(v.batch);
            }
        }
        Action::Open => {
            v.focus = Focus::Log;
        }
        Action::SwitchFocus => {
            v.focus = if v.focus == Focus::Instances {
                Focus::Log
            } else {
                Focus::Instances
            }
        }
        Action::ToggleFollow => {
            v.follow = !v.follow;
            if v.follow {
                v.log_scroll = 0;
            }
        }
        Action::ToggleWrap => v.wrap = !v.wrap,
        Action::Filter => {
            s.overlay = Overlay::Filter {
                input: v.search.clone(),
            }
        }
        Action::SearchNext | Action::SearchPrev => {
            let msg = jump_to_match(v, a == Action::SearchNext);
            s.message = Some(msg);
        }
        Action::CopyLine | Action::CopyLog => {
            let Some((lines, at)) = v.log_cursor() else {
                s.message = Some((Level::Info, "the log is empty".into()));
                return Outcome::redraw();
            };
            let text = if a == Action::CopyLine {
                cocpit_api::sanitize::for_display(lines[at])
            } else {
                cocpit_api::sanitize::for_display(&lines.join("\n"))
            };
            if text.len() > MAX_COPY {
                s.message = Some((
                    Level::Error,
                    format!(
                        "{} KiB is more than a terminal's clipboard takes ({} KiB): save it with {}",
                        text.len() / 1024,
                        MAX_COPY / 1024,
                        s.keymap.first_key(Action::SaveLog)
                    ),
                ));
                return Outcome::redraw();
            }
            // Sent, not known to be copied: the terminal decides (tmux needs set-clipboard).
            let what = if a == Action::CopyLine {
                format!("line {}", at + 1)
            } else {
                format!("{} lines", lines.len())
            };
            s.message = Some((
                Level::Info,
                format!(
                    "{what} sent to the terminal's clipboard (OSC 52; in tmux: set-clipboard on)"
                ),
            ));
            return Outcome::redraw().with(Effect::Copy(text));
        }
        Action::SaveLog => {
            let Some(i) = v.selected_instance() else {
                return Outcome::default();
            };
            let safe = |t: &str| -> String {
                t.chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect()
            };
            let file = format!(
                "{}-{}-{}.log",
                safe(&eid),
                safe(&i.target_instance.resource_id),
                i.id
            );
            let text = cocpit_api::sanitize::for_display(&i.message);
            return Outcome::redraw().with(Effect::SaveLog { file, text });
        }
        Action::ToggleTimes => {
            v.show_times = !v.show_times;
            if v.show_times {
                return Outcome::redraw().with_opt(load_times(v));
            }
        }
        Action::ContinueOrder => return operate(s, eid, OperationType::ContinueOrder, None, None),
        Action::PauseOrder => return operate(s, eid, OperationType::PauseOrder, None, None),
        Action::CancelOrder => ask_operation(
            s,
            format!("Cancel order {eid}? Running instances are killed."),
            eid,
            OperationType::CancelOrder,
            None,
            None,
        ),
        Action::SkipBatch => match batch {
            Some(b) => ask_operation(
                s,
                format!("Skip batch {b} of {eid}? Its instances will never run."),
                eid,
                OperationType::SkipBatch,
                Some(b),
                None,
            ),
            None => return Outcome::default(),
        },
        Action::CancelInstance => match inst {
            Some((id, _)) => {
                let host = v
                    .selected_instance()
                    .map(|i| i.target_instance.resource_id.clone())
                    .unwrap_or_default();
                ask_operation(
                    s,
                    format!("Cancel instance {id} on {host}? If it runs, it is killed."),
                    eid,
                    OperationType::CancelInstance,
                    batch,
                    Some(id),
                )
            }
            None => return Outcome::default(),
        },
        Action::RetryInstance => match inst {
            Some((id, _)) => return operate(s, eid, OperationType::RetryInstance, batch, Some(id)),
            None => return Outcome::default(),
        },
        Action::RetryFailed => {
            let failed: Vec<(i64, i64)> = v
                .instances
                .iter()
                .filter(|i| i.instance.status == InstanceStatus::Abnormal)
                .map(|i| (i.batch_index, i.instance.id))
                .collect();
            if failed.is_empty() {
                s.message = Some((Level::Info, "no failed instance to retry".into()));
                return Outcome::redraw();
            }
            s.message = Some((
                Level::Info,
                format!("retrying {} failed instances", failed.len()),
            ));
            let mut out = Outcome::redraw();
            for (b, id) in failed {
                out = out.with(Effect::Operate {
                    execute_uuid: eid.clone(),
                    op: JobScriptOrderOperationBody {
                        batch_index: Some(b),
                        instance_id: Some(id),
                        operation_type: OperationType::RetryInstance,
                    },
                });
            }
            return out;
        }
        _ => return Outcome::default(),
    }
    // Arrival times follow the selected instance while they are shown.
    let times = s
        .order
        .as_ref()
        .filter(|v| v.show_times)
        .and_then(load_times);
    Outcome::redraw().with_opt(times)
}

/// The most a copy to the clipboard takes (terminals cap OSC 52 payloads).
pub const MAX_COPY: usize = 100 * 1024;

/// Moves the log's cursor to the next match below it (or the previous one above), and says
/// which match it is.
fn jump_to_match(v: &mut OrderView, down: bool) -> (Level, String) {
    if v.search.is_empty() {
        return (Level::Info, "no search: / starts one".into());
    }
    let Some((lines, at)) = v.log_cursor() else {
        return (Level::Info, "the log is empty".into());
    };
    let hits: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| crate::panes::contains_ignore_case(l, &v.search))
        .map(|(n, _)| n)
        .collect();
    let next = if down {
        hits.iter().find(|&&n| n > at)
    } else {
        hits.iter().rev().find(|&&n| n < at)
    };
    let n_lines = lines.len();
    match next {
        Some(&n) => {
            let k = hits.iter().position(|&h| h == n).unwrap_or(0) + 1;
            v.log_scroll = n_lines - 1 - n;
            v.follow = v.log_scroll == 0;
            (
                Level::Info,
                format!("match {k} of {} · line {}", hits.len(), n + 1),
            )
        }
        None if hits.is_empty() => (Level::Error, format!("no line has {:?}", v.search)),
        None => (
            Level::Info,
            format!(
                "no more matches {} ({} in all)",
                if down { "below" } else { "above" },
                hits.len()
            ),
        ),
    }
}

/// Asks for the selected instance's arrival times, unless they are those held.
fn load_times(v: &OrderView) -> Option<Effect> {
    let id = v.selected_instance()?.id;
    if v.times.as_ref().is_some_and(|t| t.instance_id == id) {
        return None;
    }
    Some(Effect::LoadLog {
        execute_uuid: v.execute_uuid.clone(),
        instance_id: id,
    })
}

fn filter_key(s: &mut State, k: KeyEvent, mut input: String) -> Outcome {
    match k.code {
        KeyCode::Esc => {
            input.clear();
            s.overlay = Overlay::None;
        }
        KeyCode::Enter => {
            s.overlay = Overlay::None;
            // In a log, the search starts from the end: the newest match is the one wanted.
            if s.pane == Pane::Order
                && let Some(v) = s.order.as_mut()
                && !v.search.is_empty()
            {
                v.log_scroll = 0;
                let msg = match v.log_cursor() {
                    Some((lines, at))
                        if crate::panes::contains_ignore_case(lines[at], &v.search) =>
                    {
                        (Level::Info, format!("line {} matches (n/N move)", at + 1))
                    }
                    _ => jump_to_match(v, false),
                };
                s.message = Some(msg);
            }
            return Outcome::redraw();
        }
        KeyCode::Backspace => {
            input.pop();
            s.overlay = Overlay::Filter {
                input: input.clone(),
            };
        }
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
            input.push(c);
            s.overlay = Overlay::Filter {
                input: input.clone(),
            };
        }
        _ => return Outcome::default(),
    }
    match s.pane {
        Pane::Scripts => s.scripts.set_filter(&input),
        Pane::Orders => s.orders.set_filter(&input),
        Pane::Resources => s.resources.set_filter(&input),
        Pane::Alarms => {
            s.alarms.set_filter(&input);
            s.alarm_groups.set_filter(&input);
        }
        Pane::Incidents => s.incidents.set_filter(&input),
        Pane::Agents => s.agents.set_filter(&input),
        Pane::Desktops => s.desktops.set_filter(&input),
        Pane::Invokers => s.invokers.set_filter(&input),
        Pane::Order => {
            if let Some(v) = s.order.as_mut() {
                v.search = input;
            }
        }
        _ => {}
    }
    Outcome::redraw()
}

/// Palette commands: `(name, what it does)`.
pub const COMMANDS: &[(&str, &str)] = &[
    ("scripts", "list scripts"),
    ("orders", "list orders"),
    ("resources", "list resources"),
    ("incidents", "incidents"),
    ("alarms", "alarms"),
    ("agents", "Cloud Eye agents and their tasks"),
    ("desktops", "Workspace desktops and their agent"),
    ("invokers", "TAT scheduled invokers"),
    ("theme dark", "dark theme"),
    ("theme light", "light theme"),
    ("theme high-contrast", "high-contrast theme"),
    ("new", "new script in the editor"),
    ("discard", "drop the editor's unsaved draft"),
    ("help", "every key"),
    ("refresh", "reload"),
    ("q", "quit"),
];

/// Commands matching what was typed (prefix first, then substring).
pub fn completions(input: &str) -> Vec<&'static (&'static str, &'static str)> {
    let t = input.trim();
    let mut v: Vec<_> = COMMANDS.iter().filter(|(c, _)| c.starts_with(t)).collect();
    v.extend(
        COMMANDS
            .iter()
            .filter(|(c, _)| !c.starts_with(t) && c.contains(t)),
    );
    v
}

fn palette_key(s: &mut State, k: KeyEvent) -> Outcome {
    let Overlay::Palette { input, selected } = &mut s.overlay else {
        return Outcome::default();
    };
    match k.code {
        KeyCode::Esc => s.overlay = Overlay::None,
        KeyCode::Up => *selected = selected.saturating_sub(1),
        KeyCode::Down => *selected += 1,
        KeyCode::Tab => {
            if let Some((c, _)) = completions(input).get(*selected) {
                *input = c.to_string();
                *selected = 0;
            }
        }
        KeyCode::Backspace => {
            input.pop();
            *selected = 0;
        }
        KeyCode::Char(c) => {
            input.push(c);
            *selected = 0;
        }
        KeyCode::Enter => {
            let typed = input.trim().to_string();
            let matches = completions(&typed);
            let chosen = if COMMANDS.iter().any(|(c, _)| *c == typed) || typed.starts_with("theme ")
            {
                typed
            } else {
                match matches.get(*selected) {
                    Some((c, _)) => c.to_string(),
                    None => typed,
                }
            };
            s.overlay = Overlay::None;
            return command(s, &chosen);
        }
        _ => return Outcome::default(),
    }
    if let Overlay::Palette { input, selected } = &mut s.overlay {
        let n = completions(input).len();
        *selected = (*selected).min(n.saturating_sub(1));
    }
    Outcome::redraw()
}

/// Runs a palette command, or opens the order, script or incident an id names.
pub fn command(s: &mut State, cmd: &str) -> Outcome {
    let id = cmd.trim();
    let numbered = |prefix: &str| {
        id.strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    if numbered("SCT") {
        return open_order(s, id.to_string());
    }
    if numbered("SC") {
        return editor::open_script(s, id.to_string());
    }
    if numbered("IM") {
        return triage::open_incident(s, id.to_string());
    }
    let mut words = cmd.split_whitespace();
    match (words.next().unwrap_or(""), words.next()) {
        ("scripts", _) => go(s, Pane::Scripts),
        ("orders", _) => go(s, Pane::Orders),
        ("resources", _) => go(s, Pane::Resources),
        ("incidents", _) => go(s, Pane::Incidents),
        ("alarms", _) => go(s, Pane::Alarms),
        ("agents", _) => go(s, Pane::Agents),
        ("desktops", _) => go(s, Pane::Desktops),
        ("invokers", _) => go(s, Pane::Invokers),
        ("help", _) => act(s, Action::Help),
        ("new", _) => editor::new_script(s),
        ("discard", _) => editor::discard(s),
        ("refresh", _) => act(s, Action::Refresh),
        ("q" | "quit", _) => act(s, Action::Quit),
        ("theme", Some(name)) => {
            match Theme::shipped(name) {
                Some(t) => {
                    let no_color = s.theme.no_color;
                    s.theme = t.for_terminal(no_color, super::truecolor());
                    s.message = Some((Level::Info, format!("theme {name}")));
                }
                None => {
                    s.message = Some((
                        Level::Error,
                        format!("no theme {name:?}; shipped: dark, light, high-contrast"),
                    ))
                }
            }
            Outcome::redraw()
        }
        (other, _) => {
            s.message = Some((
                Level::Error,
                format!("unknown command {other:?} (try :help)"),
            ));
            Outcome::redraw()
        }
    }
}

fn start_run(s: &mut State) -> Outcome {
    match s.scripts.selected_item() {
        Some(x) => {
            let uuid = x.script_uuid.clone();
            start_run_for(s, &uuid)
        }
        None => {
            s.message = Some((Level::Error, "no script selected".into()));
            Outcome::redraw()
        }
    }
}

/// Opens the run form for a script of the list.
pub fn start_run_for(s: &mut State, uuid: &str) -> Outcome {
    let Some(script) = s.scripts.items.iter().find(|x| x.script_uuid == uuid) else {
        s.message = Some((
            Level::Error,
            "that script is not in the list (reload with ctrl-r)".into(),
        ));
        return Outcome::redraw();
    };
    let hosts: Vec<String> = if s.resources.marked.is_empty() {
        s.resources
            .items
            .iter()
            .map(|r| r.resource_id.clone())
            .collect()
    } else {
        s.resources.marked.iter().cloned().collect()
    };
    s.overlay = Overlay::Run(Box::new(RunForm {
        script_uuid: script.script_uuid.clone(),
        script_name: script.name.clone(),
        high_risk: script.properties.risk_level == RiskLevel::High,
        hosts,
        field: 0,
        batch_size: "10".into(),
        rotation_pause: false,
        success_rate: "100".into(),
        timeout: "300".into(),
        explicit: String::new(),
        known: s
            .resources
            .items
            .iter()
            .map(|r| r.resource_id.clone())
            .collect(),
        params: vec![],
        params_loaded: false,
        confirm_name: String::new(),
        error: Some("reading the script's parameters…".into()),
    }));
    let out = Outcome::redraw().with(Effect::LoadScriptParams(script.script_uuid.clone()));
    if s.resources.load == Load::Loading {
        out.with(Effect::LoadResources)
    } else {
        out
    }
}

/// Checks the plan and builds the execute request, or says what is wrong.
pub fn run_plan(f: &RunForm) -> Result<ScriptExecuteModel, String> {
    use cocpit_api::model::validate as v;
    let groups = f.explicit_groups();
    let rotation = if f.rotation_pause {
        RotationStrategy::Pause
    } else {
        RotationStrategy::Continue
    };
    let batches = if groups.is_empty() {
        if f.hosts.is_empty() {
            return Err("no hosts: mark some in Resources (space), or spell out batches".into());
        }
        let size: usize = f
            .batch_size
            .trim()
            .parse()
            .map_err(|_| format!("batch size {:?} is not a number", f.batch_size))?;
        if !(1..=v::MAX_HOSTS_PER_BATCH).contains(&size) {
            return Err(format!(
                "batch size must be 1 to {}",
                v::MAX_HOSTS_PER_BATCH
            ));
        }
        let n = f.hosts.len().div_ceil(size);
        if n > v::MAX_BATCHES {
            return Err(format!(
                "{} hosts in batches of {size} make {n} batches; at most {} (use bigger batches)",
                f.hosts.len(),
                v::MAX_BATCHES
            ));
        }
        batches_of(&f.hosts, size, rotation)
    } else {
        if let Some(h) = groups.iter().flatten().find(|h| !f.known.contains(h)) {
            return Err(format!("batches: no host {h:?} (see Resources)"));
        }
        let slices: Vec<&[String]> = groups.iter().map(Vec::as_slice).collect();
        batches_from(&slices, rotation)
    };
    let rate: f64 = f
        .success_rate
        .trim()
        .parse()
        .map_err(|_| format!("success rate {:?} is not a number", f.success_rate))?;
    let timeout: i64 = f
        .timeout
        .trim()
        .parse()
        .map_err(|_| format!("timeout {:?} is not a whole number of seconds", f.timeout))?;
    if !f.params_loaded {
        return Err("reading the script's parameters…".into());
    }
    if f.high_risk && f.confirm_name != f.script_name {
        return Err(format!(
            "HIGH risk: type the script name ({}) to confirm",
            f.script_name
        ));
    }
    let body = ScriptExecuteModel {
        execute_param: ScriptExecuteParam {
            resourceful: true,
            timeout,
            success_rate: rate,
            execute_user: "root".into(),
            script_params: f
                .params
                .iter()
                .map(|p| ScriptExecuteInputParam {
                    param_name: p.param_name.clone(),
                    param_value: p.param_value.clone(),
                    param_order: p.param_order,
                })
                .collect(),
        },
        execute_batches: batches,
    };
    // The engine's own rules, checked before anything is sent (hosts are known to exist).
    v::execute(&body, &f.params, |_| true).map_err(|e| e.to_string())?;
    Ok(body)
}

fn run_key(s: &mut State, k: KeyEvent) -> Outcome {
    let Overlay::Run(f) = &mut s.overlay else {
        return Outcome::default();
    };
    let last = f.confirm_field();
    match k.code {
        KeyCode::Esc => {
            s.overlay = Overlay::None;
            s.message = Some((Level::Info, "run not started".into()));
            return Outcome::redraw();
        }
        KeyCode::Tab | KeyCode::Down => f.field = (f.field + 1).min(last),
        KeyCode::BackTab | KeyCode::Up => f.field = f.field.saturating_sub(1),
        KeyCode::Enter => match run_plan(f) {
            Ok(body) => {
                let script_uuid = f.script_uuid.clone();
                s.overlay = Overlay::None;
                s.message = Some((Level::Info, "starting…".into()));
                return Outcome::redraw().with(Effect::Execute { script_uuid, body });
            }
            Err(e) => f.error = Some(e),
        },
        KeyCode::Char(' ') if f.field == 1 => f.rotation_pause = !f.rotation_pause,
        KeyCode::Char(c) => {
            if let Some(t) = field_text(f) {
                t.push(c);
            }
            f.error = None;
        }
        KeyCode::Backspace => {
            if let Some(t) = field_text(f) {
                t.pop();
            }
        }
        _ => return Outcome::default(),
    }
    // Live validation: the error line always reflects the current plan.
    if let Overlay::Run(f) = &mut s.overlay
        && k.code != KeyCode::Enter
    {
        f.error = run_plan(f).err();
    }
    Outcome::redraw()
}

fn field_text(f: &mut RunForm) -> Option<&mut String> {
    let confirm = f.confirm_field();
    match f.field {
        0 => Some(&mut f.batch_size),
        2 => Some(&mut f.success_rate),
        3 => Some(&mut f.timeout),
        4 => Some(&mut f.explicit),
        n if n == confirm => Some(&mut f.confirm_name),
        n => f
            .params
            .get_mut(n - RunForm::FIELDS.len())
            .map(|p| &mut p.param_value),
    }
}
