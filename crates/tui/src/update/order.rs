//! The order view: its keys and operations, and the changes of an order patched into what the
//! console shows.

use super::*;

/// An order's change, patched into the orders list and the order shown. The patches are
/// idempotent (rows are whole, output carries its offset and run), so the view keeps its recent
/// changes and applies them again on top of every read: a read answered after a change it
/// predates does not undo it.
pub(super) fn order_change(s: &mut State, e: Change) -> Outcome {
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

pub(super) enum Patched {
    /// Applied (or already had); whether it shows on the order's screen.
    Shown(bool),
    /// Something the view lacks (an instance it does not know, output it missed): read it.
    Missing,
    /// An event that carries no row (a server older than this console): read it.
    Bare,
}

/// Applies one change to a loaded order view.
pub(super) fn patch_order(v: &mut OrderView, e: Change) -> Patched {
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
pub(super) fn patch_order_row(
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

pub(super) fn open_order(s: &mut State, eid: String) -> Outcome {
    if s.order.as_ref().is_none_or(|v| v.execute_uuid != eid) {
        s.order = Some(OrderView::new(eid));
    }
    go(s, Pane::Order)
}

/// Asks before a destructive operation on an order.
pub(super) fn ask_operation(
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

pub(super) fn operate(
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

pub(crate) fn order_action(s: &mut State, a: Action) -> Outcome {
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
pub(super) fn jump_to_match(v: &mut OrderView, down: bool) -> (Level, String) {
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
pub(super) fn load_times(v: &OrderView) -> Option<Effect> {
    let id = v.selected_instance()?.id;
    if v.times.as_ref().is_some_and(|t| t.instance_id == id) {
        return None;
    }
    Some(Effect::LoadLog {
        execute_uuid: v.execute_uuid.clone(),
        instance_id: id,
    })
}
