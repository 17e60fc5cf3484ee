//! kubectl's JSONPath templates (`-o jsonpath=…`), `-o custom-columns=…` and `--sort-by=…`.
//!
//! The dialect is the one kubectl implements (k8s.io/client-go/util/jsonpath), not RFC 9535:
//! `$` and `@` both mean "the current object", `range`/`end` iterate, quoted text is printed
//! as-is, and the several results of one action are joined by a single space.
//!
//! ```
//! use capstan_jsonpath::Template;
//! let pods = serde_json::json!({"kind": "List", "items": [
//!     {"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]});
//! let template = Template::parse(r#"{range .items[*]}{.metadata.name}{"\n"}{end}"#).unwrap();
//! assert_eq!(template.render(&pods, true).unwrap(), "a\nb\n");
//! ```

mod action;
mod ast;
mod columns;
mod cursor;
mod error;
mod eval;
mod filter;
mod parser;
mod quote;
mod relaxed;
mod render;
mod sort;
mod subscript;

pub use columns::{Column, CustomColumns};
pub use error::TemplateError;
pub use relaxed::relaxed_expression;
pub use sort::sort_by;

use ast::Segment;
use serde_json::Value;

/// A parsed kubectl JSONPath template: literal text mixed with `{…}` actions.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
}

impl Template {
    /// Parses a kubectl JSONPath template such as
    /// `{range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let segments = parser::parse_template(text).map_err(|reason| TemplateError::Parse {
            template: text.to_string(),
            reason,
        })?;
        Ok(Template {
            source: text.to_string(),
            segments,
        })
    }

    /// Executes the template against a document (a single object, or a List with `items`).
    ///
    /// `allow_missing` is kubectl's `--allow-missing-template-keys` (true by default there):
    /// when false, a key that matches nothing is an error (`<key> is not found`).
    pub fn render(&self, data: &Value, allow_missing: bool) -> Result<String, TemplateError> {
        let mut out = String::new();
        render::render_segments(
            &self.segments,
            data,
            eval::Options { allow_missing },
            &mut out,
        )?;
        Ok(out)
    }

    /// The template text this was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every value the template produces, in order, without formatting them as text:
    /// what custom-columns and sort-by work from.
    pub(crate) fn values<'a>(
        &self,
        data: &'a Value,
        allow_missing: bool,
    ) -> Result<Vec<std::borrow::Cow<'a, Value>>, TemplateError> {
        render::collect_values(&self.segments, data, eval::Options { allow_missing })
    }
}
