//! Resource quantities as kubectl prints them: sums and maxima of resource lists, shown in the
//! canonical form `resource.Quantity.String()` produces ("1" for "1000m", "1536Mi" for "1.5Gi").
//!
//! Parsing is `capstan_api_types::quantity`'s; values are kept in thousandths, the precision
//! kubectl's `MilliValue` works at, which is exact for every quantity Kubernetes accepts above
//! one milli-unit.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use capstan_api_types::quantity;
use serde_json::{Map, Value};

/// How a quantity is written back out; a sum keeps the format of its first non-zero term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Format {
    /// Powers of 1000 ("m", "k", "M", ...).
    #[default]
    DecimalSi,
    /// Powers of 1024 ("Ki", "Mi", ...).
    BinarySi,
    /// Scientific notation ("1e3").
    DecimalExponent,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Quantity {
    milli: i128,
    format: Format,
}

impl Quantity {
    /// A quantity from its JSON form (a string, or a bare number as lenient clients send).
    pub(crate) fn parse(v: &Value) -> Option<Self> {
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let milli = quantity::milli(&text)?;
        Some(Self {
            milli: i128::from(milli),
            format: format_of(&text),
        })
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.milli == 0
    }

    /// The value in thousandths, rounded up like `Quantity.MilliValue`.
    pub(crate) fn milli_value(&self) -> i128 {
        self.milli
    }

    /// The value in whole units, rounded up like `Quantity.Value`.
    pub(crate) fn value(&self) -> i128 {
        self.milli.div_euclid(1000) + i128::from(self.milli.rem_euclid(1000) != 0)
    }

    pub(crate) fn add(&mut self, other: &Quantity) {
        if self.milli == 0 {
            self.format = other.format;
        }
        self.milli += other.milli;
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.milli == other.milli
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.milli.cmp(&other.milli))
    }
}

fn format_of(text: &str) -> Format {
    let suffix =
        text.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | '+' | '-'));
    if suffix.ends_with('i') {
        Format::BinarySi
    } else if suffix.len() > 1 && suffix.starts_with(['e', 'E']) {
        Format::DecimalExponent
    } else {
        Format::DecimalSi
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.milli == 0 {
            return f.write_str("0");
        }
        let mut format = self.format;
        // Small or fractional values would lose information in powers of 1024.
        if format == Format::BinarySi && (self.milli.abs() < 1_024_000 || self.milli % 1000 != 0) {
            format = Format::DecimalSi;
        }
        if format == Format::BinarySi {
            const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
            let mut units = self.milli / 1000;
            let mut exp = 0;
            while exp + 1 < SUFFIXES.len() && units % 1024 == 0 {
                units /= 1024;
                exp += 1;
            }
            return write!(f, "{units}{}", SUFFIXES[exp]);
        }
        // The mantissa is the smallest integer left once the exponent is a multiple of three.
        let mut mantissa = self.milli;
        let mut exp: i32 = -3;
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
        let suffix = match (format, exp) {
            (_, 0) => String::new(),
            (Format::DecimalSi, -3) => "m".into(),
            (Format::DecimalSi, 3) => "k".into(),
            (Format::DecimalSi, 6) => "M".into(),
            (Format::DecimalSi, 9) => "G".into(),
            (Format::DecimalSi, 12) => "T".into(),
            (Format::DecimalSi, 15) => "P".into(),
            (Format::DecimalSi, 18) => "E".into(),
            (_, e) => format!("e{e}"),
        };
        write!(f, "{mantissa}{suffix}")
    }
}

/// A resource list (`{"cpu": "100m", "memory": "64Mi"}`), ordered by resource name as kubectl
/// sorts it for printing.
pub(crate) type ResourceList = BTreeMap<String, Quantity>;

/// The parseable entries of the resource list object at `v`.
pub(crate) fn resource_list(v: Option<&Map<String, Value>>) -> ResourceList {
    v.into_iter()
        .flatten()
        .filter_map(|(name, q)| Some((name.clone(), Quantity::parse(q)?)))
        .collect()
}

/// Adds every entry of `other` into `list`.
pub(crate) fn add_into(list: &mut ResourceList, other: &ResourceList) {
    for (name, q) in other {
        list.entry(name.clone()).or_default().add(q);
    }
}

/// Raises every entry of `list` to at least `other`'s value for that resource.
pub(crate) fn max_into(list: &mut ResourceList, other: &ResourceList) {
    for (name, q) in other {
        match list.get_mut(name) {
            Some(current) if *q > *current => *current = *q,
            Some(_) => {}
            None => {
                list.insert(name.clone(), *q);
            }
        }
    }
}

/// The quantity for `name`, or zero (which prints "0").
pub(crate) fn get(list: &ResourceList, name: &str) -> Quantity {
    list.get(name).copied().unwrap_or_default()
}

/// A resource value as printed wherever kubectl shows one quantity: canonical when it parses,
/// verbatim otherwise so nothing the user wrote disappears.
pub(crate) fn display(v: &Value) -> String {
    match Quantity::parse(v) {
        Some(q) => q.to_string(),
        None => crate::json::go_value(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(s: &str) -> String {
        display(&json!(s))
    }

    #[test]
    fn canonical_forms_match_resource_quantity_string() {
        for (input, want) in [
            ("0", "0"),
            ("0Mi", "0"),
            ("100m", "100m"),
            ("1000m", "1"),
            ("1500m", "1500m"),
            ("0.5", "500m"),
            ("2", "2"),
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
            ("10Gi", "10Gi"),
            ("110", "110"),
            ("16393600Ki", "16393600Ki"),
        ] {
            assert_eq!(canon(input), want, "{input}");
        }
        assert_eq!(display(&json!(2)), "2");
        assert_eq!(display(&json!("lots")), "lots");
    }

    #[test]
    fn sums_keep_the_first_non_zero_format() {
        let mut total = Quantity::default();
        for s in ["128Mi", "64Mi", "1000"] {
            total.add(&Quantity::parse(&json!(s)).unwrap_or_default());
        }
        assert_eq!(total.to_string(), "201327592");
        let mut cpu = Quantity::default();
        cpu.add(&Quantity::parse(&json!("250m")).unwrap_or_default());
        cpu.add(&Quantity::parse(&json!("750m")).unwrap_or_default());
        assert_eq!(cpu.to_string(), "1");
        assert_eq!(cpu.value(), 1);
        assert_eq!(Quantity::parse(&json!("1m")).map(|q| q.value()), Some(1));
    }
}
