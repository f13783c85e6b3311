//! The remote backend: the same [`Backend`] over HTTP (reqwest, rustls) to another
//! `cocpit serve` or a COC-compatible endpoint. Requests are signed with SDK-HMAC-SHA256 by the
//! signer the server verifies with; reads are retried with backoff and jitter on connection
//! errors, 429 and 5xx (honouring `Retry-After`), writes never; live events come from the
//! server's SSE stream, reconnected with backoff, with a `Resync` after every gap.

use cocpit_api::model::team::{
    ApprovalJobScriptModel, AuditEntry, AuditQuery, Caller, ScriptReview,
};
use std::time::Duration;

use async_trait::async_trait;
use percent_encoding::utf8_percent_encode;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

use cocpit_api::backend::{Error, Result, prelude::*};
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
mod events;
mod families;
pub mod settings;
mod wire;

pub use credentials::{Credentials, TokenAuth};
pub use endpoints::{Address, Endpoints, Service};
pub use events::POLLING;

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
    /// What the header shows: `remote` and the profile or the endpoint.
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
    /// How this client treats the network.
    pub fn options(&self) -> Options {
        self.options
    }

    /// The project id CES and Workspace paths carry.
    fn project(&self) -> Result<&str> {
        self.creds.project_id.as_deref().ok_or_else(|| {
            Error::Transport(
                "Cloud Eye and Workspace need a project id: set HUAWEICLOUD_SDK_PROJECT_ID".into(),
            )
        })
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
            label: format!("remote {label}"),
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

    /// The same client, shown in the header as `text`.
    pub fn described_as(mut self, text: String) -> Remote {
        self.label = text;
        self
    }

    /// The engine process behind this endpoint (`GET /v1/cocpit/engine`).
    pub async fn engine_status(&self) -> Result<cocpit_api::model::engine::EngineStatus> {
        Ok(self.read(&ENGINE_STATUS, &[]).await?.data)
    }

    /// Stops a local engine process (`POST /v1/cocpit/engine/stop`).
    pub async fn engine_stop(
        &self,
        req: cocpit_api::model::engine::StopEngine,
    ) -> Result<cocpit_api::model::engine::Stopped> {
        Ok(self.fetch(&ENGINE_STOP, &[], None, Some(&req)).await?.data)
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }
}

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

impl Backend for Remote {
    fn describe(&self) -> String {
        self.label.clone()
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
}
