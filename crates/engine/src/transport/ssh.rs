//! How the engine uses ssh: its options for a host, a master opened ahead of a batch, the
//! environment a session over a master is given, and kills on a host after a crash.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::settings::{Host, TransportKind};

/// How the engine uses ssh.
#[derive(Debug, Clone)]
pub struct SshSettings {
    pub connect_timeout: u64,
    /// Seconds a master stays after its last use (`[ssh] keep`).
    pub keep: u64,
    /// Where master connections keep their control sockets (one per inventory host).
    pub control_dir: std::path::PathBuf,
}

/// Where the engine working in `work_dir` keeps its masters' control sockets.
pub fn control_dir(work_dir: &std::path::Path) -> std::path::PathBuf {
    work_dir.join("ssh")
}

impl SshSettings {
    /// The control socket of `host`: named after a hash of its inventory id, so every host has
    /// its own master (two aliases of one machine are still two hosts) and the path stays short.
    pub fn control_path(&self, host: &Host) -> std::path::PathBuf {
        let digest = cocpit_api::sign::sha256_hex(host.id.as_bytes());
        self.control_dir.join(&digest[..16])
    }
}

fn ssh_options(host: &Host, ssh: &SshSettings, master: bool) -> Vec<String> {
    let mut a = vec![
        "-T".to_string(),
        "-o".into(),
        "BatchMode=yes".into(),
        "-o".into(),
        format!("ConnectTimeout={}", ssh.connect_timeout),
        "-o".into(),
        "ServerAliveInterval=15".into(),
        "-o".into(),
        format!("ControlPath={}", ssh.control_path(host).display()),
        "-o".into(),
        // A run uses the host's master when one is up, and connects directly otherwise.
        format!("ControlMaster={}", if master { "yes" } else { "no" }),
    ];
    if master {
        a.extend(["-o".into(), format!("ControlPersist={}", ssh.keep.max(1))]);
    }
    a.extend(host.ssh_options.iter().cloned());
    a.push(host.destination.clone().unwrap_or_default());
    a
}

/// Arguments given to `ssh` for `host`: batch mode, a connect timeout, no pty, the host's
/// master connection if one is up, the host's own options, the destination.
pub fn ssh_args(host: &Host, ssh: &SshSettings) -> Vec<String> {
    ssh_options(host, ssh, false)
}

/// Opens a master connection to `host` ahead of its batch, so the batch pays for a session
/// rather than a handshake; it stays `[ssh] keep` seconds after its last use. The outcome tells whether the
/// host is reachable (with ssh's own words when not); a failed master costs the run nothing,
/// as the instance's own connection reports the error.
pub async fn prewarm(host: &Host, ssh: &SshSettings) -> Result<(), String> {
    if host.transport != TransportKind::Ssh || ssh.control_path(host).exists() {
        return Ok(());
    }
    std::fs::create_dir_all(&ssh.control_dir).map_err(|e| e.to_string())?;
    // -N -f: authenticate, then put the master in the background without opening a session.
    // The socket was checked absent above and requests are deduplicated (see `masters`), so
    // this cannot become a stray plain connection.
    let mut args = vec!["-N".to_string(), "-f".to_string()];
    args.extend(ssh_options(host, ssh, true));
    // ssh's complaint goes to a file: the backgrounded master would hold a pipe open for
    // as long as it lives.
    let err_path = ssh.control_path(host).with_extension("err");
    let err = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let status = ssh_command()
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .kill_on_drop(true)
        .status()
        .await;
    let said = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&err_path);
    match status {
        Ok(st) if st.success() => Ok(()),
        Ok(st) => Err(said
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| format!("ssh exited with {st}"))),
        Err(e) => Err(format!("cannot run ssh: {e}")),
    }
}

/// The environment a session on `host` is given, as its ssh client would send it: the
/// `SetEnv` values and the engine's variables that `SendEnv` names, from the effective client
/// configuration (`ssh -G`: the host's options, `~/.ssh/config`, the system's). `None` when it
/// cannot be read; runs on the host then start an ssh client, which reads it itself.
pub async fn session_env(host: &Host, ssh: &SshSettings) -> Option<Vec<String>> {
    let mut args = vec!["-G".to_string()];
    args.extend(ssh_options(host, ssh, false));
    let out = tokio::time::timeout(
        Duration::from_secs(5),
        ssh_command()
            .args(&args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .ok()?
    .ok()
    .filter(|o| o.status.success())?;
    let config = String::from_utf8_lossy(&out.stdout);
    let mut env = vec![];
    let mut send = vec![];
    for line in config.lines() {
        match line.split_once(' ') {
            Some(("setenv", v)) => env.extend(v.split_whitespace().map(str::to_string)),
            Some(("sendenv", v)) => send.extend(v.split_whitespace().map(str::to_string)),
            _ => {}
        }
    }
    env.extend(sent(&send, std::env::vars_os()));
    Some(env)
}

/// The variables of `vars` that `SendEnv`'s patterns send, as `NAME=value`: never the engine's
/// own, and never one that is not text (which must not panic the engine either).
fn sent(
    patterns: &[String],
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Vec<String> {
    vars.filter_map(|(k, v)| match (k.to_str(), v.to_str()) {
        (Some(k), Some(v)) if sends(patterns, k) && !engine_own(k) => Some(format!("{k}={v}")),
        _ => None,
    })
    .collect()
}

/// The engine's own variables (its keys among them) never travel to a host, whatever a
/// `SendEnv` says: an ssh client starts without them, a session over a master is not given them.
fn engine_own(name: &str) -> bool {
    ["COCPIT_", "HUAWEICLOUD_SDK_", "TENCENTCLOUD_"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// `ssh`, started without the engine's own variables (see [`engine_own`]).
pub(crate) fn ssh_command() -> Command {
    let mut c = Command::new("ssh");
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(engine_own) {
            c.env_remove(k);
        }
    }
    c
}

/// Whether `SendEnv`'s `patterns` send the variable `name`: one pattern matches it, and no
/// `-pattern` takes it back.
fn sends(patterns: &[String], name: &str) -> bool {
    let (minus, plus): (Vec<&String>, Vec<&String>) =
        patterns.iter().partition(|p| p.starts_with('-'));
    plus.iter().any(|p| glob(p, name)) && !minus.iter().any(|p| glob(&p[1..], name))
}

/// ssh's pattern match: `*` any run of characters, `?` any one.
fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Kills what carries every one of `marks` on an ssh host (after a crash of the engine).
pub async fn kill_remote_marked(host: &Host, ssh: &SshSettings, marks: &[String]) {
    let mut args = ssh_args(host, ssh);
    args.push(crate::leftovers::remote_kill_marked(marks));
    quiet_ssh(&args).await;
}

/// Runs ssh for its effect only (a remote kill); its output is of no use.
pub(super) async fn quiet_ssh(args: &[String]) {
    let _ = ssh_command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_env_patterns_match_as_ssh_matches_them() {
        let p: Vec<String> = ["LANG", "LC_*", "-LC_SECRET", "X?"]
            .map(String::from)
            .to_vec();
        assert!(sends(&p, "LANG") && sends(&p, "LC_ALL") && sends(&p, "XY"));
        assert!(!sends(&p, "LANGUAGE") && !sends(&p, "LC_SECRET") && !sends(&p, "XYZ"));
        assert!(!sends(&p, "COCPIT_SERVE_SK"));
        assert!(!sends(&[], "LANG"));
    }

    #[test]
    fn the_engines_own_variables_never_travel_to_a_host() {
        let vars = [
            ("LANG", "C"),
            ("COCPIT_SERVE_SK", "s"),
            ("HUAWEICLOUD_SDK_SK", "h"),
            ("TENCENTCLOUD_SECRET_KEY", "t"),
            ("X", "1"),
        ]
        .map(|(k, v)| (k.into(), v.into()));
        assert_eq!(sent(&["*".into()], vars.into_iter()), ["LANG=C", "X=1"]);
    }
}
