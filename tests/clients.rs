//! Other people's clients pointed at a real `cocpit serve` on a random port: the Huawei Cloud
//! Node.js SDK core (its ClientBuilder and HcClient, as a generated client uses them),
//! `tencentcloud-sdk-nodejs` (POST and GET), and Tencent's `tccli`. `.ci/test` installs them
//! (the npm packages pinned in tests/clients/package-lock.json into target/node-clients, tccli
//! into target/tccli-venv); where one is missing its test says so and passes.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::server::{AK, PROJECT, SK, Server, TC_ID, TC_KEY};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `node` and the installed packages, or why not.
fn node_modules() -> Result<PathBuf, String> {
    let modules = std::env::var_os("COCPIT_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/node-clients/node_modules"));
    if Command::new("node").arg("--version").output().is_err() {
        return Err("node is not installed".into());
    }
    if !modules.join("tencentcloud-sdk-nodejs").exists() {
        return Err(format!(
            "{} lacks the npm clients (bash .ci/test installs them)",
            modules.display()
        ));
    }
    Ok(modules)
}

/// Runs a script of tests/clients with node; its last stdout line is a JSON summary.
fn node(script: &str, args: &[&str]) -> Option<Value> {
    let modules = match node_modules() {
        Ok(m) => m,
        Err(why) => {
            eprintln!("skipping {script}: {why}");
            return None;
        }
    };
    // Bounded: a hung client fails the test instead of holding CI.
    let out = Command::new("timeout")
        .args(["--kill-after=5", "120", "node"])
        .arg(root().join("tests/clients").join(script))
        .args(args)
        .env("NODE_PATH", modules)
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("");
    let v: Value = serde_json::from_str(last).unwrap_or_else(|_| {
        panic!(
            "{script}: no JSON summary: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "{script}: {v}");
    Some(v)
}

#[test]
fn the_huawei_node_sdk_core_signs_and_reads_every_family() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let Some(v) = node("huawei.js", &[&server.base, AK, SK, PROJECT]) else {
        return;
    };
    assert!(v["created"].as_str().unwrap().starts_with("SC"), "{v}");
    assert_eq!(v["shown_name"], "node_core", "{v}");
    assert_eq!(v["listed_total"], 1, "{v}");
    assert!(v["order"].as_str().unwrap().starts_with("SCT"), "{v}");
    assert!(
        v["incident"]["incident_num"]
            .as_str()
            .unwrap()
            .starts_with("IM"),
        "{v}"
    );
    assert_eq!(v["missing"]["code"], "COC.00040404", "{v}");
    assert_eq!(v["bad_key"], "APIGW.0301", "{v}");
}

#[test]
fn tencentcloud_sdk_nodejs_works_by_post_and_get_on_any_port() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let Some(v) = node("tencent.js", &[&server.host, TC_ID, TC_KEY]) else {
        return;
    };
    assert!(v["command"].as_str().unwrap().starts_with("cmd-"), "{v}");
    let invoker = v["invoker"].as_str().unwrap();
    assert!(invoker.starts_with("ivk-"), "{v}");
    assert_eq!(v["get_total"], 1, "{v}");
    assert_eq!(v["get_name"], "node-sdk", "{v}");
    assert_eq!(v["get_invokers"], serde_json::json!([invoker]), "{v}");
    assert_eq!(v["enabled_after_get_disable"], false, "{v}");
    assert_eq!(v["missing_post"], "ResourceNotFound.InvokerNotFound", "{v}");
    assert_eq!(v["missing_get"], "ResourceNotFound.InvokerNotFound", "{v}");
    assert_eq!(v["bad_key"], "AuthFailure.SignatureFailure", "{v}");
}

/// `tccli` (Tencent's CLI, from PyPI), or why not.
fn tccli() -> Result<PathBuf, String> {
    let bin = std::env::var_os("COCPIT_TCCLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/tccli-venv/bin/tccli"));
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} is missing (bash .ci/test installs it)",
            bin.display()
        ))
    }
}

/// Runs `tccli tat ACTION --region … --endpoint BASE ARGS…`: its exit status, stdout, stderr.
fn tat_cli(bin: &PathBuf, base: &str, action: &str, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new("timeout")
        .args(["--kill-after=5", "60"])
        .arg(bin)
        .args([
            "tat",
            action,
            "--region",
            "ap-guangzhou",
            "--endpoint",
            base,
        ])
        .args(args)
        .env("TENCENTCLOUD_SECRET_ID", TC_ID)
        .env("TENCENTCLOUD_SECRET_KEY", TC_KEY)
        .env("NO_PROXY", "127.0.0.1")
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout),
    )
}

/// `tccli tat CreateInvoker` of `cmd` on demo-01 with these schedule settings (JSON).
fn tccli_invoker(
    bin: &PathBuf,
    base: &str,
    name: &str,
    cmd: &str,
    schedule: &str,
) -> (bool, Value, String) {
    tat_cli(
        bin,
        base,
        "CreateInvoker",
        &[
            "--Name",
            name,
            "--Type",
            "SCHEDULE",
            "--CommandId",
            cmd,
            "--InstanceIds",
            r#"["demo-01"]"#,
            "--ScheduleSettings",
            schedule,
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn tccli_creates_commands_and_invokers_that_really_fire() {
    let bin = match tccli() {
        Ok(b) => b,
        Err(why) => {
            eprintln!("skipping tccli: {why}");
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let base = server.base.clone();
    let content = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "echo fired-by-tccli",
    );
    let (ok, cmd, said) = tat_cli(
        &bin,
        &base,
        "CreateCommand",
        &["--CommandName", "from-tccli", "--Content", &content],
    );
    assert!(ok, "{said}");
    let cmd = cmd["CommandId"].as_str().unwrap().to_string();

    // ONCE, a few seconds ahead: it fires on its own and records the output.
    let at = (chrono::Utc::now() + chrono::Duration::seconds(4))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let once = format!(r#"{{"Policy":"ONCE","InvokeTime":"{at}"}}"#);
    let (ok, inv, said) = tccli_invoker(&bin, &base, "once", &cmd, &once);
    assert!(ok, "{said}");
    let once_id = inv["InvokerId"].as_str().unwrap().to_string();

    // RECURRENCE: its next fire is 03:00 in UTC+8.
    let (ok, inv, said) = tccli_invoker(
        &bin,
        &base,
        "nightly",
        &cmd,
        r#"{"Policy":"RECURRENCE","Recurrence":"0 3 * * *"}"#,
    );
    assert!(ok, "{said}");
    let nightly = inv["InvokerId"].as_str().unwrap().to_string();
    let (ok, described, said) = tat_cli(
        &bin,
        &base,
        "DescribeInvokers",
        &["--InvokerIds", &format!(r#"["{nightly}"]"#)],
    );
    assert!(ok, "{said}");
    let next = described["InvokerSet"][0]["ScheduleSettings"]["InvokeTime"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(next.ends_with("T19:00:00Z"), "{described}");

    // A bad cron: tccli exits non-zero with the seed's code.
    let (ok, _, said) = tccli_invoker(
        &bin,
        &base,
        "bad",
        &cmd,
        r#"{"Policy":"RECURRENCE","Recurrence":"0 25 * * *"}"#,
    );
    assert!(!ok);
    assert!(said.contains("InvalidCronExpression"), "{said}");

    let api = server.client();
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        let r = api
            .tat(
                "DescribeInvokerRecords",
                serde_json::json!({"InvokerIds": [once_id]}),
            )
            .await;
        if r["InvokerRecordSet"][0]["Result"] == "SUCCESS" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ONCE invoker never fired: {r}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (ok, records, said) = tat_cli(
        &bin,
        &base,
        "DescribeInvokerRecords",
        &["--InvokerIds", &format!(r#"["{once_id}"]"#)],
    );
    assert!(ok, "{said}");
    assert_eq!(records["TotalCount"], 1, "{records}");
    assert_eq!(
        records["InvokerRecordSet"][0]["Result"], "SUCCESS",
        "{records}"
    );
}
