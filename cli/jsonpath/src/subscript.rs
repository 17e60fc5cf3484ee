//! `[…]` after a path: indexes, slices, `*`, quoted keys and unions of those.
//! Filters `[?(…)]` are recognised before getting here.

use crate::ast::{Expr, Slice, Step};
use crate::cursor::Cursor;
use crate::quote::split_commas;

/// Parses a subscript; the cursor is just past `[`. A quoted key may expand to several
/// steps, because kubectl reads `['metadata.name']` as `.metadata.name`.
pub(crate) fn parse_subscript(cur: &mut Cursor) -> Result<Vec<Step>, String> {
    let content = cur
        .until_unquoted(']')
        .ok_or_else(|| "unterminated array".to_string())?
        .trim();
    let members = split_commas(content, false);
    if members.len() > 1 {
        let alternatives = members
            .into_iter()
            .map(|member| parse_member(member.trim()).map(|steps| Expr { steps }))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(vec![Step::Union(alternatives)]);
    }
    parse_member(content)
}

fn parse_member(text: &str) -> Result<Vec<Step>, String> {
    if text.is_empty() {
        return Err("empty array subscript []".to_string());
    }
    if text == "*" {
        return Ok(vec![Step::AllElements]);
    }
    if let Some(key) = quoted_key(text) {
        return Ok(key_path(key));
    }
    Ok(vec![Step::Slice(parse_slice(text)?)])
}

/// The inside of `'key'` or `"key"`, if `text` is exactly one quoted string.
fn quoted_key(text: &str) -> Option<&str> {
    let quote = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut escaped = false;
    for c in inner.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return None;
        }
    }
    Some(inner)
}

/// `a.b` → fields `a`, `b`; `a\.b` → the single field `a.b`.
fn key_path(key: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut name = String::new();
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => name.extend(chars.next()),
            '.' => steps.push(Step::Field(std::mem::take(&mut name))),
            _ => name.push(c),
        }
    }
    steps.push(Step::Field(name));
    steps
}

fn parse_slice(text: &str) -> Result<Slice, String> {
    let parts: Vec<&str> = text.split(':').map(str::trim).collect();
    if parts.len() > 3 {
        return Err(format!("invalid array index {text}"));
    }
    let mut numbers = [None; 3];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        let digits = part.strip_prefix('-').unwrap_or(part);
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("invalid array index {text}"));
        }
        if !part.is_empty() {
            let value = part
                .parse::<i64>()
                .map_err(|_| format!("array index {part} is not a number"))?;
            *slot = Some(value);
        }
    }
    let [start, end, step] = numbers;
    if parts.len() == 1 {
        let index = start.ok_or_else(|| format!("invalid array index {text}"))?;
        return Ok(Slice {
            start: Some(index),
            end: None,
            single_index: true,
            step: None,
        });
    }
    Ok(Slice {
        start,
        end,
        single_index: false,
        step,
    })
}
