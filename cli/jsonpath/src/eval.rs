//! Applies expressions to sets of JSON values.
//!
//! Values found in the document are borrowed; only literals from the template (quoted text,
//! numbers, booleans) are owned, and those are scalars, so navigation never has to look
//! inside an owned value.

use std::borrow::Cow;

use serde_json::Value;

use crate::ast::{Expr, Slice, Step};
use crate::error::TemplateError;
use crate::filter::apply_filter;

pub(crate) type Found<'a> = Vec<Cow<'a, Value>>;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) allow_missing: bool,
}

pub(crate) fn eval_expr<'a>(
    expr: &Expr,
    input: Found<'a>,
    options: Options,
) -> Result<Found<'a>, TemplateError> {
    let mut current = input;
    for step in &expr.steps {
        current = eval_step(step, current, options)?;
    }
    Ok(current)
}

fn eval_step<'a>(
    step: &Step,
    input: Found<'a>,
    options: Options,
) -> Result<Found<'a>, TemplateError> {
    match step {
        Step::Field(name) => field(name, input, options),
        Step::Wildcard => Ok(input
            .iter()
            .filter_map(borrowed)
            .flat_map(children)
            .map(Cow::Borrowed)
            .collect()),
        Step::AllElements => all_elements(input),
        Step::Slice(slice) => {
            let mut out = Vec::new();
            for item in &input {
                out.extend(apply_slice(slice, item)?);
            }
            Ok(out)
        }
        Step::Union(alternatives) => {
            let mut out = Vec::new();
            for alternative in alternatives {
                out.extend(eval_expr(alternative, input.clone(), options)?);
            }
            Ok(out)
        }
        Step::Recursive => Ok(descendants(&input)),
        Step::Filter(filter) => apply_filter(filter, &input, options),
        // A quoted string stands for itself once, however many values came before it.
        Step::Text(text) => Ok(vec![Cow::Owned(Value::String(text.clone()))]),
        Step::Number(number) => Ok(input
            .iter()
            .map(|_| Cow::Owned(Value::Number(number.clone())))
            .collect()),
        Step::Bool(value) => Ok(input
            .iter()
            .map(|_| Cow::Owned(Value::Bool(*value)))
            .collect()),
    }
}

fn borrowed<'a>(item: &Cow<'a, Value>) -> Option<&'a Value> {
    match item {
        Cow::Borrowed(value) => Some(value),
        Cow::Owned(_) => None,
    }
}

fn children(value: &Value) -> Vec<&Value> {
    match value {
        Value::Object(map) => map.values().collect(),
        Value::Array(items) => items.iter().collect(),
        _ => Vec::new(),
    }
}

/// The JSON type name used in messages, standing in for kubectl's Go type names.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn field<'a>(name: &str, input: Found<'a>, options: Options) -> Result<Found<'a>, TemplateError> {
    // Nothing in, nothing out, and no complaint: `.items[*].x` on an empty list is fine
    // even when missing keys are errors.
    if input.is_empty() {
        return Ok(input);
    }
    let found: Found<'a> = input
        .iter()
        .filter_map(borrowed)
        .filter_map(|value| value.as_object()?.get(name))
        .map(Cow::Borrowed)
        .collect();
    if found.is_empty() && !options.allow_missing {
        return Err(TemplateError::KeyNotFound {
            key: name.to_string(),
        });
    }
    Ok(found)
}

fn all_elements(input: Found<'_>) -> Result<Found<'_>, TemplateError> {
    let mut out = Vec::new();
    for item in &input {
        match item.as_ref() {
            Value::Null => {}
            Value::Array(_) | Value::Object(_) => {
                out.extend(
                    borrowed(item)
                        .into_iter()
                        .flat_map(children)
                        .map(Cow::Borrowed),
                );
            }
            other => return Err(not_an_array(other)),
        }
    }
    Ok(out)
}

fn not_an_array(value: &Value) -> TemplateError {
    TemplateError::Execution(format!("{} is not array or slice", type_name(value)))
}

/// kubectl's bounds rules: negative positions count from the end without wrapping, a
/// position outside the array is an error rather than nothing, and an empty range is fine.
fn apply_slice<'a>(slice: &Slice, item: &Cow<'a, Value>) -> Result<Found<'a>, TemplateError> {
    match item.as_ref() {
        Value::Null => return Ok(Vec::new()),
        Value::Array(_) => {}
        other => return Err(not_an_array(other)),
    }
    // Owned values are scalar literals, so an array here is always borrowed.
    let Some(items) = borrowed(item).and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    // i128 so that extreme indexes like `[9223372036854775807]` cannot overflow.
    let len = i128::try_from(items.len()).unwrap_or(i128::MAX);
    let mut start = slice.start.map_or(0, i128::from);
    if start < 0 {
        start += len;
    }
    let mut end = match (slice.single_index, slice.end) {
        (true, _) => slice.start.map_or(0, i128::from) + 1,
        (false, Some(end)) => i128::from(end),
        (false, None) => len,
    };
    if end < 0 || (end == 0 && slice.single_index) {
        end += len;
    }
    if start == end {
        return Ok(Vec::new());
    }
    if start < 0 || start >= len {
        return Err(out_of_bounds(start, len));
    }
    if end < 0 || end > len {
        return Err(out_of_bounds(end - 1, len));
    }
    if start > end {
        return Err(TemplateError::Execution(format!(
            "starting index {start} is greater than ending index {end}"
        )));
    }
    let step = match slice.step {
        None => 1,
        Some(step) if step > 0 => step,
        Some(_) => return Err(TemplateError::Execution("step must be > 0".to_string())),
    };
    let (Ok(start), Ok(end), Ok(step)) = (
        usize::try_from(start),
        usize::try_from(end),
        usize::try_from(step),
    ) else {
        return Ok(Vec::new());
    };
    Ok(items
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .step_by(step)
        .map(Cow::Borrowed)
        .collect())
}

fn out_of_bounds(index: i128, len: i128) -> TemplateError {
    TemplateError::Execution(format!(
        "array index out of bounds: index {index}, length {len}"
    ))
}

/// Every non-empty object or array at or below each input, parent before children.
/// Iterative so that deeply nested documents cannot exhaust the stack.
fn descendants<'a>(input: &Found<'a>) -> Found<'a> {
    let mut out = Vec::new();
    for root in input.iter().filter_map(borrowed) {
        let mut stack = vec![root];
        while let Some(value) = stack.pop() {
            let kids = children(value);
            if kids.is_empty() {
                continue;
            }
            out.push(Cow::Borrowed(value));
            stack.extend(kids.into_iter().rev());
        }
    }
    out
}
