//! The agents, desktops and invokers panes through `update` and `render`: keys become the right
//! requests (rollback and delete ask first); snapshots at 80×24 and 160×48.

mod common;

use common::tui::{draw, state};

use cocpit::model::agent::*;
use cocpit::model::desktop::*;
use cocpit::model::tat::*;
use cocpit::tui::state::*;
use cocpit::tui::update::{self, Effect, Msg, OpsEffect, OpsMsg};
use ratatui::crossterm::event::{KeyCode, KeyEvent};

fn snap(name: &str, s: &State) {
    insta::assert_snapshot!(format!("{name}_80x24"), draw(s, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x48"), draw(s, 160, 48));
}

fn press(s: &mut State, c: KeyCode) -> update::Outcome {
    update::update(s, Msg::Key(KeyEvent::from(c)))
}

fn ops(effects: &[Effect]) -> Vec<&OpsEffect> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Ops(o) => Some(o),
            _ => None,
        })
        .collect()
}

fn task(
    id: &str,
    instance: &str,
    kind: InvocationType,
    status: InvocationStatus,
) -> InvocationInfo {
    InvocationInfo {
        invocation_id: id.into(),
        instance_id: instance.into(),
        instance_name: instance.into(),
        instance_type: "ECS".into(),
        intranet_ips: vec![],
        elastic_ips: vec![],
        invocation_type: kind,
        invocation_status: status,
        invocation_target: "telescope".into(),
        create_time: 1_700_000_000_000,
        update_time: 1_700_000_000_000,
        current_version: None,
        target_version: Some("3.2.0".into()),
        result_msg: Some(if status == InvocationStatus::Failed {
            "exit code 1\nmkdir: cannot create directory: File exists".into()
        } else {
            "telescope 3.2.0 installed".into()
        }),
    }
}

fn agents() -> Vec<AgentSummary> {
    vec![
        AgentSummary {
            instance_id: "demo-01".into(),
            agent_state: Some("ONLINE".into()),
            version: Some("3.2.0".into()),
            installer: true,
            last_invocation: Some(task(
                "inv-1",
                "demo-01",
                InvocationType::Install,
                InvocationStatus::Succeeded,
            )),
        },
        AgentSummary {
            instance_id: "demo-02".into(),
            agent_state: Some("FAILED".into()),
            version: None,
            installer: false,
            last_invocation: Some(task(
                "inv-2",
                "demo-02",
                InvocationType::Install,
                InvocationStatus::Failed,
            )),
        },
        AgentSummary {
            instance_id: "demo-03".into(),
            agent_state: None,
            version: None,
            installer: false,
            last_invocation: None,
        },
    ]
}

#[test]
fn the_agents_pane_installs_retries_and_rolls_back_after_asking() {
    let mut s = state();
    let out = press(&mut s, KeyCode::Char('6'));
    assert_eq!(s.pane, Pane::Agents);
    assert_eq!(ops(&out.effects), vec![&OpsEffect::LoadAgents]);
    update::update(&mut s, Msg::Ops(OpsMsg::Agents(Ok(agents()))));
    snap("agents", &s);

    // Mark two instances and install.
    press(&mut s, KeyCode::Char(' '));
    press(&mut s, KeyCode::Down);
    press(&mut s, KeyCode::Char(' '));
    let out = press(&mut s, KeyCode::Char('i'));
    match ops(&out.effects).as_slice() {
        [
            OpsEffect::Agent {
                kind: "INSTALL",
                ids,
            },
        ] => {
            assert_eq!(ids.len(), 2);
            assert!(
                ids.contains(&"demo-01".to_string()) && ids.contains(&"demo-03".to_string()),
                "{ids:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // RETRY takes the selected instance's last failed task.
    s.agents.selected = 1;
    let out = press(&mut s, KeyCode::Char('R'));
    assert_eq!(
        ops(&out.effects),
        vec![&OpsEffect::Agent {
            kind: "RETRY",
            ids: vec!["inv-2".into()]
        }]
    );
    // ROLLBACK asks first; "n" does nothing, "y" sends it.
    s.agents.selected = 0;
    let out = press(&mut s, KeyCode::Char('b'));
    assert!(ops(&out.effects).is_empty());
    assert!(matches!(s.overlay, Overlay::Confirm(_)));
    snap("agents_rollback_confirm", &s);
    let out = press(&mut s, KeyCode::Char('y'));
    assert_eq!(
        ops(&out.effects),
        vec![&OpsEffect::Agent {
            kind: "ROLLBACK",
            ids: vec!["inv-1".into()]
        }]
    );
    update::update(
        &mut s,
        Msg::Ops(OpsMsg::Done(Err(
            "ROLLBACK: demo-01: a task is already running on demo-01".into(),
        ))),
    );
    assert!(
        draw(&s, 80, 24)
            .to_string()
            .contains("a task is already running")
    );
}

#[test]
fn the_desktops_pane_shows_progress_and_installs_on_the_selection() {
    let mut s = state();
    update::command(&mut s, "desktops");
    assert_eq!(s.pane, Pane::Desktops);
    let d = |id: &str, task: Option<&str>, process: Option<i64>, version: Option<&str>| {
        AgentsCondition {
            desktop_id: id.into(),
            desktop_name: format!("name-{id}"),
            status: "ACTIVE".into(),
            task_status: task.map(String::from),
            ip_address: None,
            process,
            agent_info: vec![AgentInfo {
                agent_name: "telescope".into(),
                agent_version: version.map(String::from),
                is_installed: version.is_some(),
            }],
        }
    };
    update::update(
        &mut s,
        Msg::Ops(OpsMsg::Desktops(Ok(vec![
            d("desktop-0001", Some("SUCCESS"), Some(100), Some("3.2.0")),
            d("desktop-0002", Some("RUNNING"), Some(50), None),
            d("desktop-0003", None, None, None),
        ]))),
    );
    snap("desktops", &s);
    s.desktops.selected = 2;
    let out = press(&mut s, KeyCode::Char('i'));
    assert_eq!(
        ops(&out.effects),
        vec![&OpsEffect::InstallDesktops(vec!["desktop-0003".into()])]
    );
}

#[test]
fn the_invokers_pane_shows_next_fires_in_both_zones_and_toggles() {
    let mut s = state();
    s.utc_offset = chrono::FixedOffset::east_opt(3600).unwrap();
    update::command(&mut s, "invokers");
    let inv =
        |id: &str, enable: bool, policy: &str, rec: Option<&str>, next: Option<&str>| Invoker {
            invoker_id: id.into(),
            name: format!("job {id}"),
            invoker_type: "SCHEDULE".into(),
            command_id: "cmd-abcdefgh".into(),
            username: String::new(),
            parameters: String::new(),
            instance_ids: vec!["demo-01".into(), "demo-02".into()],
            enable,
            schedule_settings: ScheduleSettings {
                policy: policy.into(),
                recurrence: rec.map(String::from),
                invoke_time: next.map(String::from),
            },
            created_time: "2026-01-01T00:00:00Z".into(),
            updated_time: "2026-01-01T00:00:00Z".into(),
            tags: vec![],
        };
    update::update(
        &mut s,
        Msg::Ops(OpsMsg::Invokers(Ok(vec![
            inv(
                "ivk-nightly1",
                true,
                "RECURRENCE",
                Some("0 3 * * *"),
                Some("2026-11-24T19:00:00Z"),
            ),
            inv(
                "ivk-once0001",
                true,
                "ONCE",
                None,
                Some("2026-12-01T00:00:00Z"),
            ),
            inv(
                "ivk-paused01",
                false,
                "RECURRENCE",
                Some("*/5 * * * *"),
                None,
            ),
        ]))),
    );
    snap("invokers", &s);
    // 03:00 in UTC+8, 20:00 in the viewer's UTC+1.
    assert!(
        draw(&s, 160, 48)
            .to_string()
            .contains("11-25 03:00 +8 · 20:00 local")
    );
    let out = press(&mut s, KeyCode::Char('e'));
    assert_eq!(
        ops(&out.effects),
        vec![&OpsEffect::SetInvoker {
            id: "ivk-nightly1".into(),
            enable: false
        }]
    );
    let out = press(&mut s, KeyCode::Char('D'));
    assert!(ops(&out.effects).is_empty());
    let out = press(&mut s, KeyCode::Char('y'));
    assert_eq!(
        ops(&out.effects),
        vec![&OpsEffect::DeleteInvoker("ivk-nightly1".into())]
    );
}
