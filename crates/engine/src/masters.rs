//! ssh master connections, opened ahead of need through one queue.
//!
//! A rollout over ssh is bound by key exchanges. Batches must run in order, but connections need
//! not wait for their batch: the runner asks for the current batch's hosts first and the next
//! two batches' after them, a dispatcher opens at most [`IN_FLIGHT`] masters at a time in that
//! order, and each instance waits for its host's master before it starts its script over it.
//! So the handshakes form one sliding window across batches instead of a burst per batch.
//! A host whose master cannot be opened still runs: its own connection reports the error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, watch};

use super::transport::{SshSettings, prewarm};
use crate::settings::{Host, TransportKind};

/// Masters being opened at once, engine-wide.
pub const IN_FLIGHT: usize = 10;

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
}

impl Masters {
    pub fn new(settings: SshSettings) -> Arc<Masters> {
        Arc::new_cyclic(|me| Masters {
            settings,
            me: me.clone(),
            queue: OnceLock::new(),
            pending: Mutex::new(HashMap::new()),
            outcomes: Mutex::new(HashMap::new()),
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
                        drop(permit);
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

    /// Whether `host`'s master socket exists (a master is up).
    pub fn is_up(&self, host: &Host) -> bool {
        self.settings.control_path(host).exists()
    }

    /// Queues the opening of `host`'s master unless it is up or already queued.
    pub fn request(&self, host: &Host) {
        if host.transport != TransportKind::Ssh || self.settings.control_path(host).exists() {
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

    /// Waits until `host`'s master is up or its opening has ended (bounded by the connect
    /// timeout and a margin): after this, a run multiplexes over it when it exists.
    pub async fn ready(&self, host: &Host) {
        if host.transport != TransportKind::Ssh {
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
