//! Configuration: the documented defaults (`config/cocpit.toml`), the user's file, and `COCPIT_*`
//! environment overrides. Unknown keys are errors that name the key, so a typo never silently
//! falls back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub inventory: Inventory,
    #[serde(default)]
    pub serve: Serve,
    #[serde(default)]
    pub engine: EngineSettings,
    /// Limits every run (script instance, agent task, TAT fire) starts under.
    #[serde(default)]
    pub runner: RunLimits,
    /// Key → action name overrides for the console (`"ctrl-r" = "refresh"`, `"q" = "none"`).
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
    #[serde(default)]
    pub ui: Ui,
    #[serde(default)]
    pub alarms: AlarmSettings,
    #[serde(default)]
    pub agents: AgentSettings,
    /// The profile used when neither `--profile` nor `--endpoint` is given (else the local
    /// engine). `COCPIT_PROFILE` overrides it.
    #[serde(default)]
    pub profile: Option<String>,
    /// Remote endpoints by name (`--profile NAME`).
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    #[serde(default)]
    pub client: ClientSettings,
}

/// A remote place to work against: its endpoints and where its keys come from. Secrets are
/// never written here: keys come from the environment, a file or a command.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// One endpoint for every service (another `cocpit serve`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The cloud region: picks each service's default endpoint (see NOTES: COC per site, Cloud
    /// Eye and Workspace per region, TAT global).
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoints per service, over the region's defaults.
    #[serde(default)]
    pub endpoints: ServiceEndpoints,
    #[serde(default)]
    pub project_id: Option<String>,
    /// The account id, sent as `X-Domain-Id` when there is no project id (the SDKs'
    /// `GlobalCredentials`).
    #[serde(default)]
    pub domain_id: Option<String>,
    /// Names of the environment variables holding the keys (default: the SDKs' own names).
    #[serde(default)]
    pub ak_env: Option<String>,
    #[serde(default)]
    pub sk_env: Option<String>,
    /// A TOML file with `ak`, `sk` and optionally `project_id`, `security_token`,
    /// `tc_secret_id`, `tc_secret_key`.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// A command that prints that TOML (a password manager, a vault CLI).
    #[serde(default)]
    pub credentials_command: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEndpoints {
    #[serde(default)]
    pub coc: Option<String>,
    #[serde(default)]
    pub ces: Option<String>,
    #[serde(default)]
    pub workspace: Option<String>,
    #[serde(default)]
    pub tat: Option<String>,
    /// Where IAM tokens come from (a key file with `username` and `password`).
    #[serde(default)]
    pub iam: Option<String>,
}

/// How the remote client treats the network.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    #[serde(default = "default_client_connect_timeout")]
    pub connect_timeout: u64,
    /// Seconds a whole request may take, answer included.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: u64,
    /// Tries of a request that may be repeated (reads; writes that surely never arrived).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Requests per second the client never exceeds, polling included.
    #[serde(default = "default_max_rate")]
    pub max_requests_per_second: u32,
}

fn default_client_connect_timeout() -> u64 {
    5
}
fn default_request_timeout() -> u64 {
    30
}
fn default_attempts() -> u32 {
    4
}
fn default_max_rate() -> u32 {
    20
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            connect_timeout: default_client_connect_timeout(),
            request_timeout: default_request_timeout(),
            attempts: default_attempts(),
            max_requests_per_second: default_max_rate(),
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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    /// A shipped theme (`dark`, `light`, `high-contrast`) or the path of a theme file.
    #[serde(default)]
    pub theme: Option<String>,
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
pub struct Serve {
    #[serde(default)]
    pub credentials: Vec<Credential>,
    #[serde(default)]
    pub tencent_credentials: Vec<TencentCredential>,
    #[serde(default)]
    pub integrations: Vec<Integration>,
    /// IAM users who may get a token (`POST /v3/auth/tokens`) and send it as `X-Auth-Token`.
    #[serde(default)]
    pub users: Vec<User>,
    /// Seconds a token lives (IAM's default: 24 h).
    #[serde(default = "default_token_ttl")]
    pub token_ttl: u64,
    /// On a loopback address with no `[[serve.integrations]]`, accept the demo alarm keys
    /// `demo` (COC body) and `demo-prometheus` (Alertmanager), so a first push just works.
    #[serde(default = "yes")]
    pub demo_integrations: bool,
    /// Connections served at once; one more gets a fast 503.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds a connection has to send a request's headers (also how long an idle
    /// keep-alive connection stays open).
    #[serde(default = "default_header_timeout")]
    pub header_timeout: u64,
    /// Seconds a request has to send its body.
    #[serde(default = "default_body_timeout")]
    pub body_timeout: u64,
}

fn default_max_connections() -> usize {
    512
}
fn default_header_timeout() -> u64 {
    10
}
fn default_body_timeout() -> u64 {
    30
}

fn yes() -> bool {
    true
}

/// The lifetimes a token may be given, in seconds: up to IAM's 24 hours.
pub const TOKEN_TTL_RANGE: (u64, u64) = (1, 86_400);

fn default_token_ttl() -> u64 {
    86_400
}

impl Default for Serve {
    fn default() -> Self {
        Serve {
            credentials: vec![],
            tencent_credentials: vec![],
            integrations: vec![],
            users: vec![],
            token_ttl: default_token_ttl(),
            demo_integrations: true,
            max_connections: default_max_connections(),
            header_timeout: default_header_timeout(),
            body_timeout: default_body_timeout(),
        }
    }
}

/// An IAM user of `cocpit serve`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub password: String,
    /// The account (IAM's domain); any when unset.
    #[serde(default)]
    pub domain: Option<String>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password", &"******")
            .field("domain", &self.domain)
            .finish()
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub ak: String,
    pub sk: String,
    #[serde(default)]
    pub project_id: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("ak", &self.ak)
            .field("sk", &"******")
            .field("project_id", &self.project_id)
            .finish()
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TencentCredential {
    pub secret_id: String,
    pub secret_key: String,
}

impl std::fmt::Debug for TencentCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TencentCredential")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"******")
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Integration {
    pub key: String,
    #[serde(default)]
    pub name: String,
    #[serde(default = "default_integration_kind")]
    pub kind: String,
}

fn default_integration_kind() -> String {
    "custom".into()
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
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config: {0}")]
    Invalid(String),
}

fn env_dir(var: &str, home_rel: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(home_rel)))
}

/// `~/.config/cocpit/config.toml` (or under `$XDG_CONFIG_HOME`).
pub fn user_config_path() -> Option<PathBuf> {
    env_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("cocpit").join("config.toml"))
}

/// The local engine's data directory: `--data`, else `$COCPIT_HOME`, else the XDG data dir.
/// Always absolute: ssh control sockets and instance directories live under it.
pub fn data_dir(flag: Option<&Path>) -> PathBuf {
    let dir = if let Some(p) = flag {
        p.to_path_buf()
    } else if let Some(h) = std::env::var_os("COCPIT_HOME").filter(|v| !v.is_empty()) {
        PathBuf::from(h)
    } else {
        env_dir("XDG_DATA_HOME", ".local/share")
            .map(|d| d.join("cocpit"))
            .unwrap_or_else(|| PathBuf::from(".cocpit"))
    };
    std::path::absolute(&dir).unwrap_or(dir)
}

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Loads `explicit` (which must exist) or the user config (if it exists), then applies the
    /// environment.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| user_config_path().filter(|p| p.exists()));
        let mut cfg = match path {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|source| ConfigError::Read {
                    path: p.clone(),
                    source,
                })?;
                Config::parse(&text, &p)?
            }
            None => Config::default(),
        };
        cfg.apply_env();
        Ok(cfg)
    }

    /// Credentials from `COCPIT_SERVE_*` and the official SDKs' variable names.
    fn apply_env(&mut self) {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let ak = var("COCPIT_SERVE_AK").or_else(|| var("HUAWEICLOUD_SDK_AK"));
        let sk = var("COCPIT_SERVE_SK").or_else(|| var("HUAWEICLOUD_SDK_SK"));
        if let (Some(ak), Some(sk)) = (ak, sk) {
            let project_id =
                var("COCPIT_SERVE_PROJECT_ID").or_else(|| var("HUAWEICLOUD_SDK_PROJECT_ID"));
            self.serve
                .credentials
                .push(Credential { ak, sk, project_id });
        }
        let id = var("COCPIT_SERVE_TC_SECRET_ID").or_else(|| var("TENCENTCLOUD_SECRET_ID"));
        let key = var("COCPIT_SERVE_TC_SECRET_KEY").or_else(|| var("TENCENTCLOUD_SECRET_KEY"));
        if let (Some(secret_id), Some(secret_key)) = (id, key) {
            self.serve.tencent_credentials.push(TencentCredential {
                secret_id,
                secret_key,
            });
        }
        if let (Some(name), Some(password)) =
            (var("COCPIT_SERVE_USER"), var("COCPIT_SERVE_PASSWORD"))
        {
            self.serve.users.push(User {
                name,
                password,
                domain: None,
            });
        }
        if let Some(n) = var("COCPIT_DEMO_FLEET").and_then(|v| v.parse().ok()) {
            self.inventory.demo_fleet = n;
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(TOKEN_TTL_RANGE.0..=TOKEN_TTL_RANGE.1).contains(&self.serve.token_ttl) {
            return Err(ConfigError::Invalid(format!(
                "serve.token_ttl must be {} to {} seconds (got {})",
                TOKEN_TTL_RANGE.0, TOKEN_TTL_RANGE.1, self.serve.token_ttl
            )));
        }
        for (field, v, (lo, hi)) in [
            (
                "serve.max_connections",
                self.serve.max_connections as u64,
                (1, 65_536),
            ),
            ("serve.header_timeout", self.serve.header_timeout, (1, 3600)),
            ("serve.body_timeout", self.serve.body_timeout, (1, 3600)),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(ConfigError::Invalid(format!(
                    "{field} must be {lo} to {hi} (got {v})"
                )));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, h) in self.inventory.hosts.iter().enumerate() {
            let field = format!("inventory.hosts[{i}]");
            if h.id.is_empty() || h.id.chars().count() > 64 {
                return Err(ConfigError::Invalid(format!(
                    "{field}.id must be 1 to 64 characters"
                )));
            }
            if !seen.insert(h.id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "{field}.id {:?} is listed twice",
                    h.id
                )));
            }
            if h.transport == TransportKind::Ssh {
                match &h.destination {
                    None => {
                        return Err(ConfigError::Invalid(format!(
                            "{field}.destination is required for transport \"ssh\""
                        )));
                    }
                    Some(d) if d.is_empty() || d.starts_with('-') => {
                        return Err(ConfigError::Invalid(format!(
                            "{field}.destination {d:?} must be a host or alias and must not start with '-'"
                        )));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The inventory the engine runs on: the listed hosts, or the demo fleet when none is listed.
    /// Every host: servers and desktops.
    pub fn hosts(&self) -> Vec<Host> {
        if !self.inventory.hosts.is_empty() {
            return self.inventory.hosts.clone();
        }
        let desktops = (1..=self.inventory.demo_desktops).map(|i| {
            let mut h = Host::local(&format!("desktop-{i:04}"));
            h.kind = HostKind::Desktop;
            h.name = Some(format!("demo-desktop-{i}"));
            h.tags.insert("env".into(), "demo".into());
            h
        });
        let servers = (1..=self.inventory.demo_fleet).map(|i| {
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

/// Who is acting, for records (`$USER`, else `cocpit`).
pub fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "cocpit".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_config_parses() {
        let text = include_str!("../config/cocpit.toml");
        let cfg = Config::parse(text, Path::new("config/cocpit.toml")).unwrap();
        assert_eq!(cfg.inventory.demo_fleet, 8);
        assert_eq!(cfg.hosts().len(), 8 + 3);
        // What the file shows is what an empty file gets.
        let empty = Config::parse("", Path::new("empty.toml")).unwrap();
        assert_eq!(cfg.inventory.demo_desktops, empty.inventory.demo_desktops);
        assert_eq!(cfg.serve.token_ttl, empty.serve.token_ttl);
        assert_eq!(
            (
                cfg.serve.max_connections,
                cfg.serve.header_timeout,
                cfg.serve.body_timeout,
                cfg.serve.demo_integrations
            ),
            (
                empty.serve.max_connections,
                empty.serve.header_timeout,
                empty.serve.body_timeout,
                empty.serve.demo_integrations
            )
        );
        assert_eq!(cfg.runner, empty.runner);
        let (c, e) = (&cfg.client, &empty.client);
        assert_eq!(
            (
                c.connect_timeout,
                c.request_timeout,
                c.attempts,
                c.max_requests_per_second
            ),
            (
                e.connect_timeout,
                e.request_timeout,
                e.attempts,
                e.max_requests_per_second
            )
        );
        assert!(cfg.profile.is_none() && cfg.profiles.is_empty());
        let (a, b) = (&cfg.agents, &empty.agents);
        assert_eq!(
            (
                &a.version,
                a.timeout,
                &a.remote_ssh_options,
                &a.remote_agent_home
            ),
            (
                &b.version,
                b.timeout,
                &b.remote_ssh_options,
                &b.remote_agent_home
            )
        );
        assert_eq!(
            cfg.hosts()
                .iter()
                .filter(|h| h.kind == HostKind::Desktop)
                .count(),
            3
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::parse("[inventory]\ndemo_flet = 3\n", Path::new("x.toml")).unwrap_err();
        assert!(err.to_string().contains("demo_flet"), "{err}");
    }

    #[test]
    fn ssh_host_needs_destination() {
        let err = Config::parse(
            "[[inventory.hosts]]\nid = \"a\"\ntransport = \"ssh\"\n",
            Path::new("x.toml"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("inventory.hosts[0].destination"),
            "{err}"
        );
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let c = Credential {
            ak: "AK".into(),
            sk: "very-secret".into(),
            project_id: None,
        };
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
