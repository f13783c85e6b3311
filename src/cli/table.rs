//! Human tables for the CLI: aligned columns, cells made terminal-safe.

use crate::sanitize::for_display;

pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: vec![],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        // One line per cell: newlines and control sequences cannot break the layout.
        self.rows.push(
            cells
                .into_iter()
                .map(|c| for_display(&c).replace(['\n', '\t'], " "))
                .collect(),
        );
    }

    pub fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(width(c));
            }
        }
        let line = |cells: Vec<&str>| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(widths[i] - width(c) + 2));
                }
            }
            s.trim_end().to_string() + "\n"
        };
        let mut out = line(self.headers.clone());
        for r in &self.rows {
            out.push_str(&line(r.iter().map(String::as_str).collect()));
        }
        out
    }
}

/// Milliseconds since the epoch as local `YYYY-MM-DD HH:MM:SS`.
pub fn time(ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn opt_time(ms: Option<i64>) -> String {
    ms.map(time).unwrap_or_else(|| "-".into())
}

pub use crate::format::duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_escapes_are_removed() {
        let mut t = Table::new(&["ID", "NAME"]);
        t.row(vec!["1".into(), "a\u{1b}[2Jb".into()]);
        t.row(vec!["100".into(), "x\ny".into()]);
        assert_eq!(t.render(), "ID   NAME\n1    ab\n100  x y\n");
    }
}
