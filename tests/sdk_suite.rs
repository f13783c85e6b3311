//! The official Huawei COC Python SDK against a spawned `cocpit serve` (tests/sdk/sdk_check.py).
//! Needs `COCPIT_SDK_PYTHON`, a Python with the pinned SDKs (`bash .ci/test` makes one).

mod common;

use common::server::{AK, PROJECT, SK, Server};

#[test]
fn the_official_sdk_drives_the_job_api() {
    let Ok(python) = std::env::var("COCPIT_SDK_PYTHON") else {
        eprintln!("SKIPPED: COCPIT_SDK_PYTHON is not set (bash .ci/test sets it to the SDK venv)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
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
