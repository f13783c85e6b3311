//! Prometheus Alertmanager (the Debian package, installed by .ci/test) with webhook receivers
//! pointing at a real `cocpit serve`, one of them behind `http_config.basic_auth` as when a
//! proxy authenticates: alerts fire, repeat, one alert of a group resolves, then the group.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::server::Server;
use serde_json::{Value, json};

const BINARY: &str = "prometheus-alertmanager";
const KEY: &str = "prom-key-0001";

struct Alertmanager {
    child: Child,
    base: String,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_alertmanager(dir: &std::path::Path, cocpit: &str) -> Alertmanager {
    let hook = format!("{cocpit}/v1/event/prometheus/{KEY}");
    let config = format!(
        r#"
route:
  receiver: plain
  group_by: ['alertname']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 2s
  routes:
    - matchers: ['team="proxied"']
      receiver: proxied
receivers:
  - name: plain
    webhook_configs:
      - url: {hook}
        send_resolved: true
  - name: proxied
    webhook_configs:
      - url: {hook}
        send_resolved: true
        http_config:
          basic_auth:
            username: alertmanager
            password: proxy-secret
"#
    );
    let file = dir.join("alertmanager.yml");
    std::fs::write(&file, config).unwrap();
    let port = free_port();
    let child = Command::new(BINARY)
        .arg(format!("--config.file={}", file.display()))
        .arg(format!("--storage.path={}", dir.join("am").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("alertmanager.log")).unwrap(),
        ))
        .spawn()
        .expect("start alertmanager");
    let am = Alertmanager {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        if let Ok(r) = http.get(format!("{}/-/ready", am.base)).send().await
            && r.status() == 200
        {
            return am;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alertmanager never became ready: {}",
            std::fs::read_to_string(dir.join("alertmanager.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn alert(name: &str, instance: &str, team: &str, ends: Option<&str>) -> Value {
    let mut a = json!({
        "labels": {"alertname": name, "instance": instance, "team": team, "severity": "critical"},
        "annotations": {"summary": format!("{name} on {instance}")},
        "startsAt": "2026-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
    });
    if let Some(e) = ends {
        a["endsAt"] = json!(e);
    }
    a
}

async fn post_alerts(am: &Alertmanager, alerts: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v2/alerts", am.base))
        .json(&alerts)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Waits until cocpit's alarm for `instance` satisfies `pred`.
async fn alarm_until(
    api: &common::server::Api,
    instance: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let v = api
        .until("/v1/cocpit/alarms?limit=100", what, |v| {
            v["data"]["alarms"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["labels"]["instance"] == instance && pred(a))
        })
        .await;
    v["data"]["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["instance"] == instance && pred(a))
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn alertmanager_fires_repeats_and_resolves_through_plain_and_basic_auth_receivers() {
    if Command::new(BINARY).arg("--version").output().is_err() {
        eprintln!("{BINARY} is not installed: skipping (bash .ci/test installs it)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::write(
        data.with_extension("toml"),
        format!(
            "[inventory]\ndemo_fleet = 1\n[[serve.integrations]]\nkey = \"{KEY}\"\nname = \"prometheus\"\nkind = \"prometheus\"\n"
        ),
    )
    .unwrap();
    let server = Server::start(&data);
    let api = server.client();
    let am = start_alertmanager(tmp.path(), &server.base).await;

    post_alerts(
        &am,
        json!([
            alert("DiskFull", "web-1:9100", "ops", None),
            alert("DiskFull", "web-2:9100", "ops", None),
            alert("Proxied", "edge-1:9100", "proxied", None),
        ]),
    )
    .await;
    for instance in ["web-1:9100", "web-2:9100", "edge-1:9100"] {
        let a = alarm_until(&api, instance, "the alert, fired", |a| {
            a["state"] == "firing"
        })
        .await;
        // The alarm began when Prometheus says it did, not when cocpit heard of it.
        assert_eq!(a["first_seen"], 1_767_225_600_000i64, "{a}");
        assert_eq!(a["level"], "Critical", "{a}");
    }
    // Alertmanager repeats a firing group (repeat_interval 2 s): counted as repeats.
    alarm_until(&api, "web-1:9100", "a repeat", |a| {
        a["count"].as_i64().unwrap() >= 2
    })
    .await;

    // One alert of the group resolves: it clears at its own end time; its neighbour fires on.
    let ended = chrono::Utc::now() - chrono::Duration::seconds(30);
    let ended_text = ended.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    post_alerts(
        &am,
        json!([alert("DiskFull", "web-1:9100", "ops", Some(&ended_text))]),
    )
    .await;
    let a = alarm_until(&api, "web-1:9100", "one alert resolved", |a| {
        a["state"] == "cleared"
    })
    .await;
    assert_eq!(a["cleared_at"], ended.timestamp_millis(), "{a}");
    let count_when_cleared = a["count"].as_i64().unwrap();
    let b = alarm_until(&api, "web-2:9100", "its neighbour", |_| true).await;
    assert_eq!(b["state"], "firing", "{b}");

    // The whole group resolves; the proxied receiver's alarm is still firing.
    post_alerts(
        &am,
        json!([alert("DiskFull", "web-2:9100", "ops", Some(&ended_text))]),
    )
    .await;
    alarm_until(&api, "web-2:9100", "the group resolved", |a| {
        a["state"] == "cleared"
    })
    .await;
    let e = alarm_until(&api, "edge-1:9100", "the proxied alarm", |_| true).await;
    assert_eq!(e["state"], "firing", "{e}");
    // Resolved notifications (Alertmanager resends them) are not repeats.
    let a = alarm_until(&api, "web-1:9100", "the cleared alarm", |_| true).await;
    assert_eq!(a["count"].as_i64().unwrap(), count_when_cleared, "{a}");
}
