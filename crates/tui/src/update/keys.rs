//! Keys to actions, and each action on the pane it is pressed in.

use super::*;

pub(super) fn key(s: &mut State, k: KeyEvent) -> Outcome {
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

pub(super) fn confirmed(s: &mut State, p: Pending) -> Outcome {
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

/// `esc`: clears the pane's applied filter first, then goes up one level.
pub(super) fn escape(s: &mut State) -> Outcome {
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
        Pane::Reviews => clear(&mut s.reviews),
        Pane::Audit => clear(&mut s.audit),
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

pub(super) fn clear<T: Row>(l: &mut List<T>) -> bool {
    if l.filter.is_empty() {
        return false;
    }
    l.set_filter("");
    true
}

pub(super) fn list_move<T: Row>(list: &mut List<T>, a: Action, page: usize) {
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

pub(super) fn is_move(a: Action) -> bool {
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

/// Every key that writes passes here, wherever it is pressed (a list, a detail, the editor):
/// under a read-only role it stays listed and says why it does nothing.
pub(super) fn write_refused(s: &mut State, a: Action) -> Option<Outcome> {
    let why = s.write_block().filter(|_| a.writes())?;
    s.message = Some((Level::Error, format!("{}: disabled, {why}", a.describe())));
    Some(Outcome::redraw())
}

pub fn act(s: &mut State, a: Action) -> Outcome {
    s.message = None;
    let page = s.page;
    if let Some(refused) = write_refused(s, a) {
        return refused;
    }
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
        Action::Reviews => return go(s, Pane::Reviews),
        Action::Audit => return go(s, Pane::Audit),
        Action::ApproveScript if matches!(s.pane, Pane::Scripts | Pane::Script) => {
            return review::decide(s, cocpit_api::model::script::ScriptStatus::Approved);
        }
        Action::RejectScript if matches!(s.pane, Pane::Scripts | Pane::Script) => {
            return review::decide(s, cocpit_api::model::script::ScriptStatus::Rejected);
        }
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
        Pane::Reviews => return review::act(s, a, page),
        Pane::Audit => match a {
            _ if is_move(a) => list_move(&mut s.audit, a, page),
            Action::Filter => {
                s.overlay = Overlay::Filter {
                    input: s.audit.filter.clone(),
                }
            }
            _ => return Outcome::default(),
        },
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
