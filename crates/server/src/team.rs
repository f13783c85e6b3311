//! Who the caller is (`GET /v1/cocpit/whoami`) and the audit trail: every write through the API
//! — who, role, when, from which address, the operation and its key fields, the outcome — runs
//! under the engine's audit ([`Engine::audited`]: its entry commits with its change) and is
//! settled with its answer; the trail is read back at `GET /v1/cocpit/audit`.
//!
//! [`Engine::audited`]: cocpit_engine::Engine::audited

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::{Extension, Json};

use super::App;
use super::auth::Caller;
use super::error::ApiResult;
use super::extract::Query;
use cocpit_api::endpoint::{PUSH_CUSTOM, PUSH_PROMETHEUS, Route, writes};
use cocpit_api::model::Data;
use cocpit_api::model::team::{AuditEntry, AuditQuery};
use cocpit_engine::audit::AuditTicket;

pub async fn whoami(Extension(who): Extension<Caller>) -> Json<Data<Caller>> {
    Json(Data::new(who))
}

/// Every configured user once (a user with several keys counts once), sorted by name.
pub async fn users(State(app): State<Arc<App>>) -> Json<Data<Vec<Caller>>> {
    let mut all: Vec<Caller> = app.keys.identities.values().cloned().collect();
    // One entry per user: the one that names a user id, when a key of theirs does.
    all.sort_by(|a, b| a.user.cmp(&b.user).then(b.user_id.cmp(&a.user_id)));
    all.dedup_by(|later, kept| later.user == kept.user);
    Json(Data::new(all))
}

pub async fn audit(
    State(app): State<Arc<App>>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Data<Vec<AuditEntry>>>> {
    Ok(Json(Data::new(app.engine.audit(&q)?)))
}

/// The most characters of a write's key fields the trail keeps.
const MAX_TARGET: usize = 256;
/// The most characters of why a write failed the trail keeps.
const MAX_OUTCOME: usize = 200;

/// Path parameters that are secrets, never written to the trail.
const SECRET_PARAMS: &[&str] = &["integration_key"];

/// The write a routed request makes, if it makes one the trail keeps: alarm pushes are not
/// audited (monitoring's stream, kept as alarm history), TAT actions are recorded by their
/// dispatcher, which knows the action.
fn audited(parts: &Parts) -> Option<&'static Route> {
    let matched = parts.extensions.get::<MatchedPath>()?;
    super::observe::route_of(parts.method.as_str(), matched.as_str())
        .filter(|r| writes(r) && ![PUSH_CUSTOM.route(), PUSH_PROMETHEUS.route()].contains(r))
}

fn entry(parts: &Parts, caller: &Caller, route: &Route, status: u16, outcome: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: chrono::Utc::now().timestamp_millis(),
        user: caller.user.clone(),
        user_id: caller.user_id.clone(),
        role: caller.role.to_string(),
        address: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.to_string())
            .unwrap_or_default(),
        method: parts.method.as_str().to_string(),
        operation: route.name.to_string(),
        target: target(route, parts.uri.path()),
        status,
        outcome: outcome.to_string(),
    }
}

/// The entry of the write a request makes, if the trail keeps it.
pub fn entry_for(parts: &Parts, caller: &Caller) -> Option<AuditEntry> {
    audited(parts).map(|route| entry(parts, caller, route, 0, ""))
}

/// After the answer: the write's entry gets its status and outcome.
pub fn settle(app: &App, ticket: AuditTicket, r: &Response) {
    let status = r.status().as_u16();
    let why = r
        .extensions()
        .get::<super::error::Failed>()
        .map(|f| f.0.as_str());
    let outcome = outcome(status, why);
    if let Err(e) = app
        .engine
        .settle_audit(ticket, status, &outcome, app.keys.keep_days())
    {
        tracing::error!(status, "audit trail: {e}");
    }
}

/// `ok`, or `failed (STATUS)` with why when known.
fn outcome(status: u16, why: Option<&str>) -> String {
    match (status, why) {
        (200..=299, _) => "ok".to_string(),
        (_, Some(why)) => format!(
            "failed ({status}): {}",
            cocpit_api::sanitize::for_display(why)
                .chars()
                .take(MAX_OUTCOME)
                .collect::<String>()
        ),
        (_, None) => format!("failed ({status})"),
    }
}

/// A write refused before it ran (its role), with why.
pub fn refused(app: &App, parts: &Parts, caller: &Caller, why: &str) {
    if let Some(route) = audited(parts) {
        keep(app, &entry(parts, caller, route, 403, why));
    }
}

/// Appends an entry on its own; a trail that cannot be written is an error in the log.
pub fn keep(app: &App, entry: &AuditEntry) {
    if let Err(e) = app.engine.record_audit(entry, app.keys.keep_days()) {
        tracing::error!(operation = %entry.operation, "audit trail: {e}");
    }
}

/// The key fields of a write: its path parameters, `name=value` (secrets left out).
fn target(route: &Route, path: &str) -> String {
    let names = route
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')));
    let values = route.params(path).unwrap_or_default();
    names
        .zip(values)
        .filter(|(n, _)| !SECRET_PARAMS.contains(n))
        .map(|(n, v)| format!("{n}={}", cocpit_api::sanitize::for_display(&v)))
        .collect::<Vec<_>>()
        .join(" ")
        // A path's ids are short; a hostile one is kept to a bound.
        .chars()
        .take(MAX_TARGET)
        .collect()
}
