//! IAM tokens, as Huawei's IAM issues them: `POST /v3/auth/tokens` with a user's password
//! answers 201 with the token in `X-Subject-Token` and its lifetime in the body; the token is
//! then accepted as `X-Auth-Token` in place of a signature until it expires.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::App;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cocpit_api::model::iam::*;

/// Issued tokens: the user each stands for and when it expires; and the failed logins.
#[derive(Default)]
pub struct Tokens {
    issued: Mutex<HashMap<String, (String, DateTime<Utc>)>>,
    throttle: Throttle,
}

/// Failed logins by user and by peer address: after [`FREE_TRIES`] failures each further try
/// waits twice as long as the last (up to 15 minutes), answered 429 with `Retry-After`.
#[derive(Default)]
struct Throttle {
    /// Failures, and the time (ms) of the last one.
    failed: Mutex<HashMap<String, (u32, i64)>>,
}

/// Wrong passwords allowed before logins slow down.
pub const FREE_TRIES: u32 = 5;
const MAX_WAIT_MS: i64 = 15 * 60 * 1000;
/// Failure records kept at most (oldest forgotten first when full).
const MAX_TRACKED: usize = 10_000;

impl Throttle {
    /// Milliseconds `key` must still wait before it may try again.
    fn wait_ms(&self, key: &str, now: i64) -> i64 {
        let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        match failed.get(key) {
            Some((n, last)) if *n >= FREE_TRIES => {
                let backoff = (1000i64 << (n - FREE_TRIES).min(20)).min(MAX_WAIT_MS);
                (last + backoff - now).max(0)
            }
            _ => 0,
        }
    }

    fn failure(&self, key: &str, now: i64) {
        let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        if failed.len() >= MAX_TRACKED {
            failed.retain(|_, (_, last)| now - *last < MAX_WAIT_MS);
        }
        if failed.len() < MAX_TRACKED || failed.contains_key(key) {
            let e = failed.entry(key.to_string()).or_insert((0, now));
            *e = (e.0 + 1, now);
        }
    }

    fn success(&self, key: &str) {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// A token: 256 bits from the operating system's CSPRNG, hex, behind IAM's `MII` prefix.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    format!("MII{}", hex::encode(bytes))
}

impl Tokens {
    /// The user a live token stands for.
    pub fn user(&self, token: &str, now: DateTime<Utc>) -> Option<String> {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        issued.retain(|_, (_, expires)| *expires > now);
        issued.get(token).map(|(user, _)| user.clone())
    }

    fn issue(&self, user: &str, expires: DateTime<Utc>) -> String {
        let token = new_token();
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), (user.to_string(), expires));
        token
    }
}

/// IAM's error shape.
fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(IamError {
            error: IamErrorBody {
                code: status.as_u16().to_string(),
                message: message.into(),
                title: status.canonical_reason().unwrap_or("").into(),
            },
        }),
    )
        .into_response()
}

pub async fn issue(
    State(app): State<Arc<App>>,
    parts: axum::http::request::Parts,
    body: Result<Json<TokenRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
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
    // Guessing is slowed per user and per address, before any password is compared.
    let now_ms = Utc::now().timestamp_millis();
    let keys = [format!("user:{}", u.name), format!("peer:{peer}")];
    let wait = keys
        .iter()
        .map(|k| app.tokens.throttle.wait_ms(k, now_ms))
        .max()
        .unwrap_or(0);
    if wait > 0 {
        let secs = (wait + 999) / 1000;
        let mut r = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many wrong passwords: try again in {secs} s."),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert("retry-after", v);
        }
        return r;
    }
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
        for k in &keys {
            app.tokens.throttle.failure(k, now_ms);
        }
        return refuse(
            StatusCode::UNAUTHORIZED,
            "The username or password is wrong.",
        );
    }
    for k in &keys {
        app.tokens.throttle.success(k);
    }
    let issued_at = Utc::now();
    let expires_at = issued_at + chrono::Duration::seconds(app.keys.token_ttl as i64);
    let token = app.tokens.issue(&u.name, expires_at);
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let mut r = (
        StatusCode::CREATED,
        Json(TokenAnswer {
            token: Token {
                methods: vec!["password".into()],
                issued_at: stamp(issued_at),
                expires_at: stamp(expires_at),
                user: TokenUser {
                    name: u.name,
                    domain: Named {
                        name: domain.unwrap_or_default(),
                    },
                },
                project: req.auth.scope.and_then(|s| s.project),
            },
        }),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&token) {
        r.headers_mut().insert("X-Subject-Token", v);
    }
    r
}
