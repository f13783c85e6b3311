//! A real terminal for tests: tmux types keys and reads the screen. Waits are on screen
//! content (bounded), never fixed delays.

use std::path::Path;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn new(dir: &Path) -> Tmux {
        Tmux::sized(dir, 120, 40)
    }

    pub fn sized(dir: &Path, width: u16, height: u16) -> Tmux {
        Tmux::start(dir, width, height, true)
    }

    /// A terminal whose commands attach to the data dir's engine process (the default outside
    /// tests), not one inside the console.
    pub fn attached(dir: &Path) -> Tmux {
        Tmux::start(dir, 120, 40, false)
    }

    fn start(dir: &Path, width: u16, height: u16, in_process: bool) -> Tmux {
        let socket = dir.join("tmux.sock").display().to_string();
        let t = Tmux { socket };
        let (w, h) = (width.to_string(), height.to_string());
        let mut args = vec!["new-session", "-d", "-x", &w, "-y", &h, "-s", "main"];
        // The shell's environment: the engine inside each console, as most tests want it.
        if in_process {
            args.extend(["-e", "COCPIT_IN_PROCESS=1"]);
        }
        t.run(&args);
        t
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
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

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "main", k]);
        }
    }

    pub fn line(&self, text: &str) {
        self.run(&["send-keys", "-t", "main", "-l", text]);
        self.run(&["send-keys", "-t", "main", "Enter"]);
    }

    /// The console on a local engine of `fleet` demo hosts, its config and data under `d`.
    pub fn open_local(&self, d: &Path, fleet: u32) {
        std::fs::write(
            d.join("config.toml"),
            format!("[inventory]\ndemo_fleet = {fleet}\n"),
        )
        .unwrap();
        self.line(&format!(
            "{} --config {} --init --data {}; echo cocpit-exited-$?",
            env!("CARGO_BIN_EXE_cocpit"),
            d.join("config.toml").display(),
            d.join("data").display()
        ));
    }

    /// The console against `endpoint`, with the test server's keys.
    pub fn open_remote(&self, d: &Path, endpoint: &str) {
        self.line(&format!(
            "HUAWEICLOUD_SDK_AK={} HUAWEICLOUD_SDK_SK={} {} --init --data {} --endpoint {endpoint}; echo cocpit-exited-$?",
            super::server::AK,
            super::server::SK,
            env!("CARGO_BIN_EXE_cocpit"),
            d.join("local").display(),
        ));
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "main"])
    }

    /// Waits until the screen shows `text`.
    pub fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + super::PATIENCE;
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

    pub fn wait_file(&self, path: &Path) -> String {
        let deadline = Instant::now() + super::PATIENCE;
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
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
    }
}
