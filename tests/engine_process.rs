//! The local engine as one long-lived process per data dir: the console and every command
//! attach to it, a hang-up never stops a rollout, a crashed engine is replaced by the next
//! command, it stops cleanly when asked and exits when idle. Real binaries, a real terminal.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cocpit");

/// A data dir with its config; the engine it gets is stopped (or killed) when dropped.
struct Place {
    dir: tempfile::TempDir,
}

impl Place {
    fn new(idle_exit: u64) -> Place {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            format!("[inventory]\ndemo_fleet = 3\n[engine]\nidle_exit = {idle_exit}\n"),
        )
        .unwrap();
        Place { dir }
    }

    fn d(&self) -> &Path {
        self.dir.path()
    }

    fn data(&self) -> PathBuf {
        self.d().join("data")
    }

    /// `cocpit ARGS` attached to the engine process (not inside the command).
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.env_remove("COCPIT_IN_PROCESS")
            .arg("--config")
            .arg(self.d().join("config.toml"))
            .args(["--init", "--data"])
            .arg(self.data())
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["-o", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The running engine's pid, from its file.
    fn pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.data().join("engine.json")).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        v["pid"].as_i64().map(|p| p as i32)
    }

    fn script(&self, content: &str) -> String {
        std::fs::write(self.d().join("s.sh"), content).unwrap();
        let s = self.d().join("s.sh");
        let out = self.run(&[
            "script",
            "create",
            "--name",
            "slow",
            "--file",
            s.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until the order has status `want` (bounded); its JSON then.
    fn wait_order(&self, eid: &str, want: &str) -> Value {
        let deadline = Instant::now() + common::PATIENCE;
        loop {
            let o = self.json(&["order", "show", eid]);
            if o["data"]["status"] == want {
                return o;
            }
            assert!(Instant::now() < deadline, "order never {want}: {o}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Opens a console attached to the engine in `t`'s terminal.
    fn open_console(&self, t: &Tmux) {
        t.line(&format!(
            "{BIN} --config {} --data {}; echo cocpit-exited-$?",
            self.d().join("config.toml").display(),
            self.data().display()
        ));
    }

    /// Every instance of the order, with its output.
    fn instances(&self, eid: &str) -> Vec<Value> {
        self.json(&["order", "logs", eid])["data"]
            .as_array()
            .unwrap()
            .clone()
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let _ = self.cmd(&["engine", "stop", "--force"]).output();
        if let Some(pid) = self.pid() {
            let _ = nix_kill(pid, "-KILL");
        }
    }
}

fn nix_kill(pid: i32, sig: &str) -> bool {
    Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

fn alive(pid: i32) -> bool {
    common::alive(pid)
}

/// Waits (bounded) until the process is gone.
fn wait_gone(pid: i32) {
    let deadline = Instant::now() + common::PATIENCE;
    while alive(pid) {
        assert!(Instant::now() < deadline, "pid {pid} still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `script run` following the order; returns the process and the order's id.
fn start_run(p: &Place, uuid: &str, hosts: &str) -> (std::process::Child, String) {
    let mut child = p
        .cmd(&["script", "run", uuid, "--hosts", hosts, "--batch-size", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its progress goes to standard error, the order first.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stderr.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let eid = line
        .split_whitespace()
        .find(|w| w.starts_with("SCT"))
        .unwrap_or_else(|| panic!("no order in {line:?}"))
        .to_string();
    (child, eid)
}

#[test]
fn a_hang_up_of_the_console_and_of_the_cli_never_stops_a_rollout() {
    let p = Place::new(60);
    let uuid = p.script("echo start; sleep 1; echo end\n");
    let engine = p.pid().expect("the first command started the engine");
    // A console attached to it.
    let t = Tmux::attached(p.d());
    p.open_console(&t);
    t.wait_for("slow");
    // The CLI works while the console is open: it runs the script, three hosts one by one.
    let (mut cli, eid) = start_run(&p, &uuid, "demo-01,demo-02,demo-03");
    assert_eq!(p.pid(), Some(engine), "one engine for both");
    // `q` leaves it running, and says so.
    t.keys(&["q"]);
    let said = t.wait_for("cocpit-exited-0");
    assert!(
        said.contains("still running in the background: 1 order"),
        "{said}"
    );
    p.open_console(&t);
    t.wait_for("slow");
    // Both hang up mid-order.
    assert!(nix_kill(cli.id() as i32, "-HUP"));
    cli.wait().unwrap();
    drop(t);
    let done = p.wait_order(&eid, "FINISHED");
    let insts = p.instances(&eid);
    assert_eq!(insts.len(), 3, "{done}");
    for i in &insts {
        assert_eq!(i["status"], "FINISHED", "{i}");
        assert!(i["message"].as_str().unwrap().contains("end"), "{i}");
    }
    assert_eq!(p.pid(), Some(engine), "the same engine all along");
    // A new console shows it at once, without a reload key.
    let t = Tmux::attached(p.d());
    p.open_console(&t);
    t.wait_for("slow");
    t.keys(&["2"]);
    let screen = t.wait_for("✔ finished");
    assert!(
        screen.contains("3 of 3") || screen.contains("3/3"),
        "{screen}"
    );
    t.keys(&["q"]);
    t.wait_for("cocpit-exited-0");
}

#[test]
fn a_killed_engine_is_replaced_by_the_next_command_and_its_orders_pause() {
    let p = Place::new(60);
    // A sleep no other test runs, to find what the instance left.
    let uuid = p.script("echo start; sleep 31.4159; echo end\n");
    let (mut cli, eid) = start_run(&p, &uuid, "demo-01");
    let old = p.pid().unwrap();
    // The instance runs; then the engine dies without a word.
    let deadline = Instant::now() + common::PATIENCE;
    while p.instances(&eid)[0]["status"] != "PROCESSING" {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(nix_kill(old, "-KILL"));
    wait_gone(old);
    let _ = cli.wait();
    // Its file is stale now; the next command replaces it with a new engine.
    let o = p.json(&["order", "show", &eid]);
    let new = p.pid().unwrap();
    assert_ne!(new, old);
    assert_eq!(o["data"]["status"], "PAUSED", "{o}");
    let i = &p.instances(&eid)[0];
    assert_eq!(i["status"], "ABNORMAL", "{i}");
    assert!(i["message"].as_str().unwrap().contains("restarted"), "{i}");
    // Nothing the instance started is left running.
    let left = || {
        let out = Command::new("pgrep")
            .args(["-f", "sleep 31.4159"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
            .filter(|p| alive(*p))
            .count()
    };
    let deadline = Instant::now() + common::PATIENCE;
    while left() > 0 {
        assert!(
            Instant::now() < deadline,
            "the instance's sleep is still running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn stop_asks_for_force_while_work_runs_then_pauses_cleanly() {
    let p = Place::new(60);
    let uuid = p.script("echo start; sleep 3; echo end\n");
    let (mut cli, eid) = start_run(&p, &uuid, "demo-01,demo-02");
    let pid = p.pid().unwrap();
    let out = p.run(&["engine", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("pid {pid}")) && text.contains("1 order"),
        "{text}"
    );
    let refused = p.run(&["engine", "stop"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert!(alive(pid));
    let out = p.run(&["engine", "stop", "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("paused {eid}")));
    wait_gone(pid);
    let _ = cli.wait();
    // Paused with the reason, the running instance finished: nothing ABNORMAL.
    let o = p.json(&["order", "show", &eid]);
    assert_eq!(o["data"]["status"], "PAUSED");
    let reason = o["data"]["properties"]["pause_reason"].as_str().unwrap();
    assert!(reason.starts_with("engine stopped by "), "{reason}");
    let insts = p.instances(&eid);
    assert_eq!(insts[0]["status"], "FINISHED", "{insts:?}");
    assert!(insts.iter().all(|i| i["status"] != "ABNORMAL"), "{insts:?}");
}

#[test]
fn an_idle_engine_exits_and_an_enabled_invoker_keeps_it_up() {
    let p = Place::new(1);
    let out = p.run(&["script", "list"]);
    assert!(out.status.success());
    let pid = p.pid().unwrap();
    wait_gone(pid);
    assert!(p.pid().is_none(), "its file goes with it");

    let cmd = p.json(&[
        "invoker",
        "command-create",
        "--name",
        "tick",
        "--content",
        "echo tick",
    ])["CommandId"]
        .as_str()
        .unwrap()
        .to_string();
    let inv = p.json(&[
        "invoker",
        "create",
        "--name",
        "every-minute",
        "--command-id",
        &cmd,
        "--instance",
        "demo-01",
        "--cron",
        "* * * * *",
    ])["InvokerId"]
        .as_str()
        .unwrap()
        .to_string();
    let pid = p.pid().unwrap();
    let status = String::from_utf8_lossy(&p.run(&["engine", "status"]).stdout).into_owned();
    assert!(status.contains("1 enabled invoker"), "{status}");
    // With no console open, the engine stays up past its idle time and the invoker fires on
    // its own, minute after minute: two fires that ran (up to two real minutes).
    let deadline = std::time::Instant::now() + Duration::from_secs(150);
    loop {
        let records = p.json(&["invoker", "records", &inv]).to_string();
        if records.matches("\"SUCCESS\"").count() >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the invoker did not fire twice: {records}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    assert_eq!(p.pid(), Some(pid), "the same engine fired both times");
    let out = p.run(&["invoker", "disable", &inv]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_gone(pid);
}

/// A console or command never talks to an engine of another version: it says which, and how
/// to stop it. (The engine here is a stand-in that answers as an older cocpit would.)
#[test]
fn an_engine_of_another_version_is_named_and_never_used() {
    use std::io::{Read, Write};
    let p = Place::new(60);
    std::fs::create_dir_all(p.data()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let body = serde_json::json!({"data": {"version": "0.0.1", "pid": std::process::id(),
        "started_ms": 0, "data_dir": "x", "clients": 0, "work": {"orders": 2}}})
    .to_string();
    let seen = std::thread::spawn(move || {
        let mut paths = vec![];
        // Every connection gets the old engine's status; the first request line is kept.
        listener.set_nonblocking(false).unwrap();
        for stream in listener.incoming().take(1) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            paths.push(head.lines().next().unwrap_or("").to_string());
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(answer.as_bytes());
        }
        paths
    });
    let state = serde_json::json!({"pid": std::process::id(), "url": url, "version": "0.0.1",
        "ak": "a", "sk": "s", "tc_id": "t", "tc_key": "k"});
    std::fs::write(p.data().join("engine.json"), state.to_string()).unwrap();
    let out = p.run(&["script", "list"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is cocpit 0.0.1, this is cocpit"), "{err}");
    assert!(
        err.contains("cocpit engine stop") && err.contains("2 orders"),
        "{err}"
    );
    let paths = seen.join().unwrap();
    assert_eq!(paths, vec!["GET /v1/cocpit/engine HTTP/1.1".to_string()]);
    // The stand-in is not an engine to stop: forget it before the place is dropped.
    std::fs::remove_file(p.data().join("engine.json")).unwrap();
}

/// Two consoles on one data dir follow the same live order, each from the events.
#[test]
fn two_consoles_see_the_same_live_order() {
    let p = Place::new(60);
    let uuid = p.script("echo start; sleep 1; echo end\n");
    let (a_dir, b_dir) = (p.d().join("a"), p.d().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let consoles = [Tmux::attached(&a_dir), Tmux::attached(&b_dir)];
    for t in &consoles {
        p.open_console(t);
        t.wait_for("slow");
        t.keys(&["2"]);
        t.wait_for("orders 0/0");
    }
    let (mut cli, eid) = start_run(&p, &uuid, "demo-01,demo-02");
    for t in &consoles {
        let running = t.wait_for("▶ running");
        assert!(running.contains("slow"), "{running}");
    }
    for t in &consoles {
        let done = t.wait_for("✔ finished");
        assert!(done.contains("2/2 done"), "{done}");
    }
    // (The command's progress pipe was closed after its first line: only the order counts.)
    let _ = cli.wait();
    assert_eq!(p.wait_order(&eid, "FINISHED")["data"]["status"], "FINISHED");
    for t in &consoles {
        t.keys(&["q"]);
        t.wait_for("cocpit-exited-0");
    }
}

/// At a terminal, an idle engine of another version is offered for replacement: yes stops it
/// (without force) and starts this version's, and the command goes on. (The old engine is a
/// stand-in that answers as an older cocpit would, and whose process exits when told to stop.)
#[test]
fn an_idle_engine_of_another_version_is_replaced_when_the_user_says_yes() {
    use std::io::{Read, Write};
    let p = Place::new(60);
    std::fs::create_dir_all(p.data()).unwrap();
    let mut old = Command::new("sleep").arg("300").spawn().unwrap();
    let old_pid = old.id();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let status = serde_json::json!({"data": {"version": "0.0.1", "pid": old_pid,
        "started_ms": 0, "data_dir": "x", "clients": 0, "work": {}}})
    .to_string();
    let stopped = serde_json::json!({"data": {"paused": []}}).to_string();
    let seen = std::thread::spawn(move || {
        let mut lines = vec![];
        for stream in listener.incoming() {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let first = head.lines().next().unwrap_or("").to_string();
            let stop = first.starts_with("POST /v1/cocpit/engine/stop");
            let body = if stop { &stopped } else { &status };
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(answer.as_bytes());
            lines.push(first);
            if stop {
                break;
            }
        }
        // The old engine exits, as a real one does once stopped.
        let _ = old.kill();
        let _ = old.wait();
        lines
    });
    let state = serde_json::json!({"pid": old_pid, "url": url, "version": "0.0.1",
        "ak": "a", "sk": "s", "tc_id": "t", "tc_key": "k"});
    std::fs::write(p.data().join("engine.json"), state.to_string()).unwrap();

    let t = Tmux::attached(p.d());
    t.line(&format!(
        "{BIN} --config {} --data {} script list; echo cli-exited-$?",
        p.d().join("config.toml").display(),
        p.data().display()
    ));
    t.wait_for("[y/N]");
    t.line("y");
    let screen = t.wait_for("cli-exited-0");
    assert!(screen.contains("the old engine stopped"), "{screen}");
    let lines = seen.join().unwrap();
    assert_eq!(
        lines.last().unwrap(),
        "POST /v1/cocpit/engine/stop HTTP/1.1",
        "{lines:?}"
    );
    // This version's engine now serves the data dir.
    let new = p.pid().expect("a new engine runs");
    assert_ne!(new, old_pid as i32);
    assert!(
        String::from_utf8_lossy(&p.run(&["engine", "status"]).stdout)
            .contains(&format!("cocpit {}", env!("CARGO_PKG_VERSION")))
    );
}
