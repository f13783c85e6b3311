//! Every pane, in its empty, loading, error and full states, rendered into ratatui's TestBackend
//! at 80×24 and 160×48 and compared with the committed snapshots (`tests/snapshots/`).

mod common;

use common::tui::{draw, state};

use cocpit::model::order::*;
use cocpit::model::resource::{Resource, Tag};
use cocpit::model::script::*;
use cocpit::tui::action::Action;
use cocpit::tui::state::*;
use cocpit::tui::update::{self, Msg, OrderSnapshot};

const T0: i64 = 1_700_000_000_000;

fn script(i: i64, name: &str, risk: RiskLevel) -> ScriptListModel {
    ScriptListModel {
        id: i,
        script_uuid: format!("SC20231114221320{i:09x}"),
        name: name.into(),
        script_type: if i % 3 == 0 {
            ScriptType::Python
        } else {
            ScriptType::Shell
        },
        status: ScriptStatus::Approved,
        gmt_created: T0,
        gmt_modified: T0 + i * 60_000,
        creator: "ops".into(),
        creator_id: "ops".into(),
        operator: "ops".into(),
        properties: ScriptPropertiesModel {
            risk_level: risk,
            version: format!("1.{i}"),
            reviewers: None,
            protocol: None,
        },
        enterprise_project_id: None,
    }
}

fn scripts() -> Vec<ScriptListModel> {
    let names = [
        "deploy_web",
        "rotate_logs",
        "restart_nginx",
        "清理缓存_cache",
        "db_backup",
        "kernel_patch",
    ];
    (1..=30)
        .map(|i| {
            let risk = [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High][i as usize % 3];
            script(i, &format!("{}_{i}", names[i as usize % names.len()]), risk)
        })
        .collect()
}

fn order_row(i: i64, status: OrderStatus) -> JobScriptOrderListModel {
    JobScriptOrderListModel {
        order_id: i,
        order_name: format!("deploy_web_{i}"),
        execute_uuid: format!("SCT20231114221320{i:09x}"),
        gmt_created: T0 + i * 3_600_000,
        gmt_finished: status.is_terminal().then_some(T0 + i * 3_600_000 + 42_000),
        execute_costs: status.is_terminal().then_some(42_000),
        creator: "ops".into(),
        status,
        properties: JobScriptOrderListProp {
            region_ids: Some("local".into()),
            tally: Some(match status {
                OrderStatus::Finished => Tally::of([InstanceStatus::Abnormal; 8]),
                OrderStatus::Paused => Tally::of([
                    InstanceStatus::Finished,
                    InstanceStatus::Abnormal,
                    InstanceStatus::Processing,
                    InstanceStatus::Ready,
                ]),
                OrderStatus::Processing => {
                    Tally::of([InstanceStatus::Finished, InstanceStatus::Processing])
                }
                _ => Tally::of([InstanceStatus::Finished, InstanceStatus::Canceled]),
            }),
            success_rate: Some(100.0),
        },
    }
}

fn resources() -> Vec<Resource> {
    (1..=12)
        .map(|i| Resource {
            id: format!("web-{i:02}"),
            resource_id: format!("web-{i:02}"),
            name: format!("web-{i:02}"),
            provider: "ecs".into(),
            resource_type: "cloudservers".into(),
            project_id: None,
            region_id: Some("local".into()),
            ep_id: None,
            tags: vec![
                Tag {
                    key: "env".into(),
                    value: if i < 6 { "prod" } else { "staging" }.into(),
                },
                Tag {
                    key: "app".into(),
                    value: "web".into(),
                },
            ],
            properties: match i {
                3 => serde_json::json!({"transport": "ssh", "unreachable": "ssh: connect to host 10.0.0.3 port 22: Connection refused"}),
                _ => serde_json::json!({"transport": if i % 4 == 0 { "local" } else { "ssh" }}),
            }
            .as_object()
            .cloned()
            .unwrap(),
            agent_id: None,
            agent_state: match i {
                3 => Some("OFFLINE".into()),
                5 => None,
                _ => Some("ONLINE".into()),
            },
            inner_ip: None,
        })
        .collect()
}

fn instance(id: i64, host: &str, status: InstanceStatus, message: &str) -> ExecutionInstanceModel {
    ExecutionInstanceModel {
        id,
        target_instance: ResourceInstance {
            resource_id: host.into(),
            ..Default::default()
        },
        gmt_created: T0,
        gmt_finished: status.is_done().then_some(T0 + 1500),
        execute_costs: status.is_done().then_some(1500),
        status,
        message: message.into(),
        exit_code: match status {
            InstanceStatus::Finished => Some(0),
            InstanceStatus::Abnormal => Some(3),
            _ => None,
        },
        attempt: Some(if status == InstanceStatus::Ready {
            0
        } else {
            1
        }),
    }
}

fn order_snapshot() -> OrderSnapshot {
    let log = "pulling release 2.4.1\n\u{1b}]0;evil title\u{7}checking health \u{1b}[31mRED\u{1b}[0m\n宽字符 ✓ done\n";
    let mut instances = vec![];
    let statuses = [
        (1, InstanceStatus::Finished),
        (1, InstanceStatus::Finished),
        (1, InstanceStatus::Abnormal),
        (2, InstanceStatus::Processing),
        (2, InstanceStatus::Ready),
        (3, InstanceStatus::Ready),
    ];
    for (n, (b, st)) in statuses.iter().enumerate() {
        let msg = match st {
            InstanceStatus::Abnormal => {
                "connecting\nerror: disk full\n[cocpit] exit code 3".to_string()
            }
            InstanceStatus::Ready => String::new(),
            _ => log.to_string(),
        };
        instances.push(BatchInstance {
            batch_index: *b,
            instance: instance(n as i64 + 1, &format!("web-{:02}", n + 1), *st, &msg),
        });
    }
    let batch = |i: i64, n: i64, p: &str| JobScriptBatchListModel {
        batch_index: i,
        total_instances: n,
        rotation_strategy: RotationStrategy::Pause,
        properties: Some(p.into()),
    };
    OrderSnapshot {
        info: JobScriptOrderInfoModel {
            execute_uuid: "SCT20231114221320000000001".into(),
            gmt_created: T0,
            gmt_finished: None,
            execute_costs: None,
            creator: "ops".into(),
            status: OrderStatus::Paused,
            properties: JobScriptOrderInfoProp {
                script_uuid: "SC20231114221320000000001".into(),
                script_name: "deploy_web".into(),
                script_version_uuid: None,
                script_version_name: Some("1.2".into()),
                current_execute_batch_index: 2,
                execute_param: ScriptExecuteParam {
                    resourceful: true,
                    timeout: 300,
                    success_rate: 80.0,
                    execute_user: "root".into(),
                    script_params: vec![],
                },
                script_source: None,
                pause_reason: Some("success 67 % below threshold 80 % (1 of 3 failed)".into()),
            },
        },
        batches: vec![
            batch(1, 3, "ABNORMAL"),
            batch(2, 2, "PROCESSING"),
            batch(3, 1, "READY"),
        ],
        instances,
    }
}

/// Snapshots `s` at both sizes.
fn loaded() -> State {
    let mut s = state();
    update::update(&mut s, Msg::Scripts(Ok(scripts()), false));
    let orders = vec![
        order_row(1, OrderStatus::Finished),
        order_row(2, OrderStatus::Paused),
        order_row(3, OrderStatus::Processing),
        order_row(4, OrderStatus::Canceled),
    ];
    update::update(&mut s, Msg::Orders(Ok(orders), false));
    update::update(&mut s, Msg::Resources(Ok(resources())));
    s
}

#[test]
fn scripts_pane_states() {
    snap!("scripts_loading", &state());
    let mut s = state();
    update::update(
        &mut s,
        Msg::Scripts(Err("connection refused (retrying in 4 s)".into()), false),
    );
    snap!("scripts_error", &s);
    let mut s = state();
    update::update(&mut s, Msg::Scripts(Ok(vec![]), false));
    snap!("scripts_empty", &s);
    let mut s = loaded();
    update::act(&mut s, Action::Down);
    update::act(&mut s, Action::Down);
    snap!("scripts_full", &s);
    s.scripts.set_filter("nginx");
    snap!("scripts_filtered", &s);
    s.scripts.set_filter("no-such-script");
    snap!("scripts_filter_no_match", &s);
}

#[test]
fn orders_and_resources_panes() {
    let mut s = loaded();
    update::go(&mut s, Pane::Orders);
    snap!("orders_full", &s);
    update::go(&mut s, Pane::Resources);
    update::act(&mut s, Action::ToggleMark);
    update::act(&mut s, Action::ToggleMark);
    snap!("resources_marked", &s);
    update::go(&mut s, Pane::Incidents);
    snap!("incidents_not_backed", &s);
}

#[test]
fn order_view_states() {
    let mut s = loaded();
    s.order = Some(OrderView::new("SCT20231114221320000000001".into()));
    update::go(&mut s, Pane::Order);
    snap!("order_loading", &s);
    let eid = "SCT20231114221320000000001".to_string();
    update::update(
        &mut s,
        Msg::Order(eid.clone(), Ok(Box::new(order_snapshot()))),
    );
    snap!("order_paused", &s);
    // `/` searches the log: only matching lines, matches marked.
    update::act(&mut s, Action::Filter);
    for c in "HEALTH".chars() {
        update::update(&mut s, Msg::Key(key(c)));
    }
    update::update(
        &mut s,
        Msg::Key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Enter,
        )),
    );
    assert_eq!(s.order.as_ref().unwrap().search, "HEALTH");
    // The whole log stays; the cursor goes to the newest match.
    let screen = format!("{:?}", draw(&s, 160, 48));
    assert!(screen.contains("checking health"), "{screen}");
    assert!(screen.contains("pulling release"), "{screen}");
    assert_eq!(
        s.message.clone().unwrap().1,
        "match 1 of 1 · line 2",
        "{:?}",
        s.message
    );
    snap!("order_log_search", &s);
    update::act(&mut s, Action::Filter);
    update::update(
        &mut s,
        Msg::Key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Esc,
        )),
    );
    assert_eq!(s.order.as_ref().unwrap().search, "");
    update::act(&mut s, Action::NextBatch);
    update::act(&mut s, Action::ToggleWrap);
    snap!("order_batch2", &s);
    let mut s2 = loaded();
    s2.order = Some(OrderView::new(eid.clone()));
    update::go(&mut s2, Pane::Order);
    update::update(&mut s2, Msg::Order(eid, Err("order does not exist".into())));
    snap!("order_error", &s2);
}

#[test]
fn overlays() {
    let mut s = loaded();
    update::act(&mut s, Action::Help);
    snap!("help_scripts", &s);
    let mut s = loaded();
    update::act(&mut s, Action::Palette);
    for c in "the".chars() {
        update::update(&mut s, Msg::Key(key(c)));
    }
    snap!("palette_theme", &s);
    let mut s = loaded();
    update::act(&mut s, Action::Bottom);
    update::act(&mut s, Action::RunScript);
    let uuid = s.scripts.selected_item().unwrap().script_uuid.clone();
    let p = |name: &str, value: &str, order: i64, sensitive: bool| ScriptParamDefine {
        param_name: name.into(),
        param_value: value.into(),
        param_description: String::new(),
        param_order: order,
        sensitive,
    };
    update::update(
        &mut s,
        Msg::ScriptParams(
            uuid,
            Ok(vec![
                p("release", "2.4.1", 1, false),
                p("token", "hunter2", 2, true),
            ]),
        ),
    );
    for _ in 0..2 {
        update::update(
            &mut s,
            Msg::Key(ratatui::crossterm::event::KeyEvent::from(
                ratatui::crossterm::event::KeyCode::Backspace,
            )),
        );
    }
    update::update(&mut s, Msg::Key(key('4')));
    update::update(&mut s, Msg::Key(key('0')));
    snap!("run_form_invalid", &s);
    assert!(
        !format!("{}", draw(&s, 160, 48)).contains("hunter2"),
        "a sensitive value was shown"
    );
    let mut s = loaded();
    s.order = Some(OrderView::new("SCT20231114221320000000001".into()));
    update::go(&mut s, Pane::Order);
    update::update(
        &mut s,
        Msg::Order(
            "SCT20231114221320000000001".into(),
            Ok(Box::new(order_snapshot())),
        ),
    );
    update::act(&mut s, Action::CancelOrder);
    snap!("confirm_cancel", &s);
}

#[test]
fn the_run_form_sends_the_edited_parameters() {
    let mut s = loaded();
    update::act(&mut s, Action::RunScript);
    let uuid = s.scripts.selected_item().unwrap().script_uuid.clone();
    let declared = ScriptParamDefine {
        param_name: "release".into(),
        param_value: "1.0".into(),
        param_description: String::new(),
        param_order: 1,
        sensitive: false,
    };
    update::update(&mut s, Msg::ScriptParams(uuid.clone(), Ok(vec![declared])));
    // Fields: batch size, rotation, success rate, timeout, explicit batches, then $release.
    // Typing on the rotation (a toggle, no text) does nothing.
    let tab = || {
        Msg::Key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Tab,
        ))
    };
    update::update(&mut s, tab());
    update::update(
        &mut s,
        Msg::Key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Backspace,
        )),
    );
    update::update(&mut s, Msg::Key(key('7')));
    for _ in 0..4 {
        update::update(
            &mut s,
            Msg::Key(ratatui::crossterm::event::KeyEvent::from(
                ratatui::crossterm::event::KeyCode::Tab,
            )),
        );
    }
    update::update(&mut s, Msg::Key(key('1')));
    let out = update::update(
        &mut s,
        Msg::Key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Enter,
        )),
    );
    let Some(update::Effect::Execute { script_uuid, body }) = out.effects.first() else {
        panic!("no execution: {:?} {:?}", out.effects, s.overlay);
    };
    assert_eq!(script_uuid, &uuid);
    assert_eq!(body.execute_param.script_params[0].param_value, "1.01");
    assert_eq!(body.execute_batches.len(), 2, "12 hosts in batches of 10");
}

#[test]
fn explicit_batches_are_checked_and_sent_as_typed() {
    let mut s = loaded();
    update::act(&mut s, Action::RunScript);
    let uuid = s.scripts.selected_item().unwrap().script_uuid.clone();
    update::update(&mut s, Msg::ScriptParams(uuid, Ok(vec![])));
    for _ in 0..4 {
        update::update(
            &mut s,
            Msg::Key(ratatui::crossterm::event::KeyEvent::from(
                ratatui::crossterm::event::KeyCode::Tab,
            )),
        );
    }
    for c in "web-03 web-01 | web-99".chars() {
        update::update(&mut s, Msg::Key(key(c)));
    }
    let Overlay::Run(f) = &s.overlay else {
        panic!("run form closed")
    };
    assert_eq!(
        f.error.as_deref(),
        Some("batches: no host \"web-99\" in the inventory")
    );
    for _ in 0..2 {
        update::update(
            &mut s,
            Msg::Key(ratatui::crossterm::event::KeyEvent::from(
                ratatui::crossterm::event::KeyCode::Backspace,
            )),
        );
    }
    for c in "02,web-01".chars() {
        update::update(&mut s, Msg::Key(key(c)));
    }
    let Overlay::Run(f) = &s.overlay else {
        panic!("run form closed")
    };
    assert!(
        f.error.as_deref().unwrap_or("").contains("web-01"),
        "a host twice is refused: {:?}",
        f.error
    );
    for _ in 0.."web-01".len() + 1 {
        update::update(
            &mut s,
            Msg::Key(ratatui::crossterm::event::KeyEvent::from(
                ratatui::crossterm::event::KeyCode::Backspace,
            )),
        );
    }
    snap!("run_form_explicit_batches", &s);
    let out = update::update(
        &mut s,
        Msg::Key(ratatui::crossterm::event::KeyEvent::from(
            ratatui::crossterm::event::KeyCode::Enter,
        )),
    );
    let Some(update::Effect::Execute { body, .. }) = out.effects.first() else {
        panic!("no execution: {:?} {:?}", out.effects, s.overlay);
    };
    let batches: Vec<Vec<&str>> = body
        .execute_batches
        .iter()
        .map(|b| {
            b.target_instances
                .iter()
                .map(|i| i.resource_id.as_str())
                .collect()
        })
        .collect();
    assert_eq!(batches, [vec!["web-03", "web-01"], vec!["web-02"]]);
}

#[test]
fn a_remote_backend_shows_its_connection() {
    let mut s = loaded();
    s.backend = "remote http://10.0.0.9:8080".into();
    s.connection = Some("connected".into());
    let top = format!("{:?}", draw(&s, 160, 48));
    assert!(top.contains("● connected"), "{top}");
    s.connection = Some("offline · retrying in 4 s".into());
    snap!("remote_offline", &s);
}

#[test]
fn a_tiny_terminal_gets_a_message() {
    insta::assert_snapshot!("too_small_40x10", draw(&loaded(), 40, 10));
}

fn key(c: char) -> ratatui::crossterm::event::KeyEvent {
    ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Char(c))
}

#[test]
fn falling_behind_reloads_what_is_shown_and_a_resize_only_redraws() {
    let mut s = loaded();
    s.order = Some(OrderView::new("SCT1".into()));
    let out = update::update(&mut s, Msg::Resize);
    assert!(out.redraw && out.effects.is_empty(), "{out:?}");
    let out = update::update(&mut s, Msg::Resync);
    assert!(
        out.effects
            .contains(&update::Effect::LoadOrders(cocpit::pages::PAGE))
    );
    assert!(
        out.effects
            .contains(&update::Effect::LoadOrder("SCT1".into()))
    );
}

#[test]
fn without_an_event_stream_the_shown_pane_is_polled_faster_while_an_order_runs() {
    use cocpit::tui::update::{Effect, Msg, POLL_BUSY_S, POLL_IDLE_S, poll_interval};
    use std::time::Duration;
    let mut s = common::tui::state();
    assert_eq!(poll_interval(&s), None, "the local engine has events");
    update::update(&mut s, Msg::Connection(cocpit::client::POLLING.into()));
    assert!(s.polling);
    assert_eq!(poll_interval(&s), Some(Duration::from_secs(POLL_IDLE_S)));
    assert!(
        draw(&s, 160, 48).to_string().contains("◐ polling"),
        "the header says so"
    );
    // An order open and PROCESSING: read often; the tick reads that order only.
    let with_status = |st| {
        let mut o = order_snapshot();
        o.info.status = st;
        o
    };
    let snap = with_status(OrderStatus::Processing);
    let eid = snap.info.execute_uuid.clone();
    s.order = Some(OrderView::new(eid.clone()));
    s.pane = Pane::Order;
    update::update(&mut s, Msg::Order(eid.clone(), Ok(Box::new(snap))));
    assert_eq!(poll_interval(&s), Some(Duration::from_secs(POLL_BUSY_S)));
    let out = update::update(&mut s, Msg::Poll);
    assert_eq!(out.effects, vec![Effect::LoadOrder(eid.clone())]);
    // Finished: back to the slow pace.
    update::update(
        &mut s,
        Msg::Order(eid, Ok(Box::new(with_status(OrderStatus::Finished)))),
    );
    assert_eq!(poll_interval(&s), Some(Duration::from_secs(POLL_IDLE_S)));
}

#[test]
fn a_run_form_opened_before_the_hosts_arrive_takes_them_when_they_do() {
    let mut s = state();
    update::update(&mut s, Msg::Scripts(Ok(scripts()), false));
    update::update(&mut s, Msg::Key(key('r')));
    let Overlay::Run(f) = &s.overlay else {
        panic!("no run form");
    };
    assert!(f.hosts.is_empty());
    let uuid = f.script_uuid.clone();
    update::update(&mut s, Msg::ScriptParams(uuid, Ok(vec![])));
    let Overlay::Run(f) = &s.overlay else {
        panic!("no run form");
    };
    assert!(
        f.error.as_deref().unwrap_or("").starts_with("no hosts"),
        "{:?}",
        f.error
    );
    update::update(&mut s, Msg::Resources(Ok(resources())));
    let Overlay::Run(f) = &s.overlay else {
        panic!("no run form");
    };
    assert_eq!(f.hosts.len(), resources().len());
    assert_eq!(f.error, None);
}

fn code(c: ratatui::crossterm::event::KeyCode) -> Msg {
    Msg::Key(ratatui::crossterm::event::KeyEvent::from(c))
}

/// An order of 8 hosts in batch 1 and 2 in batch 2, at `current` batch.
fn eight_host_order(current: i64) -> OrderSnapshot {
    let mut snap = order_snapshot();
    snap.info.status = OrderStatus::Processing;
    snap.info.properties.pause_reason = None;
    snap.info.properties.current_execute_batch_index = current;
    snap.instances = (1..=10)
        .map(|n| BatchInstance {
            batch_index: if n <= 8 { 1 } else { 2 },
            instance: instance(
                n,
                &format!("web-{n:02}"),
                if n <= 8 {
                    InstanceStatus::Processing
                } else {
                    InstanceStatus::Ready
                },
                &format!("line one of {n}\nline two of {n}\n"),
            ),
        })
        .collect();
    snap.batches = vec![
        JobScriptBatchListModel {
            batch_index: 1,
            total_instances: 8,
            rotation_strategy: RotationStrategy::Continue,
            properties: None,
        },
        JobScriptBatchListModel {
            batch_index: 2,
            total_instances: 2,
            rotation_strategy: RotationStrategy::Continue,
            properties: None,
        },
    ];
    snap
}

#[test]
fn the_order_view_is_driven_from_the_keyboard() {
    use ratatui::crossterm::event::KeyCode;
    let mut s = loaded();
    let eid = "SCT20231114221320000000001".to_string();
    s.order = Some(OrderView::new(eid.clone()));
    update::go(&mut s, Pane::Order);
    update::update(
        &mut s,
        Msg::Order(eid.clone(), Ok(Box::new(eight_host_order(1)))),
    );
    let v = |s: &State| s.order.clone().unwrap();
    // j/k and arrows move the instance selection; the 6th is reached from the keyboard.
    for _ in 0..5 {
        update::update(&mut s, Msg::Key(key('j')));
    }
    assert_eq!(v(&s).selected_instance().unwrap().id, 6);
    update::update(&mut s, code(KeyCode::Up));
    assert_eq!(v(&s).instance, 4);
    update::update(&mut s, code(KeyCode::Down));
    snap!("order_eight_hosts_sixth", &s);
    let screen = format!("{:?}", draw(&s, 80, 24));
    assert!(
        screen.contains(" of 8 "),
        "a batch longer than fits says so: {screen}"
    );
    update::update(&mut s, Msg::Key(key('G')));
    assert_eq!(v(&s).instance, 7);
    update::update(&mut s, Msg::Key(key('g')));
    assert_eq!(v(&s).instance, 0);
    update::update(&mut s, code(KeyCode::PageDown));
    assert!(v(&s).instance > 0);
    // enter opens the log; the list keys then scroll it.
    update::update(&mut s, code(KeyCode::Enter));
    assert_eq!(v(&s).focus, Focus::Log);
    update::update(&mut s, Msg::Key(key('k')));
    assert_eq!(v(&s).log_scroll, 1);
    assert!(!v(&s).follow);
    update::update(&mut s, code(KeyCode::Tab));
    // x and S ask first, in the one confirmation style; "no" sends nothing.
    update::update(&mut s, Msg::Key(key('x')));
    assert!(matches!(
        &s.overlay,
        Overlay::Confirm(Confirm {
            then: Pending::Operate { op, .. },
            ..
        }) if op.operation_type == OperationType::CancelInstance
    ));
    let out = update::update(&mut s, Msg::Key(key('n')));
    assert!(out.effects.is_empty());
    update::update(&mut s, Msg::Key(key('S')));
    snap!("order_confirm_skip", &s);
    let out = update::update(&mut s, Msg::Key(key('y')));
    assert!(out.effects.iter().any(|e| matches!(
        e,
        update::Effect::Operate { op, .. }
            if op.operation_type == OperationType::SkipBatch && op.batch_index == Some(1)
    )));
    // The grid follows the batch that runs…
    update::update(
        &mut s,
        Msg::Order(eid.clone(), Ok(Box::new(eight_host_order(2)))),
    );
    assert_eq!(v(&s).batch_index(), Some(2));
    // …unless the user moved away from it.
    update::update(&mut s, Msg::Key(key('[')));
    assert_eq!(v(&s).batch_index(), Some(1));
    update::update(
        &mut s,
        Msg::Order(eid.clone(), Ok(Box::new(eight_host_order(2)))),
    );
    assert_eq!(v(&s).batch_index(), Some(1));
}

#[test]
fn esc_clears_the_filter_then_goes_up_never_sideways() {
    use ratatui::crossterm::event::KeyCode;
    let mut s = loaded();
    update::go(&mut s, Pane::Orders);
    update::update(&mut s, Msg::Key(key('/')));
    for c in "web_3".chars() {
        update::update(&mut s, Msg::Key(key(c)));
    }
    update::update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.orders.visible.len(), 1);
    update::update(&mut s, code(KeyCode::Esc));
    assert_eq!((s.pane, s.orders.filter.as_str()), (Pane::Orders, ""));
    update::update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.pane, Pane::Orders, "a top-level pane stays");
    // A detail goes up to its list, whatever pane was shown before it.
    update::go(&mut s, Pane::Alarms);
    s.order = Some(OrderView::new("SCT1".into()));
    update::go(&mut s, Pane::Order);
    s.order.as_mut().unwrap().search = "err".into();
    update::update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.pane, Pane::Order, "the log search is cleared first");
    assert_eq!(s.order.as_ref().unwrap().search, "");
    update::update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.pane, Pane::Orders);
}

#[test]
fn the_header_counts_orders_with_instances_still_running() {
    let mut s = loaded();
    // Paused with one instance running, and one running order: two with work under way.
    assert_eq!(s.running_orders(), 2);
    update::update(
        &mut s,
        Msg::Orders(Ok(vec![order_row(1, OrderStatus::Finished)]), false),
    );
    assert_eq!(s.running_orders(), 0);
}

#[test]
fn the_log_is_searched_copied_saved_and_timed_from_the_keyboard() {
    use ratatui::crossterm::event::KeyCode;
    let mut s = loaded();
    let eid = "SCT20231114221320000000001".to_string();
    s.order = Some(OrderView::new(eid.clone()));
    update::go(&mut s, Pane::Order);
    let mut snap0 = eight_host_order(1);
    let log: String = (1..=30)
        .map(|n| {
            if n % 10 == 0 {
                format!("step {n}: ERROR disk\n")
            } else {
                format!("step {n}: ok\n")
            }
        })
        .collect();
    snap0.instances[0].instance.message = log;
    update::update(&mut s, Msg::Order(eid.clone(), Ok(Box::new(snap0))));
    update::update(&mut s, code(KeyCode::Tab));
    // `/error` goes to the newest match; N and n walk the others.
    update::update(&mut s, Msg::Key(key('/')));
    for c in "error".chars() {
        update::update(&mut s, Msg::Key(key(c)));
    }
    update::update(&mut s, code(KeyCode::Enter));
    let cursor = |s: &State| s.order.as_ref().unwrap().log_cursor().unwrap().1;
    assert_eq!(cursor(&s), 29);
    update::update(&mut s, Msg::Key(key('N')));
    assert_eq!(cursor(&s), 19);
    assert_eq!(s.message.clone().unwrap().1, "match 2 of 3 · line 20");
    update::update(&mut s, Msg::Key(key('N')));
    update::update(&mut s, Msg::Key(key('N')));
    assert_eq!(cursor(&s), 9, "no match above the first: the cursor stays");
    update::update(&mut s, Msg::Key(key('n')));
    assert_eq!(cursor(&s), 19);
    snap!("order_log_cursor", &s);
    // y copies the cursor's line, Y the whole log, both as one OSC 52 effect.
    let out = update::update(&mut s, Msg::Key(key('y')));
    assert_eq!(
        out.effects,
        vec![update::Effect::Copy("step 20: ERROR disk".into())]
    );
    let out = update::update(&mut s, Msg::Key(key('Y')));
    let [update::Effect::Copy(all)] = out.effects.as_slice() else {
        panic!("{:?}", out.effects)
    };
    assert_eq!(all.lines().count(), 30);
    assert_eq!(
        cocpit::tui::osc52("hi"),
        "\u{1b}]52;c;aGk=\u{7}",
        "the sequence terminals and tmux read"
    );
    // s saves the log under a name made of the order, the host and the instance.
    let out = update::update(&mut s, Msg::Key(key('s')));
    assert!(matches!(
        out.effects.as_slice(),
        [update::Effect::SaveLog { file, text }]
            if file == "SCT20231114221320000000001-web-01-1.log" && text.lines().count() == 30
    ));
    // t asks when the lines arrived, then shows it.
    let out = update::update(&mut s, Msg::Key(key('t')));
    assert_eq!(
        out.effects,
        vec![update::Effect::LoadLog {
            execute_uuid: eid.clone(),
            instance_id: 1
        }]
    );
    let t0 = 1_700_000_000_000;
    let pieces: Vec<LogPiece> = (1..=30)
        .map(|n| LogPiece {
            at: t0 + n * 1000,
            stderr: n % 10 == 0,
            text: if n % 10 == 0 {
                format!("step {n}: ERROR disk\n")
            } else {
                format!("step {n}: ok\n")
            },
        })
        .collect();
    update::update(&mut s, Msg::Log(eid.clone(), 1, Ok(pieces)));
    let screen = format!("{:?}", draw(&s, 160, 48));
    assert!(
        screen.contains("22:13:40.000 step 20: ERROR disk"),
        "{screen}"
    );
    snap!("order_log_times", &s);
}

#[test]
fn lists_sort_by_any_column_and_the_palette_opens_an_id() {
    use ratatui::crossterm::event::KeyCode;
    let mut s = loaded();
    update::go(&mut s, Pane::Scripts);
    let names =
        |s: &State| -> Vec<String> { s.scripts.visible_items().map(|x| x.name.clone()).collect() };
    let before = names(&s);
    update::update(&mut s, Msg::Key(key('o')));
    assert_eq!(s.message.clone().unwrap().1, "sorted by NAME ▲");
    let mut want = before.clone();
    want.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names(&s), want);
    update::update(&mut s, Msg::Key(key('O')));
    want.reverse();
    assert_eq!(names(&s), want);
    snap!("scripts_sorted", &s);
    // Round the columns and back to the order the rows came in.
    for _ in 0..5 {
        update::update(&mut s, Msg::Key(key('o')));
    }
    assert_eq!(s.message.clone().unwrap().1, "in the order they came");
    assert_eq!(names(&s), before);
    // `:` with an id opens it.
    let open = |s: &mut State, id: &str| {
        update::update(s, Msg::Key(key(':')));
        for c in id.chars() {
            update::update(s, Msg::Key(key(c)));
        }
        update::update(s, code(KeyCode::Enter))
    };
    open(&mut s, "SCT20231114221320000000003");
    assert_eq!(s.pane, Pane::Order);
    assert_eq!(
        s.order.as_ref().unwrap().execute_uuid,
        "SCT20231114221320000000003"
    );
    let out = open(&mut s, "IM202311142213200000000042");
    assert_eq!(s.pane, Pane::Incident);
    assert!(out.effects.iter().any(|e| matches!(
        e,
        update::Effect::Triage(update::TriageEffect::LoadIncident(n)) if n == "IM202311142213200000000042"
    )));
    open(&mut s, "SC20231114221320000000001");
    assert_eq!(s.pane, Pane::Script);
    let screen = format!("{:?}", draw(&s, 160, 48));
    assert!(
        screen.contains("1 scripts  2 orders"),
        "the tab bar: {screen}"
    );
}

#[test]
fn arrival_times_belong_to_the_lines_the_output_holds() {
    let piece = |at: i64, stderr: bool, text: &str| LogPiece {
        at,
        stderr,
        text: text.into(),
    };
    // Two whole lines, then a line in two pieces, then a last line without its newline.
    let t = LogTimes::new(
        1,
        &[
            piece(10, false, "a\nb\n"),
            piece(20, true, "c-"),
            piece(30, true, "d\n"),
            piece(40, false, "e"),
        ],
    );
    assert_eq!(t.of_line(0), Some((10, false)));
    assert_eq!(t.of_line(1), Some((10, false)));
    assert_eq!(
        t.of_line(2),
        Some((20, true)),
        "a line's time is when it began"
    );
    assert_eq!(t.of_line(3), Some((40, false)));
    assert_eq!(t.of_line(4), None, "a line cocpit adds has no arrival time");
    let whole = LogTimes::new(2, &[piece(10, false, "a\n")]);
    assert_eq!(whole.of_line(1), None);
}

/// Changes that arrive before (or while) the order is read are applied on top of the read,
/// once: a read that predates them does not undo them, and output already had is not added
/// twice; output the console missed makes it read the order again.
#[test]
fn changes_apply_on_top_of_an_older_read_once() {
    use cocpit::engine::Change;
    let snap = order_snapshot();
    let eid = snap.info.execute_uuid.clone();
    let mut s = state();
    update::update(&mut s, Msg::Started(eid.clone()));
    let output = |id: i64, text: &str, offset: usize| Change::Output {
        execute_uuid: eid.clone(),
        instance_id: id,
        text: text.into(),
        stderr: false,
        at: T0,
        offset: offset as u64,
        attempt: 1,
    };
    let before_read = snap.instances[3].instance.message.len();
    let early = [
        Change::InstanceChanged {
            execute_uuid: eid.clone(),
            instance_id: 5,
            batch_index: 2,
            status: InstanceStatus::Processing,
            attempt: 1,
            exit_code: None,
            gmt_finished: None,
            execute_costs: None,
            batch_status: Some("PROCESSING".into()),
            tally: None,
        },
        output(5, "step 1\n", 0),
        output(4, "more\n", before_read),
    ];
    for e in early.iter().cloned() {
        update::update(&mut s, Msg::Engine(e));
    }
    let out = update::update(&mut s, Msg::Order(eid.clone(), Ok(Box::new(snap.clone()))));
    assert!(out.effects.is_empty(), "{:?}", out.effects);
    let v = s.order.as_ref().unwrap();
    let five = &v.instances[4].instance;
    assert_eq!(
        (five.status, five.message.as_str()),
        (InstanceStatus::Processing, "step 1\n")
    );
    let four = &v.instances[3].instance.message;
    assert_eq!(
        four,
        &format!("{}more\n", snap.instances[3].instance.message)
    );

    // The same change again adds nothing; a later one adds its text.
    update::update(&mut s, Msg::Engine(output(5, "step 1\n", 0)));
    update::update(&mut s, Msg::Engine(output(5, "step 2\n", 7)));
    let five = &s.order.as_ref().unwrap().instances[4].instance;
    assert_eq!(five.message, "step 1\nstep 2\n");

    // Output past what the console has: it missed some, and reads the order.
    let out = update::update(&mut s, Msg::Engine(output(5, "step 9\n", 99)));
    assert_eq!(out.effects, vec![update::Effect::LoadOrder(eid.clone())]);
    // A read answered now (as old as the first) still ends with every change applied.
    update::update(&mut s, Msg::Order(eid, Ok(Box::new(snap))));
    let five = &s.order.as_ref().unwrap().instances[4].instance;
    assert_eq!(five.message, "step 1\nstep 2\n");
}
