//! The remote backend: the same [`Backend`] over HTTP (reqwest, rustls) to another
//! `cocpit serve` or a COC-compatible endpoint. Requests are signed with SDK-HMAC-SHA256 by the
//! signer the server verifies with; reads are retried with backoff and jitter on connection
//! errors, 429 and 5xx (honouring `Retry-After`), writes never; live events come from the
//! server's SSE stream, reconnected with backoff, with a `Resync` after every gap.

use std::time::Duration;

use async_trait::async_trait;
use percent_encoding::utf8_percent_encode;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

use cocpit_api::backend::{Backend, Error, Result};
use cocpit_api::endpoint::{self as api, *};
use cocpit_api::event::Change;
use cocpit_api::model::agent::*;
use cocpit_api::model::alarm::*;
use cocpit_api::model::desktop::*;
use cocpit_api::model::iam::TokenRequest;
use cocpit_api::model::incident::*;
use cocpit_api::model::order::*;
use cocpit_api::model::resource::{ListResourcesQuery, Resource};
use cocpit_api::model::script::*;
use cocpit_api::model::tat::{self, Described};
use cocpit_api::model::{ApiError, Page};
use cocpit_api::sign::huawei;

pub mod credentials;
pub mod endpoints;
pub mod settings;

pub use credentials::{Credentials, TokenAuth};
pub use endpoints::{Address, Endpoints, Service};

fn enc(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// How the client treats the network.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub connect_timeout: Duration,
    /// A whole request, answer included.
    pub request_timeout: Duration,
    /// How many times a request that may be repeated is tried.
    pub attempts: u32,
    /// Requests per second never exceeded (0: no limit).
    pub max_rate: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            attempts: 4,
            max_rate: 0,
        }
    }
}

pub struct Remote {
    http: reqwest::Client,
    options: Options,
    endpoints: Endpoints,
    /// What the header shows: the profile, or the endpoint.
    label: String,
    /// When the next request may leave (the rate limit).
    pace: std::sync::Arc<tokio::sync::Mutex<tokio::time::Instant>>,
    /// The IAM token fetched for a password login, and when to fetch a new one.
    token: std::sync::Arc<tokio::sync::Mutex<Option<(String, tokio::time::Instant)>>>,
    creds: Credentials,
    /// Who acts (incident `operator`): the access key, or the IAM user.
    operator: String,
    events: broadcast::Sender<Change>,
    /// The event stream's state, for the console's header.
    link: tokio::sync::watch::Sender<String>,
}

impl Remote {
    /// The project id CES and Workspace paths carry.
    fn project(&self) -> Result<&str> {
        self.creds.project_id.as_deref().ok_or_else(|| {
            Error::Transport(
                "Cloud Eye and Workspace need a project id: set HUAWEICLOUD_SDK_PROJECT_ID".into(),
            )
        })
    }

    /// One TAT action: `POST /` signed with TC3-HMAC-SHA256, never retried (creates are not
    /// idempotent); `Response.Error` becomes an error.
    async fn tat(&self, action: &str, body: &impl Serialize) -> Result<serde_json::Value> {
        let Some((id, key)) = &self.creds.tencent else {
            return Err(Error::Transport(
                "TAT needs Tencent keys: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY"
                    .into(),
            ));
        };
        let ep = self.endpoints.get(Service::Tat).map_err(Error::Transport)?;
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Transport(e.to_string()))?;
        self.paced().await;
        let ts = chrono::Utc::now().timestamp();
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Host".to_string(), ep.host.clone()),
        ];
        let auth = cocpit_api::sign::tencent::authorization(
            id, key, "tat", ts, "POST", "", &headers, &bytes,
        );
        let r = self
            .http
            .post(format!("{}/", ep.base))
            .header("Content-Type", "application/json")
            .header("Authorization", auth)
            .header("X-TC-Action", action)
            .header("X-TC-Version", tat::VERSION)
            .header("X-TC-Timestamp", ts.to_string())
            .body(bytes)
            .send()
            .await
            .map_err(|e| Error::Transport(transport_message(&ep.base, &e)))?;
        let v: serde_json::Value = r
            .json()
            .await
            .map_err(|e| Error::Transport(format!("{action}: unexpected answer: {e}")))?;
        let resp = v["Response"].clone();
        if let Some(err) = resp.get("Error") {
            let code = err["Code"].as_str().unwrap_or("InternalError").to_string();
            return Err(Error::Remote {
                status: 200,
                message: err["Message"].as_str().unwrap_or("").to_string(),
                code,
            });
        }
        Ok(resp)
    }

    /// A client of these endpoints; `label` is what the console's header shows.
    pub fn new(
        endpoints: Endpoints,
        label: String,
        creds: Credentials,
        options: Options,
    ) -> std::result::Result<Remote, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .build()
            .map_err(|e| e.to_string())?;
        let (events, _) = broadcast::channel(4096);
        let (link, _) = tokio::sync::watch::channel("connecting".to_string());
        Ok(Remote {
            link,
            options,
            endpoints,
            label,
            pace: std::sync::Arc::new(tokio::sync::Mutex::new(tokio::time::Instant::now())),
            token: Default::default(),
            operator: match &creds.token {
                Some(TokenAuth::Password { user, .. }) => user.clone(),
                Some(TokenAuth::Given(_)) => "iam-token".into(),
                None => creds.ak.clone(),
            },
            creds,
            http,
            events,
        })
    }

    /// Waits for the request's turn under the rate limit.
    async fn paced(&self) {
        if self.options.max_rate == 0 {
            return;
        }
        let mut next = self.pace.lock().await;
        tokio::time::sleep_until(*next).await;
        let gap = Duration::from_secs_f64(1.0 / f64::from(self.options.max_rate));
        *next = tokio::time::Instant::now().max(*next) + gap;
    }

    /// The IAM token to send, when the credentials are a token or a login: a login's token is
    /// fetched once and again shortly before it expires.
    async fn auth_token(&self) -> Result<Option<String>> {
        let (user, password, domain) = match &self.creds.token {
            None => return Ok(None),
            Some(TokenAuth::Given(t)) => return Ok(Some(t.clone())),
            Some(TokenAuth::Password {
                user,
                password,
                domain,
            }) => (user, password, domain),
        };
        let mut cached = self.token.lock().await;
        if let Some((t, renew_at)) = cached.as_ref()
            && tokio::time::Instant::now() < *renew_at
        {
            return Ok(Some(t.clone()));
        }
        let ep = self.endpoints.get(Service::Iam).map_err(Error::Transport)?;
        let body = TokenRequest::password(
            user,
            password,
            domain.as_deref(),
            self.creds.project_id.as_deref(),
        );
        self.paced().await;
        let r = self
            .http
            .post(format!("{}{}", ep.base, IAM_TOKENS.path))
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::Transport(transport_message(&ep.base, &e)))?;
        let status = r.status().as_u16();
        let subject = header_value(
            &r,
            reqwest::header::HeaderName::from_static("x-subject-token"),
        );
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        let Some(token) = subject.filter(|_| status == 201) else {
            let why = v["error"]["message"]
                .as_str()
                .unwrap_or("no token in the answer");
            return Err(Error::Remote {
                status,
                code: "IAM".into(),
                message: format!("IAM refused the login of {user}: {why}"),
            });
        };
        let time = |k: &str| {
            v["token"][k]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        };
        // Renew a quarter of its life (at most five minutes) before it expires.
        let life = match (time("issued_at"), time("expires_at")) {
            (Some(i), Some(e)) => (e - i).to_std().unwrap_or_default(),
            _ => Duration::from_secs(3600),
        };
        let margin = (life / 4).min(Duration::from_secs(300));
        *cached = Some((token.clone(), tokio::time::Instant::now() + life - margin));
        Ok(Some(token))
    }

    /// Drops a login's cached token; `true` when there was a login to fetch a new one with.
    async fn forget_login_token(&self) -> bool {
        let login = matches!(self.creds.token, Some(TokenAuth::Password { .. }));
        if login {
            *self.token.lock().await = None;
        }
        login
    }

    /// A request to `ep`: with the IAM token when there is one, else signed as the SDK signs.
    fn authorized(
        &self,
        ep: &Address,
        method: &Method,
        path: &str,
        query: &str,
        body: &[u8],
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let Some(token) = token else {
            return self.signed(ep, method, path, query, body);
        };
        let mut req = self
            .http
            .request(method.clone(), url(ep, path, query))
            .header("Content-Type", "application/json")
            .header("X-Auth-Token", token)
            .body(body.to_vec());
        if let Some(p) = &self.creds.project_id {
            req = req.header("X-Project-Id", p);
        }
        req
    }

    /// A request to `ep`, signed as the SDK signs it.
    fn signed(
        &self,
        ep: &Address,
        method: &Method,
        path: &str,
        query: &str,
        body: &[u8],
    ) -> reqwest::RequestBuilder {
        let date = chrono::Utc::now().format(huawei::DATE_FORMAT).to_string();
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Host".to_string(), ep.host.clone()),
            // Signed, so two equal writes in one second are two signatures (a server that
            // accepts each signed write once tells them apart).
            (
                "X-Request-Id".to_string(),
                format!("{:032x}", fastrand::u128(..)),
            ),
            ("X-Sdk-Date".to_string(), date),
        ];
        match (&self.creds.project_id, &self.creds.domain_id) {
            (Some(p), _) => headers.push(("X-Project-Id".to_string(), p.clone())),
            (None, Some(d)) => headers.push(("X-Domain-Id".to_string(), d.clone())),
            (None, None) => {}
        }
        // Temporary credentials: the token travels (signed) with every request.
        if let Some(t) = &self.creds.security_token {
            headers.push(("X-Security-Token".to_string(), t.clone()));
        }
        let auth = huawei::authorization(
            &self.creds.ak,
            &self.creds.sk,
            method.as_str(),
            path,
            query,
            &headers,
            body,
        );
        let mut req = self
            .http
            .request(method.clone(), url(ep, path, query))
            .header("Authorization", auth)
            .body(body.to_vec());
        for (k, v) in headers.iter().filter(|(k, _)| k != "Host") {
            req = req.header(k, v);
        }
        req
    }

    /// One call of a declared endpoint: its parameters filled in `args` order, its query and
    /// body serialised as declared, its answer parsed as declared.
    async fn fetch<Q: Serialize, B: Serialize, A: DeserializeOwned>(
        &self,
        ep: &Endpoint<Q, B, A>,
        args: &[&str],
        query: Option<&Q>,
        body: Option<&B>,
    ) -> Result<A> {
        let method = match ep.method {
            api::Method::Get => Method::GET,
            api::Method::Post => Method::POST,
            api::Method::Put => Method::PUT,
            api::Method::Delete => Method::DELETE,
        };
        let query = query.map(pairs).unwrap_or_default();
        self.exchange(method, ep.service, &ep.path_with(args), &query, body)
            .await
    }

    /// A declared endpoint with no query and no body.
    async fn read<A: DeserializeOwned>(
        &self,
        ep: &Endpoint<(), (), A>,
        args: &[&str],
    ) -> Result<A> {
        self.fetch(ep, args, None, None).await
    }

    /// One API call: signed, retried when it is a read, its error mapped to one message.
    async fn exchange<T: DeserializeOwned>(
        &self,
        method: Method,
        service: Service,
        path: &str,
        query: &[(String, String)],
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        let mut pairs: Vec<(String, String)> = query.to_vec();
        pairs.sort();
        let query: String = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let body = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| Error::Transport(e.to_string()))?,
            None => vec![],
        };
        // A write is repeated only when it surely never arrived (no connection, or a 429
        // refusal): repeating an execution or an incident could do it twice.
        let idempotent = method == Method::GET;
        let ep = self.endpoints.get(service).map_err(Error::Transport)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.auth_token().await?;
            self.paced().await;
            let sent = self
                .authorized(ep, &method, path, &query, &body, token.as_deref())
                .send()
                .await;
            let (wait, err, repeatable) = match sent {
                Ok(r) if r.status().is_success() => match r.bytes().await {
                    Ok(bytes) => {
                        return serde_json::from_slice(&bytes).map_err(|e| {
                            Error::Transport(format!("{method} {path}: unexpected answer: {e}"))
                        });
                    }
                    Err(e) => (
                        None,
                        Error::Unanswered(format!(
                            "{method} {path}: the answer was cut off: {}",
                            cause(&e)
                        )),
                        idempotent,
                    ),
                },
                Ok(r) => {
                    let status = r.status().as_u16();
                    let wait = header_value(&r, reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let skew = header_value(&r, reqwest::header::DATE).and_then(|d| clock_skew(&d));
                    let text = r.text().await.unwrap_or_default();
                    let err = remote_error(status, &text, skew);
                    match status {
                        // A login's token refused before its time: fetch a new one, once.
                        401 if attempt == 1 && self.forget_login_token().await => {
                            (Some(Duration::ZERO), err, true)
                        }
                        429 => (wait, err, true),
                        500.. => (wait, err, idempotent),
                        _ => return Err(err),
                    }
                }
                Err(e) if e.is_connect() => (
                    None,
                    Error::Transport(transport_message(&ep.base, &e)),
                    true,
                ),
                Err(e) => (
                    None,
                    Error::Unanswered(transport_message(&ep.base, &e)),
                    idempotent,
                ),
            };
            if !repeatable || attempt >= self.options.attempts {
                return Err(err);
            }
            // Exponential backoff with jitter, or what the server asked for.
            let backoff =
                Duration::from_millis(100 * 2u64.pow(attempt - 1) + fastrand::u64(0..100));
            tokio::time::sleep(wait.unwrap_or(backoff).min(Duration::from_secs(10))).await;
        }
    }

    /// The newest orders' ids, to tell afterwards whether a lost execution started one.
    async fn recent_orders(&self) -> Option<Vec<String>> {
        let q = ListOrdersQuery {
            limit: Some(RECENT),
            ..Default::default()
        };
        let d = self.fetch(&LIST_ORDERS, &[], Some(&q), None).await.ok()?;
        Some(d.data.data.into_iter().map(|o| o.execute_uuid).collect())
    }

    /// The newest incidents titled `title`, for the same purpose.
    async fn recent_incidents(&self, title: &str) -> Option<Vec<String>> {
        let q = ListIncidentsQuery {
            limit: Some(RECENT),
            ..Default::default()
        };
        let d = self
            .fetch(&LIST_INCIDENTS, &[], Some(&q), None)
            .await
            .ok()?;
        Some(
            d.data
                .data
                .into_iter()
                .filter(|i| i.incident_title == title)
                .map(|i| i.incident_num)
                .collect(),
        )
    }

    /// One signed read of COC, not repeated: its HTTP status, its error when refused, and how
    /// far this clock is from the server's (seconds, + when ahead), for `config check`.
    pub async fn probe(&self) -> Result<(u16, Option<Error>, Option<i64>)> {
        let ep = self.endpoints.coc();
        let token = self.auth_token().await?;
        let r = self
            .authorized(
                ep,
                &Method::GET,
                LIST_SCRIPTS.path,
                "limit=1",
                b"",
                token.as_deref(),
            )
            .send()
            .await
            .map_err(|e| Error::Transport(transport_message(&ep.base, &e)))?;
        let status = r.status().as_u16();
        let skew = header_value(&r, reqwest::header::DATE)
            .and_then(|d| chrono::DateTime::parse_from_rfc2822(&d).ok())
            .map(|server| (chrono::Utc::now() - server.with_timezone(&chrono::Utc)).num_seconds());
        let refused = (!r.status().is_success()).then_some(());
        let text = r.text().await.unwrap_or_default();
        let err = refused.map(|()| remote_error(status, &text, None));
        Ok((status, err, skew))
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Follows `/v1/cocpit/events` until the client is dropped, reconnecting with backoff.
    fn follow_events(&self) {
        let tx = self.events.clone();
        let link = self.link.clone();
        let me = Remote {
            link: self.link.clone(),
            options: self.options,
            endpoints: self.endpoints.clone(),
            label: self.label.clone(),
            pace: self.pace.clone(),
            token: self.token.clone(),
            http: self.http.clone(),
            operator: self.operator.clone(),
            creds: self.creds.clone(),
            events: tx.clone(),
        };
        tokio::spawn(async move {
            let mut failures = 0u32;
            let mut connected_before = false;
            loop {
                if tx.receiver_count() == 0 && connected_before {
                    return;
                }
                let req = me
                    .signed(me.endpoints.coc(), &Method::GET, EVENTS.path, "", b"")
                    .timeout(Duration::from_secs(24 * 3600));
                match req.send().await {
                    Ok(mut r) if r.status().is_success() => {
                        failures = 0;
                        link.send_replace("connected".into());
                        if connected_before {
                            // Events may have been missed meanwhile.
                            let _ = tx.send(Change::Resync);
                        }
                        connected_before = true;
                        let mut buf = String::new();
                        while let Ok(Some(chunk)) = r.chunk().await {
                            buf.push_str(&String::from_utf8_lossy(&chunk));
                            while let Some(end) = buf.find("\n\n") {
                                let frame: String = buf.drain(..end + 2).collect();
                                if let Some(ev) = parse_sse(&frame) {
                                    let _ = tx.send(ev);
                                }
                            }
                        }
                    }
                    // Real COC has no event stream: the console polls instead.
                    Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                        link.send_replace(POLLING.into());
                        return;
                    }
                    Ok(r) => {
                        failures += 1;
                        link.send_replace(format!("refused: HTTP {}", r.status().as_u16()));
                    }
                    Err(_) => failures += 1,
                }
                let wait = Duration::from_millis((250 * 2u64.pow(failures.min(6))).min(15_000));
                if failures > 0 {
                    let state = link.borrow().clone();
                    let why = if state.starts_with("refused") {
                        state
                    } else {
                        "offline".into()
                    };
                    let why = why.split(" · ").next().unwrap_or("offline").to_string();
                    link.send_replace(format!("{why} · retrying in {} s", wait.as_secs().max(1)));
                } else {
                    link.send_replace("reconnecting".into());
                }
                tokio::time::sleep(wait).await;
            }
        });
    }
}

/// One SSE frame: a `change` becomes its event, a `resync` a [`Change::Resync`].
fn parse_sse(frame: &str) -> Option<Change> {
    let mut kind = "message";
    let mut data = String::new();
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            kind = v.trim();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    match kind {
        "change" => serde_json::from_str(&data).ok(),
        "resync" => Some(Change::Resync),
        _ => None,
    }
}

/// An error answer as one message a user can act on.
fn url(ep: &Address, path: &str, query: &str) -> String {
    if query.is_empty() {
        format!("{}{path}", ep.base)
    } else {
        format!("{}{path}?{query}", ep.base)
    }
}

/// The connection state of an endpoint without `/v1/cocpit/events`: the console polls it.
pub const POLLING: &str = "polling (no event stream)";

/// How many of the newest orders or incidents are read to settle a lost create.
const RECENT: i64 = 50;

/// A create failed: when it may still have happened (its answer was lost, or a gateway failed),
/// the newest items are compared with those before it was sent. One new item is the create's
/// result; otherwise the error says what is known, so the user does not simply send it again.
fn settle_lost(
    what: &str,
    err: Error,
    before: Option<Vec<String>>,
    after: Option<Vec<String>>,
) -> Result<String> {
    let uncertain =
        matches!(err, Error::Unanswered(_)) || matches!(err, Error::Remote { status: 500.., .. });
    if !uncertain {
        return Err(err);
    }
    let (Some(before), Some(after)) = (before, after) else {
        return Err(Error::Unanswered(format!(
            "{err}: {what} may or may not have happened, and the server could not be asked; \
             look before sending it again"
        )));
    };
    let new: Vec<String> = after
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    match new.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Unanswered(format!(
            "{err}: {what} did not happen (nothing new on the server); it is safe to send it again"
        ))),
        many => Err(Error::Unanswered(format!(
            "{err}: {what} may have happened: {} appeared meanwhile; look before sending it again",
            many.join(", ")
        ))),
    }
}

fn header_value(r: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// How far this machine's clock is from the server's `Date`, when it is a minute or more.
fn clock_skew(date: &str) -> Option<Duration> {
    let server = chrono::DateTime::parse_from_rfc2822(date).ok()?;
    let skew = (chrono::Utc::now() - server.with_timezone(&chrono::Utc))
        .num_seconds()
        .unsigned_abs();
    (skew >= 60).then(|| Duration::from_secs(skew))
}

/// The innermost cause of a reqwest error (its own text is often only "error decoding body").
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

fn remote_error(status: u16, text: &str, skew: Option<Duration>) -> Error {
    let (code, message) = match serde_json::from_str::<ApiError>(text) {
        Ok(e) => (e.error_code, e.error_msg),
        Err(_) => (
            format!("HTTP {status}"),
            text.chars().take(200).collect::<String>(),
        ),
    };
    let message = if status == 401 {
        let clock = match skew {
            Some(d) => format!("the clock (skew {} min)", (d.as_secs() + 30) / 60),
            None => "the clock".into(),
        };
        let detail = if message.is_empty() {
            String::new()
        } else {
            format!(" ({message})")
        };
        format!("signature rejected: check the access key, the secret key and {clock}{detail}")
    } else {
        message
    };
    Error::Remote {
        status,
        code,
        message,
    }
}

fn transport_message(base: &str, e: &reqwest::Error) -> String {
    if e.is_connect() {
        format!("cannot reach {base}: {e}")
    } else if e.is_timeout() {
        format!("{base} did not answer in time")
    } else {
        format!("{base}: {e}")
    }
}

/// A query struct's set fields as pairs; a list is its key repeated, once per item.
fn pairs(q: &impl Serialize) -> Vec<(String, String)> {
    let text = |v: serde_json::Value| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let Ok(serde_json::Value::Object(m)) = serde_json::to_value(q) else {
        return vec![];
    };
    let mut out = vec![];
    for (k, v) in m {
        match v {
            serde_json::Value::Null => {}
            serde_json::Value::Array(items) => {
                out.extend(items.into_iter().map(|i| (k.clone(), text(i))));
            }
            v => out.push((k, text(v))),
        }
    }
    out
}

/// Starts a client of one endpoint and its event stream (must run inside a tokio runtime).
pub fn connect(endpoint: &str, creds: Credentials) -> std::result::Result<Remote, String> {
    connect_with(endpoint, creds, Options::default())
}

/// [`connect`] with other timeouts, attempts or rate.
pub fn connect_with(
    endpoint: &str,
    creds: Credentials,
    options: Options,
) -> std::result::Result<Remote, String> {
    let endpoints = Endpoints::single("--endpoint", endpoint)?;
    let label = endpoints.coc().base.clone();
    start(Remote::new(endpoints, label, creds, options)?)
}

/// Follows the client's event stream from now on.
pub fn start(r: Remote) -> std::result::Result<Remote, String> {
    r.follow_events();
    Ok(r)
}

#[async_trait]
impl Backend for Remote {
    fn describe(&self) -> String {
        format!("remote {}", self.label)
    }

    fn subscribe(&self) -> Option<broadcast::Receiver<Change>> {
        Some(self.events.subscribe())
    }

    fn connection(&self) -> Option<tokio::sync::watch::Receiver<String>> {
        let mut rx = self.link.subscribe();
        // The state may have been settled before anyone looked: report it at once.
        rx.mark_changed();
        Some(rx)
    }

    async fn list_resources(&self, q: ListResourcesQuery) -> Result<Vec<Resource>> {
        Ok(self.fetch(&LIST_RESOURCES, &[], Some(&q), None).await?.data)
    }

    async fn create_script(&self, s: AddScriptModel) -> Result<String> {
        Ok(self.fetch(&CREATE_SCRIPT, &[], None, Some(&s)).await?.data)
    }

    async fn list_scripts(&self, q: ListScriptsQuery) -> Result<Page<ScriptListModel>> {
        Ok(self.fetch(&LIST_SCRIPTS, &[], Some(&q), None).await?.data)
    }

    async fn get_script(&self, script_uuid: &str) -> Result<ScriptDetailModel> {
        Ok(self.read(&GET_SCRIPT, &[script_uuid]).await?.data)
    }

    async fn update_script(&self, script_uuid: &str, e: EditScriptModel) -> Result<String> {
        let d = self
            .fetch(&UPDATE_SCRIPT, &[script_uuid], None, Some(&e))
            .await?;
        Ok(d.data)
    }

    async fn delete_script(&self, script_uuid: &str) -> Result<String> {
        Ok(self.read(&DELETE_SCRIPT, &[script_uuid]).await?.data)
    }

    async fn execute_script(&self, script_uuid: &str, e: ScriptExecuteModel) -> Result<String> {
        let before = self.recent_orders().await;
        let sent = self
            .fetch(&EXECUTE_SCRIPT, &[script_uuid], None, Some(&e))
            .await;
        match sent {
            Ok(d) => Ok(d.data),
            Err(err) => {
                let after = self.recent_orders().await;
                settle_lost("the execution", err, before, after)
            }
        }
    }

    async fn get_order(&self, execute_uuid: &str) -> Result<JobScriptOrderInfoModel> {
        Ok(self.read(&GET_ORDER, &[execute_uuid]).await?.data)
    }

    async fn list_orders(&self, q: ListOrdersQuery) -> Result<Page<JobScriptOrderListModel>> {
        Ok(self.fetch(&LIST_ORDERS, &[], Some(&q), None).await?.data)
    }

    async fn list_batches(&self, execute_uuid: &str) -> Result<Vec<JobScriptBatchListModel>> {
        Ok(self.read(&LIST_BATCHES, &[execute_uuid]).await?.data)
    }

    async fn get_batch(
        &self,
        execute_uuid: &str,
        batch_index: i64,
        q: BatchDetailQuery,
    ) -> Result<JobScriptBatchDetailModel> {
        let batch = batch_index.to_string();
        let d = self
            .fetch(&GET_BATCH, &[execute_uuid, &batch], Some(&q), None)
            .await?;
        Ok(d.data)
    }

    async fn order_snapshot(&self, execute_uuid: &str) -> Result<OrderSnapshot> {
        match self.read(&ORDER_SNAPSHOT, &[execute_uuid]).await {
            Ok(d) => Ok(d.data),
            // An endpoint without cocpit's extensions (real COC): the seeds' reads.
            Err(Error::Remote { status: 404, .. }) => {
                cocpit_api::backend::compose_snapshot(self, execute_uuid).await
            }
            Err(e) => Err(e),
        }
    }

    async fn statistics(&self, execute_uuid: &str) -> Result<JobScriptOrderStatisticsModel> {
        Ok(self.read(&ORDER_STATISTICS, &[execute_uuid]).await?.data)
    }

    async fn instance_log(&self, execute_uuid: &str, instance_id: i64) -> Result<Vec<LogPiece>> {
        let instance = instance_id.to_string();
        Ok(self
            .read(&INSTANCE_LOG, &[execute_uuid, &instance])
            .await?
            .data)
    }

    async fn operate(&self, execute_uuid: &str, op: JobScriptOrderOperationBody) -> Result<String> {
        let d = self
            .fetch(&OPERATE_ORDER, &[execute_uuid], None, Some(&op))
            .await?;
        Ok(d.data)
    }

    async fn create_incident(&self, c: CreateIncident) -> Result<String> {
        let title = c.incident_title.clone();
        let before = self.recent_incidents(&title).await;
        let sent = self.fetch(&CREATE_INCIDENT, &[], None, Some(&c)).await;
        match sent {
            Ok(g) => Ok(g.data.incident_num),
            Err(err) => {
                let after = self.recent_incidents(&title).await;
                settle_lost("the incident", err, before, after)
            }
        }
    }

    async fn handle_incident(
        &self,
        incident_num: &str,
        operate_key: OperateKey,
        parameter: serde_json::Map<String, serde_json::Value>,
    ) -> Result<IncidentStatus> {
        let h = HandleIncident {
            incident_num: incident_num.into(),
            operator: self.operator.clone(),
            operate_key: operate_key.as_str().into(),
            parameter: Some(parameter),
        };
        self.fetch(&HANDLE_INCIDENT, &[], None, Some(&h)).await?;
        Ok(self
            .read(&INCIDENT_INFO, &[incident_num])
            .await?
            .data
            .status)
    }

    async fn incident_detail(&self, incident_num: &str) -> Result<IncidentDetail> {
        Ok(self.read(&INCIDENT_DETAIL, &[incident_num]).await?.data)
    }

    async fn list_incidents(&self, q: ListIncidentsQuery) -> Result<Page<IncidentSummary>> {
        Ok(self.fetch(&LIST_INCIDENTS, &[], Some(&q), None).await?.data)
    }

    async fn list_alarms(&self, q: ListAlarmsQuery) -> Result<(Vec<Alarm>, Option<i64>)> {
        let d = self.fetch(&LIST_ALARMS, &[], Some(&q), None).await?.data;
        Ok((d.alarms, d.next_marker))
    }

    async fn alarm(&self, alarm_id: &str) -> Result<Alarm> {
        Ok(self.read(&GET_ALARM, &[alarm_id]).await?.data)
    }

    async fn alarm_groups(&self) -> Result<Vec<AlarmGroup>> {
        Ok(self.read(&ALARM_GROUPS, &[]).await?.data)
    }

    async fn push_alarm(&self, integration_key: &str, e: CustomEvent) -> Result<String> {
        self.fetch(&PUSH_CUSTOM, &[integration_key], None, Some(&e))
            .await?;
        Ok(e.alarm_id.unwrap_or_default())
    }

    async fn ack_alarms(&self, alarm_ids: &[String]) -> Result<usize> {
        let body = AckAlarms {
            alarm_ids: alarm_ids.to_vec(),
        };
        Ok(self.fetch(&ACK_ALARMS, &[], None, Some(&body)).await?.data)
    }

    async fn clear_alarms(&self, alarm_ids: &[String], remarks: &str) -> Result<Vec<String>> {
        let body = ClearAlarms {
            alarm_ids: alarm_ids.join(","),
            remarks: Some(remarks.into()),
            is_service_interrupt: None,
            start_time: None,
            fault_recovery_time: None,
        };
        Ok(self
            .fetch(&CLEAR_ALARMS, &[], None, Some(&body))
            .await?
            .data)
    }

    async fn alarms_to_incident(&self, t: AlarmsToIncident) -> Result<String> {
        let d = self.fetch(&ALARMS_TO_INCIDENT, &[], None, Some(&t)).await?;
        d.data
            .into_iter()
            .next()
            .ok_or_else(|| Error::Transport("no incident number in the answer".into()))
    }

    async fn silences(&self) -> Result<Vec<Silence>> {
        Ok(self.read(&LIST_SILENCES, &[]).await?.data)
    }

    async fn create_silence(&self, n: NewSilence) -> Result<Silence> {
        Ok(self.fetch(&CREATE_SILENCE, &[], None, Some(&n)).await?.data)
    }

    async fn expire_silence(&self, id: &str) -> Result<()> {
        self.read(&EXPIRE_SILENCE, &[id]).await.map(|_| ())
    }

    async fn agents(&self) -> Result<Vec<AgentSummary>> {
        Ok(self.read(&AGENTS, &[]).await?.data)
    }

    async fn create_agent_invocations(
        &self,
        b: BatchCreateInvocationRequestBody,
    ) -> Result<Vec<BatchCreateInvocationInfo>> {
        let project = self.project()?;
        let r = self
            .fetch(&CREATE_AGENT_INVOCATIONS, &[project], None, Some(&b))
            .await?;
        Ok(r.invocations)
    }

    async fn list_agent_invocations(
        &self,
        q: ListAgentInvocationsQuery,
    ) -> Result<ListAgentInvocationsResponse> {
        let project = self.project()?;
        self.fetch(&LIST_AGENT_INVOCATIONS, &[project], Some(&q), None)
            .await
    }

    async fn desktop_agents(&self) -> Result<ListAgentsInstallConditionResponse> {
        let project = self.project()?;
        self.fetch(&DESKTOP_AGENTS, &[project], None, None).await
    }

    async fn install_desktop_agents(&self, desktop_ids: Vec<String>) -> Result<String> {
        let project = self.project()?;
        let body = BatchInstallAgentReq { desktop_ids };
        let r = self
            .fetch(&INSTALL_DESKTOP_AGENTS, &[project], None, Some(&body))
            .await?;
        Ok(r.job_id)
    }

    async fn desktop_jobs(&self) -> Result<Vec<ShowJobResponse>> {
        Ok(self.read(&DESKTOP_JOBS, &[]).await?.data)
    }

    async fn create_command(&self, r: tat::CreateCommandRequest) -> Result<String> {
        let v = self.tat("CreateCommand", &r).await?;
        Ok(v["CommandId"].as_str().unwrap_or_default().to_string())
    }

    async fn describe_commands(&self, r: tat::DescribeRequest) -> Result<Described<tat::Command>> {
        described(self.tat("DescribeCommands", &r).await?, "CommandSet")
    }

    async fn create_invoker(&self, r: tat::CreateInvokerRequest) -> Result<String> {
        let v = self.tat("CreateInvoker", &r).await?;
        Ok(v["InvokerId"].as_str().unwrap_or_default().to_string())
    }

    async fn describe_invokers(&self, r: tat::DescribeRequest) -> Result<Described<tat::Invoker>> {
        described(self.tat("DescribeInvokers", &r).await?, "InvokerSet")
    }

    async fn set_invoker_enabled(&self, invoker_id: &str, enable: bool) -> Result<()> {
        let action = if enable {
            "EnableInvoker"
        } else {
            "DisableInvoker"
        };
        let body = tat::InvokerIdRequest {
            invoker_id: Some(invoker_id.into()),
        };
        self.tat(action, &body).await.map(|_| ())
    }

    async fn delete_invoker(&self, invoker_id: &str) -> Result<()> {
        let body = tat::InvokerIdRequest {
            invoker_id: Some(invoker_id.into()),
        };
        self.tat("DeleteInvoker", &body).await.map(|_| ())
    }

    async fn invoker_records(
        &self,
        r: tat::DescribeRequest,
    ) -> Result<Described<tat::InvokerRecord>> {
        described(
            self.tat("DescribeInvokerRecords", &r).await?,
            "InvokerRecordSet",
        )
    }

    async fn invocation_tasks(
        &self,
        r: tat::DescribeRequest,
    ) -> Result<Described<tat::InvocationTask>> {
        described(
            self.tat("DescribeInvocationTasks", &r).await?,
            "InvocationTaskSet",
        )
    }
}

/// A Describe* answer: `TotalCount` and the named set.
fn described<T: DeserializeOwned>(v: serde_json::Value, set: &str) -> Result<Described<T>> {
    let items = serde_json::from_value(v[set].clone())
        .map_err(|e| Error::Transport(format!("{set}: unexpected answer: {e}")))?;
    Ok(Described {
        total_count: v["TotalCount"].as_u64().unwrap_or(0),
        set: items,
    })
}
