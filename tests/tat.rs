//! Tencent TAT: the API over TC3-signed HTTP against a real `cocpit serve`, and the scheduler on
//! an in-process engine with a manual clock (no waiting for real minutes).

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use cocpit::config::Config;
use cocpit::engine::Engine;
use cocpit::engine::clock::ManualClock;
use cocpit::model::tat::*;
use common::server::Server;
use serde_json::{Value, json};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test(flavor = "multi_thread")]
async fn invokers_over_tc3_with_the_seeds_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let api = server.client();
    let cmd = api
        .tat(
            "CreateCommand",
            json!({"CommandName": "hello", "Content": b64("echo hi {{who}}"), "EnableParameter": true,
                   "DefaultParameters": "{\"who\":\"there\"}"}),
        )
        .await;
    let cmd = cmd["CommandId"].as_str().unwrap().to_string();
    assert!(cmd.starts_with("cmd-"));
    let described = api
        .tat("DescribeCommands", json!({"CommandIds": [cmd]}))
        .await;
    assert_eq!(described["TotalCount"], 1);
    assert_eq!(
        described["CommandSet"][0]["Content"],
        b64("echo hi {{who}}")
    );

    let good = json!({"Name": "nightly", "Type": "SCHEDULE", "CommandId": cmd, "InstanceIds": ["demo-01"],
                      "Parameters": "{\"who\":\"ops\"}",
                      "ScheduleSettings": {"Policy": "RECURRENCE", "Recurrence": "0 3 * * *"}});
    let r = api.tat("CreateInvoker", good.clone()).await;
    let ivk = r["InvokerId"].as_str().unwrap().to_string();
    assert!(ivk.starts_with("ivk-") && r["RequestId"].is_string(), "{r}");

    let with = |patch: Value| {
        let mut b = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let past = (Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    for (body, code) in [
        (
            with(json!({"ScheduleSettings": {"Policy": "RECURRENCE", "Recurrence": "0 25 * * *"}})),
            "InvalidParameterValue.InvalidCronExpression",
        ),
        (
            with(json!({"ScheduleSettings": {"Policy": "ONCE", "InvokeTime": "next tuesday"}})),
            "InvalidParameterValue.InvalidTimeFormat",
        ),
        (
            with(json!({"ScheduleSettings": {"Policy": "ONCE", "InvokeTime": past}})),
            "InvalidParameterValue.InvokeTimeExpired",
        ),
        (
            with(json!({"Parameters": "{not json"})),
            "InvalidParameterValue.ParameterInvalidJsonFormat",
        ),
        (
            with(json!({"Name": "n".repeat(121)})),
            "InvalidParameterValue.TooLong",
        ),
        (
            with(json!({"CommandId": "cmd-00000000"})),
            "ResourceNotFound.CommandNotFound",
        ),
        (
            with(json!({"CommandId": "bogus"})),
            "InvalidParameterValue.InvalidCommandId",
        ),
        (
            with(json!({"InstanceIds": ["ins-missing"]})),
            "ResourceNotFound.InstanceNotFound",
        ),
        (with(json!({"Type": "PERIODIC"})), "InvalidParameterValue"),
    ] {
        let r = api.tat("CreateInvoker", body.clone()).await;
        assert_eq!(r["Error"]["Code"], code, "{body}: {r}");
        assert!(r["RequestId"].is_string());
    }

    // The next fire shows as InvokeTime; disabling clears it, enabling brings it back.
    let show = |r: &Value| r["InvokerSet"][0].clone();
    let r = api
        .tat("DescribeInvokers", json!({"InvokerIds": [ivk]}))
        .await;
    assert_eq!(show(&r)["Enable"], true);
    let next = show(&r)["ScheduleSettings"]["InvokeTime"]
        .as_str()
        .unwrap()
        .to_string();
    let next: DateTime<Utc> = next.parse().unwrap();
    // 03:00 in UTC+8 is 19:00 UTC.
    assert_eq!(next.format("%H:%M:%S").to_string(), "19:00:00");
    api.tat("DisableInvoker", json!({"InvokerId": ivk})).await;
    let r = api
        .tat("DescribeInvokers", json!({"InvokerIds": [ivk]}))
        .await;
    assert_eq!(show(&r)["Enable"], false);
    assert!(show(&r)["ScheduleSettings"]["InvokeTime"].is_null(), "{r}");
    api.tat("EnableInvoker", json!({"InvokerId": ivk})).await;
    let r = api
        .tat(
            "DescribeInvokers",
            json!({"Filters": [{"Name": "command-id", "Values": [cmd]}]}),
        )
        .await;
    assert_eq!(r["TotalCount"], 1);
    assert!(show(&r)["ScheduleSettings"]["InvokeTime"].is_string());
    let r = api.tat("DeleteInvoker", json!({"InvokerId": ivk})).await;
    assert!(r["Error"].is_null(), "{r}");
    let r = api
        .tat("DescribeInvokers", json!({"InvokerIds": [ivk]}))
        .await;
    assert_eq!(r["TotalCount"], 0);
    let r = api.tat("DeleteInvoker", json!({"InvokerId": ivk})).await;
    assert_eq!(r["Error"]["Code"], "ResourceNotFound.InvokerNotFound");
}

/// TC3 by GET, as API 3.0 allows: the parameters flattened into the signed query string, every
/// answer and every refusal an HTTP 200 with `Response` (the Node SDK reads errors only there).
#[tokio::test(flavor = "multi_thread")]
async fn actions_by_get_take_the_flattened_query_and_refuse_in_the_response() {
    use common::server::TC_KEY;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let api = server.client();
    let mut ids = vec![];
    for name in ["one", "two", "three"] {
        let r = api
            .tat(
                "CreateCommand",
                json!({"CommandName": name, "Content": b64("true")}),
            )
            .await;
        ids.push(r["CommandId"].as_str().unwrap().to_string());
    }
    let (status, r) = api
        .tat_get(
            "DescribeCommands",
            &format!(
                "CommandIds.0={}&CommandIds.1={}&Limit=1&Offset=1",
                ids[0], ids[2]
            ),
            TC_KEY,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(r["TotalCount"], 2, "{r}");
    assert_eq!(r["CommandSet"].as_array().unwrap().len(), 1, "{r}");
    let (_, r) = api
        .tat_get(
            "DescribeCommands",
            "Filters.0.Name=command-name&Filters.0.Values.0=two",
            TC_KEY,
        )
        .await;
    assert_eq!(r["TotalCount"], 1, "{r}");
    assert_eq!(r["CommandSet"][0]["CommandId"], ids[1].as_str());

    for (query, key, code) in [
        ("Limit=1", "wrong-key", "AuthFailure.SignatureFailure"),
        ("Limit=many", TC_KEY, "InvalidParameter"),
        ("CommandIds.3=x", TC_KEY, "InvalidParameter"),
    ] {
        let (status, r) = api.tat_get("DescribeCommands", query, key).await;
        assert_eq!(status, 200, "{query}");
        assert!(
            r["Error"]["Code"].as_str().unwrap().starts_with(code),
            "{query}: {r}"
        );
        assert!(r["RequestId"].is_string());
    }
}

// ------------------------------------------------------------------ the scheduler

fn at(s: &str) -> DateTime<Utc> {
    parse_time(s).unwrap()
}

fn config() -> Config {
    Config::parse(
        "[inventory]\ndemo_fleet = 2\ndemo_desktops = 0\n",
        std::path::Path::new("t.toml"),
    )
    .unwrap()
}

fn command(e: &Engine, script: &str) -> String {
    e.create_command(&CreateCommandRequest {
        command_name: Some("fire".into()),
        content: Some(b64(script)),
        enable_parameter: Some(true),
        ..Default::default()
    })
    .unwrap()
}

fn invoker(e: &Engine, cmd: &str, settings: ScheduleSettings) -> String {
    e.create_invoker(&CreateInvokerRequest {
        name: Some("t".into()),
        invoker_type: Some("SCHEDULE".into()),
        command_id: Some(cmd.into()),
        instance_ids: Some(vec!["demo-01".into(), "demo-02".into()]),
        parameters: Some("{\"word\":\"fired\"}".into()),
        schedule_settings: Some(settings),
        ..Default::default()
    })
    .unwrap()
}

fn cron(expr: &str) -> ScheduleSettings {
    ScheduleSettings {
        policy: "RECURRENCE".into(),
        recurrence: Some(expr.into()),
        invoke_time: None,
    }
}

fn records(e: &Engine, ivk: &str) -> Vec<InvokerRecord> {
    e.describe_invoker_records(&DescribeRequest {
        invoker_ids: Some(vec![ivk.into()]),
        limit: Some(100),
        ..Default::default()
    })
    .unwrap()
    .set
}

/// Waits (in real time, for the real processes) until `ivk` has `n` settled records.
async fn settled(e: &Engine, ivk: &str, n: usize) -> Vec<InvokerRecord> {
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        let r = records(e, ivk);
        if r.len() >= n
            && r.iter()
                .all(|r| r.result != "RUNNING" && r.result != "PENDING")
        {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {n} settled records: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn once_fires_at_its_time_and_runs_the_command_on_every_instance() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at("2026-03-01T10:00:00Z")));
    let e = Engine::open_with_clock(dir.path(), &config().engine_setup(), clock.clone()).unwrap();
    let cmd = command(&e, "echo {{word}} on $COCPIT_RESOURCE_ID");
    let ivk = invoker(
        &e,
        &cmd,
        ScheduleSettings {
            policy: "ONCE".into(),
            recurrence: None,
            invoke_time: Some("2026-03-01T18:30:00+08:00".into()),
        },
    );
    assert!(records(&e, &ivk).is_empty());
    clock.set(at("2026-03-01T10:29:59Z"));
    clock.set(at("2026-03-01T10:30:00Z"));
    let r = settled(&e, &ivk, 1).await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].invoke_time, "2026-03-01T10:30:00Z");
    assert_eq!(r[0].result, "SUCCESS", "{r:?}");
    let tasks = e
        .describe_invocation_tasks(&DescribeRequest {
            filters: Some(vec![Filter {
                name: "invocation-id".into(),
                values: vec![r[0].invocation_id.clone()],
            }]),
            hide_output: Some(false),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(tasks.total_count, 2);
    let outputs: Vec<String> = tasks
        .set
        .iter()
        .map(|t| {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(&t.task_result.output)
                    .unwrap(),
            )
            .unwrap()
        })
        .collect();
    assert!(
        outputs.contains(&"fired on demo-01\n".to_string()),
        "{outputs:?}"
    );
    assert!(
        outputs.contains(&"fired on demo-02\n".to_string()),
        "{outputs:?}"
    );
    // A ONCE invoker has no next fire.
    let inv = e
        .describe_invokers(&DescribeRequest {
            invoker_ids: Some(vec![ivk]),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(inv.set[0].schedule_settings.invoke_time, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn recurrence_crosses_a_day_and_a_month_in_utc8_and_disabled_invokers_stay_quiet() {
    let dir = tempfile::tempdir().unwrap();
    // 23:58 on 31 January in UTC+8.
    let clock = Arc::new(ManualClock::new(at("2026-01-31T15:58:00Z")));
    let e = Engine::open_with_clock(dir.path(), &config().engine_setup(), clock.clone()).unwrap();
    let cmd = command(&e, "echo {{word}}");
    let midnight = invoker(&e, &cmd, cron("0 0 * * *"));
    let quiet = invoker(&e, &cmd, cron("0 0 * * *"));
    e.set_invoker_enabled(Some(&quiet), false).unwrap();
    // Midnight of 1 February in UTC+8 is 16:00 UTC on 31 January.
    clock.set(at("2026-01-31T16:00:00Z"));
    let r = settled(&e, &midnight, 1).await;
    assert_eq!(r[0].invoke_time, "2026-01-31T16:00:00Z");
    assert_eq!(r[0].result, "SUCCESS");
    // The next day's fire, and still nothing from the disabled one (it was due at the same times).
    clock.set(at("2026-02-01T16:00:00Z"));
    let r = settled(&e, &midnight, 2).await;
    assert_eq!(r[0].invoke_time, "2026-02-01T16:00:00Z");
    assert!(records(&e, &quiet).is_empty());
    // Records of several invokers page in the store: the newest first, the total of all.
    let page = e
        .describe_invoker_records(&DescribeRequest {
            invoker_ids: Some(vec![midnight.clone(), quiet.clone()]),
            limit: Some(1),
            offset: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.total_count, 2);
    assert_eq!(page.set.len(), 1);
    assert_eq!(page.set[0].invoke_time, "2026-01-31T16:00:00Z");
}

#[tokio::test(flavor = "multi_thread")]
async fn fires_missed_while_the_engine_was_down_are_recorded_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at("2026-05-01T00:00:00Z")));
    let ivk = {
        let e =
            Engine::open_with_clock(dir.path(), &config().engine_setup(), clock.clone()).unwrap();
        let cmd = command(&e, "echo {{word}} >> \"$COCPIT_AGENT_HOME_UNUSED/never\"");
        invoker(&e, &cmd, cron("*/10 * * * *"))
    };
    // Down for 35 minutes: the fires at :10, :20 and :30 were missed.
    clock.set(at("2026-05-01T00:35:00Z"));
    let e = Engine::open_with_clock(dir.path(), &config().engine_setup(), clock.clone()).unwrap();
    let r = records(&e, &ivk);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].result, "CANCELLED");
    assert!(r[0].reason.starts_with("MISSED"), "{r:?}");
    assert!(r[0].reason.contains("3 fires"), "{r:?}");
    assert_eq!(r[0].invoke_time, "2026-05-01T00:10:00Z");
    // No task ran for them, and the schedule goes on from now.
    let tasks = e
        .describe_invocation_tasks(&DescribeRequest::default())
        .unwrap();
    assert_eq!(tasks.total_count, 0);
    let inv = e
        .describe_invokers(&DescribeRequest {
            invoker_ids: Some(vec![ivk.clone()]),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        inv.set[0].schedule_settings.invoke_time.as_deref(),
        Some("2026-05-01T00:40:00Z")
    );
    clock.set(at("2026-05-01T00:40:00Z"));
    let r = settled(&e, &ivk, 2).await;
    assert_eq!(r[0].invoke_time, "2026-05-01T00:40:00Z");
}
