//! IAM token authentication end to end: `cocpit serve` issues tokens at `POST /v3/auth/tokens`
//! for its configured users and accepts them as `X-Auth-Token`; the client logs in once, reuses
//! the token, and fetches a new one shortly before it expires.

mod common;

use std::time::Duration;

use cocpit::backend::{Error, prelude::*};
use cocpit::client::{Credentials, Options, TokenAuth, connect_with};
use cocpit::model::script::ListScriptsQuery;
use common::faults::Proxy;
use common::server::{PROJECT, Server};

const TOKENS: &str = "POST /v3/auth/tokens";

fn login(password: &str) -> Credentials {
    Credentials {
        project_id: Some(PROJECT.into()),
        token: Some(TokenAuth::Password {
            user: "ops".into(),
            password: password.into(),
            domain: None,
        }),
        ..Default::default()
    }
}

fn list() -> ListScriptsQuery {
    ListScriptsQuery {
        limit: Some(5),
        ..Default::default()
    }
}

/// A server whose tokens live `ttl` seconds, behind a proxy that counts requests.
async fn served(dir: &std::path::Path, ttl: u64) -> (Server, Proxy) {
    let data = dir.join("data");
    std::fs::write(
        data.with_extension("toml"),
        format!(
            "[inventory]\ndemo_fleet = 2\n[serve]\ntoken_ttl = {ttl}\n[[serve.users]]\nname = \"ops\"\npassword = \"pw-ops\"\n"
        ),
    )
    .unwrap();
    let server = Server::start(&data);
    let proxy = Proxy::start(&server.host).await;
    (server, proxy)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_token_is_reused_and_renewed_before_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, proxy) = served(dir.path(), 2).await;
    let client = connect_with(&proxy.base, login("pw-ops"), Options::default()).unwrap();
    for _ in 0..3 {
        client.list_scripts(list()).await.unwrap();
    }
    assert_eq!(proxy.seen(TOKENS).len(), 1, "one login for many requests");
    // The token lives 2 s; the client renews it a quarter before, so requests keep working.
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    while proxy.seen(TOKENS).len() < 2 {
        client.list_scripts(list()).await.unwrap();
        assert!(tokio::time::Instant::now() < deadline, "never renewed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logins = proxy.seen(TOKENS);
    assert!(logins[1].at - logins[0].at >= Duration::from_millis(1400));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_or_a_bogus_token_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _proxy) = served(dir.path(), 3600).await;
    let wrong = connect_with(&server.base, login("guess"), Options::default()).unwrap();
    let err = wrong.list_scripts(list()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("IAM refused the login of ops: The username or password is wrong."),
        "{err}"
    );
    let bogus = Credentials {
        token: Some(TokenAuth::Given("MIInot-a-token".into())),
        ..login("")
    };
    let client = connect_with(&server.base, bogus, Options::default()).unwrap();
    let err = client.list_scripts(list()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Remote { status: 401, message, .. } if message.contains("X-Auth-Token is unknown or expired")),
        "{err}"
    );
    // A token got elsewhere (here: by hand, as IAM gives it) works as it is.
    let r = reqwest::Client::new()
        .post(format!("{}/v3/auth/tokens", server.base))
        .json(
            &serde_json::json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"name": "ops", "password": "pw-ops"}}}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["token"]["expires_at"].as_str().is_some(), "{body}");
    let given = Credentials {
        token: Some(TokenAuth::Given(token)),
        ..login("")
    };
    let client = connect_with(&server.base, given, Options::default()).unwrap();
    assert!(client.list_scripts(list()).await.is_ok());
}
