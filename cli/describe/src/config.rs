//! ConfigMap and Secret layouts.

use serde_json::Value;

use crate::Context;
use crate::events::write_events;
use crate::json::{go_value, map_at, sorted_entries, str_at};
use crate::meta;
use crate::writer::Writer;

pub(crate) fn describe_config_map(w: &mut Writer, cm: &Value, cx: &Context<'_>) {
    meta::name_namespace(w, cm);
    meta::labels_and_annotations(w, cm);
    w.line(0, "\nData\n====");
    for (key, value) in sorted_entries(map_at(cm, "/data")) {
        w.line(0, format_args!("{key}:\n----"));
        w.line(0, go_value(value));
        w.line(0, "");
    }
    w.line(0, "\nBinaryData\n====");
    for (key, value) in sorted_entries(map_at(cm, "/binaryData")) {
        w.line(0, format_args!("{key}: {} bytes", decoded_len(value)));
    }
    w.line(0, "");
    write_events(w, cx.events, cx.now);
}

/// Secrets show each key's size, never its value. kubectl's describer prints no Events section
/// for Secrets, so neither does this one.
pub(crate) fn describe_secret(w: &mut Writer, secret: &Value) {
    meta::name_namespace(w, secret);
    meta::labels_and_annotations(w, secret);
    w.line(0, format_args!("\nType:\t{}", str_at(secret, "/type")));
    w.line(0, "\nData\n====");
    for (key, value) in sorted_entries(map_at(secret, "/data")) {
        w.line(0, format_args!("{key}:\t{} bytes", decoded_len(value)));
    }
}

/// The length of base64-encoded bytes once decoded, computed without decoding them.
fn decoded_len(v: &Value) -> usize {
    let text = v.as_str().unwrap_or("");
    let significant = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .count();
    significant * 3 / 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_lengths() {
        assert_eq!(decoded_len(&json!("")), 0);
        assert_eq!(decoded_len(&json!("YQ==")), 1);
        assert_eq!(decoded_len(&json!("YWI=")), 2);
        assert_eq!(decoded_len(&json!("YWJj")), 3);
        assert_eq!(decoded_len(&json!("YWJjZA")), 4);
        assert_eq!(decoded_len(&json!(42)), 0);
    }
}
