//! A team on one server: who calls (identity and role), script review decisions, and the audit
//! trail of every write.

use serde::{Deserialize, Serialize};

use super::script::{ReviewerInfo, ScriptStatus};
use super::wire_enum;

wire_enum!(
    /// What a caller may do: a viewer reads; an operator also writes; an admin also does the
    /// few admin-only actions ([`crate::endpoint::ADMIN_ONLY`]).
    Role {
        Viewer = "viewer",
        Operator = "operator",
        Admin = "admin",
    }
);

// `wire_enum!` declares the enum, so `#[default]` cannot be put on the variant.
#[allow(clippy::derivable_impls)]
impl Default for Role {
    fn default() -> Self {
        Role::Operator
    }
}

impl Role {
    pub fn may_write(self) -> bool {
        self != Role::Viewer
    }
}

/// Who a request acts as: stamped by the server on every change, whatever the body says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The IAM user name (or, for a key with none, the access key itself).
    pub user: String,
    /// The IAM user id, when configured (reviewers are matched by it first).
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub role: Role,
}

impl Caller {
    pub fn new(user: impl Into<String>, role: Role) -> Caller {
        Caller {
            user: user.into(),
            user_id: String::new(),
            role,
        }
    }

    /// The id reviewers and authors are matched by: the user id, else the name.
    pub fn id(&self) -> &str {
        if self.user_id.is_empty() {
            &self.user
        } else {
            &self.user_id
        }
    }

    /// Whether this caller is among `reviewers`: by user id when both have one, else by name.
    pub fn reviews(&self, reviewers: &[ReviewerInfo]) -> bool {
        reviewers.iter().any(|r| {
            if !r.reviewer_id.is_empty() && !self.user_id.is_empty() {
                r.reviewer_id == self.user_id
            } else {
                r.reviewer_name == self.user
            }
        })
    }

    /// Whether this caller wrote what `creator` / `creator_id` name.
    pub fn wrote(&self, creator: &str, creator_id: &str) -> bool {
        creator_id == self.id() || creator == self.user
    }
}

/// Reviewers as people type them: `name[:user_id]`, separated by commas; blanks ignored.
pub fn parse_reviewers(text: &str) -> Vec<ReviewerInfo> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let (name, id) = t.split_once(':').unwrap_or((t, ""));
            ReviewerInfo {
                reviewer_name: name.trim().to_string(),
                reviewer_id: id.trim().to_string(),
            }
        })
        .collect()
}

/// Reviewers as [`parse_reviewers`] reads them back: `name:user_id, name`.
pub fn reviewers_text(rs: &[ReviewerInfo]) -> String {
    rs.iter()
        .map(|r| {
            if r.reviewer_id.is_empty() {
                r.reviewer_name.clone()
            } else {
                format!("{}:{}", r.reviewer_name, r.reviewer_id)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A name as an operator (tests and tools that act as one).
impl From<&str> for Caller {
    fn from(user: &str) -> Caller {
        Caller::new(user, Role::Operator)
    }
}

/// `ApprovalJobScriptModel`: a reviewer's decision (`POST /v1/job/scripts/{uuid}/action`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalJobScriptModel {
    /// `APPROVED` or `REJECTED`.
    pub status: ScriptStatus,
    #[serde(default)]
    pub comments: String,
}

/// One review decision, kept for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptReview {
    pub script_uuid: String,
    pub reviewer: String,
    pub reviewer_id: String,
    pub status: ScriptStatus,
    pub comments: String,
    /// When, milliseconds since the epoch.
    pub at: i64,
    /// The SHA-256 of the content it applied to (the version reviewed).
    pub content_sha256: String,
    /// That content, so a later review can show what changed since.
    pub content: String,
}

/// One write, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// When, milliseconds since the epoch.
    pub at: i64,
    pub user: String,
    pub user_id: String,
    pub role: String,
    /// The caller's address (`ip:port`).
    pub address: String,
    pub method: String,
    /// The declared endpoint (`CREATE_SCRIPT`) or TAT action (`TAT:CreateInvoker`).
    pub operation: String,
    /// The key fields: the path's ids (`script_uuid=SC…`).
    pub target: String,
    /// The HTTP status it got.
    pub status: u16,
    /// `ok`, or why it was refused or failed.
    pub outcome: String,
}

/// Query of `GET /v1/cocpit/audit`: newest first, paged by `marker` (the last id seen).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// An operation, or a prefix of one (`CREATE_`, `TAT:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// From this time (ms since the epoch, inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Before this time (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviewers_are_matched_by_user_id_else_by_name() {
        let rs = parse_reviewers(" rita:u-rita , oscar,, ");
        assert_eq!(reviewers_text(&rs), "rita:u-rita, oscar");
        let rita = Caller {
            user: "rita".into(),
            user_id: "u-rita".into(),
            role: Role::Operator,
        };
        assert!(rita.reviews(&rs));
        // Both have an id: the id decides, not a shared name.
        let other_rita = Caller {
            user_id: "u-other".into(),
            ..rita.clone()
        };
        assert!(!other_rita.reviews(&rs));
        // No id on the caller: the name decides.
        assert!(Caller::new("oscar", Role::Operator).reviews(&rs));
        assert!(!Caller::new("vera", Role::Viewer).reviews(&rs));
        assert!(rita.wrote("someone", "u-rita") && rita.wrote("rita", "") && !rita.wrote("x", "y"));
    }
}
