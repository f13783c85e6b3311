//! Alarm ingestion (custom integration, seed 003 §4.4.2; Prometheus Alertmanager's webhook),
//! the SDK's alarm-management paths, and cocpit's alarm list, groups, acks and silences.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;

use super::App;
use super::auth::Caller;
use super::error::{ApiFailure, ApiResult, GomFailure};
use super::extract::{int_param as int, parse_json, query_pairs};
use super::incidents::who;
use cocpit_api::model::Data;
use cocpit_api::model::alarm::*;
use cocpit_engine::alarms::{from_alertmanager, from_custom};
use cocpit_engine::now_ms;

/// The seed's answer to a push: `COC.00000000`, "success".
#[derive(Serialize)]
pub struct Pushed {
    provider_code: &'static str,
    error_code: &'static str,
    error_msg: &'static str,
    data: Option<()>,
}

const PUSHED: Pushed = Pushed {
    provider_code: cocpit_api::model::incident::PROVIDER_CODE,
    error_code: "COC.00000000",
    error_msg: "success",
    data: None,
};

/// The seed's code for a bad push body.
const BAD_PUSH: &str = "COC.00000001";

fn bad_push(message: String) -> GomFailure {
    GomFailure(ApiFailure {
        status: StatusCode::BAD_REQUEST,
        code: BAD_PUSH,
        message,
    })
}

/// The integration a path names, of the kind the path is for.
fn integration(app: &App, key: &str, kind: &str) -> Result<(), GomFailure> {
    match app.keys.integration(key) {
        Some(i) if i.kind == kind => Ok(()),
        Some(i) => Err(GomFailure(ApiFailure::invalid(format!(
            "integration_key: {key:?} is a {} integration, not {kind}",
            i.kind
        )))),
        None => Err(GomFailure(ApiFailure::not_found(format!(
            "integration_key: no integration {key:?} (configure it under [[serve.integrations]])"
        )))),
    }
}

pub async fn push_custom(
    State(app): State<Arc<App>>,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Pushed>, GomFailure> {
    integration(&app, &key, "custom")?;
    let e: CustomEvent = parse_json(&body).map_err(|f| bad_push(f.message))?;
    let alarm = from_custom(&key, e, now_ms()).map_err(|i| bad_push(custom_message(i)))?;
    app.engine.ingest(vec![alarm]).await?;
    Ok(Json(PUSHED))
}

pub async fn push_prometheus(
    State(app): State<Arc<App>>,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Pushed>, GomFailure> {
    integration(&app, &key, "prometheus")?;
    let w: AlertmanagerWebhook = parse_json(&body).map_err(|f| bad_push(f.message))?;
    let alarms = from_alertmanager(&key, w, now_ms()).map_err(|i| bad_push(i.to_string()))?;
    app.engine.ingest(alarms).await?;
    Ok(Json(PUSHED))
}

/// Missing fields read as the seed's example (`alarmName must not be null | …`); other
/// problems name their field.
fn custom_message(i: cocpit_api::model::validate::Invalid) -> String {
    if i.rule.contains("must not be null") {
        i.rule
    } else {
        i.to_string()
    }
}

/// `GET /v1/alarm-mgmt/alarm/{alarm_id}`.
pub async fn show(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<AlarmInfoDto>>> {
    Ok(Json(Data::new(app.engine.alarm_info(&id)?)))
}

/// `GET /v1/alarm-mgmt/alarm/{alarm_id}/handle-histories?offset&limit`.
pub async fn histories(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Histories>> {
    let (mut offset, mut limit) = (0, 100);
    for (k, v) in query_pairs(raw.as_deref()) {
        match k.as_str() {
            "offset" => offset = int(&k, &v)?,
            "limit" => limit = int(&k, &v)?,
            _ => {}
        }
    }
    let (count, alarm_handle_histories) = app.engine.alarm_histories(&id, offset, limit)?;
    Ok(Json(Histories {
        count,
        alarm_handle_histories,
    }))
}

/// `POST /v1/alarm-mgmt/alarms/cancel`: clears alarms.
pub async fn clear(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Data<Vec<String>>>> {
    let c: ClearAlarms = parse_json(&body)?;
    Ok(Json(Data::new(app.engine.clear_alarms(&c, &who(&caller))?)))
}

/// `POST /v1/alarm-mgmt/alarms-linked-incident`: alarms into one incident.
pub async fn to_incident(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Data<Vec<String>>>> {
    let t: AlarmsToIncident = parse_json(&body)?;
    let num = app.engine.alarms_to_incident(&t, &who(&caller))?;
    Ok(Json(Data::new(vec![num])))
}

/// `GET /v1/cocpit/alarms?state&level&include_silenced&limit&marker`.
pub async fn list(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Data<AlarmPage>>> {
    let mut q = ListAlarmsQuery::default();
    let mut marker = None;
    for (k, v) in query_pairs(raw.as_deref()) {
        match k.as_str() {
            "state" => q.state = Some(v),
            "level" => q.level = Some(v),
            "include_silenced" => q.include_silenced = Some(v == "true"),
            "limit" => q.limit = Some(int(&k, &v)?),
            "marker" => marker = Some(int(&k, &v)?),
            "ids" => q.ids = Some(v),
            _ => {}
        }
    }
    let (alarms, next_marker) = app.engine.list_alarms(&q, marker)?;
    Ok(Json(Data::new(AlarmPage {
        alarms,
        next_marker,
    })))
}

pub async fn one(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<Alarm>>> {
    Ok(Json(Data::new(app.engine.alarm(&id)?)))
}

/// `POST /v1/cocpit/alarms/ack`.
pub async fn ack(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Data<usize>>> {
    let a: AckAlarms = parse_json(&body)?;
    Ok(Json(Data::new(
        app.engine.ack_alarms(&a.alarm_ids, &who(&caller))?,
    )))
}

pub async fn groups(State(app): State<Arc<App>>) -> ApiResult<Json<Data<Vec<AlarmGroup>>>> {
    Ok(Json(Data::new(app.engine.alarm_groups()?)))
}

pub async fn silences(State(app): State<Arc<App>>) -> ApiResult<Json<Data<Vec<Silence>>>> {
    Ok(Json(Data::new(app.engine.silences()?)))
}

pub async fn create_silence(
    State(app): State<Arc<App>>,
    caller: Option<Extension<Caller>>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Data<Silence>>> {
    let mut n: NewSilence = parse_json(&body)?;
    n.author = super::incidents::stamp("author", &n.author, &caller);
    Ok(Json(Data::new(app.engine.create_silence(n)?)))
}

pub async fn expire_silence(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<String>>> {
    app.engine.expire_silence(&id)?;
    Ok(Json(Data::new(id)))
}
