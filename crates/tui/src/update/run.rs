//! The run form: what a script runs on and with, checked as it is typed, then executed.

use super::*;

pub(super) fn start_run(s: &mut State) -> Outcome {
    match s.scripts.selected_item() {
        Some(x) => {
            let uuid = x.script_uuid.clone();
            start_run_for(s, &uuid)
        }
        None => {
            s.message = Some((Level::Error, "no script selected".into()));
            Outcome::redraw()
        }
    }
}

/// Opens the run form for a script of the list.
pub fn start_run_for(s: &mut State, uuid: &str) -> Outcome {
    let Some(script) = s.scripts.items.iter().find(|x| x.script_uuid == uuid) else {
        s.message = Some((
            Level::Error,
            "that script is not in the list (reload with ctrl-r)".into(),
        ));
        return Outcome::redraw();
    };
    // A script under review cannot run: say why here rather than after a refused send.
    let why_not = match script.status {
        cocpit_api::model::script::ScriptStatus::Approved => None,
        cocpit_api::model::script::ScriptStatus::PendingApprove => Some(format!(
            "{} is PENDING_APPROVE: one of its reviewers must approve it (A) before it runs",
            cocpit_api::sanitize::for_display(&script.name)
        )),
        cocpit_api::model::script::ScriptStatus::Rejected => Some(format!(
            "{} is REJECTED: change it (it is reviewed again) before it runs",
            cocpit_api::sanitize::for_display(&script.name)
        )),
    };
    if let Some(why) = why_not {
        s.message = Some((Level::Error, why));
        return Outcome::redraw();
    }
    let hosts: Vec<String> = if s.resources.marked.is_empty() {
        s.resources
            .items
            .iter()
            .map(|r| r.resource_id.clone())
            .collect()
    } else {
        s.resources.marked.iter().cloned().collect()
    };
    s.overlay = Overlay::Run(Box::new(RunForm {
        script_uuid: script.script_uuid.clone(),
        script_name: script.name.clone(),
        high_risk: script.properties.risk_level == RiskLevel::High,
        hosts,
        field: 0,
        batch_size: "10".into(),
        rotation_pause: false,
        success_rate: "100".into(),
        timeout: "300".into(),
        explicit: String::new(),
        known: s
            .resources
            .items
            .iter()
            .map(|r| r.resource_id.clone())
            .collect(),
        params: vec![],
        params_loaded: false,
        confirm_name: String::new(),
        error: Some("reading the script's parameters…".into()),
    }));
    let out = Outcome::redraw().with(Effect::LoadScriptParams(script.script_uuid.clone()));
    if s.resources.load == Load::Loading {
        out.with(Effect::LoadResources)
    } else {
        out
    }
}

/// Checks the plan and builds the execute request, or says what is wrong.
pub fn run_plan(f: &RunForm) -> Result<ScriptExecuteModel, String> {
    let groups = f.explicit_groups();
    if groups.is_empty() && f.hosts.is_empty() {
        return Err("no hosts: mark some in Resources (space), or spell out batches".into());
    }
    let batch_size: usize = match f.batch_size.trim().parse() {
        Ok(n) => n,
        Err(_) if !groups.is_empty() => 0,
        Err(_) => return Err(format!("batch size {:?} is not a number", f.batch_size)),
    };
    let success_rate: f64 = f
        .success_rate
        .trim()
        .parse()
        .map_err(|_| format!("success rate {:?} is not a number", f.success_rate))?;
    let timeout: i64 = f
        .timeout
        .trim()
        .parse()
        .map_err(|_| format!("timeout {:?} is not a whole number of seconds", f.timeout))?;
    if !f.params_loaded {
        return Err("reading the script's parameters…".into());
    }
    if f.high_risk && f.confirm_name != f.script_name {
        return Err(format!(
            "HIGH risk: type the script name ({}) to confirm",
            f.script_name
        ));
    }
    let known = |h: &str| f.known.iter().any(|k| k == h);
    let plan = cocpit_api::plan::Plan {
        hosts: &f.hosts,
        batch_size,
        groups: &groups,
        known: &known,
        rotation: if f.rotation_pause {
            RotationStrategy::Pause
        } else {
            RotationStrategy::Continue
        },
        success_rate,
        timeout,
        // The form edits the values in place: the declared defaults are what it sends.
        declared: &f.params,
        values: &[],
    };
    plan.body()
}

pub(super) fn run_key(s: &mut State, k: KeyEvent) -> Outcome {
    let Overlay::Run(f) = &mut s.overlay else {
        return Outcome::default();
    };
    let last = f.confirm_field();
    match k.code {
        KeyCode::Esc => {
            s.overlay = Overlay::None;
            s.message = Some((Level::Info, "run not started".into()));
            return Outcome::redraw();
        }
        KeyCode::Tab | KeyCode::Down => f.field = (f.field + 1).min(last),
        KeyCode::BackTab | KeyCode::Up => f.field = f.field.saturating_sub(1),
        KeyCode::Enter => match run_plan(f) {
            Ok(body) => {
                let script_uuid = f.script_uuid.clone();
                s.overlay = Overlay::None;
                s.message = Some((Level::Info, "starting…".into()));
                return Outcome::redraw().with(Effect::Execute { script_uuid, body });
            }
            Err(e) => f.error = Some(e),
        },
        KeyCode::Char(' ') if f.field == 1 => f.rotation_pause = !f.rotation_pause,
        KeyCode::Char(c) => {
            if let Some(t) = field_text(f) {
                t.push(c);
            }
            f.error = None;
        }
        KeyCode::Backspace => {
            if let Some(t) = field_text(f) {
                t.pop();
            }
        }
        _ => return Outcome::default(),
    }
    // Live validation: the error line always reflects the current plan.
    if let Overlay::Run(f) = &mut s.overlay
        && k.code != KeyCode::Enter
    {
        f.error = run_plan(f).err();
    }
    Outcome::redraw()
}

pub(super) fn field_text(f: &mut RunForm) -> Option<&mut String> {
    let confirm = f.confirm_field();
    match f.field {
        0 => Some(&mut f.batch_size),
        2 => Some(&mut f.success_rate),
        3 => Some(&mut f.timeout),
        4 => Some(&mut f.explicit),
        n if n == confirm => Some(&mut f.confirm_name),
        // The rotation (a toggle) has no text; fields after the fixed ones are parameters.
        n => f
            .params
            .get_mut(n.checked_sub(RunForm::FIELDS.len())?)
            .map(|p| &mut p.param_value),
    }
}
