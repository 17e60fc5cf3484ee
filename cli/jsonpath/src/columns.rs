//! `-o custom-columns=NAME:.metadata.name,…` and `-o custom-columns-file=…`.

use serde_json::Value;

use crate::Template;
use crate::error::TemplateError;
use crate::quote::split_commas;
use crate::relaxed::relaxed_expression;

/// Go's tabwriter settings in kubectl's printers: cells are padded to the widest cell of
/// their column plus 3 spaces, and never narrower than 6.
const MIN_WIDTH: usize = 6;
const PADDING: usize = 3;

const FILE_FORMAT_HINT: &str = "Expected format is one line of space separated headers, one line of space separated column specs.";

/// One column: the header printed above it and the template that fills it.
#[derive(Debug, Clone)]
pub struct Column {
    header: String,
    template: Template,
}

impl Column {
    /// The header exactly as given in the spec (kubectl does not change its case).
    pub fn header(&self) -> &str {
        &self.header
    }

    /// The normalised JSONPath template, e.g. `{.metadata.name}` for `metadata.name`.
    pub fn expression(&self) -> &str {
        self.template.source()
    }

    fn new(header: &str, path: &str) -> Result<Column, TemplateError> {
        let expression = relaxed_expression(path)?;
        Ok(Column {
            header: header.to_string(),
            template: Template::parse(&expression)?,
        })
    }
}

/// A parsed custom-columns specification.
#[derive(Debug, Clone)]
pub struct CustomColumns {
    columns: Vec<Column>,
}

impl CustomColumns {
    /// Parses `NAME:.metadata.name,IP:.status.podIP`. Paths may be written with or without
    /// the leading `.` and braces. Commas inside `[…]` quotes do not split columns.
    pub fn parse(spec: &str) -> Result<CustomColumns, TemplateError> {
        if spec.is_empty() {
            return Err(no_columns());
        }
        // Commas inside `[…]` stay, so a union such as `.metadata.labels['a','b']` is one
        // column (kubectl would split it and fail).
        let columns = split_commas(spec, true)
            .into_iter()
            .map(|part| {
                let (header, path) = part.split_once(':').ok_or_else(|| {
                    TemplateError::InvalidColumns(format!(
                        "unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
                    ))
                })?;
                Column::new(header, path)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CustomColumns { columns })
    }

    /// Parses the `custom-columns-file` form: a line of whitespace-separated headers, then a
    /// line of whitespace-separated paths; further lines are ignored.
    pub fn parse_file(text: &str) -> Result<CustomColumns, TemplateError> {
        let mut lines = text.lines();
        let mut fields = |what: &str| {
            let line = lines.next().ok_or_else(|| {
                TemplateError::InvalidColumns(format!(
                    "invalid template, missing {what} line. {FILE_FORMAT_HINT}"
                ))
            })?;
            Ok::<Vec<&str>, TemplateError>(line.split_whitespace().collect())
        };
        let headers = fields("header")?;
        let paths = fields("spec")?;
        if headers.len() != paths.len() {
            return Err(TemplateError::InvalidColumns(format!(
                "number of headers ({}) and field specifications ({}) don't match",
                headers.len(),
                paths.len()
            )));
        }
        if headers.is_empty() {
            return Err(no_columns());
        }
        let columns = headers
            .iter()
            .zip(&paths)
            .map(|(header, path)| Column::new(header, path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CustomColumns { columns })
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Renders one row per item, aligned like kubectl's tabwriter output. Each line ends
    /// with a newline; the last column is not padded.
    pub fn render(&self, items: &[Value], no_headers: bool) -> Result<String, TemplateError> {
        let mut rows: Vec<Vec<String>> = Vec::with_capacity(items.len() + 1);
        if !no_headers {
            rows.push(
                self.columns
                    .iter()
                    .map(|c| escape_cell(&c.header))
                    .collect(),
            );
        }
        for item in items {
            let row = self
                .columns
                .iter()
                .map(|column| cell_text(column, item))
                .collect::<Result<Vec<_>, _>>()?;
            rows.push(row);
        }
        Ok(align(&rows))
    }
}

fn no_columns() -> TemplateError {
    TemplateError::InvalidColumns(
        "custom-columns format specified but no custom columns given".to_string(),
    )
}

fn cell_text(column: &Column, item: &Value) -> Result<String, TemplateError> {
    let found = column.template.values(item, true)?;
    if found.is_empty() {
        return Ok("<none>".to_string());
    }
    let texts = found
        .iter()
        .map(|value| value_text(value).map(|text| escape_cell(&text)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(texts.join(","))
}

/// kubectl formats cells with Go's `fmt.Sprint`, which prints JSON null as `<nil>`.
fn value_text(value: &Value) -> Result<String, TemplateError> {
    if value.is_null() {
        return Ok("<nil>".to_string());
    }
    let mut out = String::new();
    crate::render::write_value(value, &mut out)?;
    Ok(out)
}

/// Keeps one item on one line and stops values from driving the terminal: kubectl escapes
/// ESC and CR; tabs and newlines are escaped too because they would break the alignment.
fn escape_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{1b}' => out.push_str("^["),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out
}

fn align(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            let widest = rows
                .iter()
                .filter_map(|row| row.get(i))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0);
            (widest + PADDING).max(MIN_WIDTH)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let width = widths.get(i).copied().unwrap_or(0);
                let pad = width.saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}
