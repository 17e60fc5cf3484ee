//! Durations on the command line the way kubectl reads them (Go's syntax): `90s`, `5m`,
//! `1h30m`, `1.5s`, `250ms`, `0`; a negative value means "a week", as `kubectl wait` takes it.

use std::time::Duration;

use super::CliError;

/// What kubectl substitutes for "no limit" where a deadline is needed.
pub const A_WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn parse(s: &str) -> Result<Duration, CliError> {
    let bad = || {
        CliError::Input(format!(
            "invalid duration \"{s}\" (use e.g. 30s, 5m, 1h30m, 250ms)"
        ))
    };
    let text = s.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if let Some(rest) = text.strip_prefix('-') {
        parse(rest)?;
        return Ok(A_WEEK);
    }
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// Whole seconds of a duration flag, for APIs that take seconds.
pub fn seconds(s: &str) -> Result<i64, CliError> {
    Ok(i64::try_from(parse(s)?.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse("-1s").unwrap(), A_WEEK);
        for bad in ["5", "5d", "", "s", "1..2s", "-"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
