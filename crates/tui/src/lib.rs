//! The console. Input → [`Action`](action::Action) → [`update`](update::update) →
//! [`render`](render::render); backend calls run as tasks that report back on a channel, engine
//! events arrive on another. The loop drains everything pending, applies it, and draws once if
//! something visible changed (at most ~60 frames a second), inside a synchronized update. Nothing
//! ticks: an idle console draws nothing (the header clock wakes it once a minute).

pub mod action;
pub mod editor;
mod effects;
pub mod keymap;
mod panes;
pub mod registry;
pub mod render;
pub mod settings;
pub mod state;
mod terminal;
pub mod theme;
pub mod update;
mod widgets;

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::execute;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;

use cocpit_api::backend::prelude::*;
use cocpit_api::model::script::ListScriptsQuery;
use cocpit_api::model::tat;
use state::State;
use update::{Effect, Msg, ScriptSave};

use effects::*;
pub use effects::{run_effect, startup_effects};
pub use terminal::osc52;
use terminal::*;

/// Whether the terminal says it shows 24-bit colour.
pub fn truecolor() -> bool {
    std::env::var("COLORTERM").is_ok_and(|v| v == "truecolor" || v == "24bit")
}

/// The theme the config names: a shipped one, or a TOML file.
pub fn load_theme(name: &str) -> Result<theme::Theme, String> {
    if let Some(t) = theme::Theme::shipped(name) {
        return Ok(t);
    }
    let text = std::fs::read_to_string(name)
        .map_err(|e| format!("ui.theme {name:?}: not a shipped theme (dark, light, high-contrast) and not a readable file: {e}"))?;
    theme::Theme::parse(name, &text)
}

/// Builds the starting state from the config and the terminal's abilities.
pub fn initial_state(
    backend: String,
    ui: &settings::Ui,
    keys: &std::collections::BTreeMap<String, String>,
) -> Result<State, String> {
    let keymap = keymap::Keymap::with_overrides(keys)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme =
        load_theme(ui.theme.as_deref().unwrap_or("dark"))?.for_terminal(no_color, truecolor());
    let mut s = State::new(backend, theme, keymap);
    s.read_only = ui.read_only;
    s.utc_offset = cocpit_api::format::local_offset();
    s.clock = chrono::Local::now().format("%H:%M").to_string();
    Ok(s)
}

impl TerminalGuard {
    fn enter() -> std::io::Result<(TerminalGuard, ratatui::DefaultTerminal)> {
        let terminal = ratatui::try_init()?;
        execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)?;
        Ok((TerminalGuard, terminal))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
        ratatui::restore();
    }
}

async fn next_engine_event(
    rx: &mut Option<broadcast::Receiver<cocpit_api::event::Change>>,
) -> Option<Msg> {
    match rx {
        Some(r) => match r.recv().await {
            Ok(e) => Some(Msg::Engine(e)),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Msg::Resync),
            Err(broadcast::error::RecvError::Closed) => {
                *rx = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

/// The next state of a remote backend's connection (never, for the local engine).
async fn next_connection(
    link: &mut Option<tokio::sync::watch::Receiver<String>>,
) -> Option<String> {
    match link {
        Some(rx) => match rx.changed().await {
            Ok(()) => Some(rx.borrow_and_update().clone()),
            Err(_) => {
                *link = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

const FRAME: Duration = Duration::from_millis(16);

/// The header clock's text at `now`, and how long until it changes (the next minute).
pub fn clock_at<Tz: chrono::TimeZone>(now: chrono::DateTime<Tz>) -> (String, Duration)
where
    Tz::Offset: std::fmt::Display,
{
    let into_minute = now.timestamp_millis().rem_euclid(60_000) as u64;
    (
        now.format("%H:%M").to_string(),
        Duration::from_millis(60_000 - into_minute),
    )
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Opens the console on `backend` and runs it until the user quits or the terminal goes away.
pub async fn run(
    backend: Arc<dyn Backend>,
    ui: &settings::Ui,
    keys: &std::collections::BTreeMap<String, String>,
    drafts: &std::path::Path,
) -> Result<(), String> {
    let mut s = initial_state(backend.describe(), ui, keys)?;
    editor::highlight::warm_up();
    let (guard, mut terminal) =
        TerminalGuard::enter().map_err(|e| format!("cannot open the terminal: {e}"))?;
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Done>();
    let mut jobs = Jobs::default();
    let mut engine = backend.subscribe();
    let mut link = backend.connection();
    let mut input = EventStream::new();
    for e in startup_effects() {
        jobs.spawn(&backend, &tx, e);
    }
    let (found, problems) = editor::draft::load_all(drafts);
    if !found.is_empty() || !problems.is_empty() {
        update::update(&mut s, Msg::Drafts(found, problems));
    }
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut last_poll = Instant::now();
    let frames_file = std::env::var_os("COCPIT_TEST_FRAMES");
    let mut frames: u64 = 0;
    loop {
        if dirty && last_draw.elapsed() >= FRAME {
            let mut out = std::io::stdout();
            let _ = execute!(out, crossterm::terminal::BeginSynchronizedUpdate);
            terminal
                .draw(|f| {
                    render::render(&s, f);
                })
                .map_err(|e| format!("draw: {e}"))?;
            let _ = execute!(out, crossterm::terminal::EndSynchronizedUpdate);
            let _ = out.flush();
            if let Ok(size) = terminal.size() {
                s.page = size.height.saturating_sub(9) as usize;
                s.screen = (size.width, size.height);
            }
            last_draw = Instant::now();
            dirty = false;
            frames += 1;
            if let Some(p) = &frames_file {
                let _ = std::fs::write(p, frames.to_string());
            }
        }
        let until_frame = FRAME.saturating_sub(last_draw.elapsed());
        let (_, next_minute) = clock_at(chrono::Local::now());
        let poll = update::poll_interval(&s);
        let until_poll = poll.map(|p| p.saturating_sub(last_poll.elapsed()));
        let msg = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
                Some(Ok(Event::Mouse(m))) => Some(Msg::Mouse(m)),
                Some(Ok(Event::Resize(w, h))) => {
                    s.screen = (w, h);
                    Some(Msg::Resize)
                }
                Some(Ok(_)) => None,
                Some(Err(_)) | None => break,
            },
            Some((key, e, msg)) = rx.recv() => {
                if let Some(again) = jobs.finished(&key, e) {
                    jobs.spawn(&backend, &tx, again);
                }
                Some(msg)
            }
            Some(msg) = next_engine_event(&mut engine) => Some(msg),
            Some(c) = next_connection(&mut link) => Some(Msg::Connection(c)),
            // A wake-up only: the clock is read below, whatever woke the loop.
            _ = tokio::time::sleep(next_minute) => None,
            _ = tokio::time::sleep(until_frame), if dirty => None,
            _ = tokio::time::sleep(until_poll.unwrap_or_default()), if until_poll.is_some() => {
                last_poll = Instant::now();
                Some(Msg::Poll)
            }
            _ = hup.recv() => break,
            _ = term.recv() => break,
        };
        // Whatever woke the loop, the clock it draws is the wall clock's minute (a timer
        // alone can oversleep a suspended machine or a jump of the clock).
        let (minute, _) = clock_at(chrono::Local::now());
        if minute != s.clock {
            dirty |= update::update(&mut s, Msg::Clock(minute)).redraw;
        }
        let mut next = msg;
        while let Some(msg) = next.take() {
            s.now_ms = now_ms();
            let out = update::update(&mut s, msg);
            dirty |= out.redraw;
            for e in out.effects {
                match e {
                    Effect::SaveDraft(d) => {
                        if let Err(e) = editor::draft::save(drafts, &d) {
                            s.message =
                                Some((state::Level::Error, format!("draft not saved: {e}")));
                        }
                    }
                    Effect::RemoveDraft(key) => {
                        let _ = editor::draft::remove(drafts, &key);
                    }
                    Effect::Copy(text) => {
                        let mut out = std::io::stdout();
                        let _ = out.write_all(osc52(&text).as_bytes());
                        let _ = out.flush();
                    }
                    Effect::SaveLog { file, text } => {
                        s.message = Some(match save_new(std::path::Path::new(&file), &text) {
                            Ok(p) => (state::Level::Info, format!("log saved to {}", p.display())),
                            Err(e) => (state::Level::Error, format!("log not saved: {e}")),
                        });
                        dirty = true;
                    }
                    Effect::ExternalEdit { content, extension } => {
                        // The editor owns the terminal: stop reading keys until it is done.
                        drop(input);
                        let r = suspended(&mut terminal, || {
                            external_editor(drafts, &content, extension)
                        });
                        input = EventStream::new();
                        next = Some(Msg::ExternalEdited(r));
                        dirty = true;
                    }
                    e => jobs.spawn(&backend, &tx, e),
                }
            }
        }
        if s.quit {
            break;
        }
    }
    drop(terminal);
    drop(guard);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_wakes_at_the_next_minute_boundary() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
        let (text, wait) = clock_at(at("2026-11-27T11:16:59.900+00:00"));
        assert_eq!(text, "11:16");
        assert_eq!(wait, Duration::from_millis(100));
        let (text, wait) = clock_at(at("2026-11-27T11:17:00.000+00:00"));
        assert_eq!(text, "11:17");
        assert_eq!(wait, Duration::from_secs(60));
    }
}
