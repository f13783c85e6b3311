//! The deployment files in `deploy/` as a user installs them: the systemd unit passes
//! `systemd-analyze verify` with no complaint, and the container file builds the binary and
//! runs `cocpit serve` the way the unit does.

mod common;

use std::process::Command;

#[test]
fn the_systemd_unit_verifies_cleanly() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: skipping (the CI installs systemd)");
        return;
    }
    let unit = std::fs::read_to_string("deploy/cocpit-serve.service").unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/cocpit serve "));
    assert!(unit.contains("KillSignal=SIGTERM"));
    let tmp = tempfile::tempdir().unwrap();
    // The unit as installed, with the binary where this build put it; the manual pages it
    // names, where `man` finds them.
    let unit = unit.replace("/usr/local/bin/cocpit", env!("CARGO_BIN_EXE_cocpit"));
    let path = tmp.path().join("cocpit-serve.service");
    std::fs::write(&path, unit).unwrap();
    let man1 = tmp.path().join("man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    assert!(
        common::server::cocpit()
            .args(["man", "--dir"])
            .arg(&man1)
            .status()
            .unwrap()
            .success()
    );
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("MANPATH", tmp.path().join("man"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.trim().is_empty(), "systemd-analyze complained: {said}");
}

#[test]
fn the_container_file_builds_what_the_unit_runs() {
    let file = std::fs::read_to_string("deploy/Containerfile").unwrap();
    // Everything it copies from the build context exists.
    for line in file
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let src = line.split_whitespace().nth(1).unwrap();
        assert!(std::path::Path::new(src).exists(), "{line}");
    }
    // The configuration it ships is one cocpit accepts.
    let out = common::server::cocpit()
        .args(["--config", "config/cocpit.toml", "config", "check"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // It serves as the unit does, stops on SIGTERM, and checks the route that exists.
    assert!(file.contains(r#"CMD ["serve", "--listen", "0.0.0.0:8080""#));
    assert!(file.contains("STOPSIGNAL SIGTERM"));
    assert!(file.contains("/readyz") && file.contains("curl"));
}
