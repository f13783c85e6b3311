//! The one async interface the console and the CLI use. The local engine implements it in
//! process; the HTTP client (remote COC or another `cocpit serve`) implements it over the wire,
//! so neither front end can tell them apart.

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::engine::{Engine, EngineError, EngineEvent};
use crate::model::Page;
use crate::model::agent::*;
use crate::model::alarm::*;
use crate::model::desktop::*;
use crate::model::incident::*;
use crate::model::order::*;
use crate::model::resource::{ListResourcesQuery, Resource};
use crate::model::script::*;
use crate::model::tat::{self, Described, TatError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Engine(#[from] EngineError),
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

/// `message (CODE, HTTP 400)`; without a code of its own, `message (HTTP 502)`.
fn remote_text(message: &str, code: &str, status: u16) -> String {
    if code.is_empty() || code == format!("HTTP {status}") {
        format!("{message} (HTTP {status})")
    } else {
        format!("{message} ({code}, HTTP {status})")
    }
}

#[async_trait]
pub trait Backend: Send + Sync {
    /// Where the data comes from, for the header line: a path or an endpoint.
    fn describe(&self) -> String;
    /// Live change events, when the backend has them (else the caller polls).
    fn subscribe(&self) -> Option<broadcast::Receiver<EngineEvent>>;
    /// The state of the connection to a remote backend, as words for the header (`connected`,
    /// `retrying in 4 s`, `offline: …`); `None` for the local engine.
    fn connection(&self) -> Option<tokio::sync::watch::Receiver<String>> {
        None
    }

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
    /// One instance's output as it arrived, with stream and time (a cocpit extension).
    async fn instance_log(&self, execute_uuid: &str, instance_id: i64) -> Result<Vec<LogPiece>>;
    async fn operate(&self, execute_uuid: &str, op: JobScriptOrderOperationBody) -> Result<String>;

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

    /// A page of alarms and the marker of the next one.
    async fn list_alarms(
        &self,
        q: ListAlarmsQuery,
        marker: Option<i64>,
    ) -> Result<(Vec<Alarm>, Option<i64>)>;
    async fn alarm(&self, alarm_id: &str) -> Result<Alarm>;
    async fn alarm_groups(&self) -> Result<Vec<AlarmGroup>>;
    /// Pushes an alarm as the given integration (the CLI's `alarm push`).
    async fn push_alarm(&self, integration_key: &str, e: CustomEvent) -> Result<String>;
    async fn ack_alarms(&self, alarm_ids: &[String]) -> Result<usize>;
    async fn clear_alarms(&self, alarm_ids: &[String], remarks: &str) -> Result<Vec<String>>;
    async fn alarms_to_incident(&self, t: AlarmsToIncident) -> Result<String>;
    async fn silences(&self) -> Result<Vec<Silence>>;
    async fn create_silence(&self, n: NewSilence) -> Result<Silence>;
    async fn expire_silence(&self, id: &str) -> Result<()>;

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
    async fn desktop_agents(&self) -> Result<ListAgentsInstallConditionResponse>;
    async fn install_desktop_agents(&self, desktop_ids: Vec<String>) -> Result<String>;
    async fn desktop_jobs(&self) -> Result<Vec<ShowJobResponse>>;

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

/// The local engine, in process.
pub struct Local {
    pub engine: Engine,
    pub user: String,
    /// Where this process also serves the API (the console's `--listen`).
    pub api: Option<String>,
}

impl Local {
    pub fn new(engine: Engine) -> Local {
        let user = crate::config::current_user();
        Local {
            engine,
            user,
            api: None,
        }
    }
}

#[async_trait]
impl Backend for Local {
    fn describe(&self) -> String {
        match &self.api {
            Some(url) => format!("local engine {} · API {url}", self.engine.location()),
            None => format!("local engine {}", self.engine.location()),
        }
    }

    fn subscribe(&self) -> Option<broadcast::Receiver<EngineEvent>> {
        Some(self.engine.subscribe())
    }

    async fn list_resources(&self, q: ListResourcesQuery) -> Result<Vec<Resource>> {
        Ok(self.engine.list_resources(&q)?)
    }

    async fn create_script(&self, s: AddScriptModel) -> Result<String> {
        Ok(self.engine.create_script(s, &self.user)?)
    }

    async fn list_scripts(&self, q: ListScriptsQuery) -> Result<Page<ScriptListModel>> {
        Ok(self.engine.list_scripts(&q)?)
    }

    async fn get_script(&self, script_uuid: &str) -> Result<ScriptDetailModel> {
        Ok(self.engine.get_script(script_uuid)?)
    }

    async fn update_script(&self, script_uuid: &str, e: EditScriptModel) -> Result<String> {
        Ok(self.engine.update_script(script_uuid, e, &self.user)?)
    }

    async fn delete_script(&self, script_uuid: &str) -> Result<String> {
        Ok(self.engine.delete_script(script_uuid)?)
    }

    async fn execute_script(&self, script_uuid: &str, e: ScriptExecuteModel) -> Result<String> {
        Ok(self.engine.execute_script(script_uuid, e, &self.user)?)
    }

    async fn get_order(&self, execute_uuid: &str) -> Result<JobScriptOrderInfoModel> {
        Ok(self.engine.get_order(execute_uuid)?)
    }

    async fn list_orders(&self, q: ListOrdersQuery) -> Result<Page<JobScriptOrderListModel>> {
        Ok(self.engine.list_orders(&q)?)
    }

    async fn list_batches(&self, execute_uuid: &str) -> Result<Vec<JobScriptBatchListModel>> {
        Ok(self.engine.list_batches(execute_uuid)?)
    }

    async fn get_batch(
        &self,
        execute_uuid: &str,
        batch_index: i64,
        q: BatchDetailQuery,
    ) -> Result<JobScriptBatchDetailModel> {
        Ok(self.engine.get_batch(execute_uuid, batch_index, &q)?)
    }

    async fn statistics(&self, execute_uuid: &str) -> Result<JobScriptOrderStatisticsModel> {
        Ok(self.engine.statistics(execute_uuid)?)
    }

    async fn instance_log(&self, execute_uuid: &str, instance_id: i64) -> Result<Vec<LogPiece>> {
        Ok(self.engine.instance_log(execute_uuid, instance_id)?)
    }

    async fn operate(&self, execute_uuid: &str, op: JobScriptOrderOperationBody) -> Result<String> {
        Ok(self.engine.operate(execute_uuid, op).await?)
    }

    async fn create_incident(&self, c: CreateIncident) -> Result<String> {
        Ok(self.engine.create_incident(c, vec![])?)
    }

    async fn handle_incident(
        &self,
        incident_num: &str,
        operate_key: OperateKey,
        parameter: serde_json::Map<String, serde_json::Value>,
    ) -> Result<IncidentStatus> {
        Ok(self.engine.handle_incident(HandleIncident {
            incident_num: incident_num.into(),
            operator: self.user.clone(),
            operate_key: operate_key.as_str().into(),
            parameter: Some(parameter),
        })?)
    }

    async fn incident_detail(&self, incident_num: &str) -> Result<IncidentDetail> {
        Ok(self.engine.incident_detail(incident_num)?)
    }

    async fn list_incidents(&self, q: ListIncidentsQuery) -> Result<Page<IncidentSummary>> {
        Ok(self.engine.list_incidents(&q)?)
    }

    async fn list_alarms(
        &self,
        q: ListAlarmsQuery,
        marker: Option<i64>,
    ) -> Result<(Vec<Alarm>, Option<i64>)> {
        Ok(self.engine.list_alarms(&q, marker)?)
    }

    async fn alarm(&self, alarm_id: &str) -> Result<Alarm> {
        Ok(self.engine.alarm(alarm_id)?)
    }

    async fn alarm_groups(&self) -> Result<Vec<AlarmGroup>> {
        Ok(self.engine.alarm_groups()?)
    }

    async fn push_alarm(&self, integration_key: &str, e: CustomEvent) -> Result<String> {
        let alarm = crate::engine::alarms::from_custom(integration_key, e, crate::engine::now_ms())
            .map_err(EngineError::from)?;
        let ids = self.engine.ingest(vec![alarm]).await?;
        Ok(ids.into_iter().next().unwrap_or_default())
    }

    async fn ack_alarms(&self, alarm_ids: &[String]) -> Result<usize> {
        Ok(self.engine.ack_alarms(alarm_ids, &self.user)?)
    }

    async fn clear_alarms(&self, alarm_ids: &[String], remarks: &str) -> Result<Vec<String>> {
        let c = ClearAlarms {
            alarm_ids: alarm_ids.join(","),
            remarks: Some(remarks.to_string()),
            is_service_interrupt: None,
            start_time: None,
            fault_recovery_time: None,
        };
        Ok(self.engine.clear_alarms(&c, &self.user)?)
    }

    async fn alarms_to_incident(&self, t: AlarmsToIncident) -> Result<String> {
        Ok(self.engine.alarms_to_incident(&t, &self.user)?)
    }

    async fn silences(&self) -> Result<Vec<Silence>> {
        Ok(self.engine.silences()?)
    }

    async fn create_silence(&self, n: NewSilence) -> Result<Silence> {
        Ok(self.engine.create_silence(n)?)
    }

    async fn expire_silence(&self, id: &str) -> Result<()> {
        Ok(self.engine.expire_silence(id)?)
    }

    async fn agents(&self) -> Result<Vec<AgentSummary>> {
        Ok(self.engine.agents()?)
    }

    async fn create_agent_invocations(
        &self,
        b: BatchCreateInvocationRequestBody,
    ) -> Result<Vec<BatchCreateInvocationInfo>> {
        Ok(self.engine.create_agent_invocations(&b)?)
    }

    async fn list_agent_invocations(
        &self,
        q: ListAgentInvocationsQuery,
    ) -> Result<ListAgentInvocationsResponse> {
        Ok(self.engine.list_agent_invocations(&q)?)
    }

    async fn desktop_agents(&self) -> Result<ListAgentsInstallConditionResponse> {
        Ok(self
            .engine
            .desktop_agents(&ListAgentsInstallConditionQuery::default())?)
    }

    async fn install_desktop_agents(&self, desktop_ids: Vec<String>) -> Result<String> {
        Ok(self
            .engine
            .install_desktop_agents(&BatchInstallAgentReq { desktop_ids })?)
    }

    async fn desktop_jobs(&self) -> Result<Vec<ShowJobResponse>> {
        Ok(self.engine.desktop_jobs(100)?)
    }

    async fn create_command(&self, r: tat::CreateCommandRequest) -> Result<String> {
        Ok(self.engine.create_command(&r)?)
    }

    async fn describe_commands(&self, r: tat::DescribeRequest) -> Result<Described<tat::Command>> {
        Ok(self.engine.describe_commands(&r)?)
    }

    async fn create_invoker(&self, r: tat::CreateInvokerRequest) -> Result<String> {
        Ok(self.engine.create_invoker(&r)?)
    }

    async fn describe_invokers(&self, r: tat::DescribeRequest) -> Result<Described<tat::Invoker>> {
        Ok(self.engine.describe_invokers(&r)?)
    }

    async fn set_invoker_enabled(&self, invoker_id: &str, enable: bool) -> Result<()> {
        Ok(self.engine.set_invoker_enabled(Some(invoker_id), enable)?)
    }

    async fn delete_invoker(&self, invoker_id: &str) -> Result<()> {
        Ok(self.engine.delete_invoker(Some(invoker_id))?)
    }

    async fn invoker_records(
        &self,
        r: tat::DescribeRequest,
    ) -> Result<Described<tat::InvokerRecord>> {
        Ok(self.engine.describe_invoker_records(&r)?)
    }

    async fn invocation_tasks(
        &self,
        r: tat::DescribeRequest,
    ) -> Result<Described<tat::InvocationTask>> {
        Ok(self.engine.describe_invocation_tasks(&r)?)
    }
}
