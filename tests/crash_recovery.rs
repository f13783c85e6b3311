//! kill -9 in the middle of a rollout: the next start keeps finished instances with their
//! output, marks the running ones ABNORMAL, pauses the order, and CONTINUE_ORDER completes it.

mod common;

use common::server::{Server, on};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn kill_nine_mid_batch_then_recover_and_continue() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let flags = tmp.path().join("flags");
    std::fs::create_dir(&flags).unwrap();
    let mut server = Server::start(&data);
    let api = server.client();

    let content = "echo \"hello from $COCPIT_RESOURCE_ID\"\n\
                   if [ \"$COCPIT_RESOURCE_ID\" = demo-02 ]; then echo waiting\n\
                   while [ ! -e \"$1/released\" ]; do sleep 0.05; done; fi\n";
    let script = api
        .ok("POST", "/v1/job/scripts", Some(json!({
            "name": "crash_me", "description": "crash test", "type": "SHELL", "content": content,
            "properties": {"risk_level": "LOW", "version": "1"},
            "script_params": [{"param_name": "dir", "param_value": "", "param_description": "", "param_order": 1, "sensitive": false}]
        })))
        .await;
    let script = script.as_str().unwrap();
    let target = |id: &str| json!({"resource_id": id});
    let eid = api
        .ok("POST", &format!("/v1/job/scripts/{script}"), Some(json!({
            "execute_param": {"resourceful": true, "timeout": 600, "success_rate": 100, "execute_user": "root",
                "script_params": [{"param_name": "dir", "param_value": flags.display().to_string(), "param_order": 1}]},
            "execute_batches": [
                {"batch_index": 1, "rotation_strategy": "CONTINUE", "target_instances": [target("demo-01"), target("demo-02")]},
                {"batch_index": 2, "rotation_strategy": "CONTINUE", "target_instances": [target("demo-03")]}
            ]
        })))
        .await;
    let eid = eid.as_str().unwrap().to_string();
    api.wait(&eid, "demo-01 done, demo-02 running", |_, i| {
        on(i, "demo-01")["status"] == "FINISHED"
            && on(i, "demo-02")["message"]
                .as_str()
                .unwrap()
                .contains("waiting")
    })
    .await;

    server.kill9();
    drop(server);
    let server = Server::start(&data);
    let api = server.client();

    let order = api
        .ok("GET", &format!("/v1/job/script/orders/{eid}"), None)
        .await;
    assert_eq!(order["status"], "PAUSED", "{order}");
    assert!(
        order["properties"]["pause_reason"]
            .as_str()
            .unwrap()
            .contains("engine restarted"),
        "{order}"
    );
    let (_, insts) = api.wait(&eid, "the recovered state", |_, _| true).await;
    let d1 = on(&insts, "demo-01");
    assert_eq!(d1["status"], "FINISHED");
    assert!(
        d1["message"]
            .as_str()
            .unwrap()
            .contains("hello from demo-01"),
        "output kept: {d1}"
    );
    let d2 = on(&insts, "demo-02");
    assert_eq!(d2["status"], "ABNORMAL");
    let m2 = d2["message"].as_str().unwrap();
    assert!(
        m2.contains("waiting") && m2.contains("engine restarted"),
        "{m2}"
    );
    assert_eq!(on(&insts, "demo-03")["status"], "READY");

    // Let the orphaned script of the dead engine end, then carry on.
    std::fs::write(flags.join("released"), "").unwrap();
    api.ok(
        "PUT",
        &format!("/v1/job/script/orders/{eid}/operation"),
        Some(json!({"operation_type": "CONTINUE_ORDER"})),
    )
    .await;
    let (order, insts) = api
        .wait(&eid, "FINISHED", |o, _| o["status"] == "FINISHED")
        .await;
    assert!(order["gmt_finished"].is_i64());
    assert_eq!(on(&insts, "demo-03")["status"], "FINISHED");
    assert_eq!(
        on(&insts, "demo-01")["status"],
        "FINISHED",
        "nothing else was lost"
    );
}
