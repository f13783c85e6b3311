//! The `/` filter and the `:` command palette.

use super::*;

pub(super) fn filter_key(s: &mut State, k: KeyEvent, mut input: String) -> Outcome {
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
        Pane::Reviews => s.reviews.set_filter(&input),
        Pane::Audit => s.audit.set_filter(&input),
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
    ("reviews", "scripts waiting for your review"),
    (
        "audit",
        "the audit trail: every write, who, when, the outcome",
    ),
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

pub(super) fn palette_key(s: &mut State, k: KeyEvent) -> Outcome {
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
        ("reviews", _) => go(s, Pane::Reviews),
        ("audit", _) => go(s, Pane::Audit),
        ("help", _) => act(s, Action::Help),
        ("new", _) => editor::new_script(s),
        ("discard", _) => editor::discard(s),
        ("refresh", _) => act(s, Action::Refresh),
        ("q" | "quit", _) => act(s, Action::Quit),
        ("theme", Some(name)) => {
            match Theme::shipped(name) {
                Some(t) => {
                    let no_color = s.theme.no_color;
                    s.theme = t.for_terminal(no_color, crate::truecolor());
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
