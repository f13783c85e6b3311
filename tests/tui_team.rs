//! The console for a team: who you are in the header, keys that write crossed out (with the
//! reason) for a viewer and under `--read-only`, the Reviews pane, the diff since the approved
//! version, and approving from the keyboard.

mod common;

use common::tui::{draw, press, state, typed};

use cocpit::model::script::*;
use cocpit::model::team::{Caller, Role, ScriptReview};
use cocpit::tui::action::Action;
use cocpit::tui::state::*;
use cocpit::tui::update::{self, Effect, Msg};
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Modifier;

const T0: i64 = 1_700_000_000_000;

fn caller(user: &str, role: Role) -> Caller {
    Caller {
        user: user.into(),
        user_id: format!("u-{user}"),
        role,
    }
}

fn script(i: i64, name: &str, status: ScriptStatus, reviewer: Option<&str>) -> ScriptListModel {
    ScriptListModel {
        id: i,
        script_uuid: format!("SC20231114221320{i:09x}"),
        name: name.into(),
        script_type: ScriptType::Shell,
        status,
        gmt_created: T0,
        gmt_modified: T0 + i * 60_000,
        creator: "alice".into(),
        creator_id: "u-alice".into(),
        operator: "alice".into(),
        properties: ScriptPropertiesModel {
            risk_level: RiskLevel::High,
            version: "1.0".into(),
            reviewers: reviewer.map(|r| {
                vec![ReviewerInfo {
                    reviewer_name: r.into(),
                    reviewer_id: format!("u-{r}"),
                }]
            }),
            protocol: None,
        },
        enterprise_project_id: None,
    }
}

fn team_scripts() -> Vec<ScriptListModel> {
    vec![
        script(1, "deploy_web", ScriptStatus::PendingApprove, Some("rita")),
        script(2, "rotate_logs", ScriptStatus::Approved, Some("rita")),
        script(3, "db_backup", ScriptStatus::PendingApprove, Some("oscar")),
        script(4, "kernel_patch", ScriptStatus::Approved, None),
    ]
}

fn as_user(user: &str, role: Role) -> State {
    let mut s = state();
    update::update(&mut s, Msg::Identity(Ok(caller(user, role))));
    update::update(&mut s, Msg::Scripts(Ok(team_scripts()), false));
    s
}

/// Whether the footer shows the hint `name` crossed out.
fn crossed_out(s: &State, w: u16, h: u16, name: &str) -> bool {
    let b = draw(s, w, h);
    let buf = b.buffer();
    let y = h - 1;
    let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
    let at = line
        .find(name)
        .unwrap_or_else(|| panic!("no {name:?} in the footer {line:?}"));
    let x = line[..at].chars().count() as u16;
    buf[(x, y)].modifier.contains(Modifier::CROSSED_OUT)
}

#[test]
fn a_viewer_sees_who_they_are_and_write_keys_crossed_out_with_the_reason() {
    let mut s = as_user("vera", Role::Viewer);
    snap!("team_viewer_scripts", &s);
    assert!(crossed_out(&s, 160, 48, "run"), "run writes");
    assert!(!crossed_out(&s, 160, 48, "help"), "help reads");
    // The key is there, and says why it does nothing.
    let out = press(&mut s, KeyCode::Char('r'));
    assert!(out.effects.is_empty(), "{:?}", out.effects);
    assert!(s.overlay == Overlay::None);
    let (_, said) = s.message.clone().unwrap();
    assert!(
        said.contains("disabled") && said.contains("vera has the viewer role"),
        "{said}"
    );
    // Help lists it crossed out, and says why once.
    press(&mut s, KeyCode::Char('?'));
    let help = format!("{:?}", draw(&s, 160, 48));
    assert!(help.contains("crossed out: read-only: vera has the viewer role"));

    // An operator's keys work.
    let mut s = as_user("oscar", Role::Operator);
    assert!(!crossed_out(&s, 160, 48, "run"));
    press(&mut s, KeyCode::Char('j')); // rotate_logs: approved
    press(&mut s, KeyCode::Char('r'));
    assert!(matches!(s.overlay, Overlay::Run(_)), "{:?}", s.message);
}

#[test]
fn read_only_disables_writes_for_anyone() {
    let mut s = as_user("adam", Role::Admin);
    s.read_only = true;
    assert!(crossed_out(&s, 160, 48, "run"));
    let out = update::act(&mut s, Action::DeleteScript);
    assert!(out.effects.is_empty());
    assert!(s.message.as_ref().unwrap().1.contains("--read-only"));
    // The header says so (not only the message line the key just wrote).
    let b = draw(&s, 160, 48);
    let header: String = (0..160)
        .map(|x| b.buffer()[(x, 0)].symbol().to_string())
        .collect();
    assert!(header.contains("│ read-only │"), "{header}");
}

#[test]
fn the_reviews_pane_lists_what_waits_for_you_and_approves_with_a_comment() {
    let mut s = as_user("rita", Role::Operator);
    // Waiting for rita: deploy_web only (db_backup is oscar's to review).
    assert_eq!(s.reviews_waiting(), 1);
    let out = update::act(&mut s, Action::Reviews);
    assert_eq!(s.pane, Pane::Reviews);
    assert!(out.effects.contains(&Effect::LoadIdentity));
    snap!("team_reviews", &s);
    press(&mut s, KeyCode::Char('A'));
    let Overlay::Form(f) = &s.overlay else {
        panic!("no form: {:?}", s.overlay)
    };
    assert_eq!(f.title, "Approve deploy_web");
    typed(&mut s, "canary looked fine");
    let out = press(&mut s, KeyCode::Enter);
    assert_eq!(
        out.effects,
        vec![Effect::AcceptScript {
            script_uuid: "SC20231114221320000000001".into(),
            decision: cocpit::model::team::ApprovalJobScriptModel {
                status: ScriptStatus::Approved,
                comments: "canary looked fine".into(),
            },
        }]
    );
    // A rejection needs a reason.
    press(&mut s, KeyCode::Char('J'));
    let out = press(&mut s, KeyCode::Enter);
    assert!(out.effects.is_empty());
    let Overlay::Form(f) = &s.overlay else {
        panic!("the form closed")
    };
    assert!(
        f.error.as_deref().unwrap().contains("say why"),
        "{:?}",
        f.error
    );

    // The author is never asked to review their own script.
    let s = as_user("alice", Role::Operator);
    assert_eq!(s.reviews_waiting(), 0);
}

#[test]
fn a_changed_script_shows_what_changed_since_its_approval() {
    let mut s = as_user("rita", Role::Operator);
    update::act(&mut s, Action::Reviews);
    let out = press(&mut s, KeyCode::Enter);
    assert_eq!(s.pane, Pane::Script);
    assert!(
        out.effects
            .iter()
            .any(|e| matches!(e, Effect::LoadScript(u) if u == "SC20231114221320000000001"))
    );
    let uuid = "SC20231114221320000000001".to_string();
    let row = &team_scripts()[0];
    let detail = ScriptDetailModel {
        script_uuid: uuid.clone(),
        name: row.name.clone(),
        version: "1.0".into(),
        description: "deploys the web tier".into(),
        script_type: ScriptType::Shell,
        content: "set -e\nsystemctl stop web\ncp -r /srv/new /srv/web\nsystemctl start web\n"
            .into(),
        script_params: vec![],
        status: ScriptStatus::PendingApprove,
        gmt_created: T0,
        gmt_modified: T0 + 60_000,
        creator: "alice".into(),
        creator_id: "u-alice".into(),
        operator: "alice".into(),
        properties: row.properties.clone(),
        enterprise_project_id: None,
    };
    let out = update::update(&mut s, Msg::Script(uuid.clone(), Ok(Box::new(detail))));
    assert!(out.effects.contains(&Effect::LoadReviews(uuid.clone())));
    let approved = ScriptReview {
        script_uuid: uuid.clone(),
        reviewer: "rita".into(),
        reviewer_id: "u-rita".into(),
        status: ScriptStatus::Approved,
        comments: "ok".into(),
        at: T0,
        content_sha256: String::new(),
        content: "set -e\nsystemctl stop web\ncp /srv/new/* /srv/web\nsystemctl start web\n".into(),
    };
    update::update(&mut s, Msg::Reviews(uuid, Ok(vec![approved])));
    snap!("team_script_diff", &s);
    let screen = format!("{:?}", draw(&s, 160, 48));
    assert!(screen.contains("- cp /srv/new/* /srv/web"), "{screen}");
    assert!(screen.contains("+ cp -r /srv/new /srv/web"), "{screen}");
    // Opened from the Reviews pane, esc goes back there.
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.pane, Pane::Reviews);
}

#[test]
fn the_run_key_says_why_a_script_under_review_cannot_run() {
    let mut s = as_user("oscar", Role::Operator);
    // deploy_web (the first row) is PENDING_APPROVE.
    let out = press(&mut s, KeyCode::Char('r'));
    assert!(out.effects.is_empty());
    assert_eq!(s.overlay, Overlay::None);
    let (_, said) = s.message.clone().unwrap();
    assert!(
        said.contains("PENDING_APPROVE") && said.contains("reviewers"),
        "{said}"
    );
}

#[test]
fn the_editor_keeps_a_scripts_reviewers_and_offers_the_known_users() {
    use cocpit::tui::editor::{Editor, Field};
    let reviewed = ScriptDetailModel {
        script_uuid: "SC20231114221320000000001".into(),
        name: "deploy_web".into(),
        version: "1.0".into(),
        description: "d".into(),
        script_type: ScriptType::Shell,
        content: "echo\n".into(),
        script_params: vec![],
        status: ScriptStatus::Approved,
        gmt_created: T0,
        gmt_modified: T0,
        creator: "alice".into(),
        creator_id: "u-alice".into(),
        operator: "alice".into(),
        properties: team_scripts()[0].properties.clone(),
        enterprise_project_id: None,
    };
    // A modify names the reviewers again (the server refuses one that drops them).
    let e = Editor::from_detail(&reviewed);
    assert_eq!(e.reviewers, "rita:u-rita");
    assert_eq!(
        e.edit_body().properties.unwrap().reviewers,
        reviewed.properties.reviewers
    );

    // A new script: reviewers typed by hand, the team's users offered beside the field.
    let mut s = as_user("alice", Role::Operator);
    update::update(
        &mut s,
        Msg::Users(Ok(vec![
            caller("rita", Role::Operator),
            caller("vera", Role::Viewer),
        ])),
    );
    update::act(&mut s, Action::NewScript);
    assert_eq!(s.pane, Pane::Editor);
    s.editor.as_mut().unwrap().focus = Field::Reviewers;
    typed(&mut s, "rita:u-rita, oscar");
    let body = s.editor.as_ref().unwrap().add_body();
    let names: Vec<(String, String)> = body
        .properties
        .reviewers
        .unwrap()
        .into_iter()
        .map(|r| (r.reviewer_name, r.reviewer_id))
        .collect();
    assert_eq!(
        names,
        [
            ("rita".into(), "u-rita".into()),
            ("oscar".into(), String::new())
        ]
    );
    let screen = format!("{:?}", draw(&s, 160, 48));
    // Viewers cannot approve anything: not offered.
    assert!(screen.contains("users: rita:u-rita"), "{screen}");
    assert!(!screen.contains("vera"), "{screen}");
}

#[test]
fn the_audit_pane_lists_every_write_newest_first() {
    use cocpit::model::team::AuditEntry;
    let mut s = as_user("adam", Role::Admin);
    let out = update::act(&mut s, Action::Audit);
    assert_eq!(s.pane, Pane::Audit);
    assert_eq!(out.effects, vec![Effect::LoadAudit]);
    let entry = |id: i64, user: &str, op: &str, status: u16, outcome: &str| AuditEntry {
        id,
        at: T0 + id * 60_000,
        user: user.into(),
        user_id: format!("u-{user}"),
        role: "operator".into(),
        address: "10.0.0.7:51234".into(),
        method: "POST".into(),
        operation: op.into(),
        target: "script_uuid=SC20231114221320000000001".into(),
        status,
        outcome: outcome.into(),
    };
    update::update(
        &mut s,
        Msg::Audit(Ok(vec![
            entry(3, "rita", "ACCEPT_SCRIPT", 200, "ok"),
            entry(
                2,
                "vera",
                "EXECUTE_SCRIPT",
                403,
                "vera has the viewer role, which only reads",
            ),
            entry(1, "alice", "CREATE_SCRIPT", 200, "ok"),
        ])),
    );
    snap!("team_audit", &s);
    // `/` narrows it like any list.
    press(&mut s, KeyCode::Char('/'));
    typed(&mut s, "viewer");
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.audit.visible_items().count(), 1);
    // `esc` clears the filter; `s` sorts, as the footer says.
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.audit.visible_items().count(), 3);
    update::act(&mut s, Action::Sort);
    let users: Vec<&str> = s.audit.visible_items().map(|e| e.user.as_str()).collect();
    assert_eq!(users, ["alice", "vera", "rita"], "oldest first by WHEN");
    assert!(
        s.message
            .as_ref()
            .is_some_and(|(_, m)| m.starts_with("sorted by WHEN"))
    );
}

#[test]
fn a_decision_on_the_shown_script_reads_it_again() {
    let mut s = as_user("rita", Role::Operator);
    update::act(&mut s, Action::Reviews);
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.pane, Pane::Script);
    let uuid = "SC20231114221320000000001".to_string();
    let out = update::update(
        &mut s,
        Msg::Engine(cocpit::event::Change::ScriptChanged {
            script_uuid: uuid.clone(),
            deleted: false,
        }),
    );
    assert!(
        out.effects.contains(&Effect::LoadScript(uuid)),
        "{:?}",
        out.effects
    );
    // Another script's change reads only the list.
    let out = update::update(
        &mut s,
        Msg::Engine(cocpit::event::Change::ScriptChanged {
            script_uuid: "SC-other".into(),
            deleted: false,
        }),
    );
    assert!(
        !out.effects
            .iter()
            .any(|e| matches!(e, Effect::LoadScript(_)))
    );
}

/// What a server sends is untrusted: an audit row or an error carrying escape sequences reaches
/// the screen neutralised.
#[test]
fn hostile_audit_rows_and_messages_are_terminal_safe() {
    use cocpit::model::team::AuditEntry;
    let mut s = as_user("adam", Role::Admin);
    update::act(&mut s, Action::Audit);
    // An OSC 52 clipboard write, a screen clear, and a right-to-left override.
    let hostile = "\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2Jtxt.\u{202e}exe";
    update::update(
        &mut s,
        Msg::Audit(Ok(vec![AuditEntry {
            id: 1,
            at: T0,
            user: "mallory".into(),
            user_id: String::new(),
            role: hostile.into(),
            address: hostile.into(),
            method: "POST".into(),
            operation: hostile.into(),
            target: String::new(),
            status: 200,
            outcome: "ok".into(),
        }])),
    );
    update::update(&mut s, Msg::Done(Err(format!("refused: {hostile}"))));
    let b = draw(&s, 160, 48);
    let buf = b.buffer();
    let screen: String = buf.content().iter().map(|c| c.symbol()).collect();
    // The sequences are removed whole (not just their ESC), the override made visible.
    assert!(
        !screen.contains("52;c;"),
        "an escape sequence's body reached the screen"
    );
    assert!(
        !screen.contains("[2J"),
        "an escape sequence's body reached the screen"
    );
    assert!(
        !screen.contains('\u{202e}'),
        "a bidi override reached the screen"
    );
    assert!(screen.contains("refused: txt.\u{fffd}exe"), "{screen}");
}

/// A draft restored into the editor under --read-only cannot be saved either: the gate is on
/// every key that writes, the editor's ctrl-s included.
#[test]
fn read_only_holds_in_the_editor_too() {
    use cocpit::tui::editor::Editor;
    use ratatui::crossterm::event::{KeyEvent, KeyModifiers};
    let mut s = as_user("adam", Role::Admin);
    s.read_only = true;
    let mut e = Editor::new_script(0);
    e.name = "from_a_draft".into();
    s.editor = Some(Box::new(e));
    s.pane = Pane::Editor;
    let out = update::update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)),
    );
    assert!(out.effects.is_empty(), "{:?}", out.effects);
    assert!(
        s.message.as_ref().unwrap().1.contains("--read-only"),
        "{:?}",
        s.message
    );
}
