//! Keys to actions: defaults in code, overridden key by key from the config's `[keys]` table
//! (`"ctrl-r" = "refresh"`, `"q" = "none"` to unbind). Help is generated from the same table.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Context};

/// A key as written in the config: `q`, `G`, `ctrl-c`, `shift-tab`, `enter`, `pgdn`, `f1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// `KeyCode` with an order, for a stable help listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    F(u8),
}

impl Key {
    pub fn from_event(e: &KeyEvent) -> Option<Key> {
        let code = match e.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::F(n) => KeyCodeOrd::F(n),
            _ => return None,
        };
        Some(Key {
            code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        })
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "enter" => KeyCodeOrd::Enter,
            "esc" => KeyCodeOrd::Esc,
            "tab" => KeyCodeOrd::Tab,
            "shift-tab" | "backtab" => KeyCodeOrd::BackTab,
            "backspace" => KeyCodeOrd::Backspace,
            "space" => KeyCodeOrd::Char(' '),
            "up" => KeyCodeOrd::Up,
            "down" => KeyCodeOrd::Down,
            "left" => KeyCodeOrd::Left,
            "right" => KeyCodeOrd::Right,
            "home" => KeyCodeOrd::Home,
            "end" => KeyCodeOrd::End,
            "pgup" | "pageup" => KeyCodeOrd::PageUp,
            "pgdn" | "pagedown" => KeyCodeOrd::PageDown,
            f if f.starts_with('f') && f.len() > 1 && f[1..].parse::<u8>().is_ok() => {
                KeyCodeOrd::F(f[1..].parse().unwrap_or(1))
            }
            c if c.chars().count() == 1 => KeyCodeOrd::Char(c.chars().next().unwrap_or(' ')),
            other => return Err(format!("unknown key {other:?}")),
        };
        Ok(Key { code, ctrl, alt })
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCodeOrd::Char(' ') => "space".to_string(),
            KeyCodeOrd::Char(c) => c.to_string(),
            KeyCodeOrd::Enter => "enter".into(),
            KeyCodeOrd::Esc => "esc".into(),
            KeyCodeOrd::Tab => "tab".into(),
            KeyCodeOrd::BackTab => "shift-tab".into(),
            KeyCodeOrd::Backspace => "backspace".into(),
            KeyCodeOrd::Up => "↑".into(),
            KeyCodeOrd::Down => "↓".into(),
            KeyCodeOrd::Left => "←".into(),
            KeyCodeOrd::Right => "→".into(),
            KeyCodeOrd::Home => "home".into(),
            KeyCodeOrd::End => "end".into(),
            KeyCodeOrd::PageUp => "pgup".into(),
            KeyCodeOrd::PageDown => "pgdn".into(),
            KeyCodeOrd::F(n) => format!("f{n}"),
        };
        match (self.ctrl, self.alt) {
            (true, _) => format!("ctrl-{base}"),
            (_, true) => format!("alt-{base}"),
            _ => base,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Keymap {
    /// A key may mean different things in different panes (`a`: acknowledge an alarm, accept an
    /// incident); the pane's contexts pick.
    map: BTreeMap<Key, Vec<Action>>,
}

impl Default for Keymap {
    fn default() -> Self {
        let mut map: BTreeMap<Key, Vec<Action>> = BTreeMap::new();
        for (k, a) in Action::DEFAULT_KEYS {
            map.entry(Key::parse(k).expect("default keys parse"))
                .or_default()
                .push(*a);
        }
        Keymap { map }
    }
}

impl Keymap {
    /// The defaults with the user's `[keys]` applied; errors name the offending entry.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Keymap, String> {
        let mut km = Keymap::default();
        for (k, a) in overrides {
            let key = Key::parse(k).map_err(|e| format!("keys.{k:?}: {e}"))?;
            let action = Action::from_name(a).ok_or_else(|| {
                format!(
                    "keys.{k:?}: unknown action {a:?} (one of: {})",
                    Action::ALL
                        .iter()
                        .map(|a| a.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if action == Action::None {
                km.map.remove(&key);
            } else {
                km.map.insert(key, vec![action]);
            }
        }
        Ok(km)
    }

    /// What a key does where `contexts` apply (the pane's, global included).
    pub fn action(&self, e: &KeyEvent, contexts: &[Context]) -> Option<Action> {
        let key = Key::from_event(e)?;
        self.map
            .get(&key)?
            .iter()
            .copied()
            .find(|a| contexts.contains(&a.context()))
    }

    /// The keys bound to `action`, for help and the footer.
    pub fn keys_for(&self, action: Action) -> Vec<String> {
        let mut keys: Vec<&Key> = self
            .map
            .iter()
            .filter(|(_, a)| a.contains(&action))
            .map(|(k, _)| k)
            .collect();
        // Plain keys first: the footer shows `q`, not `ctrl-c`.
        keys.sort_by_key(|k| (k.ctrl || k.alt, **k));
        keys.into_iter().map(Key::label).collect()
    }

    /// The first key of `action`, for the footer (`?` when unbound).
    pub fn first_key(&self, action: Action) -> String {
        self.keys_for(action)
            .into_iter()
            .next()
            .unwrap_or_else(|| "—".into())
    }

    /// The first key of `action` that does not type a character (for the editor's footer).
    pub fn first_command_key(&self, action: Action) -> String {
        self.map
            .iter()
            .filter(|(k, a)| {
                a.contains(&action) && (k.ctrl || k.alt || !matches!(k.code, KeyCodeOrd::Char(_)))
            })
            .map(|(k, _)| k.label())
            .next()
            .unwrap_or_else(|| "—".into())
    }

    /// The editor's bindings: only keys that do not type text.
    pub fn editor_help(&self) -> Vec<(String, Action)> {
        Action::EDITOR
            .iter()
            .filter_map(|a| {
                let keys: Vec<String> = self
                    .map
                    .iter()
                    .filter(|(k, acts)| {
                        acts.contains(a)
                            && (k.ctrl || k.alt || !matches!(k.code, KeyCodeOrd::Char(_)))
                    })
                    .map(|(k, _)| k.label())
                    .collect();
                (!keys.is_empty()).then(|| (keys.join(" "), *a))
            })
            .collect()
    }

    /// Every binding of the given contexts, grouped as help shows them.
    pub fn help(&self, contexts: &[Context]) -> Vec<(String, Action)> {
        Action::ALL
            .iter()
            .filter(|a| contexts.contains(&a.context()))
            .flat_map(|a| {
                let keys = self.keys_for(*a);
                (!keys.is_empty()).then(|| (keys.join(" "), *a))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    impl Keymap {
        fn action_any(&self, e: &KeyEvent) -> Option<Action> {
            self.action(e, &ALL_CONTEXTS)
        }
    }

    const ALL_CONTEXTS: [Context; 9] = [
        Context::Global,
        Context::List,
        Context::Scripts,
        Context::Resources,
        Context::Orders,
        Context::OrderView,
        Context::Editor,
        Context::Alarms,
        Context::Incidents,
    ];

    #[test]
    fn one_key_two_panes() {
        let km = Keymap::default();
        let a = ev(KeyCode::Char('a'), KeyModifiers::NONE);
        assert_eq!(
            km.action(&a, &[Context::Global, Context::Alarms]),
            Some(Action::AckAlarm)
        );
        assert_eq!(
            km.action(&a, &[Context::Global, Context::Incidents]),
            Some(Action::AcceptIncident)
        );
        assert_eq!(km.action(&a, &[Context::Global, Context::Scripts]), None);
    }

    #[test]
    fn defaults_and_overrides() {
        let mut o = BTreeMap::new();
        o.insert("Q".to_string(), "quit".to_string());
        o.insert("q".to_string(), "none".to_string());
        o.insert("ctrl-x".to_string(), "cancel_order".to_string());
        let km = Keymap::with_overrides(&o).unwrap();
        assert_eq!(
            km.action_any(&ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            km.action_any(&ev(KeyCode::Char('Q'), KeyModifiers::SHIFT)),
            Some(Action::Quit)
        );
        assert_eq!(
            km.action_any(&ev(KeyCode::Char('x'), KeyModifiers::CONTROL)),
            Some(Action::CancelOrder)
        );
        assert_eq!(
            km.action_any(&ev(KeyCode::Esc, KeyModifiers::NONE)),
            Some(Action::Back)
        );
    }

    #[test]
    fn bad_overrides_name_the_entry() {
        let mut o = BTreeMap::new();
        o.insert("q".to_string(), "explode".to_string());
        let e = Keymap::with_overrides(&o).unwrap_err();
        assert!(
            e.contains("keys.\"q\"") && e.contains("explode") && e.contains("quit"),
            "{e}"
        );
    }

    #[test]
    fn every_action_has_a_default_key() {
        let km = Keymap::default();
        for a in Action::ALL {
            assert!(!km.keys_for(*a).is_empty(), "{a:?} has no key");
        }
    }
}
