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
mod keys;
pub(crate) mod lists;
pub(crate) mod ops;
mod order;
mod palette;
pub(crate) mod review;
mod run;
pub(crate) mod triage;

pub use ops::{AGENT_TASKS_SHOWN, OpsEffect, OpsMsg};
pub use triage::{MAX_LOADED_ALARMS, TriageEffect, TriageMsg};

pub use editor::follow as follow_editor;
pub(crate) use editor::script_action;
pub use keys::act;
use keys::*;
pub use order::MAX_COPY;
pub(crate) use order::order_action;
use order::*;
use palette::*;
pub use palette::{command, commands, completions};
use run::*;
pub use run::{run_plan, start_run_for};

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
    /// Who the backend says we are.
    Identity(Result<cocpit_api::model::team::Caller, String>),
    /// The users the backend knows.
    Users(Result<Vec<cocpit_api::model::team::Caller>, String>),
    /// The newest entries of the audit trail.
    Audit(Result<Vec<cocpit_api::model::team::AuditEntry>, String>),
    /// A script's review decisions, oldest first.
    Reviews(
        String,
        Result<Vec<cocpit_api::model::team::ScriptReview>, String>,
    ),
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
    /// Who we are (for the header and the read-only keys).
    LoadIdentity,
    /// The users reviewers are picked from.
    LoadUsers,
    LoadAudit,
    LoadReviews(String),
    /// A reviewer's decision.
    AcceptScript {
        script_uuid: String,
        decision: cocpit_api::model::team::ApprovalJobScriptModel,
    },
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
            let out = loaded(&mut s.scripts, r);
            review::refresh(s);
            out
        }
        Msg::Identity(r) => {
            // An endpoint without the route (real COC) cannot say: nothing shown, nothing
            // disabled; the server refuses what the caller may not do.
            if let Ok(me) = r {
                s.identity = Some(me);
            }
            review::refresh(s);
            Outcome::redraw()
        }
        Msg::Reviews(uuid, r) => review::loaded(s, uuid, r),
        Msg::Audit(r) => loaded(&mut s.audit, r),
        Msg::Users(r) => {
            // Without the route (real COC) reviewers are typed by hand.
            if let Ok(users) = r {
                s.users = users;
            }
            Outcome::redraw()
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
    let busy = (s.pane.spec().busy)(s);
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
        Change::IncidentChanged {
            incident_num,
            summary,
            ..
        } => {
            out = triage::incident_changed(s, incident_num, summary.as_deref());
        }
        Change::AlarmsChanged { alarm_ids } => out = triage::alarms_changed(s, alarm_ids),
        Change::Resync => {}
        Change::AgentsChanged {
            instance_ids,
            agents,
        } if s.agents.load == Load::Ready && agents.len() == instance_ids.len() => {
            ops::agents_changed(s, agents);
            out = Outcome::redraw();
        }
        Change::DesktopJobChanged { desktops, .. }
            if s.desktops.load == Load::Ready && !desktops.is_empty() =>
        {
            ops::desktops_changed(s, desktops);
            out = Outcome::redraw();
        }
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
        Change::InvokerChanged {
            invoker_id,
            invoker,
            deleted,
            record,
        } => {
            out = Outcome::redraw();
            let carried = ops::Carried {
                invoker: invoker.as_deref(),
                deleted: *deleted,
                record: record.as_deref(),
            };
            for e in ops::invoker_changed(s, invoker_id, carried) {
                out = out.with(e);
            }
        }
        Change::ResourceChanged { .. } => {
            if s.resources.load != Load::Loading {
                out = out.with(Effect::LoadResources);
            }
        }
        Change::ScriptChanged {
            script_uuid,
            deleted,
        } => {
            if s.scripts.load != Load::Loading {
                out = out.with(Effect::LoadScripts(s.scripts.want));
            }
            // The script shown changed (a review decision, a modify elsewhere): read it again.
            if !deleted
                && s.script
                    .as_ref()
                    .is_some_and(|v| &v.script_uuid == script_uuid)
            {
                out = out.with(Effect::LoadScript(script_uuid.clone()));
            }
        }
        Change::Output { .. } | Change::InstanceChanged { .. } | Change::OrderChanged { .. } => {
            out = order_change(s, e);
        }
    }
    out
}

/// Switches to a pane and loads what it shows.
pub fn go(s: &mut State, pane: Pane) -> Outcome {
    s.pane = pane;
    (pane.spec().load)(s)
        .into_iter()
        .fold(Outcome::redraw(), Outcome::with)
}

/// Goes up one level: from a detail to its list (never sideways to another pane).
pub fn back(s: &mut State) {
    if let Some(up) = parent(s) {
        s.pane = up;
    }
}

/// The pane one level up from the current one; top-level panes have none.
pub fn parent(s: &State) -> Option<Pane> {
    (s.pane.spec().parent)(s)
}
