//! Just enough of Kubernetes resource quantities (`500m`, `1Gi`, `2e3`) to order them:
//! kubectl's `--sort-by` compares two strings as quantities when both parse as one.

/// The magnitude of a quantity string, or None if it is not one.
pub(crate) fn parse_quantity(text: &str) -> Option<f64> {
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    let number_len = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at_checked(number_len)?;
    if number.matches('.').count() > 1 || !number.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let mantissa: f64 = number.parse().ok()?;
    Some(sign * mantissa * suffix_factor(suffix)?)
}

fn suffix_factor(suffix: &str) -> Option<f64> {
    let binary = |power: i32| Some(2f64.powi(power));
    let decimal = |power: i32| Some(10f64.powi(power));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            // Saturate: anything this large or small already orders as infinity or zero.
            let power = exponent
                .parse::<i64>()
                .unwrap_or(if exponent.starts_with('-') {
                    i64::MIN
                } else {
                    i64::MAX
                });
            decimal(i32::try_from(power.clamp(-1000, 1000)).unwrap_or(0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_quantity;

    #[test]
    fn parses_kubernetes_suffixes() {
        assert_eq!(parse_quantity("100m"), Some(0.1));
        assert_eq!(parse_quantity("1Gi"), Some(1073741824.0));
        assert_eq!(parse_quantity("2k"), Some(2000.0));
        assert_eq!(parse_quantity("1.5"), Some(1.5));
        assert_eq!(parse_quantity(".5"), Some(0.5));
        assert_eq!(parse_quantity("-3"), Some(-3.0));
        assert_eq!(parse_quantity("2e3"), Some(2000.0));
        assert_eq!(parse_quantity("1E"), Some(1e18));
    }

    #[test]
    fn rejects_non_quantities() {
        for text in [
            "",
            "abc",
            "node-1",
            "1..2",
            ".",
            "1Gb",
            "2024-01-01T00:00:00Z",
            "e3",
            "1e",
        ] {
            assert_eq!(parse_quantity(text), None, "{text}");
        }
    }
}
