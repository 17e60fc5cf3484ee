//! Resource quantities ("500m", "1.5Gi", "1e3") parsed into exact nano-unit
//! integers, compared, and printed in upstream's canonical form so error
//! messages and stored objects show e.g. "1" for "1000m".

use std::cmp::Ordering;

use serde_json::Value;

/// The regex upstream quotes when a quantity fails to parse.
pub(crate) const QUANTITY_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const NANO: i128 = 1_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    DecimalSi,
    BinarySi,
    DecimalExponent,
}

/// A parsed quantity, exact to the nano unit like upstream's int64 fast path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Quantity {
    nanos: i128,
    format: Format,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Quantity {
    pub(crate) fn cmp_value(&self, other: &Quantity) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    pub(crate) fn is_positive(&self) -> bool {
        self.nanos > 0
    }

    /// Whole units, rounded up as upstream's `Value()` does.
    pub(crate) fn whole_units(&self) -> i128 {
        let q = self.nanos.div_euclid(NANO);
        if self.nanos.rem_euclid(NANO) == 0 {
            q
        } else {
            q + 1
        }
    }

    pub(crate) fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The canonical string form, as `resource.Quantity.String()`.
    pub(crate) fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        if format == Format::BinarySi && (self.nanos.abs() < 1024 * NANO || self.nanos % NANO != 0)
        {
            // Small or fractional binary values print in decimal to avoid rounding.
            format = Format::DecimalSi;
        }
        if format == Format::BinarySi {
            let mut units = self.nanos / NANO;
            let mut exp = 0;
            while exp < 6 && units % 1024 == 0 {
                units /= 1024;
                exp += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
            return format!("{units}{suffix}");
        }
        let mut mantissa = self.nanos;
        let mut exp: i32 = -9;
        while mantissa % 10 == 0 {
            mantissa /= 10;
            exp += 1;
        }
        // Upstream only prints exponents that are multiples of three.
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
        let suffix = if exp == 0 {
            String::new()
        } else if format == Format::DecimalSi {
            match exp {
                -9 => "n".to_string(),
                -6 => "u".to_string(),
                -3 => "m".to_string(),
                3 => "k".to_string(),
                6 => "M".to_string(),
                9 => "G".to_string(),
                12 => "T".to_string(),
                15 => "P".to_string(),
                18 => "E".to_string(),
                other => format!("e{other}"),
            }
        } else {
            format!("e{exp}")
        };
        format!("{mantissa}{suffix}")
    }
}

/// Parses a quantity from a JSON string or number.
pub(crate) fn from_json(v: &Value) -> Option<Quantity> {
    match v {
        Value::String(s) => parse(s),
        Value::Number(n) => parse(&n.to_string()),
        _ => None,
    }
}

/// Parses upstream's quantity grammar: signed decimal number plus an optional
/// decimal SI suffix, binary SI suffix or decimal exponent.
pub(crate) fn parse(input: &str) -> Option<Quantity> {
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
        let q = value / div;
        value = if value % div == 0 { q } else { q + 1 };
    }
    if negative {
        value = -value;
    }
    Some(Quantity {
        nanos: value,
        format,
    })
}

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
        s if s.starts_with('e') || s.starts_with('E') => {
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
