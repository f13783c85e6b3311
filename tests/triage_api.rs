//! Incidents and alarms over real HTTP against `cocpit serve`: every transition and the illegal
//! ones, validation that stores nothing, alarm authentication by signature or integration key,
//! deduplication, clearing, Alertmanager's webhook, silences, groups and alarm → incident.

mod common;

use common::server::Server;
use serde_json::{Value, json};

const CONFIG: &str = r#"
[inventory]
demo_fleet = 2
[[serve.integrations]]
key = "team-key-0001"
name = "team"
kind = "custom"
[[serve.integrations]]
key = "prom-key-0001"
name = "prometheus"
kind = "prometheus"
"#;

fn start(dir: &std::path::Path) -> Server {
    let data = dir.join("data");
    std::fs::write(data.with_extension("toml"), CONFIG).unwrap();
    Server::start(&data)
}

fn incident(title: &str) -> Value {
    json!({
        "region": ["cn-north-4"], "enterprise_project": ["0"],
        "current_cloud_service": ["6470681a31da2a47ed50a919"],
        "incident_level": "level_50", "is_service_interrupt": "true",
        "incident_type": "inc_type_p_function_issues", "incident_title": title,
        "incident_description": "/var at 100%", "incident_source": "incident_source_manual",
        "incident_assignee": ["ops-1"], "creator": "ops-1",
        "assignee_scene": "", "assignee_role": ""
    })
}

fn handle(num: &str, key: &str, parameter: Value) -> Value {
    json!({"incident_num": num, "operator": "ops-2", "operate_key": key, "parameter": parameter})
}

#[tokio::test(flavor = "multi_thread")]
async fn incidents_walk_their_states_and_refuse_illegal_steps() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path());
    let api = srv.client();

    // Validation: each rule named, nothing stored.
    let mut bad = incident("t");
    bad["incident_level"] = json!("level_99");
    let (st, v) = api
        .call("POST", "/v1/external/incident/create", Some(bad))
        .await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["provider_code"], "049");
    assert!(
        v["error_msg"]
            .as_str()
            .unwrap()
            .starts_with("incident_level:"),
        "{v}"
    );
    let mut bad = incident("t");
    bad["incident_assignee"] = json!([]);
    bad["assignee_scene"] = json!("oncall");
    let (st, v) = api
        .call("POST", "/v1/external/incident/create", Some(bad))
        .await;
    assert_eq!(st, 400);
    assert!(
        v["error_msg"]
            .as_str()
            .unwrap()
            .starts_with("assignee_role:"),
        "{v}"
    );
    let (st, v) = api
        .call(
            "POST",
            "/v1/external/incident/create",
            Some(incident(&"x".repeat(201))),
        )
        .await;
    assert_eq!(st, 400);
    assert!(
        v["error_msg"].as_str().unwrap().contains("incident_title"),
        "{v}"
    );
    let list = api.ok("GET", "/v1/cocpit/incidents", None).await;
    assert_eq!(list["total"], 0, "a refused create stored something");

    // Created TRIGGERED, with the seed's number shape and enumerations.
    let (st, v) = api
        .call(
            "POST",
            "/v1/external/incident/create",
            Some(incident("disk full")),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["error_code"], "GOM.00000000");
    let num = v["data"]["incident_num"].as_str().unwrap().to_string();
    assert!(
        num.starts_with("IM") && num.len() == 26 && num[2..].chars().all(|c| c.is_ascii_digit()),
        "{num}"
    );
    let (_, d) = api
        .call("GET", &format!("/v1/external/incident/{num}"), None)
        .await;
    assert_eq!(d["data"]["status"], "INCIDENT_STATUS_TRIGGERED");
    assert_eq!(
        d["data"]["is_service_interrupt"], true,
        "answered as a boolean"
    );
    let enums = d["data"]["enum_data_list"].as_array().unwrap();
    assert!(
        enums
            .iter()
            .any(|e| e["filed_key"] == "level_id" && e["name_en"] == "P5"),
        "{enums:?}"
    );
    assert!(
        enums
            .iter()
            .any(|e| e["filed_key"] == "work_flow_status" && e["name_en"] == "TRIGGERED")
    );

    let step = |key: &str, p: Value| handle(&num, key, p);
    let solution = json!({"mtm_type": "inc_type_p_config_issues", "is_service_interrupt": true,
                          "cause": "log rotation off", "solution": "re-enabled"});
    // Wrong state: named, with what is allowed.
    let (st, v) = api
        .call(
            "POST",
            "/v1/external/incident/handle",
            Some(step("commitSolution1", solution.clone())),
        )
        .await;
    assert_eq!(st, 400);
    let m = v["error_msg"].as_str().unwrap();
    assert!(
        m.contains("INCIDENT_STATUS_TRIGGERED") && m.contains("acceptedIncident1"),
        "{m}"
    );
    // Unknown key, as the seed shows it.
    let (st, v) = api
        .call(
            "POST",
            "/v1/external/incident/handle",
            Some(step("acceptedIncident111", json!({}))),
        )
        .await;
    assert_eq!(st, 400);
    assert!(
        v["error_msg"]
            .as_str()
            .unwrap()
            .contains("value[acceptedIncident111] invalid"),
        "{v}"
    );

    let ok = |v: &Value| assert_eq!(v["error_code"], "GOM.00000000", "{v}");
    let (_, v) = api
        .call(
            "POST",
            "/v1/external/incident/handle",
            Some(step("acceptedIncident1", json!({}))),
        )
        .await;
    ok(&v);
    let mut missing = solution.clone();
    missing.as_object_mut().unwrap().remove("cause");
    let (st, v) = api
        .call(
            "POST",
            "/v1/external/incident/handle",
            Some(step("commitSolution1", missing)),
        )
        .await;
    assert_eq!(st, 400);
    assert!(
        v["error_msg"]
            .as_str()
            .unwrap()
            .starts_with("parameter.cause"),
        "{v}"
    );
    let (_, v) = api
        .call(
            "POST",
            "/v1/external/incident/handle",
            Some(step("commitSolution1", solution.clone())),
        )
        .await;
    ok(&v);
    let (_, d) = api
        .call("GET", &format!("/v1/external/incident/{num}"), None)
        .await;
    assert_eq!(d["data"]["status"], "INCIDENT_STATUS_RESOLVED");
    assert!(d["data"]["handle_time"].as_i64().is_some());
    // Verification fails: back to ACKNOWLEDGED, the comment kept.
    let (_, v) = api
        .call(
            "POST",
            "/v1/external/incident/handle",
            Some(step(
                "confirm",
                json!({"virtual_confirm_result": false, "virtual_confirm_comment": "still full"}),
            )),
        )
        .await;
    ok(&v);
    let (_, d) = api
        .call("GET", &format!("/v1/external/incident/{num}"), None)
        .await;
    assert_eq!(d["data"]["status"], "INCIDENT_STATUS_ACKNOWLEDGED");
    api.call(
        "POST",
        "/v1/external/incident/handle",
        Some(step("commitSolution1", solution)),
    )
    .await;
    let (_, v) = api
        .call(
            "POST",
            "/v1/external/incident/handle",
            Some(step(
                "confirm",
                json!({"virtual_confirm_result": true, "virtual_confirm_comment": "41%"}),
            )),
        )
        .await;
    ok(&v);
    let (st, v) = api
        .call(
            "POST",
            "/v1/external/incident/handle",
            Some(step("acceptedIncident1", json!({}))),
        )
        .await;
    assert_eq!(st, 400);
    assert!(v["error_msg"].as_str().unwrap().contains("closed"), "{v}");
    // The timeline: who, what, and the parameters, in order.
    let full = api
        .ok("GET", &format!("/v1/cocpit/incidents/{num}"), None)
        .await;
    assert_eq!(full["info"]["status"], "INCIDENT_STATUS_COMPLETED");
    let actions: Vec<&str> = full["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "acceptedIncident1",
            "commitSolution1",
            "confirm",
            "commitSolution1",
            "confirm"
        ]
    );
    assert_eq!(
        full["timeline"][3]["parameter"]["virtual_confirm_comment"],
        "still full"
    );
    assert_eq!(
        full["timeline"][3]["to_status"],
        "INCIDENT_STATUS_ACKNOWLEDGED"
    );
    // Who acted is the caller (this key has no user name configured: the key itself), not the
    // `operator` the body claims.
    assert_eq!(full["timeline"][1]["operator"], common::server::AK);

    // Rejecting, only from TRIGGERED.
    let (_, v) = api
        .call(
            "POST",
            "/v1/external/incident/create",
            Some(incident("noise")),
        )
        .await;
    let other = v["data"]["incident_num"].as_str().unwrap().to_string();
    let (st, _) = api
        .call(
            "POST",
            "/v1/external/incident/handle",
            Some(handle(&other, "rejectedIncident1", json!({}))),
        )
        .await;
    assert_eq!(st, 400, "a reject needs a reason");
    let (_, v) = api
        .call(
            "POST",
            "/v1/external/incident/handle",
            Some(handle(
                &other,
                "rejectedIncident1",
                json!({"reason": "duplicate of another"}),
            )),
        )
        .await;
    ok(&v);
    let (_, d) = api
        .call("GET", &format!("/v1/external/incident/{other}"), None)
        .await;
    assert_eq!(d["data"]["status"], "INCIDENT_STATUS_REJECTED");
    let list = api
        .ok(
            "GET",
            "/v1/cocpit/incidents?status=INCIDENT_STATUS_REJECTED",
            None,
        )
        .await;
    assert_eq!(list["total"], 1);
    let (st, v) = api
        .call("GET", "/v1/incident-tickets?offset=0&limit=10", None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["data"]["total"], 2);
}

async fn unsigned(base: &str, path: &str, body: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (
        st,
        serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

fn custom(id: &str, status: &str) -> String {
    json!({"alarmId": id, "alarmName": "CPU usage above 90%", "alarmLevel": "Critical",
           "time": 1709118444540i64, "nameSpace": "shanghai", "regionId": "cn-north-4",
           "applicationId": "web", "resourceName": "web-01", "resourceId": "i-1",
           "alarmDesc": "cpu 97%", "URL": "https://mon.example/a/1", "alarmStatus": status,
           "alarmSource": "zabbix", "additional": {"team": "sre", "rack": 7}})
    .to_string()
}

/// Alertmanager's webhook as its documentation describes it (version 4).
fn alertmanager(status_a: &str, status_b: &str) -> String {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"DiskFull\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "cocpit",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "severity": "warning"},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": [
            {"status": status_a, "labels": {"alertname": "DiskFull", "severity": "warning", "instance": "db-1:9100", "job": "node"},
             "annotations": {"summary": "disk 91% on db-1"}, "startsAt": "2024-03-15T08:09:10.000Z",
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus:9090/graph?g0.expr=x", "fingerprint": "c8f2a1b3d4e5f607"},
            {"status": status_b, "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-2:9100", "job": "node"},
             "annotations": {"description": "disk 99% on db-2"}, "startsAt": "2024-03-15T08:09:11.000Z",
             // Alertmanager's "zero" time while firing; the resolve time once resolved.
             "endsAt": if status_b == "resolved" { "2024-03-15T08:10:11.000Z" } else { "0001-01-01T00:00:00Z" },
             "generatorURL": "http://prometheus:9090/graph?g0.expr=y", "fingerprint": "d9e3b2c4e5f60718"}
        ]
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn alarms_are_authenticated_deduplicated_cleared_silenced_and_become_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(dir.path());
    let api = srv.client();
    let base = &srv.base;
    let push = "/v1/event/huawei/custom/team-key-0001";

    // Unsigned with the key: accepted. Unknown key: refused either way.
    let (st, v) = unsigned(base, push, &custom("cpu-1", "alarm")).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["error_code"], "COC.00000000");
    assert_eq!(v["provider_code"], "049");
    let (st, _) = unsigned(
        base,
        "/v1/event/huawei/custom/guessed-key",
        &custom("x", "alarm"),
    )
    .await;
    assert_eq!(st, 401);
    let (st, v) = api
        .call(
            "POST",
            "/v1/event/huawei/custom/guessed-key",
            Some(serde_json::from_str(&custom("x", "alarm")).unwrap()),
        )
        .await;
    assert_eq!(st, 404, "signed but unknown key: {v}");
    // The prometheus key is not a custom integration.
    let (st, _) = unsigned(
        base,
        "/v1/event/huawei/custom/prom-key-0001",
        &custom("x", "alarm"),
    )
    .await;
    assert_eq!(st, 400);

    // Bad bodies: all missing fields named, as the seed shows; bad JSON; bad level.
    let (st, v) = unsigned(base, push, r#"{"alarmLevel": "Major", "time": 1}"#).await;
    assert_eq!(st, 400);
    assert_eq!(v["error_code"], "COC.00000001");
    let m = v["error_msg"].as_str().unwrap();
    assert!(
        m.contains("alarmId must not be null") && m.contains("alarmName must not be null"),
        "{m}"
    );
    let (st, v) = unsigned(base, push, "{not json").await;
    assert_eq!(st, 400, "{v}");
    let (st, v) = unsigned(
        base,
        push,
        &custom("cpu-1", "alarm").replace("Critical", "Severe"),
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        v["error_msg"].as_str().unwrap().starts_with("alarmLevel"),
        "{v}"
    );

    // A repeat counts; ok clears.
    unsigned(base, push, &custom("cpu-1", "alarm")).await;
    let page = api.ok("GET", "/v1/cocpit/alarms", None).await;
    let alarms = page["alarms"].as_array().unwrap();
    assert_eq!(alarms.len(), 1, "{page}");
    let id = alarms[0]["alarm_id"].as_str().unwrap().to_string();
    assert_eq!(alarms[0]["count"], 2);
    assert_eq!(alarms[0]["labels"]["rack"], "7");
    unsigned(base, push, &custom("cpu-1", "ok")).await;
    let a = api
        .ok("GET", &format!("/v1/cocpit/alarms/{id}"), None)
        .await;
    assert_eq!(a["state"], "cleared");
    assert_eq!(a["count"], 2, "a clear is not a repeat");
    unsigned(base, push, &custom("cpu-1", "alarm")).await;
    let a = api
        .ok("GET", &format!("/v1/cocpit/alarms/{id}"), None)
        .await;
    assert_eq!(a["state"], "firing", "fired again");

    // Alertmanager: two alerts, then one resolved (fingerprints are the keys).
    let prom = "/v1/event/prometheus/prom-key-0001";
    let (st, v) = unsigned(base, prom, &alertmanager("firing", "firing")).await;
    assert_eq!(st, 200, "{v}");
    unsigned(base, prom, &alertmanager("firing", "resolved")).await;
    let firing = api.ok("GET", "/v1/cocpit/alarms?state=firing", None).await;
    let names: Vec<(&str, &str)> = firing["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["resource_name"].as_str().unwrap(),
                a["level"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(names.contains(&("db-1:9100", "Minor")), "{names:?}");
    assert!(
        !names.iter().any(|(r, _)| *r == "db-2:9100"),
        "resolved alert cleared: {names:?}"
    );
    let cleared = api.ok("GET", "/v1/cocpit/alarms?state=cleared", None).await;
    let db2 = &cleared["alarms"][0];
    assert_eq!(db2["source_id"], "d9e3b2c4e5f60718");
    assert_eq!(db2["description"], "disk 99% on db-2");
    // The alert's own times, not when cocpit heard of them; the resolve is not a repeat.
    assert_eq!(db2["first_seen"], 1_710_490_151_000i64, "{db2}");
    assert_eq!(db2["cleared_at"], 1_710_490_211_000i64, "{db2}");
    assert_eq!(db2["count"], 1, "{db2}");
    let (st, v) = unsigned(
        base,
        prom,
        r#"{"version": "4", "alerts": [{"status": "firing", "labels": {}}]}"#,
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        v["error_msg"]
            .as_str()
            .unwrap()
            .contains("alerts[0].labels.alertname"),
        "{v}"
    );

    // A silence hides matching alarms without dropping them; ending it shows them again.
    let s = api
        .ok(
            "POST",
            "/v1/cocpit/silences",
            Some(json!({
        "matchers": [{"name": "alertname", "value": "Disk.*", "is_regex": true}],
        "author": "ops", "comment": "db maintenance", "duration_s": 3600})),
        )
        .await;
    let sid = s["id"].as_str().unwrap().to_string();
    let shown = api.ok("GET", "/v1/cocpit/alarms?state=firing", None).await;
    assert_eq!(shown["alarms"].as_array().unwrap().len(), 1, "{shown}");
    let all = api
        .ok(
            "GET",
            "/v1/cocpit/alarms?state=firing&include_silenced=true",
            None,
        )
        .await;
    assert_eq!(all["alarms"].as_array().unwrap().len(), 2);
    assert_eq!(all["alarms"][0]["silenced_by"], sid.as_str());
    let (st, _) = api
        .call(
            "POST",
            "/v1/cocpit/silences",
            Some(json!({"matchers": [], "author": "ops", "duration_s": 60})),
        )
        .await;
    assert_eq!(st, 400, "a silence of everything is refused");
    for duration in [i64::MAX, 0, -5, 400 * 24 * 3600] {
        let (st, v) = api
            .call(
                "POST",
                "/v1/cocpit/silences",
                Some(
                    json!({"matchers": [{"name": "name", "value": "x", "is_regex": false}],
                            "author": "ops", "duration_s": duration}),
                ),
            )
            .await;
        assert_eq!(st, 400, "{duration}: {v}");
        assert!(
            v["error_msg"].as_str().unwrap().starts_with("duration_s"),
            "{v}"
        );
    }
    api.ok("DELETE", &format!("/v1/cocpit/silences/{sid}"), None)
        .await;
    let shown = api.ok("GET", "/v1/cocpit/alarms?state=firing", None).await;
    assert_eq!(shown["alarms"].as_array().unwrap().len(), 2);

    // Groups; ack; alarm → incident, linked both ways; the SDK's alarm paths.
    let groups = api.ok("GET", "/v1/cocpit/alarm-groups", None).await;
    assert_eq!(groups.as_array().unwrap().len(), 2, "{groups}");
    assert_eq!(groups[0]["level"], "Critical", "most severe first");
    api.ok(
        "POST",
        "/v1/cocpit/alarms/ack",
        Some(json!({"alarm_ids": [id]})),
    )
    .await;
    let v = api
        .ok(
            "POST",
            "/v1/alarm-mgmt/alarms-linked-incident",
            Some(json!({"alarm_ids": id})),
        )
        .await;
    let num = v[0].as_str().unwrap().to_string();
    let (_, d) = api
        .call("GET", &format!("/v1/external/incident/{num}"), None)
        .await;
    assert_eq!(d["data"]["incident_source"], "incident_source_alarm");
    assert_eq!(
        d["data"]["incident_level"], "level_10",
        "Critical opens a P1"
    );
    assert!(
        d["data"]["incident_description"]
            .as_str()
            .unwrap()
            .contains("cpu 97%")
    );
    let info = api
        .ok("GET", &format!("/v1/alarm-mgmt/alarm/{id}"), None)
        .await;
    assert_eq!(info["associate_event_id"], num.as_str());
    // Three firing notifications (the clear between them is not one).
    assert_eq!(info["converge_count"], 3);
    let (st, h) = api
        .call(
            "GET",
            &format!("/v1/alarm-mgmt/alarm/{id}/handle-histories?offset=0&limit=50"),
            None,
        )
        .await;
    assert_eq!(st, 200);
    let kinds: Vec<&str> = h["alarm_handle_histories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["task_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "fired",
            "cleared",
            "fired again",
            "acknowledged",
            "incident"
        ]
    );
    let (st, v) = api
        .call(
            "POST",
            "/v1/alarm-mgmt/alarms-linked-incident",
            Some(json!({"alarm_ids": id})),
        )
        .await;
    assert_eq!(st, 400, "an alarm belongs to one incident: {v}");
    let v = api
        .ok(
            "POST",
            "/v1/alarm-mgmt/alarms/cancel",
            Some(json!({"alarm_ids": id, "remarks": "fixed"})),
        )
        .await;
    assert_eq!(v[0], id.as_str());
    let a = api
        .ok("GET", &format!("/v1/cocpit/alarms/{id}"), None)
        .await;
    assert_eq!(a["state"], "cleared");
    let (st, _) = api.call("GET", "/v1/alarm-mgmt/alarm/AL-none", None).await;
    assert_eq!(st, 404);
}

/// Alertmanager receivers behind an authenticating proxy send `http_config.basic_auth` or a
/// bearer `authorization`: such a header is not an SDK signature, and a valid integration key
/// in the URL is still the credential (Alertmanager drops alerts on a 401).
#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_authorization_does_not_hide_a_valid_integration_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::server::Server::start(&dir.path().join("d"));
    let http = reqwest::Client::new();
    let push = |key: &str, auth: &str| {
        http.post(format!("{}/v1/event/prometheus/{key}", server.base))
            .header("Content-Type", "application/json")
            .header("Authorization", auth)
            .body(alertmanager("firing", "firing"))
            .send()
    };
    for auth in [
        "Basic YWxlcnRtYW5hZ2VyOnNlY3JldA==",
        "Bearer some-proxy-token",
    ] {
        let r = push("demo-prometheus", auth).await.unwrap();
        assert_eq!(r.status(), 200, "{auth}: {}", r.text().await.unwrap());
    }
    let r = push("not-a-key", "Basic YWxlcnRtYW5hZ2VyOnNlY3JldA==")
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(body.contains("unknown integration key"), "{body}");
}
