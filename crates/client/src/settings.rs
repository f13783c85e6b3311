//! `[profiles.NAME]` and `[client]`: where a remote backend is and how the client treats the network.

use std::path::PathBuf;

use serde::Deserialize;

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
