//! The list panes: scripts, orders, resources, and the panes not backed by data yet.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::state::{List, Load, Row, State};
use crate::widgets::rows::{self, Width};
use cocpit_api::format::{duration, short_time};
use cocpit_api::model::script::ScriptStatus;
use cocpit_api::sanitize::for_display;

/// Columns shown at a width: each (title, width constraint, minimum terminal width to show it).
pub(crate) type Column = (&'static str, Width, u16);

pub(crate) fn plain(text: impl Into<String>) -> (String, Style) {
    (text.into(), Style::default())
}

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
    // `+`: the server has more; they load as the selection nears the end.
    let more = if list.more { "+" } else { "" };
    format!(" {what} {shown}/{total}{more}{filter}{marked} ")
}

/// What a list pane shows: its name, what to say when it is empty, its columns.
pub(crate) struct Spec<'a> {
    pub what: &'a str,
    pub empty_hint: &'a str,
    pub columns: &'a [Column],
}

/// Draws a list pane: its loading/error/empty states, or a table of the visible rows.
pub(crate) fn table<T: Row>(
    s: &State,
    f: &mut Frame,
    area: Rect,
    list: &List<T>,
    spec: Spec,
    cells: impl Fn(&T) -> Vec<(String, Style)>,
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
        // Hints wrap: at 80 columns they are read whole, not cut.
        f.render_widget(
            Paragraph::new(text)
                .style(s.theme.dim())
                .wrap(Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    // The sorted column says so in its header: `NAME▲`.
    let sorted = list
        .sort
        .map(|(c, down)| (T::SORT_COLUMNS[c], if down { "▼" } else { "▲" }));
    let titles: Vec<String> = columns
        .iter()
        .map(|c| match sorted {
            Some((title, arrow)) if title == c.0 => format!("{}{arrow}", c.0),
            _ => c.0.to_string(),
        })
        .collect();
    let columns: Vec<(&str, Width, u16)> = columns
        .iter()
        .zip(&titles)
        .map(|(c, t)| (t.as_str(), c.1, c.2))
        .collect();
    let shown = Shown::new(&columns, area.width);
    let (start, end) = window(list, inner.height.saturating_sub(1) as usize);
    let rows = list.visible[start..end].iter().enumerate().map(|(n, &i)| {
        let item = &list.items[i];
        let all = cells(item);
        let mark = if list.marked.contains(&item.key()) {
            "●"
        } else {
            " "
        };
        let row = shown.row(mark, all);
        let style = if start + n == list.selected {
            s.theme.selected()
        } else {
            Style::default()
        };
        (row, style)
    });
    shown.render(s, f, inner, rows);
}

/// The columns that fit a width, after a one-cell mark column (`●` for a marked row).
pub(crate) struct Shown<'a> {
    keep: Vec<usize>,
    widths: Vec<Width>,
    titles: Vec<&'a str>,
}

impl<'a> Shown<'a> {
    pub fn new(columns: &'a [(&'a str, Width, u16)], width: u16) -> Shown<'a> {
        let keep: Vec<usize> = (0..columns.len())
            .filter(|&i| width >= columns[i].2)
            .collect();
        Shown {
            widths: std::iter::once(Width::Fixed(1))
                .chain(keep.iter().map(|&i| columns[i].1))
                .collect(),
            titles: std::iter::once("")
                .chain(keep.iter().map(|&i| columns[i].0))
                .collect(),
            keep,
        }
    }

    /// A row's cells (one per column, in order) cut to the columns shown.
    pub fn row(&self, mark: &str, all: Vec<(String, Style)>) -> Vec<(String, Style)> {
        std::iter::once((mark.to_string(), Style::default()))
            .chain(
                self.keep
                    .iter()
                    .map(|&k| all.get(k).cloned().unwrap_or_default()),
            )
            .collect()
    }

    /// The header and `rows` in `area`.
    pub fn render<'r>(
        &self,
        s: &State,
        f: &mut Frame,
        area: Rect,
        rows: impl Iterator<Item = (Vec<(String, Style)>, Style)> + 'r,
    ) {
        rows::render(
            f.buffer_mut(),
            area,
            &self.widths,
            (&self.titles, s.theme.dim()),
            rows,
        );
    }
}

pub fn scripts(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("NAME", Width::Fill(16), 0),
        ("TYPE", Width::Fixed(6), 0),
        ("RISK", Width::Fixed(6), 0),
        ("REVIEW", Width::Fixed(10), 100),
        ("VERSION", Width::Fixed(8), 70),
        ("UPDATED", Width::Fixed(11), 60),
        ("SCRIPT_UUID", Width::Fixed(26), 110),
    ];
    table(
        s,
        f,
        area,
        &s.scripts,
        Spec {
            what: "scripts",
            empty_hint: "no scripts yet: n creates one here (or `cocpit script create --name NAME --file FILE`)",
            columns,
        },
        |x| {
            vec![
                plain(for_display(&x.name)),
                plain(x.script_type.to_string()),
                plain(x.properties.risk_level.to_string()),
                match x.status {
                    ScriptStatus::Approved => plain("approved"),
                    ScriptStatus::PendingApprove => ("⚑ pending".into(), s.theme.warn()),
                    ScriptStatus::Rejected => ("✘ rejected".into(), s.theme.error()),
                },
                plain(for_display(&x.properties.version)),
                plain(short_time(x.gmt_modified, s.utc_offset)),
                plain(x.script_uuid.clone()),
            ]
        },
    );
}

/// Scripts waiting for the user's review.
pub fn reviews(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("NAME", Width::Fill(16), 0),
        ("AUTHOR", Width::Fixed(12), 0),
        ("RISK", Width::Fixed(6), 0),
        ("MODIFIED", Width::Fixed(11), 60),
        ("BY", Width::Fixed(12), 80),
        ("SCRIPT_UUID", Width::Fixed(26), 110),
    ];
    table(
        s,
        f,
        area,
        &s.reviews,
        Spec {
            what: "scripts to review",
            empty_hint: "nothing waits for your review",
            columns,
        },
        |x| {
            vec![
                plain(for_display(&x.name)),
                plain(for_display(&x.creator)),
                plain(x.properties.risk_level.to_string()),
                plain(short_time(x.gmt_modified, s.utc_offset)),
                plain(for_display(&x.operator)),
                plain(x.script_uuid.clone()),
            ]
        },
    );
}

/// The audit trail, newest first.
pub fn audit(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("WHEN", Width::Fixed(11), 0),
        ("USER", Width::Fixed(12), 0),
        ("OPERATION", Width::Fixed(22), 0),
        ("STATUS", Width::Fixed(6), 0),
        ("OUTCOME", Width::Fill(16), 0),
        ("TARGET", Width::Fixed(34), 110),
        ("ROLE", Width::Fixed(8), 130),
        ("FROM", Width::Fixed(21), 150),
    ];
    table(
        s,
        f,
        area,
        &s.audit,
        Spec {
            what: "audit",
            empty_hint: "no writes recorded yet (the audit trail is kept by `cocpit serve`)",
            columns,
        },
        |x| {
            let status = if x.status < 300 {
                (x.status.to_string(), s.theme.ok())
            } else {
                (x.status.to_string(), s.theme.error())
            };
            vec![
                plain(short_time(x.at, s.utc_offset)),
                plain(for_display(&x.user)),
                plain(for_display(&x.operation)),
                status,
                plain(for_display(&x.outcome)),
                plain(for_display(&x.target)),
                plain(for_display(&x.role)),
                plain(for_display(&x.address)),
            ]
        },
    );
}

pub fn orders(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("STATUS", Width::Fixed(11), 0),
        ("SCRIPT", Width::Fill(12), 0),
        ("HOSTS", Width::Fixed(5), 0),
        ("PROGRESS", Width::Fixed(16), 0),
        ("CREATED", Width::Fixed(11), 70),
        ("DURATION", Width::Fixed(9), 90),
        ("EXECUTE_UUID", Width::Fixed(26), 120),
    ];
    table(
        s,
        f,
        area,
        &s.orders,
        Spec {
            what: "orders",
            empty_hint: "no orders yet: pick a script (1) and press r",
            columns,
        },
        |o| {
            let t = o.properties.tally.unwrap_or_default();
            let (sym, style) = s.theme.order_outcome(o.status, t.failed > 0);
            let progress = match o.properties.tally {
                None => "-".to_string(),
                Some(t) if t.failed > 0 => format!(
                    "{}/{} done · {}✘",
                    t.total - t.waiting - t.running,
                    t.total,
                    t.failed
                ),
                Some(t) => format!("{}/{} done", t.total - t.waiting - t.running, t.total),
            };
            vec![
                (format!("{sym} {}", o.status.words()), style),
                plain(for_display(&o.order_name)),
                plain(
                    o.properties
                        .tally
                        .map(|t| t.total.to_string())
                        .unwrap_or_else(|| "-".into()),
                ),
                (
                    progress,
                    if t.failed > 0 {
                        s.theme.error()
                    } else {
                        ratatui::style::Style::default()
                    },
                ),
                plain(short_time(o.gmt_created, s.utc_offset)),
                plain(duration(o.execute_costs)),
                plain(o.execute_uuid.clone()),
            ]
        },
    );
}

pub fn resources(s: &State, f: &mut Frame, area: Rect) {
    let columns: &[Column] = &[
        ("RESOURCE_ID", Width::Fill(12), 0),
        ("TRANSPORT", Width::Fixed(9), 0),
        ("REACHABLE", Width::Fixed(11), 0),
        ("TAGS", Width::Fill(10), 70),
        ("WHY NOT", Width::Fill(10), 110),
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
                plain(for_display(&r.resource_id)),
                plain(
                    r.properties
                        .get("transport")
                        .and_then(|v| v.as_str())
                        .unwrap_or("-")
                        .to_string(),
                ),
                match r.agent_state.as_deref() {
                    Some("ONLINE") => ("✔ online".into(), s.theme.ok()),
                    Some("OFFLINE") => ("✘ offline".into(), s.theme.error()),
                    Some(other) => plain(for_display(other)),
                    None => ("… checking".into(), s.theme.dim()),
                },
                plain(for_display(&tags.join(" "))),
                plain(for_display(
                    r.properties
                        .get("unreachable")
                        .and_then(|v| v.as_str())
                        .unwrap_or(""),
                )),
            ]
        },
    );
}
