//! Kubernetes resource quantities ("100m", "1.5", "128Mi", "1e3", "2G").
//!
//! [`Quantity`] holds one exactly, to the nano-unit as upstream's int64 fast path does: it
//! compares, sums and prints in upstream's canonical form (`resource.Quantity.String()`, so "1"
//! for "1000m"). [`milli`] and [`units`] are the integer shortcuts most components need: CPU in
//! millicores, everything else in whole units, rounding up as Kubernetes does.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

/// Nano-units in one unit.
const NANO: i128 = 1_000_000_000;

/// Nano-units in one milli-unit.
const NANOS_PER_MILLI: i128 = 1_000_000;

/// How a quantity is written back out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Format {
    /// Powers of 1000 ("m", "k", "M", ...).
    #[default]
    DecimalSi,
    /// Powers of 1024 ("Ki", "Mi", ...).
    BinarySi,
    /// Scientific notation ("1e3").
    DecimalExponent,
}

/// A parsed quantity, exact to the nano-unit, with the format it prints in. Quantities compare
/// (and are equal) by value alone: "1" equals "1000m". The default is zero.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

impl Quantity {
    /// Parses upstream's quantity grammar: a signed decimal number plus an optional decimal SI
    /// suffix, binary SI suffix or decimal exponent, with no surrounding space. Fractions of a
    /// nano-unit round up (away from zero). None when the text is not a quantity or is out of
    /// range.
    pub fn parse(input: &str) -> Option<Self> {
        let (negative, rest) = match input.as_bytes().first()? {
            b'-' => (true, &input[1..]),
            b'+' => (false, &input[1..]),
            _ => (false, input),
        };
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(num_len);
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return None;
        }
        let (format, base, exp) = parse_suffix(suffix)?;

        // Accumulate digits as an exact integer scaled by 10^-frac_len.
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 30 {
            return None;
        }
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        let frac_len = i32::try_from(frac_part.len()).ok()?;

        let mut value = mantissa.checked_mul(NANO)?;
        let mut scale = -frac_len;
        if base == 1024 {
            for _ in 0..exp {
                value = value.checked_mul(1024)?;
            }
        } else {
            scale += exp;
        }
        // Apply 10^scale, rounding fractions of a nano-unit up as upstream does.
        if scale >= 0 {
            for _ in 0..scale {
                value = value.checked_mul(10)?;
            }
        } else {
            let mut div: i128 = 1;
            for _ in 0..(-scale) {
                div = div.checked_mul(10)?;
            }
            value = ceil_div(value, div);
        }
        Some(Quantity {
            nanos: if negative { -value } else { value },
            format,
        })
    }

    /// Parses a quantity from its JSON form: a string, or a bare number as lenient clients send.
    pub fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Self::parse(s),
            Value::Number(n) => Self::parse(&n.to_string()),
            _ => None,
        }
    }

    /// The exact value in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// Whole units, rounded up (towards positive infinity) as upstream's `Value()` does.
    pub fn whole_units(&self) -> i128 {
        self.nanos.div_euclid(NANO) + i128::from(self.nanos.rem_euclid(NANO) != 0)
    }

    /// Thousandths (`MilliValue()`), rounded up towards positive infinity like `whole_units`.
    pub fn milli_value(&self) -> i128 {
        self.nanos.div_euclid(NANOS_PER_MILLI)
            + i128::from(self.nanos.rem_euclid(NANOS_PER_MILLI) != 0)
    }

    /// The value counted in `1/scale` units (1000 for millicores, 1 for bytes), its magnitude
    /// rounded up. None when that overflows.
    pub fn scaled(&self, scale: i128) -> Option<i128> {
        let magnitude = ceil_div(self.nanos.abs().checked_mul(scale)?, NANO);
        Some(if self.nanos < 0 {
            -magnitude
        } else {
            magnitude
        })
    }

    /// The quantity at kubectl's `MilliValue` precision: whole thousandths (magnitude rounded
    /// up), in the same format. None when the thousandths do not fit an int64.
    pub fn at_milli_precision(&self) -> Option<Self> {
        let milli = i64::try_from(self.scaled(1000)?).ok()?;
        Some(Self {
            nanos: i128::from(milli) * NANOS_PER_MILLI,
            format: self.format,
        })
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    pub fn is_positive(&self) -> bool {
        self.nanos > 0
    }

    /// Compares values, as upstream's `Quantity.Cmp`; the same as `Ord::cmp`.
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }

    /// Adds `other` in; a sum keeps the format of its first non-zero term, as upstream's `Add`.
    pub fn add(&mut self, other: &Quantity) {
        if self.nanos == 0 {
            self.format = other.format;
        }
        self.nanos += other.nanos;
    }

    /// The canonical string form, as `resource.Quantity.String()`; the same as `to_string()`.
    pub fn canonical(&self) -> String {
        self.to_string()
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_value(other)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let mut format = self.format;
        // Small or fractional values would lose information in powers of 1024.
        if format == Format::BinarySi && (self.nanos.abs() < 1024 * NANO || self.nanos % NANO != 0)
        {
            format = Format::DecimalSi;
        }
        if format == Format::BinarySi {
            const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
            let mut units = self.nanos / NANO;
            let mut exp = 0;
            while exp + 1 < SUFFIXES.len() && units % 1024 == 0 {
                units /= 1024;
                exp += 1;
            }
            return write!(f, "{units}{}", SUFFIXES[exp]);
        }
        // The mantissa is the smallest integer left once the exponent is a multiple of three,
        // the only exponents upstream prints.
        let mut mantissa = self.nanos;
        let mut exp: i32 = -9;
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exp += 1;
        }
        match exp.rem_euclid(3) {
            1 => {
                mantissa *= 10;
                exp -= 1;
            }
            2 => {
                mantissa *= 100;
                exp -= 2;
            }
            _ => {}
        }
        let si_suffix = match exp {
            -9 => Some("n"),
            -6 => Some("u"),
            -3 => Some("m"),
            3 => Some("k"),
            6 => Some("M"),
            9 => Some("G"),
            12 => Some("T"),
            15 => Some("P"),
            18 => Some("E"),
            _ => None,
        };
        match (exp, format, si_suffix) {
            (0, _, _) => write!(f, "{mantissa}"),
            (_, Format::DecimalSi, Some(suffix)) => write!(f, "{mantissa}{suffix}"),
            _ => write!(f, "{mantissa}e{exp}"),
        }
    }
}

/// `value / div` with the magnitude of any remainder rounding away from zero (`div` > 0).
fn ceil_div(value: i128, div: i128) -> i128 {
    let q = value / div;
    if value % div == 0 {
        q
    } else if value < 0 {
        q - 1
    } else {
        q + 1
    }
}

/// The format, base and exponent a suffix stands for.
fn parse_suffix(suffix: &str) -> Option<(Format, i128, i32)> {
    let decimal = |e: i32| Some((Format::DecimalSi, 10, e));
    let binary = |e: i32| Some((Format::BinarySi, 1024, e));
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
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        s if s.starts_with(['e', 'E']) => {
            let rest = &s[1..];
            let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let e: i32 = rest.parse().ok()?;
            if e.abs() > 40 {
                return None;
            }
            Some((Format::DecimalExponent, 10, e))
        }
        _ => None,
    }
}

/// Parses a quantity (surrounding space allowed) and returns its value multiplied by `scale`
/// (1000 for millicores, 1 for bytes), its magnitude rounded up. None when the text is not a
/// quantity or the result does not fit an i64.
pub fn parse_scaled(text: &str, scale: i128) -> Option<i64> {
    let scaled = Quantity::parse(text.trim())?.scaled(scale)?;
    i64::try_from(scaled).ok()
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

    fn canon(s: &str) -> Option<String> {
        Quantity::parse(s).map(|q| q.canonical())
    }

    #[test]
    fn parses_kubernetes_quantities() {
        assert_eq!(milli("100m"), Some(100));
        assert_eq!(milli("1"), Some(1000));
        assert_eq!(milli("1.5"), Some(1500));
        assert_eq!(milli("0.0001"), Some(1));
        assert_eq!(milli(" 250m\n"), Some(250));
        assert_eq!(milli("-1.5m"), Some(-2));
        assert_eq!(units("128Mi"), Some(128 << 20));
        assert_eq!(units("1Gi"), Some(1 << 30));
        assert_eq!(units("2G"), Some(2_000_000_000));
        assert_eq!(units("1e3"), Some(1000));
        assert_eq!(units("1.5Ki"), Some(1536));
        assert_eq!(units("110"), Some(110));
        assert_eq!(units("8Ei"), None);
        assert_eq!(units("abc"), None);
        assert_eq!(units("1Zi"), None);
    }

    #[test]
    fn values_are_exact_and_ordered() {
        let nanos = |s: &str| Quantity::parse(s).map(|q| q.nanos());
        assert_eq!(nanos("100m"), Some(100_000_000));
        assert_eq!(nanos("1Gi"), Some(1_073_741_824 * NANO));
        assert_eq!(nanos("2k"), Some(2000 * NANO));
        assert_eq!(nanos("1.5"), Some(1_500_000_000));
        assert_eq!(nanos(".5"), Some(500_000_000));
        assert_eq!(nanos("-3"), Some(-3 * NANO));
        assert_eq!(nanos("2e3"), Some(2000 * NANO));
        assert_eq!(nanos("1E"), Some(1_000_000_000_000_000_000 * NANO));
        assert_eq!(nanos("1e-10"), Some(1));
        let q = |s: &str| Quantity::parse(s).unwrap_or_default();
        assert!(q("500m") < q("1"));
        assert_eq!(q("1"), q("1000m"));
        assert!(q("9") < q("10") && q("10") < q("1Ki"));
        assert_eq!(q("1m").whole_units(), 1);
        assert_eq!(q("-1.5").whole_units(), -1);
        assert_eq!(q("1n").milli_value(), 1);
        assert_eq!(
            q("1n").at_milli_precision().map(|q| q.to_string()),
            Some("1m".into())
        );
        assert_eq!(
            q("1.5Gi").at_milli_precision().map(|q| q.to_string()),
            Some("1536Mi".into())
        );
        assert_eq!(q("10Pi").at_milli_precision(), None);
    }

    #[test]
    fn rejects_non_quantities() {
        for text in [
            "",
            "abc",
            "node-1",
            "1..2",
            "1.2.3",
            ".",
            "1Gb",
            "2024-01-01T00:00:00Z",
            "e3",
            "1e",
            " 1",
            "1e41",
        ] {
            assert_eq!(canon(text), None, "{text}");
        }
    }

    #[test]
    fn canonical_forms_match_resource_quantity_string() {
        for (input, want) in [
            ("0", "0"),
            ("0Mi", "0"),
            ("1n", "1n"),
            ("100m", "100m"),
            ("1000m", "1"),
            ("1500m", "1500m"),
            ("0.5", "500m"),
            ("2", "2"),
            ("2000", "2k"),
            ("1500000", "1500k"),
            ("2000000", "2M"),
            ("1G", "1G"),
            ("1000M", "1G"),
            ("128Mi", "128Mi"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Ki", "512"),
            ("1e3", "1e3"),
            ("1E6", "1e6"),
            ("1e-2", "10e-3"),
            ("10Gi", "10Gi"),
            ("110", "110"),
            ("16393600Ki", "16393600Ki"),
        ] {
            assert_eq!(canon(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn sums_keep_the_first_non_zero_format() {
        let mut total = Quantity::default();
        for s in ["0", "128Mi", "64Mi", "1000"] {
            total.add(&Quantity::parse(s).unwrap_or_default());
        }
        assert_eq!(total.to_string(), "201327592");
        let mut memory = Quantity::default();
        memory.add(&Quantity::parse("512Mi").unwrap_or_default());
        memory.add(&Quantity::parse("512Mi").unwrap_or_default());
        assert_eq!(memory.to_string(), "1Gi");
    }
}
