//! The local engine: scripts and orders stored in SQLite, run on the inventory batch by batch.
//!
//! It implements the COC job API's semantics and publishes every change on a broadcast channel
//! ([`Change`]); it knows nothing of terminals or HTTP.

mod agents;
pub mod alarms;
pub mod audit;
pub mod clock;
pub mod contain;
mod desktops;
mod exec;
mod health;
mod incidents;
mod leftovers;
mod lifetime;
mod local;
mod masters;
pub mod metric;
mod mux;
mod orders;
pub mod output;
mod resources;
mod review;
mod runner;
pub mod scheduler;
mod scripts;
pub mod settings;
pub mod store;
pub mod transport;
mod vault;
mod views;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::fcntl::{Flock, FlockArg};
use tokio::sync::broadcast;

use crate::settings::{EngineSettings, Host, Setup};
pub use cocpit_api::event::Change;
use cocpit_api::model::order::*;
use cocpit_api::model::resource::{ListResourcesQuery, Resource};
use cocpit_api::model::script::*;
use cocpit_api::model::team::Caller;
use cocpit_api::model::validate::{self, Invalid, invalid};
use cocpit_api::model::{Page, order::OrderStatus};
pub use local::Local;
use store::{NewOrder, OrderFilter, ScriptFilter, ScriptRow, Store};

pub use cocpit_api::backend::Fault;

/// What went wrong: one of the API's failure kinds ([`Fault`], declared once, which the server
/// maps to status codes and `error_code`s), carried with the engine's own conversions (a store
/// error is an internal fault; a validation failure, an invalid request).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct EngineError(pub Fault);

impl From<Fault> for EngineError {
    fn from(f: Fault) -> Self {
        EngineError(f)
    }
}

impl From<Invalid> for EngineError {
    fn from(i: Invalid) -> Self {
        EngineError(Fault::Invalid(i))
    }
}

impl From<rusqlite::Error> for EngineError {
    fn from(e: rusqlite::Error) -> Self {
        EngineError(Fault::Internal(format!("store: {e}")))
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;

/// Why a running instance is being stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StopReason {
    Canceled(String),
}

/// The engine's insides: the services every domain shares (the store and its audit trail, the
/// inventory, settings, events, the clock) and each domain's own part, which holds that
/// domain's state and is all the domain's workers reach for (`exec` for every run on a host,
/// `runs` for the order driver, `alarms`, `schedule` for TAT).
pub(crate) struct Inner {
    pub(crate) store: Arc<Store>,
    /// The audit trail's ids and retention.
    pub(crate) trail: audit::Trail,
    pub(crate) hosts: Arc<BTreeMap<String, Host>>,
    pub(crate) settings: EngineSettings,
    /// Running on hosts: all a run needs (ssh, masters, limits, working directories).
    pub(crate) exec: Arc<exec::Hosts>,
    pub(crate) events: broadcast::Sender<Change>,
    /// The orders being driven and the instances running.
    pub(crate) runs: Arc<runner::Runs>,
    pub(crate) location: String,
    /// The alarm database, its group-commit writer and grouping.
    pub(crate) alarms: alarms::Alarms,
    pub(crate) agent_settings: Arc<crate::settings::AgentSettings>,
    pub(crate) clock: Arc<dyn clock::Clock>,
    /// The TAT invokers' next fire times, and what wakes the scheduler.
    pub(crate) schedule: Arc<scheduler::Timetable>,
    _lock_file: Option<Flock<std::fs::File>>,
}

impl Inner {
    pub(crate) fn emit(&self, e: Change) {
        // No subscriber is fine: events are notifications, the store is the truth.
        let _ = self.events.send(e);
    }

    /// The scheduler's handle for firing invokers: the shared services it uses and its own
    /// part, no more.
    pub(crate) fn fires(&self) -> scheduler::Fires {
        scheduler::Fires {
            store: self.store.clone(),
            hosts: self.hosts.clone(),
            exec: self.exec.clone(),
            schedule: self.schedule.clone(),
            events: self.events.clone(),
            clock: self.clock.clone(),
        }
    }

    /// Agent tasks' and desktop installs' handle: the shared services they use, no more.
    pub(crate) fn agent_work(&self) -> agents::Work {
        agents::Work {
            store: self.store.clone(),
            hosts: self.hosts.clone(),
            exec: self.exec.clone(),
            events: self.events.clone(),
            settings: self.agent_settings.clone(),
            clock: self.clock.clone(),
        }
    }

    /// The order driver's handle: the shared services it uses and its own part, no more.
    pub(crate) fn driver(&self) -> runner::Driver {
        runner::Driver {
            store: self.store.clone(),
            hosts: self.hosts.clone(),
            exec: self.exec.clone(),
            runs: self.runs.clone(),
            events: self.events.clone(),
            output_cap: self.settings.output_cap,
        }
    }
}

/// The engine handle; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// How long a host's reachability is taken as known.
pub const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `SC` / `SCT` + UTC timestamp + random hex, as the seeds' ids look
/// (`SC2023102521413701c4a8a62`: 25 characters; `SCT…`: 26).
/// A random (version 4) UUID, as CES and Workspace ids and TAT request ids look.
pub fn uuid4() -> String {
    let r = fastrand::u128(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        (r >> 96) as u32,
        (r >> 80) as u16,
        (r >> 68) as u16 & 0xfff,
        8 + ((r >> 66) as u8 & 3),
        (r >> 54) as u16 & 0xfff,
        r as u64 & 0xffff_ffff_ffff
    )
}

fn new_uuid(prefix: &str) -> String {
    let ts = chrono::Utc::now().format("%Y%m%d%H%M%S");
    format!("{prefix}{ts}{:09x}", fastrand::u64(..1 << 36))
}

pub const RESTART_REASON: &str = "the engine restarted while this instance was running; its \
     result is unknown. What it left running on this machine was killed; on an ssh host it is \
     killed once the host answers";

impl Engine {
    /// Opens the engine on `data_dir` (created if needed), recovers from a crash, and resumes
    /// open orders. Must be called inside a tokio runtime.
    pub fn open(data_dir: &Path, config: &Setup) -> Result<Engine> {
        Self::open_with_clock(data_dir, config, Arc::new(clock::SystemClock))
    }

    /// [`Engine::open`] with the given clock (tests move time by hand).
    pub fn open_with_clock(
        data_dir: &Path,
        config: &Setup,
        clock: Arc<dyn clock::Clock>,
    ) -> Result<Engine> {
        private_dir(data_dir).map_err(|e| {
            EngineError(Fault::Internal(format!(
                "cannot create data dir {}: {e}",
                data_dir.display()
            )))
        })?;
        let lock = lock_data_dir(data_dir)?;
        for db in ["cocpit.db", "alarms.db"] {
            intact(&data_dir.join(db))?;
        }
        let vault = vault::Vault::of_dir(data_dir).map_err(|e| {
            EngineError(Fault::Internal(format!(
                "the key of sensitive values in {}: {e}",
                data_dir.display()
            )))
        })?;
        // The databases (and the -wal and -shm SQLite makes beside them) are the owner's only.
        let (store, alarms) = {
            let _private = PrivateFiles::begin();
            (
                Store::open(&data_dir.join("cocpit.db"), vault)?,
                alarms::store::AlarmStore::open(&data_dir.join("alarms.db"))?,
            )
        };
        for name in ["cocpit.db", "alarms.db"] {
            for suffix in ["", "-wal", "-shm"] {
                owner_only(&data_dir.join(format!("{name}{suffix}")));
            }
        }
        let work = data_dir.join("work");
        // Working directories of a previous run belong to instances that have ended, and the
        // ssh masters a crashed engine left have no one to use them.
        masters::close_masters(&transport::control_dir(&work));
        let _ = std::fs::remove_dir_all(&work);
        Self::start(
            store,
            alarms,
            config,
            data_dir.display().to_string(),
            work,
            Some(lock),
            clock,
        )
    }

    /// An engine on an in-memory store (tests, benchmarks).
    pub fn in_memory(config: &Setup) -> Result<Engine> {
        let work = std::env::temp_dir().join(format!(
            "cocpit-work-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        Self::start(
            Store::open_in_memory()?,
            alarms::store::AlarmStore::open_in_memory()?,
            config,
            ":memory:".into(),
            work,
            None,
            Arc::new(clock::SystemClock),
        )
    }

    fn start(
        store: Store,
        alarm_store: alarms::store::AlarmStore,
        config: &Setup,
        location: String,
        work_dir: PathBuf,
        lock: Option<Flock<std::fs::File>>,
        clock: Arc<dyn clock::Clock>,
    ) -> Result<Engine> {
        // What the interrupted instances started is killed before they are marked: here, and
        // (below, once ssh is set up) on their ssh hosts.
        let interrupted = store.running_instances()?;
        let hosts: std::collections::BTreeMap<String, crate::settings::Host> = config
            .inventory
            .fleet()
            .into_iter()
            .map(|h| (h.id.clone(), h))
            .collect();
        for (eid, id, resource_id) in &interrupted {
            let local = hosts
                .get(resource_id)
                .is_some_and(|h| h.transport == crate::settings::TransportKind::Local);
            if local {
                leftovers::kill_marked(&leftovers::instance_marks(eid, *id));
            }
        }
        store.recover_after_restart(RESTART_REASON, now_ms())?;
        let (events, _) = broadcast::channel(4096);
        let ssh = transport::SshSettings {
            connect_timeout: config.engine.ssh_connect_timeout,
            keep: config.ssh.keep,
            control_dir: transport::control_dir(&work_dir),
        };
        let trail = audit::Trail::open(&store, &alarm_store)?;
        let alarm_store = Arc::new(alarm_store);
        let alarm_writer = alarms::Writer::start(alarm_store.clone(), events.clone());
        let inner = Arc::new(Inner {
            alarms: alarms::Alarms {
                store: alarm_store,
                writer: alarm_writer,
                group_by: config.alarms.group_by.clone(),
            },
            store: Arc::new(store),
            trail,
            hosts: Arc::new(hosts),
            settings: config.engine.clone(),
            exec: Arc::new(exec::Hosts {
                masters: masters::Masters::new(ssh.clone()),
                ssh,
                limits: config.runner,
                work_dir,
            }),
            events,
            runs: Default::default(),
            location,
            agent_settings: Arc::new(config.agents.clone()),
            clock,
            schedule: Default::default(),
            _lock_file: lock,
        });
        for (eid, id, resource_id) in interrupted {
            if let Some(host) = inner
                .hosts
                .get(&resource_id)
                .filter(|h| h.transport == crate::settings::TransportKind::Ssh)
                .cloned()
            {
                let ssh = inner.exec.ssh.clone();
                tokio::spawn(async move {
                    let marks = leftovers::instance_marks(&eid, id);
                    transport::kill_remote_marked(&host, &ssh, &marks).await;
                });
            }
        }
        for o in inner.store.open_orders()? {
            runner::ensure_driver(&inner.driver(), o.id);
        }
        agents::recover(&inner.agent_work())?;
        desktops::recover(&inner.agent_work())?;
        scheduler::start(&inner)?;
        Ok(Engine { inner })
    }

    /// Where the data lives (a path, or `:memory:`).
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.events.subscribe()
    }

    // ---------------------------------------------------------------- resources
}

/// Takes an exclusive lock on the data directory so two engines never drive the same orders.
/// The lock lives as long as the engine (dropping the `Flock` releases it).
fn lock_data_dir(dir: &Path) -> Result<Flock<std::fs::File>> {
    let path: PathBuf = dir.join("engine.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            EngineError(Fault::Internal(format!(
                "cannot open {}: {e}",
                path.display()
            )))
        })?;
    // An engine that has just been closed may still be letting go (a background task that
    // held it for a moment): the lock is tried again for a short while before giving up.
    let mut file = file;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((f, _)) if std::time::Instant::now() < deadline => {
                file = f;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err((f, _)) => {
                file = f;
                break;
            }
        }
    }
    drop(file);
    Err(EngineError(Fault::Conflict(format!(
        "the local engine at {} is in use by another cocpit process (the data dir's engine \
         process, `cocpit serve`, or a command with --in-process): leave out --in-process to \
         attach to the engine process, stop the other one, or use another --data directory",
        dir.display()
    ))))
}

/// Refuses to start on a damaged database, rather than starting empty or failing later: one
/// that exists but is empty, is not a SQLite file, or fails `PRAGMA quick_check`. A missing
/// file is a new store.
fn intact(path: &Path) -> Result<()> {
    let damaged = |what: String| {
        EngineError(Fault::Internal(format!(
            "{} is damaged: {what}. Nothing was changed. Restore it from a backup, or move it \
             aside (mv {0} {0}.damaged) to start with an empty store; `sqlite3 {0} .recover` \
             may save what is left",
            path.display()
        )))
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(damaged(format!("it cannot be read ({e})"))),
    };
    if meta.len() == 0 {
        return Err(damaged("it is empty (0 bytes)".into()));
    }
    let mut head = [0u8; 16];
    let read =
        std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head));
    if read.is_err() || &head != b"SQLite format 3\0" {
        return Err(damaged("it is not a SQLite database".into()));
    }
    let check = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|c| {
        let mut stmt = c.prepare("PRAGMA quick_check")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    });
    match check {
        Ok(rows) if rows.len() == 1 && rows[0] == "ok" => Ok(()),
        Ok(rows) => Err(damaged(format!(
            "PRAGMA quick_check found {}",
            rows.into_iter().take(3).collect::<Vec<_>>().join("; ")
        ))),
        Err(e) => Err(damaged(format!("PRAGMA quick_check failed: {e}"))),
    }
}

/// Creates `dir` (and missing parents) readable by its owner only: the data dir holds scripts,
/// their output and the key of sensitive values. An existing directory is left as it is.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// While held, files this process creates are its owner's only (umask 077); the old mask
/// comes back when it is dropped. Held only around opening the stores: scripts the engine
/// runs later keep the user's own mask.
struct PrivateFiles(nix::sys::stat::Mode);

impl PrivateFiles {
    fn begin() -> PrivateFiles {
        PrivateFiles(nix::sys::stat::umask(
            nix::sys::stat::Mode::from_bits_truncate(0o077),
        ))
    }
}

impl Drop for PrivateFiles {
    fn drop(&mut self) {
        nix::sys::stat::umask(self.0);
    }
}

/// Takes group and other access away from a file made before files were private (best
/// effort: a file that is not there is fine).
fn owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}
