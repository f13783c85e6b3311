//! The engine process itself: `GET /v1/cocpit/engine` (version, pid, clients, running work) for
//! every server, and `POST /v1/cocpit/engine/stop` for a local engine process only.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::{Extension, Json};

use super::App;
use super::auth::Caller;
use super::error::{ApiFailure, ApiResult};
use super::extract::Body;
use cocpit_api::model::Data;
use cocpit_api::model::engine::{EngineStatus, StopEngine, Stopped};

/// What a local engine process has that `cocpit serve` has not: it stops when asked, and when
/// idle for `idle_exit`.
pub struct Daemon {
    pub idle_exit: std::time::Duration,
    /// Wakes the idle watch: a client detached or work may have ended.
    pub changed: tokio::sync::Notify,
    /// Set once the engine is to stop, to the reason its orders are paused with.
    pub stop: tokio::sync::watch::Sender<Option<String>>,
}

pub async fn status(State(app): State<Arc<App>>) -> ApiResult<Json<Data<EngineStatus>>> {
    Ok(Json(Data::new(status_of(&app)?)))
}

pub fn status_of(app: &App) -> Result<EngineStatus, ApiFailure> {
    Ok(EngineStatus {
        version: env!("CARGO_PKG_VERSION").into(),
        pid: std::process::id(),
        started_ms: app.started_ms,
        data_dir: app.engine.location().to_string(),
        clients: app.clients.load(Ordering::Relaxed),
        work: app.engine.work()?,
        idle_exit: app.daemon.as_ref().map(|d| d.idle_exit.as_secs()),
    })
}

/// Stops a local engine: refused while work runs unless forced; then its orders pause with the
/// reason "engine stopped by USER", and the answer comes at once. The process lets what already
/// runs finish, then exits.
pub async fn stop(
    State(app): State<Arc<App>>,
    Extension(Caller { user: who, .. }): Extension<Caller>,
    Body(req): Body<StopEngine>,
) -> ApiResult<Json<Data<Stopped>>> {
    let Some(d) = &app.daemon else {
        return Err(ApiFailure::not_found(
            "this is `cocpit serve`, not a local engine process: stop it where it runs",
        ));
    };
    let work = app.engine.work()?;
    if !work.is_idle() && !req.force {
        return Err(ApiFailure::conflict(format!(
            "the engine runs {}: stop it with force to pause its orders (their running instances finish first)",
            work.words()
        )));
    }
    tracing::info!(by = %who, "engine stop asked");
    let reason = format!("engine stopped by {who}");
    let paused = app.engine.pause_all(&reason).await?;
    d.stop.send_replace(Some(reason));
    Ok(Json(Data::new(Stopped { paused })))
}
