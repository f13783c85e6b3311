//! `cocpit serve`: the engine over HTTP at the seeds' paths, with AK/SK authentication and a
//! live event stream. Handlers translate; the engine decides.

mod agents;
mod alarms;
mod auth;
pub mod error;
mod events;
mod extract;
mod iam;
mod incidents;
mod jobs;
mod listener;
mod resources;
pub mod settings;
mod tat;

/// Wrong passwords allowed before logins slow down.
pub use iam::FREE_TRIES as LOGIN_FREE_TRIES;
pub use listener::Limits;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use auth::Keys;
use cocpit_engine::Engine;
use error::ApiFailure;

pub struct App {
    pub engine: Engine,
    pub keys: Keys,
    /// IAM tokens issued by `POST /v3/auth/tokens`.
    pub tokens: iam::Tokens,
    /// Signed writes already accepted (each is accepted once).
    pub replays: auth::Replays,
}

/// The whole API as a router.
pub fn router(app: Arc<App>) -> Router {
    let huawei = jobs::routes()
        .route("/v1/resources", get(resources::list))
        .route("/v1/cocpit/events", get(events::stream))
        .route("/v1/external/incident/create", post(incidents::create))
        .route("/v1/external/incident/handle", post(incidents::handle))
        .route(
            "/v1/external/incident/{incident_num}",
            get(incidents::detail),
        )
        .route("/v1/incident-tickets", get(incidents::simple_list))
        .route("/v1/cocpit/incidents", get(incidents::list))
        .route("/v1/cocpit/incidents/{incident_num}", get(incidents::full))
        .route(
            "/v1/event/huawei/custom/{integration_key}",
            post(alarms::push_custom),
        )
        .route(
            "/v1/event/prometheus/{integration_key}",
            post(alarms::push_prometheus),
        )
        .route("/v1/alarm-mgmt/alarm/{alarm_id}", get(alarms::show))
        .route(
            "/v1/alarm-mgmt/alarm/{alarm_id}/handle-histories",
            get(alarms::histories),
        )
        .route("/v1/alarm-mgmt/alarms/cancel", post(alarms::clear))
        .route(
            "/v1/alarm-mgmt/alarms-linked-incident",
            post(alarms::to_incident),
        )
        .route("/v1/cocpit/alarms", get(alarms::list))
        .route("/v1/cocpit/alarms/ack", post(alarms::ack))
        .route("/v1/cocpit/alarms/{alarm_id}", get(alarms::one))
        .route("/v1/cocpit/alarm-groups", get(alarms::groups))
        .route(
            "/v1/cocpit/silences",
            get(alarms::silences).post(alarms::create_silence),
        )
        .route(
            "/v1/cocpit/silences/{id}",
            axum::routing::delete(alarms::expire_silence),
        )
        .route(
            "/v3/{project_id}/agent-invocations/batch-create",
            post(agents::batch_create),
        )
        .route(
            "/v3/{project_id}/agent-invocations",
            get(agents::invocations),
        )
        .route(
            "/v3/{project_id}/agent-status/batch-query",
            post(agents::status),
        )
        .route("/v1/cocpit/agents", get(agents::summaries))
        .route(
            "/v2/{project_id}/desktops/agents",
            get(agents::conditions).post(agents::install),
        )
        .route("/v2/{project_id}/workspace-jobs/{job_id}", get(agents::job))
        .route("/v1/cocpit/desktop-jobs", get(agents::jobs))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), auth::huawei))
        .with_state(app.clone());
    let tencent = Router::new()
        .route("/", post(tat::dispatch))
        // Getting a token needs no signature: the password is the credential.
        .route("/v3/auth/tokens", post(iam::issue))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            auth::bounded_body,
        ))
        // Outermost, so it runs before the body is read.
        .layer(middleware::from_fn_with_state(app.clone(), tat::precheck))
        .with_state(app);
    let both = Router::new().merge(tencent);
    both.fallback_service(huawei)
        .layer(middleware::from_fn(no_store))
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

/// Binds `addr` and serves until the process is stopped. Prints `listening on http://HOST:PORT`
/// as the first line on stdout once the socket accepts connections.
pub async fn serve(
    app: Arc<App>,
    addr: SocketAddr,
    limits: listener::Limits,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{local}")?;
        out.flush()?;
    }
    listener::run(
        listener,
        router(app),
        limits,
        shutdown_signal(),
        std::time::Duration::from_secs(10),
    )
    .await
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

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
