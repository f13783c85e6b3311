//! Silences as rules: matchers compiled once, checked when a silence is made.

use super::*;

/// A silence with its regular expressions compiled once, for all the alarms it is tested on.
pub(super) struct Compiled {
    pub(super) silence: Silence,
    /// One per matcher: the anchored expression of a regex matcher.
    pub(super) regexes: Vec<Option<regex::Regex>>,
}

/// A matcher's expression as Alertmanager anchors it (`^(?:…)$`), compiled by Rust's `regex`
/// (RE2 syntax, linear-time matching): no lookaround, no backreference, bounded size.
pub(super) fn compile(value: &str) -> std::result::Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{value})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

pub(super) fn check_matchers(ms: &[Matcher]) -> std::result::Result<(), Invalid> {
    if ms.is_empty() {
        return Err(invalid(
            "matchers",
            "at least one (a silence of everything hides too much)",
        ));
    }
    for (i, m) in ms.iter().enumerate() {
        length(&format!("matchers[{i}].name"), &m.name, 1, 255)?;
        length(&format!("matchers[{i}].value"), &m.value, 0, 1024)?;
        if m.is_regex
            && let Err(e) = compile(&m.value)
        {
            let why = match e {
                regex::Error::CompiledTooBig(_) => "is too large once compiled".to_string(),
                e => format!(
                    "is not an RE2 expression (no lookaround, no backreference): {}",
                    e.to_string().lines().last().unwrap_or("")
                ),
            };
            return Err(invalid(
                format!("matchers[{i}].value"),
                format!("{:?} {why}", m.value),
            ));
        }
    }
    Ok(())
}

impl Compiled {
    pub(super) fn new(silence: Silence) -> Compiled {
        let regexes = silence
            .matchers
            .iter()
            .map(|m| m.is_regex.then(|| compile(&m.value).ok()).flatten())
            .collect();
        Compiled { silence, regexes }
    }

    /// Whether every matcher holds for `a` (a stored matcher that no longer compiles holds for
    /// nothing).
    pub(super) fn matches(&self, a: &Alarm) -> bool {
        self.silence
            .matchers
            .iter()
            .zip(&self.regexes)
            .all(|(m, r)| {
                let v = a.field(&m.name).unwrap_or("");
                match (m.is_regex, r) {
                    (true, Some(r)) => r.is_match(v),
                    (true, None) => false,
                    (false, _) => v == m.value,
                }
            })
    }
}
