//! The agents, desktops and invokers panes: tables of what the backend reports.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::lists::{Column, Spec, plain, table};
use crate::model::tat::{self, Invoker};
use crate::sanitize::for_display;
use crate::tui::state::State;
use crate::tui::widgets::rows::Width;

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

pub fn agents(s: &State, f: &mut Frame, area: Rect) {
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
                        format!("{} {}", l.invocation_type, l.invocation_status),
                        match l.invocation_status.as_str() {
                            "FAILED" | "TIMEOUT" => s.theme.error(),
                            "SUCCEEDED" => s.theme.ok(),
                            _ => Style::default(),
                        },
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
            empty_hint: "no invokers: create one with cocpit invoker create (or TAT CreateInvoker)",
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
