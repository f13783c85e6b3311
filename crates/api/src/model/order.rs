//! Script execution and script tickets ("orders"), seed 003 §4.2.6 and §4.3 and seed 004.

use serde::{Deserialize, Serialize};

use super::lenient;
use super::wire_enum;

wire_enum!(RotationStrategy { Continue = "CONTINUE", Pause = "PAUSE" });
wire_enum!(
    /// Status of an order (script ticket).
    OrderStatus {
        Ready = "READY",
        Processing = "PROCESSING",
        Abnormal = "ABNORMAL",
        Error = "ERROR",
        Paused = "PAUSED",
        Canceled = "CANCELED",
        Finished = "FINISHED",
        Rollbacked = "ROLLBACKED",
    }
);
wire_enum!(
    /// Status of one instance (one host) of an order.
    InstanceStatus {
        Ready = "READY",
        Processing = "PROCESSING",
        Abnormal = "ABNORMAL",
        Canceled = "CANCELED",
        Finished = "FINISHED",
        Rollbacked = "ROLLBACKED",
    }
);
wire_enum!(
    /// `operation_type` of `PUT …/orders/{execute_uuid}/operation`. `RETRY_INSTANCE` is in the
    /// seed's example though in neither enum list; it is supported.
    OperationType {
        CancelInstance = "CANCEL_INSTANCE",
        RetryInstance = "RETRY_INSTANCE",
        SkipBatch = "SKIP_BATCH",
        PauseOrder = "PAUSE_ORDER",
        ContinueOrder = "CONTINUE_ORDER",
        CancelOrder = "CANCEL_ORDER",
    }
);

impl OrderStatus {
    /// An order in one of these states never changes again by itself.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Canceled | OrderStatus::Finished | OrderStatus::Rollbacked
        )
    }
}

impl OrderStatus {
    /// The status in words, for people (the code stays in JSON and detail views).
    pub fn words(self) -> &'static str {
        match self {
            OrderStatus::Ready => "ready",
            OrderStatus::Processing => "running",
            OrderStatus::Abnormal => "abnormal",
            OrderStatus::Error => "error",
            OrderStatus::Paused => "paused",
            OrderStatus::Canceled => "canceled",
            OrderStatus::Finished => "finished",
            OrderStatus::Rollbacked => "rolled back",
        }
    }
}

impl InstanceStatus {
    /// The status in words, for people.
    pub fn words(self) -> &'static str {
        match self {
            InstanceStatus::Ready => "waiting",
            InstanceStatus::Processing => "running",
            InstanceStatus::Abnormal => "failed",
            InstanceStatus::Canceled => "canceled",
            InstanceStatus::Finished => "succeeded",
            InstanceStatus::Rollbacked => "rolled back",
        }
    }

    pub fn is_done(self) -> bool {
        !matches!(self, InstanceStatus::Ready | InstanceStatus::Processing)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomAttribute {
    pub key: String,
    pub value: String,
}

/// `ScriptExecuteInputParam`: a parameter value for one execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptExecuteInputParam {
    pub param_name: String,
    #[serde(default)]
    pub param_value: String,
    /// Deprecated in the official SDKs: when left out (0), the script's declared order of the
    /// parameter of that name.
    #[serde(default, deserialize_with = "lenient::i64_or_str")]
    pub param_order: i64,
}

/// Gives each value without a `param_order` the declared order of its parameter (by name).
pub fn order_by_declaration(
    values: &mut [ScriptExecuteInputParam],
    declared: &[crate::model::script::ScriptParamDefine],
) {
    for v in values.iter_mut().filter(|v| v.param_order == 0) {
        if let Some(d) = declared.iter().find(|d| d.param_name == v.param_name) {
            v.param_order = d.param_order;
        }
    }
}

/// `ScriptExecuteParam`: timeout, success-rate threshold, user and parameter values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptExecuteParam {
    #[serde(default = "default_true")]
    pub resourceful: bool,
    #[serde(deserialize_with = "lenient::i64_or_str")]
    pub timeout: i64,
    #[serde(deserialize_with = "lenient::f64_or_str")]
    pub success_rate: f64,
    pub execute_user: String,
    #[serde(default)]
    pub script_params: Vec<ScriptExecuteInputParam>,
}

fn default_true() -> bool {
    true
}

/// `ExecuteResourceInstance`: a target host as the execute call names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecuteResourceInstance {
    pub resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<Vec<CustomAttribute>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_sn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// `ExecuteInstancesBatchInfo`: one batch of the execute call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecuteInstancesBatchInfo {
    #[serde(deserialize_with = "lenient::i64_or_str")]
    pub batch_index: i64,
    pub target_instances: Vec<ExecuteResourceInstance>,
    pub rotation_strategy: RotationStrategy,
}

/// Cuts `hosts` into consecutive batches of `size` (numbered from 1), all with `rotation`.
pub fn batches_of(
    hosts: &[String],
    size: usize,
    rotation: RotationStrategy,
) -> Vec<ExecuteInstancesBatchInfo> {
    let groups: Vec<&[String]> = hosts.chunks(size.max(1)).collect();
    batches_from(&groups, rotation)
}

/// Batches as given: one per group, numbered from 1.
pub fn batches_from(
    groups: &[&[String]],
    rotation: RotationStrategy,
) -> Vec<ExecuteInstancesBatchInfo> {
    groups
        .iter()
        .enumerate()
        .map(|(i, chunk)| ExecuteInstancesBatchInfo {
            batch_index: i as i64 + 1,
            rotation_strategy: rotation,
            target_instances: chunk
                .iter()
                .map(|h| ExecuteResourceInstance {
                    resource_id: h.clone(),
                    ..Default::default()
                })
                .collect(),
        })
        .collect()
}

/// `ScriptExecuteModel`: the body of `POST /v1/job/scripts/{script_uuid}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptExecuteModel {
    pub execute_param: ScriptExecuteParam,
    pub execute_batches: Vec<ExecuteInstancesBatchInfo>,
}

/// `JobScriptOrderInfoProp`. `pause_reason` is cocpit's: why a PAUSED order stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobScriptOrderInfoProp {
    pub script_uuid: String,
    pub script_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_version_uuid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_version_name: Option<String>,
    pub current_execute_batch_index: i64,
    pub execute_param: ScriptExecuteParam,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_reason: Option<String>,
}

/// `JobScriptOrderInfoModel`: `GET /v1/job/script/orders/{execute_uuid}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobScriptOrderInfoModel {
    pub execute_uuid: String,
    pub gmt_created: i64,
    #[serde(default)]
    pub gmt_finished: Option<i64>,
    #[serde(default)]
    pub execute_costs: Option<i64>,
    pub creator: String,
    pub status: OrderStatus,
    pub properties: JobScriptOrderInfoProp,
}

/// `JobScriptBatchListModel`: one row of `GET …/orders/{execute_uuid}/batches`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobScriptBatchListModel {
    pub batch_index: i64,
    pub total_instances: i64,
    pub rotation_strategy: RotationStrategy,
    /// The seed's "batch label", a string; cocpit puts the batch's status here
    /// (`READY`, `PROCESSING`, `FINISHED`, `ABNORMAL`, `SKIPPED`).
    #[serde(default)]
    pub properties: Option<String>,
}

/// `ExectuionStatistic` (sic, the SDK's spelling): instances in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionStatistic {
    pub instance_status: InstanceStatus,
    pub instance_count: i64,
    pub batch_indexes: Vec<i64>,
}

/// `JobScriptOrderStatisticsModel`: `GET …/orders/{execute_uuid}/statistics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobScriptOrderStatisticsModel {
    pub total_instance: i64,
    pub execute_statistics: Vec<ExecutionStatistic>,
}

/// `ResourceInstanceProp`: extra attributes of a target host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceInstanceProp {
    #[serde(default)]
    pub host_name: Option<String>,
    #[serde(default)]
    pub fixed_ip: Option<String>,
    #[serde(default)]
    pub floating_ip: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
    #[serde(default)]
    pub zone_id: Option<String>,
    #[serde(default)]
    pub application: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
}

/// `ResourceInstance`: the host an execution instance ran on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceInstance {
    pub resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub agent_sn: Option<String>,
    #[serde(default)]
    pub agent_status: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub properties: Option<ResourceInstanceProp>,
}

/// `ExectionInstanceModel` (sic): one host of one batch, with its output in `message`.
/// `exit_code` is cocpit's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionInstanceModel {
    pub id: i64,
    pub target_instance: ResourceInstance,
    pub gmt_created: i64,
    #[serde(default)]
    pub gmt_finished: Option<i64>,
    #[serde(default)]
    pub execute_costs: Option<i64>,
    pub status: InstanceStatus,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// cocpit's: which run of the instance this is (1 for the first; a retry is the next), so
    /// a front end can tell an event of an earlier run from one of this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<i64>,
}

/// An instance with the batch it belongs to (the API's instance model does not carry it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchInstance {
    pub batch_index: i64,
    pub instance: ExecutionInstanceModel,
}

/// An order as a console shows it, read at once: the order, its batches and every instance
/// (cocpit's `GET /v1/cocpit/orders/{execute_uuid}/snapshot`; elsewhere composed from the
/// seeds' reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSnapshot {
    pub info: JobScriptOrderInfoModel,
    pub batches: Vec<JobScriptBatchListModel>,
    pub instances: Vec<BatchInstance>,
}

/// `JobScriptBatchDetailModel`: `GET …/orders/{execute_uuid}/batches/{batch_index}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobScriptBatchDetailModel {
    pub batch_index: i64,
    pub total_instances: i64,
    pub execute_instances: Vec<ExecutionInstanceModel>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobScriptOrderListProp {
    #[serde(default)]
    pub region_ids: Option<String>,
    /// cocpit's: the instances counted by what they came to, and the order's threshold, so a
    /// list can show progress and outcome without reading every order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tally: Option<Tally>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<f64>,
}

/// `JobScriptOrderListModel`: one row of `GET /v1/job/script/orders`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobScriptOrderListModel {
    pub order_id: i64,
    pub order_name: String,
    pub execute_uuid: String,
    pub gmt_created: i64,
    #[serde(default)]
    pub gmt_finished: Option<i64>,
    #[serde(default)]
    pub execute_costs: Option<i64>,
    pub creator: String,
    pub status: OrderStatus,
    #[serde(default)]
    pub properties: JobScriptOrderListProp,
}

/// `JobScriptOrderOperationBody`: the body of `PUT …/orders/{execute_uuid}/operation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobScriptOrderOperationBody {
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64_or_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub batch_index: Option<i64>,
    #[serde(
        default,
        deserialize_with = "lenient::opt_i64_or_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub instance_id: Option<i64>,
    pub operation_type: OperationType,
}

/// Query of `GET /v1/job/script/orders`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOrdersQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Query of `GET …/orders/{execute_uuid}/batches/{batch_index}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchDetailQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// cocpit's: a piece of an instance's output as it arrived, whole lines of one stream (only a
/// stream's last line may lack its newline), with the time it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPiece {
    /// Milliseconds since the epoch.
    pub at: i64,
    #[serde(default)]
    pub stderr: bool,
    pub text: String,
}

/// The reason the runner stores when the success rate pauses an order. The numbers are not
/// frozen into it: whoever shows the order states the current ones ([`Tally::threshold_text`]).
pub const BELOW_THRESHOLD: &str = "success rate below threshold";

/// An order's instances counted by what they came to. The success rate is taken over the
/// settled verdicts only: succeeded (FINISHED) and failed (ABNORMAL); canceled instances have
/// no verdict and running ones none yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tally {
    pub total: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub canceled: i64,
    pub running: i64,
    pub waiting: i64,
}

impl Tally {
    pub fn of(statuses: impl IntoIterator<Item = InstanceStatus>) -> Tally {
        let mut t = Tally::default();
        for s in statuses {
            t.add(s, 1);
        }
        t
    }

    pub fn from_statistics(s: &JobScriptOrderStatisticsModel) -> Tally {
        let mut t = Tally::default();
        for st in &s.execute_statistics {
            t.add(st.instance_status, st.instance_count);
        }
        t
    }

    pub fn add(&mut self, s: InstanceStatus, n: i64) {
        self.total += n;
        match s {
            InstanceStatus::Finished => self.succeeded += n,
            InstanceStatus::Abnormal | InstanceStatus::Rollbacked => self.failed += n,
            InstanceStatus::Canceled => self.canceled += n,
            InstanceStatus::Processing => self.running += n,
            InstanceStatus::Ready => self.waiting += n,
        }
    }

    /// Succeeded over settled verdicts, in percent; `None` before any verdict.
    pub fn rate(&self) -> Option<f64> {
        let judged = self.succeeded + self.failed;
        (judged > 0).then(|| self.succeeded as f64 * 100.0 / judged as f64)
    }

    pub fn below(&self, threshold: f64) -> bool {
        self.rate().is_some_and(|r| r < threshold)
    }

    /// `success 67 % below threshold 100 % (1 of 3 failed)`, from the current numbers.
    pub fn threshold_text(&self, threshold: f64) -> String {
        let judged = self.succeeded + self.failed;
        match self.rate() {
            None => format!("no verdict yet (threshold {threshold} %)"),
            Some(r) if r < threshold => format!(
                "success {r:.0} % below threshold {threshold} % ({} of {judged} failed)",
                self.failed
            ),
            Some(r) => format!(
                "success {r:.0} % now meets threshold {threshold} % ({} of {judged} failed)",
                self.failed
            ),
        }
    }
}

/// What an order came to, in words, and whether that is a success: FINISHED with its
/// threshold met and no instance failed. Everything else (failures, a threshold unmet, paused,
/// canceled, still running) is not, so neither a green mark nor exit code 0 can follow it.
pub fn outcome(status: OrderStatus, threshold: f64, t: &Tally) -> (String, bool) {
    let rate = t
        .rate()
        .map(|r| format!("success {r:.0} %"))
        .unwrap_or_else(|| "no verdict".into());
    match status {
        OrderStatus::Finished if t.failed == 0 => {
            let skipped = if t.canceled > 0 {
                format!(" · {} canceled", t.canceled)
            } else {
                String::new()
            };
            (
                format!(
                    "finished · {} of {} succeeded{skipped}",
                    t.succeeded, t.total
                ),
                true,
            )
        }
        OrderStatus::Finished => {
            let cmp = if t.below(threshold) { "<" } else { "≥" };
            (
                format!(
                    "finished · {} of {} failed · {rate} {cmp} {threshold} %",
                    t.failed, t.total
                ),
                false,
            )
        }
        OrderStatus::Canceled => (
            format!(
                "canceled · {} succeeded, {} failed, {} canceled",
                t.succeeded, t.failed, t.canceled
            ),
            false,
        ),
        OrderStatus::Paused => (format!("paused · {rate}"), false),
        s => (format!("{} · {rate}", s.as_str().to_lowercase()), false),
    }
}

#[cfg(test)]
mod outcome_tests {
    use super::*;
    use InstanceStatus as I;

    #[test]
    fn every_host_failed_is_a_failure_even_when_finished() {
        let t = Tally::of([I::Abnormal; 8]);
        let (text, ok) = outcome(OrderStatus::Finished, 100.0, &t);
        assert!(!ok);
        assert_eq!(text, "finished · 8 of 8 failed · success 0 % < 100 %");
    }

    #[test]
    fn a_clean_finish_is_a_success_and_canceled_hosts_are_named() {
        let t = Tally::of([I::Finished, I::Finished, I::Canceled]);
        let (text, ok) = outcome(OrderStatus::Finished, 100.0, &t);
        assert!(ok);
        assert_eq!(text, "finished · 2 of 3 succeeded · 1 canceled");
        assert!(!outcome(OrderStatus::Canceled, 100.0, &t).1);
        assert!(!outcome(OrderStatus::Paused, 100.0, &t).1);
    }

    #[test]
    fn the_threshold_text_tells_the_current_numbers() {
        let t = Tally::of([
            I::Abnormal,
            I::Finished,
            I::Finished,
            I::Finished,
            I::Processing,
        ]);
        assert_eq!(
            t.threshold_text(100.0),
            "success 75 % below threshold 100 % (1 of 4 failed)"
        );
        assert_eq!(t.running, 1);
        let all_failed = Tally::of([I::Abnormal; 8]);
        assert_eq!(
            all_failed.threshold_text(100.0),
            "success 0 % below threshold 100 % (8 of 8 failed)"
        );
    }
}
