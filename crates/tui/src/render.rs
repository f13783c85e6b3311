//! `render(&State, &mut Frame)`: the frame (header, pane, message line, footer) and overlays.
//! A pure function of state: it reads, never changes, and does no I/O.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::action::Action;
use super::panes;
use super::state::*;
use super::update::completions;

/// Smaller than this, the console shows a message instead of a broken layout.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

pub fn render(s: &State, f: &mut Frame) {
    let area = f.area();
    // Themes on the terminal's own colours need no fill (it would restyle every cell).
    if s.theme.base() != Style::default() {
        f.buffer_mut().set_style(area, s.theme.base());
    }
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "cocpit needs at least {MIN_WIDTH}×{MIN_HEIGHT}; this terminal is {}×{}. Enlarge it, or press q to quit.",
            area.width, area.height
        );
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let [header, tabs, body, message, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(s, f, header);
    render_tabs(s, f, tabs);
    (s.pane.spec().render)(s, f, body);
    render_message(s, f, message);
    render_footer(s, f, footer);
    match &s.overlay {
        Overlay::None | Overlay::Filter { .. } => {}
        Overlay::Help => render_help(s, f, area),
        Overlay::Palette { input, selected } => render_palette(s, f, area, input, *selected),
        Overlay::Confirm(c) => render_confirm(s, f, area, c),
        Overlay::Run(form) => panes::run::render(s, f, area, form),
        Overlay::Form(form) => panes::form::render(s, f, area, form),
    }
}

/// The panes a digit opens, the current one (or the list a detail belongs to) marked.
fn render_tabs(s: &State, f: &mut Frame, area: Rect) {
    let tabs: Vec<(Pane, &str, &str)> = crate::registry::PANES
        .iter()
        .filter_map(|p| p.tab.map(|(name, short)| (p.pane, name, short)))
        .collect();
    let here = super::update::parent(s).unwrap_or(s.pane);
    let full: usize = tabs.iter().map(|(_, n, _)| n.len() + 4).sum();
    let narrow = full > area.width as usize;
    let mut spans = vec![];
    for (i, (pane, name, short)) in tabs.iter().enumerate() {
        let name = if narrow { short } else { name };
        let text = format!(" {} {name} ", i + 1);
        spans.push(if *pane == here {
            Span::styled(text, s.theme.selected())
        } else {
            Span::styled(text, s.theme.dim())
        });
    }
    // The detail shown, when its whole name fits.
    let used: usize = spans.iter().map(|sp| sp.width()).sum();
    let detail = format!(" › {}", s.pane.title());
    if here != s.pane && used + detail.chars().count() <= area.width as usize {
        spans.push(Span::styled(detail, s.theme.accent()));
    }
    one_line(f, area, &Line::from(spans), Style::default());
}

fn render_header(s: &State, f: &mut Frame, area: Rect) {
    let running = s.running_orders();
    let head = vec![Span::styled(" cocpit ", s.theme.accent()), Span::raw("│ ")];
    let link = |short: bool| match s.connection.as_deref() {
        None => Span::raw(""),
        Some("connected") => Span::styled(" ● connected", s.theme.ok()),
        Some(c) if c.starts_with("polling") => Span::styled(
            if short {
                " ◐ polling".to_string()
            } else {
                format!(" ◐ {c}")
            },
            s.theme.ok(),
        ),
        // Narrow: only the state (`offline`), without the retry countdown.
        Some(c) if short => Span::styled(
            format!(" ○ {}", c.split(" · ").next().unwrap_or(c)),
            s.theme.warn(),
        ),
        Some(c) => Span::styled(format!(" ○ {c}"), s.theme.warn()),
    };
    // What must stay visible: running orders, alarm counters, the clock.
    let mut tail = vec![Span::raw(" │ ")];
    // Who we are, and a read-only state: what the keys below may do depends on it. Narrow
    // terminals get the short forms, so the counters and the clock keep their place.
    let narrow = area.width < 120;
    // An admin (the local engine's own user is one) may do everything: their name is shown
    // only where there is room to spare; a role that limits the keys is always shown.
    let me = s
        .identity
        .as_ref()
        .filter(|me| me.role != cocpit_api::model::team::Role::Admin || area.width >= 140);
    if let Some(me) = me {
        let user: String = cocpit_api::sanitize::for_display(&me.user)
            .chars()
            .take(if narrow { 10 } else { 32 })
            .collect();
        let who = match (narrow, me.role) {
            (false, role) => format!("{user} · {role}"),
            (true, cocpit_api::model::team::Role::Viewer) => format!("{user} (ro)"),
            (true, _) => user,
        };
        let style = if s.write_block().is_some() {
            s.theme.warn()
        } else {
            s.theme.dim()
        };
        tail.push(Span::styled(who, style));
        tail.push(Span::raw(" │ "));
    }
    if s.read_only {
        tail.push(Span::styled(
            if narrow { "ro" } else { "read-only" },
            s.theme.warn(),
        ));
        tail.push(Span::raw(" │ "));
    }
    let waiting = s.reviews_waiting();
    if waiting > 0 {
        let text = if narrow {
            format!("⚑{waiting}")
        } else {
            format!("⚑ {waiting} to review")
        };
        tail.push(Span::styled(text, s.theme.warn()));
        tail.push(Span::raw(" │ "));
    }
    let running = if narrow && (me.is_some() || waiting > 0) {
        format!("▶ {running}")
    } else {
        format!("▶ {running} running")
    };
    tail.extend([Span::raw(running), Span::raw(" │ ")]);
    // Firing alarms by level, labelled: `alarms ✖3 crit ▲1 maj ●0 min ·0 info` when the
    // backend's description still fits whole beside them, else symbols only.
    let backend_w = unicode_width::UnicodeWidthStr::width(s.backend.as_str());
    let wide = area.width as usize >= backend_w + 100;
    tail.push(Span::styled("alarms ", s.theme.dim()));
    for (l, n) in super::state::ALARM_LEVELS.iter().zip(s.alarm_counts) {
        let (label, style) = panes::triage::level(&s.theme, *l);
        let sym = label.split(' ').next().unwrap_or("").to_string();
        let style = if n > 0 { style } else { s.theme.dim() };
        let name = match l {
            cocpit_api::model::alarm::AlarmLevel::Critical => "crit",
            cocpit_api::model::alarm::AlarmLevel::Major => "maj",
            cocpit_api::model::alarm::AlarmLevel::Minor => "min",
            cocpit_api::model::alarm::AlarmLevel::Info => "info",
        };
        tail.push(Span::styled(
            if wide {
                format!("{sym}{n} {name} ")
            } else {
                format!("{sym}{n} ")
            },
            style,
        ));
    }
    let clock = format!("{} ", s.clock);
    let width = |v: &[Span]| v.iter().map(|sp| sp.width()).sum::<usize>();
    let base = width(&head) + width(&tail) + clock.chars().count();
    let full = link(false);
    let link = if base + full.width() + 12 <= area.width as usize {
        full
    } else {
        link(true)
    };
    let fixed = base + link.width();
    // The backend's description gives way first.
    let room = (area.width as usize).saturating_sub(fixed);
    let backend = cocpit_api::sanitize::for_display(&s.backend);
    let backend = if unicode_width::UnicodeWidthStr::width(backend.as_str()) <= room {
        backend
    } else {
        let mut cut = String::new();
        for c in backend.chars() {
            if unicode_width::UnicodeWidthStr::width(cut.as_str()) + 2 > room {
                break;
            }
            cut.push(c);
        }
        cut.push('…');
        cut
    };
    let mut spans = head;
    spans.push(Span::raw(backend));
    spans.push(link);
    spans.extend(tail);
    let pad = (area.width as usize).saturating_sub(width(&spans) + clock.chars().count());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::raw(clock));
    one_line(f, area, &Line::from(spans), s.theme.header());
}

/// Writes a single line (no wrapping needed) straight into the buffer.
fn one_line(f: &mut Frame, area: Rect, line: &Line, style: Style) {
    let buf = f.buffer_mut();
    buf.set_style(area, style);
    buf.set_line(area.x, area.y, line, area.width);
}

fn render_message(s: &State, f: &mut Frame, area: Rect) {
    let line = match (&s.overlay, &s.message) {
        (Overlay::Filter { input }, _) => Line::from(vec![
            Span::styled("/", s.theme.accent()),
            Span::raw(input.clone()),
            Span::styled("▏", s.theme.accent()),
            Span::styled("  (enter keeps, esc clears, ! inverts)", s.theme.dim()),
        ]),
        // A message may quote a server or a script: terminal-safe, whatever made it.
        (_, Some((Level::Error, m))) => Line::from(Span::styled(
            format!("✘ {}", cocpit_api::sanitize::for_display(m)),
            s.theme.error(),
        )),
        (_, Some((Level::Info, m))) => Line::from(Span::raw(format!(
            "• {}",
            cocpit_api::sanitize::for_display(m)
        ))),
        _ => Line::default(),
    };
    one_line(f, area, &line, Style::default());
}

/// The actions the footer advertises in each pane.
fn footer_actions(s: &State) -> &'static [Action] {
    (s.pane.spec().footer)(s)
}

fn short(p: Pane, a: Action) -> &'static str {
    match a {
        Action::SwitchFocus if p == Pane::Order => "focus",
        Action::Filter if p == Pane::Order => "search",
        Action::SearchNext => "next",
        Action::CopyLine => "copy",
        Action::SaveLog => "save",
        Action::ToggleTimes => "times",
        Action::RunScript => "run",
        Action::Filter => "filter",
        Action::Orders => "orders",
        Action::Scripts => "scripts",
        Action::Resources => "resources",
        Action::Open => "open",
        Action::ToggleMark => "mark",
        Action::ContinueOrder => "continue",
        Action::PauseOrder => "pause",
        Action::CancelOrder => "cancel",
        Action::RetryFailed => "retry failed",
        Action::NextBatch => "batch",
        Action::ToggleFollow => "follow",
        Action::NewScript => "new",
        Action::EditScript => "edit",
        Action::ExternalEditor => "$EDITOR",
        Action::DeleteScript => "delete",
        Action::Save => "save",
        Action::AddParam => "param",
        Action::SwitchFocus => "field",
        Action::AckAlarm => "ack",
        Action::SilenceAlarm => "silence",
        Action::AlarmToIncident => "incident",
        Action::ToggleGroups => "groups",
        Action::NewIncident | Action::NewInvoker => "new",
        Action::ToggleInvoker => "on/off",
        Action::InstallAgent => "install",
        Action::UpdateAgent => "update",
        Action::RollbackAgent => "rollback",
        Action::RetryAgent => "retry",
        Action::DeleteInvoker => "delete",
        Action::AcceptIncident => "accept",
        Action::ResolveIncident => "resolve",
        Action::VerifyIncident => "verify",
        Action::RejectIncident => "reject",
        Action::ApproveScript => "approve",
        Action::RejectScript => "reject",
        Action::Sort => "sort",
        Action::Refresh => "reload",
        _ => "",
    }
}

fn render_footer(s: &State, f: &mut Frame, area: Rect) {
    let mut spans = vec![];
    // In the editor plain keys type, so it advertises the keys that do not.
    let editing = s.pane == Pane::Editor;
    let key = |a: Action| {
        if editing {
            s.keymap.first_command_key(a)
        } else {
            s.keymap.first_key(a)
        }
    };
    let (always, names): (&[Action], &[&str]) = if editing {
        (&[Action::Back, Action::Quit], &["back", "quit"])
    } else {
        (
            &[Action::Palette, Action::Back, Action::Quit],
            &["cmd", "back", "quit"],
        )
    };
    // Whole hints only, as many as fit, and `? help` always last: it leads to the rest.
    let hint = |a: Action, name: &str| (format!(" {} ", key(a)), name.to_string(), a.writes());
    let width = |h: &(String, String, bool)| {
        unicode_width::UnicodeWidthStr::width(h.0.as_str())
            + unicode_width::UnicodeWidthStr::width(h.1.as_str())
    };
    let help = hint(Action::Help, "help");
    let mut room = (area.width as usize).saturating_sub(width(&help));
    let mut shown = vec![];
    let candidates = footer_actions(s)
        .iter()
        .map(|a| hint(*a, short(s.pane, *a)))
        .chain(always.iter().zip(names).map(|(a, n)| hint(*a, n)));
    for h in candidates {
        if width(&h) <= room {
            room -= width(&h);
            shown.push(h);
        }
    }
    shown.push(help);
    // Keys that write, under a read-only role: shown, crossed out (help says why).
    let blocked = s.write_block().is_some();
    for (k, n, writes) in shown {
        if blocked && writes {
            let off = s
                .theme
                .dim()
                .add_modifier(ratatui::style::Modifier::CROSSED_OUT);
            spans.push(Span::styled(k, off));
            spans.push(Span::styled(n, off));
        } else {
            spans.push(Span::styled(k, s.theme.accent()));
            spans.push(Span::styled(n, s.theme.dim()));
        }
    }
    one_line(f, area, &Line::from(spans), Style::default());
}

/// A centred rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clears a popup's area and one column either side, so a wide character of the pane beneath
/// cannot straddle (and hide) the popup's border.
pub fn clear_popup(f: &mut Frame, rect: Rect) {
    let area = f.area();
    let x = rect.x.saturating_sub(1).max(area.x);
    let right = (rect.x + rect.width + 1).min(area.x + area.width);
    f.render_widget(
        Clear,
        Rect {
            x,
            y: rect.y,
            width: right - x,
            height: rect.height,
        },
    );
}

fn render_help(s: &State, f: &mut Frame, area: Rect) {
    let rows = if s.pane == Pane::Editor {
        s.keymap.editor_help()
    } else {
        s.keymap.help(&s.pane.contexts())
    };
    let keys_w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(4);
    // As many columns as it takes to show every binding on this screen.
    let fit = area.height.saturating_sub(4).max(1) as usize;
    let cols = rows.len().div_ceil(fit).max(1);
    let per_col = rows.len().div_ceil(cols);
    let width = if cols == 1 {
        64
    } else {
        area.width.saturating_sub(2)
    };
    let col_w = (width.saturating_sub(2) as usize / cols).max(1);
    let blocked = s.write_block();
    let why = blocked.clone();
    let blocked = blocked.is_some();
    let mut lines: Vec<Line> = (0..per_col)
        .map(|r| {
            let mut spans = vec![];
            for c in 0..cols {
                if let Some((keys, a)) = rows.get(c * per_col + r) {
                    let off = blocked && a.writes();
                    let text: String = a.describe().chars().collect();
                    let room = col_w.saturating_sub(keys_w + 3);
                    let text: String = text.chars().take(room).collect();
                    let (key_style, text_style) = if off {
                        let off = s
                            .theme
                            .dim()
                            .add_modifier(ratatui::style::Modifier::CROSSED_OUT);
                        (off, off)
                    } else {
                        (s.theme.accent(), Style::default())
                    };
                    spans.push(Span::styled(format!("{keys:>keys_w$}  "), key_style));
                    spans.push(Span::styled(format!("{text:<room$} "), text_style));
                }
            }
            Line::from(spans)
        })
        .collect();
    // Keys that write are crossed out under a read-only role; say why once.
    if let Some(why) = why {
        lines.push(Line::from(Span::styled(
            format!(" crossed out: {why}"),
            s.theme.warn(),
        )));
    }
    let rect = centered(area, width, lines.len() as u16 + 2);
    clear_popup(f, rect);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" keys: {} (any key closes) ", s.pane.title())),
        ),
        rect,
    );
}

fn render_palette(s: &State, f: &mut Frame, area: Rect, input: &str, selected: usize) {
    let matches = completions(input);
    let h = (matches.len() as u16 + 3).min(14);
    let rect = Rect {
        x: area.x + 2,
        y: area.y + 1,
        width: area.width.saturating_sub(4).min(60),
        height: h,
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(":", s.theme.accent()),
        Span::raw(input.to_string()),
        Span::styled("▏", s.theme.accent()),
    ])];
    for (i, (cmd, what)) in matches.iter().enumerate() {
        let style = if i == selected {
            s.theme.selected()
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{cmd:<22}"), style),
            Span::styled(what.to_string(), s.theme.dim()),
        ]));
    }
    clear_popup(f, rect);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" command (tab completes, enter runs) "),
        ),
        rect,
    );
}

/// Every confirmation looks the same: the question, then what the keys do.
fn render_confirm(s: &State, f: &mut Frame, area: Rect, c: &Confirm) {
    let rect = centered(area, 60, 6);
    clear_popup(f, rect);
    let block = Block::default().borders(Borders::ALL).title(" confirm ");
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let [question, keys] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    f.render_widget(
        Paragraph::new(c.question.clone())
            .wrap(Wrap { trim: true })
            .style(s.theme.warn()),
        question,
    );
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("y", s.theme.accent()),
            Span::raw(" yes   "),
            Span::styled("any other key", s.theme.accent()),
            Span::raw(" no"),
        ])),
        keys,
    );
}
