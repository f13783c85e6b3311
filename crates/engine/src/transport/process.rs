//! A started script, or one made ready and waiting for its go: its output, its exit, and
//! stopping its whole process group (over ssh too).

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use super::*;
use crate::settings::Host;

/// A process's standard output or error, as it arrives.
pub type Output = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

/// What runs a script: a child process (a local interpreter, or an ssh client), or a session
/// the engine opened over the host's ssh master itself (see [`super::mux`]).
enum Runner {
    Child(Child),
    Session(crate::mux::Session),
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
            match crate::mux::open(socket, &wrapper, env, theirs).await {
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
                let mut c = match crate::contain::helper() {
                    Some(helper) => {
                        let mut c = Command::new(helper);
                        c.arg(crate::contain::ARG).arg(interpreter);
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
                let mut c = ssh_command();
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
                        .map(crate::leftovers::remote_kill)
                        .unwrap_or_default();
                    let remote = format!(
                        "kill -TERM -- -{pgid} 2>/dev/null; i=0; while kill -0 -- -{pgid} 2>/dev/null && [ $i -lt 20 ]; \
                         do sleep 0.1; i=$((i+1)); done; kill -KILL -- -{pgid} 2>/dev/null; {leftovers}; true"
                    );
                    let over_master = match &self.master {
                        Some((socket, env)) => {
                            crate::mux::run_quiet(socket, &remote, env).await.is_ok()
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
