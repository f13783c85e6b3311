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
    for l in (s.pane.spec().lists)(s) {
        l.apply_filter(&input);
    }
    Outcome::redraw()
}

/// Palette commands besides those that open a pane (the pane registry declares those):
/// `(name, what it does)`.
const OTHER_COMMANDS: &[(&str, &str)] = &[
    ("theme dark", "dark theme"),
    ("theme light", "light theme"),
    ("theme high-contrast", "high-contrast theme"),
    ("new", "new script in the editor"),
    ("discard", "drop the editor's unsaved draft"),
    ("help", "every key"),
    ("refresh", "reload"),
    ("q", "quit"),
];

/// Every palette command: the panes' first, then the others.
pub fn commands() -> impl Iterator<Item = (&'static str, &'static str)> {
    crate::registry::PANES
        .iter()
        .filter_map(|p| p.opened_by.map(|(_, c, what)| (c, what)))
        .chain(OTHER_COMMANDS.iter().copied())
}

/// Commands matching what was typed (prefix first, then substring).
pub fn completions(input: &str) -> Vec<(&'static str, &'static str)> {
    let t = input.trim();
    let mut v: Vec<_> = commands().filter(|(c, _)| c.starts_with(t)).collect();
    v.extend(commands().filter(|(c, _)| !c.starts_with(t) && c.contains(t)));
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
            let chosen = if commands().any(|(c, _)| c == typed) || typed.starts_with("theme ") {
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
    let first = words.next().unwrap_or("");
    if let Some(spec) = crate::registry::PANES
        .iter()
        .find(|p| p.opened_by.is_some_and(|(_, c, _)| c == first))
    {
        return go(s, spec.pane);
    }
    match (first, words.next()) {
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
