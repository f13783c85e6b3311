//! The script pane and the editor: opening them, the editor's keys, drafts, `$EDITOR`,
//! saving and deleting. Files and the backend are reached only through [`Effect`]s.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::action::Action;
use crate::editor::Editor;
use crate::editor::draft::Draft;
use crate::panes::editor::{content_view, detail_view};
use crate::state::*;
use cocpit_api::model::script::ScriptDetailModel;

use super::{Effect, Outcome, ScriptSave, go};

/// Opens the script pane on `uuid`.
pub fn open_script(s: &mut State, uuid: String) -> Outcome {
    if s.script.as_ref().is_none_or(|v| v.script_uuid != uuid) {
        s.script = Some(ScriptView::new(uuid.clone()));
    }
    // `esc` goes back to the list it was opened from.
    let from = if s.pane == Pane::Reviews {
        Pane::Reviews
    } else {
        Pane::Scripts
    };
    if let Some(v) = s.script.as_mut() {
        v.from = from;
    }
    go(s, Pane::Script).with(Effect::LoadScript(uuid))
}

pub fn new_script(s: &mut State) -> Outcome {
    s.editor = Some(Box::new(Editor::new_script(s.now_ms)));
    s.message = Some((
        Level::Info,
        "new script: tab moves between fields, ctrl-s saves".into(),
    ));
    opened(s)
}

/// Opens the editor on a saved script: from its draft when one is waiting, else from the
/// backend. `external` then hands the content to `$EDITOR`.
pub fn edit_script(s: &mut State, uuid: String, external: bool) -> Outcome {
    if s.editor.as_ref().is_some_and(|e| e.draft_key == uuid) {
        let out = opened(s);
        return if external { external_edit(s, out) } else { out };
    }
    if let Some(d) = s.drafts.iter().find(|d| d.key == uuid).cloned() {
        s.editor = Some(Box::new(Editor::from_draft(&d)));
        s.message = Some((
            Level::Info,
            format!(
                "restored your unsaved draft from {} (:discard drops it)",
                cocpit_api::format::short_time(d.saved_at, s.utc_offset)
            ),
        ));
        let out = opened(s);
        return if external { external_edit(s, out) } else { out };
    }
    let ready = s
        .script
        .as_ref()
        .filter(|v| v.script_uuid == uuid)
        .and_then(|v| v.detail.clone());
    match ready {
        Some(d) => {
            s.editor = Some(Box::new(Editor::from_detail(&d)));
            let out = opened(s);
            if external { external_edit(s, out) } else { out }
        }
        None => {
            s.pending_edit = Some((uuid.clone(), external));
            s.message = Some((Level::Info, "loading the script…".into()));
            Outcome::redraw().with(Effect::LoadScript(uuid))
        }
    }
}

fn opened(s: &mut State) -> Outcome {
    let out = go(s, Pane::Editor);
    follow(s);
    out
}

/// Keeps the cursor in view and the visible lines highlighted.
pub fn follow(s: &mut State) {
    let screen = s.screen;
    if let Some(e) = s.editor.as_mut() {
        let (h, w) = content_view(screen, e);
        e.follow_cursor(h, w);
    }
}

/// The answer to [`Effect::LoadScript`]: fills the script pane and a waiting editor.
pub fn script_loaded(
    s: &mut State,
    uuid: String,
    r: Result<Box<ScriptDetailModel>, String>,
) -> Outcome {
    let mut out = Outcome::redraw();
    if let Some(v) = s.script.as_mut().filter(|v| v.script_uuid == uuid) {
        match &r {
            Ok(d) => {
                v.highlight.set_lang(d.script_type);
                v.detail = Some((**d).clone());
                v.load = Load::Ready;
                // A reviewed script shows what changed since it was approved.
                if d.properties
                    .reviewers
                    .as_ref()
                    .is_some_and(|r| !r.is_empty())
                {
                    out = out.with(Effect::LoadReviews(uuid.clone()));
                }
            }
            Err(e) => v.load = Load::Failed(e.clone()),
        }
        scroll_detail(s, 0);
    }
    if s.pending_edit.as_ref().is_some_and(|(u, _)| *u == uuid) {
        let (_, external) = s.pending_edit.take().unwrap_or_default();
        match r {
            Ok(d) => {
                s.editor = Some(Box::new(Editor::from_detail(&d)));
                s.message = None;
                out = opened(s);
                if external {
                    out = external_edit(s, out);
                }
            }
            Err(e) => s.message = Some((Level::Error, format!("cannot open the script: {e}"))),
        }
    }
    out
}

/// Scrolls the script pane's content by `delta` lines and highlights what is in view.
pub fn scroll_detail(s: &mut State, delta: isize) {
    let screen = s.screen;
    let Some(v) = s.script.as_mut() else { return };
    let Some(d) = &v.detail else { return };
    let lines: Vec<String> = d.content.lines().map(str::to_string).collect();
    let h = detail_view(screen, d);
    let max = lines.len().saturating_sub(h);
    v.scroll = (v.scroll as isize)
        .saturating_add(delta)
        .clamp(0, max as isize) as usize;
    v.highlight.update(&lines, v.scroll + h);
}

/// Keys in the script pane.
pub fn script_action(s: &mut State, a: Action) -> Outcome {
    let page = s.page as isize;
    let Some(uuid) = s.script.as_ref().map(|v| v.script_uuid.clone()) else {
        return Outcome::default();
    };
    match a {
        Action::Up => scroll_detail(s, -1),
        Action::Down => scroll_detail(s, 1),
        Action::PageUp => scroll_detail(s, -page),
        Action::PageDown => scroll_detail(s, page),
        Action::Top => scroll_detail(s, isize::MIN / 2),
        Action::Bottom => scroll_detail(s, isize::MAX / 2),
        Action::EditScript | Action::Open => return edit_script(s, uuid, false),
        Action::ExternalEditor => return edit_script(s, uuid, true),
        Action::DeleteScript => return ask_delete(s, uuid),
        Action::RunScript => return super::start_run_for(s, &uuid),
        _ => return Outcome::default(),
    }
    Outcome::redraw()
}

pub fn ask_delete(s: &mut State, uuid: String) -> Outcome {
    let name = s
        .scripts
        .items
        .iter()
        .find(|x| x.script_uuid == uuid)
        .map(|x| x.name.clone())
        .unwrap_or_else(|| uuid.clone());
    s.overlay = Overlay::Confirm(Confirm {
        question: format!("Delete script {name}?"),
        then: Pending::DeleteScript(uuid),
    });
    Outcome::redraw()
}

/// Keys while the editor is open. Bound actions that mean something here come first; the
/// rest is typing.
pub fn editor_key(s: &mut State, k: KeyEvent) -> Outcome {
    if s.editor.is_none() {
        return Outcome::default();
    }
    let bound = if k
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        || matches!(
            k.code,
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Esc | KeyCode::F(_)
        ) {
        s.keymap.action(&k, &Pane::Editor.contexts())
    } else {
        None
    };
    if let Some(refused) = bound.and_then(|a| super::keys::write_refused(s, a)) {
        return refused;
    }
    let Some(e) = s.editor.as_mut() else {
        return Outcome::default();
    };
    let in_content = e.focus == crate::editor::Field::Content;
    match bound {
        Some(Action::Save) => return save(s),
        Some(Action::ExternalEditor) => return external_edit(s, Outcome::redraw()),
        Some(Action::Quit) => return super::act(s, Action::Quit),
        Some(Action::Help) => return super::act(s, Action::Help),
        Some(Action::Back) if in_content => e.focus = e.fields()[0],
        Some(Action::Back) => return leave(s),
        Some(Action::SwitchFocus) if !in_content => e.next_field(false),
        Some(Action::PrevField) => e.next_field(true),
        Some(Action::AddParam) => {
            if !e.add_param() {
                s.message = Some((Level::Error, "at most 20 parameters".into()));
                return Outcome::redraw();
            }
            return changed(s);
        }
        Some(Action::RemoveParam) if e.remove_param() => return changed(s),
        Some(Action::Undo) if e.content.undo() => return changed(s),
        Some(Action::Redo) if e.content.redo() => return changed(s),
        Some(Action::Undo | Action::Redo) => return Outcome::default(),
        _ => {
            // Enter and ↑/↓ move between form fields; in the content they edit and move.
            if !in_content {
                match k.code {
                    KeyCode::Enter | KeyCode::Down => {
                        e.next_field(false);
                        return Outcome::redraw();
                    }
                    KeyCode::Up => {
                        e.next_field(true);
                        return Outcome::redraw();
                    }
                    _ => {}
                }
            }
            let (h, _) = content_view(s.screen, e);
            if e.key(k, h) {
                return changed(s);
            }
        }
    }
    follow(s);
    Outcome::redraw()
}

/// After an edit: keep the cursor in view, and write the draft.
fn changed(s: &mut State) -> Outcome {
    follow(s);
    let now = s.now_ms;
    let Some(e) = s.editor.as_ref() else {
        return Outcome::redraw();
    };
    let d = e.to_draft(now);
    match s.drafts.iter_mut().find(|x| x.key == d.key) {
        Some(x) => *x = d.clone(),
        None => s.drafts.insert(0, d.clone()),
    }
    Outcome::redraw().with(Effect::SaveDraft(Box::new(d)))
}

fn leave(s: &mut State) -> Outcome {
    if s.editor.as_ref().is_some_and(|e| e.dirty) {
        s.message = Some((
            Level::Info,
            "unsaved changes kept as a draft: i reopens them, :discard drops them".into(),
        ));
    }
    super::back(s);
    Outcome::redraw()
}

fn save(s: &mut State) -> Outcome {
    let Some(e) = s.editor.as_mut() else {
        return Outcome::default();
    };
    if let Some(p) = &e.problem {
        s.message = Some((Level::Error, format!("not saved: {p}")));
        return Outcome::redraw();
    }
    e.saving = true;
    let save = match &e.script_uuid {
        None => ScriptSave::Create(e.add_body()),
        Some(uuid) => ScriptSave::Update(uuid.clone(), e.edit_body()),
    };
    s.message = Some((Level::Info, "saving…".into()));
    Outcome::redraw().with(Effect::SaveScript {
        draft_key: e.draft_key.clone(),
        save: Box::new(save),
    })
}

/// The answer to a save: the script's uuid, or the backend's reason.
pub fn saved(s: &mut State, draft_key: String, r: Result<String, String>) -> Outcome {
    let Some(e) = s.editor.as_mut().filter(|e| e.draft_key == draft_key) else {
        return Outcome::default();
    };
    e.saving = false;
    match r {
        Ok(uuid) => {
            let created = e.script_uuid.is_none();
            e.script_uuid = Some(uuid.clone());
            e.draft_key = uuid.clone();
            e.dirty = false;
            e.check();
            if !e.fields().contains(&e.focus) {
                e.focus = crate::editor::Field::Content;
            }
            s.drafts.retain(|d| d.key != draft_key);
            s.message = Some((
                Level::Info,
                format!(
                    "{} {} ({uuid})",
                    if created { "created" } else { "saved" },
                    e.name
                ),
            ));
            if let Some(v) = s.script.as_mut().filter(|v| v.script_uuid == uuid) {
                v.load = Load::Loading;
            }
            Outcome::redraw()
                .with(Effect::RemoveDraft(draft_key))
                .with(Effect::LoadScripts(s.scripts.want))
                .with(Effect::LoadScript(uuid))
        }
        Err(err) => {
            s.message = Some((
                Level::Error,
                format!("not saved (your draft is kept): {err}"),
            ));
            Outcome::redraw()
        }
    }
}

fn external_edit(s: &mut State, out: Outcome) -> Outcome {
    let Some(e) = s.editor.as_ref() else {
        return out;
    };
    out.with(Effect::ExternalEdit {
        content: e.content_text(),
        extension: match e.script_type {
            cocpit_api::model::script::ScriptType::Shell => "sh",
            cocpit_api::model::script::ScriptType::Python => "py",
            cocpit_api::model::script::ScriptType::Bat => "bat",
        },
    })
}

/// `$EDITOR` closed: take its text (unchanged text changes nothing).
pub fn external_done(s: &mut State, r: Result<String, String>) -> Outcome {
    match r {
        Ok(text) => {
            let Some(e) = s.editor.as_mut() else {
                return Outcome::redraw();
            };
            let text = text.strip_suffix('\n').unwrap_or(&text);
            if text == e.content_text() {
                s.message = Some((Level::Info, "no change from the editor".into()));
                return Outcome::redraw();
            }
            e.set_content(text);
            e.focus = crate::editor::Field::Content;
            s.message = Some((Level::Info, "content taken from the editor".into()));
            changed(s)
        }
        Err(err) => {
            s.message = Some((Level::Error, err));
            Outcome::redraw()
        }
    }
}

/// Drafts found at start: offer the newest back.
pub fn drafts_found(s: &mut State, drafts: Vec<Draft>, problems: Vec<String>) -> Outcome {
    s.drafts = drafts;
    if let Some(p) = problems.first() {
        s.message = Some((Level::Error, p.clone()));
    }
    let Some(d) = s.drafts.first() else {
        return Outcome::redraw();
    };
    let name = if d.name.is_empty() {
        "an unnamed new script".to_string()
    } else {
        d.name.clone()
    };
    let others = match s.drafts.len() - 1 {
        0 => String::new(),
        n => format!(" ({n} more kept)"),
    };
    s.overlay = Overlay::Confirm(Confirm {
        question: format!(
            "Unsaved draft of {name} from {}{others}. Restore it?",
            cocpit_api::format::short_time(d.saved_at, s.utc_offset)
        ),
        then: Pending::RestoreDraft(d.key.clone()),
    });
    Outcome::redraw()
}

pub fn restore_draft(s: &mut State, key: String) -> Outcome {
    let Some(d) = s.drafts.iter().find(|d| d.key == key) else {
        return Outcome::default();
    };
    s.editor = Some(Box::new(Editor::from_draft(d)));
    s.message = Some((Level::Info, "draft restored: ctrl-s saves it".into()));
    opened(s)
}

/// `:discard`: drops the open editor's draft and reloads the saved script.
pub fn discard(s: &mut State) -> Outcome {
    let Some(e) = s.editor.take() else {
        s.message = Some((Level::Error, "no editor open".into()));
        return Outcome::redraw();
    };
    s.drafts.retain(|d| d.key != e.draft_key);
    s.message = Some((Level::Info, "draft discarded".into()));
    let out = Outcome::redraw().with(Effect::RemoveDraft(e.draft_key.clone()));
    if s.pane == Pane::Editor {
        super::back(s);
    }
    match e.script_uuid {
        Some(uuid) => out.with(Effect::LoadScript(uuid)),
        None => out,
    }
}
