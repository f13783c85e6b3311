//! `cocpit invoker …`: TAT scheduled invokers and their commands from the shell.

use base64::Engine as _;
use chrono::Utc;
use clap::Subcommand;
use serde_json::json;

use super::table::Table;
use super::{CliResult, Output, fail, print_json};
use crate::backend::prelude::*;
use crate::format::local_offset;
use crate::model::tat::{self, *};

#[derive(Debug, Subcommand)]
pub enum InvokerCmd {
    /// Invokers with their policy and next fire.
    List,
    /// Create an invoker: --at TIME (ONCE) or --cron EXPR (RECURRENCE, read in UTC+8).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        command_id: String,
        #[arg(long = "instance", required = true)]
        instance_ids: Vec<String>,
        /// ONCE at this time: +10m, HH:MM or "YYYY-MM-DD HH:MM" (local time), or
        /// YYYY-MM-DDThh:mm:ssZ.
        #[arg(long, conflicts_with = "cron")]
        at: Option<String>,
        /// RECURRENCE on this crontab expression, read in UTC+8 (Beijing time).
        #[arg(long)]
        cron: Option<String>,
        /// Parameters as JSON text: {"name": "value"}.
        #[arg(long)]
        parameters: Option<String>,
    },
    Enable {
        invoker_id: String,
    },
    Disable {
        invoker_id: String,
    },
    Delete {
        invoker_id: String,
    },
    /// Fires of an invoker, newest first.
    Records {
        invoker_id: String,
    },
    /// The tasks of one fire, with their output.
    Tasks {
        invocation_id: String,
    },
    /// The next fire times of a crontab expression (UTC+8), without creating anything.
    Preview {
        cron: String,
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// Create a command (the script an invoker runs).
    CommandCreate {
        #[arg(long)]
        name: String,
        /// The script text (it is sent base64-encoded).
        #[arg(long)]
        content: String,
        #[arg(long, default_value = "SHELL")]
        command_type: String,
        #[arg(long, default_value_t = 60)]
        timeout: i64,
        /// Allow {{name}} parameters, with these defaults as JSON text.
        #[arg(long)]
        parameters: Option<String>,
    },
    /// Commands.
    Commands,
}

fn policy(i: &Invoker) -> String {
    match i.schedule_settings.policy.as_str() {
        "RECURRENCE" => format!(
            "cron {}",
            i.schedule_settings.recurrence.as_deref().unwrap_or("")
        ),
        other => other.to_string(),
    }
}

pub async fn invoker(b: &dyn Backend, cmd: InvokerCmd, out: Output) -> CliResult {
    let all = || DescribeRequest {
        limit: Some(100),
        ..Default::default()
    };
    match cmd {
        InvokerCmd::List => {
            let d = b.describe_invokers(all()).await?;
            match out {
                Output::Json => {
                    print_json(&json!({"TotalCount": d.total_count, "InvokerSet": d.set}))
                }
                Output::Table => {
                    let mut t = Table::new(&[
                        "INVOKER",
                        "NAME",
                        "ENABLED",
                        "POLICY",
                        "NEXT FIRE",
                        "INSTANCES",
                    ]);
                    for i in &d.set {
                        t.row(vec![
                            i.invoker_id.clone(),
                            i.name.clone(),
                            if i.enable { "yes" } else { "no" }.into(),
                            policy(i),
                            i.schedule_settings
                                .invoke_time
                                .as_deref()
                                .and_then(|s| parse_time(s).ok())
                                .map(|t| both_zones(t, local_offset()))
                                .unwrap_or("-".into()),
                            i.instance_ids.join(" "),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
            Ok(0)
        }
        InvokerCmd::Create {
            name,
            command_id,
            instance_ids,
            at,
            cron,
            parameters,
        } => {
            let settings = match (at, cron) {
                (Some(at), None) => ScheduleSettings {
                    policy: "ONCE".into(),
                    recurrence: None,
                    invoke_time: Some(tat::format_time(
                        tat::parse_user_time(
                            &at,
                            chrono::Utc::now(),
                            crate::format::local_offset(),
                        )
                        .map_err(|e| fail(format!("--at: {e}")))?,
                    )),
                },
                (None, Some(c)) => ScheduleSettings {
                    policy: "RECURRENCE".into(),
                    recurrence: Some(c),
                    invoke_time: None,
                },
                _ => return Err(fail("give --at TIME (ONCE) or --cron EXPR (RECURRENCE)")),
            };
            let id = b
                .create_invoker(CreateInvokerRequest {
                    name: Some(name),
                    invoker_type: Some("SCHEDULE".into()),
                    command_id: Some(command_id),
                    instance_ids: Some(instance_ids),
                    parameters,
                    schedule_settings: Some(settings),
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&json!({ "InvokerId": id })),
                Output::Table => say!("{id}"),
            }
            Ok(0)
        }
        InvokerCmd::Enable { invoker_id } => {
            b.set_invoker_enabled(&invoker_id, true).await?;
            Ok(0)
        }
        InvokerCmd::Disable { invoker_id } => {
            b.set_invoker_enabled(&invoker_id, false).await?;
            Ok(0)
        }
        InvokerCmd::Delete { invoker_id } => {
            b.delete_invoker(&invoker_id).await?;
            Ok(0)
        }
        InvokerCmd::Records { invoker_id } => {
            let d = b
                .invoker_records(DescribeRequest {
                    invoker_ids: Some(vec![invoker_id]),
                    limit: Some(100),
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => {
                    print_json(&json!({"TotalCount": d.total_count, "InvokerRecordSet": d.set}))
                }
                Output::Table => {
                    let mut t = Table::new(&["FIRED", "RESULT", "INVOCATION", "REASON"]);
                    for r in &d.set {
                        t.row(vec![
                            parse_time(&r.invoke_time)
                                .map(|t| both_zones(t, local_offset()))
                                .unwrap_or(r.invoke_time.clone()),
                            r.result.clone(),
                            r.invocation_id.clone(),
                            r.reason.clone(),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
            Ok(0)
        }
        InvokerCmd::Tasks { invocation_id } => {
            let d = b
                .invocation_tasks(DescribeRequest {
                    filters: Some(vec![Filter {
                        name: "invocation-id".into(),
                        values: vec![invocation_id],
                    }]),
                    hide_output: Some(false),
                    limit: Some(100),
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => {
                    print_json(&json!({"TotalCount": d.total_count, "InvocationTaskSet": d.set}))
                }
                Output::Table => {
                    for task in &d.set {
                        say!(
                            "{}  {}  {}  exit {}",
                            task.invocation_task_id,
                            task.instance_id,
                            task.task_status,
                            task.task_result.exit_code
                        );
                        let out = base64::engine::general_purpose::STANDARD
                            .decode(&task.task_result.output)
                            .unwrap_or_default();
                        print!(
                            "{}",
                            crate::sanitize::for_display(&String::from_utf8_lossy(&out))
                        );
                        if !task.error_info.is_empty() {
                            say!("  {}", crate::sanitize::for_display(&task.error_info));
                        }
                    }
                }
            }
            Ok(0)
        }
        InvokerCmd::Preview { cron, count } => {
            let c = parse_cron(&cron).map_err(|e| fail(e.to_string()))?;
            let s = Schedule::Recurrence(Box::new(c), cron);
            for t in s.upcoming(Utc::now(), count) {
                say!("{}", both_zones(t, local_offset()));
            }
            Ok(0)
        }
        InvokerCmd::CommandCreate {
            name,
            content,
            command_type,
            timeout,
            parameters,
        } => {
            let id = b
                .create_command(CreateCommandRequest {
                    command_name: Some(name),
                    content: Some(base64::engine::general_purpose::STANDARD.encode(content)),
                    command_type: Some(command_type),
                    timeout: Some(timeout),
                    enable_parameter: Some(parameters.is_some()),
                    default_parameters: parameters,
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&json!({ "CommandId": id })),
                Output::Table => say!("{id}"),
            }
            Ok(0)
        }
        InvokerCmd::Commands => {
            let d = b.describe_commands(all()).await?;
            match out {
                Output::Json => {
                    print_json(&json!({"TotalCount": d.total_count, "CommandSet": d.set}))
                }
                Output::Table => {
                    let mut t = Table::new(&["COMMAND", "NAME", "TYPE", "TIMEOUT", "PARAMETERS"]);
                    for c in &d.set {
                        t.row(vec![
                            c.command_id.clone(),
                            c.command_name.clone(),
                            c.command_type.clone(),
                            format!("{} s", c.timeout),
                            if c.enable_parameter {
                                c.default_parameters.clone()
                            } else {
                                "-".into()
                            },
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
            Ok(0)
        }
    }
}
