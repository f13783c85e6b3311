//! A remote console follows a live order from the change events alone: opening it is one read
//! (the snapshot) and every instance's progress arrives as a patch, so the requests it sends do
//! not grow with the order's batches or hosts. Counted in the server's own request log.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use cocpit::backend::prelude::*;
use cocpit::client::{Credentials, connect};
use cocpit::model::order::*;
use cocpit::tui::update::{self, Effect, Msg};
use common::server::{AK, PROJECT, SK, Server};

/// Requests the server logged, by route, from line `from` on.
fn logged(log: &std::path::Path, from: usize) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .skip(from)
        .filter(|l| l.contains(" request "))
        .map(|l| {
            l.split("route=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_console_follows_a_live_order_of_ten_batches_with_a_handful_of_requests() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(
        data.with_extension("toml"),
        "[inventory]\ndemo_fleet = 20\n",
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let server = Server::start_logging(&data, &log);
    let creds = Credentials {
        ak: AK.into(),
        sk: SK.into(),
        project_id: Some(PROJECT.into()),
        ..Default::default()
    };
    let b: Arc<dyn Backend> = Arc::new(connect(&server.base, creds).unwrap());
    let mut events = b.subscribe().expect("an event stream");
    let uuid = b
        .create_script(common::script_model(
            "ten_batches",
            "echo \"start $(hostname)\"\nsleep 0.2\necho done\n",
        ))
        .await
        .unwrap();
    // The console starts as the loop starts it, and settles.
    let mut s = cocpit::tui::initial_state(
        b.describe(),
        &cocpit::tui::settings::Ui::default(),
        &BTreeMap::new(),
    )
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    let mut pending = 0usize;
    let run = |effects: Vec<Effect>, pending: &mut usize| {
        for e in effects {
            *pending += 1;
            let (b, tx) = (b.clone(), tx.clone());
            tokio::spawn(async move {
                let _ = tx.send(cocpit::tui::run_effect(b, e).await);
            });
        }
    };
    run(cocpit::tui::startup_effects(), &mut pending);
    while pending > 0 {
        let out = update::update(&mut s, rx.recv().await.unwrap());
        pending -= 1;
        run(out.effects, &mut pending);
    }

    let hosts: Vec<String> = (1..=20).map(|i| format!("demo-{i:02}")).collect();
    let eid = b
        .execute_script(
            &uuid,
            ScriptExecuteModel {
                execute_param: ScriptExecuteParam {
                    resourceful: true,
                    timeout: 60,
                    success_rate: 100.0,
                    execute_user: "root".into(),
                    script_params: vec![],
                },
                execute_batches: batches_of(&hosts, 2, RotationStrategy::Continue),
            },
        )
        .await
        .unwrap();
    // The server writes its log from a thread of its own: the execute's line is the mark.
    common::until("the execute is logged", || {
        logged(&log, 0).last().map(String::as_str) == Some("EXECUTE_SCRIPT")
    })
    .await;
    let before = std::fs::read_to_string(&log).unwrap().lines().count();

    // The user opens the order as it runs; events and answers drive the console until it ends.
    let out = update::update(&mut s, Msg::Started(eid.clone()));
    run(out.effects, &mut pending);
    let finished = |s: &cocpit::tui::state::State| {
        s.order
            .as_ref()
            .and_then(|v| v.info.as_ref())
            .map(|i| i.status)
            == Some(OrderStatus::Finished)
    };
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    while !(finished(&s) && pending == 0) {
        let msg = tokio::select! {
            e = events.recv() => Msg::Engine(e.expect("the event stream stays open")),
            m = rx.recv() => {
                pending -= 1;
                m.unwrap()
            }
            _ = tokio::time::sleep_until(deadline) => panic!("the order did not finish"),
        };
        let out = update::update(&mut s, msg);
        run(out.effects, &mut pending);
    }

    // What the console shows is what the server has, read fresh.
    let v = s.order.as_ref().unwrap();
    let fresh = b.order_snapshot(&eid).await.unwrap();
    assert_eq!(v.instances.len(), 20);
    for (shown, truth) in v.instances.iter().zip(&fresh.instances) {
        assert_eq!(shown.instance.status, InstanceStatus::Finished);
        assert_eq!(shown.instance.status, truth.instance.status);
        assert_eq!(shown.instance.exit_code, truth.instance.exit_code);
        assert_eq!(shown.instance.message, truth.instance.message);
        assert_eq!(shown.instance.gmt_finished, truth.instance.gmt_finished);
    }
    assert_eq!(v.batches, fresh.batches);
    let row = s
        .orders
        .items
        .iter()
        .find(|r| r.execute_uuid == eid)
        .unwrap();
    assert_eq!(row.status, OrderStatus::Finished);
    assert_eq!(row.properties.tally.map(|t| t.succeeded), Some(20));

    // Only the console's requests (the fresh snapshot above is the test's own, the last line,
    // once the server has written it).
    common::until("the test's snapshot is logged", || {
        logged(&log, before)
            .iter()
            .filter(|r| *r == "ORDER_SNAPSHOT")
            .count()
            >= 2
    })
    .await;
    let mut sent = logged(&log, before);
    assert_eq!(sent.pop().as_deref(), Some("ORDER_SNAPSHOT"));
    eprintln!("the console's requests: {sent:?}");
    assert!(
        sent.len() <= 4,
        "{} requests for 10 batches × 2 hosts: {sent:?}",
        sent.len()
    );
    // Opening it is one read; everything else came with the events.
    let reads = sent.iter().filter(|r| *r == "ORDER_SNAPSHOT").count();
    assert_eq!(reads, 1, "{sent:?}");
}
