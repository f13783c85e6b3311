//! Script management (seed 003 §4.2): create, list, detail, modify, delete.

use serde::{Deserialize, Serialize};

use super::wire_enum;

wire_enum!(
    /// Script type; the interpreter follows from it.
    ScriptType { Shell = "SHELL", Python = "PYTHON", Bat = "BAT" }
);
wire_enum!(RiskLevel { Low = "LOW", Medium = "MEDIUM", High = "HIGH" });
wire_enum!(ScriptStatus {
    PendingApprove = "PENDING_APPROVE",
    Approved = "APPROVED",
    Rejected = "REJECTED",
});
wire_enum!(
    /// How reviewers are notified.
    Protocol {
        Default = "DEFAULT",
        Sms = "SMS",
        Email = "EMAIL",
        DingTalk = "DING_TALK",
        WeLink = "WE_LINK",
        Wechat = "WECHAT",
        CallNotify = "CALLNOTIFY",
        NotToNotify = "NOT_TO_NOTIFY",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewerInfo {
    pub reviewer_name: String,
    #[serde(default)]
    pub reviewer_id: String,
}

/// `ScriptPropertiesModel`: risk level, version, reviewers and how to notify them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptPropertiesModel {
    pub risk_level: RiskLevel,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewers: Option<Vec<ReviewerInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

/// `ScriptParamDefine`: a declared parameter with its default value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptParamDefine {
    pub param_name: String,
    #[serde(default)]
    pub param_value: String,
    #[serde(default)]
    pub param_description: String,
    /// Deprecated in the official SDKs ("passing it has no effect"): when left out (0), the
    /// parameter's position in the list is its order.
    #[serde(default)]
    pub param_order: i64,
    #[serde(default)]
    pub sensitive: bool,
}

/// Gives each parameter without a `param_order` its position in the list (from 1).
pub fn order_by_position(params: &mut [ScriptParamDefine]) {
    for (i, p) in params.iter_mut().enumerate() {
        if p.param_order == 0 {
            p.param_order = i as i64 + 1;
        }
    }
}

/// `AddScriptModel`: the body of `POST /v1/job/scripts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddScriptModel {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub script_type: ScriptType,
    pub content: String,
    pub properties: ScriptPropertiesModel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_params: Option<Vec<ScriptParamDefine>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
}

impl AddScriptModel {
    /// A LOW-risk shell script at version 1, without parameters or reviewers (demos, tests,
    /// benchmarks); the description says what it is for.
    pub fn shell(name: &str, description: &str, content: &str) -> AddScriptModel {
        AddScriptModel {
            name: name.into(),
            description: description.into(),
            script_type: ScriptType::Shell,
            content: content.into(),
            properties: ScriptPropertiesModel {
                risk_level: RiskLevel::Low,
                version: "1".into(),
                reviewers: None,
                protocol: None,
            },
            script_params: None,
            enterprise_project_id: None,
        }
    }
}

/// `EditScriptModel`: the body of `PUT /v1/job/scripts/{script_uuid}`. The seed's example also
/// sends `name` and `type`; they are accepted and ignored, as the name and type of a script
/// never change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditScriptModel {
    #[serde(default)]
    pub description: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<ScriptPropertiesModel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_params: Option<Vec<ScriptParamDefine>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub script_type: Option<ScriptType>,
}

/// `ScriptListModel`: one row of `GET /v1/job/scripts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptListModel {
    pub id: i64,
    pub script_uuid: String,
    pub name: String,
    #[serde(rename = "type")]
    pub script_type: ScriptType,
    pub status: ScriptStatus,
    pub gmt_created: i64,
    pub gmt_modified: i64,
    pub creator: String,
    pub creator_id: String,
    pub operator: String,
    pub properties: ScriptPropertiesModel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
}

/// `ScriptDetailModel`: `GET /v1/job/scripts/{script_uuid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptDetailModel {
    pub script_uuid: String,
    pub name: String,
    pub version: String,
    pub description: String,
    #[serde(rename = "type")]
    pub script_type: ScriptType,
    pub content: String,
    pub script_params: Vec<ScriptParamDefine>,
    pub status: ScriptStatus,
    pub gmt_created: i64,
    pub gmt_modified: i64,
    pub creator: String,
    pub creator_id: String,
    pub operator: String,
    pub properties: ScriptPropertiesModel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
}

/// Query of `GET /v1/job/scripts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListScriptsQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_like: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_level: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub script_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
}
