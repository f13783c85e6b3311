//! The API over real HTTP against a spawned `cocpit serve`: envelopes, errors that name the
//! field, authentication, paging, and the live event stream.

mod common;

use common::server::{Server, cocpit, on};
use serde_json::{Value, json};

fn script_body(name: &str, content: &str) -> Value {
    json!({"name": name, "description": "http test", "type": "SHELL", "content": content,
           "properties": {"risk_level": "MEDIUM", "version": "2.0"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_tampered_and_wrong_key_requests_are_401() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let api = server.client();
    let r = reqwest::get(format!("{}/v1/job/scripts?limit=1", server.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error_code"], "APIGW.0301");
    assert!(
        body["error_msg"]
            .as_str()
            .unwrap()
            .contains("missing Authorization")
    );

    let wrong = common::server::Api {
        sk: "nope".into(),
        ..server.client()
    };
    let (status, body) = wrong.call("GET", "/v1/job/scripts?limit=1", None).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (401, Some("APIGW.0301"))
    );

    // Signed for one body, sent with another.
    let signed = serde_json::to_vec(&script_body("a", "echo a")).unwrap();
    let r = api
        .signed("POST", "/v1/job/scripts", &signed)
        .body(serde_json::to_vec(&script_body("b", "echo b")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (_, list) = api.call("GET", "/v1/job/scripts?limit=10", None).await;
    assert_eq!(
        list["data"]["total"], 0,
        "nothing was stored by rejected requests"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_name_the_field_and_use_the_seed_envelope() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let api = server.client();
    let (status, body) = api
        .call("POST", "/v1/job/scripts", Some(json!({"name": 5})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "COC.00040601");
    assert!(
        body["error_msg"].as_str().unwrap().starts_with("name:"),
        "{body}"
    );

    let mut bad = script_body("ok_name", "echo");
    bad["properties"]["risk_level"] = "SEVERE".into();
    let (status, body) = api.call("POST", "/v1/job/scripts", Some(bad)).await;
    assert_eq!(status, 400);
    assert!(
        body["error_msg"]
            .as_str()
            .unwrap()
            .contains("properties.risk_level"),
        "{body}"
    );

    let (status, body) = api.call("GET", "/v1/job/scripts?limit=500", None).await;
    assert_eq!(status, 400);
    assert!(
        body["error_msg"].as_str().unwrap().contains("limit"),
        "{body}"
    );

    let (status, body) = api.call("GET", "/v1/job/scripts/SC0000", None).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("COC.00040404"))
    );
    let (status, body) = api.call("GET", "/v1/nothing/here", None).await;
    assert_eq!(status, 404);
    assert!(
        body["error_msg"]
            .as_str()
            .unwrap()
            .contains("/v1/nothing/here")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resources_and_scripts_page_with_markers() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let api = server.client();
    let all = api
        .ok(
            "GET",
            "/v1/resources?provider=ecs&type=cloudservers&limit=100",
            None,
        )
        .await;
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["demo-01", "demo-02", "demo-03", "demo-04"]);
    assert!(
        all[0]["tags"].is_array(),
        "tags are a list of {{key, value}}"
    );
    let page = api
        .ok(
            "GET",
            "/v1/resources?limit=3&provider=ecs&type=cloudservers",
            None,
        )
        .await;
    let next = api
        .ok(
            "GET",
            &format!(
                "/v1/resources?limit=3&marker={}&provider=ecs&type=cloudservers",
                page[2]["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(next.as_array().unwrap().len(), 1);
    assert_eq!(next[0]["id"], "demo-04");
    let two = api
        .ok("GET", "/v1/resources?limit=100&provider=ecs&resource_id_list=demo-03&resource_id_list=demo-01&type=cloudservers", None)
        .await;
    assert_eq!(two.as_array().unwrap().len(), 2);

    for i in 0..5 {
        api.ok(
            "POST",
            "/v1/job/scripts",
            Some(script_body(&format!("page_{i}"), "echo")),
        )
        .await;
    }
    let mut seen = vec![];
    // `marker=0` is the first page (some clients start there), for scripts and orders alike.
    let mut marker = "&marker=0".to_string();
    let orders = api
        .ok("GET", "/v1/job/script/orders?limit=10&marker=0", None)
        .await;
    assert_eq!(orders["total"], 0);
    loop {
        let p = api
            .ok(
                "GET",
                &format!("/v1/job/scripts?limit=2{marker}&name_like=page_"),
                None,
            )
            .await;
        assert_eq!(p["total"], 5);
        let rows = p["data"].as_array().unwrap().clone();
        seen.extend(rows.iter().map(|r| r["name"].as_str().unwrap().to_string()));
        if rows.len() < 2 {
            break;
        }
        marker = format!("&marker={}", rows.last().unwrap()["id"]);
    }
    assert_eq!(seen, ["page_4", "page_3", "page_2", "page_1", "page_0"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_event_stream_follows_an_order_live() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let api = server.client();
    let mut stream = api
        .signed("GET", "/v1/cocpit/events", b"")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The stream is open once its first event arrives.
    let first = stream.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: hello"));

    let uuid = api
        .ok(
            "POST",
            "/v1/job/scripts",
            Some(script_body("sse", "echo streamed-line")),
        )
        .await;
    let eid = api
        .ok("POST", &format!("/v1/job/scripts/{}", uuid.as_str().unwrap()), Some(json!({
            "execute_param": {"resourceful": true, "timeout": 60, "success_rate": 100, "execute_user": "root"},
            "execute_batches": [{"batch_index": 1, "rotation_strategy": "CONTINUE",
                                 "target_instances": [{"resource_id": "demo-01"}, {"resource_id": "demo-02"}]}]
        })))
        .await;
    let eid = eid.as_str().unwrap();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    while !text.contains(&format!(
        "\"execute_uuid\":\"{eid}\",\"status\":\"FINISHED\""
    )) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("events")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        text.contains("\"type\":\"output\"") && text.contains("streamed-line"),
        "{text}"
    );
    assert!(text.contains("\"type\":\"instance_changed\""), "{text}");
    let (_, insts) = api
        .wait(eid, "finished", |o, _| o["status"] == "FINISHED")
        .await;
    assert!(
        on(&insts, "demo-02")["message"]
            .as_str()
            .unwrap()
            .contains("streamed-line")
    );
}

#[test]
fn serve_refuses_to_run_without_keys_or_with_no_auth_off_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("no-demo.toml");
    std::fs::write(&cfg, "[serve]\ndemo_integrations = false\n").unwrap();
    let out = cocpit()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .args(["--init", "--data"])
        .arg(tmp.path().join("d"))
        .env_remove("COCPIT_SERVE_AK")
        .env_remove("HUAWEICLOUD_SDK_AK")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no credentials configured"));
    let out = cocpit()
        .args(["serve", "--no-auth", "--listen", "0.0.0.0:0", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[tokio::test]
async fn a_fresh_loopback_server_takes_the_readme_push_and_says_what_it_refuses() {
    use std::io::Read;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("empty.toml");
    std::fs::write(&cfg, "").unwrap();
    let mut cmd = cocpit();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .args(["--init", "--data"])
        .arg(tmp.path().join("d"))
        .env_remove("COCPIT_SERVE_AK")
        .env_remove("COCPIT_SERVE_SK")
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .stderr(std::process::Stdio::piped());
    let (mut child, base) = common::server::spawn_serving(cmd);
    // The README's example, as written.
    let http = reqwest::Client::new();
    let push = http
        .post(format!("{base}/v1/event/huawei/custom/demo"))
        .header("Content-Type", "application/json")
        .body(
            r#"{"alarmId":"cpu-1","alarmName":"CPU high","alarmLevel":"Critical","time":1709118444540,
               "nameSpace":"prod","applicationId":"web","alarmDesc":"cpu 97%","alarmSource":"zabbix"}"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 200, "{}", push.text().await.unwrap());
    let api = http
        .get(format!("{base}/v1/job/scripts"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    child.kill().unwrap();
    child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("API calls are refused (401)"), "{err}");
    assert!(
        err.contains("alarm pushes (custom) at /v1/event/huawei/custom/demo"),
        "{err}"
    );
}

/// Every endpoint the contract declares is served at its method and path: none falls through
/// to "no API at" and none answers 405 (the router is built from the same declarations).
#[tokio::test(flavor = "multi_thread")]
async fn every_declared_endpoint_is_served() {
    use cocpit::endpoint::{ALL, EVENTS, Method, Service};
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let api = server.client();
    let mut checked = 0;
    for r in ALL.iter().filter(|r| r.service != Service::Tat) {
        let path = {
            let mut p = String::new();
            for (i, seg) in r.path.split('/').enumerate() {
                if i > 0 {
                    p.push('/');
                }
                p.push_str(if seg.starts_with('{') { "x" } else { seg });
            }
            p
        };
        let body: &[u8] = match r.method {
            Method::Post | Method::Put => b"{}",
            Method::Get | Method::Delete => b"",
        };
        let resp = api
            .signed(r.method.as_str(), &path, body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if r.path == EVENTS.path {
            assert_eq!(status, 200, "{}", r.name);
            checked += 1;
            continue;
        }
        let text = resp.text().await.unwrap();
        assert_ne!(status, 405, "{} {}: {text}", r.method.as_str(), path);
        assert!(
            !text.contains("no API at"),
            "{} {} is not routed: {text}",
            r.method.as_str(),
            path
        );
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} endpoints checked");
}

/// `cocpit serve` logs each request at info: method, declared route, status, latency, the
/// caller's access key masked and why a refusal was made; never a secret or a path's key.
#[tokio::test(flavor = "multi_thread")]
async fn serve_logs_each_request_without_secrets() {
    use common::server::{AK, SK, spawn_serving};
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("serve.log");
    let mut cmd = cocpit();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--init", "--data"])
        .arg(tmp.path().join("d"))
        .env("COCPIT_SERVE_AK", AK)
        .env("COCPIT_SERVE_SK", SK)
        .env_remove("RUST_LOG")
        .stderr(std::fs::File::create(&log).unwrap());
    let (mut child, base) = spawn_serving(cmd);
    let host = base.trim_start_matches("http://").to_string();
    let api = common::server::Api {
        base: base.clone(),
        host,
        http: reqwest::Client::new(),
        ak: common::server::AK.into(),
        sk: SK.into(),
    };
    let (status, _) = api.call("GET", "/v1/job/scripts?limit=1", None).await;
    assert_eq!(status, 200);
    let r = reqwest::get(format!("{base}/v1/job/scripts/SC-secret-path"))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The log is written by a thread of its own, just after the answer.
    let requests = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter(|l| l.contains(" request "))
            .count()
    };
    common::until("both requests are logged", || requests() >= 2).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(" request ")).collect();
    assert_eq!(lines.len(), 2, "{text}");
    let masked = format!("caller=\"{}****\"", &AK[..4]);
    assert!(
        lines[0].contains("method=GET")
            && lines[0].contains("route=\"LIST_SCRIPTS\"")
            && lines[0].contains("status=200")
            && lines[0].contains("micros=")
            && lines[0].contains(&masked),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("route=\"GET_SCRIPT\"")
            && lines[1].contains("status=401")
            && lines[1].contains("refused=\"missing Authorization header\""),
        "{}",
        lines[1]
    );
    assert!(!text.contains(AK) && !text.contains(SK) && !text.contains("SC-secret-path"));
}

/// `param_order` is deprecated in the official SDK models ("passing it has no effect"): a script
/// created without it numbers its parameters by position, and an execution without it gives
/// each value the order its parameter was declared with (issue: clients that follow the
/// current reference).
#[tokio::test(flavor = "multi_thread")]
async fn param_order_may_be_left_out() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let api = server.client();
    let mut body = script_body("no_orders", "echo \"args=$1,$2\"");
    body["script_params"] = json!([
        {"param_name": "first", "param_value": "one"},
        {"param_name": "second", "param_value": "two"}
    ]);
    let uuid = api.ok("POST", "/v1/job/scripts", Some(body)).await;
    let uuid = uuid.as_str().unwrap();
    let detail = api
        .ok("GET", &format!("/v1/job/scripts/{uuid}"), None)
        .await;
    let orders: Vec<i64> = detail["script_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["param_order"].as_i64().unwrap())
        .collect();
    assert_eq!(orders, [1, 2], "{detail}");
    let eid = api
        .ok(
            "POST",
            &format!("/v1/job/scripts/{uuid}"),
            Some(json!({
                "execute_param": {"resourceful": true, "timeout": 60, "success_rate": 100,
                                  "execute_user": "root",
                                  "script_params": [{"param_name": "second", "param_value": "TWO"},
                                                    {"param_name": "first", "param_value": "ONE"}]},
                "execute_batches": [{"batch_index": 1, "rotation_strategy": "CONTINUE",
                                     "target_instances": [{"resource_id": "demo-01"}]}]
            })),
        )
        .await;
    let (_, insts) = api
        .wait(eid.as_str().unwrap(), "finished", |o, _| {
            o["status"] == "FINISHED"
        })
        .await;
    let out = on(&insts, "demo-01")["message"].as_str().unwrap();
    assert!(out.contains("args=ONE,TWO"), "{out}");
    // A value for a parameter the script does not declare is still refused by name.
    let (status, err) = api
        .call(
            "POST",
            &format!("/v1/job/scripts/{uuid}"),
            Some(json!({
                "execute_param": {"resourceful": true, "timeout": 60, "success_rate": 100,
                                  "execute_user": "root",
                                  "script_params": [{"param_name": "third", "param_value": "x"}]},
                "execute_batches": [{"batch_index": 1, "rotation_strategy": "CONTINUE",
                                     "target_instances": [{"resource_id": "demo-01"}]}]
            })),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        err["error_msg"].as_str().unwrap().contains("third"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_running_instances_finish_and_pauses_their_order() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let mut server = Server::start(&data);
    let api = server.client();
    let uuid = api
        .ok(
            "POST",
            "/v1/job/scripts",
            Some(script_body("term", "echo started; sleep 1; echo done")),
        )
        .await;
    let eid = api
        .ok("POST", &format!("/v1/job/scripts/{}", uuid.as_str().unwrap()), Some(json!({
            "execute_param": {"resourceful": true, "timeout": 60, "success_rate": 100, "execute_user": "root"},
            "execute_batches": [
                {"batch_index": 1, "rotation_strategy": "CONTINUE", "target_instances": [{"resource_id": "demo-01"}]},
                {"batch_index": 2, "rotation_strategy": "CONTINUE", "target_instances": [{"resource_id": "demo-02"}]}]
        })))
        .await;
    let eid = eid.as_str().unwrap().to_string();
    api.wait(&eid, "the first instance running", |_, insts| {
        insts.iter().any(|i| i["status"] == "PROCESSING")
    })
    .await;
    let status = server.terminate();
    assert!(status.success(), "serve exited with {status}");

    // What ran finished; the order waits for an operator, with the reason, and nothing is ABNORMAL.
    let server = Server::start(&data);
    let api = server.client();
    let (order, insts) = api.wait(&eid, "the order read back", |_, _| true).await;
    assert_eq!(order["status"], "PAUSED", "{order}");
    let reason = order["properties"]["pause_reason"].as_str().unwrap_or("");
    assert!(reason.contains("SIGTERM"), "{order}");
    assert_eq!(on(&insts, "demo-01")["status"], "FINISHED", "{insts:?}");
    assert!(insts.iter().all(|i| i["status"] != "ABNORMAL"), "{insts:?}");
}

/// The operator's routes: alive, ready, and Prometheus metrics that count what happened, all
/// without a signature from loopback.
#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_metrics_answer_without_a_signature() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let api = server.client();
    let http = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let r = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.text().await.unwrap(), "ok\n", "{path}");
    }
    api.ok("GET", "/v1/job/scripts", None).await;
    let (status, _) = api.call("GET", "/v1/job/scripts/SC404", None).await;
    assert_eq!(status, 404);
    let unsigned = http
        .get(format!("{}/v1/job/scripts", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let push = http
        .post(format!("{}/v1/event/huawei/custom/demo", server.base))
        .header("Content-Type", "application/json")
        .body(r#"{"alarmId":"m-1","alarmName":"disk","alarmLevel":"Major","time":1709118444540,"nameSpace":"prod","applicationId":"web","alarmDesc":"disk 91%","alarmSource":"zabbix"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), 200);
    let again = http
        .post(format!("{}/v1/event/huawei/custom/demo", server.base))
        .header("Content-Type", "application/json")
        .body(r#"{"alarmId":"m-1","alarmName":"disk","alarmLevel":"Major","time":1709118444541,"nameSpace":"prod","applicationId":"web","alarmDesc":"disk 91%","alarmSource":"zabbix"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);

    let r = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    for want in [
        r#"cocpit_http_requests_total{route="LIST_SCRIPTS",status="200"} 1"#,
        r#"cocpit_http_requests_total{route="GET_SCRIPT",status="404"} 1"#,
        r#"cocpit_http_requests_total{route="LIST_SCRIPTS",status="401"} 1"#,
        r#"cocpit_http_requests_total{route="PUSH_CUSTOM",status="200"} 2"#,
        "cocpit_http_request_duration_seconds_bucket{route=\"LIST_SCRIPTS\",le=",
        "cocpit_alarms_received_total 2",
        "cocpit_alarms_deduplicated_total 1",
        "cocpit_alarm_commit_seconds_count 2",
        "cocpit_event_stream_clients 0",
        "# HELP cocpit_http_requests_total",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // A key of a path never becomes a label.
    assert!(!text.contains("SC404"), "{text}");
}

/// The order gauges follow the store: a state that has emptied reads 0, not its last count.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_orders_by_status_as_they_change() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let api = server.client();
    let scrape = || async {
        reqwest::get(format!("{}/metrics", server.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let uuid = api
        .ok(
            "POST",
            "/v1/job/scripts",
            Some(script_body("gauge", "sleep 1")),
        )
        .await;
    let eid = api
        .ok("POST", &format!("/v1/job/scripts/{}", uuid.as_str().unwrap()), Some(json!({
            "execute_param": {"resourceful": true, "timeout": 60, "success_rate": 100, "execute_user": "root"},
            "execute_batches": [{"batch_index": 1, "rotation_strategy": "CONTINUE",
                                 "target_instances": [{"resource_id": "demo-01"}]}]
        })))
        .await;
    let eid = eid.as_str().unwrap().to_string();
    api.wait(&eid, "running", |o, _| o["status"] == "PROCESSING")
        .await;
    let running = scrape().await;
    assert!(
        running.contains(r#"cocpit_orders{status="PROCESSING"} 1"#),
        "{running}"
    );
    api.wait(&eid, "finished", |o, _| o["status"] == "FINISHED")
        .await;
    let done = scrape().await;
    assert!(
        done.contains(r#"cocpit_orders{status="PROCESSING"} 0"#),
        "{done}"
    );
    assert!(
        done.contains(r#"cocpit_orders{status="FINISHED"} 1"#),
        "{done}"
    );
    assert!(
        done.contains(r#"cocpit_instances{status="FINISHED"} 1"#),
        "{done}"
    );
}

/// A batch's runs are made ready on their hosts while the batch before runs, unless a rotation
/// pause stops the order between them: the metrics count how each run started.
#[tokio::test(flavor = "multi_thread")]
async fn the_next_batch_is_made_ready_while_a_batch_runs_but_not_across_a_pause() {
    use common::{processes_of, until};
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("d"));
    let api = server.client();
    // Each host's script waits for its own go file in the order's directory.
    let mut body = script_body(
        "ahead",
        "while [ ! -e \"$1/go-$COCPIT_RESOURCE_ID\" ]; do sleep 0.02; done",
    );
    body["script_params"] =
        json!([{"param_name": "dir", "param_value": "/nowhere", "param_order": 1}]);
    let uuid = api.ok("POST", "/v1/job/scripts", Some(body)).await;
    let path = format!("/v1/job/scripts/{}", uuid.as_str().unwrap());
    let order = |dir: &std::path::Path, rotations: [&str; 3]| {
        json!({
            "execute_param": {"resourceful": true, "timeout": 60, "success_rate": 100, "execute_user": "root",
                              "script_params": [{"param_name": "dir", "param_value": dir.display().to_string()}]},
            "execute_batches": (0..3).map(|b| json!({
                "batch_index": b + 1, "rotation_strategy": rotations[b],
                "target_instances": [{"resource_id": format!("demo-0{}", b + 1)}]
            })).collect::<Vec<_>>()
        })
    };
    let go = |dir: &std::path::Path, host: &str| {
        std::fs::write(dir.join(format!("go-{host}")), "").unwrap()
    };
    let started = || async {
        let text = reqwest::get(format!("{}/metrics", server.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let count = |start: &str| {
            let key = format!(r#"cocpit_runs_started_total{{start="{start}"}} "#);
            text.lines()
                .find_map(|l| l.strip_prefix(&key))
                .map_or(0, |v| v.trim().parse::<u64>().unwrap())
        };
        (count("ready"), count("cold"))
    };

    // Three batches that flow on: the first starts cold; each next one is made ready while
    // the one before runs, and started so.
    let a = tempfile::tempdir().unwrap();
    let eid = api
        .ok("POST", &path, Some(order(a.path(), ["CONTINUE"; 3])))
        .await;
    let eid = eid.as_str().unwrap().to_string();
    for (now, next) in [("demo-01", "demo-02"), ("demo-02", "demo-03")] {
        until("the next batch is made ready", || {
            !processes_of(&eid, next).is_empty()
        })
        .await;
        go(a.path(), now);
    }
    go(a.path(), "demo-03");
    api.wait(&eid, "finished", |o, _| o["status"] == "FINISHED")
        .await;
    assert_eq!(started().await, (2, 1), "ready, cold");

    // A rotation pause after batch 2: batch 3 is not made ready while the order waits.
    let b = tempfile::tempdir().unwrap();
    let eid = api
        .ok(
            "POST",
            &path,
            Some(order(b.path(), ["CONTINUE", "PAUSE", "CONTINUE"])),
        )
        .await;
    let eid = eid.as_str().unwrap().to_string();
    until("batch 2 is made ready", || {
        !processes_of(&eid, "demo-02").is_empty()
    })
    .await;
    go(b.path(), "demo-01");
    go(b.path(), "demo-02");
    api.wait(&eid, "paused", |o, _| o["status"] == "PAUSED")
        .await;
    assert!(processes_of(&eid, "demo-03").is_empty());
    go(b.path(), "demo-03");
    api.ok(
        "PUT",
        &format!("/v1/job/script/orders/{eid}/operation"),
        Some(json!({"batch_index": 2, "operation_type": "CONTINUE_ORDER"})),
    )
    .await;
    api.wait(&eid, "finished", |o, _| o["status"] == "FINISHED")
        .await;
    assert_eq!(started().await, (3, 3), "ready, cold");
}
