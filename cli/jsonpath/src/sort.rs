//! `--sort-by=<jsonpath>`: orders items by one value found in each.

use std::cmp::Ordering;

use capstan_api_types::quantity::Quantity;
use serde_json::Value;

use crate::Template;
use crate::error::TemplateError;
use crate::filter::as_i128;
use crate::relaxed::relaxed_expression;

/// A sort key; all present keys of one sort share a variant, which keeps the order total.
#[derive(Debug)]
enum Key {
    Missing,
    Integer(i128),
    Float(f64),
    Quantity(Quantity),
    Text(String),
}

/// Sorts `items` by the value at `expr` (`.metadata.name`, `{.metadata.name}`,
/// `metadata.name`…), the way kubectl's `--sort-by` does:
/// numbers numerically, strings lexically (timestamps included), except that when every
/// value is a resource quantity (`100m`, `2Gi`, `10`) they are compared as quantities.
/// Items where the path matches nothing (or null) come first; ties keep their order.
///
/// Errors if no item has the field, if the path matches several values in one item, or if
/// the values cannot be ordered together (numbers mixed with strings, booleans, objects).
pub fn sort_by(items: &mut Vec<Value>, expr: &str) -> Result<(), TemplateError> {
    // Validate before the empty-list shortcut so a typo is reported whatever the list holds.
    let expression =
        relaxed_expression(expr).map_err(|err| TemplateError::Sort(err.to_string()))?;
    let template = Template::parse(&expression)?;
    if items.is_empty() {
        return Ok(());
    }

    let mut found = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let mut values = template.values(item, true)?;
        if values.len() > 1 {
            return Err(TemplateError::Sort(format!(
                "sort-by expression {expression} matched {} values in item {index}; it must match at most one",
                values.len()
            )));
        }
        found.push(
            values
                .pop()
                .map(|value| value.into_owned())
                .filter(|v| !v.is_null()),
        );
    }
    if found.iter().all(Option::is_none) {
        return Err(TemplateError::Sort(format!(
            "couldn't find any field with path \"{expression}\" in the list of objects"
        )));
    }

    let keys = make_keys(found, &expression)?;
    let mut keyed: Vec<(Key, Value)> = keys.into_iter().zip(std::mem::take(items)).collect();
    keyed.sort_by(|(a, _), (b, _)| compare_keys(a, b));
    items.extend(keyed.into_iter().map(|(_, item)| item));
    Ok(())
}

fn make_keys(found: Vec<Option<Value>>, expression: &str) -> Result<Vec<Key>, TemplateError> {
    let mut has_numbers = false;
    let mut has_strings = false;
    for value in found.iter().flatten() {
        match value {
            Value::Number(_) => has_numbers = true,
            Value::String(_) => has_strings = true,
            other => {
                return Err(TemplateError::Sort(format!(
                    "cannot sort by {expression}: {} values are not sortable",
                    crate::eval::type_name(other)
                )));
            }
        }
    }
    if has_numbers && has_strings {
        return Err(TemplateError::Sort(format!(
            "cannot sort by {expression}: it matches both numbers and strings"
        )));
    }

    let all_integers = found
        .iter()
        .flatten()
        .all(|v| v.as_number().and_then(as_i128).is_some());
    let all_quantities = found
        .iter()
        .flatten()
        .all(|v| v.as_str().and_then(Quantity::parse).is_some());

    Ok(found
        .into_iter()
        .map(|value| match value {
            None => Key::Missing,
            Some(Value::Number(n)) if all_integers => {
                as_i128(&n).map_or(Key::Missing, Key::Integer)
            }
            Some(Value::Number(n)) => Key::Float(n.as_f64().unwrap_or(0.0)),
            Some(Value::String(s)) if all_quantities => {
                Quantity::parse(&s).map_or(Key::Missing, Key::Quantity)
            }
            Some(Value::String(s)) => Key::Text(s),
            Some(_) => Key::Missing,
        })
        .collect())
}

fn compare_keys(a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Missing, Key::Missing) => Ordering::Equal,
        (Key::Missing, _) => Ordering::Less,
        (_, Key::Missing) => Ordering::Greater,
        (Key::Integer(a), Key::Integer(b)) => a.cmp(b),
        (Key::Float(a), Key::Float(b)) => a.total_cmp(b),
        (Key::Quantity(a), Key::Quantity(b)) => a.cmp(b),
        (Key::Text(a), Key::Text(b)) => a.cmp(b),
        // make_keys gives every present key the same variant.
        _ => Ordering::Equal,
    }
}
