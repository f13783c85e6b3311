//! The script pane and the editor through `update` and `render`: typing, live validation,
//! drafts on every change, saving, `$EDITOR`'s text coming back, and snapshots of each state at
//! 80×24 and 160×48.

mod common;

use common::tui::{draw, press};

use cocpit::model::script::*;
use cocpit::tui::action::Action;
use cocpit::tui::editor::Field;
use cocpit::tui::state::*;
use cocpit::tui::update::{self, Effect, Msg, ScriptSave};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const T0: i64 = 1_700_000_000_000;

fn state() -> State {
    let mut s = common::tui::state();
    s.now_ms = T0;
    s
}

/// Snapshots the editor as it lays out at each size (its view follows the cursor per size).
fn snap_editor(name: &str, s: &mut State) {
    for (w, h) in [(80, 24), (160, 48)] {
        s.screen = (w, h);
        update::follow_editor(s);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), draw(s, w, h));
    }
}

fn ctrl(s: &mut State, c: char) -> update::Outcome {
    update::update(
        s,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

fn type_text(s: &mut State, text: &str) -> Vec<Effect> {
    let mut effects = vec![];
    for c in text.chars() {
        let code = if c == '\n' {
            KeyCode::Enter
        } else {
            KeyCode::Char(c)
        };
        effects.extend(press(s, code).effects);
    }
    effects
}

fn detail() -> ScriptDetailModel {
    ScriptDetailModel {
        script_uuid: "SC202311142213200000000001".into(),
        name: "rotate_logs".into(),
        version: "1.2".into(),
        description: "rotates /var/log/app and keeps 7 days".into(),
        script_type: ScriptType::Shell,
        content: "#!/bin/bash\n# keep a week of logs\nset -euo pipefail\nfor f in /var/log/app/*.log; do\n  gzip -9 \"$f\" && echo \"rotated $f\"\ndone\nexit 0\n".into(),
        script_params: vec![
            ScriptParamDefine {
                param_name: "days".into(),
                param_value: "7".into(),
                param_description: "days to keep".into(),
                param_order: 1,
                sensitive: false,
            },
            ScriptParamDefine {
                param_name: "token".into(),
                param_value: "s3cret".into(),
                param_description: "upload token".into(),
                param_order: 2,
                sensitive: true,
            },
        ],
        status: ScriptStatus::Approved,
        gmt_created: T0,
        gmt_modified: T0 + 60_000,
        creator: "ops".into(),
        creator_id: "ops".into(),
        operator: "ops".into(),
        properties: ScriptPropertiesModel {
            risk_level: RiskLevel::Medium,
            version: "1.2".into(),
            reviewers: None,
            protocol: None,
        },
        enterprise_project_id: None,
    }
}

fn list_row(d: &ScriptDetailModel) -> ScriptListModel {
    ScriptListModel {
        id: 1,
        script_uuid: d.script_uuid.clone(),
        name: d.name.clone(),
        script_type: d.script_type,
        status: d.status,
        gmt_created: d.gmt_created,
        gmt_modified: d.gmt_modified,
        creator: d.creator.clone(),
        creator_id: d.creator_id.clone(),
        operator: d.operator.clone(),
        properties: d.properties.clone(),
        enterprise_project_id: None,
    }
}

#[test]
fn a_new_script_is_typed_validated_drafted_and_saved() {
    let mut s = state();
    update::update(&mut s, Msg::Scripts(Ok(vec![]), false));
    update::act(&mut s, Action::NewScript);
    assert_eq!(s.pane, Pane::Editor);
    snap_editor("editor_new_empty", &mut s);

    // Every change writes the draft; the form is checked as it is typed.
    let effects = type_text(&mut s, "hello world");
    let drafts = effects
        .iter()
        .filter(|e| matches!(e, Effect::SaveDraft(_)))
        .count();
    assert_eq!(drafts, 11, "one draft write per change");
    let e = s.editor.as_ref().unwrap();
    assert_eq!(e.problem.as_ref().unwrap().field, "name");
    snap_editor("editor_invalid_name", &mut s);
    for _ in 0..6 {
        press(&mut s, KeyCode::Backspace);
    }
    // Tab visits the fields as laid out: name, type, risk, version (one line), then the
    // description below them.
    type_text(&mut s, "_web\n");
    assert_eq!(s.editor.as_ref().unwrap().focus, Field::Type);
    press(&mut s, KeyCode::Char(' ')); // SHELL → PYTHON
    press(&mut s, KeyCode::Char(' ')); // → BAT
    press(&mut s, KeyCode::Char(' ')); // → SHELL
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.editor.as_ref().unwrap().focus, Field::Risk);
    press(&mut s, KeyCode::Char(' ')); // LOW → MEDIUM
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.editor.as_ref().unwrap().focus, Field::Version);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.editor.as_ref().unwrap().focus, Field::Description);
    type_text(&mut s, "says hello");
    ctrl(&mut s, 'n');
    press(&mut s, KeyCode::Tab);
    type_text(&mut s, "world");
    assert_eq!(s.editor.as_ref().unwrap().params[0].param_value, "world");
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.editor.as_ref().unwrap().focus, Field::Content);
    type_text(&mut s, "echo \"hello $1\"\n# done");
    let e = s.editor.as_ref().unwrap();
    assert_eq!(e.problem, None, "{:?}", e.problem);
    assert!(e.dirty);
    snap_editor("editor_new_valid", &mut s);
    // ctrl-e in the editor hands the content to $EDITOR.
    let out = ctrl(&mut s, 'e');
    assert!(
        matches!(out.effects.first(), Some(Effect::ExternalEdit { content, .. }) if content.ends_with("# done")),
        "{:?}",
        out.effects
    );

    let out = ctrl(&mut s, 's');
    let Some(Effect::SaveScript { draft_key, save }) = out.effects.first() else {
        panic!("no save: {:?}", out.effects);
    };
    let ScriptSave::Create(body) = save.as_ref() else {
        panic!("not a create: {save:?}");
    };
    assert_eq!(body.name, "hello_web");
    assert_eq!(body.script_type, ScriptType::Shell);
    assert_eq!(body.properties.risk_level, RiskLevel::Medium);
    assert_eq!(
        body.content,
        "#!/bin/bash\nset -euo pipefail\necho \"hello $1\"\n# done"
    );
    let params = body.script_params.as_ref().unwrap();
    assert_eq!(params[0].param_value, "world");
    assert_eq!(params[0].param_order, 1);

    // A refused save keeps the draft and says why; a good one drops it.
    let key = draft_key.clone();
    update::update(
        &mut s,
        Msg::Saved {
            draft_key: key.clone(),
            result: Err("name: already used by another script".into()),
        },
    );
    let (_, m) = s.message.clone().unwrap();
    assert!(
        m.contains("draft is kept") && m.contains("already used"),
        "{m}"
    );
    assert!(s.drafts.iter().any(|d| d.key == key));
    let out = update::update(
        &mut s,
        Msg::Saved {
            draft_key: key.clone(),
            result: Ok("SC2".into()),
        },
    );
    assert!(out.effects.contains(&Effect::RemoveDraft(key.clone())));
    assert!(s.drafts.is_empty());
    let e = s.editor.as_ref().unwrap();
    assert!(!e.dirty);
    assert_eq!(e.script_uuid.as_deref(), Some("SC2"));
    // Saved: its name and type are fixed now, the next save modifies.
    assert!(!e.fields().contains(&Field::Name));
    let out = ctrl(&mut s, 's');
    assert!(matches!(
        out.effects.first(),
        Some(Effect::SaveScript { save, .. }) if matches!(save.as_ref(), ScriptSave::Update(u, _) if u == "SC2")
    ));
}

#[test]
fn the_script_pane_and_editing_a_saved_script() {
    let d = detail();
    let mut s = state();
    update::update(&mut s, Msg::Scripts(Ok(vec![list_row(&d)]), false));
    let out = update::act(&mut s, Action::Open);
    assert_eq!(s.pane, Pane::Script);
    assert!(
        out.effects
            .contains(&Effect::LoadScript(d.script_uuid.clone()))
    );
    snap_editor("script_loading", &mut s);
    update::update(
        &mut s,
        Msg::Script(d.script_uuid.clone(), Err("HTTP 503: engine busy".into())),
    );
    snap_editor("script_error", &mut s);
    update::update(
        &mut s,
        Msg::Script(d.script_uuid.clone(), Ok(Box::new(d.clone()))),
    );
    snap_editor("script_full", &mut s);
    let text = format!("{:?}", draw(&s, 80, 24));
    assert!(
        !text.contains("s3cret"),
        "a sensitive value reached the screen"
    );

    // `i` edits what the pane shows; Esc from the content goes to the form, then back.
    update::act(&mut s, Action::EditScript);
    assert_eq!(s.pane, Pane::Editor);
    let e = s.editor.as_ref().unwrap();
    assert_eq!(e.focus, Field::Content);
    assert!(!e.dirty);
    snap_editor("editor_existing", &mut s);
    press(&mut s, KeyCode::Esc);
    assert_ne!(s.editor.as_ref().unwrap().focus, Field::Content);
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.pane, Pane::Script);

    // `$EDITOR`'s text replaces the content and becomes a draft.
    let out = update::act(&mut s, Action::ExternalEditor);
    let Some(Effect::ExternalEdit { content, extension }) = out.effects.last() else {
        panic!("no external edit: {:?}", out.effects);
    };
    assert_eq!(*extension, "sh");
    assert_eq!(content, d.content.trim_end());
    let out = update::update(
        &mut s,
        Msg::ExternalEdited(Ok("echo from the editor\n".into())),
    );
    assert!(
        matches!(out.effects.first(), Some(Effect::SaveDraft(d)) if d.content == "echo from the editor")
    );
    assert!(s.editor.as_ref().unwrap().dirty);

    // Quitting with the unsaved change asks first; the draft is offered on the next start.
    update::act(&mut s, Action::Quit);
    assert!(!s.quit);
    assert!(matches!(&s.overlay, Overlay::Confirm(c) if c.then == Pending::Quit));
    let drafts = s.drafts.clone();
    let mut next = state();
    update::update(&mut next, Msg::Scripts(Ok(vec![list_row(&d)]), false));
    update::update(&mut next, Msg::Drafts(drafts, vec![]));
    snap_editor("draft_offered", &mut next);
    press(&mut next, KeyCode::Char('y'));
    assert_eq!(next.pane, Pane::Editor);
    assert_eq!(
        next.editor.as_ref().unwrap().content_text(),
        "echo from the editor"
    );
}

#[test]
fn a_2000_line_script_scrolls_and_is_highlighted_around_the_view() {
    let mut d = detail();
    d.content = (0..2000)
        .map(|i| format!("echo \"line {i}\" # {i}\n"))
        .collect();
    let mut s = state();
    update::update(&mut s, Msg::Scripts(Ok(vec![list_row(&d)]), false));
    update::act(&mut s, Action::Open);
    update::update(&mut s, Msg::Script(d.script_uuid.clone(), Ok(Box::new(d))));
    update::act(&mut s, Action::EditScript);
    s.screen = (80, 24);
    for _ in 0..200 {
        press(&mut s, KeyCode::PageDown);
    }
    let e = s.editor.as_ref().unwrap();
    assert_eq!(e.cursor().0, 1999);
    assert!(e.top > 1980, "{}", e.top);
    type_text(&mut s, "x");
    snap_editor("editor_2000_lines_bottom", &mut s);
}

#[test]
fn the_editor_undoes_indents_by_type_and_helps_with_its_own_keys_only() {
    let mut s = state();
    update::update(&mut s, Msg::Scripts(Ok(vec![]), false));
    update::act(&mut s, Action::NewScript);
    let e = s.editor.as_mut().unwrap();
    e.focus = Field::Content;
    type_text(&mut s, "echo one");
    let content = |s: &State| s.editor.as_ref().unwrap().content.lines().join("\n");
    assert!(content(&s).ends_with("echo one"));
    ctrl(&mut s, 'z');
    assert!(!content(&s).ends_with("echo one"), "{}", content(&s));
    ctrl(&mut s, 'y');
    assert!(content(&s).ends_with("echo one"));
    // Shell: a real tab. Python: four spaces.
    press(&mut s, KeyCode::Tab);
    assert!(content(&s).ends_with("echo one\t"), "{:?}", content(&s));
    s.editor.as_mut().unwrap().script_type = ScriptType::Python;
    press(&mut s, KeyCode::Tab);
    assert!(content(&s).ends_with("echo one\t    "), "{:?}", content(&s));
    // F1 lists what works here: no plain keys, which would type text.
    press(&mut s, KeyCode::F(1));
    let help = format!("{:?}", draw(&s, 160, 48));
    for works in [
        "ctrl-s", "ctrl-z", "ctrl-y", "ctrl-n", "f1", "esc", "ctrl-c",
    ] {
        assert!(help.contains(works), "{works} missing:\n{help}");
    }
    for types in ["  q  quit", "  1  scripts", "  r  run", "  :  command"] {
        assert!(!help.contains(types), "{types:?} listed:\n{help}");
    }
    snap_editor("editor_help", &mut s);
}
