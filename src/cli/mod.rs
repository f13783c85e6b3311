//! The automation subcommands (`script`, `order`, `resource`), over the same [`Backend`] as the
//! console. `-o json` prints the API's own JSON (with its `{"data": …}` envelope); the default is
//! a table for people.

/// Prints a line of human output. Every value from the API may be hostile, so every line goes
/// through [`crate::sanitize::for_display`] here: the one path to the terminal (tables too).
macro_rules! say {
    () => {
        println!()
    };
    ($($t:tt)*) => {
        println!("{}", $crate::sanitize::for_display(&format!($($t)*)))
    };
}

mod agents;
pub mod check;
mod invokers;
mod orders;
mod scripts;
mod table;
mod team;
mod triage;

pub use agents::{AgentCmd, DesktopCmd, agent, desktop};
pub use invokers::{InvokerCmd, invoker};
pub use orders::{follow, order};
pub use scripts::script;
pub use team::{AuditArgs, audit, whoami};
pub use triage::{AlarmCmd, IncidentCmd, alarm, incident};

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::backend::{Error, prelude::*};
use crate::model::Data;
use crate::model::order::*;
use crate::model::resource::ListResourcesQuery;
use crate::model::script::*;
use crate::model::team::ApprovalJobScriptModel;
use crate::sanitize::for_display;
use table::{Table, duration, opt_time, time};

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Output {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ScriptCmd {
    /// List scripts (newest first).
    List {
        /// Only scripts whose name contains this.
        #[arg(long)]
        name_like: Option<String>,
        #[arg(long)]
        risk_level: Option<String>,
        /// SHELL, PYTHON or BAT.
        #[arg(long = "type")]
        script_type: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// The `id` of the last script of the previous page.
        #[arg(long)]
        marker: Option<i64>,
    },
    /// Show a script with its parameters and content.
    Show { script_uuid: String },
    /// Create a script from a file.
    Create(CreateArgs),
    /// Change a script's content, description, version or risk level.
    Edit(EditArgs),
    /// Delete a script.
    Delete { script_uuid: String },
    /// Run a script on hosts, batch by batch, and follow it until it settles.
    ///
    /// Exit 0 only if the order FINISHED with its success threshold met and no instance failed;
    /// 1 for failures, an unmet threshold, a pause or a cancel; 2 for a usage error.
    Run(RunArgs),
    /// Approve a script waiting for review (you must be one of its reviewers, not its author).
    Approve {
        script_uuid: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Reject a script waiting for review; a change to it sends it back for review.
    Reject {
        script_uuid: String,
        #[arg(long, default_value = "")]
        comment: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub name: String,
    /// The script's content (`-` for standard input).
    #[arg(long)]
    pub file: PathBuf,
    #[arg(long = "type", default_value = "SHELL", value_parser = wire(ScriptType::ALL, ScriptType::as_str))]
    pub script_type: ScriptType,
    #[arg(long, default_value = "created with the cocpit CLI")]
    pub description: String,
    #[arg(long, default_value = "LOW", value_parser = wire(RiskLevel::ALL, RiskLevel::as_str))]
    pub risk_level: RiskLevel,
    #[arg(long, default_value = "1.0.0")]
    pub version: String,
    /// A parameter `NAME=DEFAULT` (append `:sensitive` to NAME to mask its values); repeatable,
    /// in argument order.
    #[arg(long = "param")]
    pub params: Vec<String>,
    /// A reviewer `NAME` or `NAME:USER_ID` (repeatable): the script then waits for one of them
    /// to approve it before it can run.
    #[arg(long = "reviewer")]
    pub reviewers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    pub script_uuid: String,
    /// New content (`-` for standard input).
    #[arg(long)]
    pub file: Option<PathBuf>,
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long)]
    pub version: Option<String>,
    #[arg(long, value_parser = wire(RiskLevel::ALL, RiskLevel::as_str))]
    pub risk_level: Option<RiskLevel>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    pub script_uuid: String,
    /// Target resource ids, comma-separated (`cocpit resource list` shows them).
    #[arg(long, value_delimiter = ',', required = true)]
    pub hosts: Vec<String>,
    /// Hosts per batch (at most 10).
    #[arg(long, default_value_t = 10)]
    pub batch_size: usize,
    /// PAUSE stops after each batch until CONTINUE_ORDER.
    #[arg(long, default_value = "CONTINUE", value_parser = wire(RotationStrategy::ALL, RotationStrategy::as_str))]
    pub rotation: RotationStrategy,
    /// Pause the order when the success rate falls below this (1..100).
    #[arg(long, default_value_t = 100.0)]
    pub success_rate: f64,
    /// Seconds each host may run (5..1800).
    #[arg(long, default_value_t = 300)]
    pub timeout: i64,
    /// A parameter value `NAME=VALUE`; repeatable.
    #[arg(long = "param")]
    pub params: Vec<String>,
    /// Follow the order to its end (the local engine always does: the order runs in this
    /// process). Exits 0 only if it FINISHED.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// List orders (newest first).
    List {
        /// READY, PROCESSING, ABNORMAL, PAUSED, CANCELED or FINISHED.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        marker: Option<i64>,
    },
    /// Show an order: status, why it paused, parameters, statistics.
    Show { execute_uuid: String },
    /// The batches of an order with their instances.
    Batches { execute_uuid: String },
    /// The output of an order's instances (terminal-safe).
    Logs {
        execute_uuid: String,
        /// Only this batch.
        #[arg(long)]
        batch: Option<i64>,
        /// Only this instance id.
        #[arg(long)]
        instance: Option<i64>,
    },
    /// Operate on an order: CANCEL_INSTANCE, RETRY_INSTANCE, SKIP_BATCH, PAUSE_ORDER,
    /// CONTINUE_ORDER, CANCEL_ORDER.
    ///
    /// CONTINUE_ORDER, RETRY_INSTANCE and SKIP_BATCH follow the order to its end and exit 0 only
    /// if it FINISHED with its success threshold met and no instance failed, else 1. PAUSE_ORDER,
    /// CANCEL_ORDER and CANCEL_INSTANCE exit 0 once what they stop has stopped. 2: usage error.
    Op {
        execute_uuid: String,
        #[arg(value_parser = wire(OperationType::ALL, OperationType::as_str))]
        operation: OperationType,
        #[arg(long)]
        batch: Option<i64>,
        #[arg(long)]
        instance: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResourceCmd {
    /// List the instances scripts can run on.
    List {
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

/// Parses a model enum by its wire name; the names are the possible values `--help` lists.
fn wire<T: Copy + Send + Sync + 'static>(
    all: &'static [T],
    name: fn(T) -> &'static str,
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(all.iter().map(|v| name(*v))).map(move |s| {
        *all.iter()
            .find(|v| name(**v) == s)
            .expect("the parser accepts only these names")
    })
}

/// A command's failure, with the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            code: 1,
            message: e.to_string(),
        }
    }
}

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

pub type CliResult = Result<u8, Failure>;

fn print_json<T: Serialize>(v: &T) {
    say!(
        "{}",
        serde_json::to_string_pretty(v).expect("models serialize")
    );
}

pub async fn resource(b: &dyn Backend, cmd: ResourceCmd, out: Output) -> CliResult {
    match cmd {
        ResourceCmd::List { limit } => {
            let list = b
                .list_resources(ListResourcesQuery {
                    provider: Some("ecs".into()),
                    resource_type: Some("cloudservers".into()),
                    limit: Some(limit),
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&Data::new(list)),
                Output::Table => {
                    let mut t = Table::new(&["RESOURCE_ID", "NAME", "TRANSPORT", "REGION", "TAGS"]);
                    for r in &list {
                        t.row(vec![
                            r.resource_id.clone(),
                            r.name.clone(),
                            r.properties
                                .get("transport")
                                .and_then(|v| v.as_str())
                                .unwrap_or("-")
                                .into(),
                            r.region_id.clone().unwrap_or_default(),
                            r.tags
                                .iter()
                                .map(|t| format!("{}={}", t.key, t.value))
                                .collect::<Vec<_>>()
                                .join(","),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
        }
    }
    Ok(0)
}
