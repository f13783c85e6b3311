//! Whole frames, state to buffer (ratatui's TestBackend), as the console draws them: the order
//! view with 200 instances in 20 batches and a 2 000-line log, and a list of 2 000 scripts, at
//! 80×24 and 160×48. Targets (issue "The console"): ≤150 µs at 80×24, ≤300 µs at 160×48.
//!
//! Also the alarms pane holding 100 000 alarms (target: ≤1 ms a frame).
//!
//! Run: `cargo bench --bench frames`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use cocpit::model::order::*;
use cocpit::model::script::*;
use cocpit::tui::keymap::Keymap;
use cocpit::tui::render::render;
use cocpit::tui::state::{BatchInstance, OrderView, Pane, State};
use cocpit::tui::theme::Theme;
use cocpit::tui::update::{self, Msg, OrderSnapshot};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn state() -> State {
    let mut s = State::new(
        "local engine /data".into(),
        Theme::default(),
        Keymap::default(),
    );
    s.clock = "12:00".into();
    s
}

fn scripts(n: i64) -> Vec<ScriptListModel> {
    (1..=n)
        .map(|i| ScriptListModel {
            id: i,
            script_uuid: format!("SC20231114221320{i:09x}"),
            name: format!("maintenance_task_{i}"),
            script_type: ScriptType::Shell,
            status: ScriptStatus::Approved,
            gmt_created: 1_700_000_000_000,
            gmt_modified: 1_700_000_000_000 + i,
            creator: "ops".into(),
            creator_id: "ops".into(),
            operator: "ops".into(),
            properties: ScriptPropertiesModel {
                risk_level: RiskLevel::Medium,
                version: "1.0".into(),
                reviewers: None,
                protocol: None,
            },
            enterprise_project_id: None,
        })
        .collect()
}

fn order() -> OrderSnapshot {
    let log: String = (0..2000)
        .map(|i| format!("[{i:04}] step {i}: \u{1b}[32mok\u{1b}[0m copying shard {i} of 2000\n"))
        .collect();
    let instances = (0..200)
        .map(|i| BatchInstance {
            batch_index: i / 10 + 1,
            instance: ExecutionInstanceModel {
                id: i + 1,
                target_instance: ResourceInstance {
                    resource_id: format!("web-{i:03}"),
                    ..Default::default()
                },
                gmt_created: 0,
                gmt_finished: Some(1500),
                execute_costs: Some(1500),
                status: if i < 120 {
                    InstanceStatus::Finished
                } else {
                    InstanceStatus::Ready
                },
                message: if i == 0 { log.clone() } else { "done\n".into() },
                exit_code: Some(0),
                attempt: Some(1),
            },
        })
        .collect();
    OrderSnapshot {
        info: JobScriptOrderInfoModel {
            execute_uuid: "SCT1".into(),
            gmt_created: 0,
            gmt_finished: None,
            execute_costs: None,
            creator: "ops".into(),
            status: OrderStatus::Processing,
            properties: JobScriptOrderInfoProp {
                script_uuid: "SC1".into(),
                script_name: "rollout".into(),
                script_version_uuid: None,
                script_version_name: None,
                current_execute_batch_index: 13,
                execute_param: ScriptExecuteParam {
                    resourceful: true,
                    timeout: 300,
                    success_rate: 90.0,
                    execute_user: "root".into(),
                    script_params: vec![],
                },
                script_source: None,
                pause_reason: None,
            },
        },
        batches: (1..=20)
            .map(|b| JobScriptBatchListModel {
                batch_index: b,
                total_instances: 10,
                rotation_strategy: RotationStrategy::Continue,
                properties: None,
            })
            .collect(),
        instances,
    }
}

fn alarms(n: i64) -> Vec<cocpit::model::alarm::Alarm> {
    use cocpit::model::alarm::*;
    (0..n)
        .map(|i| Alarm {
            alarm_id: format!("AL1700000000000{i:06}"),
            integration_key: "prom".into(),
            source_id: format!("fp-{i}"),
            name: format!("LoadTest {}", i % 50),
            level: [
                AlarmLevel::Critical,
                AlarmLevel::Major,
                AlarmLevel::Minor,
                AlarmLevel::Info,
            ][i as usize % 4],
            state: AlarmState::Firing,
            namespace: "prod".into(),
            region_id: "cn-north-4".into(),
            application_id: "web".into(),
            resource_name: format!("host-{i}"),
            resource_id: format!("host-{i}"),
            description: format!("load alert {i}"),
            url: "http://prometheus/graph".into(),
            source: "prometheus".into(),
            labels: Default::default(),
            count: 1,
            first_seen: 1_700_000_000_000 + i,
            last_seen: 1_700_000_000_000 + i,
            cleared_at: None,
            acked_by: None,
            acked_at: None,
            incident_num: None,
            silenced_by: None,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut storm = state();
    update::go(&mut storm, Pane::Alarms);
    update::update(
        &mut storm,
        Msg::Triage(update::TriageMsg::Alarms(Ok(alarms(100_000)), false)),
    );
    update::act(&mut storm, cocpit::tui::action::Action::PageDown);
    for (w, h) in [(80, 24), (160, 48)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        c.bench_function(&format!("frame/alarms_100000/{w}x{h}"), |b| {
            b.iter(|| {
                t.draw(|f| render(black_box(&storm), f)).unwrap();
            })
        });
    }
    let mut list = state();
    update::update(&mut list, Msg::Scripts(Ok(scripts(2000)), false));
    update::act(&mut list, cocpit::tui::action::Action::Bottom);
    let mut view = state();
    view.order = Some(OrderView::new("SCT1".into()));
    update::go(&mut view, Pane::Order);
    update::update(&mut view, Msg::Order("SCT1".into(), Ok(Box::new(order()))));
    for (w, h) in [(80, 24), (160, 48)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        c.bench_function(&format!("frame/empty_baseline/{w}x{h}"), |b| {
            b.iter(|| {
                t.draw(|_| {}).unwrap();
            })
        });
    }
    for (name, s) in [("scripts_2000", &list), ("order_200x2000", &view)] {
        for (w, h) in [(80, 24), (160, 48)] {
            let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
            c.bench_function(&format!("frame/{name}/{w}x{h}"), |b| {
                b.iter(|| {
                    t.draw(|f| render(black_box(s), f)).unwrap();
                })
            });
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
