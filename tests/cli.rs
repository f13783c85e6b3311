//! The CLI as a user runs it: exit codes, JSON output in the API's shapes, terminal-safe logs.

mod common;

use std::process::Output;

use common::server::cocpit;
use serde_json::Value;

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[inventory]\ndemo_fleet = 4\n",
        )
        .unwrap();
        Cli { dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        cocpit()
            .arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .args(["--init", "--data"])
            .arg(self.dir.path().join("data"))
            .args(args)
            .output()
            .unwrap()
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

    fn file(&self, name: &str, content: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }
}

#[test]
fn create_run_and_read_back_with_exit_codes() {
    let cli = Cli::new();
    let f = cli.file(
        "ok.sh",
        "echo \"hi $1\"\nprintf '\\033]0;pwned\\007\\033[2Jafter\\n'\n",
    );
    let uuid = cli.json(&[
        "script",
        "create",
        "--name",
        "ok",
        "--file",
        &f,
        "--param",
        "who=world",
    ]);
    let uuid = uuid["data"].as_str().unwrap().to_string();
    let list = cli.json(&["script", "list"]);
    assert_eq!(list["data"]["total"], 1);
    assert_eq!(list["data"]["data"][0]["script_uuid"], uuid.as_str());

    let out = cli.run(&[
        "script",
        "run",
        &uuid,
        "--hosts",
        "demo-01,demo-02,demo-03",
        "--batch-size",
        "2",
        "--param",
        "who=ops",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let orders = cli.json(&["order", "list", "--status", "FINISHED"]);
    assert_eq!(
        orders["data"]["data"][0]["properties"]["region_ids"],
        "local"
    );
    let eid = orders["data"]["data"][0]["execute_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let batches = cli.json(&["order", "batches", &eid]);
    assert_eq!(batches["data"].as_array().unwrap().len(), 2);

    // Logs are terminal-safe: the title change and screen clear are gone, the text is there.
    let logs = cli.run(&["order", "logs", &eid, "--batch", "1"]);
    let text = String::from_utf8(logs.stdout).unwrap();
    assert!(text.contains("hi ops") && text.contains("after"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    // JSON keeps the output as the host wrote it.
    let raw = cli.json(&["order", "logs", &eid, "--batch", "1"]);
    assert!(
        raw["data"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\u{1b}]0;pwned")
    );
}

/// The containment helper waits for signals with them blocked: what the script starts must not
/// inherit that mask, or a timeout's or a cancel's TERM would never reach it (only the KILL
/// after the grace period would).
#[test]
fn a_local_script_starts_with_no_signal_blocked() {
    let cli = Cli::new();
    let f = cli.file("mask.sh", "grep '^SigBlk' /proc/self/status\n");
    let uuid = cli.json(&["script", "create", "--name", "mask", "--file", &f]);
    let uuid = uuid["data"].as_str().unwrap().to_string();
    let out = cli.run(&["script", "run", &uuid, "--hosts", "demo-01"]);
    assert_eq!(out.status.code(), Some(0));
    let orders = cli.json(&["order", "list"]);
    let eid = orders["data"]["data"][0]["execute_uuid"].as_str().unwrap();
    let raw = cli.json(&["order", "logs", eid, "--batch", "1"]);
    let message = raw["data"][0]["message"].as_str().unwrap();
    assert!(message.contains("SigBlk:\t0000000000000000"), "{message}");
}

#[test]
fn a_failing_order_exits_1_and_usage_errors_exit_2() {
    let cli = Cli::new();
    let f = cli.file("bad.sh", "exit 4\n");
    let uuid = cli.json(&["script", "create", "--name", "bad", "--file", &f]);
    let uuid = uuid["data"].as_str().unwrap();
    let out = cli.run(&["script", "run", uuid, "--hosts", "demo-01"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("paused: success 0 % below threshold 100 %"),
        "{err}"
    );
    assert!(
        err.contains("CONTINUE_ORDER"),
        "tells what to do next: {err}"
    );
    let eid = cli.json(&["order", "list"])["data"]["data"][0]["execute_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    // Continued until every host failed: FINISHED, but a failure all the same.
    let out = cli.run(&["order", "op", &eid, "CONTINUE_ORDER"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("✘ finished · 1 of 1 failed · success 0 % < 100 %"),
        "{err}"
    );
    // The list carries each order's tally, so a list shows progress and outcome.
    let listed = cli.json(&["order", "list"]);
    let row = &listed["data"]["data"][0];
    assert_eq!(row["properties"]["tally"]["failed"], 1, "{row}");
    assert_eq!(row["properties"]["tally"]["total"], 1, "{row}");
    // A cancel that worked exits 0.
    let out = cli.run(&["script", "run", uuid, "--hosts", "demo-01"]);
    assert_eq!(out.status.code(), Some(1));
    let paused = cli.json(&["order", "list", "--status", "PAUSED"]);
    let eid = paused["data"]["data"][0]["execute_uuid"].as_str().unwrap();
    let out = cli.run(&["order", "op", eid, "CANCEL_ORDER"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        cli.json(&["order", "show", eid])["data"]["status"],
        "CANCELED"
    );

    let out = cli.run(&["script", "run", uuid]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "missing --hosts is a usage error"
    );
    let out = cli.run(&["script", "create", "--name", "bad name", "--file", &f]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("name: may contain only letters"));
}

#[test]
fn help_documents_every_subcommand() {
    let out = cocpit().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in [
        "serve",
        "script",
        "order",
        "resource",
        "--endpoint",
        "--data",
        "--config",
        "--output",
    ] {
        assert!(help.contains(cmd), "--help lacks {cmd}");
    }
    let out = cocpit().args(["order", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in ["list", "show", "batches", "logs", "op"] {
        assert!(help.contains(cmd), "order --help lacks {cmd}");
    }
}

#[test]
fn a_second_engine_on_the_same_data_is_refused_with_a_way_out() {
    let cli = Cli::new();
    let f = cli.file(
        "slow.sh",
        "while [ ! -e \"$1/stop\" ]; do sleep 0.05; done\n",
    );
    let uuid = cli.json(&[
        "script", "create", "--name", "slow", "--file", &f, "--param", "dir=x",
    ]);
    let uuid = uuid["data"].as_str().unwrap().to_string();
    let dir = cli.dir.path().display().to_string();
    let mut first = cocpit()
        .arg("--config")
        .arg(cli.dir.path().join("config.toml"))
        .args(["--init", "--data"])
        .arg(cli.dir.path().join("data"))
        .args([
            "script",
            "run",
            &uuid,
            "--hosts",
            "demo-01",
            "--param",
            &format!("dir={dir}"),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first command holds the engine once its order has started.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(first.stderr.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.contains("started"), "{line}");
    let out = cli.run(&["script", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another cocpit"));
    std::fs::write(cli.dir.path().join("stop"), "").unwrap();
    assert!(first.wait().unwrap().success());
}

#[test]
fn invokers_from_the_cli_take_local_times_and_name_a_bad_cron_field() {
    let cli = Cli::new();
    let cmd = cli.json(&[
        "invoker",
        "command-create",
        "--name",
        "hello",
        "--content",
        "echo hello",
    ])["CommandId"]
        .as_str()
        .unwrap()
        .to_string();
    // ONCE in an hour, written as a person would.
    let before = chrono::Utc::now();
    let id = cli.json(&[
        "invoker",
        "create",
        "--name",
        "later",
        "--command-id",
        &cmd,
        "--instance",
        "demo-01",
        "--at",
        "+1h",
    ])["InvokerId"]
        .as_str()
        .unwrap()
        .to_string();
    let list = cli.json(&["invoker", "list"]);
    let inv = &list["InvokerSet"][0];
    assert_eq!(inv["InvokerId"], id.as_str());
    let at =
        cocpit::model::tat::parse_time(inv["ScheduleSettings"]["InvokeTime"].as_str().unwrap())
            .unwrap();
    let ahead = (at - before).num_seconds();
    assert!((3599..=3661).contains(&ahead), "fires {ahead} s ahead");

    // A bad cron: exit 1, the field named, nothing created.
    let out = cli.run(&[
        "invoker",
        "create",
        "--name",
        "bad",
        "--command-id",
        &cmd,
        "--instance",
        "demo-01",
        "--cron",
        "0 25 * * *",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("InvalidCronExpression"), "{err}");
    assert!(err.contains("the hour (0-23) field \"25\""), "{err}");
    assert_eq!(cli.json(&["invoker", "list"])["TotalCount"], 1);

    // A past time is refused before anything is sent.
    let out = cli.run(&[
        "invoker",
        "create",
        "--name",
        "past",
        "--command-id",
        &cmd,
        "--instance",
        "demo-01",
        "--at",
        "2020-01-01 00:00",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--at: time \"2020-01-01 00:00\" is not in the future"),
        "{err}"
    );

    // preview prints five fires in both zones.
    let out = cli.run(&["invoker", "preview", "0 3 * * *"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(text.lines().all(|l| l.contains("03:00 UTC+8 · ")), "{text}");
}

#[test]
fn a_data_dir_that_does_not_exist_is_refused_unless_init() {
    let cli = Cli::new();
    let missing = cli.dir.path().join("typo");
    let out = cocpit()
        .arg("--config")
        .arg(cli.dir.path().join("config.toml"))
        .arg("--data")
        .arg(&missing)
        .args(["script", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no such directory") && err.contains("--init"),
        "{err}"
    );
    assert!(!missing.exists(), "nothing was created");
    let out = cocpit()
        .arg("--config")
        .arg(cli.dir.path().join("config.toml"))
        .args(["--init", "--data"])
        .arg(&missing)
        .args(["script", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(missing.is_dir());
}

#[test]
fn a_damaged_store_is_refused_with_a_way_out_and_left_as_it_was() {
    let cli = Cli::new();
    let f = cli.file("ok.sh", "echo ok\n");
    for i in 0..40 {
        cli.json(&["script", "create", "--name", &format!("s{i}"), "--file", &f]);
    }
    let db = cli.dir.path().join("data").join("cocpit.db");
    let whole = std::fs::read(&db).unwrap();
    assert!(whole.len() > 3 * 4096, "{}", whole.len());
    for (damage, says) in [
        (vec![], "is empty (0 bytes)"),
        (
            b"not a database at all".repeat(300),
            "is not a SQLite database",
        ),
        (whole[..2 * 4096].to_vec(), "quick_check"),
    ] {
        std::fs::write(&db, &damage).unwrap();
        let out = cli.run(&["script", "list"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{says}: {err}");
        assert!(
            err.contains(says) && err.contains(".damaged"),
            "{says}: {err}"
        );
        assert_eq!(
            std::fs::read(&db).unwrap(),
            damage,
            "the file was left alone"
        );
    }
    std::fs::write(&db, &whole).unwrap();
    assert_eq!(cli.json(&["script", "list"])["data"]["total"], 40);
}

#[test]
fn version_completions_and_manual_pages() {
    let out = cocpit().arg("--version").output().unwrap();
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    // The version and the revision it was built from.
    assert!(
        v.starts_with(&format!("cocpit {} (", env!("CARGO_PKG_VERSION")))
            && v.trim().ends_with(')'),
        "{v}"
    );

    // bash: the script loads and registers completion for cocpit, subcommands included.
    let out = cocpit().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("script") && script.contains("incident"));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("cocpit.bash");
    std::fs::write(&file, &script).unwrap();
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p cocpit", file.display()))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&loaded.stdout).contains("_cocpit"),
        "{loaded:?}"
    );
    for shell in ["zsh", "fish"] {
        let out = cocpit().args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && out.stdout.len() > 1000, "{shell}");
    }
    let bad = cocpit().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));

    // The manual: the top page, and one page per subcommand; the hidden engine process has none.
    let out = cocpit().arg("man").output().unwrap();
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains(".TH cocpit 1") && page.contains("serve"),
        "{page}"
    );
    let dir = tmp.path().join("man");
    std::fs::create_dir(&dir).unwrap();
    assert!(
        cocpit()
            .args(["man", "--dir"])
            .arg(&dir)
            .status()
            .unwrap()
            .success()
    );
    for page in [
        "cocpit.1",
        "cocpit-script-run.1",
        "cocpit-order-op.1",
        "cocpit-serve.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    assert!(!dir.join("cocpit-__engine.1").exists());
}
