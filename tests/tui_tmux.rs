//! The console in a real terminal: tmux types keys and reads the screen. Waits are on screen
//! content (bounded), never fixed delays.

mod common;

use common::tmux::Tmux;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn create_a_script_in_the_editor_run_it_in_two_batches_with_pause_and_quit_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("config.toml"), "[inventory]\ndemo_fleet = 4\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_cocpit");
    let base = format!(
        "{bin} --config {} --init --data {}",
        d.join("config.toml").display(),
        d.join("data").display()
    );
    let t = Tmux::new(d);
    t.line(&format!("stty -a > {}", d.join("before").display()));
    let before = t.wait_file(&d.join("before"));
    t.line(&format!("{base}; echo cocpit-exited-$?"));
    t.wait_for("no scripts yet");
    // n: a new script. Name, then tab along the layout (type, risk, version) to the
    // description below them, past the reviewers (none: it runs without review), on to the
    // content, then the script itself.
    t.keys(&["n"]);
    t.wait_for("name: must not be empty");
    t.run(&["send-keys", "-t", "main", "-l", "tmux_hello"]);
    t.keys(&["Tab", "Tab", "Tab", "Tab"]);
    t.run(&["send-keys", "-t", "main", "-l", "says hello"]);
    t.keys(&["Tab", "Tab"]);
    t.wait_for("esc: form");
    t.run(&[
        "send-keys",
        "-t",
        "main",
        "-l",
        "echo \"hello from $COCPIT_RESOURCE_ID\"",
    ]);
    t.wait_for("✔ valid");
    t.keys(&["C-s"]);
    t.wait_for("created tmux_hello");
    // Out of the content to the form, out of the editor to the list, where it now is.
    t.keys(&["Escape", "Escape"]);
    t.wait_for("scripts 1/1");
    // r: the run form for the selected script, on all 4 demo hosts; batch size 2, PAUSE.
    t.keys(&["r"]);
    t.wait_for("plan is valid");
    t.keys(&["BSpace", "BSpace", "2", "Tab", "Space", "Enter"]);
    let paused = t.wait_for("paused: rotation: paused after batch 1 of 2");
    assert!(paused.contains("⏸ paused tmux_hello"), "{paused}");
    assert!(
        paused.contains("2/4 done"),
        "batch 1 finished, batch 2 waits:\n{paused}"
    );
    t.keys(&["c"]);
    let done = t.wait_for("✔ finished · 4 of 4 succeeded");
    assert!(done.contains("4/4 done"), "{done}");
    // The grid followed the order to batch 2, and shows its first instance's log.
    assert!(done.contains("log of demo-03"), "{done}");
    assert!(done.contains("hello from demo-03"), "{done}");
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

/// The console process started on `data` (found by its command line).
fn console_pid(data: &Path) -> String {
    let pgrep = Command::new("pgrep")
        .args(["-f", &data.display().to_string()])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pgrep.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    assert!(!pid.is_empty(), "console process not found");
    pid
}

#[test]
fn an_edit_survives_sighup_and_external_editor_text_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("config.toml"), "[inventory]\ndemo_fleet = 1\n").unwrap();
    // An $EDITOR that appends a line, as a user would.
    let ed = d.join("ed.sh");
    std::fs::write(&ed, "#!/bin/sh\necho 'echo added-by-editor' >> \"$1\"\n").unwrap();
    Command::new("chmod").arg("+x").arg(&ed).status().unwrap();
    let bin = env!("CARGO_BIN_EXE_cocpit");
    let start = format!(
        "EDITOR={} VISUAL= {bin} --config {} --init --data {}; echo cocpit-exited-$?",
        ed.display(),
        d.join("config.toml").display(),
        d.join("data").display()
    );
    let t = Tmux::new(d);
    t.line(&start);
    t.wait_for("no scripts yet");
    t.keys(&["n"]);
    t.run(&["send-keys", "-t", "main", "-l", "unsaved_work"]);
    t.keys(&["Enter", "Enter", "Tab", "Tab", "Tab"]);
    t.run(&[
        "send-keys",
        "-t",
        "main",
        "-l",
        "echo typed-before-the-hangup",
    ]);
    t.wait_for("typed-before-the-hangup");
    t.keys(&["C-e"]);
    t.wait_for("content taken from the editor");
    t.wait_for("added-by-editor");
    // The session drops: no save, no quit.
    Command::new("kill")
        .args(["-HUP", &console_pid(&d.join("data"))])
        .status()
        .unwrap();
    t.wait_for("cocpit-exited-");
    t.line("clear");
    t.line(&start);
    t.wait_for("Unsaved draft of unsaved_work");
    t.keys(&["y"]);
    let s = t.wait_for("draft restored");
    assert!(s.contains("typed-before-the-hangup"), "{s}");
    assert!(s.contains("added-by-editor"), "{s}");
    assert!(s.contains("● modified"), "{s}");
    // Quitting now asks, because the work is still unsaved.
    t.keys(&["C-c"]);
    t.wait_for("Quit with unsaved changes to unsaved_work");
    t.keys(&["y"]);
    t.wait_for("cocpit-exited-0");
}

#[test]
fn sighup_ends_the_console_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = Tmux::new(d);
    t.open_local(d, 2);
    t.wait_for("no scripts yet");
    let pid = console_pid(&d.join("data"));
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    t.wait_for("cocpit-exited-");
    assert_eq!(
        t.run(&["display", "-p", "-t", "main", "#{alternate_on}"])
            .trim(),
        "0"
    );
}

#[test]
fn alarms_pushed_with_curl_become_an_incident_carried_to_completed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("config.toml"),
        "[inventory]\ndemo_fleet = 1\n[[serve.integrations]]\nkey = \"tmux-key\"\nkind = \"custom\"\n",
    )
    .unwrap();
    let port = common::sshd::free_port();
    let bin = env!("CARGO_BIN_EXE_cocpit");
    let t = Tmux::new(d);
    t.line(&format!(
        "COCPIT_SERVE_AK={} COCPIT_SERVE_SK={} COCPIT_SERVE_PROJECT_ID={} {bin} --config {} --init --data {} --listen 127.0.0.1:{port}; echo cocpit-exited-$?",
        common::server::AK,
        common::server::SK,
        common::server::PROJECT,
        d.join("config.toml").display(),
        d.join("data").display()
    ));
    t.wait_for(&format!("API http://127.0.0.1:{port}"));
    // Monitoring pushes two alarms over HTTP while the console is open.
    for (id, name, level) in [
        ("cpu-1", "CPU usage above 90%", "Critical"),
        ("disk-1", "Disk almost full", "Minor"),
    ] {
        let body = format!(
            r#"{{"alarmId":"{id}","alarmName":"{name}","alarmLevel":"{level}","time":1709118444540,"nameSpace":"sh","applicationId":"web","resourceName":"web-01","alarmDesc":"{name} on web-01","alarmSource":"curl"}}"#
        );
        let out = Command::new("curl")
            .args([
                "-sS",
                "-f",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "-d",
                &body,
            ])
            .arg(format!(
                "http://127.0.0.1:{port}/v1/event/huawei/custom/tmux-key"
            ))
            .output()
            .expect("curl (bash .ci/test installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The header counts them wherever the user is; the alarms pane lists them live.
    t.wait_for("✖1 ▲0 ●1");
    t.keys(&["5"]);
    t.wait_for("Disk almost full");
    let s = t.wait_for("CPU usage above 90%");
    assert!(s.contains("alarms 2/2"), "{s}");
    // j to the CPU alarm (the older one), i: an incident from it, after its form.
    t.keys(&["j", "i"]);
    t.wait_for("incident from 1 alarm(s)");
    t.keys(&["Enter"]);
    let s = t.wait_for("◉ TRIGGERED");
    let num = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.starts_with("IM") && w.len() == 26)
        .expect("incident number on screen")
        .to_string();
    t.keys(&["a"]);
    t.wait_for("◐ ACKNOWLEDGED");
    t.keys(&["r"]);
    t.wait_for("solution of");
    t.keys(&["Tab", "Tab"]);
    t.run(&["send-keys", "-t", "main", "-l", "runaway batch job"]);
    t.keys(&["Tab"]);
    t.run(&["send-keys", "-t", "main", "-l", "killed it, added a limit"]);
    t.wait_for("enter sends");
    t.keys(&["Enter"]);
    t.wait_for("◑ RESOLVED");
    t.keys(&["v"]);
    t.wait_for("verify");
    t.keys(&["Tab"]);
    t.run(&["send-keys", "-t", "main", "-l", "cpu back to 20%"]);
    t.keys(&["Enter"]);
    t.wait_for("this closes the");
    t.keys(&["y"]);
    let s = t.wait_for("✔ COMPLETED");
    assert!(
        s.contains("confirm"),
        "the timeline shows the verification:\n{s}"
    );
    // The API, signed, agrees.
    let api = common::server::Api {
        base: format!("http://127.0.0.1:{port}"),
        host: format!("127.0.0.1:{port}"),
        http: reqwest::Client::new(),
        ak: common::server::AK.into(),
        sk: common::server::SK.into(),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (status, v) = rt.block_on(api.call("GET", &format!("/v1/external/incident/{num}"), None));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["status"], "INCIDENT_STATUS_COMPLETED");
    assert_eq!(v["data"]["incident_source"], "incident_source_alarm");
    t.keys(&["q"]);
    t.wait_for("cocpit-exited-0");
}

#[test]
fn the_console_works_against_a_remote_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let srv = common::server::Server::start(&d.join("remote"));
    let api = srv.client();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = serde_json::json!({"name": "remote_script", "description": "d", "type": "SHELL",
        "content": "echo remote", "properties": {"risk_level": "LOW", "version": "1"}});
    rt.block_on(api.ok("POST", "/v1/job/scripts", Some(body)));
    let t = Tmux::new(d);
    t.open_remote(d, &srv.base);
    let s = t.wait_for("remote_script");
    assert!(s.contains(&format!("remote {}", srv.base)), "{s}");
    // A change made elsewhere arrives over the event stream.
    let body = serde_json::json!({"name": "made_elsewhere", "description": "d", "type": "SHELL",
        "content": "echo x", "properties": {"risk_level": "LOW", "version": "1"}});
    rt.block_on(api.ok("POST", "/v1/job/scripts", Some(body)));
    t.wait_for("made_elsewhere");
    t.keys(&["q"]);
    t.wait_for("cocpit-exited-0");
}

#[test]
fn an_every_minute_invoker_created_in_the_console_fires_and_its_record_appears() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = Tmux::new(d);
    t.open_local(d, 2);
    t.wait_for("no scripts yet");
    t.keys(&["8"]);
    t.wait_for("no invokers");
    // n: the form. A name, a shell line as the command, one instance, the cron.
    t.keys(&["n"]);
    t.wait_for("name: must not be empty");
    t.run(&["send-keys", "-t", "main", "-l", "every-minute"]);
    t.keys(&["Tab"]);
    t.run(&["send-keys", "-t", "main", "-l", "echo fired-by-tat"]);
    t.keys(&["Tab"]);
    t.run(&["send-keys", "-t", "main", "-l", "demo-02"]);
    t.keys(&["Tab", "Tab"]);
    for _ in 0.."*/5 * * * *".len() {
        t.keys(&["BSpace"]);
    }
    t.run(&["send-keys", "-t", "main", "-l", "* * * * *"]);
    let preview = t.wait_for("next fires (the cron is read in UTC+8)");
    assert_eq!(
        preview.matches("UTC+8 · ").count(),
        5,
        "five fires, each in both zones:\n{preview}"
    );
    assert!(preview.contains("✔ enter sends"), "{preview}");
    t.keys(&["Enter"]);
    let listed = t.wait_for("created");
    assert!(listed.contains("every-minute"), "{listed}");
    // Open it and wait for the first fire (at most a minute away) to finish.
    t.keys(&["Enter"]);
    t.wait_for("next fire:");
    let fired = t.wait_for("fired-by-tat");
    assert!(fired.contains("SUCCESS"), "{fired}");
    assert!(fired.contains("demo-02"), "{fired}");
    assert!(fired.contains("fires 1/1"), "{fired}");
    t.keys(&["q"]);
    t.wait_for("cocpit-exited-0");
}

#[test]
fn without_an_event_stream_the_console_follows_an_order_by_polling() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let srv = common::server::Server::start(&d.join("remote"));
    let api = srv.client();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = serde_json::json!({"name": "polled_run", "description": "d", "type": "SHELL",
        "content": "sleep 1; echo polled-$COCPIT_RESOURCE_ID",
        "properties": {"risk_level": "LOW", "version": "1"}});
    rt.block_on(api.ok("POST", "/v1/job/scripts", Some(body)));
    // The proxy answers the event stream 404, as real COC does.
    let proxy = rt.block_on(common::faults::Proxy::start(&srv.host));
    proxy.on(
        "GET /v1/cocpit/events",
        common::faults::Fault::Status(404, vec![]),
    );
    let t = Tmux::new(d);
    t.open_remote(d, &proxy.base);
    t.wait_for("polled_run");
    t.wait_for("◐ polling");
    t.keys(&["r"]);
    t.wait_for("plan is valid");
    t.keys(&["Enter"]);
    // The order's progress arrives only by reading it again: no event says it changed.
    let done = t.wait_for("✔ finished polled_run");
    assert!(
        done.contains("▶ 0 running"),
        "the header agrees with the order shown:\n{done}"
    );
    assert!(done.contains("4/4 done"), "{done}");
    assert!(done.contains("polled-demo-01"), "{done}");
    assert_eq!(proxy.seen("GET /v1/cocpit/events").len(), 1);
    assert!(
        proxy.seen("GET /v1/cocpit/orders/").len() >= 2,
        "the order was read again while it ran"
    );
    t.keys(&["q"]);
    t.wait_for("cocpit-exited-0");
}

/// A script made with the CLI before the console opens (the console then holds the engine).
fn create_script(d: &Path, fleet: u32, name: &str, content: &str, params: &[&str]) {
    std::fs::write(
        d.join("config.toml"),
        format!("[inventory]\ndemo_fleet = {fleet}\n"),
    )
    .unwrap();
    std::fs::write(d.join(format!("{name}.sh")), content).unwrap();
    let mut args = vec![
        "script".to_string(),
        "create".into(),
        "--name".into(),
        name.into(),
        "--file".into(),
        d.join(format!("{name}.sh")).display().to_string(),
    ];
    for p in params {
        args.extend(["--param".to_string(), p.to_string()]);
    }
    let out = common::server::cocpit()
        .arg("--config")
        .arg(d.join("config.toml"))
        .args(["--init", "--data"])
        .arg(d.join("data"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_eight_host_order_is_driven_from_the_keyboard_at_80x24() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // demo-06 fails on its first try only; every host prints a line to search for.
    create_script(
        d,
        8,
        "flaky06",
        "echo \"start on $COCPIT_RESOURCE_ID\"\necho \"needle-$COCPIT_RESOURCE_ID\"\n\
         if [ \"$COCPIT_RESOURCE_ID\" = demo-06 ] && [ ! -e \"$1/tried\" ]; then\n\
         touch \"$1/tried\"; echo \"demo-06 refuses\" >&2; exit 3\nfi\necho done\n",
        &[&format!("dir={}", d.display())],
    );
    let t = Tmux::sized(d, 80, 24);
    t.run(&["set-option", "-g", "set-clipboard", "on"]);
    t.open_local(d, 8);
    t.wait_for("scripts 1/1");
    t.keys(&["r"]);
    t.wait_for("plan is valid");
    t.keys(&["Enter"]);
    let s = t.wait_for("paused: success 88 % below threshold 100 % (1 of 8 failed)");
    assert!(
        s.contains("of 8"),
        "the window of the long batch is told:\n{s}"
    );
    // The 6th instance, from the keyboard.
    t.keys(&["j", "j", "j", "j", "j"]);
    let s = t.wait_for("log of demo-06 (6)");
    assert!(s.contains("demo-06 refuses"), "{s}");
    // Its log: search it, copy the match.
    t.keys(&["Enter", "/"]);
    t.run(&["send-keys", "-t", "main", "-l", "needle"]);
    t.keys(&["Enter"]);
    t.wait_for("/needle");
    t.wait_for("match 1 of 1");
    t.keys(&["y"]);
    // The needle is line 2, or line 3 when the stderr line was read first: the two streams come
    // through two pipes, and a script this quick has written all three lines before either is
    // read.
    let s = t.wait_for("sent to the terminal's clipboard");
    assert!(
        s.contains("line 2 sent") || s.contains("line 3 sent"),
        "the copied line is the match:\n{s}"
    );
    let deadline = Instant::now() + common::PATIENCE;
    loop {
        let buffers = t.run(&["list-buffers"]);
        if !buffers.is_empty() {
            assert_eq!(t.run(&["show-buffer"]), "needle-demo-06");
            break;
        }
        assert!(Instant::now() < deadline, "no OSC 52 buffer in tmux");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Back to the instances; retry it (it succeeds now), then continue: all succeeded.
    t.keys(&["Tab", "R"]);
    t.wait_for("RETRY_INSTANCE done");
    t.wait_for("✔ succeeded");
    t.keys(&["c"]);
    let s = t.wait_for("✔ finished · 8 of 8 succeeded");
    let footer = s.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(
        footer.trim_end().ends_with("? help"),
        "the footer: {footer:?}"
    );
    t.keys(&["q"]);
    t.wait_for("cocpit-exited-0");
}

#[test]
fn an_order_whose_every_host_failed_shows_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    create_script(d, 3, "broken", "echo trying; exit 1\n", &[]);
    let t = Tmux::sized(d, 160, 48);
    t.open_local(d, 3);
    t.wait_for("scripts 1/1");
    t.keys(&["r"]);
    t.wait_for("plan is valid");
    t.keys(&["Enter"]);
    t.wait_for("paused: success 0 % below threshold 100 % (3 of 3 failed)");
    t.keys(&["c"]);
    let s = t.wait_for("✘ finished · 3 of 3 failed · success 0 % < 100 %");
    assert!(!s.contains("✔ finished"), "{s}");
    t.keys(&["Escape"]);
    let s = t.wait_for("orders 1/1");
    assert!(s.contains("✘ finished"), "{s}");
    assert!(s.contains("3/3 done · 3✘"), "{s}");
    t.keys(&["q"]);
    t.wait_for("cocpit-exited-0");
}
