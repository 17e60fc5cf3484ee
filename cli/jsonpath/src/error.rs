/// Everything that can go wrong parsing or executing a template, custom-columns spec or sort key.
///
/// Messages follow kubectl's wording so that scripts and users see familiar errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text is not valid kubectl JSONPath, e.g.
    /// `error parsing jsonpath {.items[, unterminated array`.
    #[error("error parsing jsonpath {template}, {reason}")]
    Parse { template: String, reason: String },

    /// A key matched nothing while missing keys were not allowed.
    #[error("{key} is not found")]
    KeyNotFound { key: String },

    /// The template is valid but cannot be applied to this document
    /// (array index out of bounds, comparing a string with a number, …).
    #[error("{0}")]
    Execution(String),

    /// A `custom-columns` / `custom-columns-file` specification is malformed.
    #[error("{0}")]
    InvalidColumns(String),

    /// `--sort-by` cannot order these items.
    #[error("{0}")]
    Sort(String),
}
