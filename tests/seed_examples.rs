//! Every example payload of the seeds round-trips through the model types: parsing keeps every
//! value the example carries, and serializing then parsing again gives the same value.

use cocpit::model::order::*;
use cocpit::model::script::*;
use cocpit::model::{ApiError, Data, Page};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/seed_examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every non-null value of `orig` is in `back` (numbers given as strings compare as numbers).
fn covers(orig: &Value, back: &Value, path: &str) {
    match (orig, back) {
        (Value::Null, _) => {}
        (Value::Object(o), Value::Object(b)) => {
            for (k, v) in o {
                let p = format!("{path}.{k}");
                match b.get(k) {
                    Some(bv) => covers(v, bv, &p),
                    None => assert!(v.is_null(), "{p} was dropped (was {v})"),
                }
            }
        }
        (Value::Array(o), Value::Array(b)) => {
            assert_eq!(o.len(), b.len(), "{path}: array length");
            for (i, (x, y)) in o.iter().zip(b).enumerate() {
                covers(x, y, &format!("{path}[{i}]"));
            }
        }
        (Value::String(s), Value::Number(n)) => {
            let a: f64 = s
                .parse()
                .unwrap_or_else(|_| panic!("{path}: {s:?} is not a number"));
            assert_eq!(Some(a), n.as_f64(), "{path}");
        }
        (Value::Number(a), Value::Number(b)) => assert_eq!(a.as_f64(), b.as_f64(), "{path}"),
        (a, b) => assert_eq!(a, b, "{path}"),
    }
}

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(name: &str) -> T {
    let orig = load(name);
    let parsed: T = serde_json::from_value(orig.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&parsed).unwrap();
    covers(&orig, &back, name);
    let again: T = serde_json::from_value(back).unwrap();
    assert_eq!(parsed, again, "{name}: serialize → parse changed the value");
    parsed
}

#[test]
fn create_script_request() {
    let s: AddScriptModel = round_trip("create_script_request.json");
    assert_eq!(s.script_type, ScriptType::Shell);
    assert_eq!(s.properties.risk_level, RiskLevel::High);
    assert_eq!(s.properties.protocol, Some(Protocol::Wechat));
    assert!(s.script_params.unwrap()[0].sensitive);
}

#[test]
fn create_and_execute_responses_and_errors() {
    let r: Data<String> = round_trip("create_script_response.json");
    assert_eq!(r.data.len(), 25);
    let r: Data<String> = round_trip("execute_script_response.json");
    assert_eq!(r.data.len(), 26);
    let e: ApiError = round_trip("create_script_error.json");
    assert_eq!(e.error_code, "COC.00040701");
}

#[test]
fn modify_script_request_keeps_name_and_type() {
    let e: EditScriptModel = round_trip("modify_script_request.json");
    assert_eq!(e.name.as_deref(), Some("019101112"));
    assert_eq!(e.properties.unwrap().reviewers, Some(vec![]));
}

#[test]
fn execute_request_accepts_success_rate_as_string() {
    let e: ScriptExecuteModel = round_trip("execute_script_request.json");
    assert_eq!(e.execute_param.success_rate, 100.0);
    assert_eq!(
        e.execute_batches[0].rotation_strategy,
        RotationStrategy::Continue
    );
    assert_eq!(
        e.execute_batches[0].target_instances[0]
            .agent_status
            .as_deref(),
        Some("ONLINE")
    );
}

#[test]
fn order_info_statistics_batch_detail_and_list() {
    let o: Data<JobScriptOrderInfoModel> = round_trip("order_info_response.json");
    assert_eq!(o.data.status, OrderStatus::Canceled);
    let s: Data<JobScriptOrderStatisticsModel> = round_trip("statistics_response.json");
    assert_eq!(s.data.execute_statistics[3].batch_indexes, vec![1]);
    let b: Data<JobScriptBatchDetailModel> = round_trip("batch_detail_response.json");
    assert_eq!(b.data.execute_instances[0].id, 1588);
    let l: Data<Page<JobScriptOrderListModel>> = round_trip("order_list_response.json");
    assert_eq!(l.data.total, 222);
    assert_eq!(l.data.data[2].gmt_finished, None);
}

#[test]
fn operation_request_accepts_batch_index_as_string() {
    let op: JobScriptOrderOperationBody = round_trip("operation_request.json");
    assert_eq!(op.batch_index, Some(1));
    assert_eq!(op.operation_type, OperationType::RetryInstance);
}

#[test]
fn unknown_enum_value_names_the_allowed_ones() {
    let mut v = load("create_script_request.json");
    v["properties"]["risk_level"] = "EXTREME".into();
    let err = serde_json::from_value::<AddScriptModel>(v)
        .unwrap_err()
        .to_string();
    assert!(err.contains("LOW") && err.contains("HIGH"), "{err}");
}
