//! The stored form of an object and cheap operations on it. Every write and every watch event
//! passes through here, so these avoid cloning or fully parsing whole objects: the store keeps
//! objects without `metadata.resourceVersion` (the store revision is the version), the watch
//! cache needs them with it, and update paths compare objects while ignoring a few fields.

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// Serialises an object as the store keeps it: without `metadata.resourceVersion`.
pub fn encode(obj: &Value) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&WithoutVersion(obj))
}

struct WithoutVersion<'a>(&'a Value);

impl Serialize for WithoutVersion<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Value::Object(top) = self.0 else {
            return self.0.serialize(s);
        };
        let mut map = s.serialize_map(Some(top.len()))?;
        for (k, v) in top {
            match v {
                Value::Object(meta) if k == "metadata" => {
                    map.serialize_entry(k, &MetaWithoutVersion(meta))?
                }
                _ => map.serialize_entry(k, v)?,
            }
        }
        map.end()
    }
}

struct MetaWithoutVersion<'a>(&'a Map<String, Value>);

impl Serialize for MetaWithoutVersion<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kept = self.0.iter().filter(|(k, _)| *k != "resourceVersion");
        let mut map = s.serialize_map(None)?;
        for (k, v) in kept {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Equal apart from the top-level `metadata` and `status` (the "spec" in the broad sense that
/// generation tracking uses).
pub fn spec_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            map_eq_except(a, b, |k| matches!(k, "metadata" | "status"))
        }
        _ => a == b,
    }
}

/// Equal apart from managedFields timestamps, which change on every write without meaning
/// anything — so a no-op update can be told from a real one.
pub fn eq_ignoring_field_times(a: &Value, b: &Value) -> bool {
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return a == b;
    };
    if !map_eq_except(a, b, |k| k == "metadata") {
        return false;
    }
    match (a.get("metadata"), b.get("metadata")) {
        (Some(Value::Object(ma)), Some(Value::Object(mb))) => {
            map_eq_except(ma, mb, |k| k == "managedFields")
                && entries_eq_ignoring_time(ma.get("managedFields"), mb.get("managedFields"))
        }
        (ma, mb) => ma == mb,
    }
}

fn entries_eq_ignoring_time(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| match (x, y) {
                    (Value::Object(x), Value::Object(y)) => map_eq_except(x, y, |k| k == "time"),
                    _ => x == y,
                })
        }
        _ => a == b,
    }
}

/// Map equality (key order ignored, as `Value`'s own) over the keys `skip` does not name.
fn map_eq_except(
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    skip: impl Fn(&str) -> bool,
) -> bool {
    let kept_in_b = b.keys().filter(|k| !skip(k)).count();
    let mut kept_in_a = 0;
    for (k, va) in a {
        if skip(k) {
            continue;
        }
        kept_in_a += 1;
        if b.get(k) != Some(va) {
            return false;
        }
    }
    kept_in_a == kept_in_b
}

/// The stored JSON with `"resourceVersion":"<revision>"` added as the first field of
/// `metadata`, without parsing the object. None when the text is not an object with a
/// `metadata` object, or its metadata already has a resourceVersion (callers then take the
/// slow path).
pub fn with_resource_version(stored: &[u8], revision: i64) -> Option<Vec<u8>> {
    let mut scan = Scanner { s: stored, i: 0 };
    scan.eat(b'{')?;
    loop {
        scan.skip_ws();
        if scan.peek()? == b'}' {
            return None;
        }
        let key = scan.string()?;
        scan.eat(b':')?;
        scan.skip_ws();
        if &stored[key] == b"metadata" && scan.peek()? == b'{' {
            let open = scan.i + 1;
            scan.i = open;
            let empty = scan.metadata_lacks_version()?;
            let field = format!("\"resourceVersion\":\"{revision}\"");
            let mut out = Vec::with_capacity(stored.len() + field.len() + 1);
            out.extend_from_slice(&stored[..open]);
            out.extend_from_slice(field.as_bytes());
            if !empty {
                out.push(b',');
            }
            out.extend_from_slice(&stored[open..]);
            return Some(out);
        }
        scan.value()?;
        scan.skip_ws();
        match scan.next()? {
            b',' => continue,
            _ => return None,
        }
    }
}

/// A minimal JSON scanner: enough structure to find a top-level key and skip values. It does
/// not validate numbers or literals; input is JSON this server wrote.
struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.skip_ws();
        (self.next()? == c).then_some(())
    }

    /// Where a string's raw bytes are (escapes left as written); the cursor ends after its
    /// closing quote.
    fn string(&mut self) -> Option<std::ops::Range<usize>> {
        if self.next()? != b'"' {
            return None;
        }
        let start = self.i;
        loop {
            match self.next()? {
                b'\\' => {
                    self.next()?;
                }
                b'"' => return Some(start..self.i - 1),
                _ => {}
            }
        }
    }

    fn value(&mut self) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while !matches!(self.peek()?, b',' | b'}' | b']') {
                    self.i += 1;
                }
                Some(())
            }
        }
    }

    /// Scans the members of the object whose `{` was just passed; Some(true) when it is
    /// empty, Some(false) when it has members but no resourceVersion, None otherwise.
    fn metadata_lacks_version(&mut self) -> Option<bool> {
        self.skip_ws();
        if self.peek()? == b'}' {
            return Some(true);
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            if &self.s[key] == b"resourceVersion" {
                return None;
            }
            self.eat(b':')?;
            self.value()?;
            self.skip_ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(false),
                _ => return None,
            }
        }
    }
}

/// Paths to keep when projecting an object: a node with no children keeps its whole value.
#[derive(Debug, Default)]
pub struct Projection {
    children: Vec<(String, Projection)>,
}

impl Projection {
    /// Builds the tree from dotted paths (`metadata.name`, `spec.nodeName`, …).
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut root = Projection::default();
        for path in paths {
            let mut node = &mut root;
            for seg in path.split('.') {
                let at = match node.children.iter().position(|(k, _)| k == seg) {
                    Some(at) => at,
                    None => {
                        node.children.push((seg.to_string(), Projection::default()));
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[at].1;
            }
        }
        root
    }

    fn child(&self, key: &str) -> Option<&Projection> {
        self.children
            .iter()
            .find_map(|(k, p)| (k == key).then_some(p))
    }

    /// Only the projected parts of a JSON object, parsed without building the rest. Paths
    /// that are absent (or run into a non-object) are left out.
    pub fn parse(&self, json: &[u8]) -> serde_json::Result<Value> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let v = ProjectSeed(self).deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }
}

struct ProjectSeed<'p>(&'p Projection);

impl<'de> DeserializeSeed<'de> for ProjectSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.children.is_empty() {
            return serde::Deserialize::deserialize(d);
        }
        d.deserialize_any(ProjectVisitor(self.0))
    }
}

struct ProjectVisitor<'p>(&'p Projection);

impl<'de> Visitor<'de> for ProjectVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.0.child(&key) {
                Some(sub) => {
                    let v = map.next_value_seed(ProjectSeed(sub))?;
                    if !v.is_null() || sub.children.is_empty() {
                        out.insert(key.into_owned(), v);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encode_drops_only_the_resource_version() {
        let obj = json!({"kind": "Pod", "metadata": {"name": "a", "resourceVersion": "7",
            "labels": {"resourceVersion": "x"}}, "spec": {"resourceVersion": 1}});
        let stored: Value = serde_json::from_slice(&encode(&obj).unwrap()).unwrap();
        assert_eq!(
            stored,
            json!({"kind": "Pod", "metadata": {"name": "a", "labels": {"resourceVersion": "x"}},
                "spec": {"resourceVersion": 1}})
        );
    }

    #[test]
    fn resource_version_is_inserted_textually_like_a_parse_would() {
        let cases = [
            json!({"kind": "Pod", "metadata": {"name": "a"}, "spec": {"x": [1, {"y": "}\"{"}]}}),
            json!({"spec": {"metadata": {"z": 1}}, "metadata": {}}),
            json!({"a": "\\\"", "metadata": {"annotations": {"k": "{[\"]}"}, "name": "n"}}),
            json!({"n": -1.5e3, "b": true, "z": null, "metadata": {"generation": 2}}),
        ];
        for obj in cases {
            let stored = encode(&obj).unwrap();
            let fast = with_resource_version(&stored, 42).expect("fast path");
            let mut want = obj.clone();
            crate::object::set_resource_version(&mut want, 42);
            assert_eq!(
                serde_json::from_slice::<Value>(&fast).unwrap(),
                want,
                "{obj}"
            );
        }
        // Declined: no metadata, metadata not an object, a version already there.
        for text in [
            r#"{"kind":"Pod"}"#,
            r#"{"metadata":null}"#,
            r#"{"metadata":{"resourceVersion":"3"}}"#,
            r#"[1]"#,
            r#"{"metadata":{"name":"a""#,
        ] {
            assert_eq!(with_resource_version(text.as_bytes(), 1), None, "{text}");
        }
    }

    #[test]
    fn projection_keeps_only_the_named_paths() {
        let p = Projection::from_paths([
            "metadata.name",
            "metadata.labels",
            "spec.nodeName",
            "status.phase",
        ]);
        let obj = json!({"metadata": {"name": "a", "labels": {"x": "y"}, "uid": "u"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c"}]},
            "status": "odd"});
        let got = p.parse(&serde_json::to_vec(&obj).unwrap()).unwrap();
        assert_eq!(
            got,
            json!({"metadata": {"name": "a", "labels": {"x": "y"}}, "spec": {"nodeName": "n1"}})
        );
    }

    #[test]
    fn comparisons_ignore_only_what_they_say() {
        let a = json!({"metadata": {"name": "a", "managedFields": [{"manager": "m", "time": "1"}]},
            "spec": {"x": 1}, "status": {"s": 1}});
        let mut b = a.clone();
        b["metadata"]["managedFields"][0]["time"] = json!("2");
        assert!(eq_ignoring_field_times(&a, &b));
        b["metadata"]["managedFields"][0]["manager"] = json!("other");
        assert!(!eq_ignoring_field_times(&a, &b));
        let mut c = a.clone();
        c["status"]["s"] = json!(2);
        assert!(!eq_ignoring_field_times(&a, &c));
        assert!(spec_equal(&a, &c));
        c["spec"]["y"] = json!(1);
        assert!(!spec_equal(&a, &c));
        let mut d = a.clone();
        d["metadata"]["labels"] = json!({"l": "v"});
        assert!(!eq_ignoring_field_times(&a, &d));
        assert!(spec_equal(&a, &d));
    }
}
