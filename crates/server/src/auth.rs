//! Request authentication: Huawei AK/SK signatures on every Huawei path (401 `APIGW.0301` when
//! they do not verify), and the keys `cocpit serve` accepts.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;
use super::error::{AUTH, ApiFailure};
use crate::settings::Serve;
use cocpit_api::sign::sha256_hex;
use cocpit_api::sign::{Header, huawei};

/// Request bodies larger than this are refused before they are signed or parsed.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The alarm integration keys a loopback server accepts when none is configured.
pub const DEMO_INTEGRATIONS: &[(&str, &str)] =
    &[("demo", "custom"), ("demo-prometheus", "prometheus")];

/// Who made the request (see [`Keys::identity`]): in the request's extensions for handlers.
pub use cocpit_api::model::team::Caller;
use cocpit_api::model::team::Role;

/// The keys the server accepts.
#[derive(Default)]
pub struct Keys {
    pub huawei: HashMap<String, String>,
    /// Who each access key, Tencent secret id and IAM user acts as, when configured (a key
    /// with none is itself, an operator).
    pub identities: HashMap<String, Caller>,
    pub tencent: HashMap<String, String>,
    /// Alarm integration keys and their kinds (`custom`, `prometheus`).
    pub integrations: Vec<crate::settings::Integration>,
    /// IAM users who may get tokens, and how long tokens live (seconds).
    pub users: Vec<crate::settings::User>,
    pub token_ttl: u64,
    pub no_auth: bool,
    /// How long a request may take to send its body.
    pub body_timeout: std::time::Duration,
    /// Days the audit trail keeps an entry (0: for ever).
    pub audit_days: u64,
    /// The SHA-256 of the metrics scrape token, if one is set (the token is not kept).
    pub metrics_token: Option<String>,
}

fn identity(user: String, user_id: Option<&str>, role: Role) -> Caller {
    Caller {
        user,
        user_id: user_id.unwrap_or_default().to_string(),
        role,
    }
}

/// IAM users and access keys share the identity table: a user's entry is marked apart.
fn user_key(name: &str) -> String {
    format!("user:{name}")
}

impl Keys {
    /// Days the trail keeps an entry, if limited.
    pub fn keep_days(&self) -> Option<u64> {
        Some(self.audit_days).filter(|d| *d > 0)
    }

    pub fn from_settings(serve: &Serve, no_auth: bool) -> Keys {
        Keys {
            huawei: serve
                .credentials
                .iter()
                .map(|c| (c.ak.clone(), c.sk.clone()))
                .collect(),
            identities: serve
                .credentials
                .iter()
                .map(|c| {
                    let user = c.user.clone().unwrap_or_else(|| c.ak.clone());
                    (c.ak.clone(), identity(user, c.user_id.as_deref(), c.role))
                })
                .chain(serve.tencent_credentials.iter().map(|c| {
                    let user = c.user.clone().unwrap_or_else(|| c.secret_id.clone());
                    (
                        c.secret_id.clone(),
                        identity(user, c.user_id.as_deref(), c.role),
                    )
                }))
                .chain(serve.users.iter().map(|u| {
                    (
                        user_key(&u.name),
                        identity(u.name.clone(), u.user_id.as_deref(), u.role),
                    )
                }))
                .collect(),
            tencent: serve
                .tencent_credentials
                .iter()
                .map(|c| (c.secret_id.clone(), c.secret_key.clone()))
                .collect(),
            integrations: serve.integrations.clone(),
            users: serve.users.clone(),
            token_ttl: serve.token_ttl,
            no_auth,
            body_timeout: std::time::Duration::from_secs(serve.body_timeout),
            audit_days: serve.audit_days,
            metrics_token: serve
                .metrics_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(|t| sha256_hex(t.as_bytes())),
        }
    }

    /// Who an access key (or Tencent secret id) acts as.
    pub fn identity(&self, key: &str) -> Caller {
        self.identities
            .get(key)
            .cloned()
            .unwrap_or_else(|| Caller::new(key, Role::Operator))
    }

    /// Who an IAM user (a token login) acts as.
    pub fn user_identity(&self, name: &str) -> Caller {
        self.identities
            .get(&user_key(name))
            .cloned()
            .unwrap_or_else(|| Caller::new(name, Role::Operator))
    }

    /// The request carries `Authorization: Bearer` with the scrape token (compared as digests,
    /// in constant time).
    pub fn scrape_token_matches(&self, headers: &axum::http::HeaderMap) -> bool {
        let Some(want) = &self.metrics_token else {
            return false;
        };
        let Some(given) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let got = sha256_hex(given.trim().as_bytes());
        subtle::ConstantTimeEq::ct_eq(got.as_bytes(), want.as_bytes()).into()
    }

    /// Adds the demo alarm integration keys ([`DEMO_INTEGRATIONS`]) when the server listens on
    /// loopback only and none is configured; never on another address or beside real ones.
    pub fn add_demo_integrations(&mut self, listen: std::net::SocketAddr, enabled: bool) {
        if !enabled || !listen.ip().is_loopback() || !self.integrations.is_empty() {
            return;
        }
        self.integrations = DEMO_INTEGRATIONS
            .iter()
            .map(|(key, kind)| crate::settings::Integration {
                key: key.to_string(),
                name: format!("demo ({kind})"),
                kind: kind.to_string(),
            })
            .collect();
    }

    /// What a server with these keys accepts and refuses, in words, for its first lines.
    pub fn describe(&self) -> Vec<String> {
        let mut v = vec![];
        if self.no_auth {
            v.push("every request is accepted unsigned (--no-auth)".to_string());
        } else if self.is_empty() {
            v.push(
                "API calls are refused (401): no [[serve.credentials]], [[serve.users]] or \
                 COCPIT_SERVE_AK/SK are configured"
                    .to_string(),
            );
        } else {
            v.push(format!(
                "API calls signed with {} key(s), {} TC3 key(s), tokens for {} user(s)",
                self.huawei.len(),
                self.tencent.len(),
                self.users.len()
            ));
        }
        for i in &self.integrations {
            let path = match i.kind.as_str() {
                "prometheus" => "prometheus",
                _ => "huawei/custom",
            };
            v.push(format!(
                "alarm pushes ({}) at /v1/event/{path}/{}",
                i.kind,
                cocpit_api::sanitize::for_display(&i.key)
            ));
        }
        if self.integrations.is_empty() {
            v.push("alarm pushes are refused: no [[serve.integrations]] configured".to_string());
        }
        v
    }

    pub fn is_empty(&self) -> bool {
        self.huawei.is_empty() && self.tencent.is_empty() && self.users.is_empty()
    }

    /// The integration a key names, compared in constant time against every configured key
    /// (for unsigned alarm pushes the key is the secret).
    pub fn integration(&self, key: &str) -> Option<&crate::settings::Integration> {
        use subtle::ConstantTimeEq;
        let mut found = None;
        for i in &self.integrations {
            if bool::from(i.key.as_bytes().ct_eq(key.as_bytes())) {
                found = Some(i);
            }
        }
        found
    }
}

/// The signed writes (POST, PUT, PATCH, DELETE) accepted while their signature is valid, so a
/// captured one sent again is refused. A signature is valid while its `X-Sdk-Date` is within
/// 15 minutes of the server clock, so it is kept 30 minutes; memory is bounded by [`MAX_SEEN`].
#[derive(Default)]
pub struct Replays {
    seen: std::sync::Mutex<HashMap<String, i64>>,
}

/// The most signed writes remembered at once (about 120 bytes each).
pub const MAX_SEEN: usize = 200_000;
const KEEP_SECS: i64 = 2 * huawei::MAX_SKEW_SECS;

impl Replays {
    /// Forgets a signed write that was refused, so it may be sent again.
    pub fn forget(&self, authorization: &str) {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(authorization);
    }

    /// Records a signed write; refuses one whose signature was accepted before.
    pub fn first_time(&self, authorization: &str, now: i64) -> Result<(), &'static str> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = seen.get(authorization)
            && *until > now
        {
            return Err("this signed write was already accepted (a replay); sign each write anew");
        }
        if seen.len() >= MAX_SEEN {
            seen.retain(|_, until| *until > now);
            if seen.len() >= MAX_SEEN {
                return Err("too many signed writes in the last 30 minutes; try again later");
            }
        }
        seen.insert(authorization.to_string(), now + KEEP_SECS);
        Ok(())
    }
}

/// The integration key of an alarm push path, if this is one.
fn alarm_key(path: &str) -> Option<String> {
    use cocpit_api::endpoint::{PUSH_CUSTOM, PUSH_PROMETHEUS};
    [PUSH_CUSTOM.route(), PUSH_PROMETHEUS.route()]
        .iter()
        .find_map(|r| r.params(path))
        .and_then(|p| p.into_iter().next())
}

pub fn headers_of(h: &axum::http::HeaderMap) -> Vec<Header> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Under `--no-auth` only a local program may call: what a browser can send is refused — any
/// `Origin` (a page on another site), a `Host` that is not loopback (DNS rebinding), a write
/// without a JSON body type (a form post needs no preflight).
fn loopback_only(parts: &axum::http::request::Parts) -> Result<(), String> {
    let h = &parts.headers;
    if h.contains_key(axum::http::header::ORIGIN) {
        return Err("requests with an Origin header (from a browser) are refused".into());
    }
    let host = h
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map(|(n, _)| n).unwrap_or(host),
    };
    let loopback = name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!("Host {host:?} is not a loopback address"));
    }
    let write = !matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let json = h
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if write && !json {
        return Err("a write must have Content-Type: application/json".into());
    }
    Ok(())
}

fn unauthorized(why: &str) -> Response {
    let mut r = ApiFailure {
        status: StatusCode::UNAUTHORIZED,
        code: AUTH,
        message: format!("Incorrect IAM authentication information: {why}"),
    }
    .into_response();
    r.extensions_mut().insert(LogNote::Refused(why.to_string()));
    r
}

/// What the request log says of the caller, carried on the answer: who it was (an access key
/// masked), or why it was refused (never the secret).
#[derive(Debug, Clone)]
pub enum LogNote {
    Caller(String),
    Refused(String),
}

/// An access key as the log shows it: its first four characters.
pub fn mask_key(ak: &str) -> String {
    let head: String = ak.chars().take(4).collect();
    format!("{head}****")
}

/// Verifies the SDK-HMAC-SHA256 signature over the raw request, then passes it on with the
/// body intact and the [`Caller`] attached.
pub async fn huawei(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    if declared_too_large(&parts) {
        return too_large();
    }
    // A push is unsigned unless it carries an SDK signature: a proxy's `Basic` or `Bearer`
    // Authorization (Alertmanager's `http_config`) does not hide a valid integration key.
    let sdk_signed = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(huawei::ALGORITHM.as_bytes()));
    let unsigned_alarm = !sdk_signed && parts.method == axum::http::Method::POST;
    // The headers as the signer sees them: made only for a signed request (alarm pushes, the
    // hot path, never need them).
    let mut signed_headers = None;
    let now = chrono::Utc::now();
    // Who calls, as far as it can be told without the body: every such check comes first, so
    // no unknown caller makes the server hold a body.
    let known = if app.keys.no_auth {
        if let Err(why) = loopback_only(&parts) {
            return ApiFailure {
                status: StatusCode::FORBIDDEN,
                code: AUTH,
                message: format!("--no-auth: {why}"),
            }
            .into_response();
        }
        Some(Caller::new("anonymous", Role::Admin))
    } else if let Some(key) = alarm_key(parts.uri.path()).filter(|_| unsigned_alarm) {
        // Monitoring systems cannot sign: a configured integration key is the credential.
        match app.keys.integration(&key) {
            Some(i) => Some(Caller::new(
                format!(
                    "integration:{}",
                    if i.name.is_empty() {
                        "unnamed"
                    } else {
                        &i.name
                    }
                ),
                Role::Operator,
            )),
            None => return unauthorized("unsigned alarm push with an unknown integration key"),
        }
    } else if let Some(token) = parts.headers.get("x-auth-token").filter(|_| {
        !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
    }) {
        // IAM token authentication: a live token issued here.
        let token = String::from_utf8_lossy(token.as_bytes());
        match app.tokens.user(&token, now) {
            Some(user) => Some(app.keys.user_identity(&user)),
            None => return unauthorized("the X-Auth-Token is unknown or expired"),
        }
    } else {
        let headers = headers_of(&parts.headers);
        if let Err(why) = huawei::precheck(&headers, |ak| app.keys.huawei.get(ak).cloned(), now) {
            return unauthorized(&why.to_string());
        }
        signed_headers = Some(headers);
        None
    };
    let bytes = match read_body(&app, body).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    // The log shows a signer's access key masked; other callers by name.
    let signed = known.is_none();
    // A signed write, remembered so it is accepted once: forgotten again if it is refused (a
    // refused write changed nothing, and the SDKs resend equal writes within the second).
    let mut recorded_write: Option<String> = None;
    let caller = match known {
        Some(c) => c,
        None => {
            let headers = signed_headers.unwrap_or_default();
            let raw = huawei::RawRequest {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or(""),
                headers: &headers,
                body: &bytes,
            };
            match huawei::verify(&raw, |ak| app.keys.huawei.get(ak).cloned(), now) {
                Ok(ak) => {
                    let write = !matches!(
                        parts.method,
                        axum::http::Method::GET | axum::http::Method::HEAD
                    );
                    let auth =
                        cocpit_api::sign::header(&headers, "authorization").unwrap_or_default();
                    if write {
                        if let Err(why) = app.replays.first_time(auth, now.timestamp()) {
                            return unauthorized(why);
                        }
                        recorded_write = Some(auth.to_string());
                    }
                    app.keys.identity(&ak)
                }
                Err(why) => return unauthorized(&why.to_string()),
            }
        }
    };
    let note = if signed && caller.user == caller_key(&parts) {
        mask_key(&caller.user)
    } else {
        caller.user.clone()
    };
    if let Err(why) = permitted(&parts, &caller) {
        let mut r = ApiFailure {
            status: StatusCode::FORBIDDEN,
            code: crate::error::FORBIDDEN,
            message: why.clone(),
        }
        .into_response();
        crate::team::refused(&app, &parts, &caller, &why);
        r.extensions_mut().insert(LogNote::Refused(why));
        r.extensions_mut().insert(caller);
        if let Some(auth) = &recorded_write {
            app.replays.forget(auth);
        }
        return r;
    }
    let audit = crate::team::entry_for(&parts, &caller);
    parts.extensions.insert(caller.clone());
    let handled = next.run(Request::from_parts(parts, Body::from(bytes)));
    let mut r = match audit {
        Some(entry) => {
            let (r, ticket) = app.engine.audited(entry, handled).await;
            crate::team::settle(&app, ticket, &r);
            r
        }
        None => handled.await,
    };
    if let Some(auth) = recorded_write
        && !r.status().is_success()
    {
        app.replays.forget(&auth);
    }
    r.extensions_mut().insert(LogNote::Caller(note));
    r.extensions_mut().insert(caller);
    r
}

/// The access key a signed request names (to mask it in the log when it is the caller's name).
fn caller_key(parts: &axum::http::request::Parts) -> String {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("Access=").nth(1))
        .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
        .unwrap_or_default()
}

/// Whether `caller`'s role allows the routed request: a viewer only reads; admin-only routes
/// need an admin. The refusal names the role and what it would take.
fn permitted(parts: &axum::http::request::Parts, caller: &Caller) -> Result<(), String> {
    use cocpit_api::endpoint::{ADMIN_ONLY, writes};
    let Some(matched) = parts.extensions.get::<axum::extract::MatchedPath>() else {
        return Ok(());
    };
    let method = parts.method.as_str();
    let Some(route) = crate::observe::route_of(method, matched.as_str()) else {
        return Ok(());
    };
    if writes(route) && !caller.role.may_write() {
        return Err(format!(
            "{} has the viewer role, which only reads: {} {} needs operator or admin",
            caller.user, method, route.path
        ));
    }
    if ADMIN_ONLY.contains(route) && caller.role != Role::Admin {
        return Err(format!(
            "{} ({}) may not {} {}: it is for the admin role",
            caller.user, caller.role, method, route.path
        ));
    }
    Ok(())
}

/// For the routes that read their own body (TC3 actions, IAM logins): the same bounds — a
/// declared length over [`MAX_BODY`] refused unread, the body read within the body timeout.
pub async fn bounded_body(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if declared_too_large(&parts) {
        return too_large();
    }
    match read_body(&app, body).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(refused) => refused,
    }
}

/// A declared length over the bound: refused before a byte of the body is read.
fn declared_too_large(parts: &axum::http::request::Parts) -> bool {
    parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY as u64)
}

/// The body, at most [`MAX_BODY`] bytes, received within the body timeout.
async fn read_body(app: &App, body: Body) -> Result<axum::body::Bytes, Response> {
    match tokio::time::timeout(app.keys.body_timeout, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(too_large()),
        Err(_) => Err(ApiFailure {
            status: StatusCode::REQUEST_TIMEOUT,
            code: super::error::INVALID,
            message: format!(
                "body: not received within {} s",
                app.keys.body_timeout.as_secs()
            ),
        }
        .into_response()),
    }
}

fn too_large() -> Response {
    ApiFailure {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: super::error::INVALID,
        message: format!("body: larger than {MAX_BODY} bytes"),
    }
    .into_response()
}

#[cfg(test)]
mod scrape_tests {
    use super::*;

    fn keys(token: Option<&str>) -> Keys {
        let serve = Serve {
            metrics_token: token.map(String::from),
            ..Default::default()
        };
        Keys::from_settings(&serve, false)
    }

    fn bearer(v: &str) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        h.insert(axum::http::header::AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn only_the_configured_scrape_token_opens_metrics() {
        let k = keys(Some("scrape-token-0123456789"));
        assert!(k.scrape_token_matches(&bearer("Bearer scrape-token-0123456789")));
        assert!(!k.scrape_token_matches(&bearer("Bearer scrape-token-012345678")));
        assert!(!k.scrape_token_matches(&bearer("Basic scrape-token-0123456789")));
        assert!(!k.scrape_token_matches(&axum::http::HeaderMap::new()));
        // The token itself is not kept.
        assert!(!format!("{:?}", k.metrics_token).contains("scrape-token"));
        // No token configured: nothing opens it (but loopback).
        assert!(!keys(None).scrape_token_matches(&bearer("Bearer ")));
        assert!(!keys(Some("")).scrape_token_matches(&bearer("Bearer ")));
    }
}
