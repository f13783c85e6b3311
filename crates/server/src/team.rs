//! Who the caller is (`GET /v1/cocpit/whoami`) and the audit trail: every write through the API
//! — who, role, when, from which address, the operation and its key fields, the outcome — is
//! appended to the store before it runs and finished with its answer (so no change happens
//! without its entry), and read back at `GET /v1/cocpit/audit`.

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

/// Before a write runs: its entry, in progress (status 0), so no change happens without one.
/// Its id, to [`finish`] it with the answer.
pub fn begin(app: &App, parts: &Parts, caller: &Caller) -> Option<i64> {
    let route = audited(parts)?;
    keep(app, &entry(parts, caller, route, 0, "in progress"))
}

/// After the write: its status and outcome.
pub fn finish(app: &App, id: i64, r: &Response) {
    let outcome = if r.status().is_success() {
        "ok".to_string()
    } else {
        format!("failed ({})", r.status().as_u16())
    };
    if let Err(e) = app.engine.finish_audit(id, r.status().as_u16(), &outcome) {
        tracing::error!(id, "audit trail: {e}");
    }
}

/// A write refused before it ran (its role), with why.
pub fn refused(app: &App, parts: &Parts, caller: &Caller, why: &str) {
    if let Some(route) = audited(parts) {
        keep(app, &entry(parts, caller, route, 403, why));
    }
}

/// Appends `entry` (its id); a trail that cannot be written is an error in the log.
pub fn keep(app: &App, entry: &AuditEntry) -> Option<i64> {
    let days = Some(app.keys.audit_days).filter(|d| *d > 0);
    match app.engine.record_audit(entry, days) {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::error!(operation = %entry.operation, "audit trail: {e}");
            None
        }
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
