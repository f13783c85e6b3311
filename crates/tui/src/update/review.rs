//! Script review in the console: the Reviews pane (scripts waiting for the user's decision),
//! approve / reject with a comment, and what changed since the approved version.

use super::*;
use cocpit_api::model::script::ScriptStatus;
use cocpit_api::model::team::{ApprovalJobScriptModel, ScriptReview};

/// Recomputes the Reviews list from the scripts loaded and who we are.
pub fn refresh(s: &mut State) {
    let waiting: Vec<ScriptListModel> = match &s.identity {
        Some(me) => s
            .scripts
            .items
            .iter()
            .filter(|x| crate::state::waits_for(x, me))
            .cloned()
            .collect(),
        None => vec![],
    };
    s.reviews.set_items(waiting);
}

/// Opens the decision form (a comment) for the selected or shown script.
pub fn decide(s: &mut State, status: ScriptStatus) -> Outcome {
    let picked = match s.pane {
        Pane::Reviews => s.reviews.selected_item(),
        Pane::Scripts => s.scripts.selected_item(),
        _ => None,
    }
    .map(|x| (x.script_uuid.clone(), x.name.clone()))
    .or_else(|| {
        let v = s.script.as_ref()?;
        Some((
            v.script_uuid.clone(),
            v.detail
                .as_ref()
                .map(|d| d.name.clone())
                .unwrap_or_default(),
        ))
    });
    let Some((uuid, name)) = picked else {
        s.message = Some((Level::Error, "no script selected".into()));
        return Outcome::redraw();
    };
    let verb = if status == ScriptStatus::Approved {
        "Approve"
    } else {
        "Reject"
    };
    s.overlay = Overlay::Form(Box::new(Form {
        title: format!("{verb} {}", cocpit_api::sanitize::for_display(&name)),
        purpose: FormPurpose::Review(uuid, status),
        fields: vec![form::text("comment", "")],
        field: 0,
        error: None,
        notes: vec![],
    }));
    Outcome::redraw()
}

/// The decision the form describes.
pub fn check(f: &Form) -> Result<Effect, String> {
    let FormPurpose::Review(uuid, status) = &f.purpose else {
        return Err("not a review".into());
    };
    let comments = f.value("comment").trim().to_string();
    let max = cocpit_api::model::validate::MAX_REVIEW_COMMENT;
    if comments.chars().count() > max {
        return Err(format!("comment: at most {max} characters"));
    }
    if *status == ScriptStatus::Rejected && comments.is_empty() {
        return Err("comment: say why it is rejected".into());
    }
    Ok(Effect::AcceptScript {
        script_uuid: uuid.clone(),
        decision: ApprovalJobScriptModel {
            status: *status,
            comments,
        },
    })
}

/// A script's decisions arrived: keep the content last approved, for the diff.
pub fn loaded(s: &mut State, uuid: String, r: Result<Vec<ScriptReview>, String>) -> Outcome {
    let Some(v) = s.script.as_mut().filter(|v| v.script_uuid == uuid) else {
        return Outcome::default();
    };
    if let Ok(reviews) = r {
        v.approved = reviews
            .into_iter()
            .rev()
            .find(|r| r.status == ScriptStatus::Approved)
            .map(|r| r.content);
    }
    Outcome::redraw()
}

/// Keys in the Reviews pane.
pub fn act(s: &mut State, a: Action, page: usize) -> Outcome {
    match a {
        _ if keys::is_move(a) => {
            keys::list_move(&mut s.reviews, a, page);
            Outcome::redraw()
        }
        Action::Open => match s.reviews.selected_item().map(|x| x.script_uuid.clone()) {
            Some(uuid) => editor::open_script(s, uuid),
            None => Outcome::default(),
        },
        Action::ApproveScript => decide(s, ScriptStatus::Approved),
        Action::RejectScript => decide(s, ScriptStatus::Rejected),
        _ => Outcome::default(),
    }
}
