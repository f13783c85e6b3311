//! The one async interface the console and the CLI use. The local engine implements it in
//! process; the HTTP client (remote COC or another `cocpit serve`) implements it over the wire,
//! so neither front end can tell them apart.

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::event::Change;
use crate::model::Page;
use crate::model::agent::*;
use crate::model::alarm::*;
use crate::model::desktop::*;
use crate::model::incident::*;
use crate::model::order::*;
use crate::model::resource::{ListResourcesQuery, Resource};
use crate::model::script::*;
use crate::model::tat::{self, Described, TatError};
use crate::model::team::{ApprovalJobScriptModel, AuditEntry, AuditQuery, Caller, ScriptReview};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The backend refused or failed the request for a reason of its own (the local engine).
    #[error(transparent)]
    Fault(#[from] Fault),
    /// The remote API answered with an error body.
    #[error("{}", remote_text(message, code, *status))]
    Remote {
        status: u16,
        code: String,
        message: String,
    },
    /// The request never reached the server (it could not connect, or was not sent).
    #[error("{0}")]
    Transport(String),
    /// The request may have reached the server but no whole answer came back (a timeout, a
    /// dropped connection, a cut-off body): a write may or may not have happened.
    #[error("{0}")]
    Unanswered(String),
    /// A TAT action failed (`Response.Error`).
    #[error(transparent)]
    Tat(#[from] TatError),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The kinds of failure a backend reports, whatever it is made of. The server answers each with
/// its status code and error code.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("{0}")]
    Invalid(#[from] crate::model::validate::Invalid),
    #[error("{0}")]
    NotFound(String),
    /// The operation is not legal in the current state.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this (its role, or it is not a reviewer).
    #[error("{0}")]
    Forbidden(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// `message (CODE, HTTP 400)`; without a code of its own, `message (HTTP 502)`.
fn remote_text(message: &str, code: &str, status: u16) -> String {
    if code.is_empty() || code == format!("HTTP {status}") {
        format!("{message} (HTTP {status})")
    } else {
        format!("{message} ({code}, HTTP {status})")
    }
}

/// What the console and the CLI speak to, whatever serves it: the engine in process or over
/// HTTP. Each family of the API is a trait of its own; this one adds what every backend has.
pub trait Backend:
    JobsApi + IncidentsApi + AlarmsApi + AgentsApi + DesktopsApi + TatApi + TeamApi + Send + Sync
{
    /// Where the data comes from, for the header line: a path or an endpoint.
    fn describe(&self) -> String;
    /// Live change events, when the backend has them (else the caller polls).
    fn subscribe(&self) -> Option<broadcast::Receiver<Change>>;
    /// The state of the connection to a remote backend, as words for the header (`connected`,
    /// `retrying in 4 s`, `offline: …`); `None` for the local engine.
    fn connection(&self) -> Option<tokio::sync::watch::Receiver<String>> {
        None
    }
}

/// Scripts, orders (script tickets) and the resources they run on.
#[async_trait]
pub trait JobsApi: Send + Sync {
    async fn list_resources(&self, q: ListResourcesQuery) -> Result<Vec<Resource>>;
    async fn create_script(&self, s: AddScriptModel) -> Result<String>;
    async fn list_scripts(&self, q: ListScriptsQuery) -> Result<Page<ScriptListModel>>;
    async fn get_script(&self, script_uuid: &str) -> Result<ScriptDetailModel>;
    async fn update_script(&self, script_uuid: &str, e: EditScriptModel) -> Result<String>;
    async fn delete_script(&self, script_uuid: &str) -> Result<String>;
    async fn execute_script(&self, script_uuid: &str, e: ScriptExecuteModel) -> Result<String>;
    async fn get_order(&self, execute_uuid: &str) -> Result<JobScriptOrderInfoModel>;
    async fn list_orders(&self, q: ListOrdersQuery) -> Result<Page<JobScriptOrderListModel>>;
    async fn list_batches(&self, execute_uuid: &str) -> Result<Vec<JobScriptBatchListModel>>;
    async fn get_batch(
        &self,
        execute_uuid: &str,
        batch_index: i64,
        q: BatchDetailQuery,
    ) -> Result<JobScriptBatchDetailModel>;
    async fn statistics(&self, execute_uuid: &str) -> Result<JobScriptOrderStatisticsModel>;
    /// The order with its batches and every instance, at once.
    async fn order_snapshot(&self, execute_uuid: &str) -> Result<OrderSnapshot> {
        compose_snapshot(self, execute_uuid).await
    }
    /// One instance's output as it arrived, with stream and time (a cocpit extension).
    async fn instance_log(&self, execute_uuid: &str, instance_id: i64) -> Result<Vec<LogPiece>>;
    async fn operate(&self, execute_uuid: &str, op: JobScriptOrderOperationBody) -> Result<String>;
    /// A reviewer approves or rejects a script waiting for review.
    async fn accept_script(&self, script_uuid: &str, d: ApprovalJobScriptModel) -> Result<bool>;
    /// Every review decision on a script, oldest first.
    async fn script_reviews(&self, script_uuid: &str) -> Result<Vec<ScriptReview>>;
}

/// Who the caller is, and the audit trail of every write.
#[async_trait]
pub trait TeamApi: Send + Sync {
    async fn whoami(&self) -> Result<Caller>;
    /// The users who may call (names, ids and roles; never a secret).
    async fn users(&self) -> Result<Vec<Caller>>;
    async fn audit(&self, q: AuditQuery) -> Result<Vec<AuditEntry>>;
}

/// Incidents: created, handled, read.
#[async_trait]
pub trait IncidentsApi: Send + Sync {
    async fn create_incident(&self, c: CreateIncident) -> Result<String>;
    /// One operation (`operate_key`) on an incident, as the acting user.
    async fn handle_incident(
        &self,
        incident_num: &str,
        operate_key: OperateKey,
        parameter: serde_json::Map<String, serde_json::Value>,
    ) -> Result<IncidentStatus>;
    async fn incident_detail(&self, incident_num: &str) -> Result<IncidentDetail>;
    async fn list_incidents(&self, q: ListIncidentsQuery) -> Result<Page<IncidentSummary>>;
}

/// Alarms, their groups and silences.
#[async_trait]
pub trait AlarmsApi: Send + Sync {
    /// A page of alarms (from `q.marker`) and the marker of the next one.
    async fn list_alarms(&self, q: ListAlarmsQuery) -> Result<(Vec<Alarm>, Option<i64>)>;
    async fn alarm(&self, alarm_id: &str) -> Result<Alarm>;
    /// The alarms named (at most [`MAX_IDS`]) in one call; ids no longer stored are left out.
    async fn alarms(&self, alarm_ids: &[String]) -> Result<Vec<Alarm>> {
        let q = ListAlarmsQuery {
            ids: Some(alarm_ids.join(",")),
            ..Default::default()
        };
        Ok(self.list_alarms(q).await?.0)
    }
    async fn alarm_groups(&self) -> Result<Vec<AlarmGroup>>;
    /// Pushes an alarm as the given integration (the CLI's `alarm push`).
    async fn push_alarm(&self, integration_key: &str, e: CustomEvent) -> Result<String>;
    async fn ack_alarms(&self, alarm_ids: &[String]) -> Result<usize>;
    async fn clear_alarms(&self, alarm_ids: &[String], remarks: &str) -> Result<Vec<String>>;
    async fn alarms_to_incident(&self, t: AlarmsToIncident) -> Result<String>;
    async fn silences(&self) -> Result<Vec<Silence>>;
    async fn create_silence(&self, n: NewSilence) -> Result<Silence>;
    async fn expire_silence(&self, id: &str) -> Result<()>;
}

/// Cloud Eye agent tasks.
#[async_trait]
pub trait AgentsApi: Send + Sync {
    // Cloud Eye agent tasks and Workspace desktop agents.
    async fn agents(&self) -> Result<Vec<AgentSummary>>;
    async fn create_agent_invocations(
        &self,
        b: BatchCreateInvocationRequestBody,
    ) -> Result<Vec<BatchCreateInvocationInfo>>;
    async fn list_agent_invocations(
        &self,
        q: ListAgentInvocationsQuery,
    ) -> Result<ListAgentInvocationsResponse>;
}

/// Workspace desktop agents.
#[async_trait]
pub trait DesktopsApi: Send + Sync {
    async fn desktop_agents(&self) -> Result<ListAgentsInstallConditionResponse>;
    async fn install_desktop_agents(&self, desktop_ids: Vec<String>) -> Result<String>;
    async fn desktop_jobs(&self) -> Result<Vec<ShowJobResponse>>;
}

/// Tencent TAT commands and scheduled invokers.
#[async_trait]
pub trait TatApi: Send + Sync {
    // Tencent TAT.
    async fn create_command(&self, r: tat::CreateCommandRequest) -> Result<String>;
    async fn describe_commands(&self, r: tat::DescribeRequest) -> Result<Described<tat::Command>>;
    async fn create_invoker(&self, r: tat::CreateInvokerRequest) -> Result<String>;
    async fn describe_invokers(&self, r: tat::DescribeRequest) -> Result<Described<tat::Invoker>>;
    async fn set_invoker_enabled(&self, invoker_id: &str, enable: bool) -> Result<()>;
    async fn delete_invoker(&self, invoker_id: &str) -> Result<()>;
    async fn invoker_records(
        &self,
        r: tat::DescribeRequest,
    ) -> Result<Described<tat::InvokerRecord>>;
    async fn invocation_tasks(
        &self,
        r: tat::DescribeRequest,
    ) -> Result<Described<tat::InvocationTask>>;
}

/// Every family of the API, for `use cocpit_api::backend::prelude::*`: a front end calls any
/// backend method through `dyn Backend`.
pub mod prelude {
    pub use super::{
        AgentsApi, AlarmsApi, Backend, DesktopsApi, IncidentsApi, JobsApi, TatApi, TeamApi,
    };
}

/// An order snapshot from the seeds' own reads: the order, its batch list, then each batch.
pub async fn compose_snapshot<B: JobsApi + ?Sized>(
    b: &B,
    execute_uuid: &str,
) -> Result<OrderSnapshot> {
    let info = b.get_order(execute_uuid).await?;
    let batches = b.list_batches(execute_uuid).await?;
    let mut instances = vec![];
    for bl in &batches {
        let q = BatchDetailQuery {
            limit: Some(100),
            ..Default::default()
        };
        let d = b.get_batch(execute_uuid, bl.batch_index, q).await?;
        instances.extend(
            d.execute_instances
                .into_iter()
                .map(|instance| BatchInstance {
                    batch_index: bl.batch_index,
                    instance,
                }),
        );
    }
    Ok(OrderSnapshot {
        info,
        batches,
        instances,
    })
}
