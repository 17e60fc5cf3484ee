//! The expression language inside one `{…}` action, and inside filter operands.

use serde_json::Number;

use crate::ast::{CompareOp, Expr, Filter, Step};
use crate::cursor::Cursor;
use crate::quote::parse_quoted;
use crate::subscript::parse_subscript;

/// Filters can only nest through quoted text, so this is never reached by real templates;
/// it bounds recursion on hostile input.
const MAX_FILTER_DEPTH: usize = 8;

/// What one `{…}` turned out to be.
#[derive(Debug)]
pub(crate) enum Action {
    Expr(Expr),
    Range(Expr),
    End,
}

/// Where a run of nodes stops.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// At the `}` closing a template action (which is consumed).
    CloseBrace,
    /// At the end of the text: filter operands were already cut out of the template.
    EndOfText,
}

enum Node {
    Step(Step),
    Identifier(String),
}

/// Parses the inside of an action; the cursor is just past its `{`.
pub(crate) fn parse_action(cur: &mut Cursor) -> Result<Action, String> {
    let mut nodes = parse_nodes(cur, Until::CloseBrace, 0)?.into_iter();
    let first = nodes.next();
    match first {
        Some(Node::Identifier(name)) if name == "range" => Ok(Action::Range(steps_only(nodes)?)),
        Some(Node::Identifier(name)) if name == "end" => match nodes.next() {
            None => Ok(Action::End),
            Some(_) => Err("end must stand alone in its action: {end}".to_string()),
        },
        other => Ok(Action::Expr(steps_only(other.into_iter().chain(nodes))?)),
    }
}

/// Parses a filter operand such as `@.status.phase` or `"Running"`.
pub(crate) fn parse_operand(text: &str, depth: usize) -> Result<Expr, String> {
    let mut cur = Cursor::new(text);
    steps_only(parse_nodes(&mut cur, Until::EndOfText, depth)?.into_iter())
}

fn steps_only(nodes: impl Iterator<Item = Node>) -> Result<Expr, String> {
    let mut steps = Vec::new();
    for node in nodes {
        match node {
            Node::Step(step) => steps.push(step),
            Node::Identifier(name) if name == "range" => {
                return Err("range is only allowed at the start of an action".to_string());
            }
            Node::Identifier(name) if name == "end" => {
                return Err("end must stand alone in its action: {end}".to_string());
            }
            Node::Identifier(name) => return Err(format!("unrecognized identifier {name}")),
        }
    }
    Ok(Expr { steps })
}

fn parse_nodes(cur: &mut Cursor, until: Until, depth: usize) -> Result<Vec<Node>, String> {
    if depth > MAX_FILTER_DEPTH {
        return Err("filters nested too deeply".to_string());
    }
    let mut nodes = Vec::new();
    loop {
        if cur.rest().starts_with('}') {
            if until == Until::CloseBrace {
                cur.bump();
                return Ok(nodes);
            }
            return Err("unexpected } in filter".to_string());
        }
        if cur.eat("[?(") {
            let filter = parse_filter(cur, depth)?;
            nodes.push(Node::Step(Step::Filter(Box::new(filter))));
            continue;
        }
        if cur.rest().starts_with("..") {
            if matches!(nodes.last(), Some(Node::Step(Step::Recursive))) {
                return Err("invalid multiple recursive descent".to_string());
            }
            cur.eat("..");
            nodes.push(Node::Step(Step::Recursive));
            if cur.peek().is_some_and(is_word_char) {
                nodes.extend(parse_field(cur).map(Node::Step));
            }
            continue;
        }
        let Some(c) = cur.peek() else {
            return match until {
                Until::CloseBrace => Err("unclosed action".to_string()),
                Until::EndOfText => Ok(nodes),
            };
        };
        match c {
            // kubectl keeps each action on one line; a newline means the `}` was forgotten.
            '\r' | '\n' => return Err("unclosed action".to_string()),
            ' ' | '\t' | '@' | '$' => {
                cur.bump();
            }
            '[' => {
                cur.bump();
                nodes.extend(parse_subscript(cur)?.into_iter().map(Node::Step));
            }
            '"' | '\'' => {
                cur.bump();
                nodes.push(Node::Step(Step::Text(parse_quoted(cur, c)?)));
            }
            '.' => {
                cur.bump();
                nodes.extend(parse_field(cur).map(Node::Step));
            }
            '+' | '-' => nodes.push(Node::Step(parse_number(cur)?)),
            c if c.is_ascii_digit() => nodes.push(Node::Step(parse_number(cur)?)),
            c if is_word_char(c) => nodes.push(parse_identifier(cur)),
            other => {
                return Err(format!(
                    "unrecognized character in action: {}",
                    describe(other)
                ));
            }
        }
    }
}

/// Characters that end a field name or identifier.
pub(crate) fn is_terminator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'
    )
}

fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Go's `%#U` rendering, which kubectl uses in this message.
fn describe(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("U+{:04X} '{c}'", u32::from(c))
    }
}

/// Reads a field name after `.`; a backslash makes the next character part of the name,
/// which is how keys like `kubernetes\.io/hostname` are written.
/// Returns None for an empty name, which (as in `{.}`) means the current object.
fn parse_field(cur: &mut Cursor) -> Option<Step> {
    let start = cur.pos();
    let mut name = String::new();
    while let Some(c) = cur.peek() {
        if c == '\\' {
            cur.bump();
            name.extend(cur.bump());
        } else if is_terminator(c) {
            break;
        } else {
            cur.bump();
            name.push(c);
        }
    }
    match cur.since(start) {
        "" => None,
        "*" => Some(Step::Wildcard),
        _ => Some(Step::Field(name)),
    }
}

fn parse_identifier(cur: &mut Cursor) -> Node {
    let start = cur.pos();
    while cur.peek().is_some_and(|c| !is_terminator(c)) {
        cur.bump();
    }
    match cur.since(start) {
        "true" => Node::Step(Step::Bool(true)),
        "false" => Node::Step(Step::Bool(false)),
        word => Node::Identifier(word.to_string()),
    }
}

fn parse_number(cur: &mut Cursor) -> Result<Step, String> {
    let start = cur.pos();
    if matches!(cur.peek(), Some('+' | '-')) {
        cur.bump();
    }
    while cur.peek().is_some_and(|c| c == '.' || c.is_ascii_digit()) {
        cur.bump();
    }
    let text = cur.since(start);
    if let Ok(int) = text.parse::<i64>() {
        return Ok(Step::Number(Number::from(int)));
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Step::Number)
        .ok_or_else(|| format!("cannot parse number {text}"))
}

/// Parses `[?(…)]`; the cursor is just past `[?(`.
fn parse_filter(cur: &mut Cursor, depth: usize) -> Result<Filter, String> {
    let inner = cur
        .until_unquoted(')')
        .ok_or_else(|| "unterminated filter".to_string())?;
    if !cur.eat("]") {
        return Err("unclosed array expect ]".to_string());
    }
    parse_condition(inner, depth)
}

fn parse_condition(text: &str, depth: usize) -> Result<Filter, String> {
    if let Some((left, op, right)) = split_comparison(text) {
        let op = match op {
            "==" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            "<" => CompareOp::Lt,
            "<=" => CompareOp::Le,
            ">" => CompareOp::Gt,
            ">=" => CompareOp::Ge,
            other => return Err(format!("unrecognized filter operator {other}")),
        };
        return Ok(Filter::Compare {
            left: parse_operand(left, depth + 1)?,
            op,
            right: parse_operand(right, depth + 1)?,
        });
    }
    Ok(Filter::Exists(parse_operand(text, depth + 1)?))
}

/// Finds the first run of operator characters outside quotes. Like kubectl, a condition
/// with nothing on one side of the operator is not a comparison at all.
fn split_comparison(text: &str) -> Option<(&str, &str, &str)> {
    let is_op = |c: char| matches!(c, '!' | '<' | '>' | '=');
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut op_start = None;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quote.is_some() {
            if c == '\\' {
                escaped = true;
            } else if Some(c) == quote {
                quote = None;
            }
        } else if c == '"' || c == '\'' {
            quote = Some(c);
        } else if is_op(c) {
            op_start = Some(i);
            break;
        }
    }
    let op_start = op_start?;
    let left = text.get(..op_start)?;
    let after = text.get(op_start..)?;
    let op_len = after.find(|c: char| !is_op(c)).unwrap_or(after.len());
    let (op, right) = after.split_at_checked(op_len)?;
    if left.trim().is_empty() || right.is_empty() {
        return None;
    }
    Some((left, op, right))
}
