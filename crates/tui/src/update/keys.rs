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
    let mut lists = (s.pane.spec().lists)(s);
    let was = lists.first().map_or("filter", |l| l.noun());
    let mut cleared = false;
    for l in &mut lists {
        if !l.filter_text().is_empty() {
            l.apply_filter("");
            cleared = true;
        }
    }
    if cleared {
        s.message = Some((Level::Info, format!("{was} cleared")));
        return Outcome::redraw();
    }
    match parent(s) {
        Some(up) => go(s, up),
        None => Outcome::default(),
    }
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
        Action::ApproveScript if matches!(s.pane, Pane::Scripts | Pane::Script) => {
            return review::decide(s, cocpit_api::model::script::ScriptStatus::Approved);
        }
        Action::RejectScript if matches!(s.pane, Pane::Scripts | Pane::Script) => {
            return review::decide(s, cocpit_api::model::script::ScriptStatus::Rejected);
        }
        Action::Sort | Action::SortReverse => {
            let flip = a == Action::SortReverse;
            let said = match (s.pane.spec().lists)(s).into_iter().next() {
                Some(l) => l.sort(flip),
                None => "this view has no sortable columns".into(),
            };
            s.message = Some((Level::Info, said));
            return Outcome::redraw();
        }
        Action::Filter => {
            // A pane without a list (a detail) may give `/` a meaning of its own.
            let shown = (s.pane.spec().lists)(s)
                .first()
                .map(|l| l.filter_text().to_string());
            if let Some(input) = shown {
                s.overlay = Overlay::Filter { input };
                return Outcome::redraw();
            }
        }
        Action::Refresh => {
            let pane = s.pane;
            let out = go(s, pane);
            s.message = Some((Level::Info, "reloading".into()));
            return out;
        }
        _ => {}
    }
    if let Some(spec) = crate::registry::PANES
        .iter()
        .find(|p| p.opened_by.is_some_and(|(by, _, _)| by == a))
    {
        return go(s, spec.pane);
    }
    (s.pane.spec().act)(s, a, page)
}
