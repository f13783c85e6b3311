//! The alarms and incidents panes: acknowledging, silencing, turning alarms into incidents,
//! and carrying incidents through their states with forms that check as they are typed.

use serde_json::{Map, Value};

use crate::action::Action;
use crate::state::*;
use cocpit_api::model::alarm::*;
use cocpit_api::model::incident::*;

use super::{Effect, Outcome, form, go, list_move};

/// The console holds at most this many alarms (the newest); older ones stay in the store.
pub const MAX_LOADED_ALARMS: usize = 20_000;

/// Alarm or incident work for the backend.
#[derive(Debug, Clone, PartialEq)]
pub enum TriageEffect {
    LoadAlarms,
    /// Only these changed: fetch and merge them.
    LoadAlarmsById(Vec<String>),
    LoadAlarmGroups,
    LoadIncidents,
    LoadIncident(String),
    Ack(Vec<String>),
    Clear(Vec<String>),
    ToIncident(Box<AlarmsToIncident>),
    Silence(NewSilence),
    CreateIncident(Box<CreateIncident>),
    Handle {
        incident_num: String,
        key: OperateKey,
        parameter: Map<String, Value>,
    },
}

/// Answers of the backend for these panes.
#[derive(Debug)]
pub enum TriageMsg {
    /// The newest alarms; `true` when older ones were left out (see [`MAX_LOADED_ALARMS`]).
    Alarms(Result<Vec<Alarm>, String>, bool),
    AlarmsUpdated(Result<Vec<Alarm>, String>),
    AlarmGroups(Result<Vec<AlarmGroup>, String>),
    Incidents(Result<Vec<IncidentSummary>, String>),
    Incident(String, Result<Box<IncidentDetail>, String>),
    /// An incident was created (from alarms or the form): open it.
    Created(Result<String, String>),
    /// An action ended: a confirmation or an error for the message line.
    Done(Result<String, String>),
}

fn fx(e: TriageEffect) -> Effect {
    Effect::Triage(e)
}

pub fn load(pane: Pane) -> Vec<Effect> {
    match pane {
        Pane::Alarms => vec![
            fx(TriageEffect::LoadAlarms),
            fx(TriageEffect::LoadAlarmGroups),
        ],
        Pane::Incidents => vec![fx(TriageEffect::LoadIncidents)],
        _ => vec![],
    }
}

fn sort_alarms(v: &mut [Alarm]) {
    v.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then_with(|| b.alarm_id.cmp(&a.alarm_id))
    });
}

pub fn message(s: &mut State, m: TriageMsg) -> Outcome {
    let mut out = Outcome::redraw();
    match m {
        TriageMsg::Alarms(Ok(mut v), more) => {
            s.alarms_more = more;
            sort_alarms(&mut v);
            s.alarm_counts = alarm_counts(&v);
            s.alarms.set_items(v);
        }
        TriageMsg::Alarms(Err(e), _) => s.alarms.load = Load::Failed(e),
        TriageMsg::AlarmsUpdated(Ok(changed)) => {
            s.alarms.modify(|v| {
                for a in changed {
                    match v.iter_mut().find(|x| x.alarm_id == a.alarm_id) {
                        Some(x) => *x = a,
                        None => v.push(a),
                    }
                }
                sort_alarms(v);
            });
            s.alarm_counts = alarm_counts(&s.alarms.items);
            if s.pane == Pane::Alarms && s.grouped {
                out = out.with(fx(TriageEffect::LoadAlarmGroups));
            }
        }
        TriageMsg::AlarmsUpdated(Err(e)) => s.message = Some((Level::Error, e)),
        TriageMsg::AlarmGroups(r) => match r {
            Ok(v) => s.alarm_groups.set_items(v),
            Err(e) => s.alarm_groups.load = Load::Failed(e),
        },
        TriageMsg::Incidents(r) => match r {
            Ok(v) => s.incidents.set_items(v),
            Err(e) => s.incidents.load = Load::Failed(e),
        },
        TriageMsg::Incident(num, r) => {
            if let Some(v) = s.incident.as_mut().filter(|v| v.incident_num == num) {
                match r {
                    Ok(d) => {
                        v.detail = Some(*d);
                        v.load = Load::Ready;
                    }
                    Err(e) => v.load = Load::Failed(e),
                }
            }
        }
        TriageMsg::Created(Ok(num)) => {
            s.message = Some((Level::Info, format!("incident {num} created")));
            return open_incident(s, num).with(fx(TriageEffect::LoadIncidents));
        }
        TriageMsg::Done(r) => {
            s.message = Some(match r {
                Ok(m) => (Level::Info, m),
                Err(e) => (Level::Error, e),
            })
        }
        TriageMsg::Created(Err(e)) => {
            s.message = Some((Level::Error, format!("no incident created: {e}")))
        }
    }
    out
}

/// Reloads what an engine event touched.
/// An incident changed: its row (carried by the event) is patched into the list, which is read
/// again only without one; a detail shown of it is read again (its timeline grew).
pub fn incident_changed(
    s: &mut State,
    num: &str,
    row: Option<&cocpit_api::model::incident::IncidentSummary>,
) -> Outcome {
    let mut out = Outcome::redraw();
    match row {
        // The list is newest first.
        Some(row) if s.incidents.load == Load::Ready => s.incidents.upsert([row], true),
        _ if s.incidents.load != Load::Loading => {
            out = out.with(fx(TriageEffect::LoadIncidents));
        }
        _ => {}
    }
    if s.incident.as_ref().is_some_and(|v| v.incident_num == num) {
        out = out.with(fx(TriageEffect::LoadIncident(num.to_string())));
    }
    out
}

pub fn alarms_changed(s: &State, ids: &[String]) -> Outcome {
    // Small changes are merged; anything else (a silence, a storm) reloads the list.
    let e = if !ids.is_empty() && ids.len() <= MAX_IDS && s.alarms.load == Load::Ready {
        TriageEffect::LoadAlarmsById(ids.to_vec())
    } else {
        TriageEffect::LoadAlarms
    };
    let mut out = Outcome::default().with(fx(e));
    if s.pane == Pane::Alarms && s.grouped {
        out = out.with(fx(TriageEffect::LoadAlarmGroups));
    }
    out
}

pub fn open_incident(s: &mut State, num: String) -> Outcome {
    if s.incident.as_ref().is_none_or(|v| v.incident_num != num) {
        s.incident = Some(IncidentView {
            incident_num: num.clone(),
            detail: None,
            load: Load::Loading,
        });
    }
    go(s, Pane::Incident).with(fx(TriageEffect::LoadIncident(num)))
}

/// The alarms the action is for: the marked ones, else the selected one (or group).
fn chosen_alarms(s: &State) -> Vec<String> {
    if s.grouped {
        return s
            .alarm_groups
            .selected_item()
            .map(|g| g.alarm_ids.clone())
            .unwrap_or_default();
    }
    if !s.alarms.marked.is_empty() {
        return s.alarms.marked.iter().cloned().collect();
    }
    s.alarms
        .selected_item()
        .map(|a| vec![a.alarm_id.clone()])
        .unwrap_or_default()
}

pub fn alarms_action(s: &mut State, a: Action) -> Outcome {
    let page = s.page;
    if super::is_move(a) {
        if s.grouped {
            list_move(&mut s.alarm_groups, a, page);
        } else {
            list_move(&mut s.alarms, a, page);
        }
        return Outcome::redraw();
    }
    match a {
        Action::ToggleMark if !s.grouped => {
            s.alarms.toggle_mark();
            s.alarms.move_by(1);
        }
        Action::ToggleGroups => {
            s.grouped = !s.grouped;
            return Outcome::redraw().with(fx(TriageEffect::LoadAlarmGroups));
        }
        Action::AlarmToIncident => {
            let ids = chosen_alarms(s);
            // The form starts from the worst of the alarms (or the group) it is for.
            let worst = if s.grouped {
                s.alarm_groups
                    .selected_item()
                    .map(|g| (g.name.clone(), g.level))
            } else {
                s.alarms
                    .items
                    .iter()
                    .filter(|a| ids.contains(&a.alarm_id))
                    .min_by_key(|a| a.level.rank())
                    .map(|a| (a.name.clone(), a.level))
            };
            let Some((name, level)) = worst.filter(|_| !ids.is_empty()) else {
                s.message = Some((Level::Error, "no alarm selected".into()));
                return Outcome::redraw();
            };
            let title = if ids.len() == 1 {
                name
            } else {
                format!("{name} (+{} alarms)", ids.len() - 1)
            };
            let level = level.incident_level().to_string();
            return form::open(
                s,
                format!("incident from {} alarm(s)", ids.len()),
                FormPurpose::AlarmsToIncident(ids),
                vec![
                    form::text("title", &title),
                    choice("level", &level, LEVELS),
                    choice("type", "inc_type_p_monitoring_issues", TYPES),
                    form::text("description", ""),
                    form::text("assignee", &user()),
                    form::flag("service interrupted", false),
                ],
            );
        }
        Action::AckAlarm | Action::ClearAlarm => {
            let ids = chosen_alarms(s);
            if ids.is_empty() {
                s.message = Some((Level::Error, "no alarm selected".into()));
                return Outcome::redraw();
            }
            s.alarms.marked.clear();
            let (what, e) = match a {
                Action::AckAlarm => ("acknowledging", TriageEffect::Ack(ids.clone())),
                _ => ("clearing", TriageEffect::Clear(ids.clone())),
            };
            s.message = Some((Level::Info, format!("{what} {} alarm(s)…", ids.len())));
            return Outcome::redraw().with(fx(e));
        }
        Action::SilenceAlarm => {
            let (name, app) = if s.grouped {
                match s.alarm_groups.selected_item() {
                    Some(g) => (g.name.clone(), g.application_id.clone()),
                    None => return Outcome::default(),
                }
            } else {
                match s.alarms.selected_item() {
                    Some(a) => (a.name.clone(), a.application_id.clone()),
                    None => return Outcome::default(),
                }
            };
            let out = form::open(
                s,
                "silence alarms".into(),
                FormPurpose::Silence,
                vec![
                    form::text("name", &name),
                    form::text("application", &app),
                    form::text("duration", "1h"),
                    form::text("comment", ""),
                ],
            );
            // The duration is what one usually changes.
            if let Overlay::Form(f) = &mut s.overlay {
                f.field = 2;
            }
            return out;
        }
        _ => return Outcome::default(),
    }
    Outcome::redraw()
}

/// A choice among an enum's codes; a current value the list lacks stays one of the choices.
fn choice(label: &'static str, value: &str, options: &[EnumRow]) -> FormField {
    let mut options: Vec<String> = options.iter().map(|(k, _, _)| k.to_string()).collect();
    if !value.is_empty() && !options.iter().any(|o| o == value) {
        options.insert(0, value.to_string());
    }
    form::choice(label, value, options)
}

/// The incident acted on: its number, status and type.
fn selected_incident(s: &State) -> Option<(String, IncidentStatus, String)> {
    if s.pane == Pane::Incident {
        let v = s.incident.as_ref()?;
        let info = &v.detail.as_ref()?.info;
        return Some((
            v.incident_num.clone(),
            info.status,
            info.incident_type.clone(),
        ));
    }
    s.incidents
        .selected_item()
        .map(|i| (i.incident_num.clone(), i.status, i.incident_type.clone()))
}

pub fn incidents_action(s: &mut State, a: Action) -> Outcome {
    let page = s.page;
    if s.pane == Pane::Incidents && super::is_move(a) {
        list_move(&mut s.incidents, a, page);
        return Outcome::redraw();
    }
    match a {
        Action::Open if s.pane == Pane::Incidents => {
            if let Some(num) = s.incidents.selected_item().map(|i| i.incident_num.clone()) {
                return open_incident(s, num);
            }
            return Outcome::default();
        }
        Action::NewIncident => {
            return form::open(
                s,
                "new incident".into(),
                FormPurpose::CreateIncident,
                vec![
                    form::text("title", ""),
                    choice("level", "level_30", LEVELS),
                    choice("type", "inc_type_p_function_issues", TYPES),
                    form::text("description", ""),
                    form::text("application", "default"),
                    form::text("assignee", &user()),
                    form::flag("service interrupted", false),
                ],
            );
        }
        _ => {}
    }
    let Some((num, status, current_type)) = selected_incident(s) else {
        return Outcome::default();
    };
    let need = |k: OperateKey| status.operations().contains(&k);
    let wrong = |s: &mut State, k: OperateKey| {
        s.message = Some((
            Level::Error,
            format!(
                "{} is {}: {} is not possible now",
                num,
                status.name_en(),
                k.as_str()
            ),
        ));
        Outcome::redraw()
    };
    match a {
        Action::AcceptIncident if need(OperateKey::Accept) => {
            s.message = Some((Level::Info, format!("accepting {num}…")));
            Outcome::redraw().with(fx(TriageEffect::Handle {
                incident_num: num,
                key: OperateKey::Accept,
                parameter: Map::new(),
            }))
        }
        Action::AcceptIncident => wrong(s, OperateKey::Accept),
        Action::ResolveIncident if need(OperateKey::CommitSolution) => form::open(
            s,
            format!("solution of {num}"),
            FormPurpose::Resolve(num.clone()),
            vec![
                // The incident's own type is kept unless the user changes it.
                choice("type", &current_type, TYPES),
                form::flag("service interrupted", false),
                form::text("cause", ""),
                form::text("solution", ""),
            ],
        ),
        Action::ResolveIncident => wrong(s, OperateKey::CommitSolution),
        Action::VerifyIncident if need(OperateKey::Confirm) => form::open(
            s,
            format!("verify {num}"),
            FormPurpose::Verify(num.clone()),
            vec![form::flag("solved", true), form::text("comment", "")],
        ),
        Action::VerifyIncident => wrong(s, OperateKey::Confirm),
        Action::RejectIncident if need(OperateKey::Reject) => form::open(
            s,
            format!("reject {num}"),
            FormPurpose::Reject(num.clone()),
            vec![form::text("reason", "")],
        ),
        Action::RejectIncident => wrong(s, OperateKey::Reject),
        _ => Outcome::default(),
    }
}

use cocpit_api::identity::current_user as user;

/// What a filled alarm or incident form asks for, or why it cannot be sent yet.
pub fn check(f: &Form) -> Result<Effect, String> {
    let v = |l: &str| f.value(l).trim().to_string();
    let yes = |l: &str| f.value(l) == "yes";
    let mut p = Map::new();
    match &f.purpose {
        FormPurpose::Silence => {
            let secs = cocpit_api::format::parse_duration(&v("duration"))?;
            let mut matchers = vec![];
            for (label, name) in [("name", "name"), ("application", "application")] {
                if !v(label).is_empty() {
                    matchers.push(Matcher {
                        name: name.into(),
                        value: v(label),
                        is_regex: false,
                    });
                }
            }
            if matchers.is_empty() {
                return Err("name or application: at least one to match".into());
            }
            Ok(fx(TriageEffect::Silence(NewSilence {
                matchers,
                author: user(),
                comment: v("comment"),
                duration_s: Some(secs),
                ends_at: None,
            })))
        }
        FormPurpose::CreateIncident => {
            let c = CreateIncident {
                region: vec![],
                enterprise_project: vec![],
                current_cloud_service: vec![v("application")],
                incident_level: v("level"),
                is_service_interrupt: yes("service interrupted"),
                incident_type: v("type"),
                incident_title: v("title"),
                incident_description: v("description"),
                incident_source: "incident_source_manual".into(),
                incident_assignee: Some(v("assignee"))
                    .filter(|a| !a.is_empty())
                    .into_iter()
                    .collect(),
                assignee_scene: None,
                assignee_role: None,
                creator: user(),
                incident_ownership: None,
                start_time: None,
            };
            check_create(&c).map_err(|e| e.to_string())?;
            Ok(fx(TriageEffect::CreateIncident(Box::new(c))))
        }
        FormPurpose::AlarmsToIncident(ids) => {
            cocpit_api::model::validate::length("title", &v("title"), 1, 200)
                .map_err(|e| e.to_string())?;
            Ok(fx(TriageEffect::ToIncident(Box::new(AlarmsToIncident {
                alarm_ids: ids.join(","),
                title: Some(v("title")),
                level_id: Some(v("level")),
                mtm_type: Some(v("type")),
                description: Some(v("description")).filter(|d| !d.is_empty()),
                assignee: Some(v("assignee")).filter(|a| !a.is_empty()),
                is_service_interrupt: Some(yes("service interrupted")),
                ..Default::default()
            }))))
        }
        FormPurpose::Resolve(num) => {
            for (l, max) in [("cause", 10_000), ("solution", 10_000)] {
                cocpit_api::model::validate::length(l, &v(l), 1, max).map_err(|e| e.to_string())?;
            }
            p.insert("mtm_type".into(), v("type").into());
            p.insert(
                "is_service_interrupt".into(),
                yes("service interrupted").into(),
            );
            p.insert("cause".into(), v("cause").into());
            p.insert("solution".into(), v("solution").into());
            Ok(fx(TriageEffect::Handle {
                incident_num: num.clone(),
                key: OperateKey::CommitSolution,
                parameter: p,
            }))
        }
        FormPurpose::Verify(num) => {
            cocpit_api::model::validate::length("comment", &v("comment"), 0, 300)
                .map_err(|e| e.to_string())?;
            p.insert("virtual_confirm_result".into(), yes("solved").into());
            p.insert("virtual_confirm_comment".into(), v("comment").into());
            Ok(fx(TriageEffect::Handle {
                incident_num: num.clone(),
                key: OperateKey::Confirm,
                parameter: p,
            }))
        }
        FormPurpose::Reject(num) => {
            cocpit_api::model::validate::length("reason", &v("reason"), 1, 300)
                .map_err(|e| e.to_string())?;
            p.insert("reason".into(), v("reason").into());
            Ok(fx(TriageEffect::Handle {
                incident_num: num.clone(),
                key: OperateKey::Reject,
                parameter: p,
            }))
        }
        FormPurpose::CreateInvoker | FormPurpose::Review(..) => Err("not an incident form".into()),
    }
}

/// Whether sending the form closes the incident for good (so it asks first).
pub fn irreversible(f: &Form) -> bool {
    match &f.purpose {
        FormPurpose::Reject(_) => true,
        FormPurpose::Verify(_) => f.value("solved") == "yes",
        _ => false,
    }
}
