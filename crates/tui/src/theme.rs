//! Colours as data: `themes/*.toml` (dark, light, high-contrast shipped), each key optional so a
//! theme may set three colours and inherit the rest. `NO_COLOR` turns every colour off; status is
//! never shown by colour alone (every status also has a symbol and a word).

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use cocpit_api::model::order::{InstanceStatus, OrderStatus};

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub fg: Color,
    pub bg: Color,
    pub dim: Color,
    pub accent: Color,
    pub header_bg: Color,
    pub selection_bg: Color,
    pub ok: Color,
    pub warn: Color,
    pub error: Color,
    pub running: Color,
    pub waiting: Color,
    /// Syntax highlighting in the script editor.
    pub syntax: Syntax,
    pub no_color: bool,
}

/// The colours of the editor's token kinds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Syntax {
    pub keyword: Color,
    pub string: Color,
    pub comment: Color,
    pub number: Color,
    pub variable: Color,
    pub function: Color,
}

/// A theme file: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    fg: Option<String>,
    bg: Option<String>,
    dim: Option<String>,
    accent: Option<String>,
    header_bg: Option<String>,
    selection_bg: Option<String>,
    ok: Option<String>,
    warn: Option<String>,
    error: Option<String>,
    running: Option<String>,
    waiting: Option<String>,
    keyword: Option<String>,
    string: Option<String>,
    comment: Option<String>,
    number: Option<String>,
    variable: Option<String>,
    function: Option<String>,
}

pub const SHIPPED: &[(&str, &str)] = &[
    ("dark", include_str!("../../../themes/dark.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
];

impl Default for Theme {
    fn default() -> Self {
        Theme {
            name: "dark".into(),
            fg: Color::Reset,
            bg: Color::Reset,
            dim: Color::DarkGray,
            accent: Color::Cyan,
            header_bg: Color::Indexed(236),
            selection_bg: Color::Indexed(238),
            ok: Color::Green,
            warn: Color::Yellow,
            error: Color::Red,
            running: Color::Blue,
            waiting: Color::Gray,
            syntax: Syntax {
                keyword: Color::Magenta,
                string: Color::Green,
                comment: Color::DarkGray,
                number: Color::Yellow,
                variable: Color::Cyan,
                function: Color::Blue,
            },
            no_color: false,
        }
    }
}

fn color(field: &str, v: &str) -> Result<Color, String> {
    v.parse::<Color>().map_err(|_| {
        format!(
            "{field}: {v:?} is not a colour (a name like \"red\", an index 0-255, or \"#rrggbb\")"
        )
    })
}

/// Truecolor needs `COLORTERM=truecolor|24bit`; otherwise `#rrggbb` is mapped to the nearest
/// colour of the 256-colour palette.
fn downsample(c: Color, truecolor: bool) -> Color {
    match c {
        Color::Rgb(r, g, b) if !truecolor => {
            let q = |v: u8| if v < 48 { 0 } else if v < 115 { 1 } else { (v as u16 - 35) / 40 } as u8;
            Color::Indexed(16 + 36 * q(r) + 6 * q(g) + q(b))
        }
        other => other,
    }
}

impl Theme {
    /// A shipped theme by name, or a theme file's text, over the defaults.
    pub fn parse(name: &str, text: &str) -> Result<Theme, String> {
        let f: ThemeFile = toml::from_str(text).map_err(|e| format!("theme {name}: {e}"))?;
        let mut t = Theme {
            name: name.to_string(),
            ..Theme::default()
        };
        let set = |slot: &mut Color, field: &str, v: &Option<String>| -> Result<(), String> {
            if let Some(v) = v {
                *slot = color(field, v)?;
            }
            Ok(())
        };
        set(&mut t.fg, "fg", &f.fg)?;
        set(&mut t.bg, "bg", &f.bg)?;
        set(&mut t.dim, "dim", &f.dim)?;
        set(&mut t.accent, "accent", &f.accent)?;
        set(&mut t.header_bg, "header_bg", &f.header_bg)?;
        set(&mut t.selection_bg, "selection_bg", &f.selection_bg)?;
        set(&mut t.ok, "ok", &f.ok)?;
        set(&mut t.warn, "warn", &f.warn)?;
        set(&mut t.error, "error", &f.error)?;
        set(&mut t.running, "running", &f.running)?;
        set(&mut t.waiting, "waiting", &f.waiting)?;
        set(&mut t.syntax.keyword, "keyword", &f.keyword)?;
        set(&mut t.syntax.string, "string", &f.string)?;
        set(&mut t.syntax.comment, "comment", &f.comment)?;
        set(&mut t.syntax.number, "number", &f.number)?;
        set(&mut t.syntax.variable, "variable", &f.variable)?;
        set(&mut t.syntax.function, "function", &f.function)?;
        Ok(t)
    }

    pub fn shipped(name: &str) -> Option<Theme> {
        SHIPPED
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(n, text)| Theme::parse(n, text).ok())
    }

    /// Applies the terminal's abilities: `NO_COLOR`, and 256 colours unless truecolor is known.
    pub fn for_terminal(mut self, no_color: bool, truecolor: bool) -> Theme {
        self.no_color = no_color;
        for c in [
            &mut self.fg,
            &mut self.bg,
            &mut self.dim,
            &mut self.accent,
            &mut self.header_bg,
            &mut self.selection_bg,
            &mut self.ok,
            &mut self.warn,
            &mut self.error,
            &mut self.running,
            &mut self.waiting,
            &mut self.syntax.keyword,
            &mut self.syntax.string,
            &mut self.syntax.comment,
            &mut self.syntax.number,
            &mut self.syntax.variable,
            &mut self.syntax.function,
        ] {
            *c = downsample(*c, truecolor);
        }
        self
    }

    fn paint(&self, c: Color) -> Style {
        if self.no_color {
            Style::default()
        } else {
            Style::default().fg(c)
        }
    }

    pub fn base(&self) -> Style {
        if self.no_color || (self.fg == Color::Reset && self.bg == Color::Reset) {
            Style::default()
        } else {
            Style::default().fg(self.fg).bg(self.bg)
        }
    }

    pub fn dim(&self) -> Style {
        self.paint(self.dim)
    }

    pub fn accent(&self) -> Style {
        self.paint(self.accent).add_modifier(Modifier::BOLD)
    }

    pub fn header(&self) -> Style {
        if self.no_color {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default().bg(self.header_bg).fg(self.fg)
        }
    }

    pub fn selected(&self) -> Style {
        if self.no_color {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
                .bg(self.selection_bg)
                .add_modifier(Modifier::BOLD)
        }
    }

    pub fn error(&self) -> Style {
        self.paint(self.error).add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.paint(self.ok)
    }

    pub fn warn(&self) -> Style {
        self.paint(self.warn)
    }

    /// The style of a highlighted token (comments also dimmed, so `NO_COLOR` still tells them).
    pub fn token(&self, t: crate::editor::highlight::Token) -> Style {
        use crate::editor::highlight::Token;
        match t {
            Token::Plain => Style::default(),
            Token::Keyword => self.paint(self.syntax.keyword).add_modifier(Modifier::BOLD),
            Token::String => self.paint(self.syntax.string),
            Token::Comment => self
                .paint(self.syntax.comment)
                .add_modifier(Modifier::ITALIC),
            Token::Number => self.paint(self.syntax.number),
            Token::Variable => self.paint(self.syntax.variable),
            Token::Function => self.paint(self.syntax.function),
        }
    }

    /// Symbol, word and style of an order status.
    pub fn order_status(&self, s: OrderStatus) -> (&'static str, Style) {
        match s {
            OrderStatus::Finished => ("✔", self.paint(self.ok)),
            OrderStatus::Processing | OrderStatus::Ready => ("▶", self.paint(self.running)),
            OrderStatus::Paused => ("⏸", self.paint(self.warn)),
            OrderStatus::Abnormal | OrderStatus::Error => ("✘", self.paint(self.error)),
            OrderStatus::Canceled | OrderStatus::Rollbacked => ("⊘", self.paint(self.dim)),
        }
    }

    /// An order's mark by what it came to: a FINISHED order with failures is a failure.
    pub fn order_outcome(&self, s: OrderStatus, failed: bool) -> (&'static str, Style) {
        match s {
            OrderStatus::Finished if failed => ("✘", self.paint(self.error)),
            s => self.order_status(s),
        }
    }

    pub fn instance_status(&self, s: InstanceStatus) -> (&'static str, Style) {
        match s {
            InstanceStatus::Finished => ("✔", self.paint(self.ok)),
            InstanceStatus::Processing => ("▶", self.paint(self.running)),
            InstanceStatus::Ready => ("·", self.paint(self.waiting)),
            InstanceStatus::Abnormal => ("✘", self.paint(self.error)),
            InstanceStatus::Canceled | InstanceStatus::Rollbacked => ("⊘", self.paint(self.dim)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_parse_and_differ() {
        let all: Vec<Theme> = SHIPPED
            .iter()
            .map(|(n, t)| Theme::parse(n, t).unwrap())
            .collect();
        assert_eq!(all.len(), 3);
        assert_ne!(all[0].accent, all[1].accent);
        assert_ne!(
            all[0].bg, all[2].bg,
            "high-contrast paints its own background"
        );
    }

    #[test]
    fn partial_theme_inherits_and_bad_colour_is_named() {
        let t = Theme::parse("mine", "ok = \"#00ff00\"\n").unwrap();
        assert_eq!(t.ok, Color::Rgb(0, 255, 0));
        assert_eq!(t.error, Theme::default().error);
        let e = Theme::parse("bad", "error = \"reddish\"\n").unwrap_err();
        assert!(e.contains("error") && e.contains("reddish"), "{e}");
    }

    #[test]
    fn no_color_and_256_colours() {
        let t = Theme::parse("x", "ok = \"#00ff00\"\n")
            .unwrap()
            .for_terminal(false, false);
        assert!(matches!(t.ok, Color::Indexed(_)));
        let t = Theme::default().for_terminal(true, true);
        assert_eq!(t.ok(), Style::default());
    }
}
