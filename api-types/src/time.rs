//! Time the way the Kubernetes API and kubectl show it: RFC 3339 timestamps (`metav1.Time`,
//! `metav1.MicroTime`), the RFC 1123 form `kubectl describe` prints, and the short human durations
//! of AGE columns ("5m", "2d3h").
//!
//! Instants are nanoseconds since the Unix epoch in an `i128`, wide enough for every timestamp
//! Go can hold (its zero time included) without a date-time dependency.

/// An instant as nanoseconds since the Unix epoch.
pub type Nanos = i128;

pub const NANOS_PER_SEC: Nanos = 1_000_000_000;

/// Go's zero `time.Time` (0001-01-01T00:00:00Z). An absent timestamp decodes to it upstream, and
/// upstream prints it as "<unknown>" where an age is expected.
pub const ZERO_TIME: Nanos = -62_135_596_800 * NANOS_PER_SEC;

/// A duration in whole seconds the way kubectl shows ages: two or three significant figures
/// ("5s", "2m30s", "3h", "5d", "2y"), "<invalid>" for a clearly negative one.
pub fn human_duration(secs: i64) -> String {
    // A second of negative skew between clocks still reads as "just now".
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return with_remainder(minutes, "m", secs % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        return with_remainder(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return with_remainder(days, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return with_remainder(years, "y", days % 365, "d");
    }
    format!("{years}y")
}

fn with_remainder(major: i64, major_unit: &str, minor: i64, minor_unit: &str) -> String {
    if minor == 0 {
        format!("{major}{major_unit}")
    } else {
        format!("{major}{major_unit}{minor}{minor_unit}")
    }
}

/// `to - from` as a human duration. The difference is truncated towards zero to whole seconds,
/// as Go's `int(d.Seconds())` does, so 1.9s of clock skew still reads "0s".
pub fn human_duration_between(from: Nanos, to: Nanos) -> String {
    let secs = (to - from) / NANOS_PER_SEC;
    human_duration(i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX }))
}

/// Time elapsed from `t` to `now` as a human duration, the way ages print; "<unknown>" for Go's
/// zero time, which stands for an absent timestamp.
pub fn human_age(t: Nanos, now: Nanos) -> String {
    if t == ZERO_TIME {
        return "<unknown>".into();
    }
    human_duration_between(t, now)
}

/// Parses RFC 3339 ("2024-05-01T10:00:00Z", with optional fraction and numeric offset), the form
/// `metav1.Time` and `metav1.MicroTime` take in JSON. None when malformed or out of range.
pub fn parse_rfc3339(s: &str) -> Option<Nanos> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't') {
        return None;
    }
    let year = digits(s, 0, 4)?;
    let month = digits(s, 5, 7)?;
    let day = digits(s, 8, 10)?;
    let hour = digits(s, 11, 13)?;
    let minute = digits(s, 14, 16)?;
    let second = digits(s, 17, 19)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut frac: Nanos = 0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        // Digits past nanosecond precision carry no information Go keeps.
        let mut scale = NANOS_PER_SEC;
        for d in after_dot.bytes().take(len.min(9)) {
            scale /= 10;
            frac += Nanos::from(d - b'0') * scale;
        }
        rest = &after_dot[len..];
    }
    let offset_secs: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let z = rest.as_bytes();
            if z.len() != 6 || z[3] != b':' {
                return None;
            }
            let sign = match z[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (digits(rest, 1, 3)?, digits(rest, 4, 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(Nanos::from(secs) * NANOS_PER_SEC + frac)
}

fn digits(s: &str, from: usize, to: usize) -> Option<i64> {
    let part = s.get(from..to)?;
    if !part.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), avoiding a
/// date-time dependency for this one conversion.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of `days_from_civil`: (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Whole seconds since the epoch (rounded towards the past) and the calendar date and time of
/// day in UTC.
struct Civil {
    days: i64,
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
}

fn civil(t: Nanos) -> Civil {
    let secs = i64::try_from(t.div_euclid(NANOS_PER_SEC)).unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let rem = secs.rem_euclid(86_400);
    Civil {
        days,
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
    }
}

/// A year as Go's time layouts print "2006": at least four digits, a minus sign before them for
/// years before 1 BC ("-0001").
fn go_year(year: i64) -> String {
    if year < 0 {
        format!("-{:04}", year.unsigned_abs())
    } else {
        format!("{year:04}")
    }
}

/// Formats like Go's `t.UTC().Format(time.RFC3339)`: whole seconds, "Z".
pub fn format_rfc3339(t: Nanos) -> String {
    let c = civil(t);
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        go_year(c.year),
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second
    )
}

/// Formats like Go's `t.UTC().Format(time.RFC1123Z)`, the form `kubectl describe` prints
/// timestamps in: "Mon, 02 Jan 2006 15:04:05 +0000". Go's zero time prints as
/// "Mon, 01 Jan 0001 00:00:00 +0000", as upstream does for absent timestamps.
pub fn format_rfc1123z(t: Nanos) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = civil(t);
    // 1970-01-01 was a Thursday, hence the table's start.
    let weekday = WEEKDAYS[usize::try_from(c.days.rem_euclid(7)).unwrap_or(0)];
    let month = MONTHS[usize::try_from(c.month - 1).unwrap_or(0).min(11)];
    format!(
        "{weekday}, {:02} {month} {} {:02}:{:02}:{:02} +0000",
        c.day,
        go_year(c.year),
        c.hour,
        c.minute,
        c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-06-01T12:00:00Z
    const NOW: i64 = 1_717_243_200;

    #[test]
    fn human_duration_matches_upstream_boundaries() {
        let cases = [
            (-5, "<invalid>"),
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (150, "2m30s"),
            (599, "9m59s"),
            (600, "10m"),
            (10_799, "179m"),
            (10_800, "3h"),
            (3 * 3600 + 30 * 60, "3h30m"),
            (8 * 3600 + 59 * 60, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (49 * 3600, "2d1h"),
            (7 * 86_400 + 23 * 3600, "7d23h"),
            (8 * 86_400, "8d"),
            (729 * 86_400, "729d"),
            (730 * 86_400, "2y"),
            (735 * 86_400, "2y5d"),
            (8 * 365 * 86_400, "8y"),
            (20 * 365 * 86_400, "20y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs}s");
        }
        let max_years = i64::MAX / 86_400 / 365;
        assert_eq!(human_duration(i64::MAX), format!("{max_years}y"));
    }

    #[test]
    fn durations_between_instants_truncate_to_seconds() {
        let now = Nanos::from(NOW) * NANOS_PER_SEC;
        assert_eq!(human_duration_between(now - 5_900_000_000, now), "5s");
        assert_eq!(human_duration_between(now + 1_900_000_000, now), "0s");
        assert_eq!(
            human_duration_between(now + 2 * NANOS_PER_SEC, now),
            "<invalid>"
        );
        assert_eq!(human_duration_between(ZERO_TIME, now), "2024y");
        assert_eq!(human_age(now - 90 * NANOS_PER_SEC, now), "90s");
        assert_eq!(human_age(ZERO_TIME, now), "<unknown>");
        assert_eq!(
            human_duration_between(Nanos::MIN / 2, Nanos::MAX / 2),
            format!("{}y", i64::MAX / 86_400 / 365)
        );
    }

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2000-01-01T00:00:00Z"),
            Some(946_684_800 * NANOS_PER_SEC)
        );
        assert_eq!(
            parse_rfc3339("2024-06-01T12:00:00Z"),
            Some(Nanos::from(NOW) * NANOS_PER_SEC)
        );
        assert_eq!(
            parse_rfc3339("2024-06-01T14:30:00+02:30"),
            parse_rfc3339("2024-06-01T12:00:00Z")
        );
        assert_eq!(
            parse_rfc3339("2024-06-01T12:00:00.250000Z"),
            Some(Nanos::from(NOW) * NANOS_PER_SEC + 250_000_000)
        );
        assert_eq!(
            parse_rfc3339("2024-06-01t12:00:00.123456789123z"),
            Some(Nanos::from(NOW) * NANOS_PER_SEC + 123_456_789)
        );
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), Some(ZERO_TIME));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z").map(|_| ()), Some(()));
        for bad in [
            "",
            "yesterday",
            "2023-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-06-01 12:00:00Z",
            "2024-06-01T24:00:00Z",
            "2024-06-01T12:00:00",
            "2024-06-01T12:00:00.Z",
            "2024-06-01T12:00:00+0200",
            "2024-06-01T12:00:00+24:00",
            "2024-06-01T12:00:00Zjunk",
            "2024-06-01T12:00:0éZ",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_rfc3339_and_round_trips() {
        assert_eq!(format_rfc3339(ZERO_TIME), "0001-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(-NANOS_PER_SEC / 2), "1969-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(-NANOS_PER_SEC), "1969-12-31T23:59:59Z");
        assert_eq!(
            format_rfc3339(4_107_542_399 * NANOS_PER_SEC),
            "2100-02-28T23:59:59Z"
        );
        // Go writes years before 1 BC with a sign and four digits.
        assert_eq!(
            format_rfc3339(ZERO_TIME - 367 * 86_400 * NANOS_PER_SEC),
            "-0001-12-31T00:00:00Z"
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T23:59:59.9-01:00").map(format_rfc3339),
            Some("2024-03-01T00:59:59Z".into())
        );
        for s in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2024-06-01T12:00:00Z",
            "2100-03-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339(s).map(format_rfc3339).as_deref(), Some(s));
        }
    }

    #[test]
    fn formats_rfc1123z_like_go() {
        let at = |s: &str| format_rfc1123z(parse_rfc3339(s).unwrap_or(0));
        assert_eq!(
            at("2006-01-02T15:04:05Z"),
            "Mon, 02 Jan 2006 15:04:05 +0000"
        );
        assert_eq!(
            at("1970-01-01T00:00:00Z"),
            "Thu, 01 Jan 1970 00:00:00 +0000"
        );
        assert_eq!(
            at("2024-02-29T08:09:10+01:00"),
            "Thu, 29 Feb 2024 07:09:10 +0000"
        );
        assert_eq!(
            at("1969-12-31T23:59:59Z"),
            "Wed, 31 Dec 1969 23:59:59 +0000"
        );
        assert_eq!(
            format_rfc1123z(ZERO_TIME),
            "Mon, 01 Jan 0001 00:00:00 +0000"
        );
    }
}
