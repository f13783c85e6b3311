//! The official Huawei COC Python SDK against a spawned `cocpit serve` (tests/sdk/sdk_check.py).
//! Needs `COCPIT_SDK_PYTHON`, a Python with the pinned SDKs (`bash .ci/test` makes one).

mod common;

use common::server::{AK, PROJECT, SK, Server};

#[test]
fn the_official_sdk_drives_the_job_incident_and_alarm_apis() {
    let Ok(python) = std::env::var("COCPIT_SDK_PYTHON") else {
        eprintln!("SKIPPED: COCPIT_SDK_PYTHON is not set (bash .ci/test sets it to the SDK venv)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    std::fs::write(
        data.with_extension("toml"),
        "[inventory]\ndemo_fleet = 4\n[[serve.integrations]]\nkey = \"sdk-check\"\nkind = \"custom\"\n\
         [[serve.integrations]]\nkey = \"sdk-prom\"\nkind = \"prometheus\"\n",
    )
    .unwrap();
    let server = Server::start(&data);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/sdk_check.py");
    let out = std::process::Command::new(python)
        .args([script, &server.base, AK, SK, PROJECT])
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        out.status.success() && last.ends_with(" passed, 0 failed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
