//! Script review (COC's change risk control): a script created or modified with reviewers waits,
//! PENDING_APPROVE, for one of them to approve it before it may run; a reviewer may change only
//! its risk level (which needs no new review); the author cannot approve their own script.
//! Every decision is kept.

use super::*;
use cocpit_api::model::script::{ReviewerInfo, ScriptPropertiesModel, ScriptStatus};
use cocpit_api::model::team::{ApprovalJobScriptModel, Caller, Role, ScriptReview};

use cocpit_api::model::validate::MAX_REVIEW_COMMENT as MAX_COMMENT_CHARS;

/// The status a script with these properties starts in, or returns to after a change.
pub(crate) fn status_for(p: &ScriptPropertiesModel) -> ScriptStatus {
    if reviewers(p).is_empty() {
        ScriptStatus::Approved
    } else {
        ScriptStatus::PendingApprove
    }
}

fn reviewers(p: &ScriptPropertiesModel) -> &[ReviewerInfo] {
    p.reviewers.as_deref().unwrap_or(&[])
}

/// Whether `who` is among `p`'s reviewers.
pub(crate) fn is_reviewer(p: &ScriptPropertiesModel, who: &Caller) -> bool {
    who.reviews(reviewers(p))
}

/// Whether `who` wrote the script.
pub(crate) fn is_author(row: &ScriptRow, who: &Caller) -> bool {
    who.wrote(&row.creator, &row.creator_id)
}

fn names(p: &ScriptPropertiesModel) -> String {
    reviewers(p)
        .iter()
        .map(|r| r.reviewer_name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why `row` may not run, if it may not.
pub(crate) fn may_run(row: &ScriptRow) -> Result<()> {
    match row.status {
        ScriptStatus::Approved => Ok(()),
        ScriptStatus::PendingApprove => Err(EngineError(Fault::Conflict(format!(
            "script {:?} is PENDING_APPROVE: one of its reviewers ({}) must approve it before it runs",
            row.name,
            names(&row.properties)
        )))),
        ScriptStatus::Rejected => Err(EngineError(Fault::Conflict(format!(
            "script {:?} is REJECTED: change it (it is then reviewed again) before it runs",
            row.name
        )))),
    }
}

/// Checks a modify of `old` into `new` by `who`, and returns the status the script takes.
pub(crate) fn after_change(old: &ScriptRow, new: &ScriptRow, who: &Caller) -> Result<ScriptStatus> {
    let had = reviewers(&old.properties);
    let has = reviewers(&new.properties);
    if is_reviewer(&old.properties, who) && !is_author(old, who) {
        let mut only_risk = new.clone();
        only_risk.properties.risk_level = old.properties.risk_level;
        let same = only_risk.content == old.content
            && only_risk.description == old.description
            && only_risk.script_params == old.script_params
            && only_risk.properties == old.properties;
        if !same {
            return Err(EngineError(Fault::Forbidden(format!(
                "{} reviews script {:?}: a reviewer may change only its risk level",
                who.user, old.name
            ))));
        }
        return Ok(old.status);
    }
    if !had.is_empty() && has.is_empty() && who.role != Role::Admin {
        return Err(invalid(
            "properties.reviewers",
            "the script has reviewers: select them again (a modified script is reviewed again; only an admin may drop its review)",
        )
        .into());
    }
    // Modified by anyone but a reviewer: reviewed again, whatever changed.
    Ok(status_for(&new.properties))
}

impl Engine {
    /// A reviewer's decision on a script waiting for review.
    pub fn accept_script(
        &self,
        uuid: &str,
        d: &ApprovalJobScriptModel,
        who: &Caller,
    ) -> Result<bool> {
        if !matches!(d.status, ScriptStatus::Approved | ScriptStatus::Rejected) {
            return Err(invalid("status", "must be APPROVED or REJECTED").into());
        }
        if d.comments.chars().count() > MAX_COMMENT_CHARS {
            return Err(invalid(
                "comments",
                format!("must be at most {MAX_COMMENT_CHARS} characters"),
            )
            .into());
        }
        let row = self.script_row(uuid)?;
        if reviewers(&row.properties).is_empty() {
            return Err(EngineError(Fault::Conflict(format!(
                "script {:?} has no reviewers: it needs no approval",
                row.name
            ))));
        }
        if is_author(&row, who) {
            return Err(EngineError(Fault::Forbidden(format!(
                "{} wrote script {:?}: the author cannot approve or reject their own script",
                who.user, row.name
            ))));
        }
        if !is_reviewer(&row.properties, who) {
            return Err(EngineError(Fault::Forbidden(format!(
                "only the reviewers of script {:?} ({}) may approve or reject it; {} is not one",
                row.name,
                names(&row.properties),
                who.user
            ))));
        }
        if row.status != ScriptStatus::PendingApprove {
            return Err(EngineError(Fault::Conflict(format!(
                "script {:?} is {} already: it is reviewed again when what it runs changes",
                row.name, row.status
            ))));
        }
        let review = ScriptReview {
            script_uuid: row.script_uuid.clone(),
            reviewer: who.user.clone(),
            reviewer_id: who.user_id.clone(),
            status: d.status,
            comments: d.comments.clone(),
            at: now_ms(),
            content_sha256: cocpit_api::sign::sha256_hex(row.content.as_bytes()),
            content: row.content.clone(),
        };
        if !self.inner.store.decide(&review)? {
            return Err(EngineError(Fault::NotFound(format!(
                "script {uuid:?} does not exist"
            ))));
        }
        self.inner.emit(Change::ScriptChanged {
            script_uuid: row.script_uuid,
            deleted: false,
        });
        Ok(true)
    }

    /// Every decision on a script, oldest first.
    pub fn script_reviews(&self, uuid: &str) -> Result<Vec<ScriptReview>> {
        let reviews = self.inner.store.reviews(uuid)?;
        if reviews.is_empty() {
            // Tell a script with no decision from one that does not exist.
            self.script_row(uuid)?;
        }
        Ok(reviews)
    }
}
