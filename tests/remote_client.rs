//! The remote backend against a real `cocpit serve`: every call signed and answered as the
//! local engine answers, live events over SSE, errors a user can act on, and the CLI with
//! `--endpoint`.

mod common;

use cocpit::backend::{Error, prelude::*};
use cocpit::client::{Credentials, connect};
use cocpit::engine::Change;
use cocpit::model::alarm::*;
use cocpit::model::incident::*;
use cocpit::model::order::*;
use cocpit::model::resource::ListResourcesQuery;
use cocpit::model::script::*;
use common::server::{AK, PROJECT, SK, Server};

const CONFIG: &str =
    "[inventory]\ndemo_fleet = 3\n[[serve.integrations]]\nkey = \"cli\"\nkind = \"custom\"\n";

fn creds(sk: &str) -> Credentials {
    Credentials {
        ak: AK.into(),
        sk: sk.into(),
        project_id: Some(PROJECT.into()),
        tencent: Some((common::server::TC_ID.into(), common::server::TC_KEY.into())),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_desktops_and_invokers_work_remotely() {
    use cocpit::model::agent::*;
    use cocpit::model::tat::*;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("agents");
    let server = Server::start_with(
        &dir.path().join("data"),
        &[("COCPIT_AGENT_HOME", home.to_str().unwrap())],
    );
    let b = cocpit::client::connect(&server.base, creds(SK)).unwrap();
    let mut events = b.subscribe().unwrap();
    // The stream is up (the server answered it) before anything happens.
    let mut link = b.connection().unwrap();
    tokio::time::timeout(common::PATIENCE, link.wait_for(|l| l == "connected"))
        .await
        .unwrap()
        .unwrap();
    let answers = b
        .create_agent_invocations(BatchCreateInvocationRequestBody {
            instance_ids: Some(vec!["demo-02".into()]),
            invocation_type: "INSTALL".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(answers[0].ret_status, "successful");
    // The events carry the agent's row as it changes: running, then installed.
    let installed = tokio::time::timeout(common::PATIENCE, async {
        loop {
            if let Ok(Change::AgentsChanged { agents, .. }) = events.recv().await
                && let Some(a) = agents.into_iter().find(|a| a.instance_id == "demo-02")
                && a.version.as_deref() == Some("3.2.0")
            {
                return a;
            }
        }
    })
    .await
    .expect("an event with the installed agent");
    assert_eq!(installed.agent_state.as_deref(), Some("ONLINE"));
    let task = installed.last_invocation.expect("its task");
    assert_eq!(task.invocation_status, InvocationStatus::Succeeded);
    let listed = b.agents().await.unwrap();
    let a = listed.iter().find(|a| a.instance_id == "demo-02").unwrap();
    assert_eq!(a.version.as_deref(), Some("3.2.0"));
    let job = b
        .install_desktop_agents(vec!["desktop-0001".into()])
        .await
        .unwrap();
    assert!(b.desktop_jobs().await.unwrap().iter().any(|j| j.id == job));
    // Its events carry the desktop's row, with the job's progress.
    let row = tokio::time::timeout(common::PATIENCE, async {
        loop {
            if let Ok(Change::DesktopJobChanged { job_id, desktops }) = events.recv().await
                && job_id == job
                && let Some(d) = desktops
                    .into_iter()
                    .find(|d| d.desktop_id == "desktop-0001")
            {
                return d;
            }
        }
    })
    .await
    .expect("an event with the job's desktop");
    assert!(row.task_status.is_some(), "{row:?}");
    let err = b
        .install_desktop_agents(vec![])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("desktop_ids"), "{err}");

    let cmd = b
        .create_command(CreateCommandRequest {
            command_name: Some("remote".into()),
            content: Some("ZWNobyBoaQ==".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let ivk = b
        .create_invoker(CreateInvokerRequest {
            name: Some("r".into()),
            invoker_type: Some("SCHEDULE".into()),
            command_id: Some(cmd),
            instance_ids: Some(vec!["demo-01".into()]),
            schedule_settings: Some(ScheduleSettings {
                policy: "RECURRENCE".into(),
                recurrence: Some("0 4 * * *".into()),
                invoke_time: None,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    b.set_invoker_enabled(&ivk, false).await.unwrap();
    // The events carry the invoker's row as it is now: disabled.
    tokio::time::timeout(common::PATIENCE, async {
        loop {
            if let Ok(Change::InvokerChanged {
                invoker: Some(row), ..
            }) = events.recv().await
                && row.invoker_id == ivk
                && !row.enable
            {
                return;
            }
        }
    })
    .await
    .expect("an event with the disabled invoker");
    let d = b
        .describe_invokers(DescribeRequest::default())
        .await
        .unwrap();
    assert_eq!(d.total_count, 1);
    assert!(!d.set[0].enable);
    let bad = b
        .create_invoker(CreateInvokerRequest {
            name: Some("r".into()),
            invoker_type: Some("SCHEDULE".into()),
            command_id: Some("cmd-nothere".into()),
            instance_ids: Some(vec!["demo-01".into()]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("ScheduleSettings"), "{bad}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_remote_backend_does_what_the_local_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(data.with_extension("toml"), CONFIG).unwrap();
    let srv = Server::start(&data);
    let b = connect(&srv.base, creds(SK)).unwrap();
    let mut events = b.subscribe().unwrap();
    assert!(b.describe().contains(&srv.base));

    let hosts = b
        .list_resources(ListResourcesQuery {
            provider: Some("ecs".into()),
            resource_id_list: vec!["demo-01".into(), "demo-02".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hosts.len(), 2);
    let uuid = b
        .create_script(AddScriptModel {
            name: "remote_hello".into(),
            description: "over http".into(),
            script_type: ScriptType::Shell,
            content: "echo \"hello $1 ü\"\n".into(),
            properties: ScriptPropertiesModel {
                risk_level: RiskLevel::Low,
                version: "1".into(),
                reviewers: None,
                protocol: None,
            },
            script_params: Some(vec![ScriptParamDefine {
                param_name: "who".into(),
                param_value: "x".into(),
                param_description: String::new(),
                param_order: 1,
                sensitive: false,
            }]),
            enterprise_project_id: None,
        })
        .await
        .unwrap();
    let page = b
        .list_scripts(ListScriptsQuery {
            name_like: Some("remote".into()),
            limit: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.data[0].script_uuid, uuid);
    // A refusal carries the server's code and message.
    let err = b
        .update_script(
            &uuid,
            EditScriptModel {
                description: String::new(),
                content: "echo".into(),
                properties: None,
                script_params: None,
                name: None,
                script_type: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Remote { status: 400, code, message } if code == "COC.00040601" && message.starts_with("description")),
        "{err}"
    );

    let body = ScriptExecuteModel {
        execute_param: ScriptExecuteParam {
            resourceful: true,
            timeout: 60,
            success_rate: 100.0,
            execute_user: "root".into(),
            script_params: vec![ScriptExecuteInputParam {
                param_name: "who".into(),
                param_value: "ops".into(),
                param_order: 1,
            }],
        },
        execute_batches: batches_of(
            &["demo-01".into(), "demo-02".into()],
            2,
            RotationStrategy::Continue,
        ),
    };
    let eid = b.execute_script(&uuid, body).await.unwrap();
    // Live events over SSE until the order finishes.
    loop {
        let ev = tokio::time::timeout(common::PATIENCE, events.recv())
            .await
            .expect("events over SSE")
            .unwrap();
        if let Change::OrderChanged {
            execute_uuid,
            status,
            ..
        } = ev
            && execute_uuid == eid
            && status == OrderStatus::Finished
        {
            break;
        }
    }
    let batches = b.list_batches(&eid).await.unwrap();
    let d = b
        .get_batch(&eid, batches[0].batch_index, BatchDetailQuery::default())
        .await
        .unwrap();
    assert!(
        d.execute_instances[0].message.contains("hello ops ü"),
        "{:?}",
        d.execute_instances[0].message
    );

    // Incidents and alarms.
    let num = b
        .create_incident(CreateIncident {
            region: vec![],
            enterprise_project: vec![],
            current_cloud_service: vec!["web".into()],
            incident_level: "level_30".into(),
            is_service_interrupt: false,
            incident_type: "inc_type_p_function_issues".into(),
            incident_title: "remote incident".into(),
            incident_description: "via the client".into(),
            incident_source: "incident_source_manual".into(),
            incident_assignee: vec!["ops".into()],
            assignee_scene: None,
            assignee_role: None,
            creator: "ops".into(),
            incident_ownership: None,
            start_time: None,
        })
        .await
        .unwrap();
    let st = b
        .handle_incident(&num, OperateKey::Accept, Default::default())
        .await
        .unwrap();
    assert_eq!(st, IncidentStatus::Acknowledged);
    let detail = b.incident_detail(&num).await.unwrap();
    assert_eq!(detail.timeline[1].operator, AK, "the access key acts");
    b.push_alarm(
        "cli",
        CustomEvent {
            alarm_id: Some("r-1".into()),
            alarm_name: Some("remote alarm".into()),
            alarm_level: Some("Major".into()),
            time: Some(1),
            name_space: Some("ns".into()),
            application_id: Some("web".into()),
            alarm_desc: Some("d".into()),
            alarm_source: Some("test".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (alarms, next) = b.list_alarms(ListAlarmsQuery::default()).await.unwrap();
    assert_eq!((alarms.len(), next), (1, None));
    assert_eq!(
        b.ack_alarms(&[alarms[0].alarm_id.clone()]).await.unwrap(),
        1
    );
    assert_eq!(
        b.alarm(&alarms[0].alarm_id)
            .await
            .unwrap()
            .acked_by
            .as_deref(),
        Some(AK)
    );
    // The alarms an event names, in one call; an id no longer stored is left out.
    let id = alarms[0].alarm_id.clone();
    let named = b.alarms(&[id.clone(), "AL-none".into()]).await.unwrap();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].alarm_id, id);
    assert_eq!(named[0].acked_by.as_deref(), Some(AK));
    let too_many: Vec<String> = (0..=MAX_IDS).map(|i| format!("AL{i}")).collect();
    let err = b.alarms(&too_many).await.unwrap_err();
    assert!(err.to_string().starts_with("ids: at most 200"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_say_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(&dir.path().join("data"));
    let wrong = connect(&srv.base, creds("not-the-secret")).unwrap();
    let err = wrong
        .list_scripts(ListScriptsQuery::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("signature rejected"), "{err}");
    let port = common::sshd::free_port();
    let gone = connect(&format!("http://127.0.0.1:{port}"), creds(SK)).unwrap();
    let err = gone
        .list_scripts(ListScriptsQuery::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot reach"), "{err}");
    assert!(connect("ftp://example", creds(SK)).is_err());
}

#[test]
fn the_cli_works_against_an_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(&dir.path().join("data"));
    let cli = |args: &[&str], with_keys: bool| {
        let mut c = common::server::cocpit();
        c.arg("--endpoint").arg(&srv.base).args(args);
        c.env_remove("HUAWEICLOUD_SDK_AK").env_remove("COCPIT_AK");
        if with_keys {
            c.env("HUAWEICLOUD_SDK_AK", AK)
                .env("HUAWEICLOUD_SDK_SK", SK)
                .env("HUAWEICLOUD_SDK_PROJECT_ID", PROJECT);
        }
        c.output().unwrap()
    };
    let out = cli(&["resource", "list", "-o", "json"], true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 4);
    let out = cli(&["script", "list"], false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HUAWEICLOUD_SDK_AK"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connection_state_follows_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut srv = Server::start(&dir.path().join("data"));
    let b = connect(&srv.base, creds(SK)).unwrap();
    let _events = b.subscribe().unwrap();
    let mut link = b
        .connection()
        .expect("a remote backend reports its connection");
    tokio::time::timeout(common::PATIENCE, link.wait_for(|c| c == "connected"))
        .await
        .expect("connected")
        .unwrap();
    srv.kill9();
    let state = tokio::time::timeout(
        common::PATIENCE,
        link.wait_for(|c| c.contains("retrying in")),
    )
    .await
    .expect("the loss is reported")
    .unwrap()
    .clone();
    assert!(state.starts_with("offline"), "{state}");
}

#[test]
fn a_profile_reaches_a_served_engine_and_config_check_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let srv = Server::start(&d.join("data"));
    let keys = |name: &str, sk: &str| {
        let p = d.join(name);
        std::fs::write(
            &p,
            format!(
                "ak = \"{AK}\"\nsk = \"{sk}\"\ntc_secret_id = \"{}\"\ntc_secret_key = \"{}\"\n",
                common::server::TC_ID,
                common::server::TC_KEY
            ),
        )
        .unwrap();
        p.display().to_string()
    };
    let (good, bad) = (keys("good.toml", SK), keys("bad.toml", "not-the-secret"));
    let config = d.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "profile = \"team\"\n\
             [profiles.team]\nendpoint = \"{base}\"\nproject_id = \"{PROJECT}\"\ncredentials_file = {good:?}\n\
             [profiles.stale]\nendpoint = \"{base}\"\nproject_id = \"{PROJECT}\"\ncredentials_file = {bad:?}\n\
             [profiles.prod]\nregion = \"cn-east-3\"\n",
            base = srv.base
        ),
    )
    .unwrap();
    let cli = |args: &[&str]| {
        let out = common::server::cocpit()
            .arg("--config")
            .arg(&config)
            .args(["--init", "--data"])
            .arg(d.join("local"))
            .args(args)
            .env_remove("COCPIT_PROFILE")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The default profile: the served engine's four demo hosts, not the local engine.
    let (code, out, err) = cli(&["resource", "list", "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 4);
    let (_, out, _) = cli(&["status"]);
    assert!(
        out.starts_with(&format!("cocpit — remote team ({})", srv.base)),
        "{out}"
    );

    let (code, out, _) = cli(&["config", "check"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "✔ keys: access key {}**** from profiles.team.credentials_file",
            &AK[..4]
        )),
        "{out}"
    );
    assert!(
        out.contains("a signed request is accepted (HTTP 200)"),
        "{out}"
    );
    assert!(out.contains("✔ clock: within"), "{out}");
    for service in ["Cloud Eye", "Workspace", "TAT"] {
        assert!(
            out.contains(&format!("✔ {service} {}: answers", srv.base)),
            "{out}"
        );
    }
    assert!(!out.contains(SK), "the secret is never printed");

    // A stale key: the check fails on COC and says what to look at.
    let (code, out, _) = cli(&["--profile", "stale", "config", "check"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("✘ COC") && out.contains("signature rejected"),
        "{out}"
    );
    assert!(!out.contains("not-the-secret"));

    // A region without a known COC endpoint, and a profile that does not exist.
    let (code, _, err) = cli(&["--profile", "prod", "script", "list"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("set profiles.prod.endpoints.coc"), "{err}");
    let (code, _, err) = cli(&["--profile", "nope", "script", "list"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no [profiles.nope]") && err.contains("prod, stale, team"),
        "{err}"
    );
}
