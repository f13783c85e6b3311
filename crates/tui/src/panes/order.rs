//! The order view: a header (script, status and why it paused, progress, success rate against
//! its threshold, elapsed), the batch grid, the selected batch's instances, and the selected
//! instance's log.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::matches;
use crate::state::{Focus, Load, OrderView, State};
use crate::widgets::rows::{self, Width};
use cocpit_api::format::duration;
use cocpit_api::model::order::{InstanceStatus, OrderStatus, Tally, outcome};
use cocpit_api::sanitize::for_display;

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let Some(v) = &s.order else {
        f.render_widget(
            Paragraph::new("no order open: pick one in Orders (2)"),
            area,
        );
        return;
    };
    if let Load::Failed(e) = &v.load
        && v.info.is_none()
    {
        f.render_widget(
            Paragraph::new(Span::styled(
                format!(
                    "✘ could not load order {}: {}",
                    v.execute_uuid,
                    for_display(e)
                ),
                s.theme.error(),
            ))
            .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    if v.info.is_none() {
        f.render_widget(
            Paragraph::new(format!("loading order {}…", v.execute_uuid)),
            area,
        );
        return;
    }
    let grid_h = batch_grid_height(v, area.width);
    let [head, grid, rest] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Length(grid_h),
        Constraint::Min(3),
    ])
    .areas(area);
    header(s, v, f, head);
    batch_grid(s, v, f, grid);
    // Side by side on wide terminals, stacked on narrow ones.
    let [insts, log] = if rest.width >= 140 {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(rest)
    } else {
        Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(rest)
    };
    instances(s, v, f, insts);
    log_view(s, v, f, log);
}

fn header(s: &State, v: &OrderView, f: &mut Frame, area: Rect) {
    let Some(info) = &v.info else { return };
    let p = &info.properties;
    let tally = Tally::of(v.instances.iter().map(|i| i.instance.status));
    let (sym, style) = s.theme.order_outcome(info.status, tally.failed > 0);
    let total = v.instances.len();
    let done = v
        .instances
        .iter()
        .filter(|i| i.instance.status.is_done())
        .count();
    let ok = v.count(InstanceStatus::Finished);
    let failed = v.count(InstanceStatus::Abnormal);
    let rate = if ok + failed == 0 {
        "-".to_string()
    } else {
        format!("{:.0} %", ok as f64 * 100.0 / (ok + failed) as f64)
    };
    let threshold = p.execute_param.success_rate;
    let below = ok + failed > 0 && (ok as f64 * 100.0 / (ok + failed) as f64) < threshold;
    let elapsed = duration(info.execute_costs);
    let line1 = Line::from(vec![
        Span::styled(format!("{sym} {} ", info.status.words()), style),
        Span::styled(for_display(&p.script_name), s.theme.accent()),
        Span::styled(format!("  {}", info.execute_uuid), s.theme.dim()),
    ]);
    // The words come first; the bar takes what is left, so no word is ever cut.
    let words = format!(
        " {done}/{total} done  success {rate} (threshold {threshold} %)  batch {}/{}",
        p.current_execute_batch_index,
        v.batches.len()
    );
    let rate_at = words
        .find("success ")
        .map(|i| i + "success ".len())
        .unwrap_or(0);
    let rate_end = rate_at + rate.len();
    let bar_w = (area.width as usize)
        .saturating_sub(unicode_width::UnicodeWidthStr::width(words.as_str()))
        .min(40);
    let filled = (done * bar_w).checked_div(total).unwrap_or(0);
    let line2 = Line::from(vec![
        Span::styled("█".repeat(filled), s.theme.ok()),
        Span::styled("░".repeat(bar_w - filled), s.theme.dim()),
        Span::raw(words[..rate_at].to_string()),
        Span::styled(
            words[rate_at..rate_end].to_string(),
            if below { s.theme.error() } else { s.theme.ok() },
        ),
        Span::raw(words[rate_end..].to_string()),
    ]);
    let line3 = match (&p.pause_reason, info.status) {
        (Some(why), OrderStatus::Paused) => Line::from(vec![
            Span::styled("⏸ paused: ", s.theme.warn()),
            Span::raw(for_display(why)),
            Span::styled(
                format!(
                    "  ({} continues)",
                    s.keymap.first_key(crate::action::Action::ContinueOrder)
                ),
                s.theme.dim(),
            ),
        ]),
        // What the order came to, in the failure style when it failed: never a lone ✔.
        (_, st) if st.is_terminal() => {
            let (text, ok) = outcome(st, threshold, &tally);
            Line::from(vec![
                Span::styled(
                    format!("{} {text}", if ok { "✔" } else { "✘" }),
                    if ok { s.theme.ok() } else { s.theme.error() },
                ),
                Span::styled(format!("  · took {elapsed}"), s.theme.dim()),
            ])
        }
        _ => Line::from(Span::styled(
            format!(
                "timeout {} s · {} failed · {} running",
                p.execute_param.timeout,
                failed,
                v.count(InstanceStatus::Processing)
            ),
            s.theme.dim(),
        )),
    };
    f.render_widget(Paragraph::new(vec![line1, line2, line3]), area);
}

/// Each batch is a cell `␣3✔␣` (index and status symbol), wrapped over as many lines as needed.
const CELL_W: u16 = 6;

fn batch_grid_height(v: &OrderView, width: u16) -> u16 {
    let per_line = (width / CELL_W).max(1) as usize;
    (v.batches.len().div_ceil(per_line) as u16).clamp(1, 4) + 1
}

fn batch_status(v: &OrderView, b: i64) -> (InstanceStatus, bool) {
    let mine: Vec<_> = v
        .instances
        .iter()
        .filter(|i| i.batch_index == b)
        .map(|i| i.instance.status)
        .collect();
    let any = |s: InstanceStatus| mine.contains(&s);
    let status = if any(InstanceStatus::Processing) {
        InstanceStatus::Processing
    } else if any(InstanceStatus::Abnormal) {
        InstanceStatus::Abnormal
    } else if !mine.is_empty() && mine.iter().all(|s| *s == InstanceStatus::Canceled) {
        InstanceStatus::Canceled
    } else if any(InstanceStatus::Ready) {
        InstanceStatus::Ready
    } else {
        InstanceStatus::Finished
    };
    (status, mine.is_empty())
}

fn batch_grid(s: &State, v: &OrderView, f: &mut Frame, area: Rect) {
    let per_line = (area.width / CELL_W).max(1) as usize;
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "batches ({} / {} switch)",
            s.keymap.first_key(crate::action::Action::PrevBatch),
            s.keymap.first_key(crate::action::Action::NextBatch)
        ),
        s.theme.dim(),
    ))];
    for chunk in v.batches.chunks(per_line) {
        let spans: Vec<Span> = chunk
            .iter()
            .map(|b| {
                let (st, _) = batch_status(v, b.batch_index);
                let (sym, style) = s.theme.instance_status(st);
                let selected = v.batch_index() == Some(b.batch_index);
                let text = format!("{:>3}{sym} ", b.batch_index);
                let text = if b.properties.as_deref() == Some("SKIPPED") {
                    format!("{:>3}⤼ ", b.batch_index)
                } else {
                    text
                };
                Span::styled(text, if selected { s.theme.selected() } else { style })
            })
            .collect();
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn last_line(message: &str) -> String {
    let line = message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    for_display(line)
}

/// A bordered block, highlighted when it has the keyboard.
fn framed(s: &State, focused: bool) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            s.theme.accent()
        } else {
            s.theme.dim()
        })
}

fn instances(s: &State, v: &OrderView, f: &mut Frame, area: Rect) {
    let rows_here = v.batch_instances();
    let focused = v.focus == Focus::Instances;
    // Keep the selection in view when the batch has more rows than fit, and say so.
    let height = area.height.saturating_sub(3) as usize;
    let start = v.instance.saturating_sub(height.saturating_sub(1));
    let n = rows_here.len();
    let window = if n > height && height > 0 {
        let end = (start + height).min(n);
        let more = match (start > 0, end < n) {
            (true, true) => " ↑↓",
            (true, false) => " ↑",
            (false, true) => " ↓",
            (false, false) => "",
        };
        format!(" · {}–{end} of {n}{more}", start + 1)
    } else {
        String::new()
    };
    let block = framed(s, focused).title(format!(
        " batch {} · {n} instances{window} ",
        v.batch_index().unwrap_or(0),
    ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let wide = inner.width >= 68;
    let mut widths = vec![
        Width::Fixed(5),
        Width::Fixed(12),
        Width::Fixed(12),
        Width::Fixed(4),
    ];
    let mut titles = vec!["ID", "HOST", "STATUS", "EXIT"];
    if wide {
        widths.push(Width::Fixed(8));
        titles.push("TIME");
    }
    widths.push(Width::Fill(10));
    titles.push("LAST LINE");
    let plain = |t: String| (t, Style::default());
    let rows = rows_here.iter().enumerate().skip(start).map(|(n, i)| {
        let (sym, style) = s.theme.instance_status(i.status);
        let mut cells = vec![
            plain(i.id.to_string()),
            plain(for_display(&i.target_instance.resource_id)),
            (format!("{sym} {}", i.status.words()), style),
            plain(
                i.exit_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
        ];
        if wide {
            cells.push(plain(duration(i.execute_costs)));
        }
        cells.push(plain(last_line(&i.message)));
        let row_style = if n == v.instance {
            s.theme.selected()
        } else {
            Style::default()
        };
        (cells, row_style)
    });
    rows::render(
        f.buffer_mut(),
        inner,
        &widths,
        (&titles, s.theme.dim()),
        rows,
    );
}

fn log_view(s: &State, v: &OrderView, f: &mut Frame, area: Rect) {
    let focused = v.focus == Focus::Log;
    let Some(i) = v.selected_instance() else {
        f.render_widget(
            Paragraph::new("no instance selected").block(Block::default().borders(Borders::ALL)),
            area,
        );
        return;
    };
    let mode = match (v.follow, v.wrap) {
        (true, true) => "following · wrap",
        (true, false) => "following",
        (false, true) => "scrolled · wrap",
        (false, false) => "scrolled",
    };
    let search = if v.search.is_empty() {
        String::new()
    } else {
        format!(" · /{}", for_display(&v.search))
    };
    let times = v
        .times
        .as_ref()
        .filter(|t| v.show_times && t.instance_id == i.id);
    let block = framed(s, focused).title(format!(
        " log of {} ({}) · {mode}{search}{} ",
        for_display(&i.target_instance.resource_id),
        i.id,
        if v.show_times && times.is_none() {
            " · times…"
        } else {
            ""
        }
    ));
    let height = area.height.saturating_sub(2) as usize;
    // Only the lines on screen are read and made terminal-safe, walking back from the end: a
    // followed 1 MiB log costs what fits, not all of it. `k` counts lines from the end; the
    // cursor is `log_scroll` lines up. The line count is needed only when scrolled (a short log
    // is shown whole, the cursor wherever it is) or with arrival times.
    let total = if v.log_scroll > 0 || times.is_some() {
        i.message.lines().count()
    } else {
        0
    };
    let skip = v.log_scroll.min(total.saturating_sub(height));
    let mut shown: Vec<(usize, String)> = i
        .message
        .lines()
        .rev()
        .enumerate()
        .skip(skip)
        .take(height)
        .map(|(k, l)| (k, for_display(l)))
        .collect();
    shown.reverse();
    let stamp = |k: usize| -> Option<(String, bool)> {
        let (at, stderr) = times?.of_line(total.checked_sub(k + 1)?)?;
        let t = chrono::DateTime::from_timestamp_millis(at)?.with_timezone(&s.utc_offset);
        Some((t.format("%H:%M:%S%.3f ").to_string(), stderr))
    };
    let pad = if times.is_some() { 13 } else { 0 };
    if v.wrap {
        let lines: Vec<Line> = shown
            .into_iter()
            .map(|(n, l)| {
                let mut spans = vec![];
                if times.is_some() {
                    let (t, err) = stamp(n).unwrap_or_else(|| (" ".repeat(pad), false));
                    spans.push(Span::styled(
                        t,
                        if err { s.theme.warn() } else { s.theme.dim() },
                    ));
                }
                spans.push(Span::raw(l));
                Line::from(spans)
            })
            .collect();
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
        return;
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    let buf = f.buffer_mut();
    let width = inner.width as usize;
    for (row, (k, line)) in shown.iter().enumerate() {
        let y = inner.y + row as u16;
        let base = if focused && *k == v.log_scroll && !v.follow {
            s.theme.selected()
        } else {
            Style::default()
        };
        if times.is_some() {
            let (t, err) = stamp(*k).unwrap_or_else(|| (" ".repeat(pad), false));
            buf.set_stringn(
                inner.x,
                y,
                &t,
                width,
                if err { s.theme.warn() } else { s.theme.dim() },
            );
        }
        let x0 = inner.x + pad.min(width) as u16;
        let room = width.saturating_sub(pad);
        buf.set_stringn(x0, y, line, room, base);
        // Matches stand out (reversed, so they show without colour too).
        for (start, len) in matches(line, &v.search) {
            let x = unicode_width::UnicodeWidthStr::width(&line[..start]);
            if x < room {
                buf.set_stringn(
                    x0 + x as u16,
                    y,
                    &line[start..start + len],
                    room - x,
                    s.theme
                        .accent()
                        .add_modifier(ratatui::style::Modifier::REVERSED),
                );
            }
        }
    }
}
