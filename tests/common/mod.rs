//! Helpers shared by the integration tests: engines on real hosts, scripts, and waiting on the
//! engine's events (never on fixed delays).
#![allow(dead_code)]

pub mod faults;
pub mod sdk;
pub mod server;
pub mod sshd;
pub mod tmux;
pub mod transports;
pub mod tui;

use std::time::Duration;

use cocpit::config::{Config, Host};
use cocpit::engine::Engine;
use cocpit::model::order::*;
use cocpit::model::script::*;

/// Upper bound on any wait: a hang fails the test instead of blocking CI.
pub const PATIENCE: Duration = Duration::from_secs(90);

pub fn engine_on(hosts: Vec<Host>) -> Engine {
    let mut cfg = Config::default();
    cfg.inventory.hosts = hosts;
    Engine::in_memory(&cfg.engine_setup()).unwrap()
}

pub fn demo_engine(n: usize) -> Engine {
    engine_on(
        (1..=n)
            .map(|i| Host::local(&format!("demo-{i:02}")))
            .collect(),
    )
}

pub fn param(name: &str, value: &str, order: i64, sensitive: bool) -> ScriptParamDefine {
    ScriptParamDefine {
        param_name: name.into(),
        param_value: value.into(),
        param_description: String::new(),
        param_order: order,
        sensitive,
    }
}

pub fn create(e: &Engine, name: &str, content: &str, params: Vec<ScriptParamDefine>) -> String {
    create_typed(e, name, ScriptType::Shell, content, params)
}

pub fn create_typed(
    e: &Engine,
    name: &str,
    script_type: ScriptType,
    content: &str,
    params: Vec<ScriptParamDefine>,
) -> String {
    let s = AddScriptModel {
        script_type,
        script_params: Some(params),
        ..script_model(name, content)
    };
    e.create_script(s, &"test".into()).unwrap()
}

/// A LOW-risk shell script without parameters, as the API takes it.
pub fn script_model(name: &str, content: &str) -> AddScriptModel {
    AddScriptModel::shell(name, "test", content)
}

/// Batches of host ids, each with a rotation strategy.
pub fn plan(
    batches: &[(&[&str], RotationStrategy)],
    params: &[(&str, &str)],
    timeout: i64,
    success_rate: f64,
) -> ScriptExecuteModel {
    ScriptExecuteModel {
        execute_param: ScriptExecuteParam {
            resourceful: true,
            timeout,
            success_rate,
            execute_user: "root".into(),
            script_params: params
                .iter()
                .enumerate()
                .map(|(i, (n, v))| ScriptExecuteInputParam {
                    param_name: n.to_string(),
                    param_value: v.to_string(),
                    param_order: i as i64 + 1,
                })
                .collect(),
        },
        execute_batches: batches
            .iter()
            .enumerate()
            .map(|(i, (hosts, rot))| ExecuteInstancesBatchInfo {
                batch_index: i as i64 + 1,
                rotation_strategy: *rot,
                target_instances: hosts
                    .iter()
                    .map(|h| ExecuteResourceInstance {
                        resource_id: h.to_string(),
                        ..Default::default()
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The order and all its instances, as the API shows them.
pub struct Snapshot {
    pub order: JobScriptOrderInfoModel,
    pub instances: Vec<ExecutionInstanceModel>,
}

impl Snapshot {
    pub fn on(&self, host: &str) -> &ExecutionInstanceModel {
        self.instances
            .iter()
            .find(|i| i.target_instance.resource_id == host)
            .unwrap_or_else(|| panic!("no instance on {host}"))
    }
}

pub fn snapshot(e: &Engine, eid: &str) -> Snapshot {
    let order = e.get_order(eid).unwrap();
    let mut instances = vec![];
    for b in e.list_batches(eid).unwrap() {
        let q = BatchDetailQuery {
            limit: Some(100),
            ..Default::default()
        };
        instances.extend(
            e.get_batch(eid, b.batch_index, &q)
                .unwrap()
                .execute_instances,
        );
    }
    Snapshot { order, instances }
}

/// Waits until `pred` holds for the order, re-checking on every engine event.
pub async fn wait_for(
    e: &Engine,
    eid: &str,
    what: &str,
    pred: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    let mut rx = e.subscribe();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let s = snapshot(e, eid);
        if pred(&s) {
            return s;
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(_) => {}
            Err(_) => panic!(
                "timed out waiting for {what}; order {} {:?}, instances {:?}",
                s.order.status,
                s.order.properties.pause_reason,
                s.instances
                    .iter()
                    .map(|i| (
                        i.target_instance.resource_id.clone(),
                        i.status,
                        i.message.clone()
                    ))
                    .collect::<Vec<_>>()
            ),
        }
    }
}

pub async fn wait_status(e: &Engine, eid: &str, status: OrderStatus) -> Snapshot {
    wait_for(e, eid, &format!("order {status}"), |s| {
        s.order.status == status
            && s.instances
                .iter()
                .all(|i| i.status != InstanceStatus::Processing)
    })
    .await
}

pub fn op(
    t: OperationType,
    batch: Option<i64>,
    instance: Option<i64>,
) -> JobScriptOrderOperationBody {
    JobScriptOrderOperationBody {
        batch_index: batch,
        instance_id: instance,
        operation_type: t,
    }
}

/// Whether a process exists and is not a zombie (a zombie has ended; only its entry is left).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .chars()
                .next();
            state != Some('Z')
        }
        Err(_) => false,
    }
}

/// A script that records its own pid and a background child's in `$1/<host>.*.pid`, then waits.
pub const SPAWNER: &str = "echo $$ > \"$1/$COCPIT_RESOURCE_ID.main.pid\"\nsleep 300 &\n\
    echo $! > \"$1/$COCPIT_RESOURCE_ID.child.pid\"\necho started\nwait\n";

/// A script that starts a child in a session of its own (no process group kill reaches it),
/// records its pid, then exits 0 (`exit`) or waits (`wait`).
pub fn detaching(then: &str) -> String {
    format!(
        "setsid sh -c 'echo $$ > \"$1/$COCPIT_RESOURCE_ID.detached.pid\"; exec sleep 300' sh \"$1\" &\n\
         while [ ! -s \"$1/$COCPIT_RESOURCE_ID.detached.pid\" ]; do sleep 0.02; done\necho started\n{then}\n"
    )
}

/// The pids the script on `host` wrote into `dir` (see [`SPAWNER`]).
pub fn pids_of(dir: &std::path::Path, host: &str) -> Vec<i32> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("{host}.")) && name.ends_with(".pid")
        })
        .filter_map(|e| std::fs::read_to_string(e.path()).ok()?.trim().parse().ok())
        .collect()
}

/// Waits (bounded) until no process of `pids` is alive; the kill path may still be reaping.
pub async fn all_gone(pids: &[i32]) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `cond` until it holds, for what no event says (a file a script wrote, a process on the
/// host); bounded by [`PATIENCE`].
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The living processes on this machine whose `/proc/PID/{file}` (`environ`, `cmdline`: fields
/// split on NUL) satisfies `wanted`.
pub fn processes_where(file: &str, wanted: impl Fn(&[&[u8]]) -> bool) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/{file}")).unwrap_or_default();
            wanted(&raw.split(|b| *b == 0).collect::<Vec<_>>())
        })
        .filter(|pid| alive(*pid))
        .collect()
}

/// The processes on this machine whose environment says they belong to `eid` on `host`.
pub fn processes_of(eid: &str, host: &str) -> Vec<i32> {
    let (order, on_host) = (
        format!("COCPIT_EXECUTE_UUID={eid}"),
        format!("COCPIT_RESOURCE_ID={host}"),
    );
    processes_where("environ", |vars| {
        vars.contains(&order.as_bytes()) && vars.contains(&on_host.as_bytes())
    })
}
