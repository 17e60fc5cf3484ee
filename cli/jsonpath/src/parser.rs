//! Splits a template into literal text and `{…}` actions, and pairs `{range}` with `{end}`.

use crate::action::{Action, parse_action};
use crate::ast::{Expr, Segment};
use crate::cursor::Cursor;

/// Rendering recurses once per open range; real templates nest two or three deep, so this
/// only stops pathological input from exhausting the stack.
const MAX_RANGE_DEPTH: usize = 64;

pub(crate) fn parse_template(text: &str) -> Result<Vec<Segment>, String> {
    let mut cur = Cursor::new(text);
    let mut root = Vec::new();
    let mut open_ranges: Vec<(Expr, Vec<Segment>)> = Vec::new();

    loop {
        let rest = cur.rest();
        if rest.is_empty() {
            break;
        }
        let Some(brace) = rest.find('{') else {
            current_body(&mut root, &mut open_ranges).push(Segment::Text(rest.to_string()));
            break;
        };
        if brace > 0 {
            let literal = rest.get(..brace).unwrap_or_default().to_string();
            current_body(&mut root, &mut open_ranges).push(Segment::Text(literal));
        }
        cur.eat(rest.get(..=brace).unwrap_or_default());

        match parse_action(&mut cur)? {
            Action::Expr(expr) => {
                current_body(&mut root, &mut open_ranges).push(Segment::Expr(expr));
            }
            Action::Range(expr) => {
                if open_ranges.len() >= MAX_RANGE_DEPTH {
                    return Err(format!(
                        "range nested more than {MAX_RANGE_DEPTH} levels deep"
                    ));
                }
                open_ranges.push((expr, Vec::new()));
            }
            Action::End => {
                let Some((expr, body)) = open_ranges.pop() else {
                    return Err("not in range, nothing to end".to_string());
                };
                current_body(&mut root, &mut open_ranges).push(Segment::Range { expr, body });
            }
        }
    }

    // kubectl lets a trailing range run to the end of the template without `{end}`
    // (e.g. `{range .items[*]}{.metadata.name}{"\n"}`), so close open ranges here.
    while let Some((expr, body)) = open_ranges.pop() {
        current_body(&mut root, &mut open_ranges).push(Segment::Range { expr, body });
    }
    Ok(root)
}

fn current_body<'s>(
    root: &'s mut Vec<Segment>,
    open_ranges: &'s mut [(Expr, Vec<Segment>)],
) -> &'s mut Vec<Segment> {
    match open_ranges.last_mut() {
        Some((_, body)) => body,
        None => root,
    }
}
