//! The local engine as a long-lived process: what it is running and who is attached
//! (cocpit's `GET /v1/cocpit/engine`), and stopping it (`POST /v1/cocpit/engine/stop`).

use serde::{Deserialize, Serialize};

/// Work that keeps an engine from exiting when idle: what runs and what is scheduled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Work {
    /// Orders PROCESSING, or PAUSED with instances still running.
    pub orders: u64,
    /// Instances running.
    pub instances: u64,
    /// Cloud Eye agent tasks pending or running.
    pub agent_tasks: u64,
    /// Workspace desktop jobs waiting or running.
    pub desktop_jobs: u64,
    /// Enabled TAT invokers with a next fire.
    pub invokers: u64,
}

impl Work {
    /// Nothing runs and nothing is scheduled.
    pub fn is_idle(&self) -> bool {
        *self == Work::default()
    }

    /// What runs, as words (`2 orders, 1 invoker`); empty when idle.
    pub fn words(&self) -> String {
        let parts: Vec<String> = [
            (self.orders, "order"),
            (self.agent_tasks, "agent task"),
            (self.desktop_jobs, "desktop job"),
            (self.invokers, "enabled invoker"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
        .collect();
        parts.join(", ")
    }
}

/// `GET /v1/cocpit/engine`: the engine process serving this API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStatus {
    /// The cocpit version of the engine (a console of another version must not talk to it).
    pub version: String,
    pub pid: u32,
    /// When it started, milliseconds since the epoch.
    pub started_ms: i64,
    pub data_dir: String,
    /// Clients following its event stream (consoles, CLI commands that follow an order).
    pub clients: u64,
    pub work: Work,
    /// Seconds it stays up once idle with no client; none for `cocpit serve`.
    #[serde(default)]
    pub idle_exit: Option<u64>,
}

/// `POST /v1/cocpit/engine/stop`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopEngine {
    /// Stop although work runs: orders are paused ("engine stopped by USER"), running
    /// instances and fires finish first.
    #[serde(default)]
    pub force: bool,
}

/// What a stop did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stopped {
    /// The orders it paused.
    pub paused: Vec<String>,
}
