//! Configuration: the documented defaults (`config/cocpit.toml`), the user's file, and `COCPIT_*`
//! environment overrides. Unknown keys are errors that name the key, so a typo never silently
//! falls back to a default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use cocpit_client::settings::{ClientSettings, Profile, ServiceEndpoints};
pub use cocpit_engine::settings::{
    AgentSettings, AlarmSettings, EngineSettings, Host, HostKind, Inventory, RunLimits,
    TransportKind,
};
pub use cocpit_server::settings::{
    Credential, Integration, Role, Serve, TOKEN_TTL_RANGE, TencentCredential, User,
};
pub use cocpit_tui::settings::Ui;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub inventory: Inventory,
    #[serde(default)]
    pub serve: Serve,
    #[serde(default)]
    pub engine: EngineSettings,
    #[serde(default)]
    pub ssh: cocpit_engine::settings::SshSection,
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
    /// The engine's sections, which are all the engine is opened with.
    pub fn engine_setup(&self) -> cocpit_engine::settings::Setup {
        cocpit_engine::settings::Setup {
            inventory: self.inventory.clone(),
            engine: self.engine.clone(),
            ssh: self.ssh,
            runner: self.runner,
            alarms: self.alarms.clone(),
            agents: self.agents.clone(),
        }
    }

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
            self.serve.credentials.push(Credential {
                ak,
                sk,
                project_id,
                user: None,
                user_id: None,
                // Whoever starts the server with its keys in the environment owns it.
                role: Role::Admin,
            });
        }
        let id = var("COCPIT_SERVE_TC_SECRET_ID").or_else(|| var("TENCENTCLOUD_SECRET_ID"));
        let key = var("COCPIT_SERVE_TC_SECRET_KEY").or_else(|| var("TENCENTCLOUD_SECRET_KEY"));
        if let (Some(secret_id), Some(secret_key)) = (id, key) {
            self.serve.tencent_credentials.push(TencentCredential {
                secret_id,
                secret_key,
                user: None,
                user_id: None,
                role: Role::Admin,
            });
        }
        if let (Some(name), Some(password)) =
            (var("COCPIT_SERVE_USER"), var("COCPIT_SERVE_PASSWORD"))
        {
            self.serve.users.push(User {
                name,
                password,
                domain: None,
                user_id: None,
                role: Default::default(),
            });
        }
        if let Some(t) = var("COCPIT_SERVE_METRICS_TOKEN") {
            self.serve.metrics_token = Some(t);
        }
        if let Some(n) = var("COCPIT_DEMO_FLEET").and_then(|v| v.parse().ok()) {
            self.inventory.demo_fleet = n;
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(t) = &self.serve.metrics_token
            && t.chars().count() < 16
        {
            return Err(ConfigError::Invalid(
                "serve.metrics_token must be at least 16 characters (a scraper's bearer token must not be guessable)".into(),
            ));
        }
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
            // ssh reads ControlPersist=0 as "for ever": a master always has an end.
            ("ssh.keep", self.ssh.keep, (1, 86_400)),
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
}

pub use cocpit_api::identity::current_user;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_config_parses() {
        let text = include_str!("../config/cocpit.toml");
        let cfg = Config::parse(text, Path::new("config/cocpit.toml")).unwrap();
        assert_eq!(cfg.inventory.demo_fleet, 8);
        assert_eq!(cfg.inventory.fleet().len(), 8 + 3);
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
            cfg.inventory
                .fleet()
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
            user: None,
            user_id: None,
            role: Default::default(),
        };
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
