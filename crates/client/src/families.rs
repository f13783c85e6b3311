//! The Backend's families over HTTP: each method one call of a declared endpoint
//! (`cocpit_api::endpoint`), or a TAT action.

use super::*;

#[async_trait]
impl JobsApi for Remote {
    async fn list_resources(&self, q: ListResourcesQuery) -> Result<Vec<Resource>> {
        Ok(self.fetch(&LIST_RESOURCES, &[], Some(&q), None).await?.data)
    }

    async fn create_script(&self, s: AddScriptModel) -> Result<String> {
        Ok(self.fetch(&CREATE_SCRIPT, &[], None, Some(&s)).await?.data)
    }

    async fn list_scripts(&self, q: ListScriptsQuery) -> Result<Page<ScriptListModel>> {
        Ok(self.fetch(&LIST_SCRIPTS, &[], Some(&q), None).await?.data)
    }

    async fn get_script(&self, script_uuid: &str) -> Result<ScriptDetailModel> {
        Ok(self.read(&GET_SCRIPT, &[script_uuid]).await?.data)
    }

    async fn update_script(&self, script_uuid: &str, e: EditScriptModel) -> Result<String> {
        let d = self
            .fetch(&UPDATE_SCRIPT, &[script_uuid], None, Some(&e))
            .await?;
        Ok(d.data)
    }

    async fn delete_script(&self, script_uuid: &str) -> Result<String> {
        Ok(self.read(&DELETE_SCRIPT, &[script_uuid]).await?.data)
    }

    async fn execute_script(&self, script_uuid: &str, e: ScriptExecuteModel) -> Result<String> {
        let before = self.recent_orders().await;
        let sent = self
            .fetch(&EXECUTE_SCRIPT, &[script_uuid], None, Some(&e))
            .await;
        match sent {
            Ok(d) => Ok(d.data),
            Err(err) => {
                let after = self.recent_orders().await;
                settle_lost("the execution", err, before, after)
            }
        }
    }

    async fn get_order(&self, execute_uuid: &str) -> Result<JobScriptOrderInfoModel> {
        Ok(self.read(&GET_ORDER, &[execute_uuid]).await?.data)
    }

    async fn list_orders(&self, q: ListOrdersQuery) -> Result<Page<JobScriptOrderListModel>> {
        Ok(self.fetch(&LIST_ORDERS, &[], Some(&q), None).await?.data)
    }

    async fn list_batches(&self, execute_uuid: &str) -> Result<Vec<JobScriptBatchListModel>> {
        Ok(self.read(&LIST_BATCHES, &[execute_uuid]).await?.data)
    }

    async fn get_batch(
        &self,
        execute_uuid: &str,
        batch_index: i64,
        q: BatchDetailQuery,
    ) -> Result<JobScriptBatchDetailModel> {
        let batch = batch_index.to_string();
        let d = self
            .fetch(&GET_BATCH, &[execute_uuid, &batch], Some(&q), None)
            .await?;
        Ok(d.data)
    }

    async fn statistics(&self, execute_uuid: &str) -> Result<JobScriptOrderStatisticsModel> {
        Ok(self.read(&ORDER_STATISTICS, &[execute_uuid]).await?.data)
    }

    async fn order_snapshot(&self, execute_uuid: &str) -> Result<OrderSnapshot> {
        match self.read(&ORDER_SNAPSHOT, &[execute_uuid]).await {
            Ok(d) => Ok(d.data),
            // An endpoint without cocpit's extensions (real COC): the seeds' reads.
            Err(Error::Remote { status: 404, .. }) => {
                cocpit_api::backend::compose_snapshot(self, execute_uuid).await
            }
            Err(e) => Err(e),
        }
    }

    async fn instance_log(&self, execute_uuid: &str, instance_id: i64) -> Result<Vec<LogPiece>> {
        let instance = instance_id.to_string();
        Ok(self
            .read(&INSTANCE_LOG, &[execute_uuid, &instance])
            .await?
            .data)
    }

    async fn operate(&self, execute_uuid: &str, op: JobScriptOrderOperationBody) -> Result<String> {
        let d = self
            .fetch(&OPERATE_ORDER, &[execute_uuid], None, Some(&op))
            .await?;
        Ok(d.data)
    }

    async fn accept_script(&self, script_uuid: &str, d: ApprovalJobScriptModel) -> Result<bool> {
        let a = self
            .fetch(&ACCEPT_SCRIPT, &[script_uuid], None, Some(&d))
            .await?;
        Ok(a.data)
    }

    async fn script_reviews(&self, script_uuid: &str) -> Result<Vec<ScriptReview>> {
        Ok(self.read(&SCRIPT_REVIEWS, &[script_uuid]).await?.data)
    }
}

#[async_trait]
impl TeamApi for Remote {
    async fn whoami(&self) -> Result<Caller> {
        Ok(self.read(&WHOAMI, &[]).await?.data)
    }

    async fn users(&self) -> Result<Vec<Caller>> {
        Ok(self.read(&USERS, &[]).await?.data)
    }

    async fn audit(&self, q: AuditQuery) -> Result<Vec<AuditEntry>> {
        Ok(self.fetch(&AUDIT, &[], Some(&q), None).await?.data)
    }
}

#[async_trait]
impl IncidentsApi for Remote {
    async fn create_incident(&self, c: CreateIncident) -> Result<String> {
        let title = c.incident_title.clone();
        let before = self.recent_incidents(&title).await;
        let sent = self.fetch(&CREATE_INCIDENT, &[], None, Some(&c)).await;
        match sent {
            Ok(g) => Ok(g.data.incident_num),
            Err(err) => {
                let after = self.recent_incidents(&title).await;
                settle_lost("the incident", err, before, after)
            }
        }
    }

    async fn handle_incident(
        &self,
        incident_num: &str,
        operate_key: OperateKey,
        parameter: serde_json::Map<String, serde_json::Value>,
    ) -> Result<IncidentStatus> {
        let h = HandleIncident {
            incident_num: incident_num.into(),
            operator: self.operator.clone(),
            operate_key: operate_key.as_str().into(),
            parameter: Some(parameter),
        };
        self.fetch(&HANDLE_INCIDENT, &[], None, Some(&h)).await?;
        Ok(self
            .read(&INCIDENT_INFO, &[incident_num])
            .await?
            .data
            .status)
    }

    async fn incident_detail(&self, incident_num: &str) -> Result<IncidentDetail> {
        Ok(self.read(&INCIDENT_DETAIL, &[incident_num]).await?.data)
    }

    async fn list_incidents(&self, q: ListIncidentsQuery) -> Result<Page<IncidentSummary>> {
        Ok(self.fetch(&LIST_INCIDENTS, &[], Some(&q), None).await?.data)
    }
}

#[async_trait]
impl AlarmsApi for Remote {
    async fn list_alarms(&self, q: ListAlarmsQuery) -> Result<(Vec<Alarm>, Option<i64>)> {
        let d = self.fetch(&LIST_ALARMS, &[], Some(&q), None).await?.data;
        Ok((d.alarms, d.next_marker))
    }

    async fn alarm(&self, alarm_id: &str) -> Result<Alarm> {
        Ok(self.read(&GET_ALARM, &[alarm_id]).await?.data)
    }

    async fn alarm_groups(&self) -> Result<Vec<AlarmGroup>> {
        Ok(self.read(&ALARM_GROUPS, &[]).await?.data)
    }

    async fn push_alarm(&self, integration_key: &str, e: CustomEvent) -> Result<String> {
        self.fetch(&PUSH_CUSTOM, &[integration_key], None, Some(&e))
            .await?;
        Ok(e.alarm_id.unwrap_or_default())
    }

    async fn ack_alarms(&self, alarm_ids: &[String]) -> Result<usize> {
        let body = AckAlarms {
            alarm_ids: alarm_ids.to_vec(),
        };
        Ok(self.fetch(&ACK_ALARMS, &[], None, Some(&body)).await?.data)
    }

    async fn clear_alarms(&self, alarm_ids: &[String], remarks: &str) -> Result<Vec<String>> {
        let body = ClearAlarms {
            alarm_ids: alarm_ids.join(","),
            remarks: Some(remarks.into()),
            is_service_interrupt: None,
            start_time: None,
            fault_recovery_time: None,
        };
        Ok(self
            .fetch(&CLEAR_ALARMS, &[], None, Some(&body))
            .await?
            .data)
    }

    async fn alarms_to_incident(&self, t: AlarmsToIncident) -> Result<String> {
        let d = self.fetch(&ALARMS_TO_INCIDENT, &[], None, Some(&t)).await?;
        d.data
            .into_iter()
            .next()
            .ok_or_else(|| Error::Transport("no incident number in the answer".into()))
    }

    async fn silences(&self) -> Result<Vec<Silence>> {
        Ok(self.read(&LIST_SILENCES, &[]).await?.data)
    }

    async fn create_silence(&self, n: NewSilence) -> Result<Silence> {
        Ok(self.fetch(&CREATE_SILENCE, &[], None, Some(&n)).await?.data)
    }

    async fn expire_silence(&self, id: &str) -> Result<()> {
        self.read(&EXPIRE_SILENCE, &[id]).await.map(|_| ())
    }
}

#[async_trait]
impl AgentsApi for Remote {
    async fn agents(&self) -> Result<Vec<AgentSummary>> {
        Ok(self.read(&AGENTS, &[]).await?.data)
    }

    async fn create_agent_invocations(
        &self,
        b: BatchCreateInvocationRequestBody,
    ) -> Result<Vec<BatchCreateInvocationInfo>> {
        let project = self.project()?;
        let r = self
            .fetch(&CREATE_AGENT_INVOCATIONS, &[project], None, Some(&b))
            .await?;
        Ok(r.invocations)
    }

    async fn list_agent_invocations(
        &self,
        q: ListAgentInvocationsQuery,
    ) -> Result<ListAgentInvocationsResponse> {
        let project = self.project()?;
        self.fetch(&LIST_AGENT_INVOCATIONS, &[project], Some(&q), None)
            .await
    }
}

#[async_trait]
impl DesktopsApi for Remote {
    async fn desktop_agents(&self) -> Result<ListAgentsInstallConditionResponse> {
        let project = self.project()?;
        self.fetch(&DESKTOP_AGENTS, &[project], None, None).await
    }

    async fn install_desktop_agents(&self, desktop_ids: Vec<String>) -> Result<String> {
        let project = self.project()?;
        let body = BatchInstallAgentReq { desktop_ids };
        let r = self
            .fetch(&INSTALL_DESKTOP_AGENTS, &[project], None, Some(&body))
            .await?;
        Ok(r.job_id)
    }

    async fn desktop_jobs(&self) -> Result<Vec<ShowJobResponse>> {
        Ok(self.read(&DESKTOP_JOBS, &[]).await?.data)
    }
}

#[async_trait]
impl TatApi for Remote {
    async fn create_command(&self, r: tat::CreateCommandRequest) -> Result<String> {
        created(
            self.tat(TatAction::CreateCommand, &r).await?,
            TatAction::CreateCommand,
        )
    }

    async fn describe_commands(&self, r: tat::DescribeRequest) -> Result<Described<tat::Command>> {
        self.describe(TatAction::DescribeCommands, &r).await
    }

    async fn create_invoker(&self, r: tat::CreateInvokerRequest) -> Result<String> {
        created(
            self.tat(TatAction::CreateInvoker, &r).await?,
            TatAction::CreateInvoker,
        )
    }

    async fn describe_invokers(&self, r: tat::DescribeRequest) -> Result<Described<tat::Invoker>> {
        self.describe(TatAction::DescribeInvokers, &r).await
    }

    async fn set_invoker_enabled(&self, invoker_id: &str, enable: bool) -> Result<()> {
        let action = if enable {
            TatAction::EnableInvoker
        } else {
            TatAction::DisableInvoker
        };
        let body = tat::InvokerIdRequest {
            invoker_id: Some(invoker_id.into()),
        };
        self.tat(action, &body).await.map(|_| ())
    }

    async fn delete_invoker(&self, invoker_id: &str) -> Result<()> {
        let body = tat::InvokerIdRequest {
            invoker_id: Some(invoker_id.into()),
        };
        self.tat(TatAction::DeleteInvoker, &body).await.map(|_| ())
    }

    async fn invoker_records(
        &self,
        r: tat::DescribeRequest,
    ) -> Result<Described<tat::InvokerRecord>> {
        self.describe(TatAction::DescribeInvokerRecords, &r).await
    }

    async fn invocation_tasks(
        &self,
        r: tat::DescribeRequest,
    ) -> Result<Described<tat::InvocationTask>> {
        self.describe(TatAction::DescribeInvocationTasks, &r).await
    }
}

impl Remote {
    /// A Describe* action: its declared set, with `TotalCount`.
    async fn describe<T: DeserializeOwned>(
        &self,
        action: TatAction,
        r: &tat::DescribeRequest,
    ) -> Result<Described<T>> {
        described(
            self.tat(action, r).await?,
            action.answer_field().unwrap_or_default(),
        )
    }
}

/// A Create* answer: the id in its declared field.
fn created(v: serde_json::Value, action: TatAction) -> Result<String> {
    let field = action.answer_field().unwrap_or_default();
    v[field]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::Transport(format!("{}: no {field} in the answer", action.name())))
}

/// A Describe* answer: `TotalCount` and the named set.
fn described<T: DeserializeOwned>(v: serde_json::Value, set: &str) -> Result<Described<T>> {
    let items = serde_json::from_value(v[set].clone())
        .map_err(|e| Error::Transport(format!("{set}: unexpected answer: {e}")))?;
    Ok(Described {
        total_count: v["TotalCount"].as_u64().unwrap_or(0),
        set: items,
    })
}
