//! Running one command on one host, to its end: output (masked, as it arrives), a timeout and an
//! operator's stop that kill the whole process group (over ssh too), and a verdict.
//!
//! Script orders, agent tasks, desktop installs and TAT invokers all run through here; each
//! decides what to do with the output and how to name the verdict.

use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

use super::StopReason;
use super::leftovers;
use super::masters::Masters;
use super::output::Lines;
use super::transport::{Launch, Output, PGID_MARKER, Process, SshSettings};
use crate::settings::{Host, RunLimits, TransportKind};

/// What running on a host needs, and all it gets: the ssh settings and masters, the limits every
/// run starts under, and where runs get their working directories. Every kind of run (script
/// instances, agent tasks, desktop installs, TAT fires) holds this, not the engine.
pub(crate) struct Hosts {
    pub(crate) ssh: SshSettings,
    pub(crate) masters: std::sync::Arc<Masters>,
    pub(crate) limits: RunLimits,
    pub(crate) work_dir: std::path::PathBuf,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Exit code 0.
    Succeeded,
    /// It ran and failed: a non-zero exit, a signal, ssh or the host refusing.
    Failed {
        exit_code: Option<i32>,
        reason: String,
    },
    TimedOut {
        reason: String,
    },
    Stopped {
        reason: String,
    },
}

impl Verdict {
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Verdict::Succeeded => Some(0),
            Verdict::Failed { exit_code, .. } => *exit_code,
            _ => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Succeeded => None,
            Verdict::Failed { reason, .. }
            | Verdict::TimedOut { reason }
            | Verdict::Stopped { reason } => Some(reason),
        }
    }
}

/// Where a run's output goes: whole lines of one stream at a time (only a stream's last line
/// may lack its newline, or a piece of an overlong line), already masked, control sequences
/// still raw.
pub trait OutputSink {
    fn write(&mut self, data: &[u8], stderr: bool);
}

/// Output kept in memory up to a cap, with the count of what was dropped.
#[derive(Debug, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub dropped: u64,
    pub cap: usize,
}

impl Captured {
    pub fn with_cap(cap: usize) -> Self {
        Captured {
            cap,
            ..Default::default()
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl OutputSink for Captured {
    fn write(&mut self, data: &[u8], _stderr: bool) {
        let room = self.cap.saturating_sub(self.bytes.len());
        let kept = data.len().min(room);
        self.bytes.extend_from_slice(&data[..kept]);
        self.dropped += (data.len() - kept) as u64;
    }
}

/// A run that only its timeout stops, its output kept up to `cap` bytes: an agent task, a TAT
/// fire's task. `work` names its working directory under the engine's.
pub(crate) async fn run_captured(
    hosts: &Hosts,
    host: &Host,
    launch: &Launch,
    work: &str,
    timeout: Duration,
    secrets: &[String],
    cap: usize,
) -> (Verdict, Captured) {
    let (_never_stopped, stop_rx) = watch::channel(None);
    let mut out = Captured::with_cap(cap);
    let workdir = hosts.work_dir.join(work);
    let verdict = run(
        hosts, host, launch, &workdir, timeout, secrets, stop_rx, &mut out,
    )
    .await;
    (verdict, out)
}

/// Runs `launch` on `host` in `workdir` (removed afterwards) until it ends, times out or is
/// stopped through `stop_rx`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    hosts: &Hosts,
    host: &Host,
    launch: &Launch,
    workdir: &Path,
    timeout: Duration,
    secrets: &[String],
    stop_rx: watch::Receiver<Option<StopReason>>,
    sink: &mut (dyn OutputSink + Send),
) -> Verdict {
    prepare(hosts, host, launch, workdir)
        .await
        .run(timeout, secrets, stop_rx, sink)
        .await
}

/// A run made ready on its host ahead of its start: its process is up and waiting (over ssh,
/// the session open and the wrapper reading its bundle; locally, the interpreter reading its
/// go), so starting it costs a write to a pipe. Dropped unstarted, it is killed before anything
/// of the script ran, and its working directory goes with it.
pub(crate) struct Prepared {
    host: Host,
    token: String,
    process: std::io::Result<(Process, Output, Output)>,
    workdir: WorkDir,
}

/// A run's local working directory, removed when the run is done with it.
struct WorkDir(std::path::PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Makes a run of `launch` on `host` ready (see [`Prepared`]): waits for the host's ssh
/// master, then starts the process that waits.
pub(crate) async fn prepare(
    hosts: &Hosts,
    host: &Host,
    launch: &Launch,
    workdir: &Path,
) -> Prepared {
    hosts.masters.ready(host).await;
    // Every process of the run carries its token; whatever still does when it ends is killed.
    let token = leftovers::new_token();
    let mut launch = launch.clone();
    launch.env.push((leftovers::RUN_VAR.into(), token.clone()));
    launch.limits = hosts.limits;
    Prepared {
        host: host.clone(),
        token,
        process: Process::start(
            host,
            &launch,
            workdir,
            &hosts.ssh,
            hosts.masters.session(host),
        )
        .await,
        workdir: WorkDir(workdir.to_path_buf()),
    }
}

impl Prepared {
    /// Whether it still waits to be started: false when its process has already ended (a
    /// session that died with its connection), which a fresh [`prepare`] should replace.
    pub(crate) fn is_waiting(&mut self) -> bool {
        match &mut self.process {
            Ok((p, ..)) => !p.has_ended(),
            Err(_) => false,
        }
    }

    /// Starts the run and follows it to its end (see [`run`]).
    pub(crate) async fn run(
        self,
        timeout: Duration,
        secrets: &[String],
        stop_rx: watch::Receiver<Option<StopReason>>,
        sink: &mut (dyn OutputSink + Send),
    ) -> Verdict {
        let Prepared {
            host,
            token,
            process,
            workdir,
        } = self;
        let started = process.map(|(mut p, out, err)| {
            p.release();
            (p, out, err)
        });
        let verdict = match started {
            Ok((proc, stdout, stderr)) => {
                supervise(&host, proc, stdout, stderr, timeout, secrets, stop_rx, sink).await
            }
            Err(e) => Verdict::Failed {
                exit_code: None,
                reason: format!("cannot start the script: {e}"),
            },
        };
        // Under the containment helper a local run's leftovers are already gone; without it
        // (an engine embedded in another program) they are found by the token. /proc is read
        // off the async workers.
        if host.transport == TransportKind::Local && super::contain::helper().is_none() {
            let mark = format!("{}={token}", leftovers::RUN_VAR);
            let _ = tokio::task::spawn_blocking(move || leftovers::kill_marked(&[mark])).await;
        }
        drop(workdir);
        verdict
    }
}

enum Ended {
    Exited(std::io::Result<std::process::ExitStatus>),
    TimedOut,
    Stopped(StopReason),
}

/// Follows a started process to its end: output, timeout, an operator's stop.
#[allow(clippy::too_many_arguments)]
async fn supervise(
    host: &Host,
    mut proc: Process,
    stdout: Output,
    stderr: Output,
    timeout: Duration,
    secrets: &[String],
    mut stop_rx: watch::Receiver<Option<StopReason>>,
    sink: &mut (dyn OutputSink + Send),
) -> Verdict {
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(read_into(stdout, false, tx.clone()));
    tokio::spawn(read_into(stderr, true, tx));

    let mut out_lines = Lines::new(secrets);
    let mut err_lines = Lines::new(secrets);
    let mut pgid = PgidFilter::new();
    let mut last_stderr_line = String::new();
    let mut handle = |stderr: bool, data: Vec<u8>, pgid: &mut PgidFilter, last: &mut String| {
        if stderr {
            let masked = err_lines.push(&pgid.feed(&data));
            if let Some(line) = String::from_utf8_lossy(&masked)
                .lines()
                .rfind(|l| !l.trim().is_empty())
            {
                *last = line.trim().to_string();
            }
            sink.write(&masked, true);
        } else {
            sink.write(&out_lines.push(&data), false);
        }
    };

    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let ended = loop {
        tokio::select! {
            Some((stderr, data)) = rx.recv() => handle(stderr, data, &mut pgid, &mut last_stderr_line),
            status = proc.wait() => break Ended::Exited(status),
            _ = &mut deadline => break Ended::TimedOut,
            changed = stop_rx.changed() => {
                if changed.is_err() { continue; }
                let reason = stop_rx.borrow().clone();
                if let Some(r) = reason { break Ended::Stopped(r); }
            }
        }
    };
    if matches!(ended, Ended::TimedOut | Ended::Stopped(_)) {
        proc.kill(pgid.pgid).await;
    }
    // Drain what the process wrote before it ended; a background child that keeps the pipe
    // open must not hold the run forever.
    let drain = tokio::time::sleep(Duration::from_secs(2));
    tokio::pin!(drain);
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some((stderr, data)) => handle(stderr, data, &mut pgid, &mut last_stderr_line),
                None => break,
            },
            _ = &mut drain => break,
        }
    }
    let rest = pgid.finish();
    let tail = err_lines.push(&rest);
    sink.write(&tail, true);
    let tail = out_lines.finish();
    sink.write(&tail, false);
    let tail = err_lines.finish();
    sink.write(&tail, true);

    let secs = timeout.as_secs();
    let failed = |exit_code, reason: String| Verdict::Failed { exit_code, reason };
    match ended {
        Ended::TimedOut => Verdict::TimedOut {
            reason: format!("timed out after {secs} s; the script's process group was killed"),
        },
        Ended::Stopped(StopReason::Canceled(why)) => Verdict::Stopped { reason: why },
        Ended::Exited(Err(e)) => failed(None, format!("wait failed: {e}")),
        Ended::Exited(Ok(status)) => match status.code() {
            Some(0) => Verdict::Succeeded,
            Some(255) if host.transport == TransportKind::Ssh => failed(
                Some(255),
                format!("ssh failed (exit 255): {last_stderr_line}"),
            ),
            Some(125) => failed(
                Some(125),
                "could not prepare a working directory on the host".into(),
            ),
            Some(code) => failed(Some(code), format!("exit code {code}")),
            None => {
                use std::os::unix::process::ExitStatusExt;
                let sig = status.signal().unwrap_or(0);
                failed(None, format!("killed by signal {sig}"))
            }
        },
    }
}

/// Splits the wrapper's process-group line off the start of stderr.
#[derive(Default)]
struct PgidFilter {
    head: Option<Vec<u8>>,
    pgid: Option<i32>,
}

impl PgidFilter {
    fn new() -> Self {
        PgidFilter {
            head: Some(Vec::new()),
            pgid: None,
        }
    }

    /// Returns the bytes that belong to the script's stderr.
    fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Some(head) = self.head.as_mut() else {
            return chunk.to_vec();
        };
        head.extend_from_slice(chunk);
        let marker = PGID_MARKER.as_bytes();
        let n = head.len().min(marker.len());
        if head[..n] != marker[..n] {
            return self.head.take().unwrap_or_default();
        }
        let Some(nl) = head.iter().position(|&b| b == b'\n') else {
            return Vec::new();
        };
        let line = String::from_utf8_lossy(&head[marker.len()..nl]).into_owned();
        self.pgid = line.trim().parse().ok();
        let rest = head[nl + 1..].to_vec();
        self.head = None;
        rest
    }

    fn finish(&mut self) -> Vec<u8> {
        self.head.take().unwrap_or_default()
    }
}

async fn read_into(
    mut r: impl tokio::io::AsyncRead + Unpin,
    stderr: bool,
    tx: mpsc::Sender<(bool, Vec<u8>)>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send((stderr, buf[..n].to_vec())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_output_keeps_the_cap_and_counts_the_rest() {
        let mut c = Captured::with_cap(5);
        c.write(b"abc", false);
        c.write(b"defg", true);
        assert_eq!(c.text(), "abcde");
        assert_eq!(c.dropped, 2);
    }
}
