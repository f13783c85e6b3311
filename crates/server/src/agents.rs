//! Cloud Eye agent tasks (`/v3/{project_id}/agent-…`, seed 000) and Workspace desktop agents
//! (`/v2/{project_id}/desktops/agents`, seed 002), plus the console's lists under `/v1/cocpit/`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::App;
use super::error::{ApiFailure, ApiResult};
use super::extract::{Body, Query};
use cocpit_api::model::Data;
use cocpit_api::model::agent::*;
use cocpit_api::model::desktop::*;

/// Cloud Eye's code for a bad parameter.
pub const CES_INVALID: &str = "ces.0014";
/// Workspace's code for a bad parameter.
pub const WORKSPACE_INVALID: &str = "WKS.00010001";

fn ces(e: impl Into<ApiFailure>) -> ApiFailure {
    e.into().coded_for_invalid(CES_INVALID)
}

fn workspace(e: impl Into<ApiFailure>) -> ApiFailure {
    e.into().coded_for_invalid(WORKSPACE_INVALID)
}

/// `POST /v3/{project_id}/agent-invocations/batch-create`: 201 with one entry per target.
pub async fn batch_create(
    State(app): State<Arc<App>>,
    Path(_project): Path<String>,
    body: Result<Body<BatchCreateInvocationRequestBody>, ApiFailure>,
) -> ApiResult<(StatusCode, Json<BatchCreateAgentInvocationsResponse>)> {
    let Body(body) = body.map_err(ces)?;
    let invocations = app.engine.create_agent_invocations(&body).map_err(ces)?;
    Ok((
        StatusCode::CREATED,
        Json(BatchCreateAgentInvocationsResponse { invocations }),
    ))
}

/// `GET /v3/{project_id}/agent-invocations`.
pub async fn invocations(
    State(app): State<Arc<App>>,
    Path(_project): Path<String>,
    q: Result<Query<ListAgentInvocationsQuery>, ApiFailure>,
) -> ApiResult<Json<ListAgentInvocationsResponse>> {
    let Query(q) = q.map_err(ces)?;
    Ok(Json(app.engine.list_agent_invocations(&q).map_err(ces)?))
}

/// `POST /v3/{project_id}/agent-status/batch-query`.
pub async fn status(
    State(app): State<Arc<App>>,
    Path(_project): Path<String>,
    body: Result<Body<ListAgentStatusRequestBody>, ApiFailure>,
) -> ApiResult<Json<ListAgentStatusResponse>> {
    let Body(body) = body.map_err(ces)?;
    Ok(Json(app.engine.agent_status(&body).map_err(ces)?))
}

/// `GET /v1/cocpit/agents`: every server's agent and its last task.
pub async fn summaries(State(app): State<Arc<App>>) -> ApiResult<Json<Data<Vec<AgentSummary>>>> {
    Ok(Json(Data::new(app.engine.agents()?)))
}

/// `POST /v2/{project_id}/desktops/agents`.
pub async fn install(
    State(app): State<Arc<App>>,
    Path(_project): Path<String>,
    body: Result<Body<BatchInstallAgentReq>, ApiFailure>,
) -> ApiResult<Json<BatchInstallAgentResponse>> {
    let Body(body) = body.map_err(workspace)?;
    let job_id = app
        .engine
        .install_desktop_agents(&body)
        .map_err(workspace)?;
    Ok(Json(BatchInstallAgentResponse { job_id }))
}

/// `GET /v2/{project_id}/desktops/agents`.
pub async fn conditions(
    State(app): State<Arc<App>>,
    Path(_project): Path<String>,
    q: Result<Query<ListAgentsInstallConditionQuery>, ApiFailure>,
) -> ApiResult<Json<ListAgentsInstallConditionResponse>> {
    let Query(q) = q.map_err(workspace)?;
    Ok(Json(app.engine.desktop_agents(&q).map_err(workspace)?))
}

/// `GET /v2/{project_id}/workspace-jobs/{job_id}`.
pub async fn job(
    State(app): State<Arc<App>>,
    Path((_project, job_id)): Path<(String, String)>,
) -> ApiResult<Json<ShowJobResponse>> {
    Ok(Json(app.engine.desktop_job(&job_id).map_err(workspace)?))
}

/// `GET /v1/cocpit/desktop-jobs`: recent jobs, newest first.
pub async fn jobs(State(app): State<Arc<App>>) -> ApiResult<Json<Data<Vec<ShowJobResponse>>>> {
    Ok(Json(Data::new(app.engine.desktop_jobs(100)?)))
}
