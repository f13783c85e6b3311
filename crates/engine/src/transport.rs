//! Starting a script on a host and stopping it again, for the `local` and `ssh` transports.
//!
//! `local`: the script is written into the instance's own working directory and its interpreter
//! started directly, in a new process group, with the parameters in its environment and
//! arguments — one process, so a fan-out spends its CPU on the scripts, not on plumbing.
//!
//! `ssh`: a small POSIX `sh` wrapper reads a *bundle* from standard input into a private
//! temporary directory (so the script travels over the connection itself, and sensitive values
//! never appear on a command line), reports its process-group id on stderr, then sources the
//! bundle, which writes the script, exports the parameters and runs the interpreter.
//!
//! Killing means signalling the whole process group: directly for `local`, over a second ssh
//! connection for `ssh` (closing the first does not stop a remote script).

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use crate::settings::{Host, TransportKind};
use cocpit_api::model::script::ScriptType;

/// What starts a local run made ready ahead: its interpreter waits to read it (see
/// [`launcher`]).
pub const GO: &[u8] = b"\n";

/// Prefix of the line on stderr that carries the wrapper's process-group id.
pub const PGID_MARKER: &str = "\u{1e}cocpit-pgid ";

/// The wrapper: read the bundle, report the process group, run; its directory goes when it
/// ends, however it ends. It may wait a while for its bundle (a run made ready ahead of its
/// batch), and a bundle cut short (the engine called the run off, or died) must run nothing:
/// the bundle is one `{ … }` group, so sh parses it whole before running any of it, and a
/// missing end is a syntax error.
const WRAPPER: &str = r#"d=$(mktemp -d "${TMPDIR:-/tmp}/cocpit.XXXXXX") || exit 125
trap 'cd /; rm -rf "$d"' EXIT
trap 'exit 143' TERM INT HUP
cat > "$d/bundle" || exit 125
printf '\036cocpit-pgid %s\n' "$$" >&2
cd "$d" && . ./bundle"#;

/// What to run: the script, its arguments (from `param_order`) and environment.
#[derive(Debug, Clone)]
pub struct Launch {
    pub script_type: ScriptType,
    pub content: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// `[runner]` limits, set by the launcher before the script starts.
    pub limits: crate::settings::RunLimits,
}

/// The first of `candidates` found on `PATH`, else the last one (whose failure to start then
/// names it).
fn find_program(candidates: &[&'static str]) -> &'static str {
    let path = std::env::var_os("PATH").unwrap_or_default();
    candidates
        .iter()
        .copied()
        .find(|c| std::env::split_paths(&path).any(|d| d.join(c).is_file()))
        .unwrap_or(candidates[candidates.len() - 1])
}

/// The engine's variables a script starts with: where programs are, who and where it runs as,
/// and how text and time are shown. Everything else (the engine's keys among it) stays out;
/// the script adds `COCPIT_*` and its declared parameters.
pub const INHERITED_ENV: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ"];

fn inherited_env() -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            INHERITED_ENV.contains(&k.as_ref()) || k.starts_with("LC_")
        })
        .collect()
}

/// How the interpreter starts `./script` with its arguments, though none is on a command line
/// (where `ps` shows it to every user of the host): they travel in `COCPIT_ARG_1`… (see
/// [`argv_env`]) and this short program, the same for every run, sets them.
///
/// With `waits`, the interpreter is started ahead of its run (see `exec::Prepared`): it first
/// reads the go ([`GO`]) from its standard input, which then becomes `/dev/null`; an end of
/// input instead (the run called off, the engine gone) runs nothing.
fn launcher(l: &Launch, waits: bool) -> String {
    let lim = l.limits;
    match l.script_type {
        ScriptType::Python => {
            let wait = if waits {
                "if os.read(0, 1) != b'\\n': sys.exit(125)\n\
                 null = os.open(os.devnull, os.O_RDONLY)\nos.dup2(null, 0)\nos.close(null)\n"
            } else {
                ""
            };
            let mut set = String::new();
            for (name, v) in [
                ("RLIMIT_AS", lim.memory_mb.map(|m| m * 1024 * 1024)),
                ("RLIMIT_NPROC", lim.processes),
                ("RLIMIT_CPU", lim.cpu_seconds),
            ] {
                if let Some(v) = v {
                    set.push_str(&format!(
                        "resource.setrlimit(resource.{name}, ({v}, {v}))\n"
                    ));
                }
            }
            format!(
                "import os, resource, runpy, sys\n{wait}{set}\
                 sys.argv = ['./script'] + [os.environ['COCPIT_ARG_%d' % i] \
                 for i in range(1, int(os.environ['COCPIT_ARGC']) + 1)]\n\
                 runpy.run_path('./script', run_name='__main__')"
            )
        }
        _ => {
            // A limit the shell cannot set fails the run (exit 125) rather than run unbounded.
            let mut set = String::new();
            for (flag, v) in [
                ("-v", lim.memory_mb.map(|m| m * 1024)),
                ("-u", lim.processes),
                ("-t", lim.cpu_seconds),
            ] {
                if let Some(v) = v {
                    set.push_str(&format!(
                        "ulimit {flag} {v} || {{ echo 'cannot set ulimit {flag} {v}' >&2; exit 125; }}; "
                    ));
                }
            }
            let args: String = (1..=l.args.len())
                .map(|i| format!(" \"$COCPIT_ARG_{i}\""))
                .collect();
            let wait = if waits {
                "IFS= read -r cocpit_go || exit 125; unset cocpit_go; exec </dev/null; "
            } else {
                ""
            };
            format!("{wait}{set}set --{args}; . ./script")
        }
    }
}

/// The arguments as environment variables for [`launcher`]: `COCPIT_ARGC` and `COCPIT_ARG_n`.
fn argv_env(l: &Launch) -> impl Iterator<Item = (String, String)> + '_ {
    std::iter::once(("COCPIT_ARGC".to_string(), l.args.len().to_string())).chain(
        l.args
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("COCPIT_ARG_{}", i + 1), v.clone())),
    )
}

/// The run's token in a launch's environment (hex, set by the engine), if it has one.
fn run_token(l: &Launch) -> Option<&str> {
    l.env
        .iter()
        .find(|(k, v)| k == super::leftovers::RUN_VAR && v.chars().all(|c| c.is_ascii_hexdigit()))
        .map(|(_, v)| v.as_str())
}

/// Quotes a string for POSIX sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The shell program the wrapper sources: it writes the script next to itself, exports the
/// parameters, runs the interpreter with the arguments and removes the directory afterwards.
pub fn bundle(l: &Launch) -> String {
    let delimiter = format!("COCPIT_EOF_{:016x}", fastrand::u64(..));
    let mut b = String::with_capacity(l.content.len() + 512);
    // One group, closed on the last line (see WRAPPER).
    b.push_str("{\n");
    b.push_str(&format!("cat > ./script <<'{delimiter}'\n"));
    b.push_str(&l.content);
    if !l.content.ends_with('\n') {
        b.push('\n');
    }
    b.push_str(&delimiter);
    // No mode to set: the directory is mktemp's (0700), and the interpreter reads the file.
    b.push('\n');
    // The run's token goes to the script only, not to this shell: the scan after it ends
    // must not find itself.
    for (k, v) in l.env.iter().cloned().chain(argv_env(l)) {
        if is_env_name(&k) && k != super::leftovers::RUN_VAR {
            b.push_str(&format!("export {k}={}\n", sh_quote(&v)));
        }
    }
    let token = run_token(l);
    let go = sh_quote(&launcher(l, false));
    let run = match l.script_type {
        ScriptType::Shell => {
            // --norc: bash started under sshd (SSH_CLIENT set, a low SHLVL) would read the
            // user's ~/.bashrc, an interactive file, into the script.
            format!(
                "if command -v bash >/dev/null 2>&1; then bash --norc -c {go}; else sh -c {go}; fi"
            )
        }
        ScriptType::Python => format!(
            "if command -v python3 >/dev/null 2>&1; then python3 -c {go}; else python -c {go}; fi"
        ),
        ScriptType::Bat => {
            "echo 'BAT scripts need a Windows host with cmd.exe' >&2; (exit 126)".to_string()
        }
    };
    match token {
        Some(t) => {
            b.push_str(&format!(
                "( export {}={t}; {run} ) </dev/null\nrc=$?\n{}\n",
                super::leftovers::RUN_VAR,
                super::leftovers::remote_kill(t)
            ));
        }
        None => {
            b.push_str(&run);
            b.push_str(" </dev/null\nrc=$?\n");
        }
    }
    // The wrapper's EXIT trap removes the directory.
    b.push_str("exit $rc\n}\n");
    b
}

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
    let status = Command::new("ssh")
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
        Command::new("ssh")
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
    // A variable that is not text is not sent (and must not panic the engine).
    for (k, v) in std::env::vars_os() {
        if let (Some(k), Some(v)) = (k.to_str(), v.to_str())
            && sends(&send, k)
        {
            env.push(format!("{k}={v}"));
        }
    }
    Some(env)
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
    args.push(super::leftovers::remote_kill_marked(marks));
    quiet_ssh(&args).await;
}

/// Runs ssh for its effect only (a remote kill); its output is of no use.
async fn quiet_ssh(args: &[String]) {
    let _ = Command::new("ssh")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await;
}

/// A process's standard output or error, as it arrives.
pub type Output = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

/// What runs a script: a child process (a local interpreter, or an ssh client), or a session
/// the engine opened over the host's ssh master itself (see [`super::mux`]).
enum Runner {
    Child(Child),
    Session(super::mux::Session),
}

/// A host's master, to open sessions over: its control socket and what a session is given.
pub type MasterSession = (std::path::PathBuf, std::sync::Arc<Vec<String>>);

/// A started script, or one waiting to start (see [`Process::release`]).
pub struct Process {
    runner: Runner,
    kind: TransportKind,
    ssh: Vec<String>,
    /// The host's master, for a remote kill without an ssh client.
    master: Option<MasterSession>,
    local_pgid: Option<i32>,
    /// The run's token (see [`super::leftovers`]), when the launch carries one.
    token: Option<String>,
    /// What starts it: the bundle for the ssh wrapper, or the go for the local interpreter;
    /// `None` once given.
    go: Option<(Box<dyn tokio::io::AsyncWrite + Send + Unpin>, Vec<u8>)>,
}

/// An exit value as the wait status of a process that exited with it.
fn exited_with(code: u32) -> std::process::ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    std::process::ExitStatus::from_raw(((code & 0xff) << 8) as i32)
}

/// Three pipes for a session's standard input, output and error: the ends the master gets
/// (its input's read end, the outputs' write ends), and the engine's.
type Pipes = ([std::os::fd::OwnedFd; 3], [std::os::fd::OwnedFd; 3]);

fn pipes() -> std::io::Result<Pipes> {
    let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from);
    let (in_r, in_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    Ok(([in_r, out_w, err_w], [in_w, out_r, err_r]))
}

impl Process {
    /// Starts the process of `launch` on `host` in its own process group, waiting for
    /// [`Process::release`] to run the script; returns the process and its output pipes.
    /// `workdir` is the instance's working directory for the `local` transport (created here;
    /// the caller removes it when the instance ends). Over ssh with `master`, the session is
    /// opened over the host's master directly; without (or if that fails) an ssh client runs.
    pub async fn start(
        host: &Host,
        launch: &Launch,
        workdir: &std::path::Path,
        ssh_settings: &SshSettings,
        master: Option<MasterSession>,
    ) -> std::io::Result<(Process, Output, Output)> {
        let ssh = ssh_args(host, ssh_settings);
        let master = master.filter(|_| host.transport == TransportKind::Ssh);
        let token = run_token(launch).map(str::to_string);
        let wrapper = format!("exec sh -c {}", sh_quote(WRAPPER));
        if let Some((socket, env)) = &master {
            let (theirs, [stdin, stdout, stderr]) = pipes()?;
            match super::mux::open(socket, &wrapper, env, theirs).await {
                Ok(session) => {
                    use tokio::net::unix::pipe;
                    let process = Process {
                        runner: Runner::Session(session),
                        kind: host.transport,
                        ssh,
                        master: master.clone(),
                        local_pgid: None,
                        token,
                        go: Some((
                            Box::new(pipe::Sender::from_owned_fd(stdin)?),
                            bundle(launch).into_bytes(),
                        )),
                    };
                    let stdout: Output = Box::new(pipe::Receiver::from_owned_fd(stdout)?);
                    let stderr: Output = Box::new(pipe::Receiver::from_owned_fd(stderr)?);
                    return Ok((process, stdout, stderr));
                }
                Err(e) => {
                    tracing::info!(host = %host.id, "ssh master session: {e}; starting an ssh client")
                }
            }
        }
        // What the process waits for on its standard input before it runs the script.
        let (mut cmd, go_input) = match host.transport {
            TransportKind::Local => {
                std::fs::create_dir_all(workdir)?;
                let script = workdir.join("script");
                std::fs::write(&script, &launch.content)?;
                let interpreter = match launch.script_type {
                    ScriptType::Shell => find_program(&["bash", "sh"]),
                    ScriptType::Python => find_program(&["python3", "python"]),
                    ScriptType::Bat => {
                        return Err(std::io::Error::other(
                            "BAT scripts need a Windows host with cmd.exe",
                        ));
                    }
                };
                // Through the containment helper when there is one: everything the script
                // starts is killed when it ends, whatever it does to escape.
                let mut c = match super::contain::helper() {
                    Some(helper) => {
                        let mut c = Command::new(helper);
                        c.arg(super::contain::ARG).arg(interpreter);
                        c
                    }
                    None => Command::new(interpreter),
                };
                c.arg("-c")
                    .arg(launcher(launch, true))
                    // A clean start: never the engine's own environment (its keys live there).
                    .env_clear()
                    .envs(inherited_env())
                    .envs(launch.env.iter().filter(|(k, _)| is_env_name(k)).cloned())
                    .envs(argv_env(launch))
                    .current_dir(workdir)
                    .stdin(Stdio::piped());
                (c, GO.to_vec())
            }
            TransportKind::Ssh => {
                let mut c = Command::new("ssh");
                c.args(&ssh).arg(&wrapper).stdin(Stdio::piped());
                (c, bundle(launch).into_bytes())
            }
        };
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let local_pgid = child.id().map(|p| p as i32);
        let go = child.stdin.take().map(|stdin| {
            (
                Box::new(stdin) as Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
                go_input,
            )
        });
        let stdout: Output = Box::new(child.stdout.take().expect("stdout is piped"));
        let stderr: Output = Box::new(child.stderr.take().expect("stderr is piped"));
        let process = Process {
            runner: Runner::Child(child),
            kind: host.transport,
            ssh,
            master: None,
            local_pgid,
            token,
            go,
        };
        Ok((process, stdout, stderr))
    }

    /// Runs the script of a waiting process: hands the ssh wrapper its bundle, or the local
    /// interpreter its go. A host that died meanwhile shows up as the process's failure.
    pub fn release(&mut self) {
        if let Some((mut stdin, input)) = self.go.take() {
            tokio::spawn(async move {
                let _ = stdin.write_all(&input).await;
                let _ = stdin.shutdown().await;
            });
        }
    }

    /// Waits for the script's end.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        match &mut self.runner {
            Runner::Child(c) => c.wait().await,
            // Without an exit status the script's end is unknown: say so, not "exit 255".
            Runner::Session(s) => s.wait().await.map(exited_with).ok_or_else(|| {
                std::io::Error::other(
                    "the ssh master connection closed before the script's exit status arrived",
                )
            }),
        }
    }

    /// Whether it has already ended.
    pub fn has_ended(&mut self) -> bool {
        match &mut self.runner {
            Runner::Child(c) => !matches!(c.try_wait(), Ok(None)),
            Runner::Session(s) => s.ended(),
        }
    }

    /// Stops the script's whole process group: TERM, then KILL for what is left after a grace
    /// period. `remote_pgid` is what the wrapper reported (ssh only).
    pub async fn kill(&mut self, remote_pgid: Option<i32>) {
        match self.kind {
            TransportKind::Local => {
                if let Some(pgid) = self.local_pgid {
                    let pg = Pid::from_raw(pgid);
                    let _ = killpg(pg, Signal::SIGTERM);
                    let exited = tokio::time::timeout(Duration::from_secs(2), self.wait()).await;
                    // Survivors of TERM (and the group's stragglers) get KILL either way.
                    let _ = killpg(pg, Signal::SIGKILL);
                    if exited.is_err() {
                        let _ = self.wait().await;
                    }
                }
            }
            TransportKind::Ssh => {
                if let Some(pgid) = remote_pgid {
                    // The group first; then whatever left it but carries the run's token.
                    let leftovers = self
                        .token
                        .as_deref()
                        .map(super::leftovers::remote_kill)
                        .unwrap_or_default();
                    let remote = format!(
                        "kill -TERM -- -{pgid} 2>/dev/null; i=0; while kill -0 -- -{pgid} 2>/dev/null && [ $i -lt 20 ]; \
                         do sleep 0.1; i=$((i+1)); done; kill -KILL -- -{pgid} 2>/dev/null; {leftovers}; true"
                    );
                    let over_master = match &self.master {
                        Some((socket, env)) => {
                            super::mux::run_quiet(socket, &remote, env).await.is_ok()
                        }
                        None => false,
                    };
                    if !over_master {
                        let mut args = self.ssh.clone();
                        args.push(remote);
                        quiet_ssh(&args).await;
                    }
                }
                match &mut self.runner {
                    Runner::Child(c) => {
                        if let Some(pgid) = self.local_pgid {
                            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
                        }
                        let _ = c.wait().await;
                    }
                    // The remote kill ends the session; if the host does not answer, closing
                    // the connection does.
                    Runner::Session(s) => {
                        if tokio::time::timeout(Duration::from_secs(5), s.wait())
                            .await
                            .is_err()
                        {
                            s.close();
                        }
                    }
                }
            }
        }
    }
}

impl Drop for Process {
    /// A process dropped before its release ran nothing of the script; what it started to wait
    /// (a local interpreter under the helper) goes with it, not only its first process.
    fn drop(&mut self) {
        if self.go.is_some()
            && let Some(pgid) = self.local_pgid
        {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
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
    fn quoting_survives_single_quotes() {
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn bundle_exports_only_valid_names_and_passes_args_in_order() {
        let b = bundle(&Launch {
            script_type: ScriptType::Shell,
            content: "echo $1".into(),
            args: vec!["a b".into(), "c'd".into()],
            env: vec![("name".into(), "v".into()), ("bad-name".into(), "x".into())],
            limits: Default::default(),
        });
        assert!(b.contains("export name='v'\n"));
        assert!(!b.contains("bad-name"));
        // The arguments travel as variables; the command line holds only the launcher.
        assert!(b.contains("export COCPIT_ARGC='2'\n"));
        assert!(b.contains("export COCPIT_ARG_1='a b'\n"));
        assert!(b.contains(r"export COCPIT_ARG_2='c'\''d'"));
        assert!(
            b.contains(r#"bash --norc -c 'set -- "$COCPIT_ARG_1" "$COCPIT_ARG_2"; . ./script'"#)
        );
    }

    /// Runs the wrapper locally on `input` with `TMPDIR` set to `tmp`: its stdout.
    fn wrapper_on(input: &[u8], tmp: &std::path::Path) -> String {
        use std::io::Write;
        let mut sh = std::process::Command::new("sh")
            .args(["-c", WRAPPER])
            .env("TMPDIR", tmp)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = sh.stdin.take().unwrap();
        stdin.write_all(input).unwrap();
        drop(stdin);
        String::from_utf8_lossy(&sh.wait_with_output().unwrap().stdout).into_owned()
    }

    /// A bundle cut short anywhere (the engine called the run off, or died while it waited)
    /// runs nothing of it, and the wrapper's directory goes either way.
    #[test]
    fn a_bundle_cut_short_runs_nothing_and_leaves_no_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let launch = Launch {
            script_type: ScriptType::Shell,
            content: "echo first line\necho second line".into(),
            args: vec![],
            env: vec![("name".into(), "v".into())],
            limits: Default::default(),
        };
        let whole = bundle(&launch);
        let out = wrapper_on(whole.as_bytes(), tmp.path());
        assert!(
            out.contains("first line") && out.contains("second line"),
            "{out}"
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        // Every cut that loses more than the last newline (with it, the whole script is there).
        for cut in [
            0,
            1,
            whole.len() / 3,
            whole.len() / 2,
            whole.len() - 3,
            whole.len() - 2,
        ] {
            let out = wrapper_on(&whole.as_bytes()[..cut], tmp.path());
            assert!(
                !out.contains("line"),
                "cut at {cut} of {}: {out}",
                whole.len()
            );
            assert_eq!(
                std::fs::read_dir(tmp.path()).unwrap().count(),
                0,
                "cut at {cut}"
            );
        }
    }

    /// A script run over ssh starts clean: bash, which sshd's variables would make read the
    /// user's ~/.bashrc, does not.
    #[test]
    fn the_wrapper_runs_a_script_without_the_users_bashrc() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".bashrc"), "echo FROM-BASHRC\n").unwrap();
        let launch = Launch {
            script_type: ScriptType::Shell,
            content: "echo script ran".into(),
            args: vec![],
            env: vec![],
            limits: Default::default(),
        };
        let mut sh = std::process::Command::new("sh")
            .args(["-c", WRAPPER])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("SSH_CLIENT", "127.0.0.1 40000 22")
            .env("SHLVL", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        sh.stdin
            .take()
            .unwrap()
            .write_all(bundle(&launch).as_bytes())
            .unwrap();
        let out = sh.wait_with_output().unwrap();
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("script ran"), "{out}");
        assert!(!out.contains("FROM-BASHRC"), "{out}");
    }
}
