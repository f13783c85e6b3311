//! The keys a request is signed with, and where they come from: the environment (the
//! official SDKs' names, or a profile's own), a key file, or a command that prints one. Values
//! are never printed: errors name the source and the missing key only.

use serde::Deserialize;

use crate::settings::Profile;

/// An access key pair (and the project it acts in).
#[derive(Clone, Default)]
pub struct Credentials {
    pub ak: String,
    pub sk: String,
    pub project_id: Option<String>,
    /// The account, sent as `X-Domain-Id` when there is no project id.
    pub domain_id: Option<String>,
    /// Temporary credentials' token (`X-Security-Token`).
    pub security_token: Option<String>,
    /// Tencent TC3 keys (`secret_id`, `secret_key`) for TAT, when given.
    pub tencent: Option<(String, String)>,
    /// IAM token authentication instead of the access key (`X-Auth-Token`).
    pub token: Option<TokenAuth>,
}

/// Where an IAM token comes from.
#[derive(Clone)]
pub enum TokenAuth {
    /// A token obtained elsewhere, used as it is.
    Given(String),
    /// An IAM user's login: a token is fetched, and fetched again shortly before it expires.
    Password {
        user: String,
        password: String,
        domain: Option<String>,
    },
}

impl TokenAuth {
    /// Who acts, for incident operators and `config check`.
    pub fn who(&self) -> String {
        match self {
            TokenAuth::Given(_) => "a given IAM token".into(),
            TokenAuth::Password { user, .. } => format!("IAM user {user}"),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("ak", &masked(&self.ak))
            .field("sk", &"******")
            .field("project_id", &self.project_id)
            .field("token", &self.token.as_ref().map(TokenAuth::who))
            .finish()
    }
}

/// An access key as it may be shown: its first four characters.
pub fn masked(ak: &str) -> String {
    format!("{}****", ak.chars().take(4).collect::<String>())
}

/// A key file (or a command's output): TOML.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    ak: Option<String>,
    sk: Option<String>,
    /// IAM login instead of keys.
    username: Option<String>,
    password: Option<String>,
    domain: Option<String>,
    /// A ready IAM token instead of keys.
    token: Option<String>,
    project_id: Option<String>,
    security_token: Option<String>,
    tc_secret_id: Option<String>,
    tc_secret_key: Option<String>,
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

impl Credentials {
    /// From the environment: `COCPIT_AK`/`COCPIT_SK` or the SDKs' `HUAWEICLOUD_SDK_*`, with
    /// `TENCENTCLOUD_SECRET_*` (or `COCPIT_TC_*`) for TAT.
    pub fn from_env() -> Result<Credentials, String> {
        let token = match (
            env(&["COCPIT_AUTH_TOKEN"]),
            env(&["COCPIT_USERNAME"]),
            env(&["COCPIT_PASSWORD"]),
        ) {
            (Some(t), _, _) => Some(TokenAuth::Given(t)),
            (None, Some(user), Some(password)) => Some(TokenAuth::Password {
                user,
                password,
                domain: env(&["COCPIT_DOMAIN"]),
            }),
            _ => None,
        };
        let keys = env(&["COCPIT_AK", "HUAWEICLOUD_SDK_AK"])
            .zip(env(&["COCPIT_SK", "HUAWEICLOUD_SDK_SK"]));
        if keys.is_none() && token.is_none() {
            return Err(
                "no keys: set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (or COCPIT_AK and COCPIT_SK), or COCPIT_USERNAME and COCPIT_PASSWORD for an IAM token"
                    .into(),
            );
        }
        let (ak, sk) = keys.unwrap_or_default();
        Ok(Credentials {
            ak,
            sk,
            project_id: env(&["COCPIT_PROJECT_ID", "HUAWEICLOUD_SDK_PROJECT_ID"]),
            domain_id: env(&["COCPIT_DOMAIN_ID", "HUAWEICLOUD_SDK_DOMAIN_ID"]),
            security_token: env(&["COCPIT_SECURITY_TOKEN", "HUAWEICLOUD_SDK_SECURITY_TOKEN"]),
            tencent: env(&["COCPIT_TC_SECRET_ID", "TENCENTCLOUD_SECRET_ID"])
                .zip(env(&["COCPIT_TC_SECRET_KEY", "TENCENTCLOUD_SECRET_KEY"])),
            token,
        })
    }

    /// How the credentials show: the masked access key, or who the token is for.
    pub fn shown(&self) -> String {
        match &self.token {
            Some(t) => t.who(),
            None => format!("access key {}", masked(&self.ak)),
        }
    }

    /// A profile's keys, and where they came from (for `config check`).
    pub fn of_profile(name: &str, p: &Profile) -> Result<(Credentials, String), String> {
        let key = |k: &str| format!("profiles.{name}.{k}");
        let (mut c, source) = if let Some(cmd) = &p.credentials_command {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .output()
                .map_err(|e| format!("{}: cannot run it: {e}", key("credentials_command")))?;
            if !out.status.success() {
                return Err(format!(
                    "{} exited with {}",
                    key("credentials_command"),
                    out.status
                ));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            (
                key_file(&text, &key("credentials_command"))?,
                key("credentials_command"),
            )
        } else if let Some(path) = &p.credentials_file {
            let path = &home(path);
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{} {}: {e}", key("credentials_file"), path.display()))?;
            (
                key_file(
                    &text,
                    &format!("{} {}", key("credentials_file"), path.display()),
                )?,
                format!("{} {}", key("credentials_file"), path.display()),
            )
        } else if p.ak_env.is_some() || p.sk_env.is_some() {
            let (ak_name, sk_name) = (
                p.ak_env.as_deref().unwrap_or("HUAWEICLOUD_SDK_AK"),
                p.sk_env.as_deref().unwrap_or("HUAWEICLOUD_SDK_SK"),
            );
            let (Some(ak), Some(sk)) = (env(&[ak_name]), env(&[sk_name])) else {
                return Err(format!(
                    "{}: set {ak_name} and {sk_name} in the environment",
                    key("ak_env")
                ));
            };
            let mut c = Credentials::from_env().unwrap_or_default();
            c.ak = ak;
            c.sk = sk;
            c.token = None;
            (c, format!("the environment ({ak_name}, {sk_name})"))
        } else {
            (
                Credentials::from_env()?,
                "the environment (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK)".into(),
            )
        };
        if p.project_id.is_some() {
            c.project_id = p.project_id.clone();
        }
        if p.domain_id.is_some() {
            c.domain_id = p.domain_id.clone();
        }
        Ok((c, source))
    }
}

/// `~/x` as `$HOME/x`.
fn home(path: &std::path::Path) -> std::path::PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(h)) => std::path::Path::new(&h).join(rest),
        _ => path.to_path_buf(),
    }
}

fn key_file(text: &str, what: &str) -> Result<Credentials, String> {
    let f: KeyFile = toml::from_str(text).map_err(|e| {
        // toml's message quotes the offending line, which may hold a secret: keep its first line.
        let first = e.message().lines().next().unwrap_or("").to_string();
        format!("{what}: not a key file ({first})")
    })?;
    let token = match (f.token, f.username, f.password) {
        (Some(t), _, _) => Some(TokenAuth::Given(t)),
        (None, Some(user), Some(password)) => Some(TokenAuth::Password {
            user,
            password,
            domain: f.domain,
        }),
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err(format!("{what}: needs both username and password"));
        }
        (None, None, None) => None,
    };
    let keys = match (f.ak, f.sk) {
        (Some(ak), Some(sk)) => Some((ak, sk)),
        (None, None) => None,
        _ => return Err(format!("{what}: needs both ak and sk")),
    };
    if keys.is_none() && token.is_none() {
        return Err(format!(
            "{what}: needs ak and sk, username and password, or token"
        ));
    }
    let (ak, sk) = keys.unwrap_or_default();
    Ok(Credentials {
        ak,
        sk,
        project_id: f.project_id,
        domain_id: None,
        security_token: f.security_token,
        tencent: f.tc_secret_id.zip(f.tc_secret_key),
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_read_and_its_errors_show_no_secret() {
        let c = key_file(
            "ak = \"HPUAKEY\"\nsk = \"s3cret\"\nproject_id = \"p1\"\ntc_secret_id = \"AKID\"\ntc_secret_key = \"k\"\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            (c.ak.as_str(), c.project_id.as_deref()),
            ("HPUAKEY", Some("p1"))
        );
        assert_eq!(c.tencent, Some(("AKID".into(), "k".into())));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(format!("{c:?}").contains("HPUA****"));
        let e = key_file("ak = \"HPUAKEY\"\n", "f").unwrap_err();
        assert_eq!(e, "f: needs both ak and sk");
        let e = key_file("username = \"ops\"\n", "f").unwrap_err();
        assert_eq!(e, "f: needs both username and password");
        let e = key_file("project_id = \"p\"\n", "f").unwrap_err();
        assert_eq!(e, "f: needs ak and sk, username and password, or token");
        let t = key_file("username = \"ops\"\npassword = \"pw-secret\"\n", "f").unwrap();
        assert_eq!(t.shown(), "IAM user ops");
        assert!(!format!("{t:?}").contains("pw-secret"));
        let e = key_file("ak = \"HPUAKEY\"\nsk = s3cret-unquoted\n", "f").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn a_command_supplies_the_keys() {
        let p = Profile {
            credentials_command: Some("printf 'ak = \"CMDAK\"\\nsk = \"x\"\\n'".into()),
            project_id: Some("proj".into()),
            ..Default::default()
        };
        let (c, source) = Credentials::of_profile("vault", &p).unwrap();
        assert_eq!(c.ak, "CMDAK");
        assert_eq!(c.project_id.as_deref(), Some("proj"));
        assert_eq!(source, "profiles.vault.credentials_command");
        let failing = Profile {
            credentials_command: Some("exit 3".into()),
            ..Default::default()
        };
        let e = Credentials::of_profile("vault", &failing).unwrap_err();
        assert!(
            e.starts_with("profiles.vault.credentials_command exited"),
            "{e}"
        );
    }
}
