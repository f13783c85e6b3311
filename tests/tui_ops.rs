//! The agents, desktops and invokers panes through `update` and `render`: keys become the right
//! requests (rollback and delete ask first); snapshots at 80×24 and 160×48.

mod common;

use common::tui::{draw, press, state, typed};

use cocpit::model::agent::*;
use cocpit::model::desktop::*;
use cocpit::model::tat::*;
use cocpit::tui::state::*;
use cocpit::tui::update::{self, Effect, Msg, OpsEffect, OpsMsg};
use ratatui::crossterm::event::KeyCode;

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
    let tasks = vec![
        task(
            "inv-3",
            "demo-03",
            InvocationType::Install,
            InvocationStatus::Running,
        ),
        task(
            "inv-2",
            "demo-02",
            InvocationType::Install,
            InvocationStatus::Failed,
        ),
        task(
            "inv-1",
            "demo-01",
            InvocationType::Install,
            InvocationStatus::Succeeded,
        ),
    ];
    update::update(&mut s, Msg::Ops(OpsMsg::Agents(Ok((agents(), tasks)))));
    snap!("agents", &s);
    // Every task shows, the running one too, with the reason of the failed one.
    let screen = draw(&s, 160, 48).to_string();
    assert!(screen.contains("tasks 3 (newest first)"), "{screen}");
    assert!(
        screen.contains("running") && screen.contains("File exists"),
        "{screen}"
    );

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
    snap!("agents_rollback_confirm", &s);
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
    snap!("desktops", &s);
    s.desktops.selected = 2;
    let out = press(&mut s, KeyCode::Char('i'));
    assert_eq!(
        ops(&out.effects),
        vec![&OpsEffect::InstallDesktops(vec!["desktop-0003".into()])]
    );
    // The job's events carry its desktops' rows: patched in place, nothing read again.
    let out = update::update(
        &mut s,
        Msg::Engine(cocpit::engine::Change::DesktopJobChanged {
            job_id: "job-1".into(),
            desktops: vec![d("desktop-0003", Some("RUNNING"), Some(40), None)],
        }),
    );
    assert!(ops(&out.effects).is_empty(), "{:?}", out.effects);
    let shown = s
        .desktops
        .items
        .iter()
        .find(|x| x.desktop_id == "desktop-0003")
        .unwrap();
    assert_eq!(
        (shown.task_status.as_deref(), shown.process),
        (Some("RUNNING"), Some(40))
    );
}

fn inv(id: &str, enable: bool, policy: &str, rec: Option<&str>, next: Option<&str>) -> Invoker {
    Invoker {
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
    }
}

#[test]
fn the_invokers_pane_shows_next_fires_in_both_zones_and_toggles() {
    let mut s = state();
    s.utc_offset = chrono::FixedOffset::east_opt(3600).unwrap();
    update::command(&mut s, "invokers");
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
    snap!("invokers", &s);
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

/// The console at 12:00 UTC on 2026-11-24, its viewer at UTC+1, on the invokers pane holding
/// one invoker.
fn invokers_at_noon() -> State {
    let mut s = state();
    s.utc_offset = chrono::FixedOffset::east_opt(3600).unwrap();
    s.now_ms = parse_time("2026-11-24T12:00:00Z")
        .unwrap()
        .timestamp_millis();
    update::command(&mut s, "invokers");
    update::update(
        &mut s,
        Msg::Ops(OpsMsg::Invokers(Ok(vec![inv(
            "ivk-nightly1",
            true,
            "RECURRENCE",
            Some("0 3 * * *"),
            Some("2026-11-24T19:00:00Z"),
        )]))),
    );
    s
}

fn form(s: &State) -> &Form {
    match &s.overlay {
        Overlay::Form(f) => f,
        other => panic!("no form: {other:?}"),
    }
}

#[test]
fn the_create_form_previews_five_fires_in_both_zones_and_names_a_bad_expression() {
    let mut s = invokers_at_noon();
    press(&mut s, KeyCode::Char('n'));
    assert_eq!(form(&s).error.as_deref(), Some("name: must not be empty"));
    typed(&mut s, "every-minute");
    press(&mut s, KeyCode::Tab);
    // A shell line (not a command id) becomes the invoker's own command.
    typed(&mut s, "uptime");
    press(&mut s, KeyCode::Tab);
    // The instances come from the selected invoker.
    assert_eq!(form(&s).value("instances"), "demo-01 demo-02");
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Tab);
    for _ in 0.."*/5 * * * *".len() {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "* * * * *");
    let f = form(&s);
    assert_eq!(f.error, None);
    assert_eq!(f.notes.len(), 6, "{:?}", f.notes);
    // 12:01 UTC is 20:01 in UTC+8 and 13:01 for the viewer.
    assert_eq!(
        f.notes[1],
        "  Tue 11-24 20:01 UTC+8 · Tue 11-24 13:01 local"
    );
    assert_eq!(
        f.notes[5],
        "  Tue 11-24 20:05 UTC+8 · Tue 11-24 13:05 local"
    );
    snap!("invoker_form", &s);

    // A cron read in UTC+8: 03:00 there is 19:00 UTC the day before, 20:00 for the viewer.
    for _ in 0.."* * * * *".len() {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "0 3 1 * *");
    assert_eq!(
        form(&s).notes[1],
        "  Tue 12-01 03:00 UTC+8 · Mon 11-30 20:00 local"
    );

    // A bad expression: the error names the field and the problem, and enter sends nothing.
    for _ in 0.."0 3 1 * *".len() {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "61 * * * *");
    let err = form(&s).error.clone().unwrap();
    assert!(err.starts_with("schedule: ") && err.contains("61"), "{err}");
    assert!(form(&s).notes.is_empty());
    snap!("invoker_form_bad_cron", &s);
    let out = press(&mut s, KeyCode::Enter);
    assert!(ops(&out.effects).is_empty());
    assert!(matches!(s.overlay, Overlay::Form(_)));

    // ONCE: the example schedule becomes a time ten minutes from now.
    for _ in 0.."61 * * * *".len() {
        press(&mut s, KeyCode::Backspace);
    }
    press(&mut s, KeyCode::BackTab);
    press(&mut s, KeyCode::Char(' '));
    assert_eq!(form(&s).value("policy"), "ONCE");
    assert_eq!(form(&s).value("schedule"), "+10m");
    assert_eq!(
        form(&s).notes,
        vec![
            "fires once:".to_string(),
            "  Tue 11-24 20:10 UTC+8 · Tue 11-24 13:10 local".to_string()
        ]
    );
    // Back to RECURRENCE: the untouched example comes back.
    press(&mut s, KeyCode::Char(' '));
    assert_eq!(form(&s).value("schedule"), "*/5 * * * *");
    let out = press(&mut s, KeyCode::Enter);
    match ops(&out.effects).as_slice() {
        [OpsEffect::CreateInvoker { script, request }] => {
            assert_eq!(script.as_deref(), Some("uptime"));
            assert_eq!(request.name.as_deref(), Some("every-minute"));
            assert_eq!(request.command_id, None);
            assert_eq!(
                request.instance_ids,
                Some(vec!["demo-01".into(), "demo-02".into()])
            );
            let settings = request.schedule_settings.as_ref().unwrap();
            assert_eq!(settings.policy, "RECURRENCE");
            assert_eq!(settings.recurrence.as_deref(), Some("*/5 * * * *"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.overlay, Overlay::None);

    // Once created and listed, the new invoker is the selected one.
    update::update(&mut s, Msg::Ops(OpsMsg::Created(Ok("ivk-new00001".into()))));
    update::update(
        &mut s,
        Msg::Ops(OpsMsg::Invokers(Ok(vec![
            inv("ivk-nightly1", true, "RECURRENCE", Some("0 3 * * *"), None),
            inv("ivk-new00001", true, "RECURRENCE", Some("* * * * *"), None),
        ]))),
    );
    assert_eq!(
        s.invokers.selected_item().map(|i| i.invoker_id.as_str()),
        Some("ivk-new00001")
    );
}

#[test]
fn a_command_id_is_used_as_is_and_a_past_once_time_is_refused() {
    let mut s = invokers_at_noon();
    press(&mut s, KeyCode::Char('n'));
    typed(&mut s, "once");
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "cmd-abcdefgh");
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Char(' '));
    press(&mut s, KeyCode::Tab);
    for _ in 0.."+10m".len() {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "2026-11-24 08:00");
    let err = form(&s).error.clone().unwrap();
    assert_eq!(
        err,
        "schedule: time \"2026-11-24 08:00\" is not in the future"
    );
    for _ in 0..5 {
        press(&mut s, KeyCode::Backspace);
    }
    typed(&mut s, "18:30");
    let out = press(&mut s, KeyCode::Enter);
    match ops(&out.effects).as_slice() {
        [OpsEffect::CreateInvoker { script, request }] => {
            assert_eq!(script, &None);
            assert_eq!(request.command_id.as_deref(), Some("cmd-abcdefgh"));
            // 18:30 at UTC+1 is 17:30 UTC.
            assert_eq!(
                request
                    .schedule_settings
                    .as_ref()
                    .unwrap()
                    .invoke_time
                    .as_deref(),
                Some("2026-11-24T17:30:00Z")
            );
        }
        other => panic!("{other:?}"),
    }
}

fn record(inv: &str, at: &str, result: &str, reason: &str) -> InvokerRecord {
    InvokerRecord {
        invoker_id: "ivk-nightly1".into(),
        invoke_time: at.into(),
        reason: reason.into(),
        invocation_id: inv.into(),
        result: result.into(),
    }
}

fn task_of(inv: &str, instance: &str, status: &str, exit: i64, out: &str) -> InvocationTask {
    use base64::Engine as _;
    InvocationTask {
        invocation_id: inv.into(),
        invocation_task_id: format!("invt-{instance}"),
        command_id: "cmd-abcdefgh".into(),
        task_status: status.into(),
        instance_id: instance.into(),
        task_result: TaskResult {
            exit_code: exit,
            output: base64::engine::general_purpose::STANDARD.encode(out),
            exec_start_time: None,
            exec_end_time: None,
            dropped: 0,
        },
        start_time: None,
        end_time: None,
        created_time: "2026-11-24T11:00:00Z".into(),
        updated_time: "2026-11-24T11:00:01Z".into(),
        error_info: String::new(),
        invocation_source: "INVOKER".into(),
        command_name: "nightly".into(),
    }
}

#[test]
fn an_invoker_opens_on_its_fires_and_each_fire_shows_its_tasks_output() {
    let mut s = invokers_at_noon();
    let out = press(&mut s, KeyCode::Enter);
    assert_eq!(s.pane, Pane::Invoker);
    assert!(
        ops(&out.effects).contains(&&OpsEffect::LoadRecords("ivk-nightly1".into())),
        "{:?}",
        out.effects
    );
    let out = update::update(
        &mut s,
        Msg::Ops(OpsMsg::Records(
            "ivk-nightly1".into(),
            Ok(vec![
                record(
                    "inv-second1",
                    "2026-11-24T11:00:00Z",
                    "PARTIAL_FAILED",
                    "scheduled (RECURRENCE \"0 3 * * *\", UTC+8)",
                ),
                record(
                    "inv-first01",
                    "2026-11-23T19:00:00Z",
                    "CANCELLED",
                    "MISSED: the engine was down at 1 fire time(s)",
                ),
            ]),
        )),
    );
    assert_eq!(
        ops(&out.effects),
        vec![&OpsEffect::LoadTasks("inv-second1".into())]
    );
    update::update(
        &mut s,
        Msg::Ops(OpsMsg::Tasks(
            "inv-second1".into(),
            Ok(vec![
                task_of(
                    "inv-second1",
                    "demo-01",
                    "SUCCESS",
                    0,
                    "backup done\n12 files\n",
                ),
                // Host output is untrusted: the escape sequence must not reach the terminal.
                task_of(
                    "inv-second1",
                    "demo-02",
                    "FAILED",
                    2,
                    "\u{1b}[31mdisk full\u{1b}[0m\n\u{1b}]0;owned\u{7}",
                ),
            ]),
        )),
    );
    snap!("invoker_records", &s);
    let screen = draw(&s, 160, 48).to_string();
    assert!(screen.contains("12 files"), "{screen}");
    assert!(screen.contains("disk full") && !screen.contains('\u{1b}'));
    assert!(screen.contains("11-24 19:00 +8 · 12:00 local"), "{screen}");

    // Moving to the older fire reads its tasks; tasks of a fire no longer selected are dropped.
    let out = press(&mut s, KeyCode::Down);
    assert_eq!(
        ops(&out.effects),
        vec![&OpsEffect::LoadTasks("inv-first01".into())]
    );
    update::update(
        &mut s,
        Msg::Ops(OpsMsg::Tasks("inv-second1".into(), Ok(vec![]))),
    );
    assert_eq!(
        s.invoker.as_ref().unwrap().tasks_of.as_deref(),
        Some("inv-second1")
    );
    assert!(!draw(&s, 160, 48).to_string().contains("12 files"));

    // An event that carries nothing (an older server) reads the records back.
    let row = s
        .invokers
        .items
        .iter()
        .find(|i| i.invoker_id == "ivk-nightly1")
        .cloned()
        .unwrap();
    let changed = |record: Option<InvokerRecord>| {
        Msg::Engine(cocpit::engine::Change::InvokerChanged {
            invoker_id: "ivk-nightly1".into(),
            // A server that carries the record carries the row too.
            invoker: record.as_ref().map(|_| Box::new(row.clone())),
            deleted: false,
            record: record.map(Box::new),
        })
    };
    let out = update::update(&mut s, changed(None));
    assert!(ops(&out.effects).contains(&&OpsEffect::LoadRecords("ivk-nightly1".into())));
    // A new fire's record heads the list; the fire shown stays selected, nothing is read.
    let fired = record(
        "inv-third01",
        "2026-11-25T11:00:00Z",
        "RUNNING",
        "scheduled",
    );
    let out = update::update(&mut s, changed(Some(fired)));
    assert!(ops(&out.effects).is_empty(), "{:?}", out.effects);
    let view = s.invoker.as_ref().unwrap();
    assert_eq!(view.records.items[0].invocation_id, "inv-third01");
    assert_eq!(view.selected_invocation().as_deref(), Some("inv-first01"));
    // The shown fire's record changes: patched, and its tasks read again.
    let ended = record("inv-first01", "2026-11-23T19:00:00Z", "SUCCESS", "rerun");
    let out = update::update(&mut s, changed(Some(ended)));
    assert_eq!(
        ops(&out.effects),
        vec![&OpsEffect::LoadTasks("inv-first01".into())]
    );
    let view = s.invoker.as_ref().unwrap();
    assert_eq!(view.records.items.len(), 3);
    // e disables the invoker shown; esc goes back to the list.
    let out = press(&mut s, KeyCode::Char('e'));
    assert_eq!(
        ops(&out.effects),
        vec![&OpsEffect::SetInvoker {
            id: "ivk-nightly1".into(),
            enable: false
        }]
    );
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.pane, Pane::Invokers);
}

/// An agent event carries the servers' rows: the list is patched in place, not read again; an
/// event without rows (an older server) still reads it again.
#[test]
fn agent_events_patch_the_list_without_reading_it_again() {
    use cocpit::engine::Change;
    let mut s = state();
    press(&mut s, KeyCode::Char('6'));
    let earlier = task(
        "inv-1",
        "demo-01",
        InvocationType::Install,
        InvocationStatus::Succeeded,
    );
    update::update(
        &mut s,
        Msg::Ops(OpsMsg::Agents(Ok((agents(), vec![earlier])))),
    );
    let mut changed = agents()[0].clone();
    changed.agent_state = Some("INSTALLING".into());
    let running = task(
        "inv-9",
        &changed.instance_id,
        InvocationType::Update,
        InvocationStatus::Running,
    );
    changed.last_invocation = Some(running.clone());
    let out = update::update(
        &mut s,
        Msg::Engine(Change::AgentsChanged {
            instance_ids: vec![changed.instance_id.clone()],
            agents: vec![changed.clone()],
        }),
    );
    assert!(ops(&out.effects).is_empty(), "{:?}", out.effects);
    let shown = s
        .agents
        .items
        .iter()
        .find(|a| a.instance_id == changed.instance_id)
        .unwrap();
    assert_eq!(shown.agent_state.as_deref(), Some("INSTALLING"));
    assert_eq!(s.agents.items.len(), agents().len());
    // Its task heads the task list.
    assert_eq!(s.agent_tasks[0], running);
    assert_eq!(s.agent_tasks.len(), 2);
    let out = update::update(
        &mut s,
        Msg::Engine(Change::AgentsChanged {
            instance_ids: vec![changed.instance_id.clone()],
            agents: vec![],
        }),
    );
    assert!(ops(&out.effects).contains(&&OpsEffect::LoadAgents));
}
