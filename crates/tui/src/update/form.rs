//! Popup forms: fields typed in place, checked on every key, sent with enter. What a form means
//! lives with its pane ([`super::triage::check`], [`super::ops::check_invoker`]); this module only
//! edits fields and decides when to send.

use chrono::{DateTime, FixedOffset, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::state::*;

use super::{Effect, Outcome, TriageEffect, ops, review, triage};

pub fn text(label: &'static str, value: &str) -> FormField {
    FormField {
        label,
        value: value.into(),
        kind: FieldKind::Text,
    }
}

pub fn choice(label: &'static str, value: &str, options: Vec<String>) -> FormField {
    FormField {
        label,
        value: value.into(),
        kind: FieldKind::Choice(options),
    }
}

pub fn flag(label: &'static str, on: bool) -> FormField {
    FormField {
        label,
        value: if on { "yes" } else { "no" }.into(),
        kind: FieldKind::Bool,
    }
}

/// Opens a form on its first field, already checked.
pub fn open(s: &mut State, title: String, purpose: FormPurpose, fields: Vec<FormField>) -> Outcome {
    let mut f = Form {
        title,
        purpose,
        fields,
        field: 0,
        error: None,
        notes: vec![],
    };
    refresh(&mut f, now(s), s.utc_offset);
    s.overlay = Overlay::Form(Box::new(f));
    Outcome::redraw()
}

fn now(s: &State) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(s.now_ms).unwrap_or_default()
}

/// What the form asks for as filled, or its first problem.
fn check(f: &Form, now: DateTime<Utc>, zone: FixedOffset) -> Result<Effect, String> {
    match f.purpose {
        FormPurpose::CreateInvoker => ops::check_invoker(f, now, zone),
        FormPurpose::Review(..) => review::check(f),
        _ => triage::check(f),
    }
}

/// Re-checks the form and recomputes its notes.
fn refresh(f: &mut Form, now: DateTime<Utc>, zone: FixedOffset) {
    f.error = check(f, now, zone).err();
    f.notes = match f.purpose {
        FormPurpose::CreateInvoker => ops::invoker_notes(f, now, zone),
        _ => vec![],
    };
}

/// Keys while a form is open.
pub fn key(s: &mut State, k: KeyEvent) -> Outcome {
    let (at, zone) = (now(s), s.utc_offset);
    let Overlay::Form(f) = &mut s.overlay else {
        return Outcome::default();
    };
    let n = f.fields.len();
    match k.code {
        KeyCode::Esc => {
            s.overlay = Overlay::None;
            s.message = Some((Level::Info, "not sent".into()));
            return Outcome::redraw();
        }
        KeyCode::Tab | KeyCode::Down => f.field = (f.field + 1) % n,
        KeyCode::BackTab | KeyCode::Up => f.field = (f.field + n - 1) % n,
        KeyCode::Enter => match check(f, at, zone) {
            Ok(effect) => return send(s, effect),
            Err(e) => {
                f.error = Some(e);
                return Outcome::redraw();
            }
        },
        _ => {
            let field = &mut f.fields[f.field];
            match (&field.kind, k.code) {
                (FieldKind::Bool, KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right) => {
                    field.value = if field.value == "yes" { "no" } else { "yes" }.into();
                }
                (FieldKind::Choice(opts), KeyCode::Char(' ') | KeyCode::Right | KeyCode::Left) => {
                    let i = opts.iter().position(|o| *o == field.value).unwrap_or(0);
                    let m = opts.len();
                    let j = if k.code == KeyCode::Left {
                        (i + m - 1) % m
                    } else {
                        (i + 1) % m
                    };
                    field.value = opts[j].clone();
                    if f.purpose == FormPurpose::CreateInvoker {
                        ops::policy_changed(f);
                    }
                }
                (FieldKind::Text, KeyCode::Char(c))
                    if !k
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
                {
                    field.value.push(c)
                }
                (FieldKind::Text, KeyCode::Backspace) => {
                    field.value.pop();
                }
                _ => return Outcome::default(),
            }
        }
    }
    refresh(f, at, zone);
    Outcome::redraw()
}

/// The form checked out: send it, or ask first when it cannot be undone.
fn send(s: &mut State, effect: Effect) -> Outcome {
    let Overlay::Form(f) = std::mem::replace(&mut s.overlay, Overlay::None) else {
        return Outcome::default();
    };
    if triage::irreversible(&f)
        && let Effect::Triage(TriageEffect::Handle {
            incident_num,
            key,
            parameter,
        }) = effect
    {
        s.overlay = Overlay::Confirm(Confirm {
            question: format!("{}: this closes the incident for good. Go ahead?", f.title),
            then: Pending::Incident {
                incident_num,
                key,
                parameter,
            },
        });
        return Outcome::redraw();
    }
    if let FormPurpose::AlarmsToIncident(_) = f.purpose {
        s.alarms.marked.clear();
    }
    s.message = Some((Level::Info, "sending…".into()));
    Outcome::redraw().with(effect)
}
