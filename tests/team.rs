//! A team on one server: identities from the configured keys, roles enforced on every write
//! route (TAT and Cloud Eye included), names stamped from the caller whatever the body says,
//! script review driven by the official SDK, and the audit trail of every write.

mod common;

use common::server::{PROJECT, Server};
use serde_json::{Value, json};

/// Each user's access key and secret, and (for the TAT keys) a Tencent pair.
const TEAM: &[(&str, &str, &str, &str, &str)] = &[
    // ak, sk, user, user_id, role
    (
        "AKALICE0000000000001",
        "sk-alice",
        "alice",
        "u-alice",
        "operator",
    ),
    (
        "AKRITA00000000000001",
        "sk-rita",
        "rita",
        "u-rita",
        "operator",
    ),
    (
        "AKOSCAR0000000000001",
        "sk-oscar",
        "oscar",
        "u-oscar",
        "operator",
    ),
    (
        "AKVERA00000000000001",
        "sk-vera",
        "vera",
        "u-vera",
        "viewer",
    ),
    ("AKADAM00000000000001", "sk-adam", "adam", "u-adam", "admin"),
];

fn start(dir: &std::path::Path) -> Server {
    let mut config = String::from("[inventory]\ndemo_fleet = 2\n");
    for (ak, sk, user, id, role) in TEAM {
        config += &format!(
            "[[serve.credentials]]\nak = \"{ak}\"\nsk = \"{sk}\"\nproject_id = \"{PROJECT}\"\n\
             user = \"{user}\"\nuser_id = \"{id}\"\nrole = \"{role}\"\n\
             [[serve.tencent_credentials]]\nsecret_id = \"TC{ak}\"\nsecret_key = \"tc-{sk}\"\n\
             user = \"{user}\"\nrole = \"{role}\"\n"
        );
    }
    let data = dir.join("data");
    std::fs::write(data.with_extension("toml"), config).unwrap();
    Server::start(&data)
}

fn as_user(server: &Server, user: &str) -> common::server::Api {
    let (ak, sk, ..) = TEAM.iter().find(|t| t.2 == user).unwrap();
    server.client_as(ak, sk)
}

fn incident(creator: &str) -> Value {
    json!({
        "region": ["cn-north-4"], "enterprise_project": ["0"],
        "current_cloud_service": ["6470681a31da2a47ed50a919"],
        "incident_level": "level_50", "is_service_interrupt": "true",
        "incident_type": "inc_type_p_function_issues", "incident_title": "disk full",
        "incident_description": "/var at 100%", "incident_source": "incident_source_manual",
        "incident_assignee": ["ops-1"], "creator": creator,
        "assignee_scene": "", "assignee_role": ""
    })
}

/// Every declared write route: a viewer gets 403 naming its role; an operator is let through
/// (whatever the handler then says) except on admin-only routes; an admin everywhere.
#[tokio::test(flavor = "multi_thread")]
async fn every_write_route_refuses_a_viewer_and_admin_routes_need_an_admin() {
    use cocpit::endpoint::{ADMIN_ONLY, ALL, IAM_TOKENS, Method, Service, TAT, writes};
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path());
    let mut checked = 0;
    for route in ALL.iter().filter(|r| writes(r)) {
        // TAT is checked by action below; an IAM login needs no role.
        if [TAT.route(), IAM_TOKENS.route()].contains(route) {
            continue;
        }
        let args: Vec<&str> = route
            .path
            .split('/')
            .filter(|s| s.starts_with('{'))
            .map(|s| match s {
                "{project_id}" => PROJECT,
                _ => "x1",
            })
            .collect();
        let mut path = route.path.to_string();
        for a in &args {
            let open = path.find('{').unwrap();
            let close = path[open..].find('}').unwrap() + open;
            path.replace_range(open..=close, a);
        }
        let method = route.method.as_str();
        let body = Some(json!({}));
        let (status, v) = as_user(&server, "vera")
            .call(method, &path, body.clone())
            .await;
        assert_eq!(status, 403, "viewer on {method} {path}: {v}");
        assert!(
            v["error_msg"].as_str().unwrap().contains("viewer role"),
            "{method} {path}: {v}"
        );
        let (status, v) = as_user(&server, "oscar")
            .call(method, &path, body.clone())
            .await;
        if ADMIN_ONLY.contains(route) {
            assert_eq!(status, 403, "operator on admin-only {path}: {v}");
            assert!(
                v["error_msg"].as_str().unwrap().contains("admin role"),
                "{v}"
            );
            let (status, v) = as_user(&server, "adam").call(method, &path, body).await;
            assert_ne!(status, 403, "admin on {path}: {v}");
        } else {
            assert_ne!(status, 403, "operator on {method} {path}: {v}");
        }
        assert_ne!(route.method, Method::Get);
        assert!(route.service != Service::Tat);
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} write routes");

    // Reads stay open to a viewer, POST reads included.
    let vera = as_user(&server, "vera");
    let (status, v) = vera.call("GET", "/v1/job/scripts", None).await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = vera
        .call(
            "POST",
            &format!("/v3/{PROJECT}/agent-status/batch-query"),
            Some(json!({"instance_ids": ["demo-01"]})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    // The team, as reviewers are picked from it: names, ids and roles, never a key.
    let (_, users) = vera.call("GET", "/v1/cocpit/users", None).await;
    let text = users.to_string();
    assert!(
        text.contains("\"user\":\"rita\"") && text.contains("\"role\":\"viewer\""),
        "{text}"
    );
    assert!(!text.contains("sk-") && !text.contains("AKRITA"), "{text}");
    let (_, me) = vera.call("GET", "/v1/cocpit/whoami", None).await;
    assert_eq!(
        me["data"],
        json!({"user": "vera", "user_id": "u-vera", "role": "viewer"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tat_writes_need_a_writer_and_are_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path());
    let api = server.client();
    let tat_as = |user: &str| {
        let (ak, sk, ..) = TEAM.iter().find(|t| t.2 == user).unwrap();
        (format!("TC{ak}"), format!("tc-{sk}"))
    };
    let create_command = |user: &str| {
        let (id, key) = tat_as(user);
        let api = &api;
        async move {
            api.tat_as(
                &id,
                &key,
                "CreateCommand",
                json!({"CommandName": "x", "Content": "ZWNobw=="}),
            )
            .await
        }
    };
    let r = create_command("vera").await;
    assert_eq!(r["Error"]["Code"], "UnauthorizedOperation", "{r}");
    assert!(
        r["Error"]["Message"].as_str().unwrap().contains("viewer"),
        "{r}"
    );
    let (id, key) = tat_as("vera");
    let r = api.tat_as(&id, &key, "DescribeCommands", json!({})).await;
    assert!(r["Error"].is_null(), "{r}");
    let r = create_command("oscar").await;
    assert!(r["CommandId"].is_string(), "{r}");

    let trail = as_user(&server, "adam")
        .ok("GET", "/v1/cocpit/audit?kind=TAT:", None)
        .await;
    let trail = trail.as_array().unwrap();
    assert_eq!(trail.len(), 2, "{trail:?}");
    assert_eq!(trail[0]["user"], "oscar");
    assert_eq!(trail[0]["outcome"], "ok");
    assert_eq!(trail[1]["user"], "vera");
    assert_eq!(trail[1]["role"], "viewer");
    assert!(
        trail[1]["outcome"]
            .as_str()
            .unwrap()
            .contains("UnauthorizedOperation")
    );
}

/// The body cannot speak for someone else: the incident is stored with the caller's name, and
/// the audit entry says who, as what, from where.
#[tokio::test(flavor = "multi_thread")]
async fn changes_carry_the_callers_identity_and_every_write_is_in_the_trail() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path());
    let alice = as_user(&server, "alice");
    let (status, v) = alice
        .call(
            "POST",
            "/v1/external/incident/create",
            Some(incident("mallory")),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let num = v["data"]["incident_num"].as_str().unwrap().to_string();
    let (_, got) = alice
        .call("GET", &format!("/v1/external/incident/{num}"), None)
        .await;
    assert_eq!(got["data"]["creator"], "alice", "{got}");
    let (status, _) = as_user(&server, "vera")
        .call(
            "POST",
            "/v1/external/incident/create",
            Some(incident("vera")),
        )
        .await;
    assert_eq!(status, 403);
    // A silence's author is the caller too.
    let silence = alice
        .ok(
            "POST",
            "/v1/cocpit/silences",
            Some(
                json!({"matchers": [{"name": "name", "value": "x", "is_regex": false}],
                        "author": "mallory", "comment": "maintenance", "duration_s": 60}),
            ),
        )
        .await;
    assert_eq!(silence["author"], "alice", "{silence}");
    // A read is not a write: not in the trail.
    alice.ok("GET", "/v1/job/scripts", None).await;

    let trail = as_user(&server, "adam")
        .ok("GET", "/v1/cocpit/audit", None)
        .await;
    let trail = trail.as_array().unwrap();
    assert_eq!(trail.len(), 3, "{trail:?}");
    assert_eq!(trail[0]["operation"], "CREATE_SILENCE");
    assert_eq!(trail[0]["user"], "alice");
    let (refused, created) = (&trail[1], &trail[2]);
    assert_eq!(created["user"], "alice");
    assert_eq!(created["user_id"], "u-alice");
    assert_eq!(created["role"], "operator");
    assert_eq!(created["operation"], "CREATE_INCIDENT");
    assert_eq!(created["status"], 200);
    assert_eq!(created["outcome"], "ok");
    assert!(
        created["address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(refused["user"], "vera");
    assert_eq!(refused["status"], 403);
    assert!(refused["outcome"].as_str().unwrap().contains("viewer role"));
    // Filtered by user and by kind.
    let mine = alice.ok("GET", "/v1/cocpit/audit?user=alice", None).await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let none = alice.ok("GET", "/v1/cocpit/audit?kind=DELETE_", None).await;
    assert!(none.as_array().unwrap().is_empty());
    let (status, v) = alice.call("GET", "/v1/cocpit/audit?limit=0", None).await;
    assert_eq!(status, 400, "{v}");
    // A write that failed is there with why.
    let (status, _) = alice.call("DELETE", "/v1/cocpit/silences/nope", None).await;
    assert_eq!(status, 404);
    let newest = alice.ok("GET", "/v1/cocpit/audit?limit=1", None).await;
    assert_eq!(newest[0]["operation"], "EXPIRE_SILENCE");
    assert_eq!(newest[0]["status"], 404);
    let outcome = newest[0]["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("failed (404): ") && outcome.contains("nope"),
        "{outcome}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_sdk_drives_script_review_end_to_end() {
    let Some(python) = common::sdk::python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path());
    let pairs: Vec<String> = ["alice", "rita", "oscar", "vera"]
        .iter()
        .map(|u| {
            let (ak, sk, ..) = TEAM.iter().find(|t| t.2 == *u).unwrap();
            format!("{ak}:{sk}")
        })
        .collect();
    let mut args = vec![server.base.as_str(), PROJECT];
    args.extend(pairs.iter().map(String::as_str));
    common::sdk::check(&python, "review_check.py", &args).await;
    // Every decision is kept, with the content it applied to.
    let api = as_user(&server, "oscar");
    let scripts = api
        .ok("GET", "/v1/job/scripts?name_like=reviewed", None)
        .await;
    let uuid = scripts["data"][0]["script_uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let reviews = api
        .ok("GET", &format!("/v1/cocpit/scripts/{uuid}/reviews"), None)
        .await;
    let reviews = reviews.as_array().unwrap();
    assert_eq!(reviews.len(), 3, "{reviews:?}");
    assert_eq!(reviews[0]["status"], "APPROVED");
    assert_eq!(reviews[0]["reviewer_id"], "u-rita");
    assert_eq!(reviews[0]["content"], "echo v1\n");
    assert_eq!(reviews[0]["comments"], "ran it in staging");
    assert_eq!(reviews[1]["comments"], "same as before");
    assert_eq!(reviews[2]["status"], "REJECTED");
    assert_eq!(reviews[2]["content"], "echo v2\n");
}

/// A signed write is accepted once; a refused one changed nothing and may be sent again (the
/// SDKs sign equal requests within a second equally).
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_signed_write_may_be_resent_an_accepted_one_may_not() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path());
    let api = as_user(&server, "alice");
    let bad = serde_json::to_vec(&json!({"name": "has space"})).unwrap();
    let req = api.signed("POST", "/v1/job/scripts", &bad);
    for _ in 0..2 {
        let r = req.try_clone().unwrap().send().await.unwrap();
        assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
    }
    let good = serde_json::to_vec(&json!({"name": "once", "description": "d", "type": "SHELL",
        "content": "echo", "properties": {"risk_level": "LOW", "version": "1"}}))
    .unwrap();
    let req = api.signed("POST", "/v1/job/scripts", &good);
    let first = req.try_clone().unwrap().send().await.unwrap();
    assert_eq!(first.status(), 200);
    let again = req.send().await.unwrap();
    assert_eq!(again.status(), 401, "a replay of an accepted write");
}

/// In a real terminal: rita opens the console on the team's server, sees the script waiting
/// for her in the header, approves it from the Reviews pane with a comment, and runs it.
#[test]
fn a_reviewer_approves_a_script_from_the_keyboard_and_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = start(d);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = json!({"name": "needs_review", "description": "d", "type": "SHELL",
        "content": "echo reviewed-and-ran", "properties": {"risk_level": "LOW", "version": "1",
        "reviewers": [{"reviewer_name": "rita", "reviewer_id": "u-rita"}]}});
    let uuid = rt.block_on(as_user(&server, "alice").ok("POST", "/v1/job/scripts", Some(body)));
    let uuid = uuid.as_str().unwrap().to_string();

    let t = common::tmux::Tmux::new(d);
    let (ak, sk, ..) = TEAM.iter().find(|t| t.2 == "rita").unwrap();
    t.line(&format!(
        "HUAWEICLOUD_SDK_AK={ak} HUAWEICLOUD_SDK_SK={sk} {} --init --data {} --endpoint {}; echo cocpit-exited-$?",
        env!("CARGO_BIN_EXE_cocpit"),
        d.join("local").display(),
        server.base
    ));
    let s = t.wait_for("⚑ 1 to review");
    assert!(s.contains("rita · operator"), "{s}");
    t.keys(&["9"]);
    t.wait_for("scripts to review 1/1");
    t.keys(&["A"]);
    t.wait_for("Approve needs_review");
    t.run(&["send-keys", "-t", "main", "-l", "looks safe"]);
    t.keys(&["Enter"]);
    t.wait_for(&format!("{uuid} APPROVED"));
    t.wait_for("nothing waits for your review");
    t.keys(&["1"]);
    t.wait_for("needs_review");
    t.keys(&["r"]);
    t.wait_for("plan is valid");
    t.keys(&["Enter"]);
    t.wait_for("✔ finished needs_review");
    t.keys(&["q"]);
    t.wait_for("cocpit-exited-0");

    let reviews = rt.block_on(as_user(&server, "oscar").ok(
        "GET",
        &format!("/v1/cocpit/scripts/{uuid}/reviews"),
        None,
    ));
    assert_eq!(reviews[0]["reviewer"], "rita");
    assert_eq!(reviews[0]["comments"], "looks safe");
}
