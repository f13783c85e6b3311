//! `[serve]`: who may call `cocpit serve` and the bounds of its listener.

use serde::Deserialize;

pub use cocpit_api::model::team::Role;

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
    /// What `cocpit serve` logs to standard error (`info` logs each request; `RUST_LOG`
    /// overrides it): a level or `tracing` directives.
    #[serde(default = "default_log")]
    pub log: String,
    /// A token that lets a scraper read `/metrics` from another machine
    /// (`Authorization: Bearer TOKEN`); loopback needs none.
    #[serde(default)]
    pub metrics_token: Option<String>,
    /// Days the audit trail keeps an entry (0: for ever).
    #[serde(default = "default_audit_days")]
    pub audit_days: u64,
}

fn default_audit_days() -> u64 {
    365
}

fn default_log() -> String {
    "info".into()
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
            log: default_log(),
            metrics_token: None,
            audit_days: default_audit_days(),
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
    /// The IAM user id (reviewers are matched by it first).
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub role: Role,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password", &"******")
            .field("domain", &self.domain)
            .field("role", &self.role)
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
    /// The IAM user this key belongs to (the key itself when unset): stamped on every change.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// `viewer`, `operator` (the default) or `admin`.
    #[serde(default)]
    pub role: Role,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("ak", &self.ak)
            .field("sk", &"******")
            .field("project_id", &self.project_id)
            .field("user", &self.user)
            .field("role", &self.role)
            .finish()
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TencentCredential {
    pub secret_id: String,
    pub secret_key: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub role: Role,
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
