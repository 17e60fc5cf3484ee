//! The parsed form of a template.

use serde_json::Number;

/// One piece of a template, in output order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// Literal text outside any `{…}`.
    Text(String),
    /// An action `{…}` whose results are printed joined by spaces.
    Expr(Expr),
    /// `{range expr}body{end}`: the body is rendered once per result, with that result as
    /// the current object.
    Range { expr: Expr, body: Vec<Segment> },
}

/// A chain of steps applied left to right to a set of values.
/// An empty chain yields its input unchanged (`{@}`, `{.}`, `{$}`).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Expr {
    pub(crate) steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// `.name` or `['name']`: the member of each object.
    Field(String),
    /// `.*`: members of objects and elements of arrays.
    Wildcard,
    /// `[*]`: elements of arrays (and members of objects).
    AllElements,
    /// `[i]`, `[start:end:step]`.
    Slice(Slice),
    /// `[a,b]`: each alternative applied to the whole input, results concatenated.
    Union(Vec<Expr>),
    /// `..`: every non-empty object and array at or below each input, pre-order.
    Recursive,
    /// `[?(…)]`.
    Filter(Box<Filter>),
    /// A quoted string: replaces the whole input by this one value.
    Text(String),
    /// A number literal: one copy per input value.
    Number(Number),
    /// `true` / `false`: one copy per input value.
    Bool(bool),
}

/// `[start:end:step]` as written; bounds are resolved against each array's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slice {
    pub(crate) start: Option<i64>,
    pub(crate) end: Option<i64>,
    /// True for a plain index `[i]`, whose end is `i + 1` (and `end` is None): an end of 0
    /// then means "up to the end of the array", so that `[-1]` is the last element.
    pub(crate) single_index: bool,
    pub(crate) step: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    /// `[?(@.x)]`: keeps elements where the expression yields anything.
    Exists(Expr),
    Compare {
        left: Expr,
        op: CompareOp,
        right: Expr,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}
