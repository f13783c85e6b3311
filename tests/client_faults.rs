//! The remote client's network behaviour, through a fault-injecting proxy in front of a real
//! `cocpit serve`: which requests are repeated (reads; writes only when they surely never
//! arrived), `Retry-After` honoured, timeouts, cut-off and invalid answers, and an execution or
//! an incident created at most once even when its answer is lost.

mod common;

use std::time::Duration;

use cocpit::backend::{Error, prelude::*};
use cocpit::client::{Credentials, Options, connect_with};
use cocpit::model::incident::*;
use cocpit::model::order::*;
use cocpit::model::script::*;
use common::faults::{Fault, Proxy};
use common::server::{AK, PROJECT, SK, Server};

struct Rig {
    _dir: tempfile::TempDir,
    _server: Server,
    proxy: Proxy,
    client: cocpit::client::Remote,
}

fn options() -> Options {
    Options {
        request_timeout: Duration::from_secs(2),
        ..Options::default()
    }
}

async fn rig() -> Rig {
    rig_with(&[], options()).await
}

/// A rig whose proxy has these faults in place before the client connects.
async fn rig_with(faults: &[(&str, Fault)], options: Options) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let proxy = Proxy::start(&server.host).await;
    for (prefix, fault) in faults {
        proxy.on(prefix, fault.clone());
    }
    let creds = Credentials {
        ak: AK.into(),
        sk: SK.into(),
        project_id: Some(PROJECT.into()),
        ..Default::default()
    };
    let client = connect_with(&proxy.base, creds, options).unwrap();
    Rig {
        _dir: dir,
        _server: server,
        proxy,
        client,
    }
}

fn scripts() -> ListScriptsQuery {
    ListScriptsQuery {
        limit: Some(10),
        ..Default::default()
    }
}

const LIST: &str = "GET /v1/job/scripts";
const EXECUTE: &str = "POST /v1/job/scripts/";

#[tokio::test(flavor = "multi_thread")]
async fn reads_are_repeated_after_a_drop_a_503_and_a_429_honouring_retry_after() {
    let r = rig().await;
    r.proxy.on(LIST, Fault::Drop);
    r.proxy
        .on(LIST, Fault::Status(503, vec![("Retry-After", "1".into())]));
    r.proxy
        .on(LIST, Fault::Status(429, vec![("Retry-After", "1".into())]));
    let page = r.client.list_scripts(scripts()).await.unwrap();
    assert_eq!(page.data.len(), 0);
    let seen = r.proxy.seen(LIST);
    assert_eq!(seen.len(), 4, "a drop, a 503, a 429, then the answer");
    // After each Retry-After: 1 the next attempt waited at least that second.
    assert!(seen[2].at - seen[1].at >= Duration::from_secs(1));
    assert!(seen[3].at - seen[2].at >= Duration::from_secs(1));

    // Four failures in a row: the fourth is the error, named with the server's status.
    for _ in 0..4 {
        r.proxy.on(LIST, Fault::Status(500, vec![]));
    }
    let err = r.client.list_scripts(scripts()).await.unwrap_err();
    assert!(matches!(&err, Error::Remote { status: 500, .. }), "{err:?}");
    assert_eq!(r.proxy.seen(LIST).len(), 4 + 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_answer_times_out_and_a_cut_off_one_is_read_again_but_bad_json_is_reported() {
    let r = rig().await;
    r.proxy.on(LIST, Fault::Slow(Duration::from_secs(5)));
    r.client.list_scripts(scripts()).await.unwrap();
    assert_eq!(r.proxy.seen(LIST).len(), 2, "timed out once, then answered");

    r.proxy.on(LIST, Fault::Truncate);
    r.client.list_scripts(scripts()).await.unwrap();
    assert_eq!(r.proxy.seen(LIST).len(), 4, "cut off once, then whole");

    r.proxy.on(LIST, Fault::InvalidJson);
    let err = r.client.list_scripts(scripts()).await.unwrap_err();
    assert!(err.to_string().contains("unexpected answer"), "{err}");
    assert_eq!(
        r.proxy.seen(LIST).len(),
        5,
        "a bad answer is not asked again"
    );
}

async fn script(b: &dyn Backend) -> String {
    b.create_script(common::script_model("faulty", "echo hi\n"))
        .await
        .unwrap()
}

fn run() -> ScriptExecuteModel {
    ScriptExecuteModel {
        execute_param: ScriptExecuteParam {
            resourceful: true,
            timeout: 60,
            success_rate: 100.0,
            execute_user: "root".into(),
            script_params: vec![],
        },
        execute_batches: batches_of(&["demo-01".into()], 1, RotationStrategy::Continue),
    }
}

async fn orders(b: &dyn Backend) -> Vec<String> {
    b.list_orders(ListOrdersQuery {
        limit: Some(100),
        ..Default::default()
    })
    .await
    .unwrap()
    .data
    .into_iter()
    .map(|o| o.execute_uuid)
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_execution_is_sent_at_most_once_and_a_lost_answer_is_found() {
    let r = rig().await;
    let uuid = script(&r.client).await;
    let sent = |n: usize| assert_eq!(r.proxy.seen(EXECUTE).len(), n);

    // A 503 is not repeated; nothing started, and the error says it is safe to send again.
    r.proxy.on(EXECUTE, Fault::Status(503, vec![]));
    let err = r.client.execute_script(&uuid, run()).await.unwrap_err();
    sent(1);
    assert!(err.to_string().contains("did not happen"), "{err}");
    assert!(orders(&r.client).await.is_empty());

    // A connection dropped before the request got through: also not repeated, also nothing.
    r.proxy.on(EXECUTE, Fault::Drop);
    let err = r.client.execute_script(&uuid, run()).await.unwrap_err();
    sent(2);
    assert!(matches!(err, Error::Unanswered(_)), "{err:?}");
    assert!(orders(&r.client).await.is_empty());

    // The order starts but its answer is lost: the client finds it instead of sending again.
    r.proxy.on(EXECUTE, Fault::LoseAnswer);
    let eid = r.client.execute_script(&uuid, run()).await.unwrap();
    sent(3);
    assert_eq!(orders(&r.client).await, vec![eid.clone()]);

    // A 429 is a refusal: the request is sent again and runs once.
    r.proxy.on(
        EXECUTE,
        Fault::Status(429, vec![("Retry-After", "0".into())]),
    );
    let second = r.client.execute_script(&uuid, run()).await.unwrap();
    sent(5);
    let all = orders(&r.client).await;
    assert_eq!(all.len(), 2);
    assert!(all.contains(&eid) && all.contains(&second));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incident_whose_answer_is_lost_is_found_not_created_twice() {
    let r = rig().await;
    let create = CreateIncident {
        region: vec![],
        enterprise_project: vec![],
        current_cloud_service: vec!["web".into()],
        incident_level: "level_30".into(),
        is_service_interrupt: false,
        incident_type: "inc_type_p_function_issues".into(),
        incident_title: "checkout slow".into(),
        incident_description: "p99 above 2 s".into(),
        incident_source: "incident_source_manual".into(),
        incident_assignee: vec!["sre".into()],
        assignee_scene: None,
        assignee_role: None,
        creator: "sre".into(),
        incident_ownership: None,
        start_time: None,
    };
    r.proxy
        .on("POST /v1/external/incident/create", Fault::LoseAnswer);
    let num = r.client.create_incident(create).await.unwrap();
    assert_eq!(r.proxy.seen("POST /v1/external/incident/create").len(), 1);
    let all = r
        .client
        .list_incidents(ListIncidentsQuery::default())
        .await
        .unwrap()
        .data;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].incident_num, num);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_signature_names_the_clock_skew() {
    let r = rig().await;
    let ahead = chrono::Utc::now() + chrono::Duration::minutes(17);
    r.proxy.on(
        LIST,
        Fault::Status(
            401,
            vec![("Date", ahead.to_rfc2822().replace("+0000", "GMT"))],
        ),
    );
    let err = r.client.list_scripts(scripts()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("signature rejected"), "{text}");
    assert!(text.contains("skew 17 min"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_without_an_event_stream_is_polled() {
    let r = rig_with(
        &[("GET /v1/cocpit/events", Fault::Status(404, vec![]))],
        options(),
    )
    .await;
    let mut link = r.client.connection().unwrap();
    let state = tokio::time::timeout(
        common::PATIENCE,
        link.wait_for(|s| s.starts_with("polling")),
    )
    .await
    .expect("the client gives up on events")
    .unwrap()
    .clone();
    assert_eq!(state, cocpit::client::POLLING);
    // It asked once and stopped: no retry loop against an endpoint that has no stream.
    r.client.list_scripts(scripts()).await.unwrap();
    assert_eq!(r.proxy.seen("GET /v1/cocpit/events").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn config_check_measures_the_clock_skew_from_the_servers_date() {
    let r = rig().await;
    let behind = chrono::Utc::now() + chrono::Duration::minutes(20);
    r.proxy.on(
        "GET /v1/job/scripts",
        Fault::Status(
            401,
            vec![("Date", behind.to_rfc2822().replace("+0000", "GMT"))],
        ),
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cocpit"))
        .args(["--endpoint", &r.proxy.base, "config", "check"])
        .env("HUAWEICLOUD_SDK_AK", AK)
        .env("HUAWEICLOUD_SDK_SK", SK)
        .env("HUAWEICLOUD_SDK_PROJECT_ID", PROJECT)
        .env_remove("COCPIT_PROFILE")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("✘ COC") && text.contains("signature rejected"),
        "{text}"
    );
    assert!(
        text.contains("✘ clock: 20 min behind the server's; signatures are refused beyond 15 min"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_never_exceeds_its_request_rate() {
    let r = rig_with(
        &[],
        Options {
            max_rate: 10,
            ..options()
        },
    )
    .await;
    for _ in 0..11 {
        r.client.list_scripts(scripts()).await.unwrap();
    }
    let seen = r.proxy.seen(LIST);
    assert_eq!(seen.len(), 11);
    // Ten gaps of at least a tenth of a second each.
    assert!(seen[10].at - seen[0].at >= Duration::from_millis(1000));
}

#[tokio::test(flavor = "multi_thread")]
async fn account_wide_keys_sign_with_x_domain_id() {
    let r = rig().await;
    let global = Credentials {
        ak: AK.into(),
        sk: SK.into(),
        domain_id: Some("0a1b2c3d4e5f".into()),
        ..Default::default()
    };
    let b = connect_with(&r.proxy.base, global, options()).unwrap();
    // The server verified the signature, X-Domain-Id among what was signed.
    assert!(b.list_scripts(scripts()).await.is_ok());
    let head = r.proxy.seen(LIST).pop().unwrap().head.to_lowercase();
    assert!(head.contains("\r\nx-domain-id: 0a1b2c3d4e5f\r\n"), "{head}");
    assert!(!head.contains("x-project-id"), "{head}");
    assert!(head.contains(";x-domain-id;"), "signed: {head}");
    // Cloud Eye paths carry a project: without one, the client says so before sending.
    let err = b
        .list_agent_invocations(Default::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("project id"), "{err}");
}
