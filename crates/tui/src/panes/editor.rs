//! The editor pane (form over highlighted content) and the script pane (properties,
//! parameters and content, read-only). Layout functions are shared with `update`, which
//! scrolls and highlights with the same sizes the frame will use.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::editor::highlight::{Highlight, token_at};
use crate::editor::{Editor, Field, ParamPart, TAB, char_width};
use crate::state::{Load, State};
use crate::theme::Theme;
use cocpit_api::model::script::ScriptDetailModel;
use cocpit_api::sanitize::for_display;

/// Rows of the body for a screen (header, tab bar, message line and footer take four).
fn body(screen: (u16, u16)) -> Rect {
    Rect::new(0, 2, screen.0, screen.1.saturating_sub(4))
}

/// Form rows above the parameter rows: name, description, parameters header; below them the
/// problem line and the content's title.
const FORM_FIXED: usize = 5;
/// The content keeps at least this many text rows.
const MIN_TEXT: usize = 5;

/// Which parameter rows are shown: a window that holds the focused one.
fn param_window(e: &Editor, body_h: usize) -> std::ops::Range<usize> {
    let room = body_h.saturating_sub(FORM_FIXED + MIN_TEXT);
    let n = e.params.len();
    if n <= room {
        return 0..n;
    }
    let at = match e.focus {
        Field::Param(i, _) => i,
        _ => 0,
    };
    let start = at.saturating_sub(room.saturating_sub(1)).min(n - room);
    start..start + room
}

fn gutter(lines: usize) -> usize {
    lines.max(1).to_string().len() + 1
}

/// Text rows and columns of the editor's content view on a `screen`.
pub fn content_view(screen: (u16, u16), e: &Editor) -> (usize, usize) {
    let b = body(screen);
    let shown = param_window(e, b.height as usize).len();
    let h = (b.height as usize).saturating_sub(FORM_FIXED + shown);
    let w = (b.width as usize).saturating_sub(gutter(e.content.lines().len()));
    (h.max(1), w.max(1))
}

/// Header rows of the script pane before its content.
fn detail_header(d: &ScriptDetailModel) -> usize {
    5 + d.script_params.len().min(8)
}

/// Content rows of the script pane.
pub fn detail_view(screen: (u16, u16), d: &ScriptDetailModel) -> usize {
    (body(screen).height as usize)
        .saturating_sub(detail_header(d))
        .max(1)
}

/// Writes one line of code: line number, highlighted text from display column `left`, and
/// the cursor cell. Control characters show as `�` (content is untrusted); tabs as spaces.
#[allow(clippy::too_many_arguments)]
fn code_line(
    buf: &mut Buffer,
    area: Rect,
    y: u16,
    number: usize,
    gutter_w: usize,
    text: &str,
    tokens: Option<&[(std::ops::Range<usize>, crate::editor::highlight::Token)]>,
    left: usize,
    cursor: Option<usize>,
    theme: &Theme,
) {
    let num = format!("{number:>w$} ", w = gutter_w - 1);
    buf.set_stringn(area.x, y, &num, gutter_w, theme.dim());
    let x0 = area.x as usize + gutter_w;
    let right = (area.x + area.width) as usize;
    let mut col = 0usize;
    let mut cursor_drawn = false;
    for (ci, (at, c)) in text.char_indices().enumerate() {
        let w = char_width(c);
        let style = tokens.map_or(Style::default(), |t| theme.token(token_at(t, at)));
        let style = if cursor == Some(ci) {
            cursor_drawn = true;
            style.add_modifier(Modifier::REVERSED)
        } else {
            style
        };
        if col >= left {
            let x = x0 + col - left;
            if x + w > right {
                break;
            }
            match c {
                '\t' => {
                    for i in 0..TAB {
                        buf[((x + i) as u16, y)].set_char(' ').set_style(style);
                    }
                }
                c if c.is_control() => {
                    buf[(x as u16, y)].set_char('\u{fffd}').set_style(style);
                }
                c if c.is_ascii() => {
                    buf[(x as u16, y)].set_char(c).set_style(style);
                }
                c => {
                    let mut tmp = [0u8; 4];
                    buf.set_stringn(x as u16, y, c.encode_utf8(&mut tmp), w, style);
                }
            }
        }
        col += w;
    }
    if let Some(_c) = cursor.filter(|_| !cursor_drawn)
        && col >= left
        && x0 + col - left < right
    {
        let x = (x0 + col - left) as u16;
        buf.set_stringn(
            x,
            y,
            " ",
            1,
            Style::default().add_modifier(Modifier::REVERSED),
        );
    }
}

fn field_style(s: &State, e: &Editor, f: Field) -> Style {
    if e.focus == f {
        s.theme.selected()
    } else if e.problem_at(f) {
        s.theme.error()
    } else {
        Style::default()
    }
}

/// A label and a value; the focused text field shows a bar where typing goes.
fn field<'a>(s: &State, e: &Editor, f: Field, label: &'a str, value: String) -> Vec<Span<'a>> {
    let focused = e.focus == f;
    let mut v = vec![
        Span::styled(label, s.theme.dim()),
        Span::styled(value, field_style(s, e, f)),
    ];
    if focused
        && !matches!(
            f,
            Field::Type | Field::Risk | Field::Param(_, ParamPart::Sensitive)
        )
    {
        v.push(Span::styled("▏", s.theme.accent()));
    }
    v.push(Span::raw("  "));
    v
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let Some(e) = s.editor.as_deref() else {
        return;
    };
    let buf = f.buffer_mut();
    let mut y = area.y;
    let line = |buf: &mut Buffer, y: u16, l: Line| {
        buf.set_line(area.x, y, &l, area.width);
    };
    // Name, type, risk, version.
    let mut spans = vec![];
    if e.is_new() {
        spans.extend(field(s, e, Field::Name, "name ", for_display(&e.name)));
        spans.extend(field(
            s,
            e,
            Field::Type,
            "type ",
            format!("‹{}›", e.script_type),
        ));
    } else {
        spans.push(Span::styled("name ", s.theme.dim()));
        spans.push(Span::styled(for_display(&e.name), s.theme.accent()));
        spans.push(Span::styled(
            format!("  {}  ", e.script_type),
            s.theme.dim(),
        ));
    }
    spans.extend(field(s, e, Field::Risk, "risk ", format!("‹{}›", e.risk)));
    spans.extend(field(
        s,
        e,
        Field::Version,
        "version ",
        for_display(&e.version),
    ));
    if e.dirty {
        spans.push(Span::styled("● modified", s.theme.warn()));
    }
    line(buf, y, Line::from(spans));
    y += 1;
    line(
        buf,
        y,
        Line::from(field(
            s,
            e,
            Field::Description,
            "description ",
            for_display(&e.description),
        )),
    );
    y += 1;
    // Reviewers: with any, the script waits for one of them to approve it before it runs.
    let mut spans = field(
        s,
        e,
        Field::Reviewers,
        "reviewers ",
        if e.reviewers.is_empty() && e.focus != Field::Reviewers {
            "none (runs without review)".into()
        } else {
            for_display(&e.reviewers)
        },
    );
    if e.focus == Field::Reviewers && !s.users.is_empty() {
        let known: Vec<String> = s
            .users
            .iter()
            .filter(|u| u.role.may_write())
            .map(|u| {
                if u.user_id.is_empty() {
                    for_display(&u.user)
                } else {
                    format!("{}:{}", for_display(&u.user), for_display(&u.user_id))
                }
            })
            .collect();
        spans.push(Span::styled(
            format!("users: {}", known.join(", ")),
            s.theme.dim(),
        ));
    }
    line(buf, y, Line::from(spans));
    y += 1;
    let keys = format!(
        "parameters ({}): {} adds, {} removes, space toggles sensitive",
        e.params.len(),
        s.keymap.first_key(crate::action::Action::AddParam),
        s.keymap.first_key(crate::action::Action::RemoveParam),
    );
    line(buf, y, Line::from(Span::styled(keys, s.theme.dim())));
    y += 1;
    let window = param_window(e, area.height as usize);
    for i in window {
        let p = &e.params[i];
        let value = if p.sensitive && e.focus != Field::Param(i, ParamPart::Value) {
            "•".repeat(p.param_value.chars().count())
        } else {
            for_display(&p.param_value)
        };
        let mut spans = vec![Span::styled(format!("{:>3} ", i + 1), s.theme.dim())];
        spans.extend(field(
            s,
            e,
            Field::Param(i, ParamPart::Name),
            "$",
            for_display(&p.param_name),
        ));
        spans.extend(field(s, e, Field::Param(i, ParamPart::Value), "= ", value));
        spans.extend(field(
            s,
            e,
            Field::Param(i, ParamPart::Description),
            "# ",
            for_display(&p.param_description),
        ));
        spans.extend(field(
            s,
            e,
            Field::Param(i, ParamPart::Sensitive),
            "",
            if p.sensitive {
                "[x] sensitive"
            } else {
                "[ ] sensitive"
            }
            .into(),
        ));
        line(buf, y, Line::from(spans));
        y += 1;
    }
    // The first problem, or that the script is valid.
    let status = match (&e.problem, e.saving) {
        (_, true) => Line::from(Span::styled("saving…", s.theme.dim())),
        (Some(p), _) => Line::from(Span::styled(format!("✘ {p}"), s.theme.error())),
        (None, _) => Line::from(Span::styled(
            format!(
                "✔ valid: {} saves",
                s.keymap.first_key(crate::action::Action::Save)
            ),
            s.theme.ok(),
        )),
    };
    line(buf, y, status);
    y += 1;
    // The content.
    let (row, col) = e.cursor();
    let lines = e.content.lines();
    let title = format!(
        "── {} ── {}/{} chars ── ln {}, col {} {}",
        e.script_type,
        e.content_chars(),
        cocpit_api::model::validate::MAX_CONTENT,
        row + 1,
        col + 1,
        if e.focus == Field::Content {
            "── esc: form"
        } else {
            "── tab: content"
        },
    );
    let title_style = if e.problem_at(Field::Content) {
        s.theme.error()
    } else if e.focus == Field::Content {
        s.theme.accent()
    } else {
        s.theme.dim()
    };
    line(buf, y, Line::from(Span::styled(title, title_style)));
    y += 1;
    let g = gutter(lines.len());
    let bottom = area.y + area.height;
    for (i, text) in lines.iter().enumerate().skip(e.top) {
        if y >= bottom {
            break;
        }
        let cursor = (e.focus == Field::Content && i == row).then_some(col);
        code_line(
            buf,
            area,
            y,
            i + 1,
            g,
            text,
            e.highlight.tokens(i),
            e.left,
            cursor,
            &s.theme,
        );
        y += 1;
    }
}

/// The script pane.
pub fn render_detail(s: &State, f: &mut Frame, area: Rect) {
    let Some(v) = s.script.as_ref() else {
        return;
    };
    let buf = f.buffer_mut();
    let d = match (&v.detail, &v.load) {
        (Some(d), _) => d,
        (None, Load::Failed(e)) => {
            let l = Line::from(Span::styled(
                format!("✘ {}", for_display(e)),
                s.theme.error(),
            ));
            buf.set_line(area.x, area.y, &l, area.width);
            return;
        }
        (None, _) => {
            buf.set_stringn(
                area.x,
                area.y,
                "loading…",
                area.width as usize,
                s.theme.dim(),
            );
            return;
        }
    };
    let mut y = area.y;
    let mut put = |buf: &mut Buffer, l: Line| {
        if y < area.y + area.height {
            buf.set_line(area.x, y, &l, area.width);
            y += 1;
        }
    };
    put(
        buf,
        Line::from(vec![
            Span::styled(for_display(&d.name), s.theme.accent()),
            Span::raw(format!(
                "  {}  risk {}  v{}  {}",
                d.script_type,
                d.properties.risk_level,
                for_display(&d.properties.version),
                d.status
            )),
        ]),
    );
    put(
        buf,
        Line::from(Span::styled(
            format!(
                "{}  by {}  modified {}",
                d.script_uuid,
                for_display(&d.creator),
                cocpit_api::format::short_time(d.gmt_modified, s.utc_offset)
            ),
            s.theme.dim(),
        )),
    );
    put(buf, Line::from(for_display(&d.description)));
    put(
        buf,
        Line::from(Span::styled(
            format!("parameters ({})", d.script_params.len()),
            s.theme.dim(),
        )),
    );
    for p in d.script_params.iter().take(8) {
        let value = if p.sensitive {
            "•••• (sensitive)".to_string()
        } else {
            for_display(&p.param_value)
        };
        put(
            buf,
            Line::from(vec![
                Span::styled(
                    format!("{:>3} ${}", p.param_order, for_display(&p.param_name)),
                    s.theme.accent(),
                ),
                Span::raw(format!(" = {value}  ")),
                Span::styled(for_display(&p.param_description), s.theme.dim()),
            ]),
        );
    }
    // Waiting for review after a change: what changed since its reviewers approved it.
    let changed_since = v.approved.as_deref().filter(|old| {
        d.status == cocpit_api::model::script::ScriptStatus::PendingApprove && *old != d.content
    });
    if let Some(old) = changed_since {
        put(
            buf,
            Line::from(Span::styled(
                "── changes since the approved version (- approved, + now) ──",
                s.theme.dim(),
            )),
        );
        let diff = similar::TextDiff::from_lines(old, d.content.as_str());
        for change in diff.iter_all_changes().skip(v.scroll) {
            let (sign, style) = match change.tag() {
                similar::ChangeTag::Delete => ("- ", s.theme.error()),
                similar::ChangeTag::Insert => ("+ ", s.theme.ok()),
                similar::ChangeTag::Equal => ("  ", s.theme.dim()),
            };
            let text = for_display(change.value().trim_end_matches('\n'));
            put(
                buf,
                Line::from(vec![Span::styled(sign, style), Span::styled(text, style)]),
            );
        }
        return;
    }
    put(
        buf,
        Line::from(Span::styled(
            format!("── content ({} chars) ──", d.content.chars().count()),
            s.theme.dim(),
        )),
    );
    let lines: Vec<&str> = d.content.lines().collect();
    let g = gutter(lines.len());
    let hl: &Highlight = &v.highlight;
    for (i, text) in lines.iter().enumerate().skip(v.scroll) {
        if y >= area.y + area.height {
            break;
        }
        code_line(
            buf,
            area,
            y,
            i + 1,
            g,
            text,
            hl.tokens(i),
            0,
            None,
            &s.theme,
        );
        y += 1;
    }
}
