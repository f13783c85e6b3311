//! Formatting shared by the CLI and the console: durations and timestamps.

use chrono::{FixedOffset, TimeZone};

/// `312 ms`, `4.2 s`, `3m07s`, or `-`.
pub fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) => format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

/// Milliseconds since the epoch at `offset`, as `MM-DD HH:MM`.
pub fn short_time(ms: i64, offset: FixedOffset) -> String {
    offset
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

/// The local time zone's current offset (the console fixes it at start so rendering is pure).
pub fn local_offset() -> FixedOffset {
    *chrono::Local::now().offset()
}

/// `30m`, `2h`, `1d`, `90s`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("duration {s:?}: expected a number and s, m, h or d"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("duration {s:?}: unit must be s, m, h or d")),
    };
    Ok(n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(Some(312)), "312 ms");
        assert_eq!(duration(Some(4200)), "4.2 s");
        assert_eq!(duration(Some(187_000)), "3m07s");
        assert_eq!(duration(None), "-");
    }

    #[test]
    fn times_at_an_offset() {
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(short_time(1_700_000_000_000, utc), "11-14 22:13");
    }
}
