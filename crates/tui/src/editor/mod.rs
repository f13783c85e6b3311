//! The script editor's state: the form (name, description, type, risk level, version,
//! parameters), the content in a `ratatui-textarea` buffer, the highlighted lines, and the
//! first validation problem. It knows nothing of the terminal or the backend: keys come in,
//! and the caller turns changes into drafts and saves.

pub mod draft;
pub mod highlight;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{CursorMove, TextArea};
use unicode_width::UnicodeWidthChar;

use cocpit_api::model::script::*;
use cocpit_api::model::validate::{self, Invalid};

use draft::Draft;
use highlight::Highlight;

/// A part of a parameter row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamPart {
    Name,
    Value,
    Description,
    Sensitive,
}

/// Where the keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Description,
    Type,
    Risk,
    Version,
    /// Who must approve it: `name[:user_id], …`.
    Reviewers,
    Param(usize, ParamPart),
    Content,
}

const PARTS: [ParamPart; 4] = [
    ParamPart::Name,
    ParamPart::Value,
    ParamPart::Description,
    ParamPart::Sensitive,
];

/// Columns a tab takes on screen.
pub const TAB: usize = 4;

pub struct Editor {
    /// `None` until the script exists in the backend.
    pub script_uuid: Option<String>,
    pub draft_key: String,
    pub name: String,
    pub description: String,
    pub script_type: ScriptType,
    pub risk: RiskLevel,
    pub version: String,
    /// Its reviewers as typed: `name[:user_id], …` (empty: none, it runs without review).
    pub reviewers: String,
    pub params: Vec<ScriptParamDefine>,
    pub content: TextArea<'static>,
    pub focus: Field,
    /// First line and first column of the content shown.
    pub top: usize,
    pub left: usize,
    pub highlight: Highlight,
    /// Changed since it was loaded or saved.
    pub dirty: bool,
    pub problem: Option<Invalid>,
    pub saving: bool,
}

impl std::fmt::Debug for Editor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Editor")
            .field("script_uuid", &self.script_uuid)
            .field("name", &self.name)
            .field("focus", &self.focus)
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
    }
}

fn text_area(content: &str) -> TextArea<'static> {
    let mut lines: Vec<String> = content.split('\n').map(str::to_string).collect();
    if lines.len() > 1 && lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let mut ta = TextArea::new(lines);
    ta.set_tab_length(TAB as u8);
    ta.set_max_histories(200);
    ta
}

const TEMPLATE: &str = "#!/bin/bash\nset -euo pipefail\n\n";

impl Editor {
    /// A new script; `now_ms` names its draft.
    pub fn new_script(now_ms: i64) -> Editor {
        let mut e = Editor {
            script_uuid: None,
            draft_key: format!("new-{now_ms}"),
            name: String::new(),
            description: String::new(),
            script_type: ScriptType::Shell,
            risk: RiskLevel::Low,
            version: "1.0.0".into(),
            reviewers: String::new(),
            params: vec![],
            content: text_area(TEMPLATE),
            focus: Field::Name,
            top: 0,
            left: 0,
            highlight: Highlight::new(ScriptType::Shell),
            dirty: false,
            problem: None,
            saving: false,
        };
        e.content.move_cursor(CursorMove::Bottom);
        e.check();
        e
    }

    pub fn from_detail(d: &ScriptDetailModel) -> Editor {
        let mut e = Editor {
            script_uuid: Some(d.script_uuid.clone()),
            draft_key: d.script_uuid.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            script_type: d.script_type,
            risk: d.properties.risk_level,
            version: d.properties.version.clone(),
            reviewers: cocpit_api::model::team::reviewers_text(
                d.properties.reviewers.as_deref().unwrap_or(&[]),
            ),
            params: d.script_params.clone(),
            content: text_area(&d.content),
            focus: Field::Content,
            top: 0,
            left: 0,
            highlight: Highlight::new(d.script_type),
            dirty: false,
            problem: None,
            saving: false,
        };
        e.check();
        e
    }

    pub fn from_draft(d: &Draft) -> Editor {
        let mut e = Editor {
            script_uuid: d.script_uuid.clone(),
            draft_key: d.key.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            script_type: d.script_type,
            risk: d.risk_level,
            version: d.version.clone(),
            reviewers: d.reviewers.clone(),
            params: d.params.clone(),
            content: text_area(&d.content),
            focus: Field::Content,
            top: 0,
            left: 0,
            highlight: Highlight::new(d.script_type),
            dirty: true,
            problem: None,
            saving: false,
        };
        e.check();
        e
    }

    pub fn to_draft(&self, now_ms: i64) -> Draft {
        Draft {
            key: self.draft_key.clone(),
            script_uuid: self.script_uuid.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            script_type: self.script_type,
            risk_level: self.risk,
            version: self.version.clone(),
            reviewers: self.reviewers.clone(),
            params: self.ordered_params(),
            content: self.content_text(),
            saved_at: now_ms,
        }
    }

    pub fn is_new(&self) -> bool {
        self.script_uuid.is_none()
    }

    /// The content's cursor: line and character.
    pub fn cursor(&self) -> (usize, usize) {
        let c = self.content.cursor();
        (c.0, c.1)
    }

    pub fn content_text(&self) -> String {
        self.content.lines().join("\n")
    }

    pub fn content_chars(&self) -> usize {
        let lines = self.content.lines();
        lines.iter().map(|l| l.chars().count()).sum::<usize>() + lines.len().saturating_sub(1)
    }

    /// The parameters with `param_order` following their position, as the API wants them.
    fn ordered_params(&self) -> Vec<ScriptParamDefine> {
        self.params
            .iter()
            .enumerate()
            .map(|(i, p)| ScriptParamDefine {
                param_order: i as i64 + 1,
                ..p.clone()
            })
            .collect()
    }

    fn properties(&self) -> ScriptPropertiesModel {
        let reviewers = cocpit_api::model::team::parse_reviewers(&self.reviewers);
        ScriptPropertiesModel {
            risk_level: self.risk,
            version: self.version.clone(),
            reviewers: (!reviewers.is_empty()).then_some(reviewers),
            protocol: None,
        }
    }

    pub fn add_body(&self) -> AddScriptModel {
        AddScriptModel {
            name: self.name.clone(),
            description: self.description.clone(),
            script_type: self.script_type,
            content: self.content_text(),
            properties: self.properties(),
            script_params: Some(self.ordered_params()),
            enterprise_project_id: None,
        }
    }

    pub fn edit_body(&self) -> EditScriptModel {
        EditScriptModel {
            description: self.description.clone(),
            content: self.content_text(),
            properties: Some(self.properties()),
            script_params: Some(self.ordered_params()),
            name: None,
            script_type: None,
        }
    }

    /// Re-validates against the seed's limits (the engine's own rules).
    pub fn check(&mut self) {
        self.problem = if self.is_new() {
            validate::add_script(&self.add_body()).err()
        } else {
            validate::edit_script(&self.edit_body()).err()
        };
    }

    /// Whether the problem is about `field` (for showing it there).
    pub fn problem_at(&self, field: Field) -> bool {
        let Some(p) = &self.problem else {
            return false;
        };
        let f = p.field.as_str();
        match field {
            Field::Name => f == "name",
            Field::Description => f == "description",
            Field::Version => f.starts_with("properties") && !f.contains("reviewers"),
            Field::Reviewers => f.contains("reviewers"),
            Field::Content => f == "content",
            Field::Param(i, part) => {
                let pre = format!("script_params[{i}]");
                f.starts_with(&pre)
                    && match part {
                        ParamPart::Name => f.ends_with("param_name") || f == pre,
                        ParamPart::Value => f.ends_with("param_value"),
                        ParamPart::Description => f.ends_with("param_description"),
                        ParamPart::Sensitive => false,
                    }
            }
            Field::Type | Field::Risk => false,
        }
    }

    /// The fields in tab order. The name and type of a saved script never change.
    /// The fields in the order tab visits them: as laid out, left to right, top to bottom.
    pub fn fields(&self) -> Vec<Field> {
        let mut v = vec![];
        if self.is_new() {
            v.extend([Field::Name, Field::Type]);
        }
        v.extend([
            Field::Risk,
            Field::Version,
            Field::Description,
            Field::Reviewers,
        ]);
        for i in 0..self.params.len() {
            v.extend(PARTS.iter().map(|p| Field::Param(i, *p)));
        }
        v.push(Field::Content);
        v
    }

    pub fn next_field(&mut self, back: bool) {
        let f = self.fields();
        let at = f.iter().position(|x| *x == self.focus).unwrap_or(0) as isize;
        let n = f.len() as isize;
        let to = if back { at - 1 } else { at + 1 };
        self.focus = f[to.rem_euclid(n) as usize];
    }

    /// Adds a parameter after the focused one (or at the end) and focuses its name.
    pub fn add_param(&mut self) -> bool {
        if self.params.len() >= validate::MAX_PARAMS {
            return false;
        }
        let at = match self.focus {
            Field::Param(i, _) => i + 1,
            _ => self.params.len(),
        };
        self.params.insert(
            at,
            ScriptParamDefine {
                param_name: format!("param{}", self.params.len() + 1),
                param_value: String::new(),
                param_description: String::new(),
                param_order: 0,
                sensitive: false,
            },
        );
        self.focus = Field::Param(at, ParamPart::Name);
        self.changed();
        true
    }

    pub fn remove_param(&mut self) -> bool {
        let Field::Param(i, _) = self.focus else {
            return false;
        };
        self.params.remove(i);
        self.focus = match self.params.len() {
            0 => Field::Version,
            n => Field::Param(i.min(n - 1), ParamPart::Name),
        };
        self.changed();
        true
    }

    /// Replaces the content (from `$EDITOR`), keeping the cursor's line where it can.
    pub fn set_content(&mut self, text: &str) {
        let (row, _) = self.cursor();
        self.content = text_area(text);
        let last = self.content.lines().len().saturating_sub(1);
        self.content
            .move_cursor(CursorMove::Jump(row.min(last) as u16, 0));
        self.changed();
    }

    fn changed(&mut self) {
        self.dirty = true;
        self.check();
    }

    /// A key for the focused field; true when something changed (the caller saves a draft).
    pub fn key(&mut self, k: KeyEvent, page: usize) -> bool {
        let changed = match self.focus {
            Field::Content => self.content_key(k, page),
            Field::Type | Field::Risk | Field::Param(_, ParamPart::Sensitive) => self.choice_key(k),
            _ => self.text_key(k),
        };
        if changed {
            self.changed();
        }
        changed
    }

    fn content_key(&mut self, k: KeyEvent, page: usize) -> bool {
        // Tab indents as the language expects: four spaces in Python (PEP 8), a real tab in
        // shell and batch (what `<<-` heredocs strip).
        self.content
            .set_hard_tab_indent(self.script_type != ScriptType::Python);
        let (row, col) = self.cursor();
        let page = page.max(1);
        match k.code {
            // The widget's own paging needs its render-time viewport; ours is in `top`.
            KeyCode::PageDown => {
                let to = (row + page).min(self.content.lines().len().saturating_sub(1));
                self.content
                    .move_cursor(CursorMove::Jump(to as u16, col as u16));
                false
            }
            KeyCode::PageUp => {
                self.content.move_cursor(CursorMove::Jump(
                    row.saturating_sub(page) as u16,
                    col as u16,
                ));
                false
            }
            _ => self.content.input(k),
        }
    }

    fn choice_key(&mut self, k: KeyEvent) -> bool {
        let back = matches!(k.code, KeyCode::Left);
        if !matches!(k.code, KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right) {
            return false;
        }
        fn cycle<T: Copy + PartialEq>(all: &[T], cur: T, back: bool) -> T {
            let i = all.iter().position(|x| *x == cur).unwrap_or(0);
            let n = all.len();
            all[if back { (i + n - 1) % n } else { (i + 1) % n }]
        }
        match self.focus {
            Field::Type => {
                self.script_type = cycle(ScriptType::ALL, self.script_type, back);
                self.highlight.set_lang(self.script_type);
            }
            Field::Risk => self.risk = cycle(RiskLevel::ALL, self.risk, back),
            Field::Param(i, _) => {
                if let Some(p) = self.params.get_mut(i) {
                    p.sensitive = !p.sensitive;
                }
            }
            _ => return false,
        }
        true
    }

    fn text_key(&mut self, k: KeyEvent) -> bool {
        let Some(text) = self.text_of(self.focus) else {
            return false;
        };
        match k.code {
            KeyCode::Char(c)
                if !k
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                text.push(c);
                true
            }
            KeyCode::Backspace => text.pop().is_some(),
            _ => false,
        }
    }

    fn text_of(&mut self, f: Field) -> Option<&mut String> {
        match f {
            Field::Name => Some(&mut self.name),
            Field::Description => Some(&mut self.description),
            Field::Version => Some(&mut self.version),
            Field::Reviewers => Some(&mut self.reviewers),
            Field::Param(i, part) => {
                let p = self.params.get_mut(i)?;
                match part {
                    ParamPart::Name => Some(&mut p.param_name),
                    ParamPart::Value => Some(&mut p.param_value),
                    ParamPart::Description => Some(&mut p.param_description),
                    ParamPart::Sensitive => None,
                }
            }
            _ => None,
        }
    }

    /// Scrolls so the cursor is inside a `height`×`width` view of the text, and highlights
    /// the lines in view. Called after every change, never from rendering.
    pub fn follow_cursor(&mut self, height: usize, width: usize) {
        let (row, col) = self.cursor();
        let height = height.max(1);
        if row < self.top {
            self.top = row;
        } else if row >= self.top + height {
            self.top = row + 1 - height;
        }
        let x = display_col(&self.content.lines()[row], col);
        let width = width.max(1);
        if x < self.left {
            self.left = x;
        } else if x >= self.left + width {
            self.left = x + 1 - width;
        }
        self.highlight
            .update(self.content.lines(), self.top + height);
    }
}

/// The screen column of character `col` in `line` (tabs to [`TAB`], wide characters two).
pub fn display_col(line: &str, col: usize) -> usize {
    line.chars().take(col).map(char_width).sum()
}

pub fn char_width(c: char) -> usize {
    if c == '\t' {
        TAB
    } else {
        c.width().unwrap_or(1).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn typed(e: &mut Editor, s: &str) {
        for c in s.chars() {
            let code = if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            };
            e.key(key(code), 10);
        }
    }

    #[test]
    fn a_new_script_is_checked_as_it_is_typed() {
        let mut e = Editor::new_script(1);
        assert_eq!(e.problem.as_ref().unwrap().field, "name");
        assert!(e.problem_at(Field::Name));
        typed(&mut e, "bad name");
        assert!(
            e.problem.as_ref().unwrap().rule.contains("letters"),
            "{:?}",
            e.problem
        );
        for _ in 0..5 {
            e.key(key(KeyCode::Backspace), 10);
        }
        typed(&mut e, "_ok");
        assert_eq!(e.name, "bad_ok");
        assert_eq!(e.problem.as_ref().unwrap().field, "description");
        // Type (beside the name): space cycles SHELL → PYTHON and the highlighter follows.
        e.next_field(false);
        assert_eq!(e.focus, Field::Type);
        e.key(key(KeyCode::Char(' ')), 10);
        assert_eq!(e.script_type, ScriptType::Python);
        assert_eq!(e.highlight.lang(), ScriptType::Python);
        assert!(e.dirty);
        // Past risk and version to the description on the line below.
        for _ in 0..3 {
            e.next_field(false);
        }
        assert_eq!(e.focus, Field::Description);
        typed(&mut e, "says hello");
        assert_eq!(e.problem, None);
    }

    #[test]
    fn parameters_are_added_ordered_and_validated() {
        let mut e = Editor::new_script(1);
        e.name = "p".into();
        e.description = "d".into();
        e.focus = Field::Version;
        assert!(e.add_param());
        assert_eq!(e.focus, Field::Param(0, ParamPart::Name));
        e.add_param();
        assert_eq!(e.params.len(), 2);
        e.focus = Field::Param(1, ParamPart::Value);
        typed(&mut e, "a..b");
        let p = e.problem.clone().unwrap();
        assert_eq!(p.field, "script_params[1].param_value", "{p:?}");
        assert!(e.problem_at(Field::Param(1, ParamPart::Value)));
        let body = e.add_body();
        let orders: Vec<i64> = body
            .script_params
            .unwrap()
            .iter()
            .map(|p| p.param_order)
            .collect();
        assert_eq!(orders, [1, 2]);
        e.focus = Field::Param(0, ParamPart::Description);
        assert!(e.remove_param());
        assert_eq!(e.params.len(), 1);
        assert_eq!(e.params[0].param_value, "a..b");
    }

    #[test]
    fn content_edits_scroll_and_highlight_the_view_only() {
        let body: String = (0..300).map(|i| format!("echo line {i}\n")).collect();
        let d = ScriptDetailModel {
            script_uuid: "SC1".into(),
            name: "x".into(),
            version: "1".into(),
            description: "d".into(),
            script_type: ScriptType::Shell,
            content: body,
            script_params: vec![],
            status: ScriptStatus::Approved,
            gmt_created: 0,
            gmt_modified: 0,
            creator: String::new(),
            creator_id: String::new(),
            operator: String::new(),
            properties: ScriptPropertiesModel {
                risk_level: RiskLevel::Low,
                version: "1".into(),
                reviewers: None,
                protocol: None,
            },
            enterprise_project_id: None,
        };
        let mut e = Editor::from_detail(&d);
        assert_eq!(e.content.lines().len(), 300);
        assert!(
            !e.fields().contains(&Field::Name),
            "a saved script keeps its name"
        );
        e.follow_cursor(20, 40);
        assert_eq!(e.highlight.ready(), 20);
        e.key(key(KeyCode::PageDown), 20);
        e.key(key(KeyCode::PageDown), 20);
        e.follow_cursor(20, 40);
        assert_eq!(e.content.cursor().0, 40);
        assert_eq!(e.top, 21);
        assert_eq!(e.highlight.ready(), 41);
        typed(&mut e, "X");
        assert!(e.dirty);
        assert_eq!(e.content.lines()[40], "Xecho line 40");
        e.follow_cursor(20, 40);
        assert_eq!(e.highlight.ready(), 41);
        e.set_content("echo one\necho two\n");
        assert_eq!(e.content.lines().len(), 2);
        assert_eq!(e.content.cursor().0, 1);
    }

    #[test]
    fn drafts_round_trip() {
        let mut e = Editor::new_script(7);
        e.name = "n".into();
        typed(&mut e, "");
        e.focus = Field::Content;
        typed(&mut e, "echo hi");
        let d = e.to_draft(99);
        assert_eq!(d.key, "new-7");
        let back = Editor::from_draft(&d);
        assert_eq!(back.content_text(), e.content_text());
        assert!(back.dirty);
        assert_eq!(back.to_draft(99), d);
    }
}
