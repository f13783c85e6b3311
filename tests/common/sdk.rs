//! The official SDKs' check scripts (tests/sdk/*.py): run with the pinned SDK venv, each prints
//! a line per check and ends with `N passed, M failed`.

/// The Python with the pinned SDKs, or `None` (and a line saying so) when it is not set.
pub fn python() -> Option<String> {
    match std::env::var("COCPIT_SDK_PYTHON") {
        Ok(p) => Some(p),
        Err(_) => {
            eprintln!(
                "SKIPPED: COCPIT_SDK_PYTHON is not set (bash .ci/test sets it to the SDK venv)"
            );
            None
        }
    }
}

/// Runs `tests/sdk/SCRIPT ARGS…` and asserts every check passed.
pub async fn check(python: &str, script: &str, args: &[&str]) {
    let path = format!("{}/tests/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    // Bounded: a hung SDK call fails the test instead of holding CI.
    let out = tokio::process::Command::new("timeout")
        .args(["--kill-after=5", "300", python])
        .arg(path)
        .args(args)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        out.status.success() && last.ends_with(" passed, 0 failed"),
        "{script}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
