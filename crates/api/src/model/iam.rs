//! IAM's password login (`POST /v3/auth/tokens`), the part cocpit serves and uses.

use serde::{Deserialize, Serialize};

/// `{"auth": {"identity": {"methods": ["password"], "password": {"user": {…}}}, "scope": …}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRequest {
    pub auth: Auth,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Auth {
    pub identity: Identity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub methods: Vec<String>,
    #[serde(default)]
    pub password: Option<PasswordIdentity>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordIdentity {
    pub user: UserIdentity,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct UserIdentity {
    pub name: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Named>,
}

impl std::fmt::Debug for UserIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserIdentity")
            .field("name", &self.name)
            .field("password", &"******")
            .field("domain", &self.domain)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Named {
    pub name: String,
}

/// `{"project": {"id": …}}`: the project a token is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default)]
    pub project: Option<serde_json::Value>,
}

impl TokenRequest {
    /// A password login of `user`, for `project_id` when given.
    pub fn password(
        user: &str,
        password: &str,
        domain: Option<&str>,
        project_id: Option<&str>,
    ) -> TokenRequest {
        TokenRequest {
            auth: Auth {
                identity: Identity {
                    methods: vec!["password".into()],
                    password: Some(PasswordIdentity {
                        user: UserIdentity {
                            name: user.into(),
                            password: password.into(),
                            domain: domain.map(|d| Named { name: d.into() }),
                        },
                    }),
                },
                scope: project_id.map(|p| Scope {
                    project: Some(serde_json::json!({ "id": p })),
                }),
            },
        }
    }
}

/// The answer of a login (the token itself travels in `X-Subject-Token`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenAnswer {
    pub token: Token,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub methods: Vec<String>,
    /// RFC 3339, microseconds, UTC.
    pub issued_at: String,
    pub expires_at: String,
    pub user: TokenUser,
    #[serde(default)]
    pub project: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenUser {
    pub name: String,
    pub domain: Named,
}

/// IAM's error body: `{"error": {"code", "message", "title"}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IamError {
    pub error: IamErrorBody,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IamErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub title: String,
}
