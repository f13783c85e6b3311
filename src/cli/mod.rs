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

pub mod check;
mod ops;
mod table;
mod triage;

pub use ops::{AgentCmd, DesktopCmd, InvokerCmd, agent, desktop, invoker};
pub use triage::{AlarmCmd, IncidentCmd, alarm, incident};

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::backend::{Error, prelude::*};
use crate::model::Data;
use crate::model::order::*;
use crate::model::resource::ListResourcesQuery;
use crate::model::script::*;
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

fn read_content(path: &PathBuf) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| fail(format!("stdin: {e}")))
    } else {
        std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))
    }
}

fn split_param(s: &str) -> Result<(&str, &str), Failure> {
    s.split_once('=')
        .ok_or_else(|| fail(format!("--param {s:?}: expected NAME=VALUE")))
}

pub async fn script(b: &dyn Backend, cmd: ScriptCmd, out: Output) -> CliResult {
    match cmd {
        ScriptCmd::List {
            name_like,
            risk_level,
            script_type,
            limit,
            marker,
        } => {
            let page = b
                .list_scripts(ListScriptsQuery {
                    limit: Some(limit),
                    marker,
                    name_like,
                    risk_level,
                    script_type,
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&Data::new(page)),
                Output::Table => {
                    let mut t = Table::new(&[
                        "ID",
                        "SCRIPT_UUID",
                        "NAME",
                        "TYPE",
                        "RISK",
                        "VERSION",
                        "UPDATED",
                    ]);
                    for s in &page.data {
                        t.row(vec![
                            s.id.to_string(),
                            s.script_uuid.clone(),
                            s.name.clone(),
                            s.script_type.to_string(),
                            s.properties.risk_level.to_string(),
                            s.properties.version.clone(),
                            time(s.gmt_modified),
                        ]);
                    }
                    print!("{}", t.render());
                    say!("{} of {} scripts", page.data.len(), page.total);
                }
            }
        }
        ScriptCmd::Show { script_uuid } => {
            let s = b.get_script(&script_uuid).await?;
            match out {
                Output::Json => print_json(&Data::new(s)),
                Output::Table => {
                    say!(
                        "{}  {}  ({})",
                        s.script_uuid,
                        for_display(&s.name),
                        s.script_type
                    );
                    say!(
                        "risk {}  version {}  status {}",
                        s.properties.risk_level,
                        s.properties.version,
                        s.status
                    );
                    say!("description: {}", for_display(&s.description));
                    say!(
                        "created {} by {}, modified {} by {}",
                        time(s.gmt_created),
                        s.creator,
                        time(s.gmt_modified),
                        s.operator
                    );
                    if !s.script_params.is_empty() {
                        let mut t =
                            Table::new(&["ORDER", "PARAM", "DEFAULT", "SENSITIVE", "DESCRIPTION"]);
                        for p in &s.script_params {
                            t.row(vec![
                                p.param_order.to_string(),
                                p.param_name.clone(),
                                if p.sensitive {
                                    crate::engine::output::MASK.into()
                                } else {
                                    p.param_value.clone()
                                },
                                if p.sensitive { "yes" } else { "no" }.into(),
                                p.param_description.clone(),
                            ]);
                        }
                        print!("{}", t.render());
                    }
                    say!("---");
                    print!("{}", for_display(&s.content));
                    if !s.content.ends_with('\n') {
                        say!();
                    }
                }
            }
        }
        ScriptCmd::Create(a) => {
            let content = read_content(&a.file)?;
            let mut params = vec![];
            for (i, p) in a.params.iter().enumerate() {
                let (name, value) = split_param(p)?;
                let (name, sensitive) = match name.strip_suffix(":sensitive") {
                    Some(n) => (n, true),
                    None => (name, false),
                };
                params.push(ScriptParamDefine {
                    param_name: name.into(),
                    param_value: value.into(),
                    param_description: String::new(),
                    param_order: i as i64 + 1,
                    sensitive,
                });
            }
            let uuid = b
                .create_script(AddScriptModel {
                    name: a.name,
                    description: a.description,
                    script_type: a.script_type,
                    content,
                    properties: ScriptPropertiesModel {
                        risk_level: a.risk_level,
                        version: a.version,
                        reviewers: None,
                        protocol: None,
                    },
                    script_params: Some(params),
                    enterprise_project_id: None,
                })
                .await?;
            match out {
                Output::Json => print_json(&Data::new(uuid)),
                Output::Table => say!("{uuid}"),
            }
        }
        ScriptCmd::Edit(a) => {
            let cur = b.get_script(&a.script_uuid).await?;
            let content = match &a.file {
                Some(f) => read_content(f)?,
                None => cur.content,
            };
            let mut props = cur.properties;
            if let Some(v) = a.version {
                props.version = v;
            }
            if let Some(r) = a.risk_level {
                props.risk_level = r;
            }
            let uuid = b
                .update_script(
                    &a.script_uuid,
                    EditScriptModel {
                        description: a.description.unwrap_or(cur.description),
                        content,
                        properties: Some(props),
                        script_params: Some(cur.script_params),
                        name: None,
                        script_type: None,
                    },
                )
                .await?;
            match out {
                Output::Json => print_json(&Data::new(uuid)),
                Output::Table => say!("{uuid}"),
            }
        }
        ScriptCmd::Delete { script_uuid } => {
            let uuid = b.delete_script(&script_uuid).await?;
            match out {
                Output::Json => print_json(&Data::new(uuid)),
                Output::Table => say!("deleted {uuid}"),
            }
        }
        ScriptCmd::Run(a) => return run(b, a, out).await,
    }
    Ok(0)
}

async fn run(b: &dyn Backend, a: RunArgs, out: Output) -> CliResult {
    let script = b.get_script(&a.script_uuid).await?;
    let values = a
        .params
        .iter()
        .map(|p| split_param(p).map(|(n, v)| (n.to_string(), v.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let plan = crate::plan::Plan {
        hosts: &a.hosts,
        batch_size: a.batch_size,
        groups: &[],
        known: &|_| true,
        rotation: a.rotation,
        success_rate: a.success_rate,
        timeout: a.timeout,
        declared: &script.script_params,
        values: &values,
    };
    let body = plan.body().map_err(fail)?;
    let eid = b.execute_script(&a.script_uuid, body).await?;
    if !a.wait && b.subscribe().is_none() {
        match out {
            Output::Json => print_json(&Data::new(&eid)),
            Output::Table => say!("{eid}"),
        }
        return Ok(0);
    }
    eprintln!("order {eid} started");
    follow(b, &eid, out).await
}

/// Waits for a status change of the order, then takes every event already queued, so a burst
/// of changes costs one re-read instead of one per event.
async fn wait_for_change(
    rx: &mut tokio::sync::broadcast::Receiver<crate::engine::Change>,
    eid: &str,
) -> Result<(), Failure> {
    use crate::engine::Change;
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    let relevant =
        |e: &Change| e.execute_uuid() == Some(eid) && !matches!(e, Change::Output { .. });
    loop {
        match rx.recv().await {
            Ok(e) if relevant(&e) => break,
            Ok(_) => continue,
            Err(RecvError::Lagged(_)) => break,
            Err(RecvError::Closed) => return Err(fail("the engine stopped")),
        }
    }
    loop {
        match rx.try_recv() {
            Ok(_) | Err(TryRecvError::Lagged(_)) => continue,
            Err(TryRecvError::Empty) => return Ok(()),
            Err(TryRecvError::Closed) => return Err(fail("the engine stopped")),
        }
    }
}

/// Follows an order until it settles (ended, or paused with nothing running), printing
/// progress on stderr, and exits by what it came to: 0 only when it FINISHED with its
/// threshold met and no instance failed ([`outcome`]); 1 for failures, an unmet threshold, a
/// pause or a cancel.
pub async fn follow(b: &dyn Backend, eid: &str, out: Output) -> CliResult {
    let (o, ok) = settle(b, eid).await?;
    print_settled(&o, out);
    Ok(if ok { 0 } else { 1 })
}

fn print_settled(o: &JobScriptOrderInfoModel, out: Output) {
    match out {
        Output::Json => print_json(&Data::new(o)),
        Output::Table => say!("{} {}", o.execute_uuid, o.status),
    }
}

/// Waits until the order settles; returns it and whether its outcome is a success.
async fn settle(b: &dyn Backend, eid: &str) -> Result<(JobScriptOrderInfoModel, bool), Failure> {
    let mut events = b.subscribe();
    let mut last = String::new();
    loop {
        let o = b.get_order(eid).await?;
        let t = Tally::from_statistics(&b.statistics(eid).await?);
        let line = format!(
            "{} batch {} | {} finished, {} failed, {} running, {} waiting, {} canceled of {}",
            o.status,
            o.properties.current_execute_batch_index,
            t.succeeded,
            t.failed,
            t.running,
            t.waiting,
            t.canceled,
            t.total
        );
        if line != last {
            eprintln!("{line}");
            last = line;
        }
        if o.status != OrderStatus::Processing && t.running == 0 {
            if let Some(why) = &o.properties.pause_reason {
                eprintln!("paused: {}", for_display(why));
                eprintln!("continue with: cocpit order op {eid} CONTINUE_ORDER");
            }
            let (text, ok) = outcome(o.status, o.properties.execute_param.success_rate, &t);
            eprintln!("{} {text}", if ok { "✔" } else { "✘" });
            return Ok((o, ok));
        }
        match events.as_mut() {
            Some(rx) => wait_for_change(rx, eid).await?,
            None => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
        }
    }
}

pub async fn order(b: &dyn Backend, cmd: OrderCmd, out: Output) -> CliResult {
    match cmd {
        OrderCmd::List {
            status,
            limit,
            marker,
        } => {
            let page = b
                .list_orders(ListOrdersQuery {
                    limit: Some(limit),
                    marker,
                    status,
                    ..Default::default()
                })
                .await?;
            match out {
                Output::Json => print_json(&Data::new(page)),
                Output::Table => {
                    let mut t = Table::new(&[
                        "ORDER_ID",
                        "EXECUTE_UUID",
                        "SCRIPT",
                        "STATUS",
                        "CREATED",
                        "DURATION",
                    ]);
                    for o in &page.data {
                        t.row(vec![
                            o.order_id.to_string(),
                            o.execute_uuid.clone(),
                            o.order_name.clone(),
                            o.status.to_string(),
                            time(o.gmt_created),
                            duration(o.execute_costs),
                        ]);
                    }
                    print!("{}", t.render());
                    say!("{} of {} orders", page.data.len(), page.total);
                }
            }
        }
        OrderCmd::Show { execute_uuid } => {
            let o = b.get_order(&execute_uuid).await?;
            let stats = b.statistics(&execute_uuid).await?;
            match out {
                Output::Json => print_json(&Data::new(o)),
                Output::Table => {
                    let p = &o.properties;
                    say!(
                        "{}  {}  script {} ({})",
                        o.execute_uuid,
                        o.status,
                        for_display(&p.script_name),
                        p.script_uuid
                    );
                    if let Some(why) = &p.pause_reason {
                        say!("paused: {}", for_display(why));
                    }
                    say!(
                        "batch {}  timeout {} s  success threshold {} %  created {}  finished {}",
                        p.current_execute_batch_index,
                        p.execute_param.timeout,
                        p.execute_param.success_rate,
                        time(o.gmt_created),
                        opt_time(o.gmt_finished)
                    );
                    for sp in &p.execute_param.script_params {
                        say!("  {} = {}", sp.param_name, for_display(&sp.param_value));
                    }
                    let mut t = Table::new(&["STATUS", "INSTANCES", "BATCHES"]);
                    for s in &stats.execute_statistics {
                        t.row(vec![
                            s.instance_status.to_string(),
                            s.instance_count.to_string(),
                            s.batch_indexes
                                .iter()
                                .map(|i| i.to_string())
                                .collect::<Vec<_>>()
                                .join(","),
                        ]);
                    }
                    print!("{}", t.render());
                }
            }
        }
        OrderCmd::Batches { execute_uuid } => {
            let batches = b.list_batches(&execute_uuid).await?;
            match out {
                Output::Json => print_json(&Data::new(batches)),
                Output::Table => {
                    let mut t = Table::new(&[
                        "BATCH", "STATUS", "ROTATION", "INSTANCE", "HOST", "STATE", "EXIT",
                        "DURATION",
                    ]);
                    for batch in &batches {
                        let detail = b
                            .get_batch(
                                &execute_uuid,
                                batch.batch_index,
                                BatchDetailQuery {
                                    limit: Some(100),
                                    ..Default::default()
                                },
                            )
                            .await?;
                        for i in &detail.execute_instances {
                            t.row(vec![
                                batch.batch_index.to_string(),
                                batch.properties.clone().unwrap_or_default(),
                                batch.rotation_strategy.to_string(),
                                i.id.to_string(),
                                i.target_instance.resource_id.clone(),
                                i.status.to_string(),
                                i.exit_code
                                    .map(|c| c.to_string())
                                    .unwrap_or_else(|| "-".into()),
                                duration(i.execute_costs),
                            ]);
                        }
                    }
                    print!("{}", t.render());
                }
            }
        }
        OrderCmd::Logs {
            execute_uuid,
            batch,
            instance,
        } => {
            let batches = b.list_batches(&execute_uuid).await?;
            let mut all = vec![];
            for bl in batches
                .iter()
                .filter(|x| batch.is_none_or(|w| w == x.batch_index))
            {
                let d = b
                    .get_batch(
                        &execute_uuid,
                        bl.batch_index,
                        BatchDetailQuery {
                            limit: Some(100),
                            ..Default::default()
                        },
                    )
                    .await?;
                all.extend(
                    d.execute_instances
                        .into_iter()
                        .filter(|i| instance.is_none_or(|w| w == i.id))
                        .map(|i| (bl.batch_index, i)),
                );
            }
            if instance.is_some() && all.is_empty() {
                return Err(fail(format!(
                    "order {execute_uuid} has no instance {}",
                    instance.unwrap_or_default()
                )));
            }
            match out {
                Output::Json => {
                    print_json(&Data::new(all.iter().map(|(_, i)| i).collect::<Vec<_>>()))
                }
                Output::Table => {
                    for (bi, i) in &all {
                        say!(
                            "==> batch {bi} instance {} {} [{}] <==",
                            i.id,
                            i.target_instance.resource_id,
                            i.status
                        );
                        let text = for_display(&i.message);
                        print!("{text}");
                        if !text.is_empty() && !text.ends_with('\n') {
                            say!();
                        }
                    }
                }
            }
        }
        OrderCmd::Op {
            execute_uuid,
            operation,
            batch,
            instance,
        } => {
            b.operate(
                &execute_uuid,
                JobScriptOrderOperationBody {
                    batch_index: batch,
                    instance_id: instance,
                    operation_type: operation,
                },
            )
            .await?;
            // Operations that let the order go on are followed to its end and exit by its
            // outcome; those that stop something exit 0 once it is stopped. (In process, the
            // order runs only while this command does, so it is followed either way.)
            let goes_on = matches!(
                operation,
                OperationType::ContinueOrder
                    | OperationType::RetryInstance
                    | OperationType::SkipBatch
            );
            if b.subscribe().is_some() {
                eprintln!("{operation} accepted");
                if goes_on {
                    return follow(b, &execute_uuid, out).await;
                }
                let (o, _) = settle(b, &execute_uuid).await?;
                print_settled(&o, out);
                return Ok(0);
            }
            match out {
                Output::Json => print_json(&Data::new(&execute_uuid)),
                Output::Table => say!("{operation} accepted for {execute_uuid}"),
            }
        }
    }
    Ok(0)
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
