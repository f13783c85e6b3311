//! Tenant resources, `GET /v1/resources` (seed 003 §4.1.1; tags as the SDK's `[{key, value}]`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// `BatchListResourceResponseData`: one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    pub resource_id: String,
    pub name: String,
    pub provider: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
    #[serde(default)]
    pub ep_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub agent_state: Option<String>,
    #[serde(default)]
    pub inner_ip: Option<String>,
}

/// Query of `GET /v1/resources`. List parameters arrive as repeated keys, so the server reads
/// the raw pairs; this is the parsed form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListResourcesQuery {
    pub provider: Option<String>,
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    pub limit: Option<i64>,
    pub marker: Option<String>,
    pub resource_id_list: Vec<String>,
    pub name: Option<String>,
    pub agent_state: Option<String>,
}
