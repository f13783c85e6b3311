//! The terminal: entered and always restored, left for `$EDITOR`, the clipboard by OSC 52,
//! and files the console saves.

use super::*;

/// Restores the terminal however the console ends.
pub(super) struct TerminalGuard;

/// The OSC 52 sequence that puts `text` on the clipboard of the terminal the user sits at, over
/// SSH too (tmux passes it on with `set -g set-clipboard on`).
pub fn osc52(text: &str) -> String {
    use base64::Engine as _;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// Writes `text` to `path`, or to `path` with `-1`, `-2`… before its extension when that file
/// exists: a save never overwrites anything. Readable by the user only.
pub(super) fn save_new(path: &std::path::Path, text: &str) -> std::io::Result<std::path::PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("log");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("log");
    for n in 0..1000 {
        let p = if n == 0 {
            path.to_path_buf()
        } else {
            path.with_file_name(format!("{stem}-{n}.{ext}"))
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
        {
            Ok(mut f) => {
                f.write_all(text.as_bytes())?;
                return Ok(std::path::absolute(&p).unwrap_or(p));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "too many saved logs of that name here",
    ))
}

/// Hands `content` to `$VISUAL`/`$EDITOR` (else `vi`) in a file of the drafts directory and
/// returns the text it left there. The terminal is the editor's meanwhile.
pub(super) fn external_editor(
    drafts: &std::path::Path,
    content: &str,
    extension: &str,
) -> Result<String, String> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".into());
    std::fs::create_dir_all(drafts).map_err(|e| format!("{}: {e}", drafts.display()))?;
    let file = drafts.join(format!("edit-{}.{extension}", std::process::id()));
    std::fs::write(&file, content).map_err(|e| format!("{}: {e}", file.display()))?;
    // Through the shell, as git does, so `EDITOR="code -w"` works.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&file)
        .status();
    let text = std::fs::read_to_string(&file);
    let _ = std::fs::remove_file(&file);
    match status {
        Ok(st) if st.success() => text.map_err(|e| format!("reading the edited file: {e}")),
        Ok(st) => Err(format!("{editor} exited with {st}; content unchanged")),
        Err(e) => Err(format!("cannot start {editor}: {e}")),
    }
}

/// Leaves the console's screen for a program that wants the terminal, then comes back.
pub(super) fn suspended<T>(terminal: &mut ratatui::DefaultTerminal, f: impl FnOnce() -> T) -> T {
    let mut out = std::io::stdout();
    let _ = execute!(out, crossterm::event::DisableMouseCapture);
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = execute!(out, crossterm::terminal::LeaveAlternateScreen);
    let r = f();
    let _ = execute!(out, crossterm::terminal::EnterAlternateScreen);
    let _ = crossterm::terminal::enable_raw_mode();
    let _ = execute!(
        out,
        crossterm::event::EnableMouseCapture,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    );
    // A fresh terminal has blank buffers, so the next frame draws every cell. (`clear()` would
    // ask the terminal where its cursor is, an answer that may never come here.)
    if let Ok(t) =
        ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
    {
        *terminal = t;
    }
    r
}
