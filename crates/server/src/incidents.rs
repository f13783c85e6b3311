//! Incidents (seed 003 §4.4.1) at the seeds' paths with the GOM envelope, the SDK's simple
//! incident list, and cocpit's list and detail with timelines.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::{Extension, Json};

use super::App;
use super::auth::Caller;
use super::error::{ApiResult, Gom, GomResult};
use super::extract::{int_param as int, parse_json, query_pairs};
use cocpit_api::model::incident::*;
use cocpit_api::model::{Data, Page};

pub async fn create(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    body: axum::body::Bytes,
) -> GomResult<CreatedIncident> {
    let mut c: CreateIncident = parse_json(&body)?;
    c.creator = stamp("creator", &c.creator, &caller);
    let incident_num = app.engine.create_incident(c, vec![])?;
    Ok(Json(Gom::ok(CreatedIncident { incident_num })))
}

pub async fn handle(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    body: axum::body::Bytes,
) -> GomResult<Option<()>> {
    let mut h: HandleIncident = parse_json(&body)?;
    h.operator = stamp("operator", &h.operator, &caller);
    app.engine.handle_incident(h)?;
    Ok(Json(Gom::ok(None)))
}

pub async fn detail(
    State(app): State<Arc<App>>,
    Path(num): Path<String>,
) -> GomResult<IncidentInfo> {
    Ok(Json(Gom::ok(app.engine.incident(&num)?)))
}

fn list_query(
    raw: Option<&str>,
) -> Result<ListIncidentsQuery, cocpit_api::model::validate::Invalid> {
    let mut q = ListIncidentsQuery::default();
    for (k, v) in query_pairs(raw) {
        match k.as_str() {
            "status" => q.status = Some(v),
            "level" => q.level = Some(v),
            "offset" => q.offset = Some(int(&k, &v)?),
            "limit" => q.limit = Some(int(&k, &v)?),
            _ => {}
        }
    }
    Ok(q)
}

/// `GET /v1/incident-tickets` (the SDK's `list_incident_simple_tickets`: `data` untyped).
pub async fn simple_list(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> GomResult<Page<IncidentSummary>> {
    let q = list_query(raw.as_deref())?;
    Ok(Json(Gom::ok(app.engine.list_incidents(&q)?)))
}

/// `GET /v1/cocpit/incidents`.
pub async fn list(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Data<Page<IncidentSummary>>>> {
    let q = list_query(raw.as_deref())?;
    Ok(Json(Data::new(app.engine.list_incidents(&q)?)))
}

/// `GET /v1/cocpit/incidents/{num}`: with its timeline.
pub async fn full(
    State(app): State<Arc<App>>,
    Path(num): Path<String>,
) -> ApiResult<Json<Data<IncidentDetail>>> {
    Ok(Json(Data::new(app.engine.incident_detail(&num)?)))
}

/// The caller's name for a body field that names who acts: the body cannot speak for someone
/// else (a different name is ignored, and the log says so).
pub fn stamp(field: &str, given: &str, caller: &Option<Extension<Caller>>) -> String {
    let who = who(caller);
    if !given.is_empty() && given != who {
        tracing::info!(
            field,
            given = %cocpit_api::sanitize::for_display(&given.chars().take(64).collect::<String>()),
            caller = %who,
            "a name in the body was replaced by the caller's"
        );
    }
    who
}

/// Who acts, for records: the access key (or integration) of the request.
pub fn who(c: &Option<Extension<Caller>>) -> String {
    c.as_ref()
        .map(|Extension(c)| c.user.clone())
        .unwrap_or_else(|| "api".into())
}
