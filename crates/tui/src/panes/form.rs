//! The form popup: a row a field, the focused one marked, what the values mean (notes), and
//! the first problem or the go-ahead at the bottom.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::render::{centered, clear_popup};
use crate::state::{FieldKind, Form, State};
use cocpit_api::sanitize::for_display;

pub fn render(s: &State, f: &mut Frame, area: Rect, form: &Form) {
    let notes = if form.notes.is_empty() {
        0
    } else {
        form.notes.len() as u16 + 1
    };
    let rect = centered(area, 72, form.fields.len() as u16 + 5 + notes);
    let mut lines = vec![];
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.field;
        let value = match &field.kind {
            FieldKind::Text if focused => format!("{}▏", for_display(&field.value)),
            FieldKind::Text => for_display(&field.value),
            FieldKind::Choice(_) => {
                format!("‹{}›", cocpit_api::model::incident::words(&field.value))
            }
            FieldKind::Bool => format!(
                "[{}] {}",
                if field.value == "yes" { "x" } else { " " },
                field.value
            ),
        };
        let style = if focused {
            s.theme.selected()
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:>20}  ", field.label), s.theme.dim()),
            Span::styled(value, style),
        ]));
    }
    if !form.notes.is_empty() {
        lines.push(Line::default());
        for n in &form.notes {
            lines.push(Line::from(Span::styled(n.clone(), s.theme.accent())));
        }
    }
    lines.push(Line::default());
    lines.push(match &form.error {
        Some(e) => Line::from(Span::styled(format!("✘ {e}"), s.theme.error())),
        None => Line::from(Span::styled("✔ enter sends", s.theme.ok())),
    });
    clear_popup(f, rect);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default().borders(Borders::ALL).title(format!(
                " {} (tab fields, space/←→ choices, esc cancels) ",
                form.title
            )),
        ),
        rect,
    );
}
