//! The actions of the list panes without a module of their own: scripts, orders, resources and
//! the audit trail (moves, opening a row, what the row's keys start).

use super::*;

pub fn scripts(s: &mut State, a: Action, page: usize) -> Outcome {
    match a {
        _ if is_move(a) => {
            list_move(&mut s.scripts, a, page);
            if wants_more(&mut s.scripts) {
                return Outcome::redraw().with(Effect::LoadScripts(s.scripts.want));
            }
            Outcome::redraw()
        }
        Action::RunScript => start_run(s),
        Action::Open | Action::EditScript | Action::ExternalEditor | Action::DeleteScript => {
            let Some(uuid) = s.scripts.selected_item().map(|x| x.script_uuid.clone()) else {
                s.message = Some((Level::Error, "no script selected".into()));
                return Outcome::redraw();
            };
            match a {
                Action::Open => editor::open_script(s, uuid),
                Action::DeleteScript => editor::ask_delete(s, uuid),
                _ => editor::edit_script(s, uuid, a == Action::ExternalEditor),
            }
        }
        _ => Outcome::default(),
    }
}

pub fn orders(s: &mut State, a: Action, page: usize) -> Outcome {
    match a {
        _ if is_move(a) => {
            list_move(&mut s.orders, a, page);
            if wants_more(&mut s.orders) {
                return Outcome::redraw().with(Effect::LoadOrders(s.orders.want));
            }
            Outcome::redraw()
        }
        Action::Open => match s.orders.selected_item() {
            Some(o) => {
                let eid = o.execute_uuid.clone();
                open_order(s, eid)
            }
            None => Outcome::redraw(),
        },
        _ => Outcome::default(),
    }
}

pub fn resources(s: &mut State, a: Action, page: usize) -> Outcome {
    match a {
        _ if is_move(a) => list_move(&mut s.resources, a, page),
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
    }
    Outcome::redraw()
}

pub fn audit(s: &mut State, a: Action, page: usize) -> Outcome {
    if is_move(a) {
        list_move(&mut s.audit, a, page);
        return Outcome::redraw();
    }
    Outcome::default()
}
