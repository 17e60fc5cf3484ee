//! Walks parsed segments against a document, producing text or raw values.

use std::borrow::Cow;

use serde_json::Value;

use crate::ast::Segment;
use crate::error::TemplateError;
use crate::eval::{Options, eval_expr};

pub(crate) fn render_segments(
    segments: &[Segment],
    current: &Value,
    options: Options,
    out: &mut String,
) -> Result<(), TemplateError> {
    for segment in segments {
        match segment {
            Segment::Text(text) => out.push_str(text),
            Segment::Expr(expr) => {
                let found = eval_expr(expr, vec![Cow::Borrowed(current)], options)?;
                for (i, value) in found.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    write_value(value, out)?;
                }
            }
            Segment::Range { expr, body } => {
                for item in eval_expr(expr, vec![Cow::Borrowed(current)], options)? {
                    render_segments(body, &item, options, out)?;
                }
            }
        }
    }
    Ok(())
}

/// Same walk as [`render_segments`], but keeps the values (literal text included, as
/// kubectl does) instead of printing them.
pub(crate) fn collect_values<'a>(
    segments: &[Segment],
    current: &'a Value,
    options: Options,
) -> Result<Vec<Cow<'a, Value>>, TemplateError> {
    let mut out = Vec::new();
    for segment in segments {
        match segment {
            Segment::Text(text) => out.push(Cow::Owned(Value::String(text.clone()))),
            Segment::Expr(expr) => {
                out.extend(eval_expr(expr, vec![Cow::Borrowed(current)], options)?)
            }
            Segment::Range { expr, body } => {
                for item in eval_expr(expr, vec![Cow::Borrowed(current)], options)? {
                    match item {
                        Cow::Borrowed(value) => out.extend(collect_values(body, value, options)?),
                        // A literal cannot be navigated into, so its body only yields text
                        // and literals; own them so they outlive the loop.
                        Cow::Owned(value) => out.extend(
                            collect_values(body, &value, options)?
                                .into_iter()
                                .map(|found| Cow::Owned(found.into_owned())),
                        ),
                    }
                }
            }
        }
    }
    Ok(out)
}

/// kubectl prints strings raw, scalars as text and objects/arrays as compact JSON.
pub(crate) fn write_value(value: &Value, out: &mut String) -> Result<(), TemplateError> {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::Array(_) | Value::Object(_) => {
            let json = serde_json::to_string(value)
                .map_err(|err| TemplateError::Execution(format!("cannot print value: {err}")))?;
            out.push_str(&json);
        }
    }
    Ok(())
}
