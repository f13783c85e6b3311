//! A lean table: a header and rows of (text, style) cells written straight into the buffer.
//! ratatui's `Table` lays every cell out as `Text` each frame, which costs more than the rest of
//! a list frame together; a list needs aligned columns, truncation and wide-character safety,
//! which `Buffer::set_stringn` already gives.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// How wide a column is: exactly `Fixed`, or a share of what is left (at least `Fill`'s value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    Fixed(u16),
    Fill(u16),
}

/// Column offsets and widths for `widths` in `total` columns, one space between columns.
pub fn layout(widths: &[Width], total: u16) -> Vec<(u16, u16)> {
    let gaps = widths.len().saturating_sub(1) as u16;
    let fixed: u16 = widths
        .iter()
        .map(|w| match w {
            Width::Fixed(n) | Width::Fill(n) => *n,
        })
        .sum();
    let fills = widths
        .iter()
        .filter(|w| matches!(w, Width::Fill(_)))
        .count() as u16;
    let spare = total.saturating_sub(fixed + gaps);
    let mut x = 0u16;
    let mut filled = 0u16;
    widths
        .iter()
        .map(|w| {
            let width = match w {
                Width::Fixed(n) => *n,
                Width::Fill(n) => {
                    filled += 1;
                    // The last fill column takes the rounding remainder.
                    let share = if filled == fills {
                        spare - (spare / fills) * (fills - 1)
                    } else {
                        spare / fills
                    };
                    n + share
                }
            };
            let at = x;
            x = x.saturating_add(width).saturating_add(1);
            (at, width)
        })
        .collect()
}

/// Writes at most `width` columns of `text`; a text that does not fit ends in `…`, so nothing
/// (an id least of all) is ever cut silently. ASCII (most cells of a table) is written cell by
/// cell; anything else goes through ratatui's grapheme-aware path, so wide characters stay
/// whole.
pub fn put(buf: &mut Buffer, x: u16, y: u16, text: &str, width: usize, style: Style) {
    if width == 0 {
        return;
    }
    if !text.is_ascii() {
        if unicode_width::UnicodeWidthStr::width(text) <= width {
            buf.set_stringn(x, y, text, width, style);
        } else {
            let (end, _) = buf.set_stringn(x, y, text, width - 1, style);
            buf.set_stringn(end, y, "…", 1, style);
        }
        return;
    }
    let area = buf.area;
    if y < area.y || y >= area.y + area.height {
        return;
    }
    let room = ((area.x + area.width).saturating_sub(x) as usize).min(width);
    let cut = text.len() > room;
    for (i, b) in text.bytes().take(room).enumerate() {
        // Control bytes never get here raw (text is made terminal-safe before), but a cell
        // must hold something printable either way.
        let c = if cut && i + 1 == room {
            '…'
        } else if b.is_ascii_control() {
            '?'
        } else {
            b as char
        };
        buf[(x + i as u16, y)].set_char(c).set_style(style);
    }
}

/// Draws `header` on the first line of `area` and `rows` below it; each row has a style for
/// the whole line (the selection) and per-cell styles.
pub fn render<'a>(
    buf: &mut Buffer,
    area: Rect,
    widths: &[Width],
    header: (&[&str], Style),
    rows: impl Iterator<Item = (Vec<(String, Style)>, Style)> + 'a,
) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let cols = layout(widths, area.width);
    let line = |buf: &mut Buffer, y: u16, cells: &mut dyn Iterator<Item = (&str, Style)>| {
        for ((text, style), (at, w)) in cells.zip(&cols) {
            if *at >= area.width {
                break;
            }
            let w = (*w).min(area.width - at);
            put(buf, area.x + at, y, text, w as usize, style);
        }
    };
    let (titles, hstyle) = header;
    buf.set_style(Rect { height: 1, ..area }, hstyle);
    line(buf, area.y, &mut titles.iter().map(|t| (*t, hstyle)));
    for (n, (cells, row_style)) in rows.enumerate() {
        let y = area.y + 1 + n as u16;
        if y >= area.y + area.height {
            break;
        }
        // A fresh frame's cells are already plain: only a styled row (the selection) is filled.
        if row_style != Style::default() {
            buf.set_style(
                Rect {
                    y,
                    height: 1,
                    ..area
                },
                row_style,
            );
        }
        line(
            buf,
            y,
            &mut cells.iter().map(|(t, s)| (t.as_str(), row_style.patch(*s))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_columns_and_fills_share_the_rest() {
        let l = layout(
            &[
                Width::Fixed(1),
                Width::Fill(4),
                Width::Fixed(6),
                Width::Fill(4),
            ],
            40,
        );
        assert_eq!(l, vec![(0, 1), (2, 15), (18, 6), (25, 15)]);
    }

    #[test]
    fn a_cut_ascii_cell_ends_in_an_ellipsis() {
        let area = Rect::new(0, 0, 10, 1);
        let mut buf = Buffer::empty(area);
        put(&mut buf, 0, 0, "a1b2c3d4e5f6", 6, Style::default());
        put(&mut buf, 7, 0, "xyz", 3, Style::default());
        let line: String = (0..10).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert_eq!(line, "a1b2c… xyz");
    }

    #[test]
    fn cells_truncate_at_their_width_and_wide_characters_stay_whole() {
        let area = Rect::new(0, 0, 12, 2);
        let mut buf = Buffer::empty(area);
        render(
            &mut buf,
            area,
            &[Width::Fixed(5), Width::Fill(1)],
            (&["A", "B"], Style::default()),
            std::iter::once((
                vec![
                    ("宽字符宽".to_string(), Style::default()),
                    ("xyz".into(), Style::default()),
                ],
                Style::default(),
            )),
        );
        // 宽 and 字 take two cells each; the rest does not fit a 5-wide column, so it is left
        // out (never a wide character cut in half) and the cut is shown.
        assert_eq!(buf[(0, 1)].symbol(), "宽");
        assert_eq!(buf[(2, 1)].symbol(), "字");
        assert_eq!(buf[(4, 1)].symbol(), "…");
        let rest: String = (6..9).map(|x| buf[(x, 1)].symbol().to_string()).collect();
        assert_eq!(rest, "xyz");
    }
}
