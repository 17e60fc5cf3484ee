//! Field-level validation errors modelled on apimachinery's `field.Error`.
//!
//! Each error carries a cause type, the offending field path, the rendered
//! bad value and a detail string. `FieldError::body` reproduces upstream's
//! `ErrorBody` so the text clients see matches a real kube-apiserver.

use serde_json::Value;

use super::gofmt;

/// The error categories upstream reports as `StatusCause.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
}

impl ErrorKind {
    /// The machine-readable cause type.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "FieldValueNotFound",
            ErrorKind::Required => "FieldValueRequired",
            ErrorKind::Duplicate => "FieldValueDuplicate",
            ErrorKind::Invalid => "FieldValueInvalid",
            ErrorKind::NotSupported => "FieldValueNotSupported",
            ErrorKind::Forbidden => "FieldValueForbidden",
            ErrorKind::TooLong => "FieldValueTooLong",
            ErrorKind::TooMany => "FieldValueTooMany",
        }
    }

    fn label(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "Not found",
            ErrorKind::Required => "Required value",
            ErrorKind::Duplicate => "Duplicate value",
            ErrorKind::Invalid => "Invalid value",
            ErrorKind::NotSupported => "Unsupported value",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::TooLong => "Too long",
            ErrorKind::TooMany => "Too many",
        }
    }
}

/// A bad value as Go's `fmt` would print it inside an error body.
#[derive(Clone, Debug)]
pub(crate) enum Bad {
    Str(String),
    Int(i64),
    Bool(bool),
    /// Already rendered (Go `%#v` style structs, maps, slices).
    Raw(String),
    /// A nil pointer: upstream substitutes the string "null", which is then quoted.
    Null,
}

impl Bad {
    fn render(&self) -> String {
        match self {
            Bad::Str(s) => gofmt::quote(s),
            Bad::Int(i) => i.to_string(),
            Bad::Bool(b) => b.to_string(),
            Bad::Raw(r) => r.clone(),
            Bad::Null => gofmt::quote("null"),
        }
    }
}

impl From<&str> for Bad {
    fn from(s: &str) -> Self {
        Bad::Str(s.to_string())
    }
}

impl From<String> for Bad {
    fn from(s: String) -> Self {
        Bad::Str(s)
    }
}

impl From<&String> for Bad {
    fn from(s: &String) -> Self {
        Bad::Str(s.clone())
    }
}

impl From<i64> for Bad {
    fn from(i: i64) -> Self {
        Bad::Int(i)
    }
}

impl From<bool> for Bad {
    fn from(b: bool) -> Self {
        Bad::Bool(b)
    }
}

impl From<&Value> for Bad {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => Bad::Null,
            Value::Bool(b) => Bad::Bool(*b),
            Value::String(s) => Bad::Str(s.clone()),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Bad::Int(i),
                None => Bad::Raw(n.to_string()),
            },
            other => Bad::Raw(gofmt::json(other)),
        }
    }
}

impl From<Option<&Value>> for Bad {
    fn from(v: Option<&Value>) -> Self {
        v.map_or(Bad::Null, Bad::from)
    }
}

/// One validation failure.
#[derive(Clone, Debug)]
pub(crate) struct FieldError {
    pub(crate) kind: ErrorKind,
    pub(crate) field: String,
    value: Bad,
    detail: String,
}

impl FieldError {
    /// The message without the field path, as upstream's `ErrorBody`.
    pub(crate) fn body(&self) -> String {
        let mut s = match self.kind {
            // These kinds never echo the value back, mostly to avoid huge payloads.
            ErrorKind::Required | ErrorKind::Forbidden | ErrorKind::TooLong => {
                self.kind.label().to_string()
            }
            _ => format!("{}: {}", self.kind.label(), self.value.render()),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

/// Accumulated errors for one object.
pub(crate) type Errs = Vec<FieldError>;

fn make(kind: ErrorKind, field: impl Into<String>, value: Bad, detail: String) -> FieldError {
    FieldError {
        kind,
        field: field.into(),
        value,
        detail,
    }
}

pub(crate) fn required(field: impl Into<String>, detail: &str) -> FieldError {
    make(
        ErrorKind::Required,
        field,
        Bad::Str(String::new()),
        detail.to_string(),
    )
}

pub(crate) fn invalid(
    field: impl Into<String>,
    value: impl Into<Bad>,
    detail: impl Into<String>,
) -> FieldError {
    make(ErrorKind::Invalid, field, value.into(), detail.into())
}

pub(crate) fn not_supported(
    field: impl Into<String>,
    value: impl Into<Bad>,
    valid: &[&str],
) -> FieldError {
    let detail = if valid.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = valid.iter().map(|v| gofmt::quote(v)).collect();
        format!("supported values: {}", quoted.join(", "))
    };
    make(ErrorKind::NotSupported, field, value.into(), detail)
}

pub(crate) fn duplicate(field: impl Into<String>, value: impl Into<Bad>) -> FieldError {
    make(ErrorKind::Duplicate, field, value.into(), String::new())
}

/// A duplicate with an explanation, which upstream builds by hand in a few places.
pub(crate) fn duplicate_detail(
    field: impl Into<String>,
    value: impl Into<Bad>,
    detail: &str,
) -> FieldError {
    make(
        ErrorKind::Duplicate,
        field,
        value.into(),
        detail.to_string(),
    )
}

pub(crate) fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> FieldError {
    make(
        ErrorKind::Forbidden,
        field,
        Bad::Str(String::new()),
        detail.into(),
    )
}

pub(crate) fn too_long(field: impl Into<String>, max: usize) -> FieldError {
    make(
        ErrorKind::TooLong,
        field,
        Bad::Str(String::new()),
        format!("must have at most {max} bytes"),
    )
}

pub(crate) fn too_many(field: impl Into<String>, actual: usize, max: usize) -> FieldError {
    let actual = i64::try_from(actual).unwrap_or(i64::MAX);
    make(
        ErrorKind::TooMany,
        field,
        Bad::Int(actual),
        format!("must have at most {max} items"),
    )
}

pub(crate) fn not_found(field: impl Into<String>, value: impl Into<Bad>) -> FieldError {
    make(ErrorKind::NotFound, field, value.into(), String::new())
}

/// `parent.child`, tolerating an empty parent.
pub(crate) fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `parent[i]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// `parent[key]`; upstream does not quote map keys in paths.
pub(crate) fn key(parent: &str, k: &str) -> String {
    format!("{parent}[{k}]")
}
