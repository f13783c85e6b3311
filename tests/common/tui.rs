//! The console in tests: a fresh state on the default theme and keymap, drawn on a TestBackend.

use cocpit::tui::keymap::Keymap;
use cocpit::tui::render::render;
use cocpit::tui::state::State;
use cocpit::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// A state as the console starts it, with a fixed clock so snapshots are stable.
pub fn state() -> State {
    let mut s = State::new(
        "local engine /data/cocpit".into(),
        Theme::default(),
        Keymap::default(),
    );
    s.clock = "12:00".into();
    s
}

/// One frame of `s` at `w`×`h`.
pub fn draw(s: &State, w: u16, h: u16) -> TestBackend {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(s, f)).unwrap();
    t.backend().clone()
}

/// Snapshots `s` at 80×24 and 160×48, named after the calling test file (a macro, so insta sees
/// the caller's module).
#[macro_export]
macro_rules! snap {
    ($name:expr, $s:expr) => {{
        let s = $s;
        insta::assert_snapshot!(
            format!("{}_80x24", $name),
            $crate::common::tui::draw(s, 80, 24)
        );
        insta::assert_snapshot!(
            format!("{}_160x48", $name),
            $crate::common::tui::draw(s, 160, 48)
        );
    }};
}

/// One key, as the terminal sends it.
pub fn press(s: &mut State, c: ratatui::crossterm::event::KeyCode) -> cocpit::tui::update::Outcome {
    cocpit::tui::update::update(
        s,
        cocpit::tui::update::Msg::Key(ratatui::crossterm::event::KeyEvent::from(c)),
    )
}

/// Text typed key by key.
pub fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        press(s, ratatui::crossterm::event::KeyCode::Char(c));
    }
}
