//! The seeds' documented constraints, checked before anything is stored. Every failure names
//! the field (as a JSON path) and the rule it broke.

use std::collections::HashSet;

use super::order::{JobScriptOrderOperationBody, OperationType, ScriptExecuteModel};
use super::script::{AddScriptModel, EditScriptModel, ScriptParamDefine, ScriptPropertiesModel};

pub const MAX_NAME: usize = 64;
pub const MAX_DESCRIPTION: usize = 256;
pub const MAX_CONTENT: usize = 4096;
pub const MAX_PARAMS: usize = 20;
pub const MAX_PARAM_VALUE: usize = 1024;
pub const MAX_REVIEWERS: usize = 5;
/// The longest review comment kept.
pub const MAX_REVIEW_COMMENT: usize = 1024;
pub const MAX_VERSION: usize = 10;
pub const TIMEOUT_RANGE: (i64, i64) = (5, 1800);
pub const SUCCESS_RATE_RANGE: (f64, f64) = (1.0, 100.0);
pub const MAX_HOSTS_PER_BATCH: usize = 10;
pub const MAX_BATCHES: usize = 20;
pub const MAX_HOSTS_PER_CALL: usize = 200;

/// A broken rule: `field` is a path such as `execute_batches[1].target_instances`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub rule: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

impl std::error::Error for Invalid {}

pub type Checked = Result<(), Invalid>;

pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        rule: rule.into(),
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Length in characters within `min..=max`.
pub fn length(field: &str, value: &str, min: usize, max: usize) -> Checked {
    length_of(|| field.to_string(), value, min, max)
}

/// [`length`], naming the field only when the check fails (checks of every label of every
/// alert would otherwise build a name each time).
pub fn length_of(field: impl FnOnce() -> String, value: &str, min: usize, max: usize) -> Checked {
    // A character is 1 to 4 bytes, so the byte length alone often settles it.
    if value.len() <= max && value.len().div_ceil(4) >= min {
        return Ok(());
    }
    let n = chars(value);
    if n < min || n > max {
        let rule = if min == 0 {
            format!("must be at most {max} characters (got {n})")
        } else if n == 0 {
            format!(
                "must not be empty (at least {min} character{})",
                if min == 1 { "" } else { "s" }
            )
        } else {
            format!("must be {min} to {max} characters (got {n})")
        };
        return Err(invalid(field(), rule));
    }
    Ok(())
}

/// Script and parameter names: letters, digits and underscores.
pub fn identifier(field: &str, value: &str) -> Checked {
    length(field, value, 1, MAX_NAME)?;
    if let Some(bad) = value.chars().find(|c| !(c.is_alphanumeric() || *c == '_')) {
        return Err(invalid(
            field,
            format!("may contain only letters, digits and underscores (found {bad:?})"),
        ));
    }
    Ok(())
}

/// Names a parameter may not have: it reaches the script as an environment variable, and these
/// change how the interpreter is found, loaded or behaves (or are cocpit's own).
const RESERVED_NAMES: &[&str] = &[
    "PATH",
    "ENV",
    "BASH_ENV",
    "IFS",
    "CDPATH",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "GLOBIGNORE",
    "PROMPT_COMMAND",
    "HOME",
    "SHELL",
    "TMPDIR",
    "NODE_OPTIONS",
    "LANG",
    "LANGUAGE",
    "TZ",
];
const RESERVED_PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "PYTHON",
    "BASH_FUNC_",
    "PERL5",
    "RUBY",
    "COCPIT_",
    "LC_",
];

/// (Names are case-sensitive, as the environment is: `path` is an ordinary name.)
pub fn not_reserved(field: &str, name: &str) -> Checked {
    if RESERVED_NAMES.contains(&name) {
        return Err(invalid(
            field,
            format!(
                "{name:?} is reserved: it would change how the script's interpreter is found or runs"
            ),
        ));
    }
    if let Some(p) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return Err(invalid(
            field,
            format!("names starting with {p} are reserved (they steer the interpreter or cocpit)"),
        ));
    }
    Ok(())
}

/// The seeds' parameter-value rule: `^((?!\.{2,})[a-zA-Z0-9_\-/\.\*\x20\?:",=+@\\\[\{\]\}])*$`,
/// at most 1024 characters.
pub fn param_value(field: &str, value: &str) -> Checked {
    length(field, value, 0, MAX_PARAM_VALUE)?;
    const EXTRA: &str = "_-/.* ?:\",=+@\\[{]}";
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || EXTRA.contains(*c)))
    {
        return Err(invalid(
            field,
            format!(
                "may contain only letters, digits, spaces and _-/.*?:\",=+@\\[{{]}} (found {bad:?})"
            ),
        ));
    }
    if value.contains("..") {
        return Err(invalid(field, "must not contain \"..\""));
    }
    Ok(())
}

pub fn range_i64(field: &str, value: i64, (min, max): (i64, i64)) -> Checked {
    if value < min || value > max {
        return Err(invalid(
            field,
            format!("must be between {min} and {max} (got {value})"),
        ));
    }
    Ok(())
}

/// `param_order` (or `batch_index`) values must be exactly 1..=n, each once.
fn consecutive_from_one(field: &str, mut values: Vec<i64>) -> Checked {
    values.sort_unstable();
    for (i, v) in values.iter().enumerate() {
        let want = i as i64 + 1;
        if *v != want {
            return Err(invalid(
                field,
                format!("must start at 1 and be consecutive (expected {want}, found {v})"),
            ));
        }
    }
    Ok(())
}

fn properties(field: &str, p: &ScriptPropertiesModel) -> Checked {
    length(&format!("{field}.version"), &p.version, 1, MAX_VERSION)?;
    if let Some(reviewers) = &p.reviewers {
        if reviewers.len() > MAX_REVIEWERS {
            return Err(invalid(
                format!("{field}.reviewers"),
                format!(
                    "at most {MAX_REVIEWERS} reviewers (got {})",
                    reviewers.len()
                ),
            ));
        }
        for (i, r) in reviewers.iter().enumerate() {
            length(
                &format!("{field}.reviewers[{i}].reviewer_name"),
                &r.reviewer_name,
                1,
                64,
            )?;
            length(
                &format!("{field}.reviewers[{i}].reviewer_id"),
                &r.reviewer_id,
                0,
                32,
            )?;
        }
    }
    Ok(())
}

fn script_params(params: &[ScriptParamDefine]) -> Checked {
    if params.len() > MAX_PARAMS {
        return Err(invalid(
            "script_params",
            format!("at most {MAX_PARAMS} parameters (got {})", params.len()),
        ));
    }
    let mut names = HashSet::new();
    for (i, p) in params.iter().enumerate() {
        let f = format!("script_params[{i}]");
        identifier(&format!("{f}.param_name"), &p.param_name)?;
        not_reserved(&format!("{f}.param_name"), &p.param_name)?;
        if !names.insert(p.param_name.as_str()) {
            return Err(invalid(
                format!("{f}.param_name"),
                format!("must be unique ({:?} appears twice)", p.param_name),
            ));
        }
        param_value(&format!("{f}.param_value"), &p.param_value)?;
        length(
            &format!("{f}.param_description"),
            &p.param_description,
            0,
            MAX_DESCRIPTION,
        )?;
        range_i64(
            &format!("{f}.param_order"),
            p.param_order,
            (1, MAX_PARAMS as i64),
        )?;
    }
    consecutive_from_one(
        "script_params.param_order",
        params.iter().map(|p| p.param_order).collect(),
    )
}

pub fn add_script(s: &AddScriptModel) -> Checked {
    identifier("name", &s.name)?;
    length("description", &s.description, 1, MAX_DESCRIPTION)?;
    length("content", &s.content, 1, MAX_CONTENT)?;
    properties("properties", &s.properties)?;
    script_params(s.script_params.as_deref().unwrap_or_default())
}

pub fn edit_script(s: &EditScriptModel) -> Checked {
    length("description", &s.description, 1, MAX_DESCRIPTION)?;
    length("content", &s.content, 1, MAX_CONTENT)?;
    if let Some(p) = &s.properties {
        properties("properties", p)?;
    }
    script_params(s.script_params.as_deref().unwrap_or_default())
}

/// Checks an execute request on its own; `known` says whether a resource id exists and
/// `declared` which parameter names the script declares.
pub fn execute(
    e: &ScriptExecuteModel,
    declared: &[ScriptParamDefine],
    known: impl Fn(&str) -> bool,
) -> Checked {
    let p = &e.execute_param;
    range_i64("execute_param.timeout", p.timeout, TIMEOUT_RANGE)?;
    let rate = p.success_rate;
    if !(SUCCESS_RATE_RANGE.0..=SUCCESS_RATE_RANGE.1).contains(&rate) {
        return Err(invalid(
            "execute_param.success_rate",
            format!("must be between 1 and 100 (got {rate})"),
        ));
    }
    if ((rate * 10.0).round() - rate * 10.0).abs() > 1e-9 {
        return Err(invalid(
            "execute_param.success_rate",
            format!("may have at most one decimal place (got {rate})"),
        ));
    }
    length("execute_param.execute_user", &p.execute_user, 1, 32)?;
    if p.script_params.len() > MAX_PARAMS {
        return Err(invalid(
            "execute_param.script_params",
            format!(
                "at most {MAX_PARAMS} parameters (got {})",
                p.script_params.len()
            ),
        ));
    }
    let mut names = HashSet::new();
    for (i, sp) in p.script_params.iter().enumerate() {
        let f = format!("execute_param.script_params[{i}]");
        length(&format!("{f}.param_name"), &sp.param_name, 1, MAX_NAME)?;
        if !names.insert(sp.param_name.as_str()) {
            return Err(invalid(
                format!("{f}.param_name"),
                format!("must be unique ({:?} appears twice)", sp.param_name),
            ));
        }
        if !declared.iter().any(|d| d.param_name == sp.param_name) {
            return Err(invalid(
                format!("{f}.param_name"),
                format!("the script declares no parameter {:?}", sp.param_name),
            ));
        }
        param_value(&format!("{f}.param_value"), &sp.param_value)?;
        range_i64(
            &format!("{f}.param_order"),
            sp.param_order,
            (1, MAX_PARAMS as i64),
        )?;
    }
    consecutive_from_one(
        "execute_param.script_params.param_order",
        p.script_params.iter().map(|x| x.param_order).collect(),
    )?;

    if e.execute_batches.is_empty() {
        return Err(invalid("execute_batches", "must name at least one batch"));
    }
    if e.execute_batches.len() > MAX_BATCHES {
        return Err(invalid(
            "execute_batches",
            format!(
                "at most {MAX_BATCHES} batches (got {})",
                e.execute_batches.len()
            ),
        ));
    }
    let mut hosts = HashSet::new();
    for (i, b) in e.execute_batches.iter().enumerate() {
        let f = format!("execute_batches[{i}]");
        range_i64(
            &format!("{f}.batch_index"),
            b.batch_index,
            (1, MAX_BATCHES as i64),
        )?;
        let n = b.target_instances.len();
        if n == 0 || n > MAX_HOSTS_PER_BATCH {
            return Err(invalid(
                format!("{f}.target_instances"),
                format!("a batch holds 1 to {MAX_HOSTS_PER_BATCH} hosts (got {n})"),
            ));
        }
        for (j, t) in b.target_instances.iter().enumerate() {
            let tf = format!("{f}.target_instances[{j}]");
            length(&format!("{tf}.resource_id"), &t.resource_id, 1, 64)?;
            for (name, v) in [
                ("agent_sn", &t.agent_sn),
                ("project_id", &t.project_id),
                ("region_id", &t.region_id),
            ] {
                if let Some(v) = v {
                    length(&format!("{tf}.{name}"), v, 0, 32)?;
                }
            }
            if !known(&t.resource_id) {
                return Err(invalid(
                    format!("{tf}.resource_id"),
                    format!("no resource {:?} in the inventory", t.resource_id),
                ));
            }
            if !hosts.insert(t.resource_id.as_str()) {
                return Err(invalid(
                    format!("{tf}.resource_id"),
                    format!("host {:?} appears more than once", t.resource_id),
                ));
            }
        }
    }
    if hosts.len() > MAX_HOSTS_PER_CALL {
        return Err(invalid(
            "execute_batches",
            format!(
                "at most {MAX_HOSTS_PER_CALL} hosts a call (got {})",
                hosts.len()
            ),
        ));
    }
    consecutive_from_one(
        "execute_batches.batch_index",
        e.execute_batches.iter().map(|b| b.batch_index).collect(),
    )
}

pub fn operation(op: &JobScriptOrderOperationBody) -> Checked {
    if let Some(b) = op.batch_index {
        range_i64("batch_index", b, (1, MAX_BATCHES as i64))?;
    }
    if let Some(i) = op.instance_id {
        range_i64("instance_id", i, (1, i64::MAX))?;
    }
    match op.operation_type {
        OperationType::CancelInstance | OperationType::RetryInstance
            if op.instance_id.is_none() =>
        {
            Err(invalid(
                "instance_id",
                format!("is required for {}", op.operation_type),
            ))
        }
        OperationType::SkipBatch if op.batch_index.is_none() => {
            Err(invalid("batch_index", "is required for SKIP_BATCH"))
        }
        _ => Ok(()),
    }
}

/// `limit` of a list call: `1..=max`, 100 when absent.
pub fn limit(value: Option<i64>, max: i64) -> Result<i64, Invalid> {
    match value {
        None => Ok(max.min(100)),
        Some(v) => range_i64("limit", v, (1, max)).map(|_| v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_is_counted_in_characters_whatever_their_bytes() {
        // Two characters of two bytes each: four bytes, still too short for three.
        let e = length("f", "éé", 3, 10).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.rule.as_str()),
            ("f", "must be 3 to 10 characters (got 2)")
        );
        // Two characters of four bytes each: eight bytes, within two.
        assert!(length("f", "😀😀", 1, 2).is_ok());
        assert!(length("f", "😀😀😀", 1, 2).is_err());
        assert!(length("f", "", 0, 2).is_ok());
        assert_eq!(
            length("f", "", 1, 2).unwrap_err().rule,
            "must not be empty (at least 1 character)"
        );
        // The field's name is built only when the check fails.
        let mut named = false;
        length_of(
            || {
                named = true;
                "f".into()
            },
            "ok",
            1,
            2,
        )
        .unwrap();
        assert!(!named);
    }
}
