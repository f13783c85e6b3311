//! Rows of the store turned into the API's models: the one place that decides how stored state
//! looks on the wire (masking sensitive values, composing an instance's message).

use crate::settings::{Host, TransportKind};
use cocpit_api::model::order::*;
use cocpit_api::model::resource::{Resource, Tag};
use cocpit_api::model::script::{ScriptDetailModel, ScriptListModel};

use super::output::{MASK, truncation_marker};
use super::store::{BatchRow, InstanceRow, OrderRow, ScriptRow};

pub const REGION: &str = "local";

/// A host's region: the configured one, or `local`.
pub fn region_of(h: &Host) -> String {
    h.region_id.clone().unwrap_or_else(|| REGION.into())
}

pub fn host_name(h: &Host) -> String {
    h.name.clone().unwrap_or_else(|| h.id.clone())
}

/// A host as the resource API shows it; `reach` is what is known of its reachability
/// (`agent_state` ONLINE or OFFLINE with ssh's reason in `properties.unreachable`).
pub fn resource(h: &Host, reach: Option<Result<(), String>>) -> Resource {
    let mut properties = serde_json::Map::new();
    if let Some(Err(why)) = &reach {
        properties.insert("unreachable".into(), why.clone().into());
    }
    properties.insert(
        "transport".into(),
        match h.transport {
            TransportKind::Local => "local",
            TransportKind::Ssh => "ssh",
        }
        .into(),
    );
    if let Some(d) = &h.destination {
        properties.insert("destination".into(), d.clone().into());
    }
    Resource {
        id: h.id.clone(),
        resource_id: h.id.clone(),
        name: host_name(h),
        provider: "ecs".into(),
        resource_type: "cloudservers".into(),
        project_id: None,
        region_id: Some(region_of(h)),
        ep_id: None,
        tags: h
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        properties,
        agent_id: Some(format!("agent-{}", h.id).chars().take(32).collect()),
        agent_state: reach.map(|r| if r.is_ok() { "ONLINE" } else { "OFFLINE" }.into()),
        inner_ip: h
            .transport
            .eq(&TransportKind::Local)
            .then(|| "127.0.0.1".into()),
    }
}

/// The target as an order stores it: the host's attributes plus what the caller named.
pub fn resource_instance(h: &Host, t: &ExecuteResourceInstance) -> ResourceInstance {
    ResourceInstance {
        resource_id: h.id.clone(),
        provider: Some("ecs".into()),
        region_id: t.region_id.clone(),
        resource_type: Some("cloudservers".into()),
        agent_sn: t.agent_sn.clone(),
        agent_status: Some("ONLINE".into()),
        project_id: t.project_id.clone(),
        properties: Some(ResourceInstanceProp {
            host_name: Some(host_name(h)),
            fixed_ip: h
                .transport
                .eq(&TransportKind::Local)
                .then(|| "127.0.0.1".into()),
            region_id: Some(region_of(h)),
            ..Default::default()
        }),
    }
}

pub fn script_list(s: ScriptRow) -> ScriptListModel {
    ScriptListModel {
        id: s.id,
        script_uuid: s.script_uuid,
        name: s.name,
        script_type: s.script_type,
        status: s.status,
        gmt_created: s.gmt_created,
        gmt_modified: s.gmt_modified,
        creator: s.creator,
        creator_id: s.creator_id,
        operator: s.operator,
        properties: s.properties,
        enterprise_project_id: s.enterprise_project_id,
    }
}

/// A script as the API shows it: the defaults of sensitive parameters masked.
pub fn script_detail(mut s: ScriptRow) -> ScriptDetailModel {
    for p in s.script_params.iter_mut().filter(|p| p.sensitive) {
        p.param_value = MASK.into();
    }
    ScriptDetailModel {
        script_uuid: s.script_uuid,
        name: s.name,
        version: s.properties.version.clone(),
        description: s.description,
        script_type: s.script_type,
        content: s.content,
        script_params: s.script_params,
        status: s.status,
        gmt_created: s.gmt_created,
        gmt_modified: s.gmt_modified,
        creator: s.creator,
        creator_id: s.creator_id,
        operator: s.operator,
        properties: s.properties,
        enterprise_project_id: s.enterprise_project_id,
    }
}

/// The execution parameters with the values of sensitive parameters masked.
pub fn masked_param(o: &OrderRow) -> ScriptExecuteParam {
    let mut p = o.execute_param.clone();
    for sp in &mut p.script_params {
        if o.script_params
            .iter()
            .any(|d| d.param_name == sp.param_name && d.sensitive)
        {
            sp.param_value = MASK.into();
        }
    }
    p
}

pub fn costs(created: Option<i64>, finished: Option<i64>) -> Option<i64> {
    Some(finished? - created?)
}

/// The order as the API shows it. A pause on the success rate is told with the current numbers
/// (`tally`), not those of the moment it paused.
pub fn order_info(o: OrderRow, tally: &Tally) -> JobScriptOrderInfoModel {
    let pause_reason = match o.pause_reason.as_deref() {
        Some(BELOW_THRESHOLD) => Some(tally.threshold_text(o.execute_param.success_rate)),
        _ => o.pause_reason.clone(),
    };
    JobScriptOrderInfoModel {
        execute_uuid: o.execute_uuid.clone(),
        gmt_created: o.gmt_created,
        gmt_finished: o.gmt_finished,
        execute_costs: costs(Some(o.gmt_created), o.gmt_finished),
        creator: o.creator.clone(),
        status: o.status,
        properties: JobScriptOrderInfoProp {
            script_uuid: o.script_uuid.clone(),
            script_name: o.script_name.clone(),
            script_version_uuid: None,
            script_version_name: Some(o.script_version.clone()),
            current_execute_batch_index: o.current_batch,
            execute_param: masked_param(&o),
            script_source: Some("CUSTOM_SCRIPT".into()),
            pause_reason,
        },
    }
}

pub fn order_list(o: OrderRow, tally: Tally) -> JobScriptOrderListModel {
    JobScriptOrderListModel {
        order_id: o.id,
        order_name: o.script_name,
        execute_uuid: o.execute_uuid,
        gmt_created: o.gmt_created,
        gmt_finished: o.gmt_finished,
        execute_costs: costs(Some(o.gmt_created), o.gmt_finished),
        creator: o.creator,
        status: o.status,
        properties: JobScriptOrderListProp {
            region_ids: Some(o.region_ids),
            tally: Some(tally),
            success_rate: Some(o.execute_param.success_rate),
        },
    }
}

/// A batch's status, derived from its instances (the seed's free-form batch label).
pub fn batch_status(b: &BatchRow, insts: &[InstanceRow]) -> &'static str {
    batch_status_counted(b, |status| {
        insts
            .iter()
            .filter(|i| i.batch_index == b.batch_index && i.status == status)
            .count() as i64
    })
}

/// [`batch_status`] from how many of the batch's instances are in each status.
pub fn batch_status_counted(b: &BatchRow, count: impl Fn(InstanceStatus) -> i64) -> &'static str {
    use InstanceStatus::*;
    let total: i64 = InstanceStatus::ALL.iter().map(|s| count(*s)).sum();
    if b.skipped {
        "SKIPPED"
    } else if count(Processing) > 0 {
        "PROCESSING"
    } else if count(Ready) == total {
        "READY"
    } else if count(Ready) > 0 {
        "PROCESSING"
    } else if count(Abnormal) > 0 {
        "ABNORMAL"
    } else if count(Canceled) == total {
        "CANCELED"
    } else {
        "FINISHED"
    }
}

pub fn batch(b: &BatchRow, insts: &[InstanceRow]) -> JobScriptBatchListModel {
    JobScriptBatchListModel {
        batch_index: b.batch_index,
        total_instances: insts
            .iter()
            .filter(|i| i.batch_index == b.batch_index)
            .count() as i64,
        rotation_strategy: b.rotation_strategy,
        properties: Some(batch_status(b, insts).into()),
    }
}

pub fn statistics(insts: &[InstanceRow]) -> JobScriptOrderStatisticsModel {
    use InstanceStatus::*;
    let execute_statistics = [Ready, Processing, Abnormal, Canceled, Finished]
        .into_iter()
        .map(|s| {
            let of: Vec<_> = insts.iter().filter(|i| i.status == s).collect();
            let mut batch_indexes: Vec<i64> = of.iter().map(|i| i.batch_index).collect();
            batch_indexes.sort_unstable();
            batch_indexes.dedup();
            ExecutionStatistic {
                instance_status: s,
                instance_count: of.len() as i64,
                batch_indexes,
            }
        })
        .collect();
    JobScriptOrderStatisticsModel {
        total_instance: insts.len() as i64,
        execute_statistics,
    }
}

/// The instance's `message`: its output, then a truncation marker and the reason it ended.
pub fn message(i: &InstanceRow, output: &[u8], cap: usize) -> String {
    let mut m = String::from_utf8_lossy(output).into_owned();
    if i.dropped_bytes > 0 {
        m.push_str(&truncation_marker(cap, i.dropped_bytes));
    }
    if let Some(r) = &i.reason {
        if !m.is_empty() && !m.ends_with('\n') {
            m.push('\n');
        }
        m.push_str(&format!("[cocpit] {r}"));
    }
    m
}

/// What `message` has after the output: the truncation marker and the reason it ended.
pub fn message_tail(i: &InstanceRow, output: &[u8], cap: usize) -> String {
    let output_len = String::from_utf8_lossy(output).len();
    message(i, output, cap).split_off(output_len)
}

pub fn execution_instance(i: &InstanceRow, output: &[u8], cap: usize) -> ExecutionInstanceModel {
    ExecutionInstanceModel {
        id: i.id,
        target_instance: serde_json::from_str(&i.target).unwrap_or_else(|_| ResourceInstance {
            resource_id: i.resource_id.clone(),
            ..Default::default()
        }),
        gmt_created: i.gmt_created,
        gmt_finished: i.gmt_finished,
        execute_costs: costs(i.gmt_started, i.gmt_finished),
        status: i.status,
        message: message(i, output, cap),
        exit_code: i.exit_code,
        attempt: Some(i.attempt),
    }
}
