//! The forgiving path syntax of `custom-columns` and `--sort-by`.

use crate::error::TemplateError;

/// Turns `metadata.name`, `.metadata.name`, `{metadata.name}` or `{.metadata.name}` into the
/// template `{.metadata.name}`, as kubectl does for custom-columns and `--sort-by`.
/// An empty expression stays empty (it then matches nothing); `.` and `{.}` mean the
/// whole object.
pub fn relaxed_expression(expression: &str) -> Result<String, TemplateError> {
    if expression.is_empty() {
        return Ok(String::new());
    }
    let inner = expression
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or(expression);
    if inner.is_empty() || inner.contains(['{', '}']) {
        return Err(TemplateError::InvalidColumns(
            "unexpected path string, expected a 'name1.name2' or '.name1.name2' or \
             '{name1.name2}' or '{.name1.name2}'"
                .to_string(),
        ));
    }
    let path = inner.strip_prefix('.').unwrap_or(inner);
    Ok(format!("{{.{path}}}"))
}
