//! The agents, desktops and invokers panes: tables of what the backend reports, and one
//! invoker's fires with their output.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::lists::{Column, Shown, Spec, plain, table};
use crate::state::{InvokerView, State};
use crate::widgets::rows::Width;
use cocpit_api::format::short_time;
use cocpit_api::model::tat::{self, Invoker};
use cocpit_api::sanitize::for_display;

fn state_cell(s: &State, state: Option<&str>) -> (String, Style) {
    match state {
        Some("ONLINE") => ("✔ ONLINE".into(), s.theme.ok()),
        Some("OFFLINE") => ("✘ OFFLINE".into(), s.theme.error()),
        Some("FAILED") => ("✘ FAILED".into(), s.theme.error()),
        Some("INSTALLING") => ("◐ INSTALLING".into(), s.theme.dim()),
        Some(other) => plain(for_display(other)),
        None => ("- none".into(), s.theme.dim()),
    }
}

fn task_style(s: &State, status: &str) -> Style {
    match status {
        "FAILED" | "TIMEOUT" => s.theme.error(),
        "SUCCEEDED" => s.theme.ok(),
        "ROLLBACKED" => s.theme.dim(),
        _ => Style::default(),
    }
}

/// Each instance's agent above, the newest tasks of all instances below (live: the pane reloads
/// on every agent event).
pub fn agents(s: &State, f: &mut Frame, area: Rect) {
    let rows = (s.agents.visible.len() as u16 + 2).clamp(3, (area.height * 3 / 5).max(3));
    let [instances, tasks] =
        Layout::vertical([Constraint::Length(rows), Constraint::Min(0)]).areas(area);
    agent_instances(s, f, instances);
    agent_tasks(s, f, tasks);
}

fn agent_tasks(s: &State, f: &mut Frame, area: Rect) {
    let block = Block::default()
        .borders(Borders::TOP)
        .title(format!(" tasks {} (newest first) ", s.agent_tasks.len()))
        .border_style(s.theme.dim());
    let inner = block.inner(area);
    f.render_widget(block, area);
    if s.agent_tasks.is_empty() {
        f.render_widget(
            Paragraph::new("no agent tasks yet: i installs on the marked instances")
                .style(s.theme.dim()),
            inner,
        );
        return;
    }
    let columns: &[Column] = &[
        ("TASK", Width::Fixed(12), 0),
        ("INSTANCE", Width::Fixed(12), 0),
        ("TYPE", Width::Fixed(8), 0),
        ("STATUS", Width::Fixed(10), 0),
        ("VERSION", Width::Fixed(16), 70),
        ("UPDATED", Width::Fixed(11), 100),
        ("RESULT", Width::Fill(12), 0),
    ];
    // The blank mark column lines these up with the instances above.
    let shown = Shown::new(columns, area.width);
    let rows = s.agent_tasks.iter().map(|t| {
        let cells = vec![
            plain(t.invocation_id.clone()),
            plain(for_display(&t.instance_id)),
            plain(t.invocation_type.to_string()),
            (
                t.invocation_status.words().to_string(),
                task_style(s, t.invocation_status.as_str()),
            ),
            plain(format!(
                "{}→{}",
                t.current_version.as_deref().unwrap_or("-"),
                t.target_version.as_deref().unwrap_or("-")
            )),
            plain(short_time(t.update_time, s.utc_offset)),
            plain(for_display(
                t.result_msg
                    .as_deref()
                    .and_then(|m| m.lines().last())
                    .unwrap_or(""),
            )),
        ];
        (shown.row(" ", cells), Style::default())
    });
    shown.render(s, f, inner, rows);
}

fn agent_instances(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("INSTANCE", Width::Fill(12), 0),
        ("AGENT", Width::Fixed(13), 0),
        ("VERSION", Width::Fixed(9), 0),
        ("LAST TASK", Width::Fixed(22), 60),
        ("TASK ID", Width::Fill(12), 120),
        ("RESULT", Width::Fill(16), 100),
    ];
    table(
        s,
        f,
        area,
        &s.agents,
        Spec {
            what: "agents",
            empty_hint: "no servers in the inventory",
            columns,
        },
        |a| {
            let last = a.last_invocation.as_ref();
            vec![
                plain(format!(
                    "{}{}",
                    for_display(&a.instance_id),
                    if a.installer { " (installer)" } else { "" }
                )),
                state_cell(s, a.agent_state.as_deref()),
                plain(a.version.clone().unwrap_or("-".into())),
                match last {
                    Some(l) => (
                        format!(
                            "{} {}",
                            l.invocation_type.as_str().to_lowercase(),
                            l.invocation_status.words()
                        ),
                        task_style(s, l.invocation_status.as_str()),
                    ),
                    None => plain(""),
                },
                plain(last.map(|l| l.invocation_id.clone()).unwrap_or_default()),
                plain(for_display(
                    last.and_then(|l| l.result_msg.as_deref())
                        .and_then(|m| m.lines().last())
                        .unwrap_or(""),
                )),
            ]
        },
    );
}

pub fn desktops(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("DESKTOP", Width::Fill(14), 0),
        ("NAME", Width::Fill(14), 70),
        ("STATE", Width::Fixed(11), 0),
        ("AGENT", Width::Fixed(9), 0),
        ("TASK", Width::Fixed(8), 0),
        ("PROGRESS", Width::Fixed(12), 0),
    ];
    table(
        s,
        f,
        area,
        &s.desktops,
        Spec {
            what: "desktops",
            empty_hint: "no desktops: mark hosts kind = \"desktop\" in the inventory",
            columns,
        },
        |d| {
            let a = d.agent_info.first();
            let bar = d.process.map(|p| {
                let full = (p.clamp(0, 100) / 20) as usize;
                format!("{}{} {p:>3}%", "█".repeat(full), "░".repeat(5 - full))
            });
            vec![
                plain(for_display(&d.desktop_id)),
                plain(for_display(&d.desktop_name)),
                plain(for_display(&d.status)),
                plain(
                    a.and_then(|a| a.agent_version.clone())
                        .unwrap_or("-".into()),
                ),
                match d.task_status.as_deref() {
                    Some("FAIL") => ("FAIL".into(), s.theme.error()),
                    Some("SUCCESS") => ("SUCCESS".into(), s.theme.ok()),
                    Some(t) => plain(t.to_string()),
                    None => plain(""),
                },
                plain(bar.unwrap_or_default()),
            ]
        },
    );
}

/// The next fire in UTC+8 and in the viewer's zone.
fn next_fire(s: &State, i: &Invoker) -> String {
    let Some(t) = i
        .schedule_settings
        .invoke_time
        .as_deref()
        .and_then(|t| tat::parse_time(t).ok())
    else {
        return "-".into();
    };
    let local = t.with_timezone(&s.utc_offset);
    format!(
        "{} +8 · {} local",
        t.with_timezone(&tat::beijing()).format("%m-%d %H:%M"),
        local.format("%H:%M")
    )
}

pub fn invokers(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("INVOKER", Width::Fixed(12), 0),
        ("NAME", Width::Fill(10), 0),
        ("ON", Width::Fixed(3), 0),
        ("POLICY", Width::Fill(14), 0),
        ("NEXT FIRE", Width::Fixed(28), 60),
        ("COMMAND", Width::Fixed(12), 110),
        ("INSTANCES", Width::Fill(12), 120),
    ];
    table(
        s,
        f,
        area,
        &s.invokers,
        Spec {
            what: "invokers",
            empty_hint: "no invokers: n creates one (or cocpit invoker create, or TAT CreateInvoker)",
            columns,
        },
        |i| {
            vec![
                plain(i.invoker_id.clone()),
                plain(for_display(&i.name)),
                if i.enable {
                    ("✔".into(), s.theme.ok())
                } else {
                    ("✘".into(), s.theme.dim())
                },
                plain(match i.schedule_settings.policy.as_str() {
                    "RECURRENCE" => format!(
                        "cron {}",
                        for_display(i.schedule_settings.recurrence.as_deref().unwrap_or(""))
                    ),
                    other => other.to_string(),
                }),
                plain(next_fire(s, i)),
                plain(i.command_id.clone()),
                plain(for_display(&i.instance_ids.join(" "))),
            ]
        },
    );
}

fn policy(i: &Invoker) -> String {
    match i.schedule_settings.policy.as_str() {
        "RECURRENCE" => format!(
            "cron {} (UTC+8)",
            for_display(i.schedule_settings.recurrence.as_deref().unwrap_or(""))
        ),
        other => other.to_string(),
    }
}

/// `YYYY-MM-DDThh:mm:ssZ` as `11-25 03:00 +8 · 20:00 local`.
fn fire_time(s: &State, t: &str) -> String {
    match tat::parse_time(t) {
        Ok(t) => format!(
            "{} +8 · {} local",
            t.with_timezone(&tat::beijing()).format("%m-%d %H:%M"),
            t.with_timezone(&s.utc_offset).format("%H:%M")
        ),
        Err(_) => for_display(t),
    }
}

fn result_style(s: &State, result: &str) -> Style {
    match result {
        "SUCCESS" => s.theme.ok(),
        "FAILED" | "TIMEOUT" | "PARTIAL_FAILED" | "CANCELLED" => s.theme.error(),
        _ => s.theme.dim(),
    }
}

/// One invoker: what it is, its fires (newest first), and the selected fire's tasks with their
/// output.
pub fn invoker(s: &State, f: &mut Frame, area: Rect) {
    let Some(view) = &s.invoker else {
        return;
    };
    // The fires take what they need up to 40 % of the body; the output gets the rest.
    let fires = (view.records.visible.len() as u16 + 2).clamp(3, (area.height * 2 / 5).max(3));
    let [head, records, tasks] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(fires),
        Constraint::Min(3),
    ])
    .areas(area);
    let inv = s
        .invokers
        .items
        .iter()
        .find(|i| i.invoker_id == view.invoker_id);
    let lines = match inv {
        Some(i) => vec![
            Line::from(vec![
                Span::styled(format!(" {} ", i.invoker_id), s.theme.accent()),
                Span::raw(format!("{}  ", for_display(&i.name))),
                if i.enable {
                    Span::styled("✔ enabled  ", s.theme.ok())
                } else {
                    Span::styled("✘ disabled  ", s.theme.dim())
                },
                Span::raw(format!("{}  ", policy(i))),
                Span::styled(
                    format!(
                        "{} on {}",
                        i.command_id,
                        for_display(&i.instance_ids.join(" "))
                    ),
                    s.theme.dim(),
                ),
            ]),
            Line::from(Span::styled(
                format!(" next fire: {}", next_fire(s, i)),
                s.theme.dim(),
            )),
        ],
        None => vec![Line::from(format!(" {}", view.invoker_id))],
    };
    f.render_widget(Paragraph::new(lines), head);
    let columns: &[Column] = &[
        ("FIRED (+8 · local)", Width::Fixed(28), 0),
        ("RESULT", Width::Fixed(14), 0),
        ("INVOCATION", Width::Fixed(12), 0),
        ("REASON", Width::Fill(10), 0),
    ];
    table(
        s,
        f,
        records,
        &view.records,
        Spec {
            what: "fires",
            empty_hint: "no fires yet: they appear here as the schedule runs",
            columns,
        },
        |r| {
            vec![
                plain(fire_time(s, &r.invoke_time)),
                (r.result.clone(), result_style(s, &r.result)),
                plain(r.invocation_id.clone()),
                plain(for_display(&r.reason)),
            ]
        },
    );
    task_output(s, f, tasks, view);
}

/// The selected fire's tasks: a line each, then the tail of its output.
fn task_output(s: &State, f: &mut Frame, area: Rect, view: &InvokerView) {
    let title = match &view.tasks_of {
        Some(inv) => format!(" tasks of {inv} "),
        None => " tasks ".into(),
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .title(title)
        .border_style(s.theme.dim());
    let inner = block.inner(area);
    f.render_widget(block, area);
    let current = view.tasks_of.is_some() && view.tasks_of == view.selected_invocation();
    if !current {
        return;
    }
    if view.tasks.is_empty() {
        f.render_widget(
            Paragraph::new("no tasks: nothing ran for this fire").style(s.theme.dim()),
            inner,
        );
        return;
    }
    // Each task gets an equal share of the rows; its output's last lines fill it.
    let share = (inner.height as usize / view.tasks.len()).max(1);
    let mut lines = vec![];
    for t in &view.tasks {
        let r = &t.task.task_result;
        lines.push(Line::from(vec![
            Span::raw(format!(" {:<14}", for_display(&t.task.instance_id))),
            Span::styled(
                format!("{:<9}", t.task.task_status),
                result_style(s, &t.task.task_status),
            ),
            Span::styled(
                format!(
                    "exit {}{}",
                    r.exit_code,
                    if r.dropped > 0 {
                        format!(" · {} bytes dropped", r.dropped)
                    } else {
                        String::new()
                    }
                ),
                s.theme.dim(),
            ),
            Span::styled(
                if t.task.error_info.is_empty() {
                    String::new()
                } else {
                    format!("  {}", for_display(&t.task.error_info))
                },
                s.theme.error(),
            ),
        ]));
        let out: Vec<&str> = t.text.lines().collect();
        let keep = share.saturating_sub(1);
        for l in &out[out.len().saturating_sub(keep)..] {
            lines.push(Line::from(Span::raw(format!("   {}", for_display(l)))));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}
