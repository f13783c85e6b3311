//! The COC job API: scripts (seed 003 §4.2) and script tickets (§4.3) at the seeds' paths.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::{Extension, Json, Router};

use super::auth::Caller;
use super::error::ApiResult;
use super::extract::{Body, Query};
use super::{App, Declared};
use cocpit_api::endpoint::*;
use cocpit_api::model::Data;
use cocpit_api::model::order::*;
use cocpit_api::model::script::*;
use cocpit_api::model::team::{ApprovalJobScriptModel, ScriptReview};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .at(&LIST_SCRIPTS, list_scripts)
        .at(&CREATE_SCRIPT, create_script)
        .at(&GET_SCRIPT, get_script)
        .at(&UPDATE_SCRIPT, update_script)
        .at(&DELETE_SCRIPT, delete_script)
        .at(&EXECUTE_SCRIPT, execute_script)
        .at(&ACCEPT_SCRIPT, accept_script)
        .at(&SCRIPT_REVIEWS, script_reviews)
        .at(&LIST_ORDERS, list_orders)
        .at(&GET_ORDER, get_order)
        .at(&LIST_BATCHES, list_batches)
        .at(&GET_BATCH, get_batch)
        .at(&ORDER_STATISTICS, statistics)
        .at(&OPERATE_ORDER, operate)
        .at(&ORDER_SNAPSHOT, snapshot)
        .at(&INSTANCE_LOG, instance_log)
}

/// `GET /v1/cocpit/orders/{execute_uuid}/instances/{instance_id}/log`: the instance's output as
/// it arrived, pieces of whole lines with their stream and time (the seeds' `message` has none).
async fn instance_log(
    State(app): State<Arc<App>>,
    Path((id, instance)): Path<(String, String)>,
) -> ApiResult<Json<Data<Vec<LogPiece>>>> {
    let instance: i64 = instance.parse().map_err(|_| {
        cocpit_api::model::validate::invalid(
            "instance_id",
            format!("must be an integer (got {instance:?})"),
        )
    })?;
    Ok(Json(Data::new(app.engine.instance_log(&id, instance)?)))
}

async fn snapshot(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<OrderSnapshot>>> {
    Ok(Json(Data::new(app.engine.order_snapshot(&id)?)))
}

async fn create_script(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    Body(s): Body<AddScriptModel>,
) -> ApiResult<Json<Data<String>>> {
    Ok(Json(Data::new(app.engine.create_script(s, &who)?)))
}

/// `accept_script`: a reviewer approves or rejects (`{"data": true}`).
async fn accept_script(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    Path(uuid): Path<String>,
    Body(d): Body<ApprovalJobScriptModel>,
) -> ApiResult<Json<Data<bool>>> {
    Ok(Json(Data::new(app.engine.accept_script(&uuid, &d, &who)?)))
}

async fn script_reviews(
    State(app): State<Arc<App>>,
    Path(uuid): Path<String>,
) -> ApiResult<Json<Data<Vec<ScriptReview>>>> {
    Ok(Json(Data::new(app.engine.script_reviews(&uuid)?)))
}

async fn list_scripts(
    State(app): State<Arc<App>>,
    Query(q): Query<ListScriptsQuery>,
) -> ApiResult<Json<Data<cocpit_api::model::Page<ScriptListModel>>>> {
    Ok(Json(Data::new(app.engine.list_scripts(&q)?)))
}

async fn get_script(
    State(app): State<Arc<App>>,
    Path(uuid): Path<String>,
) -> ApiResult<Json<Data<ScriptDetailModel>>> {
    Ok(Json(Data::new(app.engine.get_script(&uuid)?)))
}

async fn update_script(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    Path(uuid): Path<String>,
    Body(e): Body<EditScriptModel>,
) -> ApiResult<Json<Data<String>>> {
    Ok(Json(Data::new(app.engine.update_script(&uuid, e, &who)?)))
}

async fn delete_script(
    State(app): State<Arc<App>>,
    Path(uuid): Path<String>,
) -> ApiResult<Json<Data<String>>> {
    Ok(Json(Data::new(app.engine.delete_script(&uuid)?)))
}

async fn execute_script(
    State(app): State<Arc<App>>,
    Extension(who): Extension<Caller>,
    Path(uuid): Path<String>,
    Body(e): Body<ScriptExecuteModel>,
) -> ApiResult<Json<Data<String>>> {
    Ok(Json(Data::new(
        app.engine.execute_script(&uuid, e, &who.user)?,
    )))
}

async fn list_orders(
    State(app): State<Arc<App>>,
    Query(q): Query<ListOrdersQuery>,
) -> ApiResult<Json<Data<cocpit_api::model::Page<JobScriptOrderListModel>>>> {
    Ok(Json(Data::new(app.engine.list_orders(&q)?)))
}

async fn get_order(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<JobScriptOrderInfoModel>>> {
    Ok(Json(Data::new(app.engine.get_order(&id)?)))
}

async fn list_batches(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<Vec<JobScriptBatchListModel>>>> {
    Ok(Json(Data::new(app.engine.list_batches(&id)?)))
}

async fn get_batch(
    State(app): State<Arc<App>>,
    Path((id, batch)): Path<(String, String)>,
    Query(q): Query<BatchDetailQuery>,
) -> ApiResult<Json<Data<JobScriptBatchDetailModel>>> {
    let batch: i64 = batch.parse().map_err(|_| {
        cocpit_api::model::validate::invalid(
            "batch_index",
            format!("must be an integer (got {batch:?})"),
        )
    })?;
    Ok(Json(Data::new(app.engine.get_batch(&id, batch, &q)?)))
}

async fn statistics(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<JobScriptOrderStatisticsModel>>> {
    Ok(Json(Data::new(app.engine.statistics(&id)?)))
}

async fn operate(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Body(op): Body<JobScriptOrderOperationBody>,
) -> ApiResult<Json<Data<String>>> {
    Ok(Json(Data::new(app.engine.operate(&id, op).await?)))
}
