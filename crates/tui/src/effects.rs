//! The console's effects on the backend: each one a backend call whose answer comes back as a
//! message, at most one of a kind running at once (a second asks for one more run after it).

use super::*;

/// Runs a backend call and turns its answer into a message.
pub async fn run_effect(b: Arc<dyn Backend>, e: Effect) -> Msg {
    let err = |e: cocpit_api::backend::Error| e.to_string();
    match e {
        Effect::LoadScripts(want) => {
            let pages = cocpit_api::pages::scripts(b.as_ref(), ListScriptsQuery::default());
            match cocpit_api::pages::at_least(pages, want).await {
                Ok((rows, more)) => Msg::Scripts(Ok(rows), more),
                Err(e) => Msg::Scripts(Err(err(e)), false),
            }
        }
        Effect::LoadOrders(want) => {
            let pages = cocpit_api::pages::orders(b.as_ref(), Default::default());
            match cocpit_api::pages::at_least(pages, want).await {
                Ok((rows, more)) => Msg::Orders(Ok(rows), more),
                Err(e) => Msg::Orders(Err(err(e)), false),
            }
        }
        Effect::LoadResources => {
            let q = cocpit_api::model::resource::ListResourcesQuery {
                provider: Some("ecs".into()),
                resource_type: Some("cloudservers".into()),
                limit: Some(100),
                ..Default::default()
            };
            Msg::Resources(b.list_resources(q).await.map_err(err))
        }
        Effect::LoadOrder(eid) => {
            let snap = b.order_snapshot(&eid).await;
            Msg::Order(eid, snap.map(Box::new).map_err(err))
        }
        Effect::LoadScriptParams(uuid) => {
            let params = b
                .get_script(&uuid)
                .await
                .map(|d| d.script_params)
                .map_err(err);
            Msg::ScriptParams(uuid, params)
        }
        Effect::Operate { execute_uuid, op } => {
            let what = op.operation_type;
            Msg::Done(
                b.operate(&execute_uuid, op)
                    .await
                    .map(|_| format!("{what} done"))
                    .map_err(err),
            )
        }
        Effect::Execute { script_uuid, body } => match b.execute_script(&script_uuid, body).await {
            Ok(eid) => Msg::Started(eid),
            Err(e) => Msg::Done(Err(format!("not started: {}", err(e)))),
        },
        Effect::LoadScript(uuid) => {
            let r = b.get_script(&uuid).await.map(Box::new).map_err(err);
            Msg::Script(uuid, r)
        }
        Effect::SaveScript { draft_key, save } => {
            let result = match *save {
                ScriptSave::Create(body) => b.create_script(body).await,
                ScriptSave::Update(uuid, body) => b.update_script(&uuid, body).await.map(|_| uuid),
            }
            .map_err(err);
            Msg::Saved { draft_key, result }
        }
        Effect::LoadIdentity => Msg::Identity(b.whoami().await.map_err(err)),
        Effect::LoadUsers => Msg::Users(b.users().await.map_err(err)),
        Effect::LoadAudit => {
            let q = cocpit_api::model::team::AuditQuery {
                limit: Some(100),
                ..Default::default()
            };
            Msg::Audit(b.audit(q).await.map_err(err))
        }
        Effect::LoadReviews(uuid) => {
            let r = b.script_reviews(&uuid).await.map_err(err);
            Msg::Reviews(uuid, r)
        }
        Effect::AcceptScript {
            script_uuid,
            decision,
        } => {
            let status = decision.status;
            Msg::Done(
                b.accept_script(&script_uuid, decision)
                    .await
                    .map(|_| format!("{script_uuid} {status}"))
                    .map_err(err),
            )
        }
        Effect::DeleteScript(uuid) => {
            Msg::Deleted(b.delete_script(&uuid).await.map(|_| uuid).map_err(err))
        }
        Effect::LoadLog {
            execute_uuid,
            instance_id,
        } => {
            let r = b
                .instance_log(&execute_uuid, instance_id)
                .await
                .map_err(err);
            Msg::Log(execute_uuid, instance_id, r)
        }
        Effect::Triage(t) => Msg::Triage(run_triage(b, t).await),
        Effect::Ops(o) => Msg::Ops(run_ops(b, o).await),
        Effect::SaveDraft(_)
        | Effect::RemoveDraft(_)
        | Effect::ExternalEdit { .. }
        | Effect::Copy(_)
        | Effect::SaveLog { .. } => {
            unreachable!("run by the loop itself")
        }
    }
}

/// Agent, desktop and invoker work on the backend.
async fn run_ops(b: Arc<dyn Backend>, o: update::OpsEffect) -> update::OpsMsg {
    use cocpit_api::model::agent::BatchCreateInvocationRequestBody;
    use update::{OpsEffect as E, OpsMsg as M};
    let err = |e: cocpit_api::backend::Error| e.to_string();
    match o {
        E::LoadAgents => M::Agents(
            async {
                let agents = b.agents().await?;
                let tasks = b
                    .list_agent_invocations(cocpit_api::model::agent::ListAgentInvocationsQuery {
                        limit: Some(update::AGENT_TASKS_SHOWN),
                        ..Default::default()
                    })
                    .await?;
                Ok((agents, tasks.invocations))
            }
            .await
            .map_err(err),
        ),
        E::LoadDesktops => M::Desktops(
            b.desktop_agents()
                .await
                .map(|r| r.agents_condition)
                .map_err(err),
        ),
        E::LoadInvokers => M::Invokers(
            b.describe_invokers(cocpit_api::model::tat::DescribeRequest {
                limit: Some(100),
                ..Default::default()
            })
            .await
            .map(|d| d.set)
            .map_err(err),
        ),
        E::Agent { kind, ids } => {
            let on_tasks = matches!(kind, "ROLLBACK" | "RETRY");
            let body = BatchCreateInvocationRequestBody {
                instance_ids: (!on_tasks).then(|| ids.clone()),
                invocation_ids: on_tasks.then(|| ids.clone()),
                invocation_type: kind.into(),
                ..Default::default()
            };
            M::Done(match b.create_agent_invocations(body).await {
                Ok(answers) => {
                    let refused: Vec<String> = answers
                        .iter()
                        .filter(|a| a.ret_status != "successful")
                        .map(|a| {
                            format!(
                                "{}: {}",
                                a.instance_id,
                                a.error_msg.as_deref().unwrap_or("refused")
                            )
                        })
                        .collect();
                    if refused.is_empty() {
                        Ok(format!("{kind} started ({} task(s))", answers.len()))
                    } else {
                        Err(format!("{kind}: {}", refused.join("; ")))
                    }
                }
                Err(e) => Err(err(e)),
            })
        }
        E::InstallDesktops(ids) => M::Done(
            b.install_desktop_agents(ids)
                .await
                .map(|job| format!("install job {job} started"))
                .map_err(err),
        ),
        E::SetInvoker { id, enable } => M::Done(
            b.set_invoker_enabled(&id, enable)
                .await
                .map(|()| format!("{id} {}", if enable { "enabled" } else { "disabled" }))
                .map_err(err),
        ),
        E::DeleteInvoker(id) => M::Done(
            b.delete_invoker(&id)
                .await
                .map(|()| format!("{id} deleted"))
                .map_err(err),
        ),
        E::CreateInvoker { script, request } => M::Created(
            create_invoker(b.as_ref(), script, *request)
                .await
                .map_err(err),
        ),
        E::LoadRecords(id) => {
            let r = b
                .invoker_records(tat::DescribeRequest {
                    invoker_ids: Some(vec![id.clone()]),
                    limit: Some(100),
                    ..Default::default()
                })
                .await
                .map(|d| d.set)
                .map_err(err);
            M::Records(id, r)
        }
        E::LoadTasks(inv) => {
            let r = b
                .invocation_tasks(tat::DescribeRequest {
                    filters: Some(vec![tat::Filter {
                        name: "invocation-id".into(),
                        values: vec![inv.clone()],
                    }]),
                    limit: Some(100),
                    hide_output: Some(false),
                    ..Default::default()
                })
                .await
                .map(|d| d.set)
                .map_err(err);
            M::Tasks(inv, r)
        }
    }
}

/// Creates an invoker, first making its command from a shell line when one was typed.
async fn create_invoker(
    b: &dyn Backend,
    script: Option<String>,
    mut request: tat::CreateInvokerRequest,
) -> Result<String, cocpit_api::backend::Error> {
    use base64::Engine as _;
    if let Some(script) = script {
        let name: String = request
            .name
            .as_deref()
            .unwrap_or("invoker")
            .chars()
            .take(tat::MAX_COMMAND_NAME)
            .collect();
        let id = b
            .create_command(tat::CreateCommandRequest {
                command_name: Some(name),
                content: Some(base64::engine::general_purpose::STANDARD.encode(script)),
                command_type: Some("SHELL".into()),
                ..Default::default()
            })
            .await?;
        request.command_id = Some(id);
    }
    b.create_invoker(request).await
}

/// Alarm and incident work on the backend.
async fn run_triage(b: Arc<dyn Backend>, t: update::TriageEffect) -> update::TriageMsg {
    use cocpit_api::model::alarm::ListAlarmsQuery;
    use cocpit_api::model::incident::ListIncidentsQuery;
    use update::{TriageEffect as E, TriageMsg as M};
    let err = |e: cocpit_api::backend::Error| e.to_string();
    let done = |r: Result<String, cocpit_api::backend::Error>| M::Done(r.map_err(err));
    match t {
        E::LoadAlarms => {
            let mut all = vec![];
            let mut marker = None;
            loop {
                // The newest are what matters in a storm; memory stays bounded.
                if all.len() >= update::MAX_LOADED_ALARMS {
                    return M::Alarms(Ok(all), true);
                }
                let q = ListAlarmsQuery {
                    limit: Some(1000),
                    include_silenced: Some(true),
                    marker,
                    ..Default::default()
                };
                match b.list_alarms(q).await {
                    Ok((page, next)) => {
                        all.extend(page);
                        match next {
                            Some(m) => marker = Some(m),
                            None => return M::Alarms(Ok(all), false),
                        }
                    }
                    Err(e) => return M::Alarms(Err(err(e)), false),
                }
            }
        }
        E::LoadAlarmsById(ids) => M::AlarmsUpdated(b.alarms(&ids).await.map_err(err)),
        E::LoadAlarmGroups => M::AlarmGroups(b.alarm_groups().await.map_err(err)),
        E::LoadIncidents => {
            let q = ListIncidentsQuery {
                limit: Some(1000),
                ..Default::default()
            };
            M::Incidents(b.list_incidents(q).await.map(|p| p.data).map_err(err))
        }
        E::LoadIncident(num) => {
            let r = b.incident_detail(&num).await.map(Box::new).map_err(err);
            M::Incident(num, r)
        }
        E::Ack(ids) => done(
            b.ack_alarms(&ids)
                .await
                .map(|n| format!("{n} alarm(s) acknowledged")),
        ),
        E::Clear(ids) => done(
            b.clear_alarms(&ids, "cleared from the console")
                .await
                .map(|v| format!("{} alarm(s) cleared", v.len())),
        ),
        E::ToIncident(t) => M::Created(b.alarms_to_incident(*t).await.map_err(err)),
        E::Silence(n) => done(b.create_silence(n).await.map(|s| {
            format!(
                "silence {} until {}",
                s.id,
                cocpit_api::format::short_time(s.ends_at, cocpit_api::format::local_offset())
            )
        })),
        E::CreateIncident(c) => M::Created(b.create_incident(*c).await.map_err(err)),
        E::Handle {
            incident_num,
            key,
            parameter,
        } => done(
            b.handle_incident(&incident_num, key, parameter)
                .await
                .map(|st| format!("{incident_num} is {}", st.name_en())),
        ),
    }
}

/// Keeps one load of each kind in flight; asking again while it runs re-runs it once after.
#[derive(Default)]
pub(super) struct Jobs {
    running: HashSet<String>,
    again: HashSet<String>,
}

pub(super) fn job_key(e: &Effect) -> Option<String> {
    match e {
        Effect::LoadScripts(_) => Some("scripts".into()),
        Effect::LoadOrders(_) => Some("orders".into()),
        Effect::LoadResources => Some("resources".into()),
        Effect::LoadOrder(id) => Some(format!("order {id}")),
        Effect::LoadScriptParams(id) => Some(format!("params {id}")),
        Effect::LoadScript(id) => Some(format!("script {id}")),
        Effect::LoadLog { instance_id, .. } => Some(format!("log {instance_id}")),
        Effect::Triage(update::TriageEffect::LoadAlarms) => Some("alarms".into()),
        Effect::Ops(update::OpsEffect::LoadAgents) => Some("agents".into()),
        Effect::Ops(update::OpsEffect::LoadDesktops) => Some("desktops".into()),
        Effect::Ops(update::OpsEffect::LoadInvokers) => Some("invokers".into()),
        Effect::Ops(update::OpsEffect::LoadRecords(id)) => Some(format!("records {id}")),
        Effect::Ops(update::OpsEffect::LoadTasks(id)) => Some(format!("tasks {id}")),
        Effect::Triage(update::TriageEffect::LoadAlarmGroups) => Some("alarm groups".into()),
        Effect::Triage(update::TriageEffect::LoadIncidents) => Some("incidents".into()),
        Effect::Triage(update::TriageEffect::LoadIncident(n)) => Some(format!("incident {n}")),
        _ => None,
    }
}

pub(super) type Done = (Option<String>, Effect, Msg);

/// What the console reads as it opens.
pub fn startup_effects() -> Vec<Effect> {
    vec![
        Effect::LoadScripts(cocpit_api::pages::PAGE),
        Effect::LoadOrders(cocpit_api::pages::PAGE),
        Effect::LoadResources,
        // Alarms load at once: the header counts them wherever the user is.
        Effect::Triage(update::TriageEffect::LoadAlarms),
        Effect::Triage(update::TriageEffect::LoadIncidents),
        Effect::LoadIdentity,
        Effect::LoadUsers,
    ]
}

impl Jobs {
    pub(super) fn spawn(
        &mut self,
        b: &Arc<dyn Backend>,
        tx: &mpsc::UnboundedSender<Done>,
        e: Effect,
    ) {
        let key = job_key(&e);
        if let Some(k) = &key
            && !self.running.insert(k.clone())
        {
            self.again.insert(k.clone());
            return;
        }
        let (b, tx) = (b.clone(), tx.clone());
        tokio::spawn(async move {
            let msg = run_effect(b, e.clone()).await;
            let _ = tx.send((key, e, msg));
        });
    }

    /// A job ended: returns the effect to run again, if it was asked for meanwhile.
    pub(super) fn finished(&mut self, key: &Option<String>, e: Effect) -> Option<Effect> {
        let k = key.as_ref()?;
        self.running.remove(k);
        self.again.remove(k).then_some(e)
    }
}
