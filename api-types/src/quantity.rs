//! Kubernetes resource quantities ("100m", "1.5", "128Mi", "1e3", "2G") as integers: CPU in
//! millicores, everything else in whole units (bytes, counts), rounding up as Kubernetes does.

/// Parses a quantity and returns its value multiplied by `scale` (1000 for millicores, 1 for
/// bytes), rounded up. None when the text is not a quantity.
pub fn parse_scaled(text: &str, scale: i128) -> Option<i64> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    let (num, suffix) = split_suffix(s);
    let (mult_num, mult_den): (i128, i128) = match suffix {
        "" => (1, 1),
        "n" => (1, 1_000_000_000),
        "u" => (1, 1_000_000),
        "m" => (1, 1000),
        "k" => (1000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        s if s.starts_with(['e', 'E']) => {
            let exp: i32 = s[1..].parse().ok()?;
            if exp >= 0 {
                (10i128.checked_pow(exp as u32)?, 1)
            } else {
                (1, 10i128.checked_pow((-exp) as u32)?)
            }
        }
        _ => return None,
    };
    let (negative, digits) = match num.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, num.strip_prefix('+').unwrap_or(num)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .chars()
        .chain(frac_part.chars())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let frac_len = frac_part.len().min(18) as u32;
    let mantissa: i128 = format!("{int_part}{}", &frac_part[..frac_len as usize])
        .parse()
        .ok()?;
    let den = mult_den * 10i128.pow(frac_len);
    let value = mantissa.checked_mul(mult_num)?.checked_mul(scale)?;
    let rounded = (value + den - 1) / den;
    let signed = if negative { -rounded } else { rounded };
    i64::try_from(signed).ok()
}

fn split_suffix(s: &str) -> (&str, &str) {
    // An exponent looks like "1e3"/"1E-2"; a bare "E" is the exa suffix.
    if let Some(idx) = s.find(['e', 'E'])
        && idx > 0
        && s[idx + 1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+')
    {
        return (&s[..idx], &s[idx..]);
    }
    let idx = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    (&s[..idx], &s[idx..])
}

/// CPU in millicores.
pub fn milli(text: &str) -> Option<i64> {
    parse_scaled(text, 1000)
}

/// Memory, storage and counts in whole units.
pub fn units(text: &str) -> Option<i64> {
    parse_scaled(text, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_quantities() {
        assert_eq!(milli("100m"), Some(100));
        assert_eq!(milli("1"), Some(1000));
        assert_eq!(milli("1.5"), Some(1500));
        assert_eq!(milli("0.0001"), Some(1));
        assert_eq!(units("128Mi"), Some(128 << 20));
        assert_eq!(units("1Gi"), Some(1 << 30));
        assert_eq!(units("2G"), Some(2_000_000_000));
        assert_eq!(units("1e3"), Some(1000));
        assert_eq!(units("1.5Ki"), Some(1536));
        assert_eq!(units("110"), Some(110));
        assert_eq!(units("abc"), None);
        assert_eq!(units("1Zi"), None);
    }
}
