//! Cloud Eye agent maintenance tasks (seed `000`, CES v3): batch-create invocations, list them,
//! and the agent status query. Field names are the seed's and the SDK's.

use serde::{Deserialize, Serialize};

use super::validate::{Checked, invalid, length};
use super::wire_enum;

wire_enum!(
    /// `invocation_type`.
    InvocationType {
        Install = "INSTALL",
        Update = "UPDATE",
        Rollback = "ROLLBACK",
        Retry = "RETRY",
        SetRemoteInstaller = "SET_REMOTE_INSTALLER",
        RemoteInstall = "REMOTE_INSTALL",
    }
);

wire_enum!(
    /// `invocation_status` (SDK `InvocationInfo`).
    InvocationStatus {
        Pending = "PENDING",
        Running = "RUNNING",
        Timeout = "TIMEOUT",
        Failed = "FAILED",
        Succeeded = "SUCCEEDED",
        Canceled = "CANCELED",
        Rollbacked = "ROLLBACKED",
    }
);

impl InvocationStatus {
    /// The status in words, for people.
    pub fn words(self) -> &'static str {
        match self {
            InvocationStatus::Pending => "pending",
            InvocationStatus::Running => "running",
            InvocationStatus::Timeout => "timed out",
            InvocationStatus::Failed => "failed",
            InvocationStatus::Succeeded => "succeeded",
            InvocationStatus::Canceled => "canceled",
            InvocationStatus::Rollbacked => "rolled back",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, InvocationStatus::Pending | InvocationStatus::Running)
    }

    /// A finished invocation RETRY may run again.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            InvocationStatus::Failed | InvocationStatus::Timeout | InvocationStatus::Canceled
        )
    }
}

/// The only `invocation_target` the seed allows.
pub const TARGET: &str = "telescope";
pub const VERSION_TYPES: &[&str] = &["BASIC_VERSION", "ADVANCE_VERSION"];
pub const ORIGINS: &[&str] = &["CES", "APICOM_BMS", "ADMIN_SERVER"];
pub const MAX_IDS: usize = 100;

/// `BatchCreateInvocationRequestBody`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchCreateInvocationRequestBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_ids: Option<Vec<String>>,
    pub invocation_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_install_meta: Option<Vec<RemoteInstallHostInfo>>,
}

/// A host to install onto from the remote installer. The password is a secret: it is never
/// stored, logged or echoed (`Debug` hides it too).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteInstallHostInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_use_pem: Option<bool>,
}

impl std::fmt::Debug for RemoteInstallHostInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteInstallHostInfo")
            .field("instance_name", &self.instance_name)
            .field("remote_ip", &self.remote_ip)
            .field("user_name", &self.user_name)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "******"))
            .field("remote_use_pem", &self.remote_use_pem)
            .finish()
    }
}

impl RemoteInstallHostInfo {
    /// The name the invocation is listed under.
    pub fn target(&self) -> String {
        self.instance_name
            .clone()
            .or_else(|| self.remote_ip.clone())
            .unwrap_or_default()
    }
}

/// One entry of the 201 answer: `ret_status` `successful` or `error` (with `invocationmgr.NNNN`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchCreateInvocationInfo {
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    pub ret_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
}

impl BatchCreateInvocationInfo {
    pub fn ok(instance_id: &str, invocation_id: &str) -> Self {
        BatchCreateInvocationInfo {
            instance_id: instance_id.into(),
            invocation_id: Some(invocation_id.into()),
            ret_status: "successful".into(),
            error_code: None,
            error_msg: None,
        }
    }

    pub fn error(instance_id: &str, invocation_id: Option<&str>, code: u16, msg: String) -> Self {
        BatchCreateInvocationInfo {
            instance_id: instance_id.into(),
            invocation_id: invocation_id.map(str::to_string),
            ret_status: "error".into(),
            error_code: Some(format!("invocationmgr.{code:04}")),
            error_msg: Some(msg.chars().take(128).collect()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchCreateAgentInvocationsResponse {
    pub invocations: Vec<BatchCreateInvocationInfo>,
}

/// `InvocationInfo` of `GET /v3/{project_id}/agent-invocations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvocationInfo {
    pub invocation_id: String,
    pub instance_id: String,
    pub instance_name: String,
    pub instance_type: String,
    pub intranet_ips: Vec<String>,
    pub elastic_ips: Vec<String>,
    pub invocation_type: InvocationType,
    pub invocation_status: InvocationStatus,
    pub invocation_target: String,
    pub create_time: i64,
    pub update_time: i64,
    #[serde(default)]
    pub current_version: Option<String>,
    #[serde(default)]
    pub target_version: Option<String>,
    #[serde(default)]
    pub result_msg: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListAgentInvocationsResponse {
    pub invocations: Vec<InvocationInfo>,
    pub count: u64,
}

/// Query of `GET /v3/{project_id}/agent-invocations`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListAgentInvocationsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// `ListAgentStatusRequestBody` of `POST /v3/{project_id}/agent-status/batch-query`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListAgentStatusRequestBody {
    pub instance_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniagent_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtensionInfo {
    pub name: String,
    /// `none`, `running`, `stopped`, `fault`, `unknown`.
    pub status: String,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentStatusInfo {
    pub instance_id: String,
    /// `none`, `running`, `silent`, `unknown`.
    pub uniagent_status: String,
    pub extensions: Vec<ExtensionInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListAgentStatusResponse {
    pub agent_status: Vec<AgentStatusInfo>,
}

/// The agent as cocpit knows it on one instance (the console's Agents pane).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSummary {
    pub instance_id: String,
    /// `ONLINE`, `OFFLINE`, `INSTALLING`, `FAILED`, `UNINSTALLED`, or none (never installed).
    pub agent_state: Option<String>,
    pub version: Option<String>,
    pub installer: bool,
    pub last_invocation: Option<InvocationInfo>,
}

fn id_list(field: &str, ids: &Option<Vec<String>>, required: bool, kind: &str) -> Checked {
    match ids {
        None if required => Err(invalid(
            field,
            format!("is required when invocation_type is {kind} (1 to {MAX_IDS} ids)"),
        )),
        Some(v) if required && v.is_empty() => Err(invalid(
            field,
            format!("must hold 1 to {MAX_IDS} ids (got none)"),
        )),
        Some(v) if v.len() > MAX_IDS => Err(invalid(
            field,
            format!("must hold at most {MAX_IDS} ids (got {})", v.len()),
        )),
        Some(v) => {
            for (i, id) in v.iter().enumerate() {
                length(&format!("{field}[{i}]"), id, 1, 64)?;
                if !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(invalid(
                        format!("{field}[{i}]"),
                        "may contain only letters, digits, hyphens and underscores",
                    ));
                }
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// The seed's rules for a batch-create body; the parsed type on success.
pub fn check(
    b: &BatchCreateInvocationRequestBody,
) -> Result<InvocationType, super::validate::Invalid> {
    let kind: InvocationType = b
        .invocation_type
        .parse()
        .map_err(|rule: String| invalid("invocation_type", rule))?;
    use InvocationType::*;
    let needs_instances = matches!(kind, Install | Update | SetRemoteInstaller);
    let needs_invocations = matches!(kind, Rollback | Retry);
    id_list(
        "instance_ids",
        &b.instance_ids,
        needs_instances,
        kind.as_str(),
    )?;
    id_list(
        "invocation_ids",
        &b.invocation_ids,
        needs_invocations,
        kind.as_str(),
    )?;
    if kind == SetRemoteInstaller && b.instance_ids.as_ref().is_some_and(|v| v.len() != 1) {
        return Err(invalid(
            "instance_ids",
            "SET_REMOTE_INSTALLER designates exactly one instance",
        ));
    }
    if let Some(t) = &b.invocation_target
        && t != TARGET
    {
        return Err(invalid("invocation_target", format!("must be {TARGET}")));
    }
    if let Some(v) = &b.version_type
        && !VERSION_TYPES.contains(&v.as_str())
    {
        return Err(invalid(
            "version_type",
            format!("must be one of {}", VERSION_TYPES.join(", ")),
        ));
    }
    if let Some(o) = &b.origin
        && !ORIGINS.contains(&o.as_str())
    {
        return Err(invalid(
            "origin",
            format!("must be one of {}", ORIGINS.join(", ")),
        ));
    }
    if let Some(v) = &b.version {
        length("version", v, 0, 64)?;
        // It reaches a command on the host: only what a version is made of.
        version_chars("version", v)?;
    }
    let meta = b.remote_install_meta.as_deref().unwrap_or_default();
    if kind == RemoteInstall && meta.is_empty() {
        return Err(invalid(
            "remote_install_meta",
            "REMOTE_INSTALL needs 1 to 100 hosts to install onto",
        ));
    }
    if meta.len() > MAX_IDS {
        return Err(invalid(
            "remote_install_meta",
            format!("must hold at most {MAX_IDS} hosts (got {})", meta.len()),
        ));
    }
    for (i, h) in meta.iter().enumerate() {
        let f = |name: &str| format!("remote_install_meta[{i}].{name}");
        if let Some(n) = &h.instance_name {
            length(&f("instance_name"), n, 1, 128)?;
        }
        let ip = h.remote_ip.as_deref().unwrap_or("");
        length(&f("remote_ip"), ip, 1, 15)?;
        if ip.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(invalid(
                f("remote_ip"),
                "must be an IPv4 address (digits and dots)",
            ));
        }
        if let Some(u) = &h.user_name {
            length(&f("user_name"), u, 1, 16)?;
            // A user name reaches ssh: never an option, never shell syntax.
            let first_ok = u.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
            if !first_ok
                || !u
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            {
                return Err(invalid(
                    f("user_name"),
                    "must start with a letter or _ and hold only letters, digits, _ . -",
                ));
            }
        }
        if let Some(p) = &h.port {
            length(&f("port"), p, 1, 5)?;
            if !p.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid(f("port"), "must be digits"));
            }
        }
        match (&h.password, h.remote_use_pem.unwrap_or(false)) {
            (Some(p), _) => length(&f("password"), p, 1, 3000)?,
            (None, false) => {
                return Err(invalid(
                    f("password"),
                    "is required unless remote_use_pem is true",
                ));
            }
            (None, true) => {}
        }
    }
    Ok(kind)
}

/// Letters, digits and `. _ + -`, not starting with `-`: a version, never shell syntax.
fn version_chars(field: &str, v: &str) -> Result<(), crate::model::validate::Invalid> {
    if v.starts_with('-')
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
    {
        return Err(invalid(
            field,
            "may hold only letters, digits and . _ + - (not starting with -)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: serde_json::Value) -> BatchCreateInvocationRequestBody {
        serde_json::from_value(v).unwrap()
    }

    /// Every field of a REMOTE_INSTALL that reaches a command, with shell metacharacters or an
    /// ssh option in it, is refused, naming the field.
    #[test]
    fn shell_syntax_never_reaches_a_command() {
        let meta = |k: &str, v: &str| {
            let mut h = serde_json::json!({"remote_ip": "10.0.0.5", "user_name": "deploy",
                                           "port": "22", "password": "p"});
            h[k] = v.into();
            h
        };
        let cases = [
            (
                serde_json::json!({"version": "1';touch /tmp/x;'"}),
                "version",
            ),
            (serde_json::json!({"version": "$(id)"}), "version"),
            (
                serde_json::json!({"version": "-oProxyCommand=x"}),
                "version",
            ),
            (
                serde_json::json!({"remote_install_meta": [meta("user_name", "-oProxyCommand=sh")]}),
                "remote_install_meta[0].user_name",
            ),
            (
                serde_json::json!({"remote_install_meta": [meta("user_name", "a;id")]}),
                "remote_install_meta[0].user_name",
            ),
            (
                serde_json::json!({"remote_install_meta": [meta("remote_ip", "1.2.3.4;id")]}),
                "remote_install_meta[0].remote_ip",
            ),
            (
                serde_json::json!({"remote_install_meta": [meta("port", "22 -o")]}),
                "remote_install_meta[0].port",
            ),
        ];
        for (extra, field) in cases {
            let mut v = serde_json::json!({"invocation_type": "REMOTE_INSTALL",
                "remote_install_meta": [meta("port", "22")]});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            let e = check(&body(v)).unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
        let fine = serde_json::json!({"invocation_type": "REMOTE_INSTALL", "version": "3.2.0-rc1+b7",
            "remote_install_meta": [meta("user_name", "svc_deploy.1")]});
        assert!(check(&body(fine)).is_ok());
    }

    #[test]
    fn rules_name_the_field() {
        let cases = [
            (
                serde_json::json!({"invocation_type": "INSTALL"}),
                "instance_ids",
            ),
            (
                serde_json::json!({"invocation_type": "RETRY"}),
                "invocation_ids",
            ),
            (
                serde_json::json!({"invocation_type": "REBOOT"}),
                "invocation_type",
            ),
            (
                serde_json::json!({"invocation_type": "INSTALL", "instance_ids": ["a"], "invocation_target": "uniagent"}),
                "invocation_target",
            ),
            (
                serde_json::json!({"invocation_type": "UPDATE", "instance_ids": ["a"], "version_type": "PRO"}),
                "version_type",
            ),
            (
                serde_json::json!({"invocation_type": "REMOTE_INSTALL", "remote_install_meta": [{"remote_ip": "10.0.0.x", "password": "p"}]}),
                "remote_install_meta[0].remote_ip",
            ),
            (
                serde_json::json!({"invocation_type": "REMOTE_INSTALL", "remote_install_meta": [{"remote_ip": "10.0.0.1"}]}),
                "remote_install_meta[0].password",
            ),
        ];
        for (b, field) in cases {
            let e = check(&body(b.clone())).unwrap_err();
            assert_eq!(e.field, field, "{b}: {e}");
        }
        let too_many: Vec<String> = (0..101).map(|i| format!("i-{i}")).collect();
        let e = check(&body(
            serde_json::json!({"invocation_type": "INSTALL", "instance_ids": too_many}),
        ))
        .unwrap_err();
        assert!(e.rule.contains("at most 100"), "{e}");
    }

    #[test]
    fn the_password_never_shows_in_debug() {
        let h = RemoteInstallHostInfo {
            password: Some("hunter2".into()),
            ..Default::default()
        };
        assert!(!format!("{h:?}").contains("hunter2"));
    }
}
