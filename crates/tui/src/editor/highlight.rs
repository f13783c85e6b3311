//! Syntax highlighting for SHELL, PYTHON and BAT with syntect, kept off the render path.
//!
//! One `SyntaxSet` is loaded for the whole process (on a background thread at start, see
//! [`warm_up`]). Highlighting is incremental: each line keeps the parser state after it, so an
//! edit re-highlights from the first changed line down to the bottom of the view, never the
//! whole file. Tokens are kinds, not colours, so a theme change needs no re-highlighting.

use std::ops::Range;
use std::str::FromStr;
use std::sync::LazyLock;

use syntect::highlighting::{
    Color, HighlightState, Highlighter, RangedHighlightIterator, ScopeSelectors, StyleModifier,
    Theme, ThemeItem, ThemeSettings,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};

use cocpit_api::model::script::ScriptType;

/// What a piece of a line is; the theme gives each kind its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Plain,
    Keyword,
    String,
    Comment,
    Number,
    Variable,
    Function,
}

impl Token {
    const ALL: [Token; 7] = [
        Token::Plain,
        Token::Keyword,
        Token::String,
        Token::Comment,
        Token::Number,
        Token::Variable,
        Token::Function,
    ];
}

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// A syntect theme whose "colour" is the token kind: scopes map to kinds, the theme to styles.
static KINDS: LazyLock<Theme> = LazyLock::new(|| {
    let item = |selector: &str, t: Token| ThemeItem {
        scope: ScopeSelectors::from_str(selector).expect("scope selectors parse"),
        style: StyleModifier {
            foreground: Some(encode(t)),
            background: None,
            font_style: None,
        },
    };
    Theme {
        name: Some("cocpit token kinds".into()),
        author: None,
        settings: ThemeSettings {
            foreground: Some(encode(Token::Plain)),
            ..ThemeSettings::default()
        },
        scopes: vec![
            item("comment, punctuation.definition.comment", Token::Comment),
            item("string, punctuation.definition.string", Token::String),
            item(
                "keyword, storage.type, storage.modifier, support.function.builtin.shell",
                Token::Keyword,
            ),
            item(
                "keyword.operator, punctuation, meta.function-call.arguments",
                Token::Plain,
            ),
            item("constant.numeric, constant.language", Token::Number),
            item(
                "variable.other, variable.parameter, variable.language, punctuation.definition.variable, variable.function.shell",
                Token::Variable,
            ),
            item(
                "entity.name.function, support.function, meta.function-call variable.function",
                Token::Function,
            ),
        ],
    }
});

fn encode(t: Token) -> Color {
    let i = Token::ALL.iter().position(|k| *k == t).unwrap_or(0);
    Color {
        r: i as u8,
        g: 0,
        b: 0,
        a: 0xff,
    }
}

fn decode(c: Color) -> Token {
    Token::ALL
        .get(c.r as usize)
        .copied()
        .unwrap_or(Token::Plain)
}

fn syntax(lang: ScriptType) -> &'static SyntaxReference {
    let name = match lang {
        ScriptType::Shell => "Bourne Again Shell (bash)",
        ScriptType::Python => "Python",
        ScriptType::Bat => "Batch File",
    };
    SYNTAXES
        .find_syntax_by_name(name)
        .unwrap_or_else(|| SYNTAXES.find_syntax_plain_text())
}

/// Loads the syntaxes and compiles each language's rules once, on a thread of its own, so
/// the first keystroke in the editor pays for none of it.
pub fn warm_up() {
    std::thread::spawn(|| {
        for lang in [ScriptType::Shell, ScriptType::Python, ScriptType::Bat] {
            let mut h = Highlight::new(lang);
            h.update(&["echo \"$HOME\" # 1".to_string()], 1);
        }
    });
}

/// One highlighted line: the text it was computed from, its tokens (byte ranges), and the
/// parser state after it.
#[derive(Clone)]
struct Done {
    text: String,
    tokens: Vec<(Range<usize>, Token)>,
    parse: ParseState,
    highlight: HighlightState,
}

/// The highlighted prefix of a text.
#[derive(Clone)]
pub struct Highlight {
    lang: ScriptType,
    lines: Vec<Done>,
    /// Lines of the text last highlighted (to tell how many an edit added or removed).
    text_len: usize,
}

impl std::fmt::Debug for Highlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Highlight({}, {} lines)", self.lang, self.lines.len())
    }
}

impl Highlight {
    pub fn new(lang: ScriptType) -> Highlight {
        Highlight {
            lang,
            lines: vec![],
            text_len: 0,
        }
    }

    pub fn lang(&self) -> ScriptType {
        self.lang
    }

    pub fn set_lang(&mut self, lang: ScriptType) {
        if lang != self.lang {
            self.lang = lang;
            self.lines.clear();
            self.text_len = 0;
        }
    }

    /// Highlights `text[..upto]`. Cached lines above the first changed one are kept; below
    /// the change, once a line ends in the same parser state as before, the old lines that
    /// follow (shifted by the lines added or removed) are kept too: typing inside a line
    /// usually re-highlights that line alone.
    pub fn update(&mut self, text: &[String], upto: usize) {
        let same = self
            .lines
            .iter()
            .zip(text)
            .take_while(|(d, t)| d.text == **t)
            .count();
        let old_len = self.lines.len();
        let delta = text.len() as isize - self.text_len as isize;
        self.text_len = text.len();
        let mut old = self.lines.split_off(same);
        let upto = upto.min(text.len());
        if self.lines.len() >= upto {
            return;
        }
        let theme: &Theme = &KINDS;
        let highlighter = Highlighter::new(theme);
        let (mut parse, mut hl) = match self.lines.last() {
            Some(d) => (d.parse.clone(), d.highlight.clone()),
            None => (
                ParseState::new(syntax(self.lang)),
                HighlightState::new(&highlighter, ScopeStack::new()),
            ),
        };
        let mut buf = String::new();
        while self.lines.len() < upto {
            let j = self.lines.len();
            let line = &text[j];
            buf.clear();
            buf.push_str(line);
            buf.push('\n');
            // A line the grammar cannot parse is shown plain; the rest still highlights.
            let ops = parse.parse_line(&buf, &SYNTAXES).unwrap_or_default();
            let tokens = RangedHighlightIterator::new(&mut hl, &ops, &buf, &highlighter)
                .filter(|(_, _, r)| r.start < line.len())
                .map(|(style, _, r)| (r.start..r.end.min(line.len()), decode(style.foreground)))
                .filter(|(_, t)| *t != Token::Plain)
                .collect();
            self.lines.push(Done {
                text: line.clone(),
                tokens,
                parse: parse.clone(),
                highlight: hl.clone(),
            });
            // The same line as before, ending in the same state: what follows is unchanged.
            let o = j as isize - delta;
            if j > same && o >= same as isize && (o as usize) < old_len {
                let was = &old[o as usize - same];
                if was.text == *line && was.parse == parse && was.highlight == hl {
                    let rest = old.split_off(o as usize - same + 1);
                    for d in rest {
                        let k = self.lines.len();
                        if k >= text.len() || d.text != text[k] {
                            break;
                        }
                        self.lines.push(d);
                    }
                    old.clear();
                    if let Some(d) = self.lines.last() {
                        parse = d.parse.clone();
                        hl = d.highlight.clone();
                    }
                }
            }
        }
    }

    /// The tokens of line `row` (byte ranges, plain text omitted), if it is highlighted.
    pub fn tokens(&self, row: usize) -> Option<&[(Range<usize>, Token)]> {
        self.lines.get(row).map(|d| d.tokens.as_slice())
    }

    /// How many lines are highlighted.
    pub fn ready(&self) -> usize {
        self.lines.len()
    }
}

/// The token of byte `at` in a line's tokens.
pub fn token_at(tokens: &[(Range<usize>, Token)], at: usize) -> Token {
    tokens
        .iter()
        .find(|(r, _)| r.contains(&at))
        .map(|(_, t)| *t)
        .unwrap_or(Token::Plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(str::to_string).collect()
    }

    fn kind_of(h: &Highlight, text: &[String], row: usize, needle: &str) -> Token {
        let at = text[row].find(needle).expect("needle in line");
        token_at(h.tokens(row).unwrap(), at)
    }

    #[test]
    fn each_language_gets_its_kinds() {
        let sh = lines("# say hi\nif [ -n \"$NAME\" ]; then\n  echo 'hi' 42\nfi");
        let mut h = Highlight::new(ScriptType::Shell);
        h.update(&sh, 10);
        assert_eq!(h.ready(), 4);
        assert_eq!(kind_of(&h, &sh, 0, "say"), Token::Comment);
        assert_eq!(kind_of(&h, &sh, 1, "if"), Token::Keyword);
        assert_eq!(kind_of(&h, &sh, 1, "NAME"), Token::Variable);
        assert_eq!(kind_of(&h, &sh, 2, "hi"), Token::String);

        let py = lines("def main():\n    return 42  # done");
        let mut h = Highlight::new(ScriptType::Python);
        h.update(&py, 2);
        assert_eq!(kind_of(&h, &py, 0, "def"), Token::Keyword);
        assert_eq!(kind_of(&h, &py, 0, "main"), Token::Function);
        assert_eq!(kind_of(&h, &py, 1, "42"), Token::Number);
        assert_eq!(kind_of(&h, &py, 1, "done"), Token::Comment);

        let bat = lines("@echo off\nREM note\nset X=1");
        let mut h = Highlight::new(ScriptType::Bat);
        h.update(&bat, 3);
        assert_eq!(kind_of(&h, &bat, 1, "note"), Token::Comment);
        assert_eq!(kind_of(&h, &bat, 2, "set"), Token::Keyword);
    }

    #[test]
    fn an_edit_rehighlights_from_the_changed_line_only() {
        let mut text = lines("echo a\necho b\necho c\necho d");
        let mut h = Highlight::new(ScriptType::Shell);
        h.update(&text, 2);
        assert_eq!(h.ready(), 2, "only what was asked for");
        h.update(&text, 4);
        assert_eq!(h.ready(), 4);
        // Opening a string on line 2 turns the following lines into string content.
        text[1] = "echo \"b".into();
        h.update(&text, 1);
        assert_eq!(h.ready(), 1, "lines from the change on are dropped");
        h.update(&text, 4);
        assert_eq!(kind_of(&h, &text, 2, "echo"), Token::String);
        text[1] = "echo b".into();
        h.update(&text, 4);
        assert_ne!(kind_of(&h, &text, 2, "echo"), Token::String);
        // Typing inside a line keeps the lines below it (same state after the line).
        h.update(&text, 4);
        text[1] = "echo bx".into();
        h.update(&text, 4);
        assert_eq!(h.ready(), 4);
        assert_eq!(h.lines[2].text, "echo c");
        // A new line shifts the kept lines down by one.
        text.insert(1, "# inserted".into());
        h.update(&text, 5);
        assert_eq!(h.ready(), 5);
        assert_eq!(kind_of(&h, &text, 1, "inserted"), Token::Comment);
        assert_eq!(h.lines[4].text, "echo d");
        // Highlighting further than the kept lines continues from their state.
        text.push("echo \"e".into());
        text.push("echo f".into());
        h.update(&text, 7);
        assert_eq!(kind_of(&h, &text, 6, "echo"), Token::String);
        text.truncate(5);
        text.remove(1);
        // Deleting lines shortens the cache.
        text.truncate(2);
        h.update(&text, 10);
        assert_eq!(h.ready(), 2);
    }
}
