//! Workspace desktop agents: installing on desktops is a job with one sub-job per desktop. Each
//! sub-job runs the agent's install command on its desktop (hosts of kind `desktop`), through
//! the same executor as scripts, and records the agent like a Cloud Eye INSTALL does.

use crate::Fault;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::agents::{AgentRecord, Work, run_command};
use super::exec::Verdict;
use super::store::docs::{AGENTS, DESKTOP_JOBS, Select};
use super::{Change, Engine, EngineError, Result, uuid4, views};
use crate::settings::{Host, HostKind};
use cocpit_api::model::desktop::*;
use cocpit_api::model::validate::invalid;

/// The agent a desktop install puts there.
pub const AGENT_NAME: &str = "telescope";
pub const MAX_DESKTOPS: usize = 100;

/// Workspace's time format.
fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn now(w: &Work) -> String {
    time(w.clock.now())
}

fn put_job(w: &Work, job: &ShowJobResponse) -> Result<()> {
    Ok(w.store.put(
        DESKTOP_JOBS,
        &job.id,
        &[job.status.as_str().to_string().into()],
        job,
    )?)
}

fn desktop<'a>(w: &'a Work, id: &str) -> Option<&'a Host> {
    w.hosts.get(id).filter(|h| h.kind == HostKind::Desktop)
}

/// After a crash: jobs that were running end as failed, saying why.
pub(crate) fn recover(w: &Work) -> Result<()> {
    for status in [JobStatus::Waiting, JobStatus::Running] {
        let (_, open): (u64, Vec<ShowJobResponse>) = w.store.select(
            DESKTOP_JOBS,
            &Select {
                equal: vec![("status", status.as_str().to_string().into())],
                limit: u64::MAX >> 1,
                ..Default::default()
            },
        )?;
        for mut job in open {
            for s in job.sub_jobs.iter_mut().filter(|s| s.status.is_open()) {
                s.status = JobStatus::Fail;
                s.fail_reason = Some(super::RESTART_REASON.into());
                s.end_time = Some(now(w));
                let mut a = w.agent(&s.entities.desktop_id)?;
                a.busy = false;
                w.store.put(AGENTS, &s.entities.desktop_id, &[], &a)?;
            }
            settle(&mut job, &now(w));
            put_job(w, &job)?;
        }
    }
    Ok(())
}

/// The job's status from its sub-jobs.
fn settle(job: &mut ShowJobResponse, now: &str) {
    let open = job.sub_jobs.iter().any(|s| s.status.is_open());
    let failed = job
        .sub_jobs
        .iter()
        .filter(|s| s.status == JobStatus::Fail)
        .count();
    if open {
        job.status = JobStatus::Running;
        return;
    }
    job.status = if failed > 0 {
        JobStatus::Fail
    } else {
        JobStatus::Success
    };
    job.end_time = Some(now.to_string());
    if failed > 0 {
        job.job_error_code = Some("WKS.00010002".into());
        job.fail_reason = Some(format!(
            "the agent failed to install on {failed} of {} desktops",
            job.sub_jobs.len()
        ));
    }
}

impl Engine {
    /// `POST /v2/{project_id}/desktops/agents`: checks every id first (nothing starts unless all
    /// are desktops), then installs on each desktop.
    pub fn install_desktop_agents(&self, req: &BatchInstallAgentReq) -> Result<String> {
        let w = &self.inner.agent_work();
        let ids = &req.desktop_ids;
        if ids.is_empty() {
            return Err(invalid("desktop_ids", "must hold at least one desktop id").into());
        }
        if ids.len() > MAX_DESKTOPS {
            return Err(invalid(
                "desktop_ids",
                format!("must hold at most {MAX_DESKTOPS} ids (got {})", ids.len()),
            )
            .into());
        }
        let mut seen = std::collections::HashSet::new();
        for (i, id) in ids.iter().enumerate() {
            if !seen.insert(id) {
                return Err(
                    invalid(format!("desktop_ids[{i}]"), format!("{id} is listed twice")).into(),
                );
            }
            if desktop(w, id).is_none() {
                return Err(invalid(
                    format!("desktop_ids[{i}]"),
                    format!("no desktop {id} (see GET /v2/{{project_id}}/desktops/agents)"),
                )
                .into());
            }
            if w.agent(id)?.busy {
                return Err(EngineError(Fault::Conflict(format!(
                    "desktop_ids[{i}]: a task is already running on {id}"
                ))));
            }
        }
        let job_id = uuid4();
        let begin = now(w);
        let sub_jobs = ids
            .iter()
            .map(|id| {
                let h = desktop(w, id).expect("checked above");
                JobDetailInfo {
                    id: uuid4(),
                    job_type: INSTALL_JOB.into(),
                    entities: JobEntities {
                        desktop_id: id.clone(),
                        desktop_name: views::host_name(h),
                        ip_address: views::resource(h, None).inner_ip,
                    },
                    begin_time: begin.clone(),
                    end_time: None,
                    status: JobStatus::Waiting,
                    error_code: None,
                    fail_reason: None,
                    job_id: job_id.clone(),
                    process: 0,
                }
            })
            .collect::<Vec<_>>();
        let job = ShowJobResponse {
            id: job_id.clone(),
            job_type: INSTALL_JOB.into(),
            begin_time: begin,
            end_time: None,
            status: JobStatus::Waiting,
            job_error_code: None,
            fail_reason: None,
            sub_jobs_total: sub_jobs.len() as u64,
            sub_jobs,
        };
        put_job(w, &job)?;
        for id in ids {
            let mut a = w.agent(id)?;
            a.busy = true;
            w.store.put(AGENTS, id, &[], &a)?;
        }
        emit_job(w, &job);
        let jobs = Arc::new(tokio::sync::Mutex::new(()));
        for id in ids {
            tokio::spawn(install(w.clone(), job_id.clone(), id.clone(), jobs.clone()));
        }
        Ok(job_id)
    }

    /// `GET /v2/{project_id}/workspace-jobs/{job_id}`.
    pub fn desktop_job(&self, job_id: &str) -> Result<ShowJobResponse> {
        self.inner
            .store
            .get(DESKTOP_JOBS, job_id)?
            .ok_or_else(|| EngineError(Fault::NotFound(format!("no job {job_id}"))))
    }

    /// Jobs, newest first (the console's list).
    pub fn desktop_jobs(&self, limit: u64) -> Result<Vec<ShowJobResponse>> {
        jobs(&self.inner.agent_work(), limit)
    }

    /// `GET /v2/{project_id}/desktops/agents`: each desktop and its agent.
    pub fn desktop_agents(
        &self,
        q: &ListAgentsInstallConditionQuery,
    ) -> Result<ListAgentsInstallConditionResponse> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(invalid("limit", format!("must be 1 to 1000 (got {limit})")).into());
        }
        let offset = q.offset.unwrap_or(0).max(0) as usize;
        let all = conditions(&self.inner.agent_work(), |id| {
            q.desktop_id.as_deref().is_none_or(|d| d == id)
        })?;
        let matching: Vec<AgentsCondition> = all
            .into_iter()
            .filter(|c| {
                q.desktop_name
                    .as_deref()
                    .is_none_or(|n| c.desktop_name.contains(n))
            })
            .filter(|c| {
                q.is_installed
                    .is_none_or(|i| c.agent_info.iter().any(|a| a.is_installed == i))
            })
            .collect();
        Ok(ListAgentsInstallConditionResponse {
            total_count: matching.len() as u64,
            agents_condition: matching
                .into_iter()
                .skip(offset)
                .take(limit as usize)
                .collect(),
        })
    }
}

/// Updates one sub-job of a job (read-modify-write under the job lock).
async fn update(
    w: &Work,
    lock: &tokio::sync::Mutex<()>,
    job_id: &str,
    desktop_id: &str,
    f: impl FnOnce(&mut JobDetailInfo),
) {
    let _g = lock.lock().await;
    let Ok(Some(mut job)) = w.store.get::<ShowJobResponse>(DESKTOP_JOBS, job_id) else {
        return;
    };
    if let Some(s) = job
        .sub_jobs
        .iter_mut()
        .find(|s| s.entities.desktop_id == desktop_id)
    {
        f(s);
    }
    settle(&mut job, &now(w));
    if let Err(e) = put_job(w, &job) {
        tracing::error!("desktop job {job_id}: {e}");
    }
    emit_job(w, &job);
}

/// Tells the front ends that a job changed, with its desktops' rows as they are now.
fn emit_job(w: &Work, job: &ShowJobResponse) {
    let desktops = conditions(w, |id| {
        job.sub_jobs.iter().any(|s| s.entities.desktop_id == id)
    })
    .unwrap_or_default();
    let _ = w.events.send(Change::DesktopJobChanged {
        job_id: job.id.clone(),
        desktops,
    });
}

async fn install(w: Work, job_id: String, desktop_id: String, lock: Arc<tokio::sync::Mutex<()>>) {
    let Some(host) = desktop(&w, &desktop_id).cloned() else {
        return;
    };
    update(&w, &lock, &job_id, &desktop_id, |s| {
        s.status = JobStatus::Running;
        s.process = 50;
    })
    .await;
    let version = w.settings.version.clone();
    let env = vec![
        ("COCPIT_RESOURCE_ID".into(), desktop_id.clone()),
        ("COCPIT_AGENT_VERSION".into(), version.clone()),
    ];
    let tag = format!("{job_id}-{desktop_id}");
    let install = w.settings.install.clone();
    let (verdict, output) = run_command(&w, &host, &install, env, &[], &tag).await;
    let ok = verdict == Verdict::Succeeded;
    if let Ok(mut a) = w.agent(&desktop_id) {
        a.busy = false;
        if ok {
            a.version = Some(version);
            a.failed = false;
            a.removed = false;
        } else if a.version.is_none() {
            a.failed = true;
        }
        let _ = w.store.put(AGENTS, &desktop_id, &[], &a);
    }
    let end = now(&w);
    update(&w, &lock, &job_id, &desktop_id, |s| {
        s.end_time = Some(end);
        s.process = 100;
        if ok {
            s.status = JobStatus::Success;
        } else {
            s.status = JobStatus::Fail;
            s.error_code = Some("WKS.00010002".into());
            let why = verdict.reason().unwrap_or("failed").to_string();
            s.fail_reason = Some(if output.is_empty() {
                why
            } else {
                format!("{why}: {}", output.lines().last().unwrap_or(""))
            });
        }
    })
    .await;
}

/// The desktops `wanted` keeps, each with its agent and its newest install task: the jobs
/// are read once.
fn conditions(w: &Work, wanted: impl Fn(&str) -> bool) -> Result<Vec<AgentsCondition>> {
    let jobs = jobs(w, 200)?;
    let mut all = Vec::new();
    for h in w
        .hosts
        .values()
        .filter(|h| h.kind == HostKind::Desktop && wanted(&h.id))
    {
        let a: AgentRecord = w.agent(&h.id)?;
        let task = jobs
            .iter()
            .flat_map(|j| j.sub_jobs.iter())
            .find(|s| s.entities.desktop_id == h.id);
        let reachable = w.reachability(h).is_none_or(|r| r.is_ok());
        all.push(AgentsCondition {
            desktop_id: h.id.clone(),
            desktop_name: views::host_name(h),
            status: if reachable { "ACTIVE" } else { "UNREACHABLE" }.into(),
            task_status: task.map(|t| t.status.as_str().to_string()),
            ip_address: views::resource(h, None).inner_ip,
            process: task.map(|t| t.process),
            agent_info: vec![AgentInfo {
                agent_name: AGENT_NAME.into(),
                agent_version: a.version.clone(),
                is_installed: a.version.is_some(),
            }],
        });
    }
    Ok(all)
}

/// Jobs, newest first.
fn jobs(w: &Work, limit: u64) -> Result<Vec<ShowJobResponse>> {
    let (_, jobs) = w.store.select(
        DESKTOP_JOBS,
        &Select {
            limit,
            ..Default::default()
        },
    )?;
    Ok(jobs)
}
