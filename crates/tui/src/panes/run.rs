//! The run form: targets, batch plan, thresholds, and the name check for HIGH-risk scripts, with
//! the plan validated as it is typed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::render::centered;
use crate::state::{RunForm, State};
use cocpit_api::sanitize::for_display;

pub fn render(s: &State, f: &mut Frame, area: Rect, form: &RunForm) {
    let rect = centered(area, 70, 15 + form.params.len() as u16);
    let inner_w = rect.width.saturating_sub(2) as usize;
    let groups = form.explicit_groups();
    let hosts = if !groups.is_empty() {
        format!("{} hosts as typed below", groups.iter().flatten().count())
    } else {
        format!("{} host(s): {}", form.hosts.len(), form.hosts.join(", "))
    };
    let plan = form.plan_preview();
    let confirm = form.confirm_field();
    let value = |i: usize| -> String {
        match i {
            0 => form.batch_size.clone(),
            1 => {
                if form.rotation_pause {
                    "PAUSE after each batch (space toggles)".into()
                } else {
                    "CONTINUE (space toggles)".into()
                }
            }
            2 => form.success_rate.clone(),
            3 => form.timeout.clone(),
            4 if form.explicit.is_empty() => "(optional) host ids, | between batches".into(),
            4 => for_display(&form.explicit),
            n if n == confirm => {
                if form.high_risk {
                    form.confirm_name.clone()
                } else {
                    "(not needed: not a HIGH-risk script)".into()
                }
            }
            n => match form.params.get(n - RunForm::FIELDS.len()) {
                // Sensitive values never reach the screen.
                Some(p) if p.sensitive => "•".repeat(p.param_value.chars().count()),
                Some(p) => for_display(&p.param_value),
                None => String::new(),
            },
        }
    };
    let label = |i: usize| -> String {
        match i {
            n if n == confirm => "type name".into(),
            n if n < RunForm::FIELDS.len() => RunForm::FIELDS[n].into(),
            n => form
                .params
                .get(n - RunForm::FIELDS.len())
                .map(|p| format!("${}", for_display(&p.param_name)))
                .unwrap_or_default(),
        }
    };
    let one_line = |text: String| fit(&for_display(&text), inner_w.saturating_sub(8));
    let mut lines = vec![
        Line::from(vec![
            Span::raw("script  "),
            Span::styled(one_line(form.script_name.clone()), s.theme.accent()),
        ]),
        Line::from(vec![Span::raw("hosts   "), Span::raw(one_line(hosts))]),
        Line::from(vec![
            Span::raw("plan    "),
            Span::styled(one_line(plan), s.theme.dim()),
        ]),
        Line::default(),
    ];
    for i in 0..=confirm {
        let style = if i == form.field {
            s.theme.selected()
        } else {
            ratatui::style::Style::default()
        };
        let name: String = label(i).chars().take(15).collect();
        lines.push(Line::from(vec![
            Span::styled(format!("{name:>15}  "), s.theme.dim()),
            Span::styled(fit(&value(i), inner_w.saturating_sub(17)), style),
        ]));
    }
    // The verdict has rows of its own at the bottom: it is never pushed out of view.
    let verdict = match &form.error {
        Some(e) => Line::from(Span::styled(format!("✘ {e}"), s.theme.error())),
        None => Line::from(Span::styled(
            "✔ plan is valid: enter starts it",
            s.theme.ok(),
        )),
    };
    crate::render::clear_popup(f, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" run (tab/↑↓ fields, space toggles rotation, esc cancels) ");
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    let [body, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(inner);
    f.render_widget(Paragraph::new(lines), body);
    f.render_widget(Paragraph::new(verdict).wrap(Wrap { trim: true }), status);
}

/// `text` cut to `width` columns, with an ellipsis when cut.
fn fit(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + 1 >= width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}
