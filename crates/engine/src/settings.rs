//! What the engine is opened with: its inventory (`[inventory]`) and settings (`[engine]`,
//! `[ssh]`, `[runner]`, `[alarms]`, `[agents]`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Everything the engine is opened with: the engine's sections of the config.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub inventory: Inventory,
    pub engine: EngineSettings,
    pub ssh: SshSection,
    /// Limits every run (script instance, agent task, TAT fire) starts under.
    pub runner: RunLimits,
    pub alarms: AlarmSettings,
    pub agents: AgentSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Local demo instances (`demo-01`…) used when no host is listed; 0 for none.
    #[serde(default = "default_demo_fleet")]
    pub demo_fleet: usize,
    /// Local demo Workspace desktops (`desktop-0001`…) used when no host is listed.
    #[serde(default = "default_demo_desktops")]
    pub demo_desktops: usize,
    #[serde(default)]
    pub hosts: Vec<Host>,
}

fn default_demo_fleet() -> usize {
    8
}

fn default_demo_desktops() -> usize {
    3
}

impl Inventory {
    /// The inventory the engine runs on: the listed hosts, or the demo fleet when none is listed.
    /// Every host: servers and desktops.
    pub fn fleet(&self) -> Vec<Host> {
        if !self.hosts.is_empty() {
            return self.hosts.clone();
        }
        let desktops = (1..=self.demo_desktops).map(|i| {
            let mut h = Host::local(&format!("desktop-{i:04}"));
            h.kind = HostKind::Desktop;
            h.name = Some(format!("demo-desktop-{i}"));
            h.tags.insert("env".into(), "demo".into());
            h
        });
        let servers = (1..=self.demo_fleet).map(|i| {
            let mut h = Host::local(&format!("demo-{i:02}"));
            h.tags.insert("env".into(), "demo".into());
            h.tags.insert(
                "role".into(),
                if i % 2 == 1 { "web" } else { "worker" }.into(),
            );
            h
        });
        servers.chain(desktops).collect()
    }
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory {
            demo_fleet: default_demo_fleet(),
            demo_desktops: default_demo_desktops(),
            hosts: vec![],
        }
    }
}

/// What a host is: a server (an ECS instance in `GET /v1/resources`) or a Workspace desktop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostKind {
    #[default]
    Server,
    Desktop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Local,
    Ssh,
}

/// One instance of the inventory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub id: String,
    pub transport: TransportKind,
    /// What you would give to ssh (may be a `~/.ssh/config` alias).
    #[serde(default)]
    pub destination: Option<String>,
    #[serde(default)]
    pub ssh_options: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
    #[serde(default)]
    pub kind: HostKind,
}

impl Host {
    pub fn local(id: &str) -> Host {
        Host {
            id: id.to_string(),
            transport: TransportKind::Local,
            destination: None,
            ssh_options: vec![],
            tags: BTreeMap::new(),
            name: None,
            region_id: None,
            kind: HostKind::Server,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    /// Seconds ssh may take to connect before the instance fails.
    #[serde(default = "default_connect_timeout")]
    pub ssh_connect_timeout: u64,
    /// Bytes of output kept per instance.
    #[serde(default = "default_output_cap")]
    pub output_cap: usize,
    /// Seconds a local engine process stays up with nothing running or scheduled and no
    /// console or command attached.
    #[serde(default = "default_idle_exit")]
    pub idle_exit: u64,
}

/// `[ssh]`: how the engine keeps its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshSection {
    /// Seconds a host's master connection stays open after its last use, across orders (a
    /// repeat run within it pays no handshake); all are closed when the engine exits.
    #[serde(default = "default_keep")]
    pub keep: u64,
}

impl Default for SshSection {
    fn default() -> Self {
        SshSection {
            keep: default_keep(),
        }
    }
}

fn default_keep() -> u64 {
    600
}

fn default_idle_exit() -> u64 {
    600
}

fn default_connect_timeout() -> u64 {
    10
}

fn default_output_cap() -> usize {
    1024 * 1024
}

/// `[runner]`: resource limits a run starts under (`ulimit` / `setrlimit` in the launcher, on the
/// host that runs it); none by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLimits {
    /// Address space of each process, in MiB.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// Processes of the user the run executes as (the kernel counts them per user).
    #[serde(default)]
    pub processes: Option<u64>,
    /// CPU seconds each process may use.
    #[serde(default)]
    pub cpu_seconds: Option<u64>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            ssh_connect_timeout: default_connect_timeout(),
            output_cap: default_output_cap(),
            idle_exit: default_idle_exit(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmSettings {
    /// Fields (or labels) whose values put alarms in one group.
    #[serde(default = "default_group_by")]
    pub group_by: Vec<String>,
}

fn default_group_by() -> Vec<String> {
    vec!["name".into(), "application".into()]
}

impl Default for AlarmSettings {
    fn default() -> Self {
        AlarmSettings {
            group_by: default_group_by(),
        }
    }
}

/// What the Cloud Eye agent tasks run on an instance. Each command is a shell script run by
/// the same runner as scripts, with `COCPIT_AGENT_VERSION` (the version to end up with; empty
/// for a rollback to nothing), `COCPIT_RESOURCE_ID` and, for a remote install,
/// `COCPIT_REMOTE_IP`, `COCPIT_REMOTE_PORT`, `COCPIT_REMOTE_USER`, `COCPIT_REMOTE_USE_PEM`,
/// `COCPIT_REMOTE_PASSWORD` (a secret: masked in output), `COCPIT_REMOTE_SSH_OPTIONS` and
/// `COCPIT_REMOTE_AGENT_HOME` in its environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// The version INSTALL and UPDATE install when the request names none.
    #[serde(default = "default_agent_version")]
    pub version: String,
    #[serde(default = "default_agent_install")]
    pub install: String,
    #[serde(default = "default_agent_install")]
    pub update: String,
    #[serde(default = "default_agent_rollback")]
    pub rollback: String,
    #[serde(default = "default_agent_remote_install")]
    pub remote_install: String,
    /// Extra `ssh` options the installer uses to reach remote hosts (`-i KEY -o …`).
    #[serde(default)]
    pub remote_ssh_options: String,
    /// Where the demo agent lives on a remote host (relative paths start at the remote home).
    #[serde(default = "default_remote_agent_home")]
    pub remote_agent_home: String,
    /// Seconds a task may run before it is killed (TIMEOUT).
    #[serde(default = "default_agent_timeout")]
    pub timeout: u64,
}

fn default_agent_version() -> String {
    "3.2.0".into()
}

/// The demo agent: a version file per instance under `$COCPIT_AGENT_HOME` (default
/// `~/.cocpit-agent`), so an install really changes the host.
fn default_agent_install() -> String {
    r#"set -eu
dir="${COCPIT_AGENT_HOME:-$HOME/.cocpit-agent}/$COCPIT_RESOURCE_ID/telescope"
mkdir -p "$dir"
printf '%s\n' "$COCPIT_AGENT_VERSION" > "$dir/version.new"
mv "$dir/version.new" "$dir/version"
echo "telescope $COCPIT_AGENT_VERSION installed in $dir"
"#
    .into()
}

fn default_agent_rollback() -> String {
    r#"set -eu
dir="${COCPIT_AGENT_HOME:-$HOME/.cocpit-agent}/$COCPIT_RESOURCE_ID/telescope"
if [ -n "$COCPIT_AGENT_VERSION" ]; then
  mkdir -p "$dir"
  printf '%s\n' "$COCPIT_AGENT_VERSION" > "$dir/version"
  echo "telescope rolled back to $COCPIT_AGENT_VERSION"
else
  rm -rf "$dir"
  echo "telescope removed (there was no earlier version)"
fi
"#
    .into()
}

fn default_remote_agent_home() -> String {
    ".cocpit-agent".into()
}

/// Installs the demo agent on a remote host over ssh: with the password through sshpass, else
/// with the installer's keys (`remote_use_pem`).
fn default_agent_remote_install() -> String {
    r#"set -eu
port="${COCPIT_REMOTE_PORT:-22}"
user="${COCPIT_REMOTE_USER:-root}"
home="${COCPIT_REMOTE_AGENT_HOME:-.cocpit-agent}"
run="mkdir -p '$home/telescope' && printf '%s\n' '$COCPIT_AGENT_VERSION' > '$home/telescope/version' && echo telescope $COCPIT_AGENT_VERSION installed on \$(hostname)"
# The options are words on purpose: -i KEY -o NAME=VALUE.
opts="${COCPIT_REMOTE_SSH_OPTIONS:-}"
if [ -n "${COCPIT_REMOTE_PASSWORD:-}" ] && [ "${COCPIT_REMOTE_USE_PEM:-false}" != true ]; then
  command -v sshpass >/dev/null || { echo "a password login needs sshpass on the installer" >&2; exit 3; }
  SSHPASS="$COCPIT_REMOTE_PASSWORD" sshpass -e ssh $opts -o StrictHostKeyChecking=accept-new -o ConnectTimeout=10 -p "$port" "$user@$COCPIT_REMOTE_IP" "$run"
else
  ssh $opts -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=10 -p "$port" "$user@$COCPIT_REMOTE_IP" "$run"
fi
"#
    .into()
}

fn default_agent_timeout() -> u64 {
    300
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            version: default_agent_version(),
            install: default_agent_install(),
            update: default_agent_install(),
            rollback: default_agent_rollback(),
            remote_install: default_agent_remote_install(),
            remote_ssh_options: String::new(),
            remote_agent_home: default_remote_agent_home(),
            timeout: default_agent_timeout(),
        }
    }
}
