//! The alarms and incidents panes through `update` and `render`: keys become the right
//! requests, forms check as they are typed, irreversible steps ask first; snapshots of each
//! state at 80×24 and 160×48.

mod common;

use common::tui::{draw, press, state, typed};

use std::collections::BTreeMap;

use cocpit::model::alarm::*;
use cocpit::model::incident::*;
use cocpit::tui::action::Action;
use cocpit::tui::state::*;
use cocpit::tui::update::{self, Effect, Msg, TriageEffect, TriageMsg};
use ratatui::crossterm::event::KeyCode;

const T0: i64 = 1_700_000_000_000;

fn alarm(i: i64, name: &str, level: AlarmLevel, app: &str) -> Alarm {
    let mut labels = BTreeMap::new();
    labels.insert("team".to_string(), "sre".to_string());
    Alarm {
        alarm_id: format!("AL{}{i:06}", T0),
        integration_key: "prom".into(),
        source_id: format!("fp{i}"),
        name: name.into(),
        level,
        state: if i % 5 == 4 {
            AlarmState::Cleared
        } else {
            AlarmState::Firing
        },
        namespace: "prod".into(),
        region_id: "cn-north-4".into(),
        application_id: app.into(),
        resource_name: format!("web-{i:02}"),
        resource_id: format!("i-{i:04}"),
        description: format!("{name} on web-{i:02}: \u{1b}[31m97%\u{1b}[0m for 5 minutes"),
        url: "http://prometheus.local/graph".into(),
        source: "prometheus".into(),
        labels,
        count: i % 3 + 1,
        first_seen: T0 + i * 60_000,
        last_seen: T0 + i * 60_000 + 30_000,
        cleared_at: None,
        acked_by: (i == 1).then(|| "alice".into()),
        acked_at: (i == 1).then_some(T0 + 90_000),
        incident_num: (i == 2).then(|| "IM202311142213200000000042".into()),
        silenced_by: (i == 3).then(|| "SIL1".into()),
    }
}

fn alarms() -> Vec<Alarm> {
    let names = [
        ("CPU usage above 90%", AlarmLevel::Critical, "web"),
        ("Disk almost full", AlarmLevel::Major, "db"),
        ("Latency p99 high", AlarmLevel::Minor, "api"),
        ("Certificate expires soon", AlarmLevel::Info, "edge"),
        ("宽字符 告警", AlarmLevel::Major, "web"),
    ];
    (0..12)
        .map(|i| {
            let (n, l, a) = names[i as usize % names.len()];
            alarm(i, n, l, a)
        })
        .collect()
}

fn summary(i: i64, status: IncidentStatus) -> IncidentSummary {
    IncidentSummary {
        incident_num: format!("IM2023111422132000000000{i:02}"),
        incident_title: format!("web-{i:02} disk full"),
        incident_level: format!("level_{}0", i % 5 + 1),
        incident_type: "inc_type_p_config_issues".into(),
        incident_source: "incident_source_alarm".into(),
        status,
        is_service_interrupt: i % 2 == 0,
        create_time: T0 + i * 3_600_000,
        handle_time: None,
        creator: "alice".into(),
        incident_assignee: vec!["bob".into()],
        alarm_ids: vec![],
    }
}

fn detail(status: IncidentStatus) -> IncidentDetail {
    let mut p = serde_json::Map::new();
    p.insert("cause".into(), "log rotation was disabled".into());
    IncidentDetail {
        info: IncidentInfo {
            incident_num: "IM202311142213200000000042".into(),
            region: vec!["cn-north-4".into()],
            enterprise_project: vec![],
            current_cloud_service: vec!["web".into()],
            incident_level: "level_10".into(),
            is_service_interrupt: true,
            start_time: Some(T0),
            fault_recovery_time: None,
            fault_delineation_time: None,
            incident_ownership: None,
            incident_type: "inc_type_p_monitoring_issues".into(),
            incident_title: "web-01 disk full".into(),
            incident_description: "/var at 100% on web-01".into(),
            incident_source: "incident_source_alarm".into(),
            incident_assignee: vec!["bob".into()],
            assignee_scene: None,
            assignee_role: None,
            warroom_id: None,
            handle_time: None,
            status,
            create_time: T0,
            creator: "alice".into(),
            enum_data_list: vec![],
        },
        timeline: vec![
            TimelineEntry {
                at: T0,
                operator: "alice".into(),
                action: "create".into(),
                from_status: None,
                to_status: IncidentStatus::Triggered,
                parameter: Default::default(),
            },
            TimelineEntry {
                at: T0 + 60_000,
                operator: "bob".into(),
                action: "acceptedIncident1".into(),
                from_status: Some(IncidentStatus::Triggered),
                to_status: IncidentStatus::Acknowledged,
                parameter: p,
            },
        ],
        alarm_ids: vec!["AL1700000000000000002".into()],
    }
}

fn triage(effects: &[Effect]) -> Vec<&TriageEffect> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Triage(t) => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn the_alarms_pane_acks_silences_and_opens_incidents() {
    let mut s = state();
    let out = update::go(&mut s, Pane::Alarms);
    assert!(triage(&out.effects).contains(&&TriageEffect::LoadAlarms));
    snap!("alarms_loading", &s);
    update::update(
        &mut s,
        Msg::Triage(TriageMsg::Alarms(Err("connection refused".into()), false)),
    );
    snap!("alarms_error", &s);
    update::update(&mut s, Msg::Triage(TriageMsg::Alarms(Ok(vec![]), false)));
    snap!("alarms_empty", &s);
    update::update(&mut s, Msg::Triage(TriageMsg::Alarms(Ok(alarms()), false)));
    // Firing, unsilenced, by level: the header counts them.
    assert_eq!(s.alarm_counts, [3, 3, 2, 1]);
    snap!("alarms_full", &s);
    // A change merges into the list without losing the selection.
    update::act(&mut s, Action::Down);
    let selected = s.alarms.selected_item().unwrap().alarm_id.clone();
    let mut newer = alarm(20, "Brand new alarm", AlarmLevel::Critical, "web");
    newer.last_seen = T0 + 100 * 60_000;
    update::update(
        &mut s,
        Msg::Triage(TriageMsg::AlarmsUpdated(Ok(vec![newer]))),
    );
    assert_eq!(s.alarms.items.len(), 13);
    assert_eq!(s.alarms.items[0].name, "Brand new alarm");
    assert_eq!(s.alarms.selected_item().unwrap().alarm_id, selected);
    assert_eq!(s.alarm_counts[0], 4);
    update::update(&mut s, Msg::Triage(TriageMsg::Alarms(Ok(alarms()), false)));
    update::act(&mut s, Action::Top);
    let screen = format!("{:?}", draw(&s, 160, 48));
    assert!(
        !screen.contains('\u{1b}'),
        "control sequences reach the screen"
    );

    // a: acknowledge the selected alarm (the newest).
    let newest = s.alarms.selected_item().unwrap().alarm_id.clone();
    let out = update::act(&mut s, Action::AckAlarm);
    assert_eq!(
        triage(&out.effects),
        [&TriageEffect::Ack(vec![newest.clone()])]
    );
    // The space key marks two; i makes one incident of both, after its form.
    press(&mut s, KeyCode::Char(' '));
    press(&mut s, KeyCode::Char(' '));
    assert_eq!(s.alarms.marked.len(), 2);
    press(&mut s, KeyCode::Char('i'));
    let out = press(&mut s, KeyCode::Enter);
    let Some(TriageEffect::ToIncident(t)) = triage(&out.effects).first().copied() else {
        panic!("{:?}", out.effects);
    };
    assert_eq!(t.alarm_ids.split(',').count(), 2);
    // s: a silence form, prefilled from the alarm; a bad duration is explained.
    update::act(&mut s, Action::SilenceAlarm);
    assert!(matches!(s.overlay, Overlay::Form(_)));
    press(&mut s, KeyCode::Backspace);
    press(&mut s, KeyCode::Backspace);
    typed(&mut s, "2x");
    let Overlay::Form(f) = &s.overlay else {
        panic!()
    };
    assert!(
        f.error.as_deref().unwrap_or("").contains("unit"),
        "{:?}",
        f.error
    );
    snap!("alarms_silence_form_invalid", &s);
    press(&mut s, KeyCode::Backspace);
    typed(&mut s, "h");
    let out = press(&mut s, KeyCode::Enter);
    let Some(TriageEffect::Silence(n)) = triage(&out.effects).first().copied() else {
        panic!("{:?} {:?}", out.effects, s.overlay);
    };
    assert_eq!(n.duration_s, Some(2 * 3600));
    assert_eq!(n.matchers[0].name, "name");
    // v: groups.
    let out = update::act(&mut s, Action::ToggleGroups);
    assert!(triage(&out.effects).contains(&&TriageEffect::LoadAlarmGroups));
    let groups = vec![AlarmGroup {
        group_key: "CPU usage above 90% / web".into(),
        name: "CPU usage above 90%".into(),
        application_id: "web".into(),
        level: AlarmLevel::Critical,
        firing: 3,
        total: 3,
        count: 7,
        last_seen: T0,
        alarm_ids: vec!["A".into(), "B".into(), "C".into()],
    }];
    update::update(&mut s, Msg::Triage(TriageMsg::AlarmGroups(Ok(groups))));
    snap!("alarms_grouped", &s);
    // i asks first, with a form prefilled from the group: nothing is created yet.
    let out = update::act(&mut s, Action::AlarmToIncident);
    assert!(triage(&out.effects).is_empty());
    let Overlay::Form(f) = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert_eq!(f.value("title"), "CPU usage above 90% (+2 alarms)");
    assert_eq!(f.value("level"), "level_10");
    assert_eq!(f.value("type"), "inc_type_p_monitoring_issues");
    snap!("alarms_to_incident_form", &s);
    let out = press(&mut s, KeyCode::Enter);
    let Some(TriageEffect::ToIncident(t)) = triage(&out.effects).first().copied() else {
        panic!("{:?}", out.effects)
    };
    assert_eq!(t.alarm_ids, "A,B,C");
    assert_eq!(t.title.as_deref(), Some("CPU usage above 90% (+2 alarms)"));
    assert_eq!(t.level_id.as_deref(), Some("level_10"));
    // A new incident opens it.
    let out = update::update(
        &mut s,
        Msg::Triage(TriageMsg::Created(Ok("IM202311142213200000000042".into()))),
    );
    assert_eq!(s.pane, Pane::Incident);
    assert!(triage(&out.effects).contains(&&TriageEffect::LoadIncident(
        "IM202311142213200000000042".into()
    )));
}

#[test]
fn incidents_are_carried_through_their_states() {
    let mut s = state();
    update::go(&mut s, Pane::Incidents);
    snap!("incidents_loading", &s);
    let list = vec![
        summary(1, IncidentStatus::Triggered),
        summary(2, IncidentStatus::Acknowledged),
        summary(3, IncidentStatus::Resolved),
        summary(4, IncidentStatus::Completed),
        summary(5, IncidentStatus::Rejected),
    ];
    update::update(&mut s, Msg::Triage(TriageMsg::Incidents(Ok(list))));
    snap!("incidents_full", &s);
    // a on a TRIGGERED incident accepts it.
    let out = update::act(&mut s, Action::AcceptIncident);
    assert!(matches!(
        triage(&out.effects).first(),
        Some(TriageEffect::Handle {
            key: OperateKey::Accept,
            ..
        })
    ));
    // r on it is refused with the reason.
    update::act(&mut s, Action::ResolveIncident);
    let (_, m) = s.message.clone().unwrap();
    assert!(
        m.contains("TRIGGERED") && m.contains("commitSolution1"),
        "{m}"
    );

    // Open the ACKNOWLEDGED one: r asks for the solution, checked as typed.
    update::act(&mut s, Action::Down);
    update::act(&mut s, Action::Open);
    assert_eq!(s.pane, Pane::Incident);
    let num = "IM202311142213200000000042".to_string();
    s.incident.as_mut().unwrap().incident_num = num.clone();
    update::update(
        &mut s,
        Msg::Triage(TriageMsg::Incident(
            num.clone(),
            Ok(Box::new(detail(IncidentStatus::Acknowledged))),
        )),
    );
    snap!("incident_detail", &s);
    update::act(&mut s, Action::ResolveIncident);
    let Overlay::Form(f) = &s.overlay else {
        panic!("{:?}", s.overlay)
    };
    assert!(
        f.error.as_deref().unwrap_or("").contains("cause"),
        "{:?}",
        f.error
    );
    snap!("incident_resolve_form", &s);
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Char(' '));
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "log rotation off");
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "re-enabled it");
    let out = press(&mut s, KeyCode::Enter);
    let Some(TriageEffect::Handle {
        key: OperateKey::CommitSolution,
        parameter,
        ..
    }) = triage(&out.effects).first().copied()
    else {
        panic!("{:?} {:?}", out.effects, s.overlay);
    };
    assert_eq!(parameter["is_service_interrupt"], true);
    assert_eq!(parameter["cause"], "log rotation off");
    assert_eq!(
        parameter["mtm_type"], "inc_type_p_monitoring_issues",
        "the incident's own type is kept"
    );

    // Verified as solved closes it: asked first.
    update::update(
        &mut s,
        Msg::Triage(TriageMsg::Incident(
            num.clone(),
            Ok(Box::new(detail(IncidentStatus::Resolved))),
        )),
    );
    update::act(&mut s, Action::VerifyIncident);
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "disk at 41%");
    let out = press(&mut s, KeyCode::Enter);
    assert!(out.effects.is_empty());
    assert!(
        matches!(&s.overlay, Overlay::Confirm(c) if matches!(c.then, Pending::Incident { key: OperateKey::Confirm, .. }))
    );
    snap!("incident_verify_confirm", &s);
    let out = press(&mut s, KeyCode::Char('y'));
    assert!(matches!(
        triage(&out.effects).first(),
        Some(TriageEffect::Handle { key: OperateKey::Confirm, parameter, .. }) if parameter["virtual_confirm_result"] == true
    ));
}

#[test]
fn the_new_incident_form_checks_the_seed_rules() {
    let mut s = state();
    update::go(&mut s, Pane::Incidents);
    update::update(&mut s, Msg::Triage(TriageMsg::Incidents(Ok(vec![]))));
    snap!("incidents_empty", &s);
    update::act(&mut s, Action::NewIncident);
    let Overlay::Form(f) = &s.overlay else {
        panic!()
    };
    assert!(
        f.error
            .as_deref()
            .unwrap_or("")
            .starts_with("incident_title"),
        "{:?}",
        f.error
    );
    typed(&mut s, &"x".repeat(201));
    let Overlay::Form(f) = &s.overlay else {
        panic!()
    };
    assert!(
        f.error.as_deref().unwrap_or("").contains("200"),
        "{:?}",
        f.error
    );
    for _ in 0..200 {
        press(&mut s, KeyCode::Backspace);
    }
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Left); // level_30 → level_20
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "checkout fails for some users");
    snap!("incident_new_form", &s);
    let out = press(&mut s, KeyCode::Enter);
    let Some(TriageEffect::CreateIncident(c)) = triage(&out.effects).first().copied() else {
        panic!("{:?} {:?}", out.effects, s.overlay);
    };
    assert_eq!(c.incident_level, "level_20");
    assert_eq!(c.incident_title, "x");
    assert_eq!(c.incident_source, "incident_source_manual");
}

/// An incident event carries the row: the list is patched (a new one on top, a handled one in
/// place) without reading it again; the detail shown of it is read again for its timeline.
#[test]
fn incident_events_patch_the_list_and_reload_only_the_detail() {
    use cocpit::engine::Change;
    let mut s = state();
    update::go(&mut s, Pane::Incidents);
    let list = vec![
        summary(1, IncidentStatus::Triggered),
        summary(2, IncidentStatus::Acknowledged),
    ];
    update::update(&mut s, Msg::Triage(TriageMsg::Incidents(Ok(list))));
    let event = |row: IncidentSummary| {
        Msg::Engine(Change::IncidentChanged {
            incident_num: row.incident_num.clone(),
            status: row.status,
            summary: Some(Box::new(row)),
        })
    };
    let fresh = summary(3, IncidentStatus::Triggered);
    let out = update::update(&mut s, event(fresh.clone()));
    assert!(triage(&out.effects).is_empty(), "{:?}", out.effects);
    assert_eq!(s.incidents.items[0], fresh);
    assert_eq!(s.incidents.items.len(), 3);

    let handled = summary(2, IncidentStatus::Resolved);
    let out = update::update(&mut s, event(handled.clone()));
    assert!(triage(&out.effects).is_empty(), "{:?}", out.effects);
    let shown = s
        .incidents
        .items
        .iter()
        .find(|i| i.incident_num == handled.incident_num)
        .unwrap();
    assert_eq!(shown.status, IncidentStatus::Resolved);

    // With its detail open, the timeline is read again (one call).
    s.incident = Some(IncidentView {
        incident_num: handled.incident_num.clone(),
        detail: None,
        load: Load::Ready,
    });
    let out = update::update(&mut s, event(handled.clone()));
    assert_eq!(
        triage(&out.effects),
        [&TriageEffect::LoadIncident(handled.incident_num.clone())]
    );
}
