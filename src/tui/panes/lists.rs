//! The list panes: scripts, orders, resources, and the panes not backed by data yet.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table, Wrap};

use crate::format::{duration, short_time};
use crate::sanitize::for_display;
use crate::tui::state::{List, Load, Row, State};

/// Columns shown at a width: each (title, width constraint, minimum terminal width to show it).
type Column = (&'static str, Constraint, u16);

/// The visible window of a list: rows `[start, start + height)` keep the selection in view.
fn window<T>(list: &List<T>, height: usize) -> (usize, usize) {
    let h = height.max(1);
    let start = list.selected.saturating_sub(h - 1);
    (start, (start + h).min(list.visible.len()))
}

fn status_line<T>(list: &List<T>, what: &str) -> String {
    let shown = list.visible.len();
    let total = list.items.len();
    let filter = if list.filter.is_empty() {
        String::new()
    } else {
        format!(" filter /{}", list.filter)
    };
    let marked = if list.marked.is_empty() {
        String::new()
    } else {
        format!(" · {} marked", list.marked.len())
    };
    format!(" {what} {shown}/{total}{filter}{marked} ")
}

/// What a list pane shows: its name, what to say when it is empty, its columns.
struct Spec<'a> {
    what: &'a str,
    empty_hint: &'a str,
    columns: &'a [Column],
}

/// Draws a list pane: its loading/error/empty states, or a table of the visible rows.
fn table<T: Row>(
    s: &State,
    f: &mut Frame,
    area: Rect,
    list: &List<T>,
    spec: Spec,
    cells: impl Fn(&T) -> Vec<Cell<'static>>,
) {
    let Spec {
        what,
        empty_hint,
        columns,
    } = spec;
    let block = Block::default()
        .borders(Borders::TOP)
        .title(status_line(list, what))
        .border_style(s.theme.dim());
    match &list.load {
        Load::Loading if list.items.is_empty() => {
            f.render_widget(
                Paragraph::new(format!("loading {what}…")).block(block),
                area,
            );
            return;
        }
        Load::Failed(e) if list.items.is_empty() => {
            f.render_widget(
                Paragraph::new(Line::from(Span::styled(
                    format!(
                        "✘ could not load {what}: {} (ctrl-r retries)",
                        for_display(e)
                    ),
                    s.theme.error(),
                )))
                .wrap(Wrap { trim: true })
                .block(block),
                area,
            );
            return;
        }
        _ => {}
    }
    if list.visible.is_empty() {
        let text = if list.items.is_empty() {
            empty_hint.to_string()
        } else {
            format!(
                "nothing matches /{} (esc in the filter clears it)",
                list.filter
            )
        };
        f.render_widget(Paragraph::new(text).style(s.theme.dim()).block(block), area);
        return;
    }
    let shown: Vec<&Column> = columns.iter().filter(|c| area.width >= c.2).collect();
    let keep: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| area.width >= c.2)
        .map(|(i, _)| i)
        .collect();
    let height = area.height.saturating_sub(2) as usize;
    let (start, end) = window(list, height);
    let rows: Vec<TableRow> = list.visible[start..end]
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let item = &list.items[i];
            let mut all = cells(item);
            let marked = list.marked.contains(&item.key());
            all.insert(0, Cell::from(if marked { "●" } else { " " }));
            let row: Vec<Cell> = std::iter::once(all.remove(0))
                .chain(
                    keep.iter()
                        .map(|&k| all.get(k).cloned().unwrap_or_default()),
                )
                .collect();
            let r = TableRow::new(row);
            if start + n == list.selected {
                r.style(s.theme.selected())
            } else {
                r
            }
        })
        .collect();
    let widths: Vec<Constraint> = std::iter::once(Constraint::Length(1))
        .chain(shown.iter().map(|c| c.1))
        .collect();
    let header = TableRow::new(
        std::iter::once(Cell::from(""))
            .chain(shown.iter().map(|c| Cell::from(c.0)))
            .collect::<Vec<_>>(),
    )
    .style(s.theme.dim());
    f.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(block)
            .column_spacing(1),
        area,
    );
}

pub fn scripts(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("NAME", Constraint::Min(16), 0),
        ("TYPE", Constraint::Length(6), 0),
        ("RISK", Constraint::Length(6), 0),
        ("VERSION", Constraint::Length(8), 70),
        ("UPDATED", Constraint::Length(11), 60),
        ("SCRIPT_UUID", Constraint::Length(25), 110),
    ];
    table(
        s,
        f,
        area,
        &s.scripts,
        Spec {
            what: "scripts",
            empty_hint: "no scripts yet: create one with `cocpit script create --name NAME --file FILE`",
            columns,
        },
        |x| {
            vec![
                Cell::from(for_display(&x.name)),
                Cell::from(x.script_type.to_string()),
                Cell::from(x.properties.risk_level.to_string()),
                Cell::from(for_display(&x.properties.version)),
                Cell::from(short_time(x.gmt_modified, s.utc_offset)),
                Cell::from(x.script_uuid.clone()),
            ]
        },
    );
}

pub fn orders(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("STATUS", Constraint::Length(12), 0),
        ("SCRIPT", Constraint::Min(12), 0),
        ("CREATED", Constraint::Length(11), 0),
        ("DURATION", Constraint::Length(9), 70),
        ("EXECUTE_UUID", Constraint::Length(26), 100),
    ];
    table(
        s,
        f,
        area,
        &s.orders,
        Spec {
            what: "orders",
            empty_hint: "no orders yet: pick a script (1) and press r to run it",
            columns,
        },
        |o| {
            let (sym, style) = s.theme.order_status(o.status);
            vec![
                Cell::from(Span::styled(format!("{sym} {}", o.status), style)),
                Cell::from(for_display(&o.order_name)),
                Cell::from(short_time(o.gmt_created, s.utc_offset)),
                Cell::from(duration(o.execute_costs)),
                Cell::from(o.execute_uuid.clone()),
            ]
        },
    );
}

pub fn resources(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("RESOURCE_ID", Constraint::Min(12), 0),
        ("TRANSPORT", Constraint::Length(9), 0),
        ("STATE", Constraint::Length(8), 0),
        ("TAGS", Constraint::Min(10), 70),
    ];
    table(
        s,
        f,
        area,
        &s.resources,
        Spec {
            what: "resources",
            empty_hint: "no resources: list hosts under [inventory] in the config",
            columns,
        },
        |r| {
            let tags: Vec<String> = r
                .tags
                .iter()
                .map(|t| format!("{}={}", t.key, t.value))
                .collect();
            vec![
                Cell::from(for_display(&r.resource_id)),
                Cell::from(
                    r.properties
                        .get("transport")
                        .and_then(|v| v.as_str())
                        .unwrap_or("-")
                        .to_string(),
                ),
                Cell::from(r.agent_state.clone().unwrap_or_else(|| "-".into())),
                Cell::from(for_display(&tags.join(" "))),
            ]
        },
    );
}

pub fn not_backed(s: &State, f: &mut Frame, area: Rect, what: &str) {
    let text = format!(
        "{what} are not backed by data yet: the engine gains incidents and the alarm stream in a \
         coming release. Scripts (1), orders (2) and resources (3) work today."
    );
    f.render_widget(
        Paragraph::new(text)
            .style(s.theme.dim())
            .wrap(Wrap { trim: true })
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(format!(" {what} ")),
            ),
        area,
    );
}
