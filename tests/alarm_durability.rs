//! Alarms acknowledged with a 200 are on disk: a load of concurrent pushes, `kill -9` of the
//! server in the middle of it, a restart, and every acknowledged alarm is there.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use common::server::Server;
use serde_json::json;

const CONFIG: &str =
    "[inventory]\ndemo_fleet = 1\n[[serve.integrations]]\nkey = \"load-key\"\nkind = \"custom\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_alarm_survives_kill_9_mid_load() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(data.with_extension("toml"), CONFIG).unwrap();
    let mut srv = Server::start(&data);
    let url = format!("{}/v1/event/huawei/custom/load-key", srv.base);
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let (count_tx, mut count_rx) = tokio::sync::watch::channel(0usize);
    let count_tx = Arc::new(count_tx);
    let mut tasks = vec![];
    for t in 0..16 {
        let (url, acked, count_tx) = (url.clone(), acked.clone(), count_tx.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0.. {
                let id = format!("load-{t}-{i}");
                let body = json!({"alarmId": id, "alarmName": "load", "alarmLevel": "Minor",
                    "time": 1, "nameSpace": "ns", "applicationId": "app",
                    "alarmDesc": "durability", "alarmSource": "test"});
                match http.post(&url).json(&body).send().await {
                    Ok(r) if r.status() == 200 => {
                        acked.lock().unwrap().push(id);
                        count_tx.send_modify(|n| *n += 1);
                    }
                    // The server is gone: this pusher is done.
                    _ => return,
                }
            }
        }));
    }
    // Mid-load: once 400 alarms are acknowledged, with pushes still in flight.
    count_rx.wait_for(|n| *n >= 400).await.unwrap();
    srv.kill9();
    for t in tasks {
        t.await.unwrap();
    }
    let acked: BTreeSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert!(acked.len() >= 400);

    let srv = Server::start(&data);
    let api = srv.client();
    let mut stored = BTreeSet::new();
    let mut marker: Option<i64> = None;
    loop {
        let q = match marker {
            Some(m) => format!("/v1/cocpit/alarms?limit=1000&include_silenced=true&marker={m}"),
            None => "/v1/cocpit/alarms?limit=1000&include_silenced=true".to_string(),
        };
        let page = api.ok("GET", &q, None).await;
        for a in page["alarms"].as_array().unwrap() {
            stored.insert(a["source_id"].as_str().unwrap().to_string());
        }
        match page["next_marker"].as_i64() {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged alarms lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}
