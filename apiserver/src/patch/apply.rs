//! Server-side apply and field ownership (`metadata.managedFields`).
//!
//! Every write records which manager set which fields. Apply requests merge a
//! manager's intent into the live object, drop what that manager applied
//! before but no longer specifies (unless someone else owns it), and refuse to
//! change a value another manager owns unless forced. Other writes (create,
//! update, patch) hand the fields they changed to the writer.
//!
//! Field sets use the Kubernetes `FieldsV1` encoding: nested objects keyed by
//! `f:<field>`, `k:<key fields as JSON>` for items of keyed lists, `v:<JSON>`
//! for items of primitive sets and `i:<index>`; `"."` marks a node that is
//! owned itself as well as having owned children. Lists and structs are
//! granular or atomic according to [`super::merge_keys`]; atomic values and
//! scalars are leaves.
//!
//! The algorithms follow the behaviour of the API server's field manager:
//! identities are manager + operation + subresource (+ apiVersion for
//! updates); metadata such as name, uid and resourceVersion is never owned;
//! an object without managedFields that is applied to gets its existing fields
//! assigned to `before-first-apply` so the apply can conflict with them; an
//! update that finds no managedFields on an existing object records none; and
//! at most ten update entries are kept, older ones folding into
//! `ancient-changes`. Resetting fields a subresource may not touch (e.g.
//! `status` through the main resource) is the caller's job, before calling in.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::merge_keys::{self, ListType};

const BEFORE_FIRST_APPLY: &str = "before-first-apply";
const ANCIENT_CHANGES: &str = "ancient-changes";
const MAX_UPDATE_MANAGERS: usize = 10;
/// Metadata fields no manager ever owns (plus `apiVersion`, `kind` and the
/// `metadata` node itself).
const UNOWNED_META: [&str; 9] = [
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
];
/// Metadata fields that pruning must never remove, owned or not.
const PROTECTED_META: [&str; 11] = [
    "name",
    "namespace",
    "generateName",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "uid",
    "generation",
    "managedFields",
    "resourceVersion",
];

// ---- errors -------------------------------------------------------------

/// Why an apply was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApplyError {
    /// Fields owned by other managers would change; the API server answers
    /// 409 with [`conflicts_message`] and one cause per conflict.
    #[error("{}", conflicts_message(.0))]
    Conflicts(Vec<Conflict>),
    /// The applied configuration or the live object cannot be tracked (a keyed
    /// list item without keys, duplicate keys, a non-object); a 422 / 400.
    #[error("{0}")]
    InvalidObject(String),
    /// `metadata.managedFields` cannot be decoded.
    #[error("invalid managedFields: {0}")]
    InvalidManagedFields(String),
}

/// How a manager came to own its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One field an apply would take from another manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    pub operation: Operation,
    /// apiVersion of the other manager's entry (shown for updaters).
    pub api_version: String,
    pub subresource: Option<String>,
    /// Path like `.spec.template.spec.containers[name="nginx"].image`.
    pub field: String,
}

impl Conflict {
    /// The other manager as the API server names it, e.g.
    /// `"kubectl-client-side-apply" using apps/v1`.
    pub fn manager_description(&self) -> String {
        let mut out = quote(&self.manager);
        if let Some(sub) = &self.subresource {
            out.push_str(&format!(" with subresource {}", quote(sub)));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    /// Message of the per-conflict `StatusCause` (type
    /// `FieldManagerConflict`, field = [`Conflict::field`]).
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.manager_description())
    }

    fn sort_key(&self) -> (&str, Operation, &str, &str) {
        (
            &self.manager,
            self.operation,
            &self.api_version,
            self.subresource.as_deref().unwrap_or(""),
        )
    }
}

/// The 409 message for a set of conflicts, worded as the API server words it.
pub fn conflicts_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            only.manager_description(),
            only.field
        );
    }
    let mut sorted: Vec<&Conflict> = conflicts.iter().collect();
    // Stable, so each manager's fields keep their order.
    sorted.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut lines: Vec<String> = Vec::new();
    let mut current: Option<(&str, Operation, &str, &str)> = None;
    for c in sorted {
        if current != Some(c.sort_key()) {
            current = Some(c.sort_key());
            lines.push(format!("conflicts with {}:", c.manager_description()));
        }
        lines.push(format!("- {}", c.field));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

// ---- field paths and sets ---------------------------------------------------

/// One step of a field path. The derived order (fields, keys, values,
/// indices) is the order FieldsV1 lists them in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    Field(String),
    /// Key fields of a keyed-list item, as compact JSON with sorted keys.
    Key(String),
    /// A primitive-set item, as compact JSON.
    Value(String),
    Index(usize),
}

impl PathElement {
    fn encode(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(json) => format!("k:{json}"),
            PathElement::Value(json) => format!("v:{json}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    fn decode(s: &str) -> Result<PathElement, ApplyError> {
        let bad = || ApplyError::InvalidManagedFields(format!("invalid path element {s:?}"));
        if let Some(name) = s.strip_prefix("f:") {
            return Ok(PathElement::Field(name.to_owned()));
        }
        if let Some(json) = s.strip_prefix("k:") {
            let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(json) else {
                return Err(bad());
            };
            let sorted: BTreeMap<String, Value> = fields.into_iter().collect();
            return Ok(PathElement::Key(compact(&Value::Object(
                sorted.into_iter().collect(),
            ))));
        }
        if let Some(json) = s.strip_prefix("v:") {
            let value: Value = serde_json::from_str(json).map_err(|_| bad())?;
            return Ok(PathElement::Value(compact(&value)));
        }
        if let Some(index) = s.strip_prefix("i:") {
            return index.parse().map(PathElement::Index).map_err(|_| bad());
        }
        Err(bad())
    }
}

impl std::fmt::Display for PathElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(json) => match serde_json::from_str::<Value>(json) {
                Ok(Value::Object(fields)) => {
                    let parts: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| format!("{k}={}", display_value(v)))
                        .collect();
                    write!(f, "[{}]", parts.join(","))
                }
                _ => write!(f, "[{json}]"),
            },
            PathElement::Value(json) => match serde_json::from_str::<Value>(json) {
                Ok(v) => write!(f, "[={}]", display_value(&v)),
                Err(_) => write!(f, "[={json}]"),
            },
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Renders a path the way conflict messages show it.
pub fn path_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// A set of field paths, stored as a tree. A node is a member when the path
/// ending there is in the set; nodes that are neither members nor ancestors of
/// members are not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    member: bool,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    pub fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let child = self.children.entry(first.clone()).or_default();
        if rest.is_empty() {
            child.member = true;
        } else {
            child.insert(rest);
        }
    }

    pub fn contains(&self, path: &[PathElement]) -> bool {
        self.node(path).is_some_and(|n| n.member)
    }

    fn node(&self, path: &[PathElement]) -> Option<&FieldSet> {
        match path.split_first() {
            None => Some(self),
            Some((first, rest)) => self.children.get(first)?.node(rest),
        }
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_with(other);
        out
    }

    fn union_with(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (pe, theirs) in &other.children {
            self.children
                .entry(pe.clone())
                .or_default()
                .union_with(theirs);
        }
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (pe, mine) in &self.children {
            let child = match other.children.get(pe) {
                Some(theirs) => mine.difference(theirs),
                None => mine.clone(),
            };
            if !child.is_empty() {
                out.children.insert(pe.clone(), child);
            }
        }
        out
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (pe, mine) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                let child = mine.intersection(theirs);
                if !child.is_empty() {
                    out.children.insert(pe.clone(), child);
                }
            }
        }
        out
    }

    /// Member paths, each level's members before its subtrees.
    pub fn members(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect_members(&mut Vec::new(), &mut out);
        out
    }

    fn collect_members(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for (pe, child) in &self.children {
            if child.member {
                let mut path = prefix.clone();
                path.push(pe.clone());
                out.push(path);
            }
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect_members(prefix, out);
            prefix.pop();
        }
    }

    /// Member paths rendered like `.spec.replicas`.
    pub fn paths(&self) -> Vec<String> {
        self.members().iter().map(|p| path_string(p)).collect()
    }

    /// Parses a `fieldsV1` object.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, ApplyError> {
        let Value::Object(map) = value else {
            return Err(ApplyError::InvalidManagedFields(
                "fieldsV1 must be an object".to_owned(),
            ));
        };
        let mut set = FieldSet::new();
        for (key, child) in map {
            // "." at the top would claim the whole object, which no
            // manager can own.
            if key == "." {
                continue;
            }
            let pe = PathElement::decode(key)?;
            let node = FieldSet::decode_node(child)?;
            if !node.is_empty() {
                set.children.entry(pe).or_default().union_with(&node);
            }
        }
        Ok(set)
    }

    fn decode_node(value: &Value) -> Result<FieldSet, ApplyError> {
        let Value::Object(map) = value else {
            return Err(ApplyError::InvalidManagedFields(format!(
                "expected an object in fieldsV1, got {value}"
            )));
        };
        if map.is_empty() {
            return Ok(FieldSet {
                member: true,
                children: BTreeMap::new(),
            });
        }
        let mut node = FieldSet::new();
        for (key, child) in map {
            if key == "." {
                node.member = true;
                continue;
            }
            let pe = PathElement::decode(key)?;
            let child = FieldSet::decode_node(child)?;
            node.children.entry(pe).or_default().union_with(&child);
        }
        Ok(node)
    }

    /// Encodes the set as a `fieldsV1` object.
    pub fn to_fields_v1(&self) -> Value {
        let mut map = Map::new();
        for (pe, child) in &self.children {
            map.insert(pe.encode(), child.encode_node());
        }
        Value::Object(map)
    }

    fn encode_node(&self) -> Value {
        let mut map = Map::new();
        if self.member && !self.children.is_empty() {
            map.insert(".".to_owned(), Value::Object(Map::new()));
        }
        for (pe, child) in &self.children {
            map.insert(pe.encode(), child.encode_node());
        }
        Value::Object(map)
    }

    /// Removes the fields no manager may own.
    fn strip_unowned_meta(&self) -> FieldSet {
        let mut strip = FieldSet::new();
        for top in ["apiVersion", "kind", "metadata"] {
            strip.insert(&[PathElement::Field(top.to_owned())]);
        }
        for name in UNOWNED_META {
            strip.insert(&[
                PathElement::Field("metadata".to_owned()),
                PathElement::Field(name.to_owned()),
            ]);
        }
        self.difference(&strip)
    }
}

/// The fields `object` sets, as server-side apply counts them: scalars,
/// atomic values, keyed/set list items, and empty or null values.
pub fn field_set(kind: &str, object: &Value) -> Result<FieldSet, ApplyError> {
    let mut out = FieldSet::new();
    Schema { kind }.collect(&mut Vec::new(), &mut Vec::new(), object, &mut out)?;
    Ok(out)
}

// ---- managedFields entries ----------------------------------------------------

#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: Operation,
    api_version: String,
    time: Option<String>,
    subresource: Option<String>,
    set: FieldSet,
}

/// Who an entry belongs to. Appliers keep one entry across apiVersions;
/// updaters get one per apiVersion.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Identity {
    manager: String,
    operation: Operation,
    api_version: String,
    subresource: String,
}

impl Entry {
    fn identity(&self) -> Identity {
        identity(
            &self.manager,
            self.operation,
            &self.api_version,
            self.subresource.as_deref(),
        )
    }

    fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("manager".to_owned(), Value::String(self.manager.clone()));
        map.insert(
            "operation".to_owned(),
            Value::String(self.operation.as_str().to_owned()),
        );
        map.insert(
            "apiVersion".to_owned(),
            Value::String(self.api_version.clone()),
        );
        if let Some(time) = &self.time {
            map.insert("time".to_owned(), Value::String(time.clone()));
        }
        map.insert(
            "fieldsType".to_owned(),
            Value::String("FieldsV1".to_owned()),
        );
        map.insert("fieldsV1".to_owned(), self.set.to_fields_v1());
        if let Some(sub) = &self.subresource {
            map.insert("subresource".to_owned(), Value::String(sub.clone()));
        }
        Value::Object(map)
    }

    fn from_value(value: &Value) -> Result<Entry, ApplyError> {
        let bad = |what: &str| ApplyError::InvalidManagedFields(what.to_owned());
        let Value::Object(map) = value else {
            return Err(bad("each managedFields entry must be an object"));
        };
        let text = |key: &str| -> Result<Option<String>, ApplyError> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(&format!("{key} must be a string"))),
            }
        };
        let operation = match text("operation")?.as_deref() {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            other => {
                return Err(bad(&format!(
                    "operation must be \"Apply\" or \"Update\", got {other:?}"
                )));
            }
        };
        match text("fieldsType")?.as_deref() {
            Some("FieldsV1") | None => {}
            Some(other) => return Err(bad(&format!("unsupported fieldsType {other:?}"))),
        }
        let set = match map.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(v) => FieldSet::from_fields_v1(v)?,
        };
        Ok(Entry {
            manager: text("manager")?.unwrap_or_default(),
            operation,
            api_version: text("apiVersion")?.unwrap_or_default(),
            time: text("time")?,
            subresource: text("subresource")?.filter(|s| !s.is_empty()),
            set,
        })
    }
}

fn identity(
    manager: &str,
    operation: Operation,
    api_version: &str,
    subresource: Option<&str>,
) -> Identity {
    Identity {
        manager: manager.to_owned(),
        operation,
        api_version: match operation {
            Operation::Apply => String::new(),
            Operation::Update => api_version.to_owned(),
        },
        subresource: subresource.unwrap_or("").to_owned(),
    }
}

fn decode_entries(value: Option<&Value>) -> Result<Vec<Entry>, ApplyError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApplyError::InvalidManagedFields(
                "managedFields must be a list".to_owned(),
            ));
        }
    };
    let mut entries: Vec<Entry> = Vec::with_capacity(items.len());
    for item in items {
        let entry = Entry::from_value(item)?;
        if entries.iter().any(|e| e.identity() == entry.identity()) {
            return Err(ApplyError::InvalidManagedFields(format!(
                "duplicate entries for manager {:?}",
                entry.manager
            )));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// `[{}]` in a request asks for ownership tracking to stop. An empty list
/// does not: clients unaware of the field must not be able to wipe it.
fn is_reset(value: &Value) -> bool {
    match value.as_array().map(Vec::as_slice) {
        Some([only]) => only.as_object().is_some_and(Map::is_empty),
        _ => false,
    }
}

fn write_entries(object: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    entries.sort_by(|a, b| {
        (
            a.operation,
            a.time.as_deref().unwrap_or(""),
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                b.operation,
                b.time.as_deref().unwrap_or(""),
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    let Some(root) = object.as_object_mut() else {
        return;
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        meta.shift_remove("managedFields");
    } else {
        meta.insert(
            "managedFields".to_owned(),
            Value::Array(entries.iter().map(Entry::to_value).collect()),
        );
    }
}

/// Folds the oldest update entries into per-apiVersion `ancient-changes`
/// entries so that objects written by many controllers stay small.
fn cap_update_entries(entries: &mut Vec<Entry>) {
    let mut updaters: Vec<(String, Identity)> = entries
        .iter()
        .filter(|e| e.operation == Operation::Update)
        .map(|e| (e.time.clone().unwrap_or_default(), e.identity()))
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort();
    let mut remaining = updaters.len();
    let mut first_of_version: BTreeMap<String, Identity> = BTreeMap::new();
    for (_, id) in updaters {
        if remaining <= MAX_UPDATE_MANAGERS {
            break;
        }
        let version = id.api_version.clone();
        let Some(first) = first_of_version.get(&version).cloned() else {
            first_of_version.insert(version, id);
            continue;
        };
        let bucket = identity(ANCIENT_CHANGES, Operation::Update, &version, None);
        if !entries.iter().any(|e| e.identity() == bucket)
            && let Some(e) = entries.iter_mut().find(|e| e.identity() == first)
        {
            e.manager = ANCIENT_CHANGES.to_owned();
            e.subresource = None;
        }
        let Some(pos) = entries.iter().position(|e| e.identity() == id) else {
            continue;
        };
        let merged = entries.remove(pos);
        if let Some(b) = entries.iter_mut().find(|e| e.identity() == bucket) {
            b.set.union_with(&merged.set);
            b.time = merged.time;
        }
        remaining -= 1;
    }
}

fn manager_name(manager: &str) -> &str {
    if manager.is_empty() {
        "unknown"
    } else {
        manager
    }
}

// ---- apply ----------------------------------------------------------------

/// Server-side apply of `config` by `manager`.
///
/// `live` is the stored object (None on create) and `config` the applied
/// configuration, a full object intent with apiVersion, kind and
/// metadata.name. Returns the new object with `metadata.managedFields`
/// updated; the caller still validates, defaults and stores it.
pub fn apply(
    kind: &str,
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    api_version: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    let manager = manager_name(manager);
    if !config.is_object() {
        return Err(ApplyError::InvalidObject(
            "the applied configuration must be a JSON object".to_owned(),
        ));
    }
    if config
        .pointer("/metadata/managedFields")
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApplyError::InvalidObject(
            "metadata.managedFields must be nil in an applied configuration".to_owned(),
        ));
    }
    let schema = Schema { kind };

    let mut entries = decode_entries(live.and_then(|l| l.pointer("/metadata/managedFields")))?;
    let live_clean = match live {
        Some(l) if l.is_object() => without_managed_fields(l),
        Some(_) => {
            return Err(ApplyError::InvalidObject(
                "the live object must be a JSON object".to_owned(),
            ));
        }
        None => Value::Object(Map::new()),
    };

    if live.is_some() && entries.is_empty() {
        // Without this, fields set before tracking began would be silently
        // overwritten instead of conflicting.
        let cmp = schema.compare_objects(&empty_like(&live_clean), &live_clean)?;
        let set = cmp.added.union(&cmp.modified).strip_unowned_meta();
        if !set.is_empty() {
            entries.push(Entry {
                manager: BEFORE_FIRST_APPLY.to_owned(),
                operation: Operation::Update,
                api_version: api_version.to_owned(),
                time: Some(now.to_owned()),
                subresource: None,
                set,
            });
        }
    }

    let mine = identity(manager, Operation::Apply, api_version, None);
    let config_set = field_set(kind, config)?.strip_unowned_meta();
    let last = entries
        .iter()
        .find(|e| e.identity() == mine)
        .map(|e| e.set.clone());

    let mut merged = schema.merge(&mut Vec::new(), &mut Vec::new(), Some(&live_clean), config)?;

    if let Some(last) = last {
        let mut owned = config_set.clone();
        for e in entries.iter().filter(|e| e.identity() != mine) {
            owned.union_with(&e.set);
        }
        schema.prune(&mut Vec::new(), &mut merged, &last, Some(&owned))?;
    }

    let cmp = schema.compare_objects(&live_clean, &merged)?;
    let changed = cmp.added.union(&cmp.modified);

    let mut conflicts = Vec::new();
    for e in entries.iter().filter(|e| e.identity() != mine) {
        for path in e.set.intersection(&changed).members() {
            conflicts.push(Conflict {
                manager: e.manager.clone(),
                operation: e.operation,
                api_version: e.api_version.clone(),
                subresource: e.subresource.clone(),
                field: path_string(&path),
            });
        }
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        return Err(ApplyError::Conflicts(conflicts));
    }

    for e in entries.iter_mut().filter(|e| e.identity() != mine) {
        e.set = e.set.difference(&changed).difference(&cmp.removed);
    }
    entries.retain(|e| e.identity() != mine);
    entries.push(Entry {
        manager: manager.to_owned(),
        operation: Operation::Apply,
        api_version: api_version.to_owned(),
        time: Some(now.to_owned()),
        subresource: None,
        set: config_set,
    });
    drop_nulls(&mut merged);
    write_entries(&mut merged, entries);
    Ok(merged)
}

// ---- update ---------------------------------------------------------------

/// Records ownership for a non-apply write (create, update, patch) of `new`
/// over `old` (None on create) by `manager`, rewriting
/// `new.metadata.managedFields`.
///
/// Never fails the write: if the fields cannot be tracked (malformed lists,
/// undecodable managedFields), the previous managedFields are kept, as the
/// API server does.
pub fn record_update(
    kind: &str,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let manager = manager_name(manager);
    let subresource = subresource.filter(|s| !s.is_empty());
    if try_record_update(kind, old, new, manager, api_version, subresource, now).is_err() {
        let previous = old
            .and_then(|o| o.pointer("/metadata/managedFields"))
            .cloned();
        if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
            match previous {
                Some(p) => {
                    meta.insert("managedFields".to_owned(), p);
                }
                None => {
                    meta.shift_remove("managedFields");
                }
            }
        }
    }
}

fn try_record_update(
    kind: &str,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    now: &str,
) -> Result<(), ApplyError> {
    let old_entries = || {
        decode_entries(old.and_then(|o| o.pointer("/metadata/managedFields"))).unwrap_or_default()
    };
    let requested = new.pointer("/metadata/managedFields");
    let mut entries = match requested {
        // A subresource write may not rewrite ownership of the object.
        _ if subresource.is_some() => old_entries(),
        Some(v) if is_reset(v) => Vec::new(),
        // Clients that know nothing of managedFields send back what they read
        // or nothing at all; only a decodable, non-empty list replaces it.
        Some(v) => match decode_entries(Some(v)) {
            Ok(entries) if !entries.is_empty() => entries,
            _ => old_entries(),
        },
        None => old_entries(),
    };

    if entries.is_empty() && old.is_some() {
        // Tracking starts at creation or at the first apply, never midway.
        if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.shift_remove("managedFields");
        }
        return Ok(());
    }

    let schema = Schema { kind };
    let empty;
    let old_or_empty = match old {
        Some(o) => o,
        None => {
            empty = empty_like(new);
            &empty
        }
    };
    let cmp = schema.compare_objects(old_or_empty, new)?;
    let changed = cmp.added.union(&cmp.modified);

    for e in &mut entries {
        e.set = e.set.difference(&changed).difference(&cmp.removed);
    }
    let taken = changed.strip_unowned_meta();
    if !taken.is_empty() {
        let mine = identity(manager, Operation::Update, api_version, subresource);
        match entries.iter_mut().find(|e| e.identity() == mine) {
            Some(e) => {
                e.set.union_with(&taken);
                e.time = Some(now.to_owned());
            }
            None => entries.push(Entry {
                manager: manager.to_owned(),
                operation: Operation::Update,
                api_version: api_version.to_owned(),
                time: Some(now.to_owned()),
                subresource: subresource.map(str::to_owned),
                set: taken,
            }),
        }
    }
    entries.retain(|e| !e.set.is_empty());
    cap_update_entries(&mut entries);
    write_entries(new, entries);
    Ok(())
}

// ---- schema-aware walks ---------------------------------------------------------

struct Schema<'a> {
    kind: &'a str,
}

#[derive(Clone, Copy)]
enum ItemKey {
    Set,
    Map(&'static [&'static str]),
}

enum Shape<'v> {
    Leaf,
    Map(&'v Map<String, Value>),
    List(&'v [Value], ItemKey),
}

#[derive(Default)]
struct Comparison {
    added: FieldSet,
    modified: FieldSet,
    removed: FieldSet,
}

impl Schema<'_> {
    fn shape<'v>(&self, tpath: &[String], value: &'v Value) -> Shape<'v> {
        match value {
            Value::Object(m) if tpath.is_empty() || !merge_keys::is_atomic(self.kind, tpath) => {
                Shape::Map(m)
            }
            Value::Array(items) => match merge_keys::list_type(self.kind, tpath) {
                ListType::Atomic => Shape::Leaf,
                ListType::Set => Shape::List(items, ItemKey::Set),
                ListType::Map(keys) => Shape::List(items, ItemKey::Map(keys)),
            },
            _ => Shape::Leaf,
        }
    }

    fn item_pe(
        &self,
        tpath: &[String],
        fpath: &[PathElement],
        key: ItemKey,
        item: &Value,
    ) -> Result<PathElement, ApplyError> {
        let keys = match key {
            ItemKey::Set => return Ok(PathElement::Value(compact(item))),
            ItemKey::Map(keys) => keys,
        };
        let Value::Object(fields) = item else {
            return Err(ApplyError::InvalidObject(format!(
                "{}: associative list with keys may not have non-map elements",
                path_string(fpath)
            )));
        };
        let mut sorted: Vec<&str> = keys.to_vec();
        sorted.sort_unstable();
        let mut key_fields = Map::new();
        for name in sorted {
            match fields.get(name) {
                Some(v) if !v.is_null() => {
                    key_fields.insert(name.to_owned(), v.clone());
                }
                _ => {
                    if let Some(default) = merge_keys::list_key_default(self.kind, tpath, name) {
                        key_fields.insert(name.to_owned(), Value::String(default.to_owned()));
                    }
                }
            }
        }
        if key_fields.is_empty() {
            return Err(ApplyError::InvalidObject(format!(
                "{}: associative list with keys has an element that omits all key fields {:?}",
                path_string(fpath),
                keys
            )));
        }
        Ok(PathElement::Key(compact(&Value::Object(key_fields))))
    }

    fn item_pes(
        &self,
        tpath: &[String],
        fpath: &[PathElement],
        key: ItemKey,
        items: &[Value],
    ) -> Result<Vec<PathElement>, ApplyError> {
        items
            .iter()
            .map(|item| self.item_pe(tpath, fpath, key, item))
            .collect()
    }

    // -- field sets

    fn collect(
        &self,
        tpath: &mut Vec<String>,
        fpath: &mut Vec<PathElement>,
        value: &Value,
        out: &mut FieldSet,
    ) -> Result<(), ApplyError> {
        match self.shape(tpath, value) {
            Shape::Leaf => out.insert(fpath),
            Shape::Map(map) => {
                for (k, child) in map {
                    tpath.push(k.clone());
                    fpath.push(PathElement::Field(k.clone()));
                    let result = self.collect(tpath, fpath, child, out);
                    // An explicit null or {} is a statement about the field
                    // even though it has nothing below it.
                    if child.is_null() || child.as_object().is_some_and(Map::is_empty) {
                        out.insert(fpath);
                    }
                    tpath.pop();
                    fpath.pop();
                    result?;
                }
            }
            Shape::List(items, key) => {
                let pes = self.item_pes(tpath, fpath, key, items)?;
                for (item, pe) in items.iter().zip(&pes) {
                    fpath.push(pe.clone());
                    // Duplicated items cannot be told apart, so only the
                    // item as a whole is owned.
                    if pes.iter().filter(|p| *p == pe).count() > 1 {
                        out.insert(fpath);
                    } else {
                        let result = self.collect(tpath, fpath, item, out);
                        out.insert(fpath);
                        if let Err(e) = result {
                            fpath.pop();
                            return Err(e);
                        }
                    }
                    fpath.pop();
                }
            }
        }
        Ok(())
    }

    // -- comparison

    fn compare_objects(&self, old: &Value, new: &Value) -> Result<Comparison, ApplyError> {
        let mut cmp = Comparison::default();
        self.compare(
            &mut Vec::new(),
            &mut Vec::new(),
            Some(old),
            Some(new),
            &mut cmp,
        )?;
        Ok(cmp)
    }

    fn compare(
        &self,
        tpath: &mut Vec<String>,
        fpath: &mut Vec<PathElement>,
        old: Option<&Value>,
        new: Option<&Value>,
        cmp: &mut Comparison,
    ) -> Result<(), ApplyError> {
        // Equal subtrees add nothing; most of an object is unchanged by a typical update.
        if let (Some(o), Some(n)) = (old, new)
            && o == n
        {
            return Ok(());
        }
        let old_shape = old.map(|v| self.shape(tpath, v));
        let new_shape = new.map(|v| self.shape(tpath, v));
        match (old_shape, new_shape) {
            (None, None) => {}
            (Some(Shape::Map(l)), Some(Shape::Map(r))) => {
                self.compare_maps(tpath, fpath, Some(l), Some(r), cmp)?;
            }
            (Some(Shape::List(l, key)), Some(Shape::List(r, _))) => {
                self.compare_lists(tpath, fpath, key, l, r, cmp)?;
            }
            (None, Some(Shape::Map(r))) => {
                self.compare_maps(tpath, fpath, None, Some(r), cmp)?;
                cmp.added.insert(fpath);
            }
            (Some(Shape::Map(l)), None) => {
                self.compare_maps(tpath, fpath, Some(l), None, cmp)?;
                cmp.removed.insert(fpath);
            }
            (None, Some(Shape::List(r, key))) => {
                self.compare_lists(tpath, fpath, key, &[], r, cmp)?;
                cmp.added.insert(fpath);
            }
            (Some(Shape::List(l, key)), None) => {
                self.compare_lists(tpath, fpath, key, l, &[], cmp)?;
                cmp.removed.insert(fpath);
            }
            (None, Some(_)) => cmp.added.insert(fpath),
            (Some(_), None) => cmp.removed.insert(fpath),
            // Leaves, or values whose type changed: compare as wholes.
            (Some(_), Some(_)) => {
                if old != new {
                    cmp.modified.insert(fpath);
                }
            }
        }
        Ok(())
    }

    fn compare_maps(
        &self,
        tpath: &mut Vec<String>,
        fpath: &mut Vec<PathElement>,
        old: Option<&Map<String, Value>>,
        new: Option<&Map<String, Value>>,
        cmp: &mut Comparison,
    ) -> Result<(), ApplyError> {
        let mut keys: Vec<&String> = old.map(|m| m.keys().collect()).unwrap_or_default();
        if let Some(new) = new {
            for k in new.keys() {
                if !old.is_some_and(|o| o.contains_key(k)) {
                    keys.push(k);
                }
            }
        }
        let in_metadata = tpath.len() == 1 && tpath[0] == "metadata";
        for k in keys {
            // managedFields describe the object; they are never part of it.
            if in_metadata && k == "managedFields" {
                continue;
            }
            tpath.push(k.clone());
            fpath.push(PathElement::Field(k.clone()));
            let result = self.compare(
                tpath,
                fpath,
                old.and_then(|m| m.get(k)),
                new.and_then(|m| m.get(k)),
                cmp,
            );
            tpath.pop();
            fpath.pop();
            result?;
        }
        Ok(())
    }

    fn compare_lists(
        &self,
        tpath: &mut Vec<String>,
        fpath: &mut Vec<PathElement>,
        key: ItemKey,
        old: &[Value],
        new: &[Value],
        cmp: &mut Comparison,
    ) -> Result<(), ApplyError> {
        let old_pes = self.item_pes(tpath, fpath, key, old)?;
        let new_pes = self.item_pes(tpath, fpath, key, new)?;
        let mut groups: BTreeMap<&PathElement, (Vec<&Value>, Vec<&Value>)> = BTreeMap::new();
        for (pe, item) in old_pes.iter().zip(old) {
            groups.entry(pe).or_default().0.push(item);
        }
        for (pe, item) in new_pes.iter().zip(new) {
            groups.entry(pe).or_default().1.push(item);
        }
        for (pe, (l, r)) in groups {
            fpath.push(pe.clone());
            let result = match (l.as_slice(), r.as_slice()) {
                ([], []) => Ok(()),
                (l @ ([] | [_]), r @ ([] | [_])) => {
                    self.compare(tpath, fpath, l.first().copied(), r.first().copied(), cmp)
                }
                // Duplicates on both sides can only be compared as a whole.
                (l, r) if l.len() > 1 && r.len() > 1 => {
                    if l != r {
                        cmp.modified.insert(fpath);
                    }
                    Ok(())
                }
                (l, r) if l.len() > 1 => {
                    cmp.removed.insert(fpath);
                    match r.first() {
                        Some(item) => self.compare(tpath, fpath, None, Some(item), cmp),
                        None => Ok(()),
                    }
                }
                (l, _) => {
                    cmp.added.insert(fpath);
                    match l.first() {
                        Some(item) => self.compare(tpath, fpath, Some(item), None, cmp),
                        None => Ok(()),
                    }
                }
            };
            fpath.pop();
            result?;
        }
        Ok(())
    }

    // -- merging

    fn merge(
        &self,
        tpath: &mut Vec<String>,
        fpath: &mut Vec<PathElement>,
        live: Option<&Value>,
        config: &Value,
    ) -> Result<Value, ApplyError> {
        match self.shape(tpath, config) {
            Shape::Leaf => Ok(config.clone()),
            Shape::Map(cfg) => {
                let mut out = match live {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                for (k, child) in cfg {
                    // Applying null clears the field and owns it. The null
                    // stays until conflicts are known, so that clearing a
                    // value someone else owns counts as changing it.
                    if child.is_null() {
                        out.insert(k.clone(), Value::Null);
                        continue;
                    }
                    tpath.push(k.clone());
                    fpath.push(PathElement::Field(k.clone()));
                    let merged = self.merge(tpath, fpath, out.get(k), child);
                    tpath.pop();
                    fpath.pop();
                    out.insert(k.clone(), merged?);
                }
                Ok(Value::Object(out))
            }
            Shape::List(cfg, key) => {
                let live_items: &[Value] = match live {
                    Some(Value::Array(items)) => items,
                    _ => &[],
                };
                Ok(Value::Array(
                    self.merge_list(tpath, fpath, key, live_items, cfg)?,
                ))
            }
        }
    }

    /// Items the configuration names come in its order, merged with their
    /// live counterparts; live-only items stay after the configured item they
    /// followed in the live list.
    fn merge_list(
        &self,
        tpath: &mut Vec<String>,
        fpath: &mut Vec<PathElement>,
        key: ItemKey,
        live: &[Value],
        config: &[Value],
    ) -> Result<Vec<Value>, ApplyError> {
        let cfg_pes = self.item_pes(tpath, fpath, key, config)?;
        let live_pes = self.item_pes(tpath, fpath, key, live)?;
        let mut cfg_pos: BTreeMap<&PathElement, usize> = BTreeMap::new();
        for (i, pe) in cfg_pes.iter().enumerate() {
            if cfg_pos.insert(pe, i).is_some() {
                return Err(ApplyError::InvalidObject(format!(
                    "{}: duplicate entries for key {pe}",
                    path_string(fpath)
                )));
            }
        }
        let mut anchored: Vec<Vec<Value>> = vec![Vec::new(); config.len() + 1];
        let mut anchor = 0;
        for (item, pe) in live.iter().zip(&live_pes) {
            match cfg_pos.get(pe) {
                Some(&j) => anchor = j + 1,
                None => anchored[anchor].push(item.clone()),
            }
        }
        let mut anchored = anchored.into_iter();
        let mut out: Vec<Value> = anchored.next().unwrap_or_default();
        for ((item, pe), after) in config.iter().zip(&cfg_pes).zip(anchored) {
            // A duplicated live item has no single counterpart to merge with.
            let matches: Vec<&Value> = live
                .iter()
                .zip(&live_pes)
                .filter(|(_, p)| *p == pe)
                .map(|(v, _)| v)
                .collect();
            let counterpart = match matches.as_slice() {
                [only] => Some(*only),
                _ => None,
            };
            fpath.push(pe.clone());
            let merged = self.merge(tpath, fpath, counterpart, item);
            fpath.pop();
            out.push(merged?);
            out.extend(after);
        }
        Ok(out)
    }

    // -- pruning

    /// Removes what `last` (the applier's previous set) covers and no manager
    /// owns any more. A struct field survives while anyone owns something in
    /// it; a list item only while someone owns the item itself, so an item
    /// is never left behind without its key fields.
    fn prune(
        &self,
        tpath: &mut Vec<String>,
        value: &mut Value,
        last: &FieldSet,
        owned: Option<&FieldSet>,
    ) -> Result<(), ApplyError> {
        let key = match self.shape(tpath, value) {
            Shape::Leaf => return Ok(()),
            Shape::Map(_) => None,
            Shape::List(_, key) => Some(key),
        };
        match (value, key) {
            (Value::Object(map), None) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    let pe = PathElement::Field(k.clone());
                    let Some(last_child) = last.children.get(&pe) else {
                        continue;
                    };
                    let protected = is_protected(tpath, &k);
                    let owned_child = owned.and_then(|o| o.children.get(&pe));
                    if owned_child.is_none() && !protected {
                        map.shift_remove(&k);
                        continue;
                    }
                    let Some(child) = map.get_mut(&k) else {
                        continue;
                    };
                    let was_empty = is_empty_container(child);
                    tpath.push(k.clone());
                    let result = self.prune(tpath, child, last_child, owned_child);
                    tpath.pop();
                    result?;
                    if !was_empty && is_empty_container(child) && !protected {
                        map.shift_remove(&k);
                    }
                }
            }
            (Value::Array(items), Some(key)) => {
                let fpath: Vec<PathElement> = Vec::new();
                let pes = self.item_pes(tpath, &fpath, key, items)?;
                let mut kept = Vec::with_capacity(items.len());
                for (mut item, pe) in std::mem::take(items).into_iter().zip(pes) {
                    let Some(last_child) = last.children.get(&pe) else {
                        kept.push(item);
                        continue;
                    };
                    let owned_child = owned.and_then(|o| o.children.get(&pe));
                    if !owned_child.is_some_and(|o| o.member) {
                        continue;
                    }
                    self.prune(tpath, &mut item, last_child, owned_child)?;
                    kept.push(item);
                }
                *items = kept;
            }
            _ => {}
        }
        Ok(())
    }
}

fn is_protected(tpath: &[String], key: &str) -> bool {
    match tpath {
        [] => matches!(key, "apiVersion" | "kind" | "metadata"),
        [meta] if meta == "metadata" => PROTECTED_META.contains(&key),
        _ => false,
    }
}

/// Removes null-valued fields: an absent field and a null one mean the same
/// to every Kubernetes type, and stored objects never carry nulls.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

fn without_managed_fields(object: &Value) -> Value {
    let mut out = object.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.shift_remove("managedFields");
    }
    out
}

/// The state a new object is compared against. The API server compares with
/// a zero-valued typed object, whose metadata, spec and status already exist
/// as empty structs; mirroring that keeps the creator from owning those
/// nodes themselves.
fn empty_like(object: &Value) -> Value {
    let mut out = Map::new();
    for top in ["metadata", "spec", "status"] {
        if object.get(top).is_some_and(Value::is_object) {
            out.insert(top.to_owned(), Value::Object(Map::new()));
        }
    }
    Value::Object(out)
}

fn compact(value: &Value) -> String {
    // Serializing a Value cannot fail: its keys are always strings.
    serde_json::to_string(value).unwrap_or_default()
}

fn quote(s: &str) -> String {
    compact(&Value::String(s.to_owned()))
}

fn display_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(display_value).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| format!("{k}={}", display_value(v)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T0: &str = "2024-01-01T00:00:00Z";
    const T1: &str = "2024-01-01T00:01:00Z";
    const T2: &str = "2024-01-01T00:02:00Z";

    fn deployment(replicas: i64, image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": image}]}
                }
            }
        })
    }

    fn entry<'a>(obj: &'a Value, manager: &str) -> &'a Value {
        obj["metadata"]["managedFields"]
            .as_array()
            .and_then(|list| list.iter().find(|e| e["manager"] == manager))
            .unwrap_or(&Value::Null)
    }

    fn owned_paths(obj: &Value, manager: &str) -> Vec<String> {
        FieldSet::from_fields_v1(&entry(obj, manager)["fieldsV1"])
            .unwrap()
            .paths()
    }

    #[test]
    fn fields_v1_round_trip() {
        let encoded = json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}}}
        });
        let set = FieldSet::from_fields_v1(&encoded).unwrap();
        assert_eq!(set.to_fields_v1(), encoded);
        assert_eq!(
            set.paths(),
            vec![
                ".metadata.labels.app",
                ".spec.containers[name=\"nginx\"]",
                ".spec.containers[name=\"nginx\"].image",
                ".spec.containers[name=\"nginx\"].name",
            ]
        );
        // Key JSON is normalised to sorted field order.
        let unsorted = json!({"k:{\"protocol\":\"TCP\",\"containerPort\":80}": {}});
        let set = FieldSet::from_fields_v1(&unsorted).unwrap();
        assert_eq!(
            set.to_fields_v1(),
            json!({"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {}})
        );
        assert_eq!(set.paths(), vec!["[containerPort=80,protocol=\"TCP\"]"]);
        assert!(FieldSet::from_fields_v1(&json!({"x:nope": {}})).is_err());
    }

    #[test]
    fn field_set_encoding_matches_kubernetes() {
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "labels": {"app": "nginx"}, "finalizers": ["a/b"]},
            "spec": {
                "containers": [{
                    "name": "nginx",
                    "image": "nginx",
                    "args": ["-x"],
                    "ports": [{"containerPort": 80}],
                    "resources": {}
                }],
                "nodeSelector": {"disk": "ssd"}
            }
        });
        let set = field_set("Pod", &pod).unwrap().strip_unowned_meta();
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {"f:finalizers": {"v:\"a/b\"": {}}, "f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {},
                        "f:args": {},
                        "f:image": {},
                        "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}
                        }},
                        "f:resources": {}
                    }},
                    "f:nodeSelector": {}
                }
            })
        );
    }

    #[test]
    fn create_via_apply() {
        let config = deployment(3, "nginx:1.25");
        let out = apply("Deployment", None, &config, "kubectl", "apps/v1", false, T0).unwrap();
        assert_eq!(out["spec"]["replicas"], 3);
        let managed = out["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(managed.len(), 1);
        assert_eq!(
            managed[0],
            json!({
                "manager": "kubectl",
                "operation": "Apply",
                "apiVersion": "apps/v1",
                "time": T0,
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {
                        "f:replicas": {},
                        "f:selector": {},
                        "f:template": {
                            "f:metadata": {"f:labels": {"f:app": {}}},
                            "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                                ".": {}, "f:image": {}, "f:name": {}
                            }}}
                        }
                    }
                }
            })
        );
    }

    #[test]
    fn reapply_removes_dropped_fields() {
        let mut config = deployment(3, "nginx");
        config["metadata"]["labels"]["tier"] = json!("web");
        config["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar", "image": "envoy"}));
        let live = apply("Deployment", None, &config, "kubectl", "apps/v1", false, T0).unwrap();

        // A default filled in by the server belongs to nobody and survives.
        let mut live = live;
        live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");

        let out = apply(
            "Deployment",
            Some(&live),
            &deployment(3, "nginx"),
            "kubectl",
            "apps/v1",
            false,
            T1,
        )
        .unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "nginx", "image": "nginx", "imagePullPolicy": "Always"}])
        );
        assert_eq!(out["metadata"]["name"], "web");
        assert!(
            !owned_paths(&out, "kubectl")
                .iter()
                .any(|p| p.contains("sidecar"))
        );
        assert_eq!(entry(&out, "kubectl")["time"], T1);
    }

    #[test]
    fn dropped_field_owned_by_another_manager_stays() {
        let live = apply(
            "Deployment",
            None,
            &deployment(3, "nginx"),
            "a",
            "apps/v1",
            false,
            T0,
        )
        .unwrap();
        let live = apply(
            "Deployment",
            Some(&live),
            &deployment(3, "nginx"),
            "b",
            "apps/v1",
            false,
            T1,
        )
        .unwrap();
        let mut without_replicas = deployment(3, "nginx");
        without_replicas["spec"]
            .as_object_mut()
            .unwrap()
            .remove("replicas");
        let out = apply(
            "Deployment",
            Some(&live),
            &without_replicas,
            "a",
            "apps/v1",
            false,
            T2,
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], 3);
        assert!(owned_paths(&out, "b").contains(&".spec.replicas".to_owned()));
        assert!(!owned_paths(&out, "a").contains(&".spec.replicas".to_owned()));
    }

    #[test]
    fn conflicting_appliers() {
        let live = apply(
            "Deployment",
            None,
            &deployment(3, "nginx"),
            "a",
            "apps/v1",
            false,
            T0,
        )
        .unwrap();
        let err = apply(
            "Deployment",
            Some(&live),
            &deployment(5, "nginx"),
            "b",
            "apps/v1",
            false,
            T1,
        )
        .unwrap_err();
        let ApplyError::Conflicts(conflicts) = &err else {
            panic!("expected conflicts, got {err:?}");
        };
        assert_eq!(
            conflicts,
            &vec![Conflict {
                manager: "a".to_owned(),
                operation: Operation::Apply,
                api_version: "apps/v1".to_owned(),
                subresource: None,
                field: ".spec.replicas".to_owned(),
            }]
        );
        assert_eq!(
            err.to_string(),
            "Apply failed with 1 conflict: conflict with \"a\": .spec.replicas"
        );
    }

    #[test]
    fn clearing_a_field_owned_by_another_manager_conflicts() {
        let live = apply(
            "Deployment",
            None,
            &deployment(3, "nginx"),
            "a",
            "apps/v1",
            false,
            T0,
        )
        .unwrap();
        let mut config = deployment(3, "nginx");
        config["spec"]["replicas"] = Value::Null;
        let err = apply(
            "Deployment",
            Some(&live),
            &config,
            "b",
            "apps/v1",
            false,
            T1,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Apply failed with 1 conflict: conflict with \"a\": .spec.replicas"
        );
        let out = apply("Deployment", Some(&live), &config, "b", "apps/v1", true, T1).unwrap();
        assert!(out["spec"].get("replicas").is_none());
        assert!(owned_paths(&out, "b").contains(&".spec.replicas".to_owned()));
        assert!(!owned_paths(&out, "a").contains(&".spec.replicas".to_owned()));
    }

    #[test]
    fn same_value_is_shared_without_conflict() {
        let live = apply(
            "Deployment",
            None,
            &deployment(3, "nginx"),
            "a",
            "apps/v1",
            false,
            T0,
        )
        .unwrap();
        let out = apply(
            "Deployment",
            Some(&live),
            &deployment(3, "nginx"),
            "b",
            "apps/v1",
            false,
            T1,
        )
        .unwrap();
        assert!(owned_paths(&out, "a").contains(&".spec.replicas".to_owned()));
        assert!(owned_paths(&out, "b").contains(&".spec.replicas".to_owned()));
        // Entries are ordered by operation, then time.
        let managers: Vec<&Value> = out["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["manager"])
            .collect();
        assert_eq!(managers, vec!["a", "b"]);
    }

    #[test]
    fn force_takes_ownership() {
        let live = apply(
            "Deployment",
            None,
            &deployment(3, "nginx"),
            "a",
            "apps/v1",
            false,
            T0,
        )
        .unwrap();
        let out = apply(
            "Deployment",
            Some(&live),
            &deployment(5, "nginx:2"),
            "b",
            "apps/v1",
            true,
            T1,
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], 5);
        let a = owned_paths(&out, "a");
        assert!(!a.contains(&".spec.replicas".to_owned()));
        assert!(!a.iter().any(|p| p.ends_with("].image")));
        assert!(a.contains(&".metadata.labels.app".to_owned()));
        assert!(owned_paths(&out, "b").contains(&".spec.replicas".to_owned()));
    }

    #[test]
    fn update_then_apply_conflicts() {
        let live = apply(
            "Deployment",
            None,
            &deployment(3, "nginx"),
            "kubectl-client-side-apply",
            "apps/v1",
            false,
            T0,
        )
        .unwrap();
        // Someone scales and retags through a plain update.
        let mut updated = live.clone();
        updated["spec"]["replicas"] = json!(7);
        updated["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        record_update(
            "Deployment",
            Some(&live),
            &mut updated,
            "kube-controller",
            "apps/v1",
            None,
            T1,
        );
        let ctl = entry(&updated, "kube-controller");
        assert_eq!(ctl["operation"], "Update");
        assert_eq!(ctl["time"], T1);
        assert_eq!(
            owned_paths(&updated, "kube-controller"),
            vec![
                ".spec.replicas",
                ".spec.template.spec.containers[name=\"nginx\"].image"
            ]
        );
        assert!(
            !owned_paths(&updated, "kubectl-client-side-apply")
                .contains(&".spec.replicas".to_owned())
        );

        let err = apply(
            "Deployment",
            Some(&updated),
            &deployment(3, "nginx"),
            "kubectl-client-side-apply",
            "apps/v1",
            false,
            T2,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Apply failed with 2 conflicts: conflicts with \"kube-controller\" using apps/v1:\n\
             - .spec.replicas\n\
             - .spec.template.spec.containers[name=\"nginx\"].image"
        );
        let ApplyError::Conflicts(conflicts) = err else {
            panic!("expected conflicts");
        };
        assert_eq!(
            conflicts[0].cause_message(),
            "conflict with \"kube-controller\" using apps/v1"
        );
    }

    #[test]
    fn conflicts_message_groups_by_manager() {
        let c = |manager: &str, op, field: &str| Conflict {
            manager: manager.to_owned(),
            operation: op,
            api_version: "v1".to_owned(),
            subresource: None,
            field: field.to_owned(),
        };
        let msg = conflicts_message(&[
            c("z", Operation::Apply, ".data.b"),
            c("a", Operation::Update, ".data.a"),
            c("z", Operation::Apply, ".data.c"),
        ]);
        assert_eq!(
            msg,
            "Apply failed with 3 conflicts: conflicts with \"a\" using v1:\n- .data.a\n\
             conflicts with \"z\":\n- .data.b\n- .data.c"
        );
    }

    #[test]
    fn record_update_on_create_and_change() {
        let mut cm = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "d", "uid": "u1"},
            "data": {"a": "1", "b": "2"}
        });
        record_update("ConfigMap", None, &mut cm, "kubectl-create", "v1", None, T0);
        assert_eq!(
            entry(&cm, "kubectl-create")["fieldsV1"],
            json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}})
        );

        let mut next = cm.clone();
        next["data"]["a"] = json!("changed");
        next["data"].as_object_mut().unwrap().remove("b");
        next["data"]["c"] = json!("3");
        record_update("ConfigMap", Some(&cm), &mut next, "editor", "v1", None, T1);
        assert_eq!(owned_paths(&next, "kubectl-create"), vec![".data"]);
        assert_eq!(owned_paths(&next, "editor"), vec![".data.a", ".data.c"]);

        // Nothing changed: nobody's entry moves.
        let mut same = next.clone();
        record_update("ConfigMap", Some(&next), &mut same, "other", "v1", None, T2);
        assert_eq!(
            same["metadata"]["managedFields"],
            next["metadata"]["managedFields"]
        );
    }

    #[test]
    fn record_update_merges_entries_and_drops_empty_ones() {
        let mut obj = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
        record_update("ConfigMap", None, &mut obj, "m", "v1", None, T0);
        let mut next = obj.clone();
        next["data"]["b"] = json!("2");
        record_update("ConfigMap", Some(&obj), &mut next, "m", "v1", None, T1);
        let list = next["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(owned_paths(&next, "m"), vec![".data", ".data.a", ".data.b"]);
        assert_eq!(list[0]["time"], T1);

        // Another manager rewriting every field leaves "m" with just the map node.
        let mut last = next.clone();
        last["data"] = json!({"a": "x", "b": "y"});
        record_update("ConfigMap", Some(&next), &mut last, "n", "v1", None, T2);
        assert_eq!(owned_paths(&last, "m"), vec![".data"]);
    }

    #[test]
    fn record_update_status_subresource() {
        let mut pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
        record_update("Pod", None, &mut pod, "kubectl", "v1", None, T0);
        let mut next = pod.clone();
        next["status"] =
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]});
        record_update(
            "Pod",
            Some(&pod),
            &mut next,
            "kubelet",
            "v1",
            Some("status"),
            T1,
        );
        let kubelet = entry(&next, "kubelet");
        assert_eq!(kubelet["subresource"], "status");
        assert_eq!(
            kubelet["fieldsV1"],
            json!({"f:status": {".": {}, "f:conditions": {".": {}, "k:{\"type\":\"Ready\"}": {
                ".": {}, "f:status": {}, "f:type": {}
            }}, "f:phase": {}}})
        );
    }

    #[test]
    fn record_update_respects_reset_and_untracked_objects() {
        let mut obj = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
        record_update("ConfigMap", None, &mut obj, "m", "v1", None, T0);

        // An empty list is taken as "unchanged".
        let mut emptied = obj.clone();
        emptied["metadata"]["managedFields"] = json!([]);
        record_update("ConfigMap", Some(&obj), &mut emptied, "m", "v1", None, T1);
        assert_eq!(owned_paths(&emptied, "m"), vec![".data", ".data.a"]);

        // `[{}]` asks for tracking to stop.
        let mut reset = obj.clone();
        reset["metadata"]["managedFields"] = json!([{}]);
        reset["data"]["a"] = json!("2");
        record_update("ConfigMap", Some(&obj), &mut reset, "m", "v1", None, T1);
        assert!(reset["metadata"].get("managedFields").is_none());

        // Objects with no tracking stay untracked on update.
        let mut next = reset.clone();
        next["data"]["a"] = json!("3");
        record_update("ConfigMap", Some(&reset), &mut next, "m", "v1", None, T2);
        assert!(next["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn apply_to_untracked_object_conflicts_with_existing_fields() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "2"}});
        let err = apply("ConfigMap", Some(&live), &config, "ssa", "v1", false, T1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Apply failed with 1 conflict: conflict with \"before-first-apply\" using v1: .data.a"
        );
        let out = apply("ConfigMap", Some(&live), &config, "ssa", "v1", true, T1).unwrap();
        assert_eq!(out["data"]["a"], "2");
        assert_eq!(owned_paths(&out, "ssa"), vec![".data.a"]);
        assert_eq!(owned_paths(&out, "before-first-apply"), vec![".data"]);
    }

    #[test]
    fn apply_rejects_untrackable_configs() {
        let mut config = deployment(1, "x");
        config["spec"]["template"]["spec"]["containers"] = json!([{"image": "x"}]);
        let err = apply("Deployment", None, &config, "m", "apps/v1", false, T0).unwrap_err();
        assert!(matches!(err, ApplyError::InvalidObject(_)), "{err}");

        let mut config = deployment(1, "x");
        config["spec"]["template"]["spec"]["containers"] =
            json!([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]);
        let err = apply("Deployment", None, &config, "m", "apps/v1", false, T0).unwrap_err();
        assert_eq!(
            err.to_string(),
            ".spec.template.spec.containers: duplicate entries for key [name=\"a\"]"
        );

        let mut config = deployment(1, "x");
        config["metadata"]["managedFields"] = json!([]);
        assert!(apply("Deployment", None, &config, "m", "apps/v1", false, T0).is_err());
    }

    #[test]
    fn apply_merges_lists_by_key_and_keeps_others_items() {
        let live = apply(
            "Deployment",
            None,
            &deployment(1, "nginx"),
            "a",
            "apps/v1",
            false,
            T0,
        )
        .unwrap();
        let mut config = deployment(1, "nginx");
        config["spec"]["template"]["spec"]["containers"] =
            json!([{"name": "sidecar", "image": "envoy"}]);
        config["spec"].as_object_mut().unwrap().remove("replicas");
        let out = apply(
            "Deployment",
            Some(&live),
            &config,
            "b",
            "apps/v1",
            false,
            T1,
        )
        .unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "nginx", "image": "nginx"}, {"name": "sidecar", "image": "envoy"}])
        );
    }

    #[test]
    fn update_managers_are_capped() {
        let mut obj = json!({"metadata": {"name": "c"}, "data": {}});
        record_update(
            "ConfigMap",
            None,
            &mut obj,
            "creator",
            "v1",
            None,
            "2024-01-01T00:00:00Z",
        );
        for i in 0..12 {
            let mut next = obj.clone();
            next["data"][format!("k{i}")] = json!("v");
            record_update(
                "ConfigMap",
                Some(&obj),
                &mut next,
                &format!("m{i:02}"),
                "v1",
                None,
                &format!("2024-01-01T01:{i:02}:00Z"),
            );
            obj = next;
        }
        let list = obj["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(list.len(), MAX_UPDATE_MANAGERS);
        let ancient = entry(&obj, ANCIENT_CHANGES);
        assert_eq!(ancient["operation"], "Update");
        assert!(ancient["fieldsV1"]["f:data"].get("f:k0").is_some());
    }
}
