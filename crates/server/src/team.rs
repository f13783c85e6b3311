//! Who the caller is (`GET /v1/cocpit/whoami`) and the audit trail: every write through the API
//! — who, role, when, from which address, the operation and its key fields, the outcome — is
//! appended to the store, and read back at `GET /v1/cocpit/audit`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::{Extension, Json};

use super::App;
use super::auth::{Caller, LogNote};
use super::error::ApiResult;
use super::extract::Query;
use super::observe::Routed;
use cocpit_api::endpoint::{ALL, PUSH_CUSTOM, PUSH_PROMETHEUS, Route, writes};
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

/// Path parameters that are secrets, never written to the trail.
const SECRET_PARAMS: &[&str] = &["integration_key"];

/// Records each write an identified caller made through a Huawei route, once it is answered.
/// Alarm pushes are not audited (monitoring's stream, kept as alarm history); TAT actions are
/// recorded by their dispatcher, which knows the action.
pub async fn record(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let address = peer(&req);
    let r = next.run(req).await;
    let (Some(Routed(name)), Some(caller)) = (
        r.extensions().get::<Routed>(),
        r.extensions().get::<Caller>(),
    ) else {
        return r;
    };
    let Some(route) = ALL.iter().find(|x| x.name == *name) else {
        return r;
    };
    if !writes(route) || [PUSH_CUSTOM.route(), PUSH_PROMETHEUS.route()].contains(route) {
        return r;
    }
    let outcome = match r.extensions().get::<LogNote>() {
        Some(LogNote::Refused(why)) => why.clone(),
        _ if r.status().is_success() => "ok".into(),
        _ => format!("failed ({})", r.status().as_u16()),
    };
    let entry = AuditEntry {
        id: 0,
        at: chrono::Utc::now().timestamp_millis(),
        user: caller.user.clone(),
        user_id: caller.user_id.clone(),
        role: caller.role.to_string(),
        address,
        method,
        operation: route.name.to_string(),
        target: target(route, &path),
        status: r.status().as_u16(),
        outcome,
    };
    keep(&app, &entry);
    r
}

/// Appends `entry`; a trail that cannot be written is an error in the log, not a lost answer.
pub fn keep(app: &App, entry: &AuditEntry) {
    let days = Some(app.keys.audit_days).filter(|d| *d > 0);
    if let Err(e) = app.engine.record_audit(entry, days) {
        tracing::error!(operation = %entry.operation, "audit trail: {e}");
    }
}

/// The caller's address, `ip:port` (empty when unknown).
pub fn peer(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_default()
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
}
