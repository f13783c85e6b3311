//! The local engine as a [`Backend`], in process.

use async_trait::async_trait;
use tokio::sync::broadcast;

use cocpit_api::backend::{Error, Result, prelude::*};
use cocpit_api::event::Change;

use crate::{Engine, EngineError};
use cocpit_api::model::Page;
use cocpit_api::model::agent::*;
use cocpit_api::model::alarm::*;
use cocpit_api::model::desktop::*;
use cocpit_api::model::incident::*;
use cocpit_api::model::order::*;
use cocpit_api::model::resource::{ListResourcesQuery, Resource};
use cocpit_api::model::script::*;
use cocpit_api::model::tat::{self, Described};
use cocpit_api::model::team::{
    ApprovalJobScriptModel, AuditEntry, AuditQuery, Caller, Role, ScriptReview,
};

/// The local engine, in process.
pub struct Local {
    pub engine: Engine,
    pub user: String,
    /// Where this process also serves the API (the console's `--listen`).
    pub api: Option<String>,
}

impl Local {
    /// Who this process acts as: the OS user, who owns the data dir (an admin of it).
    pub fn caller(&self) -> Caller {
        Caller::new(self.user.clone(), Role::Admin)
    }

    pub fn new(engine: Engine) -> Local {
        let user = cocpit_api::identity::current_user();
        Local {
            engine,
            user,
            api: None,
        }
    }
}

impl Backend for Local {
    fn describe(&self) -> String {
        match &self.api {
            Some(url) => format!("local engine {} · API {url}", self.engine.location()),
            None => format!("local engine {}", self.engine.location()),
        }
    }

    fn subscribe(&self) -> Option<broadcast::Receiver<Change>> {
        Some(self.engine.subscribe())
    }
}

#[async_trait]
impl JobsApi for Local {
    async fn list_resources(&self, q: ListResourcesQuery) -> Result<Vec<Resource>> {
        Ok(self.engine.list_resources(&q)?)
    }

    async fn create_script(&self, s: AddScriptModel) -> Result<String> {
        Ok(self.engine.create_script(s, &self.caller())?)
    }

    async fn list_scripts(&self, q: ListScriptsQuery) -> Result<Page<ScriptListModel>> {
        Ok(self.engine.list_scripts(&q)?)
    }

    async fn get_script(&self, script_uuid: &str) -> Result<ScriptDetailModel> {
        Ok(self.engine.get_script(script_uuid)?)
    }

    async fn update_script(&self, script_uuid: &str, e: EditScriptModel) -> Result<String> {
        Ok(self.engine.update_script(script_uuid, e, &self.caller())?)
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

    async fn order_snapshot(&self, execute_uuid: &str) -> Result<OrderSnapshot> {
        Ok(self.engine.order_snapshot(execute_uuid)?)
    }

    async fn instance_log(&self, execute_uuid: &str, instance_id: i64) -> Result<Vec<LogPiece>> {
        Ok(self.engine.instance_log(execute_uuid, instance_id)?)
    }

    async fn operate(&self, execute_uuid: &str, op: JobScriptOrderOperationBody) -> Result<String> {
        Ok(self.engine.operate(execute_uuid, op).await?)
    }

    async fn accept_script(&self, script_uuid: &str, d: ApprovalJobScriptModel) -> Result<bool> {
        Ok(self.engine.accept_script(script_uuid, &d, &self.caller())?)
    }

    async fn script_reviews(&self, script_uuid: &str) -> Result<Vec<ScriptReview>> {
        Ok(self.engine.script_reviews(script_uuid)?)
    }
}

#[async_trait]
impl TeamApi for Local {
    async fn whoami(&self) -> Result<Caller> {
        Ok(self.caller())
    }

    async fn users(&self) -> Result<Vec<Caller>> {
        Ok(vec![self.caller()])
    }

    async fn audit(&self, q: AuditQuery) -> Result<Vec<AuditEntry>> {
        Ok(self.engine.audit(&q)?)
    }
}

#[async_trait]
impl IncidentsApi for Local {
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
}

#[async_trait]
impl AlarmsApi for Local {
    async fn list_alarms(&self, q: ListAlarmsQuery) -> Result<(Vec<Alarm>, Option<i64>)> {
        Ok(self.engine.list_alarms(&q, q.marker)?)
    }

    async fn alarm(&self, alarm_id: &str) -> Result<Alarm> {
        Ok(self.engine.alarm(alarm_id)?)
    }

    async fn alarm_groups(&self) -> Result<Vec<AlarmGroup>> {
        Ok(self.engine.alarm_groups()?)
    }

    async fn push_alarm(&self, integration_key: &str, e: CustomEvent) -> Result<String> {
        let alarm = crate::alarms::from_custom(integration_key, e, crate::now_ms())
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
}

#[async_trait]
impl AgentsApi for Local {
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
}

#[async_trait]
impl DesktopsApi for Local {
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
}

#[async_trait]
impl TatApi for Local {
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

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        Error::Fault(e.0)
    }
}
