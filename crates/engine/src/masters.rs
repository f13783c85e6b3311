//! ssh master connections, opened ahead of need through one queue.
//!
//! A rollout over ssh is bound by key exchanges. Batches must run in order, but connections need
//! not wait for their batch: the runner asks for the current batch's hosts first and the next
//! two batches' after them, a dispatcher opens at most [`IN_FLIGHT`] masters at a time in that
//! order, and each instance waits for its host's master before it starts its script over it.
//! So the handshakes form one sliding window across batches instead of a burst per batch.
//! A host whose master cannot be opened still runs: its own connection reports the error.
//!
//! Masters outlive their order for `[ssh] keep` seconds after their last use, so a run again
//! pays no handshake. A kept master is checked (`ssh -O check`, a local exchange) before the
//! first run of each batch that wants it, and before any use once [`VERIFY_AFTER`] has passed
//! without one, and reopened if it died; every master is closed
//! (`ssh -O exit`) when the engine exits, and those a crashed engine left behind when the next
//! one starts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, watch};

use super::transport::{SshSettings, prewarm, session_env};
use crate::settings::{Host, TransportKind};

/// Masters being opened at once, engine-wide.
pub const IN_FLIGHT: usize = 10;

/// A master used or checked this recently is trusted without another check.
pub const VERIFY_AFTER: Duration = Duration::from_secs(30);

/// How long closing the masters may take in all.
const CLOSE_WITHIN: Duration = Duration::from_secs(5);

type Request = (Host, watch::Sender<bool>);

/// How opening a host's master ended (`Err` with ssh's words), and when.
pub type Outcome = (Result<(), String>, Instant);

pub struct Masters {
    settings: SshSettings,
    me: Weak<Masters>,
    /// The dispatcher's queue, started on first use (so an engine without ssh hosts, or one
    /// built outside a runtime, spawns nothing).
    queue: OnceLock<mpsc::UnboundedSender<Request>>,
    /// Hosts whose master is queued or being opened; the flag turns true when that has ended.
    pending: Mutex<HashMap<String, watch::Receiver<bool>>>,
    /// How the last opening of each host's master ended: reachability, as far as we know.
    outcomes: Mutex<HashMap<String, Outcome>>,
    /// When each host's master was last known to work.
    verified: Mutex<HashMap<String, Instant>>,
    /// What a session over each host's master is given (see `transport::session_env`), read
    /// when the master opened: runs then open sessions themselves (see `mux`).
    envs: Mutex<HashMap<String, Arc<Vec<String>>>>,
    /// When each host's reachability was last checked in the background.
    probed: Mutex<HashMap<String, Instant>>,
}

impl Masters {
    pub fn new(settings: SshSettings) -> Arc<Masters> {
        Arc::new_cyclic(|me| Masters {
            settings,
            me: me.clone(),
            queue: OnceLock::new(),
            pending: Mutex::new(HashMap::new()),
            outcomes: Mutex::new(HashMap::new()),
            verified: Mutex::new(HashMap::new()),
            envs: Mutex::new(HashMap::new()),
            probed: Mutex::new(HashMap::new()),
        })
    }

    /// The queue, with its dispatcher: opens queued masters in order, [`IN_FLIGHT`] at a time.
    fn queue(&self) -> &mpsc::UnboundedSender<Request> {
        self.queue.get_or_init(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
            let (settings, me) = (self.settings.clone(), self.me.clone());
            tokio::spawn(async move {
                let slots = Arc::new(Semaphore::new(IN_FLIGHT));
                while let Some((host, done)) = rx.recv().await {
                    let Ok(permit) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let (settings, me) = (settings.clone(), me.clone());
                    tokio::spawn(async move {
                        let outcome = prewarm(&host, &settings).await;
                        // The next master's handshake need not wait for this one's settings.
                        drop(permit);
                        if outcome.is_ok()
                            && let Some(env) = session_env(&host, &settings).await
                            && let Some(m) = me.upgrade()
                        {
                            m.envs
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(host.id.clone(), Arc::new(env));
                        }
                        if let (Ok(()), Some(m)) = (&outcome, me.upgrade()) {
                            m.verified_now(&host.id);
                        }
                        let label = if outcome.is_ok() { "ok" } else { "failed" };
                        metrics::counter!(crate::metric::SSH_MASTERS, "outcome" => label)
                            .increment(1);
                        if let Some(m) = me.upgrade() {
                            m.outcomes
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(host.id.clone(), (outcome, Instant::now()));
                        }
                        let _ = done.send(true);
                        if let Some(m) = me.upgrade() {
                            m.pending
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .remove(&host.id);
                        }
                    });
                }
            });
            tx
        })
    }

    /// How the last opening of `host`'s master went, and when.
    pub fn outcome(&self, id: &str) -> Option<Outcome> {
        self.outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Master connections up now: the control sockets present.
    pub fn open_count(&self) -> usize {
        std::fs::read_dir(&self.settings.control_dir).map_or(0, |d| d.count())
    }

    /// Where a run on `host` opens its session itself, over the master (see `mux`), and with
    /// what environment: `None` when no master is up, or its client configuration could not be
    /// read (the run starts an ssh client then).
    pub fn session(&self, host: &Host) -> Option<(std::path::PathBuf, Arc<Vec<String>>)> {
        let socket = self.settings.control_path(host);
        let env = self
            .envs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&host.id)
            .cloned()?;
        socket.exists().then_some((socket, env))
    }

    /// What is known of whether `h` answers: local hosts do; an ssh host does when its master
    /// is up or last opened; `None` until first checked. Asking of a host whose knowledge is
    /// older than [`crate::PROBE_EVERY`] checks it again in the background (by opening its
    /// master, which a run then reuses) and calls `checked` when the answer is in.
    pub fn reachability(
        &self,
        h: &Host,
        checked: impl FnOnce() + Send + 'static,
    ) -> Option<Result<(), String>> {
        if h.transport == TransportKind::Local {
            return Some(Ok(()));
        }
        if self.is_up(h) {
            return Some(Ok(()));
        }
        let known = self.outcome(&h.id);
        let stale = known
            .as_ref()
            .is_none_or(|(_, at)| at.elapsed() > crate::PROBE_EVERY);
        if stale && tokio::runtime::Handle::try_current().is_ok() {
            let mut probed = self.probed.lock().unwrap_or_else(|p| p.into_inner());
            let due = probed
                .get(&h.id)
                .is_none_or(|at| at.elapsed() > crate::PROBE_EVERY);
            if due && let Some(me) = self.me.upgrade() {
                probed.insert(h.id.clone(), Instant::now());
                let host = h.clone();
                tokio::spawn(async move {
                    me.ready(&host).await;
                    checked();
                });
            }
        }
        known.map(|(r, _)| r)
    }

    /// Whether `host`'s master socket exists (a master is up).
    pub fn is_up(&self, host: &Host) -> bool {
        self.settings.control_path(host).exists()
    }

    /// Queues the opening of `host`'s master unless it is up or already queued. One that is
    /// up was opened for an earlier order, or batch: it is checked before its next use.
    pub fn request(&self, host: &Host) {
        if host.transport != TransportKind::Ssh {
            return;
        }
        if self.settings.control_path(host).exists() {
            self.verified
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&host.id);
            return;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.contains_key(&host.id) {
            return;
        }
        let (tx, rx) = watch::channel(false);
        pending.insert(host.id.clone(), rx);
        let _ = self.queue().send((host.clone(), tx));
    }

    fn verified_now(&self, id: &str) {
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), Instant::now());
    }

    /// Whether `host`'s master (its socket is there) still works: trusted when it was seen
    /// working within [`VERIFY_AFTER`], else asked. A dead one's socket is removed.
    async fn alive(&self, host: &Host) -> bool {
        let recent = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&host.id)
            .is_some_and(|at| at.elapsed() < VERIFY_AFTER);
        if recent {
            return true;
        }
        let socket = self.settings.control_path(host);
        if super::mux::alive(&socket).await {
            self.verified_now(&host.id);
            return true;
        }
        tracing::info!(host = %host.id, "ssh master gone; opening a new one");
        let _ = std::fs::remove_file(&socket);
        false
    }

    /// Waits until `host`'s master is up or its opening has ended (bounded by the connect
    /// timeout and a margin): after this, a run multiplexes over it when it exists. A kept
    /// master is checked first ([`Masters::alive`]) and replaced if it died.
    pub async fn ready(&self, host: &Host) {
        if host.transport != TransportKind::Ssh {
            return;
        }
        if self.settings.control_path(host).exists() && self.alive(host).await {
            return;
        }
        self.request(host);
        let rx = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&host.id)
            .cloned();
        if let Some(mut rx) = rx {
            let limit = Duration::from_secs(self.settings.connect_timeout + 5);
            let _ = tokio::time::timeout(limit, rx.wait_for(|done| *done)).await;
        }
    }
}

impl Masters {
    /// Closes every master (`ssh -O exit` on each socket, all at once, bounded by
    /// [`CLOSE_WITHIN`]) and removes their sockets; the number that answered.
    pub fn close_all(&self) -> usize {
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        close_masters(&self.settings.control_dir)
    }
}

impl Drop for Masters {
    fn drop(&mut self) {
        close_masters(&self.settings.control_dir);
    }
}

/// Closes the masters whose sockets are in `dir` (left by this engine, or by one that
/// crashed): each gets `ssh -O exit`, in parallel, within [`CLOSE_WITHIN`]; then the sockets
/// go. Blocking: for exit paths and start-up.
pub fn close_masters(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let sockets: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_none())
        .collect();
    let mut children: Vec<std::process::Child> = sockets
        .iter()
        .filter_map(|socket| {
            std::process::Command::new("ssh")
                .arg("-o")
                .arg(format!("ControlPath={}", socket.display()))
                .args(["-O", "exit", "cocpit-master"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .ok()
        })
        .collect();
    let deadline = Instant::now() + CLOSE_WITHIN;
    let mut answered = 0;
    for child in &mut children {
        loop {
            match child.try_wait() {
                Ok(Some(st)) => {
                    answered += usize::from(st.success());
                    break;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
            }
        }
    }
    for socket in &sockets {
        let _ = std::fs::remove_file(socket);
    }
    if answered > 0 {
        tracing::info!(masters = answered, "ssh masters closed");
    }
    answered
}
