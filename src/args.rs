//! The command line: every command, flag and argument, as clap reads them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use cocpit::cli::{self, Output};

use crate::daemon;

#[derive(Debug, Parser)]
#[command(
    name = "cocpit",
    version = LONG_VERSION,
    about = "A terminal console for cloud operations (Huawei Cloud COC API), with a local engine",
    long_about = "cocpit runs scripts on your hosts batch by batch and follows them live. With no \
                  command it works on the local engine (data under $COCPIT_HOME, or the XDG data \
                  dir), which runs scripts on the inventory of the config file, or on a demo \
                  fleet of local instances when none is configured."
)]
pub(crate) struct Cli {
    /// Config file to use instead of ~/.config/cocpit/config.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The local engine's data directory. It must exist, unless --init is given.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// Create the --data directory when it does not exist (a mistyped path otherwise starts an
    /// empty engine without a word). The default data directory is always created.
    #[arg(long, global = true)]
    pub(crate) init: bool,
    /// A remote COC-compatible endpoint (another `cocpit serve`, or Huawei COC).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// A profile of the config (`[profiles.NAME]`): endpoints and where the keys come from.
    /// Also `COCPIT_PROFILE`, or `profile = "NAME"` in the config.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Run the local engine inside this process instead of attaching to the data dir's engine
    /// process: its runs stop when this process does (a hang-up, `q`), and no other command can
    /// use the data dir meanwhile. For one-off use and tests. Also `COCPIT_IN_PROCESS=1`.
    #[arg(long, global = true, env = "COCPIT_IN_PROCESS", value_parser = clap::builder::FalseyValueParser::new())]
    pub(crate) in_process: bool,
    /// With the console: disable every key that writes (shown, crossed out, with the reason),
    /// for looking without touching. Also `[ui] read_only = true`.
    #[arg(long)]
    pub(crate) read_only: bool,
    /// With the console: also serve the HTTP API on this address from the same engine (so
    /// monitoring can push alarms while you watch). Keys as for `serve`. Implies --in-process.
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,
    /// Output format of subcommands: a table for people, or the API's own JSON.
    #[arg(short = 'o', long, global = true, value_enum, default_value = "table")]
    pub(crate) output: Output,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the engine headless and serve the HTTP API.
    Serve {
        /// Address to listen on (port 0 takes a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Accept unsigned requests (loopback addresses only; for development).
        #[arg(long)]
        no_auth: bool,
    },
    /// Scripts: list, show, create, edit, delete, run.
    #[command(subcommand)]
    Script(cli::ScriptCmd),
    /// Orders (script tickets): list, show, batches, logs, op.
    ///
    /// The success rate is judged when a batch has settled, over every instance settled so far
    /// (succeeded ÷ (succeeded + failed)); below the threshold the order pauses before the next
    /// batch. Nothing running is stopped by it.
    #[command(subcommand)]
    Order(cli::OrderCmd),
    /// Incidents: list, show, create, accept, resolve, confirm, reject.
    #[command(subcommand)]
    Incident(cli::IncidentCmd),
    /// Alarms: list, groups, push, ack, clear, incident, silence.
    #[command(subcommand)]
    Alarm(cli::AlarmCmd),
    /// Cloud Eye agent tasks: list, install, update, rollback, retry, tasks.
    #[command(subcommand)]
    Agent(cli::AgentCmd),
    /// Workspace desktop agents: list, install, jobs.
    #[command(subcommand)]
    Desktop(cli::DesktopCmd),
    /// TAT scheduled invokers: list, create, enable, disable, delete, records, tasks, preview,
    /// and their commands.
    #[command(subcommand)]
    Invoker(cli::InvokerCmd),
    /// Resources (the hosts scripts run on).
    #[command(subcommand)]
    Resource(cli::ResourceCmd),
    /// A text overview: the fleet, the latest scripts and orders.
    Status,
    /// The audit trail: every write (who, role, when, from where, what, the outcome), newest
    /// first.
    Audit(cli::AuditArgs),
    /// Who you are to the backend, and your role.
    Whoami,
    /// The local engine process of the data dir: status, stop, logs.
    #[command(subcommand)]
    Engine(daemon::EngineCmd),
    /// The local engine process itself (started by the first command that needs it).
    #[command(name = "__engine", hide = true)]
    EngineProcess,
    /// The configuration: `check` tries the selected profile (keys, endpoints, clock).
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Prints a shell completion script: `cocpit completions bash > /etc/bash_completion.d/cocpit`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Prints the manual page (roff): `cocpit man > cocpit.1; man ./cocpit.1`.
    Man {
        /// Write every page (cocpit.1, cocpit-script.1, cocpit-script-run.1, …) into DIR.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// The version and the git revision it was built from.
pub(crate) const LONG_VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (", env!("COCPIT_GIT_REV"), ")");

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCmd {
    /// Checks the selected profile or --endpoint: keys, each service's endpoint, the clock.
    Check,
}
