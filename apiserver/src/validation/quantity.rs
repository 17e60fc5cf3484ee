//! Resource quantities ("500m", "1.5Gi", "1e3") as validation sees them: parsed exactly,
//! compared, and printed in upstream's canonical form so error messages and stored objects show
//! e.g. "1" for "1000m". The type and its rules are `capstan_api_types::quantity`'s; this adds
//! the message upstream gives for text that is not a quantity.

use serde_json::Value;

pub(crate) use capstan_api_types::quantity::Quantity;

/// The regex upstream quotes when a quantity fails to parse.
pub(crate) const QUANTITY_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// Parses a quantity from a JSON string or number.
pub(crate) fn from_json(v: &Value) -> Option<Quantity> {
    Quantity::from_json(v)
}

/// Parses upstream's quantity grammar: signed decimal number plus an optional
/// decimal SI suffix, binary SI suffix or decimal exponent.
pub(crate) fn parse(input: &str) -> Option<Quantity> {
    Quantity::parse(input)
}
