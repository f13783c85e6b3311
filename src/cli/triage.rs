//! `cocpit incident …` and `cocpit alarm …`: the incident lifecycle and the alarm stream from
//! the shell, over the same backend as the console.

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::table::{Table, opt_time, time};
use super::{CliResult, Output, print_json};
use crate::backend::prelude::*;
use crate::model::Data;
use crate::model::alarm::*;
use crate::model::incident::*;

#[derive(Debug, Subcommand)]
pub enum IncidentCmd {
    /// Incidents, newest first.
    List {
        /// Only this status (e.g. INCIDENT_STATUS_TRIGGERED).
        #[arg(long)]
        status: Option<String>,
        /// Only this level (level_10 … level_50).
        #[arg(long)]
        level: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One incident with its timeline.
    Show { incident_num: String },
    /// Create an incident (TRIGGERED).
    Create(CreateArgs),
    /// Accept a TRIGGERED incident.
    Accept { incident_num: String },
    /// Submit the solution of an ACKNOWLEDGED incident (it becomes RESOLVED).
    Resolve {
        incident_num: String,
        /// Incident type of the cause (inc_type_p_…).
        #[arg(long = "type", default_value = "inc_type_p_ohter_issues")]
        mtm_type: String,
        #[arg(long)]
        interrupted: bool,
        #[arg(long)]
        cause: String,
        #[arg(long)]
        solution: String,
    },
    /// Verify a RESOLVED incident: COMPLETED, or back to ACKNOWLEDGED with --failed.
    Confirm {
        incident_num: String,
        #[arg(long)]
        failed: bool,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Reject a TRIGGERED incident.
    Reject {
        incident_num: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub title: String,
    #[arg(long)]
    pub description: String,
    /// level_10 (P1) … level_50 (P5).
    #[arg(long, default_value = "level_30")]
    pub level: String,
    #[arg(long = "type", default_value = "inc_type_p_function_issues")]
    pub incident_type: String,
    /// The application (home cloud service) id.
    #[arg(long, default_value = "default")]
    pub application: String,
    /// Owner; defaults to you.
    #[arg(long)]
    pub assignee: Option<String>,
    #[arg(long)]
    pub interrupted: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlarmCmd {
    /// Alarms, newest first (silenced ones hidden unless --all).
    List {
        /// firing or cleared.
        #[arg(long)]
        state: Option<String>,
        /// Critical, Major, Minor or Info.
        #[arg(long)]
        level: Option<String>,
        /// Include silenced alarms.
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Firing alarms grouped (by name and application unless configured otherwise).
    Groups,
    /// Push an alarm as the `cli` integration (alarmStatus ok with --ok).
    Push {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "Major")]
        level: String,
        #[arg(long, default_value = "default")]
        application: String,
        #[arg(long, default_value = "")]
        resource: String,
        #[arg(long)]
        description: String,
        #[arg(long)]
        ok: bool,
    },
    /// Acknowledge alarms.
    Ack { alarm_ids: Vec<String> },
    /// Clear alarms by hand.
    Clear {
        alarm_ids: Vec<String>,
        #[arg(long, default_value = "")]
        remarks: String,
    },
    /// Make one incident of alarms.
    Incident {
        alarm_ids: Vec<String>,
        #[arg(long)]
        title: Option<String>,
    },
    /// Hide matching alarms for a while: NAME=VALUE matchers (NAME=~REGEX for a pattern).
    Silence {
        matchers: Vec<String>,
        /// How long, e.g. 30m, 2h, 1d.
        #[arg(long, default_value = "1h")]
        duration: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Active silences.
    Silences,
    /// End a silence now.
    Unsilence { id: String },
}

use crate::config::current_user as user;

/// `NAME=VALUE` or `NAME=~REGEX`.
pub fn parse_matcher(s: &str) -> Result<Matcher, String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("matcher {s:?}: expected NAME=VALUE or NAME=~REGEX"))?;
    Ok(match value.strip_prefix('~') {
        Some(re) => Matcher {
            name: name.into(),
            value: re.into(),
            is_regex: true,
        },
        None => Matcher {
            name: name.into(),
            value: value.into(),
            is_regex: false,
        },
    })
}

async fn operate(
    b: &dyn Backend,
    num: &str,
    key: OperateKey,
    p: Map<String, Value>,
    out: Output,
) -> CliResult {
    let status = b.handle_incident(num, key, p).await?;
    match out {
        Output::Json => print_json(&Gom::ok(None::<()>)),
        Output::Table => say!("{num} {}", status.name_en()),
    }
    Ok(0)
}

pub async fn incident(b: &dyn Backend, cmd: IncidentCmd, out: Output) -> CliResult {
    match cmd {
        IncidentCmd::List {
            status,
            level,
            limit,
        } => {
            let page = b
                .list_incidents(ListIncidentsQuery {
                    status,
                    level,
                    offset: None,
                    limit: Some(limit),
                })
                .await?;
            match out {
                Output::Json => print_json(&Data::new(page)),
                Output::Table => {
                    let mut t = Table::new(&["INCIDENT", "STATUS", "LEVEL", "CREATED", "TITLE"]);
                    for i in &page.data {
                        t.row(vec![
                            i.incident_num.clone(),
                            i.status.name_en().into(),
                            level_name(&i.incident_level),
                            time(i.create_time),
                            i.incident_title.clone(),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
        }
        IncidentCmd::Show { incident_num } => {
            let d = b.incident_detail(&incident_num).await?;
            match out {
                Output::Json => print_json(&Gom::ok(&d.info)),
                Output::Table => {
                    let i = &d.info;
                    say!(
                        "{}  {}  {}",
                        i.incident_num,
                        i.status.name_en(),
                        level_name(&i.incident_level)
                    );
                    say!(
                        "title        {}",
                        crate::sanitize::for_display(&i.incident_title)
                    );
                    say!(
                        "description  {}",
                        crate::sanitize::for_display(&i.incident_description)
                    );
                    say!("type         {}", i.incident_type);
                    say!("source       {}", i.incident_source);
                    say!("interrupted  {}", i.is_service_interrupt);
                    say!("created      {} by {}", time(i.create_time), i.creator);
                    say!("resolved     {}", opt_time(i.handle_time));
                    if !d.alarm_ids.is_empty() {
                        say!("alarms       {}", d.alarm_ids.join(", "));
                    }
                    let mut t = Table::new(&["WHEN", "WHO", "ACTION", "STATUS", "PARAMETERS"]);
                    for e in &d.timeline {
                        t.row(vec![
                            time(e.at),
                            e.operator.clone(),
                            e.action.clone(),
                            e.to_status.name_en().into(),
                            if e.parameter.is_empty() {
                                String::new()
                            } else {
                                Value::Object(e.parameter.clone()).to_string()
                            },
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
        }
        IncidentCmd::Create(a) => {
            let c = CreateIncident {
                region: vec![],
                enterprise_project: vec![],
                current_cloud_service: vec![a.application],
                incident_level: a.level,
                is_service_interrupt: a.interrupted,
                incident_type: a.incident_type,
                incident_title: a.title,
                incident_description: a.description,
                incident_source: "incident_source_manual".into(),
                incident_assignee: vec![a.assignee.unwrap_or_else(user)],
                assignee_scene: None,
                assignee_role: None,
                creator: user(),
                incident_ownership: None,
                start_time: None,
            };
            let num = b.create_incident(c).await?;
            match out {
                Output::Json => print_json(&Gom::ok(CreatedIncident { incident_num: num })),
                Output::Table => say!("{num}"),
            }
        }
        IncidentCmd::Accept { incident_num } => {
            return operate(b, &incident_num, OperateKey::Accept, Map::new(), out).await;
        }
        IncidentCmd::Resolve {
            incident_num,
            mtm_type,
            interrupted,
            cause,
            solution,
        } => {
            let mut p = Map::new();
            p.insert("mtm_type".into(), mtm_type.into());
            p.insert("is_service_interrupt".into(), interrupted.into());
            p.insert("cause".into(), cause.into());
            p.insert("solution".into(), solution.into());
            return operate(b, &incident_num, OperateKey::CommitSolution, p, out).await;
        }
        IncidentCmd::Confirm {
            incident_num,
            failed,
            comment,
        } => {
            let mut p = Map::new();
            p.insert("virtual_confirm_result".into(), (!failed).into());
            p.insert("virtual_confirm_comment".into(), comment.into());
            return operate(b, &incident_num, OperateKey::Confirm, p, out).await;
        }
        IncidentCmd::Reject {
            incident_num,
            reason,
        } => {
            let mut p = Map::new();
            p.insert("reason".into(), reason.into());
            return operate(b, &incident_num, OperateKey::Reject, p, out).await;
        }
    }
    Ok(0)
}

fn alarm_table(alarms: &[Alarm]) -> String {
    let mut t = Table::new(&[
        "ALARM",
        "LEVEL",
        "STATE",
        "COUNT",
        "LAST SEEN",
        "NAME",
        "APP",
        "RESOURCE",
        "INCIDENT",
    ]);
    for a in alarms {
        t.row(vec![
            a.alarm_id.clone(),
            a.level.to_string(),
            match (&a.silenced_by, a.acked_by.is_some()) {
                (Some(_), _) => format!("{} (silenced)", a.state),
                (None, true) => format!("{} (acked)", a.state),
                _ => a.state.to_string(),
            },
            a.count.to_string(),
            time(a.last_seen),
            a.name.clone(),
            a.application_id.clone(),
            a.resource_name.clone(),
            a.incident_num.clone().unwrap_or_default(),
        ]);
    }
    t.render()
}

pub async fn alarm(b: &dyn Backend, cmd: AlarmCmd, out: Output) -> CliResult {
    match cmd {
        AlarmCmd::List {
            state,
            level,
            all,
            limit,
        } => {
            let q = ListAlarmsQuery {
                state,
                level,
                include_silenced: Some(all),
                offset: None,
                limit: Some(limit.clamp(1, 1000)),
                marker: None,
                ids: None,
            };
            let (alarms, _) = b.list_alarms(q).await?;
            match out {
                Output::Json => print_json(&Data::new(&alarms)),
                Output::Table => print!("{}", alarm_table(&alarms)),
            }
        }
        AlarmCmd::Groups => {
            let groups = b.alarm_groups().await?;
            match out {
                Output::Json => print_json(&Data::new(&groups)),
                Output::Table => {
                    let mut t = Table::new(&["LEVEL", "FIRING", "COUNT", "LAST SEEN", "GROUP"]);
                    for g in &groups {
                        t.row(vec![
                            g.level.to_string(),
                            g.firing.to_string(),
                            g.count.to_string(),
                            time(g.last_seen),
                            g.group_key.clone(),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
        }
        AlarmCmd::Push {
            id,
            name,
            level,
            application,
            resource,
            description,
            ok,
        } => {
            let e = CustomEvent {
                alarm_id: Some(id),
                alarm_name: Some(name),
                alarm_level: Some(level),
                time: Some(crate::engine::now_ms()),
                name_space: Some("cli".into()),
                application_id: Some(application),
                resource_name: Some(resource.clone()),
                resource_id: Some(resource),
                alarm_desc: Some(description),
                alarm_status: Some(if ok { "ok" } else { "alarm" }.into()),
                alarm_source: Some("cocpit cli".into()),
                ..Default::default()
            };
            let id = b.push_alarm("cli", e).await?;
            match out {
                Output::Json => print_json(&Data::new(&id)),
                Output::Table => say!("{id}"),
            }
        }
        AlarmCmd::Ack { alarm_ids } => {
            let n = b.ack_alarms(&alarm_ids).await?;
            match out {
                Output::Json => print_json(&Data::new(n)),
                Output::Table => say!("{n} acknowledged"),
            }
        }
        AlarmCmd::Clear { alarm_ids, remarks } => {
            let ids = b.clear_alarms(&alarm_ids, &remarks).await?;
            match out {
                Output::Json => print_json(&Data::new(&ids)),
                Output::Table => say!("{} cleared", ids.len()),
            }
        }
        AlarmCmd::Incident { alarm_ids, title } => {
            let num = b
                .alarms_to_incident(AlarmsToIncident {
                    alarm_ids: alarm_ids.join(","),
                    title,
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&Data::new(vec![&num])),
                Output::Table => say!("{num}"),
            }
        }
        AlarmCmd::Silence {
            matchers,
            duration,
            comment,
        } => {
            let matchers = matchers
                .iter()
                .map(|m| parse_matcher(m))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| super::Failure {
                    code: 2,
                    message: e,
                })?;
            let secs = crate::format::parse_duration(&duration).map_err(|e| super::Failure {
                code: 2,
                message: e,
            })?;
            let s = b
                .create_silence(NewSilence {
                    matchers,
                    author: user(),
                    comment,
                    duration_s: Some(secs),
                    ends_at: None,
                })
                .await?;
            match out {
                Output::Json => print_json(&Data::new(&s)),
                Output::Table => say!("{} until {}", s.id, time(s.ends_at)),
            }
        }
        AlarmCmd::Silences => {
            let all = b.silences().await?;
            match out {
                Output::Json => print_json(&Data::new(&all)),
                Output::Table => {
                    let mut t = Table::new(&["SILENCE", "UNTIL", "AUTHOR", "MATCHERS", "COMMENT"]);
                    for s in &all {
                        let m: Vec<String> = s
                            .matchers
                            .iter()
                            .map(|m| {
                                format!(
                                    "{}{}{}",
                                    m.name,
                                    if m.is_regex { "=~" } else { "=" },
                                    m.value
                                )
                            })
                            .collect();
                        t.row(vec![
                            s.id.clone(),
                            time(s.ends_at),
                            s.author.clone(),
                            m.join(" "),
                            s.comment.clone(),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
        }
        AlarmCmd::Unsilence { id } => {
            b.expire_silence(&id).await?;
            match out {
                Output::Json => print_json(&Data::new(&id)),
                Output::Table => say!("{id} ended"),
            }
        }
    }
    Ok(0)
}
