//! `cocpit serve`: the engine over HTTP at the seeds' paths, with AK/SK authentication and a
//! live event stream. Handlers translate; the engine decides.

mod agents;
mod alarms;
mod auth;
pub mod engine;
pub mod error;
mod events;
mod extract;
mod iam;
mod incidents;
mod jobs;
mod listener;
mod observe;
mod resources;
pub mod settings;
mod tat;
mod team;

/// Wrong passwords allowed before logins slow down.
pub use iam::FREE_TRIES as LOGIN_FREE_TRIES;
pub use listener::Limits;
pub use observe::recorder as metrics_recorder;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

pub use auth::Keys;
use cocpit_api::endpoint::*;
use cocpit_engine::Engine;
use error::ApiFailure;

pub struct App {
    pub engine: Engine,
    pub keys: Keys,
    /// IAM tokens issued by `POST /v3/auth/tokens`.
    pub tokens: iam::Tokens,
    /// Signed writes already accepted (each is accepted once).
    pub replays: auth::Replays,
    /// Clients following the event stream now.
    pub clients: std::sync::atomic::AtomicU64,
    /// When this process started serving, milliseconds since the epoch.
    pub started_ms: i64,
    /// The controls of a local engine process; `None` for `cocpit serve`.
    pub daemon: Option<engine::Daemon>,
    /// Set when the server stops: event streams end.
    pub closing: tokio::sync::watch::Sender<bool>,
}

impl App {
    pub fn new(engine: Engine, keys: Keys, daemon: Option<engine::Daemon>) -> App {
        App {
            engine,
            keys,
            tokens: Default::default(),
            replays: Default::default(),
            clients: Default::default(),
            started_ms: chrono::Utc::now().timestamp_millis(),
            daemon,
            closing: tokio::sync::watch::channel(false).0,
        }
    }
}

/// The whole API as a router.
pub fn router(app: Arc<App>) -> Router {
    let huawei = jobs::routes()
        .at(&LIST_RESOURCES, resources::list)
        .at(&EVENTS, events::stream)
        .at(&CREATE_INCIDENT, incidents::create)
        .at(&HANDLE_INCIDENT, incidents::handle)
        .at(&INCIDENT_INFO, incidents::detail)
        .at(&INCIDENT_TICKETS, incidents::simple_list)
        .at(&LIST_INCIDENTS, incidents::list)
        .at(&INCIDENT_DETAIL, incidents::full)
        .at(&PUSH_CUSTOM, alarms::push_custom)
        .at(&PUSH_PROMETHEUS, alarms::push_prometheus)
        .at(&ALARM_INFO, alarms::show)
        .at(&ALARM_HISTORIES, alarms::histories)
        .at(&CLEAR_ALARMS, alarms::clear)
        .at(&ALARMS_TO_INCIDENT, alarms::to_incident)
        .at(&LIST_ALARMS, alarms::list)
        .at(&ACK_ALARMS, alarms::ack)
        .at(&GET_ALARM, alarms::one)
        .at(&ALARM_GROUPS, alarms::groups)
        .at(&LIST_SILENCES, alarms::silences)
        .at(&CREATE_SILENCE, alarms::create_silence)
        .at(&EXPIRE_SILENCE, alarms::expire_silence)
        .at(&CREATE_AGENT_INVOCATIONS, agents::batch_create)
        .at(&LIST_AGENT_INVOCATIONS, agents::invocations)
        .at(&AGENT_STATUS, agents::status)
        .at(&AGENTS, agents::summaries)
        .at(&DESKTOP_AGENTS, agents::conditions)
        .at(&INSTALL_DESKTOP_AGENTS, agents::install)
        .at(&DESKTOP_JOB, agents::job)
        .at(&DESKTOP_JOBS, agents::jobs)
        .at(&ENGINE_STATUS, engine::status)
        .at(&ENGINE_STOP, engine::stop)
        .at(&WHOAMI, team::whoami)
        .at(&USERS, team::users)
        .at(&AUDIT, team::audit)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), auth::huawei))
        .layer(middleware::from_fn(observe::tag_route))
        .with_state(app.clone());
    let tencent = Router::new()
        .at(&TAT, tat::dispatch)
        .at(&TAT_GET, tat::dispatch_get)
        // Getting a token needs no signature: the password is the credential.
        .at(&IAM_TOKENS, iam::issue)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            auth::bounded_body,
        ))
        // Outermost, so it runs before the body is read.
        .layer(middleware::from_fn_with_state(app.clone(), tat::precheck))
        // Operating the server: no signature (`/metrics` checks its caller itself).
        .at(&HEALTHZ, observe::healthz)
        .at(&READYZ, observe::readyz)
        .at(&METRICS, observe::scrape)
        .layer(middleware::from_fn(observe::tag_route))
        .with_state(app);
    let both = Router::new().merge(tencent);
    both.fallback_service(huawei)
        .layer(middleware::from_fn(no_store))
        .layer(middleware::from_fn(log_request))
}

/// Counts each request by its declared route and status (see [`observe`]) and logs it at
/// info: method, the declared route (a template's name: no key of a path is logged), the TAT
/// action, status, latency, the caller (an access key masked) and why a refusal was made.
async fn log_request(req: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    if !tracing::enabled!(tracing::Level::INFO) {
        let r = next.run(req).await;
        observe::count(routed(&r), r.status(), start.elapsed());
        return r;
    }
    let method = req.method().clone();
    let action = req
        .headers()
        .get("x-tc-action")
        .and_then(|v| v.to_str().ok())
        .map(|a| a.chars().take(64).collect::<String>());
    let r = next.run(req).await;
    let route = routed(&r);
    let took = start.elapsed();
    observe::count(route, r.status(), took);
    let (caller, refused) = match r.extensions().get::<auth::LogNote>() {
        Some(auth::LogNote::Caller(c)) => (c.as_str(), ""),
        Some(auth::LogNote::Refused(why)) => ("", why.as_str()),
        None => ("", ""),
    };
    tracing::info!(
        %method,
        route,
        action = action.as_deref().unwrap_or(""),
        status = r.status().as_u16(),
        micros = took.as_micros() as u64,
        caller,
        refused,
        "request"
    );
    r
}

fn routed(r: &Response) -> &'static str {
    r.extensions()
        .get::<observe::Routed>()
        .map_or("unrouted", |t| t.0)
}

/// Routes endpoint declarations: the path and method come from the declaration only.
trait Declared<S> {
    fn at<Q, B, A, H, T>(self, ep: &Endpoint<Q, B, A>, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static;
}

impl<S: Clone + Send + Sync + 'static> Declared<S> for Router<S> {
    fn at<Q, B, A, H, T>(self, ep: &Endpoint<Q, B, A>, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let filter = match ep.method {
            Method::Get => axum::routing::MethodFilter::GET,
            Method::Post => axum::routing::MethodFilter::POST,
            Method::Put => axum::routing::MethodFilter::PUT,
            Method::Delete => axum::routing::MethodFilter::DELETE,
        };
        self.route(ep.path, axum::routing::on(filter, handler))
    }
}

async fn not_found(req: Request) -> ApiFailure {
    ApiFailure::not_found(format!("no API at {} {}", req.method(), req.uri().path()))
}

/// API answers are never cached by intermediaries.
async fn no_store(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await.into_response();
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

/// The listener's bounds from `[serve]`.
pub fn limits(serve: &settings::Serve) -> listener::Limits {
    listener::Limits {
        max_connections: serve.max_connections,
        header_timeout: std::time::Duration::from_secs(serve.header_timeout),
    }
}

/// Binds `addr` and serves until SIGTERM or ^C. Prints `listening on http://HOST:PORT` as the
/// first line on stdout once the socket accepts connections. On the signal it pauses the
/// running orders at once (no new batch starts), ends the event streams, answers the requests in
/// flight, and returns the reason, for the caller to wind the engine down with.
pub async fn serve(
    app: Arc<App>,
    addr: SocketAddr,
    limits: listener::Limits,
) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{local}")?;
        out.flush()?;
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let closer = app.clone();
    let signalled = async move {
        let reason = format!("cocpit serve stopped by {}", shutdown_signal().await);
        tracing::info!("{reason}: pausing running orders, answering requests in flight");
        if let Err(e) = closer.engine.pause_all(&reason).await {
            tracing::error!("pausing orders: {e}");
        }
        closer.closing.send_replace(true);
        let _ = tx.send(reason);
    };
    listener::run(
        listener,
        router(app),
        limits,
        signalled,
        std::time::Duration::from_secs(10),
    )
    .await?;
    Ok(rx.await.unwrap_or_else(|_| "cocpit serve stopped".into()))
}

/// Serves the API from a background task (the console's `--listen`): binds now, returns the
/// address, and serves until the process ends. Prints nothing: the terminal is the console's.
pub async fn spawn(
    app: Arc<App>,
    addr: SocketAddr,
    limits: listener::Limits,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(listener::run(
        listener,
        router(app),
        limits,
        std::future::pending(),
        std::time::Duration::ZERO,
    ));
    Ok(local)
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
