//! `[?(…)]`: keeps the array elements for which a condition holds.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

use crate::ast::{CompareOp, Filter};
use crate::error::TemplateError;
use crate::eval::{Found, Options, eval_expr, type_name};

pub(crate) fn apply_filter<'a>(
    filter: &Filter,
    input: &Found<'a>,
    options: Options,
) -> Result<Found<'a>, TemplateError> {
    let mut kept = Vec::new();
    for item in input {
        let elements = match item {
            Cow::Borrowed(Value::Array(elements)) => elements,
            Cow::Borrowed(Value::Null) | Cow::Owned(Value::Null) => continue,
            other => {
                return Err(TemplateError::Execution(format!(
                    "{} is not array or slice and cannot be filtered",
                    type_name(other)
                )));
            }
        };
        for element in elements {
            if matches(filter, element, options)? {
                kept.push(Cow::Borrowed(element));
            }
        }
    }
    Ok(kept)
}

fn matches(filter: &Filter, element: &Value, options: Options) -> Result<bool, TemplateError> {
    match filter {
        // Existence must not fail just because the key is absent, whatever allow_missing says.
        Filter::Exists(expr) => Ok(eval_expr(expr, vec![Cow::Borrowed(element)], options)
            .is_ok_and(|found| !found.is_empty())),
        Filter::Compare { left, op, right } => {
            let Some(left) = single_operand(left, element, options)? else {
                return Ok(false);
            };
            let Some(right) = single_operand(right, element, options)? else {
                return Ok(false);
            };
            compare(*op, &left, &right)
        }
    }
}

/// An operand that yields nothing makes the comparison false; one yielding several values
/// is ambiguous, and kubectl refuses it.
fn single_operand<'a>(
    expr: &crate::ast::Expr,
    element: &'a Value,
    options: Options,
) -> Result<Option<Cow<'a, Value>>, TemplateError> {
    let mut found = eval_expr(expr, vec![Cow::Borrowed(element)], options)?;
    if found.len() > 1 {
        return Err(TemplateError::Execution(
            "can only compare one element at a time".to_string(),
        ));
    }
    Ok(found.pop())
}

/// Go template comparison rules as kubectl uses them: strings with strings, numbers with
/// numbers, booleans only for equality; anything else is an error rather than false.
pub(crate) fn compare(op: CompareOp, left: &Value, right: &Value) -> Result<bool, TemplateError> {
    let ordering = match (left, right) {
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
        (Value::Bool(a), Value::Bool(b)) => match op {
            CompareOp::Eq => return Ok(a == b),
            CompareOp::Ne => return Ok(a != b),
            _ => return Err(invalid_type()),
        },
        (Value::Null | Value::Array(_) | Value::Object(_), _)
        | (_, Value::Null | Value::Array(_) | Value::Object(_)) => return Err(invalid_type()),
        _ => {
            return Err(TemplateError::Execution(
                "incompatible types for comparison".to_string(),
            ));
        }
    };
    Ok(match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
    })
}

fn invalid_type() -> TemplateError {
    TemplateError::Execution("invalid type for comparison".to_string())
}

/// Exact for integers; falls back to floating point only when one side has a fraction.
/// (kubectl refuses to compare an integer with a float; accepting it is friendlier.)
pub(crate) fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    match (as_i128(a), as_i128(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => {
            let a = a.as_f64().unwrap_or(f64::NAN);
            let b = b.as_f64().unwrap_or(f64::NAN);
            a.total_cmp(&b)
        }
    }
}

pub(crate) fn as_i128(number: &Number) -> Option<i128> {
    number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
}
