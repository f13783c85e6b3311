//! IAM tokens, as Huawei's IAM issues them: `POST /v3/auth/tokens` with a user's password
//! answers 201 with the token in `X-Subject-Token` and its lifetime in the body; the token is
//! then accepted as `X-Auth-Token` in place of a signature until it expires.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::App;

/// Issued tokens: the user each stands for and when it expires.
#[derive(Default)]
pub struct Tokens {
    issued: Mutex<HashMap<String, (String, DateTime<Utc>)>>,
}

impl Tokens {
    /// The user a live token stands for.
    pub fn user(&self, token: &str, now: DateTime<Utc>) -> Option<String> {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        issued.retain(|_, (_, expires)| *expires > now);
        issued.get(token).map(|(user, _)| user.clone())
    }

    fn issue(&self, user: &str, expires: DateTime<Utc>) -> String {
        let token =
            format!("MII{}{}", crate::engine::uuid4(), crate::engine::uuid4()).replace('-', "");
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), (user.to_string(), expires));
        token
    }
}

#[derive(Deserialize)]
pub struct TokenRequest {
    auth: Auth,
}

#[derive(Deserialize)]
struct Auth {
    identity: Identity,
    #[serde(default)]
    scope: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Identity {
    methods: Vec<String>,
    #[serde(default)]
    password: Option<PasswordIdentity>,
}

#[derive(Deserialize)]
struct PasswordIdentity {
    user: UserIdentity,
}

#[derive(Deserialize)]
struct UserIdentity {
    name: String,
    password: String,
    #[serde(default)]
    domain: Option<DomainName>,
}

#[derive(Deserialize)]
struct DomainName {
    name: String,
}

/// IAM's error shape.
fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(
            json!({"error": {"code": status.as_u16().to_string(), "message": message,
                              "title": status.canonical_reason().unwrap_or("")}}),
        ),
    )
        .into_response()
}

pub async fn issue(
    State(app): State<Arc<App>>,
    body: Result<Json<TokenRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(req)) = body else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "auth.identity: expected {\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {…}}}}}",
        );
    };
    let id = req.auth.identity;
    let Some(p) = id
        .password
        .filter(|_| id.methods.iter().any(|m| m == "password"))
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "auth.identity.methods: only \"password\" is supported",
        );
    };
    let u = p.user;
    let domain = u.domain.map(|d| d.name);
    // Every user is compared, in constant time, so timing tells nothing.
    let mut ok = false;
    for known in &app.keys.users {
        use subtle::ConstantTimeEq;
        let same_name = known.name == u.name
            && known
                .domain
                .as_ref()
                .is_none_or(|d| Some(d) == domain.as_ref());
        let same_password = bool::from(known.password.as_bytes().ct_eq(u.password.as_bytes()));
        ok |= same_name & same_password;
    }
    if !ok {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "The username or password is wrong.",
        );
    }
    let issued_at = Utc::now();
    let expires_at = issued_at + chrono::Duration::seconds(app.keys.token_ttl as i64);
    let token = app.tokens.issue(&u.name, expires_at);
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let mut r = (
        StatusCode::CREATED,
        Json(json!({"token": {
            "methods": ["password"],
            "issued_at": stamp(issued_at),
            "expires_at": stamp(expires_at),
            "user": {"name": u.name, "domain": {"name": domain.unwrap_or_default()}},
            "project": req.auth.scope.and_then(|s| s.get("project").cloned()),
        }})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&token) {
        r.headers_mut().insert("X-Subject-Token", v);
    }
    r
}
