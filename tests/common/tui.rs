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
