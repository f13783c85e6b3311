//! Cloud Eye agent tasks and Workspace desktop agents over signed HTTP against a real
//! `cocpit serve`: the shipped demo agent really changes the instance (its version file).

mod common;

use common::server::{PROJECT, Server};
use serde_json::{Value, json};

fn open(v: &Value) -> bool {
    v["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["invocation_status"] == "PENDING" || i["invocation_status"] == "RUNNING")
}

fn marker(home: &std::path::Path, id: &str) -> Option<String> {
    std::fs::read_to_string(home.join(id).join("telescope/version"))
        .ok()
        .map(|s| s.trim().to_string())
}

struct Fixture {
    _dir: tempfile::TempDir,
    home: std::path::PathBuf,
    server: Server,
}

fn start() -> Fixture {
    start_with("")
}

/// A server on the demo fleet, with `agents` as its `[agents]` table.
fn start_with(agents: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("agents");
    std::fs::create_dir_all(&home).unwrap();
    let data = dir.path().join("data");
    std::fs::write(
        data.with_extension("toml"),
        format!("[inventory]\ndemo_fleet = 4\ndemo_desktops = 2\n[agents]\n{agents}"),
    )
    .unwrap();
    let server = Server::start_with(&data, &[("COCPIT_AGENT_HOME", home.to_str().unwrap())]);
    Fixture {
        _dir: dir,
        home,
        server,
    }
}

async fn create(api: &common::server::Api, body: Value) -> Vec<Value> {
    let (status, v) = api
        .call(
            "POST",
            &format!("/v3/{PROJECT}/agent-invocations/batch-create"),
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    v["invocations"].as_array().unwrap().clone()
}

async fn settled(api: &common::server::Api, instance: &str) -> Vec<Value> {
    let v = api
        .until(
            &format!("/v3/{PROJECT}/agent-invocations?instance_id={instance}"),
            "the agent tasks to end",
            |v| !open(v),
        )
        .await;
    v["invocations"].as_array().unwrap().clone()
}

async fn agent_state(api: &common::server::Api, id: &str) -> Value {
    let v = api
        .ok("GET", &format!("/v1/resources?resource_id_list={id}"), None)
        .await;
    v[0]["agent_state"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn install_update_rollback_and_retry_really_change_the_instance() {
    let f = start();
    let api = f.server.client();
    // demo-03 cannot take the agent: its directory is a file.
    std::fs::write(f.home.join("demo-03"), "in the way").unwrap();

    let answers = create(
        &api,
        json!({"instance_ids": ["demo-01", "demo-03", "nope"], "invocation_type": "INSTALL",
               "invocation_target": "telescope", "version_type": "BASIC_VERSION"}),
    )
    .await;
    assert_eq!(answers.len(), 3);
    let ok: Vec<&Value> = answers
        .iter()
        .filter(|a| a["ret_status"] == "successful")
        .collect();
    assert_eq!(ok.len(), 2, "{answers:?}");
    let nope = answers.iter().find(|a| a["instance_id"] == "nope").unwrap();
    assert_eq!(nope["ret_status"], "error");
    assert_eq!(nope["error_code"], "invocationmgr.0001");

    let one = settled(&api, "demo-01").await;
    assert_eq!(one[0]["invocation_status"], "SUCCEEDED", "{one:?}");
    assert_eq!(one[0]["target_version"], "3.2.0");
    assert_eq!(marker(&f.home, "demo-01").as_deref(), Some("3.2.0"));
    assert_eq!(agent_state(&api, "demo-01").await, "ONLINE");
    let install_01 = one[0]["invocation_id"].as_str().unwrap().to_string();

    let three = settled(&api, "demo-03").await;
    assert_eq!(three[0]["invocation_status"], "FAILED", "{three:?}");
    assert_eq!(agent_state(&api, "demo-03").await, "FAILED");
    let failed = three[0]["invocation_id"].as_str().unwrap().to_string();

    // The status query reports the extension and its version.
    let (status, v) = api
        .call(
            "POST",
            &format!("/v3/{PROJECT}/agent-status/batch-query"),
            Some(json!({"instance_ids": ["demo-01", "demo-02"]})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["agent_status"][0]["extensions"][0]["status"], "running");
    assert_eq!(v["agent_status"][0]["extensions"][0]["version"], "3.2.0");
    assert_eq!(v["agent_status"][1]["extensions"][0]["status"], "none");

    // RETRY the failure once the obstacle is gone.
    std::fs::remove_file(f.home.join("demo-03")).unwrap();
    let retry = create(
        &api,
        json!({"invocation_type": "RETRY", "invocation_ids": [failed]}),
    )
    .await;
    assert_eq!(retry[0]["ret_status"], "successful", "{retry:?}");
    assert_ne!(retry[0]["invocation_id"], failed);
    let three = settled(&api, "demo-03").await;
    assert_eq!(three[0]["invocation_status"], "SUCCEEDED", "{three:?}");
    assert_eq!(marker(&f.home, "demo-03").as_deref(), Some("3.2.0"));

    // A success cannot be retried; the answer names the invocation.
    let again = create(
        &api,
        json!({"invocation_type": "RETRY", "invocation_ids": [install_01]}),
    )
    .await;
    assert_eq!(again[0]["ret_status"], "error");
    assert_eq!(again[0]["error_code"], "invocationmgr.0006");
    assert_eq!(again[0]["invocation_id"], install_01.as_str());

    // UPDATE to a named version, then ROLLBACK it.
    let update = create(
        &api,
        json!({"instance_ids": ["demo-01"], "invocation_type": "UPDATE", "version": "3.3.0"}),
    )
    .await;
    let update_id = update[0]["invocation_id"].as_str().unwrap().to_string();
    settled(&api, "demo-01").await;
    assert_eq!(marker(&f.home, "demo-01").as_deref(), Some("3.3.0"));
    create(
        &api,
        json!({"invocation_type": "ROLLBACK", "invocation_ids": [update_id]}),
    )
    .await;
    let one = settled(&api, "demo-01").await;
    assert_eq!(one[0]["invocation_type"], "ROLLBACK");
    assert_eq!(one[0]["invocation_status"], "SUCCEEDED", "{one:?}");
    assert_eq!(marker(&f.home, "demo-01").as_deref(), Some("3.2.0"));
    let rolled = one
        .iter()
        .find(|i| i["invocation_id"] == update_id.as_str())
        .unwrap();
    assert_eq!(rolled["invocation_status"], "ROLLBACKED");

    // Rolling back the first install removes the agent.
    create(
        &api,
        json!({"invocation_type": "ROLLBACK", "invocation_ids": [install_01]}),
    )
    .await;
    settled(&api, "demo-01").await;
    assert_eq!(marker(&f.home, "demo-01"), None);
    assert_eq!(agent_state(&api, "demo-01").await, "UNINSTALLED");
    let filtered = api
        .ok("GET", "/v1/resources?agent_state=UNINSTALLED", None)
        .await;
    assert_eq!(filtered.as_array().unwrap().len(), 1, "{filtered}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_agent_requests_are_400_naming_the_field() {
    let f = start();
    let api = f.server.client();
    let path = format!("/v3/{PROJECT}/agent-invocations/batch-create");
    for (body, field) in [
        (
            json!({"invocation_type": "INSTALL", "instance_ids": []}),
            "instance_ids",
        ),
        (json!({"invocation_type": "ROLLBACK"}), "invocation_ids"),
        (
            json!({"invocation_type": "INSTALL", "instance_ids": ["demo-01"], "origin": "ME"}),
            "origin",
        ),
        (json!({"invocation_type": 7}), "invocation_type"),
    ] {
        let (status, v) = api.call("POST", &path, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error_code"], "ces.0014");
        assert!(
            v["error_msg"].as_str().unwrap().contains(field),
            "{body}: {v}"
        );
    }
    // A REMOTE_INSTALL password is never echoed, even in an error.
    let (status, v) = api
        .call(
            "POST",
            &path,
            Some(json!({"invocation_type": "REMOTE_INSTALL",
                        "remote_install_meta": [{"remote_ip": "10.0.0.x", "password": "hunter2-secret"}]})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(!v.to_string().contains("hunter2-secret"), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn desktop_agents_install_as_a_job() {
    let f = start();
    let api = f.server.client();
    let path = format!("/v2/{PROJECT}/desktops/agents");
    let (status, v) = api
        .call(
            "POST",
            &path,
            Some(json!({"desktop_ids": ["desktop-0001", "desktop-0002"]})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let job = v["job_id"].as_str().unwrap().to_string();
    let done = api
        .until(
            &format!("/v2/{PROJECT}/workspace-jobs/{job}"),
            "the install job to end",
            |v| v["status"] == "SUCCESS" || v["status"] == "FAIL",
        )
        .await;
    assert_eq!(done["status"], "SUCCESS", "{done}");
    assert_eq!(done["sub_jobs_total"], 2);
    assert!(
        done["sub_jobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["process"] == 100)
    );
    assert_eq!(marker(&f.home, "desktop-0002").as_deref(), Some("3.2.0"));

    let list = api
        .call("GET", &format!("{path}?is_installed=true"), None)
        .await
        .1;
    assert_eq!(list["total_count"], 2, "{list}");
    assert_eq!(
        list["agents_condition"][0]["agent_info"][0]["agent_version"],
        "3.2.0"
    );
    assert_eq!(list["agents_condition"][0]["task_status"], "SUCCESS");

    for (body, field) in [
        (json!({"desktop_ids": []}), "desktop_ids"),
        (
            json!({"desktop_ids": ["desktop-0001", "desktop-0001"]}),
            "desktop_ids[1]",
        ),
        (json!({"desktop_ids": ["desktop-9999"]}), "desktop_ids[0]"),
        (json!({"desktop_ids": ["demo-01"]}), "desktop_ids[0]"),
        (json!({}), "desktop_ids"),
    ] {
        let (status, v) = api.call("POST", &path, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error_code"], "WKS.00010001");
        assert!(
            v["error_msg"].as_str().unwrap().contains(field),
            "{body}: {v}"
        );
    }
    // Desktops are not ECS servers.
    let servers = api.ok("GET", "/v1/resources?limit=100", None).await;
    assert!(
        servers
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["resource_id"].as_str().unwrap().starts_with("desktop-"))
    );
}

/// Installs the agent on `id` and makes it the remote installer.
async fn installer(api: &common::server::Api, id: &str) {
    create(
        api,
        json!({"instance_ids": [id], "invocation_type": "INSTALL", "invocation_target": "telescope"}),
    )
    .await;
    assert_eq!(settled(api, id).await[0]["invocation_status"], "SUCCEEDED");
    let answers = create(
        api,
        json!({"invocation_type": "SET_REMOTE_INSTALLER", "instance_ids": [id]}),
    )
    .await;
    assert_eq!(answers[0]["ret_status"], "successful", "{answers:?}");
}

/// The TOML string of `s`.
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_install_reaches_a_real_sshd_from_the_designated_installer() {
    let sshd = common::sshd::Sshd::start();
    let remote_home = sshd.dir.path().join("remote-agent");
    let key = sshd.dir.path().join("client_key");
    let options = format!(
        "-i {} -o IdentitiesOnly=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR -F /dev/null",
        key.display()
    );
    let f = start_with(&format!(
        "remote_ssh_options = {}\nremote_agent_home = {}\n",
        toml_str(&options),
        toml_str(&remote_home.display().to_string())
    ));
    let api = f.server.client();
    let remote = json!({"remote_ip": "127.0.0.1", "port": sshd.port.to_string(),
                        "user_name": common::sshd::Sshd::user(), "remote_use_pem": true,
                        "instance_name": "edge-box"});

    // Without an installer, the host is refused with the code that says so.
    let answers = create(
        &api,
        json!({"invocation_type": "REMOTE_INSTALL", "remote_install_meta": [remote.clone()]}),
    )
    .await;
    assert_eq!(answers[0]["ret_status"], "error", "{answers:?}");
    assert_eq!(answers[0]["error_code"], "invocationmgr.0007");

    installer(&api, "demo-02").await;

    let answers = create(
        &api,
        json!({"invocation_type": "REMOTE_INSTALL", "remote_install_meta": [remote.clone()],
               "version": "3.3.1"}),
    )
    .await;
    assert_eq!(answers[0]["ret_status"], "successful", "{answers:?}");
    let target = answers[0]["instance_id"].as_str().unwrap().to_string();
    let done = settled(&api, &target).await;
    let task = &done[0];
    assert_eq!(task["invocation_status"], "SUCCEEDED", "{task}");
    assert_eq!(task["invocation_type"], "REMOTE_INSTALL");
    assert!(
        task["result_msg"]
            .as_str()
            .unwrap()
            .contains("telescope 3.3.1 installed on"),
        "{task}"
    );
    // The remote host really has the agent: the file the install left over ssh.
    assert_eq!(
        std::fs::read_to_string(remote_home.join("telescope/version"))
            .unwrap()
            .trim(),
        "3.3.1"
    );
    assert!(sshd.authentications() >= 1, "the install went through sshd");

    // A host nobody listens on fails with ssh's reason, and nothing is left behind.
    let closed = common::sshd::free_port();
    let answers = create(
        &api,
        json!({"invocation_type": "REMOTE_INSTALL", "remote_install_meta": [{
            "remote_ip": "127.0.0.1", "port": closed.to_string(), "remote_use_pem": true,
            "instance_name": "nobody-home"}]}),
    )
    .await;
    let target = answers[0]["instance_id"].as_str().unwrap().to_string();
    let failed = &settled(&api, &target).await[0];
    assert_eq!(failed["invocation_status"], "FAILED", "{failed}");
    assert!(
        failed["result_msg"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{failed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_install_password_is_masked_in_the_tasks_output() {
    // An installer command that (carelessly) prints the password it was given.
    let f = start_with(
        "remote_install = \"echo login with $COCPIT_REMOTE_PASSWORD on $COCPIT_REMOTE_IP\"\n",
    );
    let api = f.server.client();
    installer(&api, "demo-01").await;
    let answers = create(
        &api,
        json!({"invocation_type": "REMOTE_INSTALL", "remote_install_meta": [{
            "remote_ip": "10.1.2.3", "password": "hunter2-secret", "instance_name": "vm-9"}]}),
    )
    .await;
    let target = answers[0]["instance_id"].as_str().unwrap().to_string();
    let done = &settled(&api, &target).await[0];
    assert_eq!(done["invocation_status"], "SUCCEEDED", "{done}");
    let msg = done["result_msg"].as_str().unwrap();
    assert!(
        msg.contains("login with ") && msg.contains("on 10.1.2.3"),
        "{msg}"
    );
    assert!(!msg.contains("hunter2-secret"), "{msg}");
    // Nor is it anywhere in the store.
    let data = f._dir.path().join("data");
    for entry in std::fs::read_dir(&data).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        assert!(
            !bytes.windows(14).any(|w| w == b"hunter2-secret"),
            "the password reached the store"
        );
    }
}
