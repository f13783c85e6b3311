//! Workspace desktop agents (seed `002`, Workspace v2): install on desktops as a job, the job's
//! detail, and each desktop's install condition. Field names are the seed's and the SDK's.

use serde::{Deserialize, Serialize};

use super::wire_enum;

wire_enum!(
    /// A Workspace job's (and sub-job's) `status`.
    JobStatus {
        Waiting = "WAITING",
        Running = "RUNNING",
        Success = "SUCCESS",
        Fail = "FAIL",
    }
);

impl JobStatus {
    pub fn is_open(self) -> bool {
        matches!(self, JobStatus::Waiting | JobStatus::Running)
    }
}

/// The `job_type` of an agent install job.
pub const INSTALL_JOB: &str = "INSTALL_AGENT";

/// `BatchInstallAgentReq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchInstallAgentReq {
    pub desktop_ids: Vec<String>,
}

/// `BatchInstallAgentResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchInstallAgentResponse {
    pub job_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEntities {
    pub desktop_id: String,
    pub desktop_name: String,
    #[serde(default)]
    pub ip_address: Option<String>,
}

/// `JobDetailInfo`: one desktop's part of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetailInfo {
    pub id: String,
    pub job_type: String,
    pub entities: JobEntities,
    pub begin_time: String,
    #[serde(default)]
    pub end_time: Option<String>,
    pub status: JobStatus,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub fail_reason: Option<String>,
    pub job_id: String,
    pub process: i64,
}

/// `ShowJobResponse` of `GET /v2/{project_id}/workspace-jobs/{job_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowJobResponse {
    pub id: String,
    pub job_type: String,
    pub begin_time: String,
    #[serde(default)]
    pub end_time: Option<String>,
    pub status: JobStatus,
    #[serde(default)]
    pub job_error_code: Option<String>,
    #[serde(default)]
    pub fail_reason: Option<String>,
    pub sub_jobs_total: u64,
    pub sub_jobs: Vec<JobDetailInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub agent_name: String,
    #[serde(default)]
    pub agent_version: Option<String>,
    pub is_installed: bool,
}

/// `AgentsCondition`: a desktop and its agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentsCondition {
    pub desktop_id: String,
    pub desktop_name: String,
    /// The desktop's running state (`ACTIVE`, `UNREACHABLE`).
    pub status: String,
    /// The desktop's current task (`WAITING`, `RUNNING`, `SUCCESS`, `FAIL`), if any.
    #[serde(default)]
    pub task_status: Option<String>,
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Progress 0..100 of the desktop's task; null when it has none.
    #[serde(default)]
    pub process: Option<i64>,
    pub agent_info: Vec<AgentInfo>,
}

/// `ListAgentsInstallConditionResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListAgentsInstallConditionResponse {
    pub agents_condition: Vec<AgentsCondition>,
    pub total_count: u64,
}

/// Query of `GET /v2/{project_id}/desktops/agents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListAgentsInstallConditionQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_installed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

/// A job in the console's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    pub id: String,
    pub status: JobStatus,
    pub begin_time: String,
    pub desktops: u64,
    pub done: u64,
    pub failed: u64,
}
