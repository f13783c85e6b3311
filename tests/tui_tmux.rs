//! The console in a real terminal: tmux types keys and reads the screen. Waits are on screen
//! content (bounded), never fixed delays.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(dir: &Path) -> Tmux {
        let socket = dir.join("tmux.sock").display().to_string();
        let t = Tmux { socket };
        t.run(&["new-session", "-d", "-x", "120", "-y", "40", "-s", "main"]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .output()
            .expect("tmux (bash .ci/test installs it)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "main", k]);
        }
    }

    fn line(&self, text: &str) {
        self.run(&["send-keys", "-t", "main", "-l", text]);
        self.run(&["send-keys", "-t", "main", "Enter"]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "main"])
    }

    /// Waits until the screen shows `text`.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + common::PATIENCE;
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "screen never showed {text:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_file(&self, path: &Path) -> String {
        let deadline = Instant::now() + common::PATIENCE;
        loop {
            if let Ok(s) = std::fs::read_to_string(path)
                && s.contains("speed")
            {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{} never appeared",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
    }
}

#[test]
fn run_in_two_batches_with_pause_continue_and_quit_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("config.toml"), "[inventory]\ndemo_fleet = 4\n").unwrap();
    std::fs::write(
        d.join("hello.sh"),
        "echo \"hello from $COCPIT_RESOURCE_ID\"\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_cocpit");
    let base = format!(
        "{bin} --config {} --data {}",
        d.join("config.toml").display(),
        d.join("data").display()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{base} script create --name tmux_hello --file {}",
            d.join("hello.sh").display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let t = Tmux::new(d);
    t.line(&format!("stty -a > {}", d.join("before").display()));
    let before = t.wait_file(&d.join("before"));
    t.line(&format!("{base}; echo cocpit-exited-$?"));
    t.wait_for("tmux_hello");
    // r: the run form for the selected script, on all 4 demo hosts; batch size 2, PAUSE.
    t.keys(&["r"]);
    t.wait_for("plan is valid");
    t.keys(&["BSpace", "BSpace", "2", "Tab", "Space", "Enter"]);
    let paused = t.wait_for("paused: rotation: paused after batch 1 of 2");
    assert!(paused.contains("PAUSED"), "{paused}");
    assert!(
        paused.contains("2/4 done"),
        "batch 1 finished, batch 2 waits:\n{paused}"
    );
    t.keys(&["c"]);
    let done = t.wait_for("FINISHED tmux_hello");
    assert!(done.contains("4/4 done"), "{done}");
    // The log of the selected instance of batch 1.
    assert!(done.contains("hello from demo-01"), "{done}");
    t.keys(&["q"]);
    t.wait_for("cocpit-exited-0");
    assert_eq!(
        t.run(&["display", "-p", "-t", "main", "#{alternate_on}"])
            .trim(),
        "0",
        "alternate screen left"
    );
    t.line(&format!("stty -a > {}", d.join("after").display()));
    let after = t.wait_file(&d.join("after"));
    assert_eq!(before, after, "the terminal's modes were restored");
}

#[test]
fn sighup_ends_the_console_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("config.toml"), "[inventory]\ndemo_fleet = 2\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_cocpit");
    let t = Tmux::new(d);
    t.line(&format!(
        "{bin} --config {} --data {}; echo cocpit-exited-$?",
        d.join("config.toml").display(),
        d.join("data").display()
    ));
    t.wait_for("Scripts");
    let pgrep = Command::new("pgrep")
        .args(["-f", &d.join("data").display().to_string()])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pgrep.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    assert!(!pid.is_empty(), "console process not found");
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    t.wait_for("cocpit-exited-");
    assert_eq!(
        t.run(&["display", "-p", "-t", "main", "#{alternate_on}"])
            .trim(),
        "0"
    );
}
