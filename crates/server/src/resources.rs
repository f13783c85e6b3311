//! `GET /v1/resources` (seed 003 §4.1.1): the inventory as ECS cloud servers.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};

use super::App;
use super::error::ApiResult;
use super::extract::query_pairs;
use cocpit_api::model::Data;
use cocpit_api::model::resource::{ListResourcesQuery, Resource};
use cocpit_api::model::validate::invalid;

pub async fn list(
    State(app): State<Arc<App>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Data<Vec<Resource>>>> {
    let mut q = ListResourcesQuery::default();
    for (k, v) in query_pairs(raw.as_deref()) {
        match k.as_str() {
            "provider" => q.provider = Some(v),
            "type" => q.resource_type = Some(v),
            "limit" => {
                q.limit = Some(
                    v.parse()
                        .map_err(|_| invalid("limit", format!("must be an integer (got {v:?})")))?,
                )
            }
            "marker" => q.marker = Some(v),
            // Lists arrive as repeated keys; a comma-separated value is accepted too.
            "resource_id_list" => q
                .resource_id_list
                .extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_string)),
            "name" => q.name = Some(v),
            "agent_state" => q.agent_state = Some(v),
            _ => {}
        }
    }
    Ok(Json(Data::new(app.engine.list_resources(&q)?)))
}
