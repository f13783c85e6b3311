//! The alarms pane (stream or groups, with the selected alarm's detail), the incidents list,
//! one incident with its timeline, and the small forms they use.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::lists::{Column, Spec, plain, table};
use crate::state::{Load, State};
use crate::theme::Theme;
use crate::widgets::rows::Width;
use cocpit_api::format::short_time;
use cocpit_api::model::alarm::{Alarm, AlarmLevel, AlarmState};
use cocpit_api::model::incident::{IncidentStatus, level_name, words};
use cocpit_api::sanitize::for_display;

/// Symbol, word and style of a level: never colour alone.
pub fn level(t: &Theme, l: AlarmLevel) -> (String, Style) {
    let (sym, style) = match l {
        AlarmLevel::Critical => ("✖", t.error()),
        AlarmLevel::Major => ("▲", t.warn()),
        AlarmLevel::Minor => ("●", t.accent()),
        AlarmLevel::Info => ("·", t.dim()),
    };
    (format!("{sym} {l}"), style)
}

fn state_cell(t: &Theme, a: &Alarm) -> (String, Style) {
    let mut word = match a.state {
        AlarmState::Firing => "firing".to_string(),
        AlarmState::Cleared => "cleared".to_string(),
    };
    if a.silenced_by.is_some() {
        word.push_str(" ⊘silenced");
    } else if a.acked_by.is_some() {
        word.push_str(" ✓acked");
    }
    let style = if a.state == AlarmState::Firing && a.silenced_by.is_none() {
        Style::default()
    } else {
        t.dim()
    };
    (word, style)
}

pub fn incident_status(t: &Theme, s: IncidentStatus) -> (String, Style) {
    let (sym, style) = match s {
        IncidentStatus::Triggered => ("◉", t.error()),
        IncidentStatus::Acknowledged => ("◐", t.warn()),
        IncidentStatus::Resolved => ("◑", t.accent()),
        IncidentStatus::Completed => ("✔", t.ok()),
        IncidentStatus::Rejected | IncidentStatus::Draft => ("⊘", t.dim()),
    };
    (format!("{sym} {}", s.name_en()), style)
}

pub fn alarms(s: &State, f: &mut Frame, area: Rect) {
    // The selected alarm's detail below the list when there is room.
    let detail_h = if area.height >= 18 && !s.grouped {
        7
    } else {
        0
    };
    let list_area = Rect {
        height: area.height - detail_h,
        ..area
    };
    if s.grouped {
        let columns: &[Column] = &[
            ("LEVEL", Width::Fixed(10), 0),
            ("FIRING", Width::Fixed(6), 0),
            ("COUNT", Width::Fixed(6), 0),
            ("LAST SEEN", Width::Fixed(11), 70),
            ("GROUP", Width::Fill(20), 0),
        ];
        table(
            s,
            f,
            list_area,
            &s.alarm_groups,
            Spec {
                what: "alarm groups",
                empty_hint: "no firing alarms (v shows the stream)",
                columns,
            },
            |g| {
                vec![
                    level(&s.theme, g.level),
                    plain(g.firing.to_string()),
                    plain(g.count.to_string()),
                    plain(short_time(g.last_seen, s.utc_offset)),
                    plain(for_display(&g.group_key)),
                ]
            },
        );
        return;
    }
    let columns: &[Column] = &[
        ("LEVEL", Width::Fixed(10), 0),
        ("STATE", Width::Fixed(17), 0),
        ("COUNT", Width::Fixed(5), 90),
        ("LAST SEEN", Width::Fixed(11), 70),
        ("NAME", Width::Fill(20), 0),
        ("APP", Width::Fill(8), 110),
        ("RESOURCE", Width::Fill(10), 130),
        ("INCIDENT", Width::Fixed(26), 150),
    ];
    table(
        s,
        f,
        list_area,
        &s.alarms,
        Spec {
            what: "alarms",
            empty_hint: "no alarms yet: point a monitoring system at /v1/event/huawei/custom/KEY or \
                         /v1/event/prometheus/KEY, or run `cocpit alarm push`",
            columns,
        },
        |a| {
            vec![
                level(&s.theme, a.level),
                state_cell(&s.theme, a),
                plain(a.count.to_string()),
                plain(short_time(a.last_seen, s.utc_offset)),
                plain(for_display(&a.name)),
                plain(for_display(&a.application_id)),
                plain(for_display(&a.resource_name)),
                plain(a.incident_num.clone().unwrap_or_default()),
            ]
        },
    );
    if s.alarms_more && area.width > 60 {
        let note = format!(" newest {} loaded ", crate::update::MAX_LOADED_ALARMS);
        let x = area.x + area.width - note.chars().count() as u16 - 1;
        f.buffer_mut()
            .set_stringn(x, area.y, &note, note.len(), s.theme.dim());
    }
    if detail_h == 0 {
        return;
    }
    let Some(a) = s.alarms.selected_item() else {
        return;
    };
    let rect = Rect {
        y: area.y + area.height - detail_h,
        height: detail_h,
        ..area
    };
    let labels: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(for_display(&a.name), s.theme.accent()),
            Span::raw(format!(
                "  {}  {}×  first {}  last {}",
                a.alarm_id,
                a.count,
                short_time(a.first_seen, s.utc_offset),
                short_time(a.last_seen, s.utc_offset)
            )),
        ]),
        Line::from(for_display(&a.description)),
        Line::from(Span::styled(
            format!(
                "app {}  ns {}  region {}  resource {} {}  source {}  via {}",
                for_display(&a.application_id),
                for_display(&a.namespace),
                for_display(&a.region_id),
                for_display(&a.resource_name),
                for_display(&a.resource_id),
                for_display(&a.source),
                for_display(&a.integration_key),
            ),
            s.theme.dim(),
        )),
        Line::from(Span::styled(
            format!("labels {}", for_display(&labels.join(" "))),
            s.theme.dim(),
        )),
    ];
    let mut status = vec![];
    if let (Some(by), Some(at)) = (&a.acked_by, a.acked_at) {
        status.push(format!(
            "acked by {} at {}",
            for_display(by),
            short_time(at, s.utc_offset)
        ));
    }
    if let Some(sil) = &a.silenced_by {
        status.push(format!("silenced by {sil}"));
    }
    if let Some(n) = &a.incident_num {
        status.push(format!("incident {n}"));
    }
    if !a.url.is_empty() {
        status.push(for_display(&a.url));
    }
    lines.push(Line::from(status.join("  ·  ")));
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(s.theme.dim())
                .title(" alarm "),
        ),
        rect,
    );
}

pub fn incidents(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("STATUS", Width::Fixed(14), 0),
        ("LEVEL", Width::Fixed(5), 0),
        ("CREATED", Width::Fixed(11), 0),
        ("TITLE", Width::Fill(20), 0),
        ("INCIDENT", Width::Fixed(26), 100),
    ];
    table(
        s,
        f,
        area,
        &s.incidents,
        Spec {
            what: "incidents",
            empty_hint: "no incidents: n opens one, or i on an alarm",
            columns,
        },
        |i| {
            vec![
                incident_status(&s.theme, i.status),
                plain(level_name(&i.incident_level)),
                plain(short_time(i.create_time, s.utc_offset)),
                plain(for_display(&i.incident_title)),
                plain(i.incident_num.clone()),
            ]
        },
    );
}

pub fn incident(s: &State, f: &mut Frame, area: Rect) {
    let Some(v) = &s.incident else { return };
    let d = match (&v.detail, &v.load) {
        (Some(d), _) => d,
        (None, Load::Failed(e)) => {
            f.render_widget(
                Paragraph::new(Span::styled(
                    format!("✘ {}", for_display(e)),
                    s.theme.error(),
                )),
                area,
            );
            return;
        }
        _ => {
            f.render_widget(Paragraph::new(format!("loading {}…", v.incident_num)), area);
            return;
        }
    };
    let i = &d.info;
    let (st, st_style) = incident_status(&s.theme, i.status);
    let allowed: Vec<&str> = i
        .status
        .operations()
        .iter()
        .map(|k| match k {
            cocpit_api::model::incident::OperateKey::Accept => "a accept",
            cocpit_api::model::incident::OperateKey::CommitSolution => "r resolve",
            cocpit_api::model::incident::OperateKey::Confirm => "v verify",
            cocpit_api::model::incident::OperateKey::Reject => "x reject",
        })
        .collect();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(st, st_style.add_modifier(Modifier::BOLD)),
            Span::raw("  "),
            Span::styled(for_display(&i.incident_title), s.theme.accent()),
        ]),
        Line::from(Span::styled(
            // Words first; the raw codes stay beside them, dimmed, for whoever needs them.
            format!(
                "{}  {}  {} ({})  {} ({})  service interrupted: {}",
                i.incident_num,
                level_name(&i.incident_level),
                words(&i.incident_type),
                i.incident_type,
                words(&i.incident_source),
                i.incident_source,
                if i.is_service_interrupt { "yes" } else { "no" }
            ),
            s.theme.dim(),
        )),
        Line::from(format!(
            "created {} by {}  ·  owner {}  ·  resolved {}",
            short_time(i.create_time, s.utc_offset),
            for_display(&i.creator),
            for_display(&i.incident_assignee.join(", ")),
            i.handle_time
                .map(|t| short_time(t, s.utc_offset))
                .unwrap_or_else(|| "-".into()),
        )),
        Line::from(for_display(&i.incident_description)),
    ];
    if !d.alarm_ids.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("alarms: {}", d.alarm_ids.join(", ")),
            s.theme.dim(),
        )));
    }
    lines.push(Line::from(Span::styled(
        if allowed.is_empty() {
            "closed: nothing more to do".to_string()
        } else {
            format!("next: {}", allowed.join("  "))
        },
        s.theme.ok(),
    )));
    lines.push(Line::from(Span::styled("── timeline ──", s.theme.dim())));
    for e in &d.timeline {
        let params = if e.parameter.is_empty() {
            String::new()
        } else {
            e.parameter
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{}  ", short_time(e.at, s.utc_offset)),
                s.theme.dim(),
            ),
            Span::raw(format!("{:<18}", words(&e.action))),
            Span::styled(format!("→ {:<13}", e.to_status.name_en()), s.theme.accent()),
            Span::raw(format!("{}  ", for_display(&e.operator))),
            Span::styled(for_display(&params), s.theme.dim()),
        ]));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
