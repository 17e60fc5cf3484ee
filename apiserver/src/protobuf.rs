//! Decoder for Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).
//!
//! kubectl sends protobuf through its typed client-go clients: `kubectl create
//! <generator>`, `kubectl auth can-i` / `whoami`, `kubectl create token` and
//! drain's DELETE fallback. Capstan stores and answers JSON, so this module
//! turns such a body into the JSON object kube-apiserver would have produced
//! from it (Go's protobuf unmarshal followed by encoding/json), which is also
//! what kubectl itself would send as JSON.
//!
//! The body is the 4-byte magic `k8s\0` followed by a `runtime.Unknown`
//! envelope whose `typeMeta` names the object and whose `raw` holds the object
//! message. Decoding is driven by a static schema table (at the end of this
//! file) instead of generated structs: it keeps the dependency footprint at
//! serde_json, and only objects kubectl actually sends as protobuf are needed.
//!
//! Go's generated marshallers always write non-pointer scalars, so a bare
//! "absent in JSON when absent on the wire" rule would leak dozens of `""`,
//! `0` and `false` values (for example `spec.restartPolicy: ""`), which would
//! defeat defaulting downstream. Each field therefore records whether Go's JSON
//! tag would drop its zero value (`omitempty` on a non-pointer scalar, or
//! `omitzero`); pointer fields and fields without `omitempty` keep zero values,
//! so `replicas: 0` survives. Fields unknown to the table are skipped, as Go
//! skips unknown protobuf fields.

use base64::Engine as _;
use capstan_api_types::time::{NANOS_PER_SEC, Nanos, ZERO_TIME, format_rfc3339};
use serde_json::{Map, Value};

/// Media type of Kubernetes protobuf bodies, as sent in `Content-Type`.
pub const PROTOBUF_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Prefix that distinguishes Kubernetes protobuf envelopes from bare messages.
const MAGIC: &[u8; 4] = b"k8s\0";

/// Bounds recursion on hostile input; the deepest real schema path is ~15.
const MAX_DEPTH: u32 = 64;

/// Why a protobuf body could not be turned into JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    /// The envelope is fine but no schema exists for this object type.
    #[error(
        "protobuf request bodies are not supported for kind {kind:?} in {api_version:?}; \
         send application/json instead"
    )]
    UnsupportedKind { api_version: String, kind: String },
    /// The bytes are not a valid Kubernetes protobuf envelope or message.
    #[error("malformed protobuf request body: {0}")]
    Malformed(String),
}

/// Decodes a Kubernetes protobuf request body into its JSON object form,
/// including `apiVersion` and `kind` taken from the envelope.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let payload = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| malformed("missing the k8s\\0 protobuf magic prefix"))?;
    let envelope = Envelope::parse(payload)?;
    if envelope.kind.is_empty() {
        return Err(malformed("runtime.Unknown carries no kind"));
    }
    if !envelope.content_encoding.is_empty() {
        return Err(malformed(format!(
            "unsupported contentEncoding {:?}",
            envelope.content_encoding
        )));
    }
    let schema = ROOTS
        .iter()
        .find(|(api_version, kind, _)| {
            *kind == envelope.kind
                && (*api_version == ANY_VERSION || *api_version == envelope.api_version)
        })
        .map(|(_, _, schema)| *schema)
        .ok_or_else(|| ProtobufError::UnsupportedKind {
            api_version: envelope.api_version.clone(),
            kind: envelope.kind.clone(),
        })?;

    let mut out = Map::new();
    out.insert("apiVersion".to_owned(), Value::String(envelope.api_version));
    out.insert("kind".to_owned(), Value::String(envelope.kind));
    decode_fields(envelope.raw, schema, &mut out, 0)?;
    Ok(Value::Object(out))
}

fn malformed(msg: impl Into<String>) -> ProtobufError {
    ProtobufError::Malformed(msg.into())
}

/// The `runtime.Unknown` wrapper around every protobuf object body.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
}

impl<'a> Envelope<'a> {
    fn parse(buf: &'a [u8]) -> Result<Self, ProtobufError> {
        let mut envelope = Envelope {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
            content_encoding: String::new(),
        };
        let mut reader = Reader::new(buf);
        while let Some((num, wire)) = reader.field(0)? {
            match num {
                1 => {
                    let mut type_meta = Reader::new(wire.bytes("Unknown.typeMeta")?);
                    while let Some((num, wire)) = type_meta.field(0)? {
                        match num {
                            1 => envelope.api_version = wire.string("TypeMeta.apiVersion")?,
                            2 => envelope.kind = wire.string("TypeMeta.kind")?,
                            _ => {}
                        }
                    }
                }
                2 => envelope.raw = wire.bytes("Unknown.raw")?,
                3 => envelope.content_encoding = wire.string("Unknown.contentEncoding")?,
                // contentType (4) is ignored, as kube-apiserver ignores it.
                _ => {}
            }
        }
        Ok(envelope)
    }
}

// ---------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------

/// One field value as it appears on the wire. Fixed-width values carry no
/// payload because no supported Kubernetes field uses them; they only need
/// to be skipped.
enum Wire<'a> {
    Varint(u64),
    Len(&'a [u8]),
    Fixed,
    Group,
}

impl<'a> Wire<'a> {
    fn name(&self) -> &'static str {
        match self {
            Wire::Varint(_) => "varint",
            Wire::Len(_) => "length-delimited",
            Wire::Fixed => "fixed-width",
            Wire::Group => "group",
        }
    }

    fn bytes(self, what: &str) -> Result<&'a [u8], ProtobufError> {
        match self {
            Wire::Len(bytes) => Ok(bytes),
            other => Err(wrong_wire(what, &other, "length-delimited")),
        }
    }

    fn string(self, what: &str) -> Result<String, ProtobufError> {
        // Go does not validate UTF-8 here and encoding/json then substitutes
        // U+FFFD, which is exactly what a lossy conversion does.
        self.bytes(what)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    }

    fn varint(self, what: &str) -> Result<u64, ProtobufError> {
        match self {
            Wire::Varint(value) => Ok(value),
            other => Err(wrong_wire(what, &other, "varint")),
        }
    }
}

fn wrong_wire(what: &str, got: &Wire<'_>, expected: &str) -> ProtobufError {
    malformed(format!(
        "{what}: got wire type {}, expected {expected}",
        got.name()
    ))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| malformed("truncated varint"))?;
            self.pos += 1;
            // The tenth byte may only contribute the top bit of a u64.
            if shift == 63 && byte > 1 {
                return Err(malformed("varint overflows 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint overflows 64 bits"))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], ProtobufError> {
        let remaining = self.buf.len() - self.pos;
        let len = usize::try_from(len)
            .ok()
            .filter(|len| *len <= remaining)
            .ok_or_else(|| malformed("length exceeds the remaining input"))?;
        let bytes = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    /// Reads the next field, or `None` at the end of the buffer. Groups are
    /// consumed whole here so callers only have to reject or ignore them.
    fn field(&mut self, depth: u32) -> Result<Option<(u32, Wire<'a>)>, ProtobufError> {
        if self.is_empty() {
            return Ok(None);
        }
        let (num, wire_type) = self.tag()?;
        let wire = match wire_type {
            0 => Wire::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Wire::Fixed
            }
            2 => {
                let len = self.varint()?;
                Wire::Len(self.take(len)?)
            }
            3 => {
                self.skip_group(num, depth + 1)?;
                Wire::Group
            }
            4 => return Err(malformed(format!("unexpected end of group {num}"))),
            5 => {
                self.take(4)?;
                Wire::Fixed
            }
            other => return Err(malformed(format!("invalid wire type {other}"))),
        };
        Ok(Some((num, wire)))
    }

    fn tag(&mut self) -> Result<(u32, u8), ProtobufError> {
        let tag = self.varint()?;
        let num = u32::try_from(tag >> 3)
            .ok()
            .filter(|num| (1..=0x1fff_ffff).contains(num))
            .ok_or_else(|| malformed(format!("invalid field number {}", tag >> 3)))?;
        // Masked to three bits, so the cast cannot truncate.
        Ok((num, (tag & 7) as u8))
    }

    fn skip_group(&mut self, num: u32, depth: u32) -> Result<(), ProtobufError> {
        if depth > MAX_DEPTH {
            return Err(malformed("groups nested too deeply"));
        }
        loop {
            if self.is_empty() {
                return Err(malformed(format!("unterminated group {num}")));
            }
            let start = self.pos;
            let (inner, wire_type) = self.tag()?;
            if wire_type == 4 {
                if inner == num {
                    return Ok(());
                }
                return Err(malformed(format!("group {num} closed as {inner}")));
            }
            self.pos = start;
            self.field(depth)?;
        }
    }
}

// ---------------------------------------------------------------------------
// Schema-driven decoding
// ---------------------------------------------------------------------------

/// JSON shape of a field's (element) value.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    /// `[]byte`, base64 in JSON like Go's encoding/json.
    Bytes,
    Bool,
    Int32,
    Int64,
    /// metav1.Time: `{seconds, nanos}` on the wire, RFC 3339 or null in JSON.
    Time,
    /// intstr.IntOrString: `{type, intVal, strVal}`, a bare number or string in JSON.
    IntOrString,
    /// resource.Quantity: `{string}`, a bare string in JSON.
    Quantity,
    /// metav1.FieldsV1: `{Raw}` holding JSON that is embedded as is.
    RawJson,
    /// `[]string` types wrapped as `{items}` so they can be map values (ExtraValue).
    StrList,
    Msg(&'static Message),
}

#[derive(Clone, Copy)]
enum Card {
    /// Optional field; `omit_zero` mirrors Go dropping the zero value in JSON.
    Single {
        omit_zero: bool,
    },
    Repeated,
    /// `map<string, V>`, wire-encoded as repeated `{1: key, 2: value}` entries.
    Map,
    /// Go struct embedded with `json:",inline"`: its fields join the parent object.
    Inline,
}

struct Field {
    num: u32,
    json: &'static str,
    ty: Ty,
    card: Card,
}

struct Message {
    name: &'static str,
    /// Sorted by field number.
    fields: &'static [Field],
}

impl Message {
    fn field(&self, num: u32) -> Option<&Field> {
        self.fields
            .binary_search_by_key(&num, |field| field.num)
            .ok()
            .map(|index| &self.fields[index])
    }
}

const fn opt(num: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        num,
        json,
        ty,
        card: Card::Single { omit_zero: false },
    }
}

const fn opt_oz(num: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        num,
        json,
        ty,
        card: Card::Single { omit_zero: true },
    }
}

const fn rep(num: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        num,
        json,
        ty,
        card: Card::Repeated,
    }
}

const fn map(num: u32, json: &'static str, ty: Ty) -> Field {
    Field {
        num,
        json,
        ty,
        card: Card::Map,
    }
}

const fn inline(num: u32, ty: Ty) -> Field {
    Field {
        num,
        json: "",
        ty,
        card: Card::Inline,
    }
}

/// Decodes `buf` as `msg` into `out`. Decoding into an existing object gives
/// Go's merge semantics when an embedded message occurs more than once.
fn decode_fields(
    buf: &[u8],
    msg: &'static Message,
    out: &mut Map<String, Value>,
    depth: u32,
) -> Result<(), ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(malformed("messages nested too deeply"));
    }
    let mut reader = Reader::new(buf);
    while let Some((num, wire)) = reader.field(depth)? {
        let Some(field) = msg.field(num) else {
            continue;
        };
        match field.card {
            Card::Inline => {
                let bytes = wire.bytes(&context(msg, field))?;
                if let Ty::Msg(inner) = field.ty {
                    decode_fields(bytes, inner, out, depth + 1)?;
                }
            }
            Card::Single { omit_zero } => {
                if let (Ty::Msg(inner), Wire::Len(bytes)) = (field.ty, &wire) {
                    let target = object_entry(out, field.json)?;
                    decode_fields(bytes, inner, target, depth + 1)?;
                    continue;
                }
                let value = decode_value(msg, field, wire, depth)?;
                if omit_zero && is_zero(&value) {
                    // A later zero overrides an earlier value, as in Go.
                    out.remove(field.json);
                } else {
                    out.insert(field.json.to_owned(), value);
                }
            }
            Card::Repeated => match (field.ty, wire) {
                // Packed encoding is legal for repeated scalars even though
                // Go's proto2 code never emits it.
                (Ty::Bool | Ty::Int32 | Ty::Int64, Wire::Len(bytes)) => {
                    let mut packed = Reader::new(bytes);
                    let mut values = Vec::new();
                    while !packed.is_empty() {
                        values.push(scalar(field.ty, packed.varint()?));
                    }
                    array_entry(out, field.json)?.extend(values);
                }
                (_, wire) => {
                    let value = decode_value(msg, field, wire, depth)?;
                    array_entry(out, field.json)?.push(value);
                }
            },
            Card::Map => {
                let bytes = wire.bytes(&context(msg, field))?;
                let (key, value) = decode_map_entry(msg, field, bytes, depth + 1)?;
                object_entry(out, field.json)?.insert(key, value);
            }
        }
    }
    Ok(())
}

fn context(msg: &Message, field: &Field) -> String {
    if field.json.is_empty() {
        format!("{}#{}", msg.name, field.num)
    } else {
        format!("{}.{}", msg.name, field.json)
    }
}

fn object_entry<'m>(
    out: &'m mut Map<String, Value>,
    key: &str,
) -> Result<&'m mut Map<String, Value>, ProtobufError> {
    let slot = out.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
        .ok_or_else(|| malformed(format!("{key} is not an object")))
}

fn array_entry<'m>(
    out: &'m mut Map<String, Value>,
    key: &str,
) -> Result<&'m mut Vec<Value>, ProtobufError> {
    let slot = out.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut()
        .ok_or_else(|| malformed(format!("{key} is not an array")))
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_i64() == Some(0),
        Value::String(text) => text.is_empty(),
        Value::Array(_) | Value::Object(_) => false,
    }
}

fn scalar(ty: Ty, raw: u64) -> Value {
    match ty {
        Ty::Bool => Value::Bool(raw != 0),
        // int32 travels sign-extended to 64 bits; Go keeps the low 32 bits.
        Ty::Int32 => Value::from(raw as i32),
        _ => Value::from(raw as i64),
    }
}

fn decode_value(
    msg: &Message,
    field: &Field,
    wire: Wire<'_>,
    depth: u32,
) -> Result<Value, ProtobufError> {
    let what = || context(msg, field);
    Ok(match field.ty {
        Ty::Bool | Ty::Int32 | Ty::Int64 => scalar(field.ty, wire.varint(&what())?),
        Ty::Str => Value::String(wire.string(&what())?),
        Ty::Bytes => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(wire.bytes(&what())?))
        }
        Ty::Time => decode_time(wire.bytes(&what())?)?,
        Ty::IntOrString => decode_int_or_string(wire.bytes(&what())?)?,
        Ty::Quantity => decode_quantity(wire.bytes(&what())?)?,
        Ty::RawJson => decode_raw_json(wire.bytes(&what())?)?,
        Ty::StrList => decode_str_list(wire.bytes(&what())?)?,
        Ty::Msg(inner) => {
            let mut object = Map::new();
            decode_fields(wire.bytes(&what())?, inner, &mut object, depth + 1)?;
            Value::Object(object)
        }
    })
}

fn decode_map_entry(
    msg: &Message,
    field: &Field,
    buf: &[u8],
    depth: u32,
) -> Result<(String, Value), ProtobufError> {
    let mut key = String::new();
    let mut value = None;
    let mut reader = Reader::new(buf);
    while let Some((num, wire)) = reader.field(depth)? {
        match num {
            1 => key = wire.string(&context(msg, field))?,
            2 => value = Some(decode_value(msg, field, wire, depth)?),
            _ => {}
        }
    }
    // Go fills a missing entry value with the type's zero value.
    let value = match value {
        Some(value) => value,
        None => zero_value(field.ty),
    };
    Ok((key, value))
}

fn zero_value(ty: Ty) -> Value {
    match ty {
        Ty::Str | Ty::Bytes => Value::String(String::new()),
        Ty::Bool => Value::Bool(false),
        Ty::Int32 | Ty::Int64 | Ty::IntOrString => Value::from(0),
        Ty::Quantity => Value::String("0".to_owned()),
        Ty::Time | Ty::RawJson => Value::Null,
        Ty::StrList => Value::Array(Vec::new()),
        Ty::Msg(_) => Value::Object(Map::new()),
    }
}

fn decode_time(buf: &[u8]) -> Result<Value, ProtobufError> {
    // An empty message is how Go writes the zero time.
    if buf.is_empty() {
        return Ok(Value::Null);
    }
    let mut seconds = 0i64;
    let mut reader = Reader::new(buf);
    while let Some((num, wire)) = reader.field(0)? {
        // nanos (2) is dropped: metav1.Time has second precision, and Go's
        // unmarshaller discards it too.
        if num == 1 {
            seconds = wire.varint("Time.seconds")? as i64;
        }
    }
    let t = Nanos::from(seconds) * NANOS_PER_SEC;
    // Go's zero time is how metav1.Time encodes null.
    if t == ZERO_TIME {
        return Ok(Value::Null);
    }
    Ok(Value::String(format_rfc3339(t)))
}

fn decode_int_or_string(buf: &[u8]) -> Result<Value, ProtobufError> {
    let (mut kind, mut int_val, mut str_val) = (0u64, 0i32, String::new());
    let mut reader = Reader::new(buf);
    while let Some((num, wire)) = reader.field(0)? {
        match num {
            1 => kind = wire.varint("IntOrString.type")?,
            2 => int_val = wire.varint("IntOrString.intVal")? as i32,
            3 => str_val = wire.string("IntOrString.strVal")?,
            _ => {}
        }
    }
    match kind {
        0 => Ok(Value::from(int_val)),
        1 => Ok(Value::String(str_val)),
        // Go's MarshalJSON fails on any other type as well.
        other => Err(malformed(format!("IntOrString has invalid type {other}"))),
    }
}

fn decode_quantity(buf: &[u8]) -> Result<Value, ProtobufError> {
    // The string is passed through rather than re-canonicalised: clients
    // (kubectl included) already send Quantity.String(), the canonical form.
    let mut text = None;
    let mut reader = Reader::new(buf);
    while let Some((num, wire)) = reader.field(0)? {
        if num == 1 {
            text = Some(wire.string("Quantity.string")?);
        }
    }
    match text {
        Some(text) if text.is_empty() => Err(malformed("Quantity has an empty string")),
        Some(text) => Ok(Value::String(text)),
        None => Ok(Value::String("0".to_owned())),
    }
}

fn decode_raw_json(buf: &[u8]) -> Result<Value, ProtobufError> {
    let mut raw: &[u8] = &[];
    let mut reader = Reader::new(buf);
    while let Some((num, wire)) = reader.field(0)? {
        if num == 1 {
            raw = wire.bytes("FieldsV1.Raw")?;
        }
    }
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(raw).map_err(|err| malformed(format!("FieldsV1 is not JSON: {err}")))
}

fn decode_str_list(buf: &[u8]) -> Result<Value, ProtobufError> {
    let mut items = Vec::new();
    let mut reader = Reader::new(buf);
    while let Some((num, wire)) = reader.field(0)? {
        if num == 1 {
            items.push(Value::String(wire.string("ExtraValue.items")?));
        }
    }
    Ok(Value::Array(items))
}

// ---------------------------------------------------------------------------
// Schema table
//
// Generated from k8s.io/api and k8s.io/apimachinery v0.36.3 (Kubernetes 1.36):
// field numbers and wire types from each package's generated.proto, JSON
// names, `omitempty`/`omitzero`, pointer-ness and `,inline` from the
// corresponding types.go struct tags. Only messages reachable from ROOTS are
// listed. Field numbers never change between Kubernetes versions, so the
// table also reads bodies from older clients (they just lack newer fields).
// To support another kind, add its message tree with the same rules: `opt_oz`
// for a non-pointer scalar with omitempty, `opt` otherwise, `inline` for
// embedded structs with `json:",inline"`.
// ---------------------------------------------------------------------------

const CORE_V1: &str = "v1";
const APPS_V1: &str = "apps/v1";
const BATCH_V1: &str = "batch/v1";
const POLICY_V1: &str = "policy/v1";
const SCHEDULING_V1: &str = "scheduling.k8s.io/v1";
const AUTHORIZATION_V1: &str = "authorization.k8s.io/v1";
const AUTHENTICATION_V1: &str = "authentication.k8s.io/v1";
const RBAC_V1: &str = "rbac.authorization.k8s.io/v1";
const NETWORKING_V1: &str = "networking.k8s.io/v1";
const ANY_VERSION: &str = "*";

/// Supported (apiVersion, kind) pairs; ANY_VERSION matches every apiVersion.
static ROOTS: &[(&str, &str, &Message)] = &[
    (CORE_V1, "Namespace", &CORE_NAMESPACE),
    (CORE_V1, "ConfigMap", &CORE_CONFIG_MAP),
    (CORE_V1, "Secret", &CORE_SECRET),
    (CORE_V1, "Service", &CORE_SERVICE),
    (CORE_V1, "ServiceAccount", &CORE_SERVICE_ACCOUNT),
    (CORE_V1, "Pod", &CORE_POD),
    (CORE_V1, "ResourceQuota", &CORE_RESOURCE_QUOTA),
    (CORE_V1, "Binding", &CORE_BINDING),
    (APPS_V1, "Deployment", &APPS_DEPLOYMENT),
    (BATCH_V1, "Job", &BATCH_JOB),
    (BATCH_V1, "CronJob", &BATCH_CRON_JOB),
    (
        POLICY_V1,
        "PodDisruptionBudget",
        &POLICY_POD_DISRUPTION_BUDGET,
    ),
    (POLICY_V1, "Eviction", &POLICY_EVICTION),
    (SCHEDULING_V1, "PriorityClass", &SCHED_PRIORITY_CLASS),
    (
        AUTHORIZATION_V1,
        "SelfSubjectAccessReview",
        &AUTHZ_SELF_SUBJECT_ACCESS_REVIEW,
    ),
    (
        AUTHORIZATION_V1,
        "SelfSubjectRulesReview",
        &AUTHZ_SELF_SUBJECT_RULES_REVIEW,
    ),
    (
        AUTHORIZATION_V1,
        "SubjectAccessReview",
        &AUTHZ_SUBJECT_ACCESS_REVIEW,
    ),
    (
        AUTHORIZATION_V1,
        "LocalSubjectAccessReview",
        &AUTHZ_LOCAL_SUBJECT_ACCESS_REVIEW,
    ),
    (AUTHENTICATION_V1, "TokenRequest", &AUTHN_TOKEN_REQUEST),
    (AUTHENTICATION_V1, "TokenReview", &AUTHN_TOKEN_REVIEW),
    (
        AUTHENTICATION_V1,
        "SelfSubjectReview",
        &AUTHN_SELF_SUBJECT_REVIEW,
    ),
    (RBAC_V1, "Role", &RBAC_ROLE),
    (RBAC_V1, "ClusterRole", &RBAC_CLUSTER_ROLE),
    (RBAC_V1, "RoleBinding", &RBAC_ROLE_BINDING),
    (RBAC_V1, "ClusterRoleBinding", &RBAC_CLUSTER_ROLE_BINDING),
    (NETWORKING_V1, "Ingress", &NET_INGRESS),
    (ANY_VERSION, "DeleteOptions", &META_DELETE_OPTIONS),
];

static CORE_NAMESPACE: Message = Message {
    name: "Namespace",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&CORE_NAMESPACE_SPEC)),
        opt(3, "status", Ty::Msg(&CORE_NAMESPACE_STATUS)),
    ],
};

static CORE_CONFIG_MAP: Message = Message {
    name: "ConfigMap",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        map(2, "data", Ty::Str),
        map(3, "binaryData", Ty::Bytes),
        opt(4, "immutable", Ty::Bool),
    ],
};

static CORE_SECRET: Message = Message {
    name: "Secret",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        map(2, "data", Ty::Bytes),
        opt_oz(3, "type", Ty::Str),
        map(4, "stringData", Ty::Str),
        opt(5, "immutable", Ty::Bool),
    ],
};

static CORE_SERVICE: Message = Message {
    name: "Service",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&CORE_SERVICE_SPEC)),
        opt(3, "status", Ty::Msg(&CORE_SERVICE_STATUS)),
    ],
};

static CORE_SERVICE_ACCOUNT: Message = Message {
    name: "ServiceAccount",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        rep(2, "secrets", Ty::Msg(&CORE_OBJECT_REFERENCE)),
        rep(3, "imagePullSecrets", Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        opt(4, "automountServiceAccountToken", Ty::Bool),
    ],
};

static CORE_POD: Message = Message {
    name: "Pod",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&CORE_POD_SPEC)),
        opt(3, "status", Ty::Msg(&CORE_POD_STATUS)),
    ],
};

static CORE_RESOURCE_QUOTA: Message = Message {
    name: "ResourceQuota",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&CORE_RESOURCE_QUOTA_SPEC)),
        opt(3, "status", Ty::Msg(&CORE_RESOURCE_QUOTA_STATUS)),
    ],
};

static CORE_BINDING: Message = Message {
    name: "Binding",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "target", Ty::Msg(&CORE_OBJECT_REFERENCE)),
    ],
};

static APPS_DEPLOYMENT: Message = Message {
    name: "Deployment",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&APPS_DEPLOYMENT_SPEC)),
        opt(3, "status", Ty::Msg(&APPS_DEPLOYMENT_STATUS)),
    ],
};

static BATCH_JOB: Message = Message {
    name: "Job",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&BATCH_JOB_SPEC)),
        opt(3, "status", Ty::Msg(&BATCH_JOB_STATUS)),
    ],
};

static BATCH_CRON_JOB: Message = Message {
    name: "CronJob",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&BATCH_CRON_JOB_SPEC)),
        opt(3, "status", Ty::Msg(&BATCH_CRON_JOB_STATUS)),
    ],
};

static POLICY_POD_DISRUPTION_BUDGET: Message = Message {
    name: "PodDisruptionBudget",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&POLICY_POD_DISRUPTION_BUDGET_SPEC)),
        opt(3, "status", Ty::Msg(&POLICY_POD_DISRUPTION_BUDGET_STATUS)),
    ],
};

static POLICY_EVICTION: Message = Message {
    name: "Eviction",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "deleteOptions", Ty::Msg(&META_DELETE_OPTIONS)),
    ],
};

static SCHED_PRIORITY_CLASS: Message = Message {
    name: "PriorityClass",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "value", Ty::Int32),
        opt_oz(3, "globalDefault", Ty::Bool),
        opt_oz(4, "description", Ty::Str),
        opt(5, "preemptionPolicy", Ty::Str),
    ],
};

static AUTHZ_SELF_SUBJECT_ACCESS_REVIEW: Message = Message {
    name: "SelfSubjectAccessReview",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&AUTHZ_SELF_SUBJECT_ACCESS_REVIEW_SPEC)),
        opt(3, "status", Ty::Msg(&AUTHZ_SUBJECT_ACCESS_REVIEW_STATUS)),
    ],
};

static AUTHZ_SELF_SUBJECT_RULES_REVIEW: Message = Message {
    name: "SelfSubjectRulesReview",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&AUTHZ_SELF_SUBJECT_RULES_REVIEW_SPEC)),
        opt(3, "status", Ty::Msg(&AUTHZ_SUBJECT_RULES_REVIEW_STATUS)),
    ],
};

static AUTHZ_SUBJECT_ACCESS_REVIEW: Message = Message {
    name: "SubjectAccessReview",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&AUTHZ_SUBJECT_ACCESS_REVIEW_SPEC)),
        opt(3, "status", Ty::Msg(&AUTHZ_SUBJECT_ACCESS_REVIEW_STATUS)),
    ],
};

static AUTHZ_LOCAL_SUBJECT_ACCESS_REVIEW: Message = Message {
    name: "LocalSubjectAccessReview",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&AUTHZ_SUBJECT_ACCESS_REVIEW_SPEC)),
        opt(3, "status", Ty::Msg(&AUTHZ_SUBJECT_ACCESS_REVIEW_STATUS)),
    ],
};

static AUTHN_TOKEN_REQUEST: Message = Message {
    name: "TokenRequest",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&AUTHN_TOKEN_REQUEST_SPEC)),
        opt(3, "status", Ty::Msg(&AUTHN_TOKEN_REQUEST_STATUS)),
    ],
};

static AUTHN_TOKEN_REVIEW: Message = Message {
    name: "TokenReview",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&AUTHN_TOKEN_REVIEW_SPEC)),
        opt(3, "status", Ty::Msg(&AUTHN_TOKEN_REVIEW_STATUS)),
    ],
};

static AUTHN_SELF_SUBJECT_REVIEW: Message = Message {
    name: "SelfSubjectReview",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "status", Ty::Msg(&AUTHN_SELF_SUBJECT_REVIEW_STATUS)),
    ],
};

static RBAC_ROLE: Message = Message {
    name: "Role",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        rep(2, "rules", Ty::Msg(&RBAC_POLICY_RULE)),
    ],
};

static RBAC_CLUSTER_ROLE: Message = Message {
    name: "ClusterRole",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        rep(2, "rules", Ty::Msg(&RBAC_POLICY_RULE)),
        opt(3, "aggregationRule", Ty::Msg(&RBAC_AGGREGATION_RULE)),
    ],
};

static RBAC_ROLE_BINDING: Message = Message {
    name: "RoleBinding",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        rep(2, "subjects", Ty::Msg(&RBAC_SUBJECT)),
        opt(3, "roleRef", Ty::Msg(&RBAC_ROLE_REF)),
    ],
};

static RBAC_CLUSTER_ROLE_BINDING: Message = Message {
    name: "ClusterRoleBinding",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        rep(2, "subjects", Ty::Msg(&RBAC_SUBJECT)),
        opt(3, "roleRef", Ty::Msg(&RBAC_ROLE_REF)),
    ],
};

static NET_INGRESS: Message = Message {
    name: "Ingress",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&NET_INGRESS_SPEC)),
        opt(3, "status", Ty::Msg(&NET_INGRESS_STATUS)),
    ],
};

static META_DELETE_OPTIONS: Message = Message {
    name: "DeleteOptions",
    fields: &[
        opt(1, "gracePeriodSeconds", Ty::Int64),
        opt(2, "preconditions", Ty::Msg(&META_PRECONDITIONS)),
        opt(3, "orphanDependents", Ty::Bool),
        opt(4, "propagationPolicy", Ty::Str),
        rep(5, "dryRun", Ty::Str),
        opt(
            6,
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            Ty::Bool,
        ),
    ],
};

static META_OBJECT_META: Message = Message {
    name: "ObjectMeta",
    fields: &[
        opt_oz(1, "name", Ty::Str),
        opt_oz(2, "generateName", Ty::Str),
        opt_oz(3, "namespace", Ty::Str),
        opt_oz(4, "selfLink", Ty::Str),
        opt_oz(5, "uid", Ty::Str),
        opt_oz(6, "resourceVersion", Ty::Str),
        opt_oz(7, "generation", Ty::Int64),
        opt_oz(8, "creationTimestamp", Ty::Time),
        opt(9, "deletionTimestamp", Ty::Time),
        opt(10, "deletionGracePeriodSeconds", Ty::Int64),
        map(11, "labels", Ty::Str),
        map(12, "annotations", Ty::Str),
        rep(13, "ownerReferences", Ty::Msg(&META_OWNER_REFERENCE)),
        rep(14, "finalizers", Ty::Str),
        rep(17, "managedFields", Ty::Msg(&META_MANAGED_FIELDS_ENTRY)),
    ],
};

static CORE_NAMESPACE_SPEC: Message = Message {
    name: "NamespaceSpec",
    fields: &[rep(1, "finalizers", Ty::Str)],
};

static CORE_NAMESPACE_STATUS: Message = Message {
    name: "NamespaceStatus",
    fields: &[
        opt_oz(1, "phase", Ty::Str),
        rep(2, "conditions", Ty::Msg(&CORE_NAMESPACE_CONDITION)),
    ],
};

static CORE_SERVICE_SPEC: Message = Message {
    name: "ServiceSpec",
    fields: &[
        rep(1, "ports", Ty::Msg(&CORE_SERVICE_PORT)),
        map(2, "selector", Ty::Str),
        opt_oz(3, "clusterIP", Ty::Str),
        opt_oz(4, "type", Ty::Str),
        rep(5, "externalIPs", Ty::Str),
        opt_oz(7, "sessionAffinity", Ty::Str),
        opt_oz(8, "loadBalancerIP", Ty::Str),
        rep(9, "loadBalancerSourceRanges", Ty::Str),
        opt_oz(10, "externalName", Ty::Str),
        opt_oz(11, "externalTrafficPolicy", Ty::Str),
        opt_oz(12, "healthCheckNodePort", Ty::Int32),
        opt_oz(13, "publishNotReadyAddresses", Ty::Bool),
        opt(
            14,
            "sessionAffinityConfig",
            Ty::Msg(&CORE_SESSION_AFFINITY_CONFIG),
        ),
        opt(17, "ipFamilyPolicy", Ty::Str),
        rep(18, "clusterIPs", Ty::Str),
        rep(19, "ipFamilies", Ty::Str),
        opt(20, "allocateLoadBalancerNodePorts", Ty::Bool),
        opt(21, "loadBalancerClass", Ty::Str),
        opt(22, "internalTrafficPolicy", Ty::Str),
        opt(23, "trafficDistribution", Ty::Str),
    ],
};

static CORE_SERVICE_STATUS: Message = Message {
    name: "ServiceStatus",
    fields: &[
        opt(1, "loadBalancer", Ty::Msg(&CORE_LOAD_BALANCER_STATUS)),
        rep(2, "conditions", Ty::Msg(&META_CONDITION)),
    ],
};

static CORE_OBJECT_REFERENCE: Message = Message {
    name: "ObjectReference",
    fields: &[
        opt_oz(1, "kind", Ty::Str),
        opt_oz(2, "namespace", Ty::Str),
        opt_oz(3, "name", Ty::Str),
        opt_oz(4, "uid", Ty::Str),
        opt_oz(5, "apiVersion", Ty::Str),
        opt_oz(6, "resourceVersion", Ty::Str),
        opt_oz(7, "fieldPath", Ty::Str),
    ],
};

static CORE_LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "LocalObjectReference",
    fields: &[opt_oz(1, "name", Ty::Str)],
};

static CORE_POD_SPEC: Message = Message {
    name: "PodSpec",
    fields: &[
        rep(1, "volumes", Ty::Msg(&CORE_VOLUME)),
        rep(2, "containers", Ty::Msg(&CORE_CONTAINER)),
        opt_oz(3, "restartPolicy", Ty::Str),
        opt(4, "terminationGracePeriodSeconds", Ty::Int64),
        opt(5, "activeDeadlineSeconds", Ty::Int64),
        opt_oz(6, "dnsPolicy", Ty::Str),
        map(7, "nodeSelector", Ty::Str),
        opt_oz(8, "serviceAccountName", Ty::Str),
        opt_oz(9, "serviceAccount", Ty::Str),
        opt_oz(10, "nodeName", Ty::Str),
        opt_oz(11, "hostNetwork", Ty::Bool),
        opt_oz(12, "hostPID", Ty::Bool),
        opt_oz(13, "hostIPC", Ty::Bool),
        opt(14, "securityContext", Ty::Msg(&CORE_POD_SECURITY_CONTEXT)),
        rep(
            15,
            "imagePullSecrets",
            Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE),
        ),
        opt_oz(16, "hostname", Ty::Str),
        opt_oz(17, "subdomain", Ty::Str),
        opt(18, "affinity", Ty::Msg(&CORE_AFFINITY)),
        opt_oz(19, "schedulerName", Ty::Str),
        rep(20, "initContainers", Ty::Msg(&CORE_CONTAINER)),
        opt(21, "automountServiceAccountToken", Ty::Bool),
        rep(22, "tolerations", Ty::Msg(&CORE_TOLERATION)),
        rep(23, "hostAliases", Ty::Msg(&CORE_HOST_ALIAS)),
        opt_oz(24, "priorityClassName", Ty::Str),
        opt(25, "priority", Ty::Int32),
        opt(26, "dnsConfig", Ty::Msg(&CORE_POD_DNS_CONFIG)),
        opt(27, "shareProcessNamespace", Ty::Bool),
        rep(28, "readinessGates", Ty::Msg(&CORE_POD_READINESS_GATE)),
        opt(29, "runtimeClassName", Ty::Str),
        opt(30, "enableServiceLinks", Ty::Bool),
        opt(31, "preemptionPolicy", Ty::Str),
        map(32, "overhead", Ty::Quantity),
        rep(
            33,
            "topologySpreadConstraints",
            Ty::Msg(&CORE_TOPOLOGY_SPREAD_CONSTRAINT),
        ),
        rep(
            34,
            "ephemeralContainers",
            Ty::Msg(&CORE_EPHEMERAL_CONTAINER),
        ),
        opt(35, "setHostnameAsFQDN", Ty::Bool),
        opt(36, "os", Ty::Msg(&CORE_POD_OS)),
        opt(37, "hostUsers", Ty::Bool),
        rep(38, "schedulingGates", Ty::Msg(&CORE_POD_SCHEDULING_GATE)),
        rep(39, "resourceClaims", Ty::Msg(&CORE_POD_RESOURCE_CLAIM)),
        opt(40, "resources", Ty::Msg(&CORE_RESOURCE_REQUIREMENTS)),
        opt(41, "hostnameOverride", Ty::Str),
        opt(43, "schedulingGroup", Ty::Msg(&CORE_POD_SCHEDULING_GROUP)),
    ],
};

static CORE_POD_STATUS: Message = Message {
    name: "PodStatus",
    fields: &[
        opt_oz(1, "phase", Ty::Str),
        rep(2, "conditions", Ty::Msg(&CORE_POD_CONDITION)),
        opt_oz(3, "message", Ty::Str),
        opt_oz(4, "reason", Ty::Str),
        opt_oz(5, "hostIP", Ty::Str),
        opt_oz(6, "podIP", Ty::Str),
        opt(7, "startTime", Ty::Time),
        rep(8, "containerStatuses", Ty::Msg(&CORE_CONTAINER_STATUS)),
        opt_oz(9, "qosClass", Ty::Str),
        rep(10, "initContainerStatuses", Ty::Msg(&CORE_CONTAINER_STATUS)),
        opt_oz(11, "nominatedNodeName", Ty::Str),
        rep(12, "podIPs", Ty::Msg(&CORE_POD_IP)),
        rep(
            13,
            "ephemeralContainerStatuses",
            Ty::Msg(&CORE_CONTAINER_STATUS),
        ),
        opt_oz(14, "resize", Ty::Str),
        rep(
            15,
            "resourceClaimStatuses",
            Ty::Msg(&CORE_POD_RESOURCE_CLAIM_STATUS),
        ),
        rep(16, "hostIPs", Ty::Msg(&CORE_HOST_IP)),
        opt_oz(17, "observedGeneration", Ty::Int64),
        opt(
            18,
            "extendedResourceClaimStatus",
            Ty::Msg(&CORE_POD_EXTENDED_RESOURCE_CLAIM_STATUS),
        ),
        map(19, "allocatedResources", Ty::Quantity),
        opt(20, "resources", Ty::Msg(&CORE_RESOURCE_REQUIREMENTS)),
        rep(
            21,
            "nodeAllocatableResourceClaimStatuses",
            Ty::Msg(&CORE_NODE_ALLOCATABLE_RESOURCE_CLAIM_STATUS),
        ),
    ],
};

static CORE_RESOURCE_QUOTA_SPEC: Message = Message {
    name: "ResourceQuotaSpec",
    fields: &[
        map(1, "hard", Ty::Quantity),
        rep(2, "scopes", Ty::Str),
        opt(3, "scopeSelector", Ty::Msg(&CORE_SCOPE_SELECTOR)),
    ],
};

static CORE_RESOURCE_QUOTA_STATUS: Message = Message {
    name: "ResourceQuotaStatus",
    fields: &[map(1, "hard", Ty::Quantity), map(2, "used", Ty::Quantity)],
};

static APPS_DEPLOYMENT_SPEC: Message = Message {
    name: "DeploymentSpec",
    fields: &[
        opt(1, "replicas", Ty::Int32),
        opt(2, "selector", Ty::Msg(&META_LABEL_SELECTOR)),
        opt(3, "template", Ty::Msg(&CORE_POD_TEMPLATE_SPEC)),
        opt(4, "strategy", Ty::Msg(&APPS_DEPLOYMENT_STRATEGY)),
        opt_oz(5, "minReadySeconds", Ty::Int32),
        opt(6, "revisionHistoryLimit", Ty::Int32),
        opt_oz(7, "paused", Ty::Bool),
        opt(9, "progressDeadlineSeconds", Ty::Int32),
    ],
};

static APPS_DEPLOYMENT_STATUS: Message = Message {
    name: "DeploymentStatus",
    fields: &[
        opt_oz(1, "observedGeneration", Ty::Int64),
        opt_oz(2, "replicas", Ty::Int32),
        opt_oz(3, "updatedReplicas", Ty::Int32),
        opt_oz(4, "availableReplicas", Ty::Int32),
        opt_oz(5, "unavailableReplicas", Ty::Int32),
        rep(6, "conditions", Ty::Msg(&APPS_DEPLOYMENT_CONDITION)),
        opt_oz(7, "readyReplicas", Ty::Int32),
        opt(8, "collisionCount", Ty::Int32),
        opt(9, "terminatingReplicas", Ty::Int32),
    ],
};

static BATCH_JOB_SPEC: Message = Message {
    name: "JobSpec",
    fields: &[
        opt(1, "parallelism", Ty::Int32),
        opt(2, "completions", Ty::Int32),
        opt(3, "activeDeadlineSeconds", Ty::Int64),
        opt(4, "selector", Ty::Msg(&META_LABEL_SELECTOR)),
        opt(5, "manualSelector", Ty::Bool),
        opt(6, "template", Ty::Msg(&CORE_POD_TEMPLATE_SPEC)),
        opt(7, "backoffLimit", Ty::Int32),
        opt(8, "ttlSecondsAfterFinished", Ty::Int32),
        opt(9, "completionMode", Ty::Str),
        opt(10, "suspend", Ty::Bool),
        opt(11, "podFailurePolicy", Ty::Msg(&BATCH_POD_FAILURE_POLICY)),
        opt(12, "backoffLimitPerIndex", Ty::Int32),
        opt(13, "maxFailedIndexes", Ty::Int32),
        opt(14, "podReplacementPolicy", Ty::Str),
        opt(15, "managedBy", Ty::Str),
        opt(16, "successPolicy", Ty::Msg(&BATCH_SUCCESS_POLICY)),
    ],
};

static BATCH_JOB_STATUS: Message = Message {
    name: "JobStatus",
    fields: &[
        rep(1, "conditions", Ty::Msg(&BATCH_JOB_CONDITION)),
        opt(2, "startTime", Ty::Time),
        opt(3, "completionTime", Ty::Time),
        opt_oz(4, "active", Ty::Int32),
        opt_oz(5, "succeeded", Ty::Int32),
        opt_oz(6, "failed", Ty::Int32),
        opt_oz(7, "completedIndexes", Ty::Str),
        opt(
            8,
            "uncountedTerminatedPods",
            Ty::Msg(&BATCH_UNCOUNTED_TERMINATED_PODS),
        ),
        opt(9, "ready", Ty::Int32),
        opt(10, "failedIndexes", Ty::Str),
        opt(11, "terminating", Ty::Int32),
    ],
};

static BATCH_CRON_JOB_SPEC: Message = Message {
    name: "CronJobSpec",
    fields: &[
        opt(1, "schedule", Ty::Str),
        opt(2, "startingDeadlineSeconds", Ty::Int64),
        opt_oz(3, "concurrencyPolicy", Ty::Str),
        opt(4, "suspend", Ty::Bool),
        opt(5, "jobTemplate", Ty::Msg(&BATCH_JOB_TEMPLATE_SPEC)),
        opt(6, "successfulJobsHistoryLimit", Ty::Int32),
        opt(7, "failedJobsHistoryLimit", Ty::Int32),
        opt(8, "timeZone", Ty::Str),
    ],
};

static BATCH_CRON_JOB_STATUS: Message = Message {
    name: "CronJobStatus",
    fields: &[
        rep(1, "active", Ty::Msg(&CORE_OBJECT_REFERENCE)),
        opt(4, "lastScheduleTime", Ty::Time),
        opt(5, "lastSuccessfulTime", Ty::Time),
    ],
};

static POLICY_POD_DISRUPTION_BUDGET_SPEC: Message = Message {
    name: "PodDisruptionBudgetSpec",
    fields: &[
        opt(1, "minAvailable", Ty::IntOrString),
        opt(2, "selector", Ty::Msg(&META_LABEL_SELECTOR)),
        opt(3, "maxUnavailable", Ty::IntOrString),
        opt(4, "unhealthyPodEvictionPolicy", Ty::Str),
    ],
};

static POLICY_POD_DISRUPTION_BUDGET_STATUS: Message = Message {
    name: "PodDisruptionBudgetStatus",
    fields: &[
        opt_oz(1, "observedGeneration", Ty::Int64),
        map(2, "disruptedPods", Ty::Time),
        opt(3, "disruptionsAllowed", Ty::Int32),
        opt(4, "currentHealthy", Ty::Int32),
        opt(5, "desiredHealthy", Ty::Int32),
        opt(6, "expectedPods", Ty::Int32),
        rep(7, "conditions", Ty::Msg(&META_CONDITION)),
    ],
};

static AUTHZ_SELF_SUBJECT_ACCESS_REVIEW_SPEC: Message = Message {
    name: "SelfSubjectAccessReviewSpec",
    fields: &[
        opt(1, "resourceAttributes", Ty::Msg(&AUTHZ_RESOURCE_ATTRIBUTES)),
        opt(
            2,
            "nonResourceAttributes",
            Ty::Msg(&AUTHZ_NON_RESOURCE_ATTRIBUTES),
        ),
    ],
};

static AUTHZ_SUBJECT_ACCESS_REVIEW_STATUS: Message = Message {
    name: "SubjectAccessReviewStatus",
    fields: &[
        opt(1, "allowed", Ty::Bool),
        opt_oz(2, "reason", Ty::Str),
        opt_oz(3, "evaluationError", Ty::Str),
        opt_oz(4, "denied", Ty::Bool),
    ],
};

static AUTHZ_SELF_SUBJECT_RULES_REVIEW_SPEC: Message = Message {
    name: "SelfSubjectRulesReviewSpec",
    fields: &[opt_oz(1, "namespace", Ty::Str)],
};

static AUTHZ_SUBJECT_RULES_REVIEW_STATUS: Message = Message {
    name: "SubjectRulesReviewStatus",
    fields: &[
        rep(1, "resourceRules", Ty::Msg(&AUTHZ_RESOURCE_RULE)),
        rep(2, "nonResourceRules", Ty::Msg(&AUTHZ_NON_RESOURCE_RULE)),
        opt(3, "incomplete", Ty::Bool),
        opt_oz(4, "evaluationError", Ty::Str),
    ],
};

static AUTHZ_SUBJECT_ACCESS_REVIEW_SPEC: Message = Message {
    name: "SubjectAccessReviewSpec",
    fields: &[
        opt(1, "resourceAttributes", Ty::Msg(&AUTHZ_RESOURCE_ATTRIBUTES)),
        opt(
            2,
            "nonResourceAttributes",
            Ty::Msg(&AUTHZ_NON_RESOURCE_ATTRIBUTES),
        ),
        opt_oz(3, "user", Ty::Str),
        rep(4, "groups", Ty::Str),
        map(5, "extra", Ty::StrList),
        opt_oz(6, "uid", Ty::Str),
    ],
};

static AUTHN_TOKEN_REQUEST_SPEC: Message = Message {
    name: "TokenRequestSpec",
    fields: &[
        rep(1, "audiences", Ty::Str),
        opt(3, "boundObjectRef", Ty::Msg(&AUTHN_BOUND_OBJECT_REFERENCE)),
        opt(4, "expirationSeconds", Ty::Int64),
    ],
};

static AUTHN_TOKEN_REQUEST_STATUS: Message = Message {
    name: "TokenRequestStatus",
    fields: &[
        opt(1, "token", Ty::Str),
        opt(2, "expirationTimestamp", Ty::Time),
    ],
};

static AUTHN_TOKEN_REVIEW_SPEC: Message = Message {
    name: "TokenReviewSpec",
    fields: &[opt_oz(1, "token", Ty::Str), rep(2, "audiences", Ty::Str)],
};

static AUTHN_TOKEN_REVIEW_STATUS: Message = Message {
    name: "TokenReviewStatus",
    fields: &[
        opt_oz(1, "authenticated", Ty::Bool),
        opt(2, "user", Ty::Msg(&AUTHN_USER_INFO)),
        opt_oz(3, "error", Ty::Str),
        rep(4, "audiences", Ty::Str),
    ],
};

static AUTHN_SELF_SUBJECT_REVIEW_STATUS: Message = Message {
    name: "SelfSubjectReviewStatus",
    fields: &[opt(1, "userInfo", Ty::Msg(&AUTHN_USER_INFO))],
};

static RBAC_POLICY_RULE: Message = Message {
    name: "PolicyRule",
    fields: &[
        rep(1, "verbs", Ty::Str),
        rep(2, "apiGroups", Ty::Str),
        rep(3, "resources", Ty::Str),
        rep(4, "resourceNames", Ty::Str),
        rep(5, "nonResourceURLs", Ty::Str),
    ],
};

static RBAC_AGGREGATION_RULE: Message = Message {
    name: "AggregationRule",
    fields: &[rep(
        1,
        "clusterRoleSelectors",
        Ty::Msg(&META_LABEL_SELECTOR),
    )],
};

static RBAC_SUBJECT: Message = Message {
    name: "Subject",
    fields: &[
        opt(1, "kind", Ty::Str),
        opt_oz(2, "apiGroup", Ty::Str),
        opt(3, "name", Ty::Str),
        opt_oz(4, "namespace", Ty::Str),
    ],
};

static RBAC_ROLE_REF: Message = Message {
    name: "RoleRef",
    fields: &[
        opt(1, "apiGroup", Ty::Str),
        opt(2, "kind", Ty::Str),
        opt(3, "name", Ty::Str),
    ],
};

static NET_INGRESS_SPEC: Message = Message {
    name: "IngressSpec",
    fields: &[
        opt(1, "defaultBackend", Ty::Msg(&NET_INGRESS_BACKEND)),
        rep(2, "tls", Ty::Msg(&NET_INGRESS_TLS)),
        rep(3, "rules", Ty::Msg(&NET_INGRESS_RULE)),
        opt(4, "ingressClassName", Ty::Str),
    ],
};

static NET_INGRESS_STATUS: Message = Message {
    name: "IngressStatus",
    fields: &[opt(
        1,
        "loadBalancer",
        Ty::Msg(&NET_INGRESS_LOAD_BALANCER_STATUS),
    )],
};

static META_PRECONDITIONS: Message = Message {
    name: "Preconditions",
    fields: &[opt(1, "uid", Ty::Str), opt(2, "resourceVersion", Ty::Str)],
};

static META_OWNER_REFERENCE: Message = Message {
    name: "OwnerReference",
    fields: &[
        opt(1, "kind", Ty::Str),
        opt(3, "name", Ty::Str),
        opt(4, "uid", Ty::Str),
        opt(5, "apiVersion", Ty::Str),
        opt(6, "controller", Ty::Bool),
        opt(7, "blockOwnerDeletion", Ty::Bool),
    ],
};

static META_MANAGED_FIELDS_ENTRY: Message = Message {
    name: "ManagedFieldsEntry",
    fields: &[
        opt_oz(1, "manager", Ty::Str),
        opt_oz(2, "operation", Ty::Str),
        opt_oz(3, "apiVersion", Ty::Str),
        opt(4, "time", Ty::Time),
        opt_oz(6, "fieldsType", Ty::Str),
        opt(7, "fieldsV1", Ty::RawJson),
        opt_oz(8, "subresource", Ty::Str),
    ],
};

static CORE_NAMESPACE_CONDITION: Message = Message {
    name: "NamespaceCondition",
    fields: &[
        opt(1, "type", Ty::Str),
        opt(2, "status", Ty::Str),
        opt(4, "lastTransitionTime", Ty::Time),
        opt_oz(5, "reason", Ty::Str),
        opt_oz(6, "message", Ty::Str),
    ],
};

static CORE_SERVICE_PORT: Message = Message {
    name: "ServicePort",
    fields: &[
        opt_oz(1, "name", Ty::Str),
        opt_oz(2, "protocol", Ty::Str),
        opt(3, "port", Ty::Int32),
        opt(4, "targetPort", Ty::IntOrString),
        opt_oz(5, "nodePort", Ty::Int32),
        opt(6, "appProtocol", Ty::Str),
    ],
};

static CORE_SESSION_AFFINITY_CONFIG: Message = Message {
    name: "SessionAffinityConfig",
    fields: &[opt(1, "clientIP", Ty::Msg(&CORE_CLIENT_IP_CONFIG))],
};

static CORE_LOAD_BALANCER_STATUS: Message = Message {
    name: "LoadBalancerStatus",
    fields: &[rep(1, "ingress", Ty::Msg(&CORE_LOAD_BALANCER_INGRESS))],
};

static META_CONDITION: Message = Message {
    name: "Condition",
    fields: &[
        opt(1, "type", Ty::Str),
        opt(2, "status", Ty::Str),
        opt_oz(3, "observedGeneration", Ty::Int64),
        opt(4, "lastTransitionTime", Ty::Time),
        opt(5, "reason", Ty::Str),
        opt(6, "message", Ty::Str),
    ],
};

static CORE_VOLUME: Message = Message {
    name: "Volume",
    fields: &[
        opt(1, "name", Ty::Str),
        inline(2, Ty::Msg(&CORE_VOLUME_SOURCE)),
    ],
};

static CORE_CONTAINER: Message = Message {
    name: "Container",
    fields: &[
        opt(1, "name", Ty::Str),
        opt_oz(2, "image", Ty::Str),
        rep(3, "command", Ty::Str),
        rep(4, "args", Ty::Str),
        opt_oz(5, "workingDir", Ty::Str),
        rep(6, "ports", Ty::Msg(&CORE_CONTAINER_PORT)),
        rep(7, "env", Ty::Msg(&CORE_ENV_VAR)),
        opt(8, "resources", Ty::Msg(&CORE_RESOURCE_REQUIREMENTS)),
        rep(9, "volumeMounts", Ty::Msg(&CORE_VOLUME_MOUNT)),
        opt(10, "livenessProbe", Ty::Msg(&CORE_PROBE)),
        opt(11, "readinessProbe", Ty::Msg(&CORE_PROBE)),
        opt(12, "lifecycle", Ty::Msg(&CORE_LIFECYCLE)),
        opt_oz(13, "terminationMessagePath", Ty::Str),
        opt_oz(14, "imagePullPolicy", Ty::Str),
        opt(15, "securityContext", Ty::Msg(&CORE_SECURITY_CONTEXT)),
        opt_oz(16, "stdin", Ty::Bool),
        opt_oz(17, "stdinOnce", Ty::Bool),
        opt_oz(18, "tty", Ty::Bool),
        rep(19, "envFrom", Ty::Msg(&CORE_ENV_FROM_SOURCE)),
        opt_oz(20, "terminationMessagePolicy", Ty::Str),
        rep(21, "volumeDevices", Ty::Msg(&CORE_VOLUME_DEVICE)),
        opt(22, "startupProbe", Ty::Msg(&CORE_PROBE)),
        rep(23, "resizePolicy", Ty::Msg(&CORE_CONTAINER_RESIZE_POLICY)),
        opt(24, "restartPolicy", Ty::Str),
        rep(
            25,
            "restartPolicyRules",
            Ty::Msg(&CORE_CONTAINER_RESTART_RULE),
        ),
    ],
};

static CORE_EPHEMERAL_CONTAINER: Message = Message {
    name: "EphemeralContainer",
    fields: &[
        inline(1, Ty::Msg(&CORE_EPHEMERAL_CONTAINER_COMMON)),
        opt_oz(2, "targetContainerName", Ty::Str),
    ],
};

static CORE_POD_SECURITY_CONTEXT: Message = Message {
    name: "PodSecurityContext",
    fields: &[
        opt(1, "seLinuxOptions", Ty::Msg(&CORE_SE_LINUX_OPTIONS)),
        opt(2, "runAsUser", Ty::Int64),
        opt(3, "runAsNonRoot", Ty::Bool),
        rep(4, "supplementalGroups", Ty::Int64),
        opt(5, "fsGroup", Ty::Int64),
        opt(6, "runAsGroup", Ty::Int64),
        rep(7, "sysctls", Ty::Msg(&CORE_SYSCTL)),
        opt(
            8,
            "windowsOptions",
            Ty::Msg(&CORE_WINDOWS_SECURITY_CONTEXT_OPTIONS),
        ),
        opt(9, "fsGroupChangePolicy", Ty::Str),
        opt(10, "seccompProfile", Ty::Msg(&CORE_SECCOMP_PROFILE)),
        opt(11, "appArmorProfile", Ty::Msg(&CORE_APP_ARMOR_PROFILE)),
        opt(12, "supplementalGroupsPolicy", Ty::Str),
        opt(13, "seLinuxChangePolicy", Ty::Str),
    ],
};

static CORE_AFFINITY: Message = Message {
    name: "Affinity",
    fields: &[
        opt(1, "nodeAffinity", Ty::Msg(&CORE_NODE_AFFINITY)),
        opt(2, "podAffinity", Ty::Msg(&CORE_POD_AFFINITY)),
        opt(3, "podAntiAffinity", Ty::Msg(&CORE_POD_ANTI_AFFINITY)),
    ],
};

static CORE_TOLERATION: Message = Message {
    name: "Toleration",
    fields: &[
        opt_oz(1, "key", Ty::Str),
        opt_oz(2, "operator", Ty::Str),
        opt_oz(3, "value", Ty::Str),
        opt_oz(4, "effect", Ty::Str),
        opt(5, "tolerationSeconds", Ty::Int64),
    ],
};

static CORE_HOST_ALIAS: Message = Message {
    name: "HostAlias",
    fields: &[opt(1, "ip", Ty::Str), rep(2, "hostnames", Ty::Str)],
};

static CORE_POD_DNS_CONFIG: Message = Message {
    name: "PodDNSConfig",
    fields: &[
        rep(1, "nameservers", Ty::Str),
        rep(2, "searches", Ty::Str),
        rep(3, "options", Ty::Msg(&CORE_POD_DNS_CONFIG_OPTION)),
    ],
};

static CORE_POD_READINESS_GATE: Message = Message {
    name: "PodReadinessGate",
    fields: &[opt(1, "conditionType", Ty::Str)],
};

static CORE_TOPOLOGY_SPREAD_CONSTRAINT: Message = Message {
    name: "TopologySpreadConstraint",
    fields: &[
        opt(1, "maxSkew", Ty::Int32),
        opt(2, "topologyKey", Ty::Str),
        opt(3, "whenUnsatisfiable", Ty::Str),
        opt(4, "labelSelector", Ty::Msg(&META_LABEL_SELECTOR)),
        opt(5, "minDomains", Ty::Int32),
        opt(6, "nodeAffinityPolicy", Ty::Str),
        opt(7, "nodeTaintsPolicy", Ty::Str),
        rep(8, "matchLabelKeys", Ty::Str),
    ],
};

static CORE_POD_OS: Message = Message {
    name: "PodOS",
    fields: &[opt(1, "name", Ty::Str)],
};

static CORE_POD_SCHEDULING_GATE: Message = Message {
    name: "PodSchedulingGate",
    fields: &[opt(1, "name", Ty::Str)],
};

static CORE_POD_RESOURCE_CLAIM: Message = Message {
    name: "PodResourceClaim",
    fields: &[
        opt(1, "name", Ty::Str),
        opt(3, "resourceClaimName", Ty::Str),
        opt(4, "resourceClaimTemplateName", Ty::Str),
    ],
};

static CORE_RESOURCE_REQUIREMENTS: Message = Message {
    name: "ResourceRequirements",
    fields: &[
        map(1, "limits", Ty::Quantity),
        map(2, "requests", Ty::Quantity),
        rep(3, "claims", Ty::Msg(&CORE_RESOURCE_CLAIM)),
    ],
};

static CORE_POD_SCHEDULING_GROUP: Message = Message {
    name: "PodSchedulingGroup",
    fields: &[opt(1, "podGroupName", Ty::Str)],
};

static CORE_POD_CONDITION: Message = Message {
    name: "PodCondition",
    fields: &[
        opt(1, "type", Ty::Str),
        opt(2, "status", Ty::Str),
        opt(3, "lastProbeTime", Ty::Time),
        opt(4, "lastTransitionTime", Ty::Time),
        opt_oz(5, "reason", Ty::Str),
        opt_oz(6, "message", Ty::Str),
        opt_oz(7, "observedGeneration", Ty::Int64),
    ],
};

static CORE_HOST_IP: Message = Message {
    name: "HostIP",
    fields: &[opt(1, "ip", Ty::Str)],
};

static CORE_POD_IP: Message = Message {
    name: "PodIP",
    fields: &[opt(1, "ip", Ty::Str)],
};

static CORE_CONTAINER_STATUS: Message = Message {
    name: "ContainerStatus",
    fields: &[
        opt(1, "name", Ty::Str),
        opt(2, "state", Ty::Msg(&CORE_CONTAINER_STATE)),
        opt(3, "lastState", Ty::Msg(&CORE_CONTAINER_STATE)),
        opt(4, "ready", Ty::Bool),
        opt(5, "restartCount", Ty::Int32),
        opt(6, "image", Ty::Str),
        opt(7, "imageID", Ty::Str),
        opt_oz(8, "containerID", Ty::Str),
        opt(9, "started", Ty::Bool),
        map(10, "allocatedResources", Ty::Quantity),
        opt(11, "resources", Ty::Msg(&CORE_RESOURCE_REQUIREMENTS)),
        rep(12, "volumeMounts", Ty::Msg(&CORE_VOLUME_MOUNT_STATUS)),
        opt(13, "user", Ty::Msg(&CORE_CONTAINER_USER)),
        rep(
            14,
            "allocatedResourcesStatus",
            Ty::Msg(&CORE_RESOURCE_STATUS),
        ),
        opt(15, "stopSignal", Ty::Str),
    ],
};

static CORE_POD_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "PodResourceClaimStatus",
    fields: &[
        opt(1, "name", Ty::Str),
        opt(2, "resourceClaimName", Ty::Str),
    ],
};

static CORE_POD_EXTENDED_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "PodExtendedResourceClaimStatus",
    fields: &[
        rep(
            1,
            "requestMappings",
            Ty::Msg(&CORE_CONTAINER_EXTENDED_RESOURCE_REQUEST),
        ),
        opt(2, "resourceClaimName", Ty::Str),
    ],
};

static CORE_NODE_ALLOCATABLE_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "NodeAllocatableResourceClaimStatus",
    fields: &[
        opt(1, "resourceClaimName", Ty::Str),
        rep(2, "containers", Ty::Str),
        map(3, "resources", Ty::Quantity),
    ],
};

static CORE_SCOPE_SELECTOR: Message = Message {
    name: "ScopeSelector",
    fields: &[rep(
        1,
        "matchExpressions",
        Ty::Msg(&CORE_SCOPED_RESOURCE_SELECTOR_REQUIREMENT),
    )],
};

static META_LABEL_SELECTOR: Message = Message {
    name: "LabelSelector",
    fields: &[
        map(1, "matchLabels", Ty::Str),
        rep(
            2,
            "matchExpressions",
            Ty::Msg(&META_LABEL_SELECTOR_REQUIREMENT),
        ),
    ],
};

static CORE_POD_TEMPLATE_SPEC: Message = Message {
    name: "PodTemplateSpec",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&CORE_POD_SPEC)),
    ],
};

static APPS_DEPLOYMENT_STRATEGY: Message = Message {
    name: "DeploymentStrategy",
    fields: &[
        opt_oz(1, "type", Ty::Str),
        opt(2, "rollingUpdate", Ty::Msg(&APPS_ROLLING_UPDATE_DEPLOYMENT)),
    ],
};

static APPS_DEPLOYMENT_CONDITION: Message = Message {
    name: "DeploymentCondition",
    fields: &[
        opt(1, "type", Ty::Str),
        opt(2, "status", Ty::Str),
        opt_oz(4, "reason", Ty::Str),
        opt_oz(5, "message", Ty::Str),
        opt(6, "lastUpdateTime", Ty::Time),
        opt(7, "lastTransitionTime", Ty::Time),
    ],
};

static BATCH_POD_FAILURE_POLICY: Message = Message {
    name: "PodFailurePolicy",
    fields: &[rep(1, "rules", Ty::Msg(&BATCH_POD_FAILURE_POLICY_RULE))],
};

static BATCH_SUCCESS_POLICY: Message = Message {
    name: "SuccessPolicy",
    fields: &[rep(1, "rules", Ty::Msg(&BATCH_SUCCESS_POLICY_RULE))],
};

static BATCH_JOB_CONDITION: Message = Message {
    name: "JobCondition",
    fields: &[
        opt(1, "type", Ty::Str),
        opt(2, "status", Ty::Str),
        opt(3, "lastProbeTime", Ty::Time),
        opt(4, "lastTransitionTime", Ty::Time),
        opt_oz(5, "reason", Ty::Str),
        opt_oz(6, "message", Ty::Str),
    ],
};

static BATCH_UNCOUNTED_TERMINATED_PODS: Message = Message {
    name: "UncountedTerminatedPods",
    fields: &[rep(1, "succeeded", Ty::Str), rep(2, "failed", Ty::Str)],
};

static BATCH_JOB_TEMPLATE_SPEC: Message = Message {
    name: "JobTemplateSpec",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&BATCH_JOB_SPEC)),
    ],
};

static AUTHZ_RESOURCE_ATTRIBUTES: Message = Message {
    name: "ResourceAttributes",
    fields: &[
        opt_oz(1, "namespace", Ty::Str),
        opt_oz(2, "verb", Ty::Str),
        opt_oz(3, "group", Ty::Str),
        opt_oz(4, "version", Ty::Str),
        opt_oz(5, "resource", Ty::Str),
        opt_oz(6, "subresource", Ty::Str),
        opt_oz(7, "name", Ty::Str),
        opt(
            8,
            "fieldSelector",
            Ty::Msg(&AUTHZ_FIELD_SELECTOR_ATTRIBUTES),
        ),
        opt(
            9,
            "labelSelector",
            Ty::Msg(&AUTHZ_LABEL_SELECTOR_ATTRIBUTES),
        ),
    ],
};

static AUTHZ_NON_RESOURCE_ATTRIBUTES: Message = Message {
    name: "NonResourceAttributes",
    fields: &[opt_oz(1, "path", Ty::Str), opt_oz(2, "verb", Ty::Str)],
};

static AUTHZ_RESOURCE_RULE: Message = Message {
    name: "ResourceRule",
    fields: &[
        rep(1, "verbs", Ty::Str),
        rep(2, "apiGroups", Ty::Str),
        rep(3, "resources", Ty::Str),
        rep(4, "resourceNames", Ty::Str),
    ],
};

static AUTHZ_NON_RESOURCE_RULE: Message = Message {
    name: "NonResourceRule",
    fields: &[rep(1, "verbs", Ty::Str), rep(2, "nonResourceURLs", Ty::Str)],
};

static AUTHN_BOUND_OBJECT_REFERENCE: Message = Message {
    name: "BoundObjectReference",
    fields: &[
        opt_oz(1, "kind", Ty::Str),
        opt_oz(2, "apiVersion", Ty::Str),
        opt_oz(3, "name", Ty::Str),
        opt_oz(4, "uid", Ty::Str),
    ],
};

static AUTHN_USER_INFO: Message = Message {
    name: "UserInfo",
    fields: &[
        opt_oz(1, "username", Ty::Str),
        opt_oz(2, "uid", Ty::Str),
        rep(3, "groups", Ty::Str),
        map(4, "extra", Ty::StrList),
    ],
};

static NET_INGRESS_BACKEND: Message = Message {
    name: "IngressBackend",
    fields: &[
        opt(3, "resource", Ty::Msg(&CORE_TYPED_LOCAL_OBJECT_REFERENCE)),
        opt(4, "service", Ty::Msg(&NET_INGRESS_SERVICE_BACKEND)),
    ],
};

static NET_INGRESS_TLS: Message = Message {
    name: "IngressTLS",
    fields: &[rep(1, "hosts", Ty::Str), opt_oz(2, "secretName", Ty::Str)],
};

static NET_INGRESS_RULE: Message = Message {
    name: "IngressRule",
    fields: &[
        opt_oz(1, "host", Ty::Str),
        inline(2, Ty::Msg(&NET_INGRESS_RULE_VALUE)),
    ],
};

static NET_INGRESS_LOAD_BALANCER_STATUS: Message = Message {
    name: "IngressLoadBalancerStatus",
    fields: &[rep(
        1,
        "ingress",
        Ty::Msg(&NET_INGRESS_LOAD_BALANCER_INGRESS),
    )],
};

static CORE_CLIENT_IP_CONFIG: Message = Message {
    name: "ClientIPConfig",
    fields: &[opt(1, "timeoutSeconds", Ty::Int32)],
};

static CORE_LOAD_BALANCER_INGRESS: Message = Message {
    name: "LoadBalancerIngress",
    fields: &[
        opt_oz(1, "ip", Ty::Str),
        opt_oz(2, "hostname", Ty::Str),
        opt(3, "ipMode", Ty::Str),
        rep(4, "ports", Ty::Msg(&CORE_PORT_STATUS)),
    ],
};

static CORE_VOLUME_SOURCE: Message = Message {
    name: "VolumeSource",
    fields: &[
        opt(1, "hostPath", Ty::Msg(&CORE_HOST_PATH_VOLUME_SOURCE)),
        opt(2, "emptyDir", Ty::Msg(&CORE_EMPTY_DIR_VOLUME_SOURCE)),
        opt(
            3,
            "gcePersistentDisk",
            Ty::Msg(&CORE_GCE_PERSISTENT_DISK_VOLUME_SOURCE),
        ),
        opt(
            4,
            "awsElasticBlockStore",
            Ty::Msg(&CORE_AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE),
        ),
        opt(5, "gitRepo", Ty::Msg(&CORE_GIT_REPO_VOLUME_SOURCE)),
        opt(6, "secret", Ty::Msg(&CORE_SECRET_VOLUME_SOURCE)),
        opt(7, "nfs", Ty::Msg(&CORE_NFS_VOLUME_SOURCE)),
        opt(8, "iscsi", Ty::Msg(&CORE_ISCSI_VOLUME_SOURCE)),
        opt(9, "glusterfs", Ty::Msg(&CORE_GLUSTERFS_VOLUME_SOURCE)),
        opt(
            10,
            "persistentVolumeClaim",
            Ty::Msg(&CORE_PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE),
        ),
        opt(11, "rbd", Ty::Msg(&CORE_RBD_VOLUME_SOURCE)),
        opt(12, "flexVolume", Ty::Msg(&CORE_FLEX_VOLUME_SOURCE)),
        opt(13, "cinder", Ty::Msg(&CORE_CINDER_VOLUME_SOURCE)),
        opt(14, "cephfs", Ty::Msg(&CORE_CEPH_FS_VOLUME_SOURCE)),
        opt(15, "flocker", Ty::Msg(&CORE_FLOCKER_VOLUME_SOURCE)),
        opt(16, "downwardAPI", Ty::Msg(&CORE_DOWNWARD_API_VOLUME_SOURCE)),
        opt(17, "fc", Ty::Msg(&CORE_FC_VOLUME_SOURCE)),
        opt(18, "azureFile", Ty::Msg(&CORE_AZURE_FILE_VOLUME_SOURCE)),
        opt(19, "configMap", Ty::Msg(&CORE_CONFIG_MAP_VOLUME_SOURCE)),
        opt(
            20,
            "vsphereVolume",
            Ty::Msg(&CORE_VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE),
        ),
        opt(21, "quobyte", Ty::Msg(&CORE_QUOBYTE_VOLUME_SOURCE)),
        opt(22, "azureDisk", Ty::Msg(&CORE_AZURE_DISK_VOLUME_SOURCE)),
        opt(
            23,
            "photonPersistentDisk",
            Ty::Msg(&CORE_PHOTON_PERSISTENT_DISK_VOLUME_SOURCE),
        ),
        opt(24, "portworxVolume", Ty::Msg(&CORE_PORTWORX_VOLUME_SOURCE)),
        opt(25, "scaleIO", Ty::Msg(&CORE_SCALE_IO_VOLUME_SOURCE)),
        opt(26, "projected", Ty::Msg(&CORE_PROJECTED_VOLUME_SOURCE)),
        opt(27, "storageos", Ty::Msg(&CORE_STORAGE_OS_VOLUME_SOURCE)),
        opt(28, "csi", Ty::Msg(&CORE_CSI_VOLUME_SOURCE)),
        opt(29, "ephemeral", Ty::Msg(&CORE_EPHEMERAL_VOLUME_SOURCE)),
        opt(30, "image", Ty::Msg(&CORE_IMAGE_VOLUME_SOURCE)),
    ],
};

static CORE_CONTAINER_PORT: Message = Message {
    name: "ContainerPort",
    fields: &[
        opt_oz(1, "name", Ty::Str),
        opt_oz(2, "hostPort", Ty::Int32),
        opt(3, "containerPort", Ty::Int32),
        opt_oz(4, "protocol", Ty::Str),
        opt_oz(5, "hostIP", Ty::Str),
    ],
};

static CORE_ENV_FROM_SOURCE: Message = Message {
    name: "EnvFromSource",
    fields: &[
        opt_oz(1, "prefix", Ty::Str),
        opt(2, "configMapRef", Ty::Msg(&CORE_CONFIG_MAP_ENV_SOURCE)),
        opt(3, "secretRef", Ty::Msg(&CORE_SECRET_ENV_SOURCE)),
    ],
};

static CORE_ENV_VAR: Message = Message {
    name: "EnvVar",
    fields: &[
        opt(1, "name", Ty::Str),
        opt_oz(2, "value", Ty::Str),
        opt(3, "valueFrom", Ty::Msg(&CORE_ENV_VAR_SOURCE)),
    ],
};

static CORE_CONTAINER_RESIZE_POLICY: Message = Message {
    name: "ContainerResizePolicy",
    fields: &[
        opt(1, "resourceName", Ty::Str),
        opt(2, "restartPolicy", Ty::Str),
    ],
};

static CORE_CONTAINER_RESTART_RULE: Message = Message {
    name: "ContainerRestartRule",
    fields: &[
        opt_oz(1, "action", Ty::Str),
        opt(
            2,
            "exitCodes",
            Ty::Msg(&CORE_CONTAINER_RESTART_RULE_ON_EXIT_CODES),
        ),
    ],
};

static CORE_VOLUME_MOUNT: Message = Message {
    name: "VolumeMount",
    fields: &[
        opt(1, "name", Ty::Str),
        opt_oz(2, "readOnly", Ty::Bool),
        opt(3, "mountPath", Ty::Str),
        opt_oz(4, "subPath", Ty::Str),
        opt(5, "mountPropagation", Ty::Str),
        opt_oz(6, "subPathExpr", Ty::Str),
        opt(7, "recursiveReadOnly", Ty::Str),
    ],
};

static CORE_VOLUME_DEVICE: Message = Message {
    name: "VolumeDevice",
    fields: &[opt(1, "name", Ty::Str), opt(2, "devicePath", Ty::Str)],
};

static CORE_PROBE: Message = Message {
    name: "Probe",
    fields: &[
        inline(1, Ty::Msg(&CORE_PROBE_HANDLER)),
        opt_oz(2, "initialDelaySeconds", Ty::Int32),
        opt_oz(3, "timeoutSeconds", Ty::Int32),
        opt_oz(4, "periodSeconds", Ty::Int32),
        opt_oz(5, "successThreshold", Ty::Int32),
        opt_oz(6, "failureThreshold", Ty::Int32),
        opt(7, "terminationGracePeriodSeconds", Ty::Int64),
    ],
};

static CORE_LIFECYCLE: Message = Message {
    name: "Lifecycle",
    fields: &[
        opt(1, "postStart", Ty::Msg(&CORE_LIFECYCLE_HANDLER)),
        opt(2, "preStop", Ty::Msg(&CORE_LIFECYCLE_HANDLER)),
        opt(3, "stopSignal", Ty::Str),
    ],
};

static CORE_SECURITY_CONTEXT: Message = Message {
    name: "SecurityContext",
    fields: &[
        opt(1, "capabilities", Ty::Msg(&CORE_CAPABILITIES)),
        opt(2, "privileged", Ty::Bool),
        opt(3, "seLinuxOptions", Ty::Msg(&CORE_SE_LINUX_OPTIONS)),
        opt(4, "runAsUser", Ty::Int64),
        opt(5, "runAsNonRoot", Ty::Bool),
        opt(6, "readOnlyRootFilesystem", Ty::Bool),
        opt(7, "allowPrivilegeEscalation", Ty::Bool),
        opt(8, "runAsGroup", Ty::Int64),
        opt(9, "procMount", Ty::Str),
        opt(
            10,
            "windowsOptions",
            Ty::Msg(&CORE_WINDOWS_SECURITY_CONTEXT_OPTIONS),
        ),
        opt(11, "seccompProfile", Ty::Msg(&CORE_SECCOMP_PROFILE)),
        opt(12, "appArmorProfile", Ty::Msg(&CORE_APP_ARMOR_PROFILE)),
    ],
};

static CORE_EPHEMERAL_CONTAINER_COMMON: Message = Message {
    name: "EphemeralContainerCommon",
    fields: &[
        opt(1, "name", Ty::Str),
        opt_oz(2, "image", Ty::Str),
        rep(3, "command", Ty::Str),
        rep(4, "args", Ty::Str),
        opt_oz(5, "workingDir", Ty::Str),
        rep(6, "ports", Ty::Msg(&CORE_CONTAINER_PORT)),
        rep(7, "env", Ty::Msg(&CORE_ENV_VAR)),
        opt(8, "resources", Ty::Msg(&CORE_RESOURCE_REQUIREMENTS)),
        rep(9, "volumeMounts", Ty::Msg(&CORE_VOLUME_MOUNT)),
        opt(10, "livenessProbe", Ty::Msg(&CORE_PROBE)),
        opt(11, "readinessProbe", Ty::Msg(&CORE_PROBE)),
        opt(12, "lifecycle", Ty::Msg(&CORE_LIFECYCLE)),
        opt_oz(13, "terminationMessagePath", Ty::Str),
        opt_oz(14, "imagePullPolicy", Ty::Str),
        opt(15, "securityContext", Ty::Msg(&CORE_SECURITY_CONTEXT)),
        opt_oz(16, "stdin", Ty::Bool),
        opt_oz(17, "stdinOnce", Ty::Bool),
        opt_oz(18, "tty", Ty::Bool),
        rep(19, "envFrom", Ty::Msg(&CORE_ENV_FROM_SOURCE)),
        opt_oz(20, "terminationMessagePolicy", Ty::Str),
        rep(21, "volumeDevices", Ty::Msg(&CORE_VOLUME_DEVICE)),
        opt(22, "startupProbe", Ty::Msg(&CORE_PROBE)),
        rep(23, "resizePolicy", Ty::Msg(&CORE_CONTAINER_RESIZE_POLICY)),
        opt(24, "restartPolicy", Ty::Str),
        rep(
            25,
            "restartPolicyRules",
            Ty::Msg(&CORE_CONTAINER_RESTART_RULE),
        ),
    ],
};

static CORE_SE_LINUX_OPTIONS: Message = Message {
    name: "SELinuxOptions",
    fields: &[
        opt_oz(1, "user", Ty::Str),
        opt_oz(2, "role", Ty::Str),
        opt_oz(3, "type", Ty::Str),
        opt_oz(4, "level", Ty::Str),
    ],
};

static CORE_WINDOWS_SECURITY_CONTEXT_OPTIONS: Message = Message {
    name: "WindowsSecurityContextOptions",
    fields: &[
        opt(1, "gmsaCredentialSpecName", Ty::Str),
        opt(2, "gmsaCredentialSpec", Ty::Str),
        opt(3, "runAsUserName", Ty::Str),
        opt(4, "hostProcess", Ty::Bool),
    ],
};

static CORE_SYSCTL: Message = Message {
    name: "Sysctl",
    fields: &[opt(1, "name", Ty::Str), opt(2, "value", Ty::Str)],
};

static CORE_SECCOMP_PROFILE: Message = Message {
    name: "SeccompProfile",
    fields: &[opt(1, "type", Ty::Str), opt(2, "localhostProfile", Ty::Str)],
};

static CORE_APP_ARMOR_PROFILE: Message = Message {
    name: "AppArmorProfile",
    fields: &[opt(1, "type", Ty::Str), opt(2, "localhostProfile", Ty::Str)],
};

static CORE_NODE_AFFINITY: Message = Message {
    name: "NodeAffinity",
    fields: &[
        opt(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Ty::Msg(&CORE_NODE_SELECTOR),
        ),
        rep(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Ty::Msg(&CORE_PREFERRED_SCHEDULING_TERM),
        ),
    ],
};

static CORE_POD_AFFINITY: Message = Message {
    name: "PodAffinity",
    fields: &[
        rep(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Ty::Msg(&CORE_POD_AFFINITY_TERM),
        ),
        rep(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Ty::Msg(&CORE_WEIGHTED_POD_AFFINITY_TERM),
        ),
    ],
};

static CORE_POD_ANTI_AFFINITY: Message = Message {
    name: "PodAntiAffinity",
    fields: &[
        rep(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Ty::Msg(&CORE_POD_AFFINITY_TERM),
        ),
        rep(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Ty::Msg(&CORE_WEIGHTED_POD_AFFINITY_TERM),
        ),
    ],
};

static CORE_POD_DNS_CONFIG_OPTION: Message = Message {
    name: "PodDNSConfigOption",
    fields: &[opt_oz(1, "name", Ty::Str), opt(2, "value", Ty::Str)],
};

static CORE_RESOURCE_CLAIM: Message = Message {
    name: "ResourceClaim",
    fields: &[opt(1, "name", Ty::Str), opt_oz(2, "request", Ty::Str)],
};

static CORE_CONTAINER_STATE: Message = Message {
    name: "ContainerState",
    fields: &[
        opt(1, "waiting", Ty::Msg(&CORE_CONTAINER_STATE_WAITING)),
        opt(2, "running", Ty::Msg(&CORE_CONTAINER_STATE_RUNNING)),
        opt(3, "terminated", Ty::Msg(&CORE_CONTAINER_STATE_TERMINATED)),
    ],
};

static CORE_VOLUME_MOUNT_STATUS: Message = Message {
    name: "VolumeMountStatus",
    fields: &[
        opt(1, "name", Ty::Str),
        opt(2, "mountPath", Ty::Str),
        opt_oz(3, "readOnly", Ty::Bool),
        opt(4, "recursiveReadOnly", Ty::Str),
        opt(5, "volumeStatus", Ty::Msg(&CORE_VOLUME_STATUS)),
    ],
};

static CORE_CONTAINER_USER: Message = Message {
    name: "ContainerUser",
    fields: &[opt(1, "linux", Ty::Msg(&CORE_LINUX_CONTAINER_USER))],
};

static CORE_RESOURCE_STATUS: Message = Message {
    name: "ResourceStatus",
    fields: &[
        opt(1, "name", Ty::Str),
        rep(2, "resources", Ty::Msg(&CORE_RESOURCE_HEALTH)),
    ],
};

static CORE_CONTAINER_EXTENDED_RESOURCE_REQUEST: Message = Message {
    name: "ContainerExtendedResourceRequest",
    fields: &[
        opt(1, "containerName", Ty::Str),
        opt(2, "resourceName", Ty::Str),
        opt(3, "requestName", Ty::Str),
    ],
};

static CORE_SCOPED_RESOURCE_SELECTOR_REQUIREMENT: Message = Message {
    name: "ScopedResourceSelectorRequirement",
    fields: &[
        opt(1, "scopeName", Ty::Str),
        opt(2, "operator", Ty::Str),
        rep(3, "values", Ty::Str),
    ],
};

static META_LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "LabelSelectorRequirement",
    fields: &[
        opt(1, "key", Ty::Str),
        opt(2, "operator", Ty::Str),
        rep(3, "values", Ty::Str),
    ],
};

static APPS_ROLLING_UPDATE_DEPLOYMENT: Message = Message {
    name: "RollingUpdateDeployment",
    fields: &[
        opt(1, "maxUnavailable", Ty::IntOrString),
        opt(2, "maxSurge", Ty::IntOrString),
    ],
};

static BATCH_POD_FAILURE_POLICY_RULE: Message = Message {
    name: "PodFailurePolicyRule",
    fields: &[
        opt(1, "action", Ty::Str),
        opt(
            2,
            "onExitCodes",
            Ty::Msg(&BATCH_POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT),
        ),
        rep(
            3,
            "onPodConditions",
            Ty::Msg(&BATCH_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN),
        ),
    ],
};

static BATCH_SUCCESS_POLICY_RULE: Message = Message {
    name: "SuccessPolicyRule",
    fields: &[
        opt(1, "succeededIndexes", Ty::Str),
        opt(2, "succeededCount", Ty::Int32),
    ],
};

static AUTHZ_FIELD_SELECTOR_ATTRIBUTES: Message = Message {
    name: "FieldSelectorAttributes",
    fields: &[
        opt_oz(1, "rawSelector", Ty::Str),
        rep(2, "requirements", Ty::Msg(&META_FIELD_SELECTOR_REQUIREMENT)),
    ],
};

static AUTHZ_LABEL_SELECTOR_ATTRIBUTES: Message = Message {
    name: "LabelSelectorAttributes",
    fields: &[
        opt_oz(1, "rawSelector", Ty::Str),
        rep(2, "requirements", Ty::Msg(&META_LABEL_SELECTOR_REQUIREMENT)),
    ],
};

static NET_INGRESS_SERVICE_BACKEND: Message = Message {
    name: "IngressServiceBackend",
    fields: &[
        opt(1, "name", Ty::Str),
        opt(2, "port", Ty::Msg(&NET_SERVICE_BACKEND_PORT)),
    ],
};

static CORE_TYPED_LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "TypedLocalObjectReference",
    fields: &[
        opt(1, "apiGroup", Ty::Str),
        opt(2, "kind", Ty::Str),
        opt(3, "name", Ty::Str),
    ],
};

static NET_INGRESS_RULE_VALUE: Message = Message {
    name: "IngressRuleValue",
    fields: &[opt(1, "http", Ty::Msg(&NET_HTTP_INGRESS_RULE_VALUE))],
};

static NET_INGRESS_LOAD_BALANCER_INGRESS: Message = Message {
    name: "IngressLoadBalancerIngress",
    fields: &[
        opt_oz(1, "ip", Ty::Str),
        opt_oz(2, "hostname", Ty::Str),
        rep(4, "ports", Ty::Msg(&NET_INGRESS_PORT_STATUS)),
    ],
};

static CORE_PORT_STATUS: Message = Message {
    name: "PortStatus",
    fields: &[
        opt(1, "port", Ty::Int32),
        opt(2, "protocol", Ty::Str),
        opt(3, "error", Ty::Str),
    ],
};

static CORE_HOST_PATH_VOLUME_SOURCE: Message = Message {
    name: "HostPathVolumeSource",
    fields: &[opt(1, "path", Ty::Str), opt(2, "type", Ty::Str)],
};

static CORE_EMPTY_DIR_VOLUME_SOURCE: Message = Message {
    name: "EmptyDirVolumeSource",
    fields: &[
        opt_oz(1, "medium", Ty::Str),
        opt(2, "sizeLimit", Ty::Quantity),
    ],
};

static CORE_GCE_PERSISTENT_DISK_VOLUME_SOURCE: Message = Message {
    name: "GCEPersistentDiskVolumeSource",
    fields: &[
        opt(1, "pdName", Ty::Str),
        opt_oz(2, "fsType", Ty::Str),
        opt_oz(3, "partition", Ty::Int32),
        opt_oz(4, "readOnly", Ty::Bool),
    ],
};

static CORE_AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: Message = Message {
    name: "AWSElasticBlockStoreVolumeSource",
    fields: &[
        opt(1, "volumeID", Ty::Str),
        opt_oz(2, "fsType", Ty::Str),
        opt_oz(3, "partition", Ty::Int32),
        opt_oz(4, "readOnly", Ty::Bool),
    ],
};

static CORE_GIT_REPO_VOLUME_SOURCE: Message = Message {
    name: "GitRepoVolumeSource",
    fields: &[
        opt(1, "repository", Ty::Str),
        opt_oz(2, "revision", Ty::Str),
        opt_oz(3, "directory", Ty::Str),
    ],
};

static CORE_SECRET_VOLUME_SOURCE: Message = Message {
    name: "SecretVolumeSource",
    fields: &[
        opt_oz(1, "secretName", Ty::Str),
        rep(2, "items", Ty::Msg(&CORE_KEY_TO_PATH)),
        opt(3, "defaultMode", Ty::Int32),
        opt(4, "optional", Ty::Bool),
    ],
};

static CORE_NFS_VOLUME_SOURCE: Message = Message {
    name: "NFSVolumeSource",
    fields: &[
        opt(1, "server", Ty::Str),
        opt(2, "path", Ty::Str),
        opt_oz(3, "readOnly", Ty::Bool),
    ],
};

static CORE_ISCSI_VOLUME_SOURCE: Message = Message {
    name: "ISCSIVolumeSource",
    fields: &[
        opt(1, "targetPortal", Ty::Str),
        opt(2, "iqn", Ty::Str),
        opt(3, "lun", Ty::Int32),
        opt_oz(4, "iscsiInterface", Ty::Str),
        opt_oz(5, "fsType", Ty::Str),
        opt_oz(6, "readOnly", Ty::Bool),
        rep(7, "portals", Ty::Str),
        opt_oz(8, "chapAuthDiscovery", Ty::Bool),
        opt(10, "secretRef", Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        opt_oz(11, "chapAuthSession", Ty::Bool),
        opt(12, "initiatorName", Ty::Str),
    ],
};

static CORE_GLUSTERFS_VOLUME_SOURCE: Message = Message {
    name: "GlusterfsVolumeSource",
    fields: &[
        opt(1, "endpoints", Ty::Str),
        opt(2, "path", Ty::Str),
        opt_oz(3, "readOnly", Ty::Bool),
    ],
};

static CORE_PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: Message = Message {
    name: "PersistentVolumeClaimVolumeSource",
    fields: &[
        opt(1, "claimName", Ty::Str),
        opt_oz(2, "readOnly", Ty::Bool),
    ],
};

static CORE_RBD_VOLUME_SOURCE: Message = Message {
    name: "RBDVolumeSource",
    fields: &[
        rep(1, "monitors", Ty::Str),
        opt(2, "image", Ty::Str),
        opt_oz(3, "fsType", Ty::Str),
        opt_oz(4, "pool", Ty::Str),
        opt_oz(5, "user", Ty::Str),
        opt_oz(6, "keyring", Ty::Str),
        opt(7, "secretRef", Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        opt_oz(8, "readOnly", Ty::Bool),
    ],
};

static CORE_FLEX_VOLUME_SOURCE: Message = Message {
    name: "FlexVolumeSource",
    fields: &[
        opt(1, "driver", Ty::Str),
        opt_oz(2, "fsType", Ty::Str),
        opt(3, "secretRef", Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        opt_oz(4, "readOnly", Ty::Bool),
        map(5, "options", Ty::Str),
    ],
};

static CORE_CINDER_VOLUME_SOURCE: Message = Message {
    name: "CinderVolumeSource",
    fields: &[
        opt(1, "volumeID", Ty::Str),
        opt_oz(2, "fsType", Ty::Str),
        opt_oz(3, "readOnly", Ty::Bool),
        opt(4, "secretRef", Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
    ],
};

static CORE_CEPH_FS_VOLUME_SOURCE: Message = Message {
    name: "CephFSVolumeSource",
    fields: &[
        rep(1, "monitors", Ty::Str),
        opt_oz(2, "path", Ty::Str),
        opt_oz(3, "user", Ty::Str),
        opt_oz(4, "secretFile", Ty::Str),
        opt(5, "secretRef", Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        opt_oz(6, "readOnly", Ty::Bool),
    ],
};

static CORE_FLOCKER_VOLUME_SOURCE: Message = Message {
    name: "FlockerVolumeSource",
    fields: &[
        opt_oz(1, "datasetName", Ty::Str),
        opt_oz(2, "datasetUUID", Ty::Str),
    ],
};

static CORE_DOWNWARD_API_VOLUME_SOURCE: Message = Message {
    name: "DownwardAPIVolumeSource",
    fields: &[
        rep(1, "items", Ty::Msg(&CORE_DOWNWARD_API_VOLUME_FILE)),
        opt(2, "defaultMode", Ty::Int32),
    ],
};

static CORE_FC_VOLUME_SOURCE: Message = Message {
    name: "FCVolumeSource",
    fields: &[
        rep(1, "targetWWNs", Ty::Str),
        opt(2, "lun", Ty::Int32),
        opt_oz(3, "fsType", Ty::Str),
        opt_oz(4, "readOnly", Ty::Bool),
        rep(5, "wwids", Ty::Str),
    ],
};

static CORE_AZURE_FILE_VOLUME_SOURCE: Message = Message {
    name: "AzureFileVolumeSource",
    fields: &[
        opt(1, "secretName", Ty::Str),
        opt(2, "shareName", Ty::Str),
        opt_oz(3, "readOnly", Ty::Bool),
    ],
};

static CORE_CONFIG_MAP_VOLUME_SOURCE: Message = Message {
    name: "ConfigMapVolumeSource",
    fields: &[
        inline(1, Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        rep(2, "items", Ty::Msg(&CORE_KEY_TO_PATH)),
        opt(3, "defaultMode", Ty::Int32),
        opt(4, "optional", Ty::Bool),
    ],
};

static CORE_VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: Message = Message {
    name: "VsphereVirtualDiskVolumeSource",
    fields: &[
        opt(1, "volumePath", Ty::Str),
        opt_oz(2, "fsType", Ty::Str),
        opt_oz(3, "storagePolicyName", Ty::Str),
        opt_oz(4, "storagePolicyID", Ty::Str),
    ],
};

static CORE_QUOBYTE_VOLUME_SOURCE: Message = Message {
    name: "QuobyteVolumeSource",
    fields: &[
        opt(1, "registry", Ty::Str),
        opt(2, "volume", Ty::Str),
        opt_oz(3, "readOnly", Ty::Bool),
        opt_oz(4, "user", Ty::Str),
        opt_oz(5, "group", Ty::Str),
        opt_oz(6, "tenant", Ty::Str),
    ],
};

static CORE_AZURE_DISK_VOLUME_SOURCE: Message = Message {
    name: "AzureDiskVolumeSource",
    fields: &[
        opt(1, "diskName", Ty::Str),
        opt(2, "diskURI", Ty::Str),
        opt(3, "cachingMode", Ty::Str),
        opt(4, "fsType", Ty::Str),
        opt(5, "readOnly", Ty::Bool),
        opt(6, "kind", Ty::Str),
    ],
};

static CORE_PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: Message = Message {
    name: "PhotonPersistentDiskVolumeSource",
    fields: &[opt(1, "pdID", Ty::Str), opt_oz(2, "fsType", Ty::Str)],
};

static CORE_PROJECTED_VOLUME_SOURCE: Message = Message {
    name: "ProjectedVolumeSource",
    fields: &[
        rep(1, "sources", Ty::Msg(&CORE_VOLUME_PROJECTION)),
        opt(2, "defaultMode", Ty::Int32),
    ],
};

static CORE_PORTWORX_VOLUME_SOURCE: Message = Message {
    name: "PortworxVolumeSource",
    fields: &[
        opt(1, "volumeID", Ty::Str),
        opt_oz(2, "fsType", Ty::Str),
        opt_oz(3, "readOnly", Ty::Bool),
    ],
};

static CORE_SCALE_IO_VOLUME_SOURCE: Message = Message {
    name: "ScaleIOVolumeSource",
    fields: &[
        opt(1, "gateway", Ty::Str),
        opt(2, "system", Ty::Str),
        opt(3, "secretRef", Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        opt_oz(4, "sslEnabled", Ty::Bool),
        opt_oz(5, "protectionDomain", Ty::Str),
        opt_oz(6, "storagePool", Ty::Str),
        opt_oz(7, "storageMode", Ty::Str),
        opt_oz(8, "volumeName", Ty::Str),
        opt_oz(9, "fsType", Ty::Str),
        opt_oz(10, "readOnly", Ty::Bool),
    ],
};

static CORE_STORAGE_OS_VOLUME_SOURCE: Message = Message {
    name: "StorageOSVolumeSource",
    fields: &[
        opt_oz(1, "volumeName", Ty::Str),
        opt_oz(2, "volumeNamespace", Ty::Str),
        opt_oz(3, "fsType", Ty::Str),
        opt_oz(4, "readOnly", Ty::Bool),
        opt(5, "secretRef", Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
    ],
};

static CORE_CSI_VOLUME_SOURCE: Message = Message {
    name: "CSIVolumeSource",
    fields: &[
        opt(1, "driver", Ty::Str),
        opt(2, "readOnly", Ty::Bool),
        opt(3, "fsType", Ty::Str),
        map(4, "volumeAttributes", Ty::Str),
        opt(
            5,
            "nodePublishSecretRef",
            Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE),
        ),
    ],
};

static CORE_EPHEMERAL_VOLUME_SOURCE: Message = Message {
    name: "EphemeralVolumeSource",
    fields: &[opt(
        1,
        "volumeClaimTemplate",
        Ty::Msg(&CORE_PERSISTENT_VOLUME_CLAIM_TEMPLATE),
    )],
};

static CORE_IMAGE_VOLUME_SOURCE: Message = Message {
    name: "ImageVolumeSource",
    fields: &[
        opt_oz(1, "reference", Ty::Str),
        opt_oz(2, "pullPolicy", Ty::Str),
    ],
};

static CORE_CONFIG_MAP_ENV_SOURCE: Message = Message {
    name: "ConfigMapEnvSource",
    fields: &[
        inline(1, Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        opt(2, "optional", Ty::Bool),
    ],
};

static CORE_SECRET_ENV_SOURCE: Message = Message {
    name: "SecretEnvSource",
    fields: &[
        inline(1, Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        opt(2, "optional", Ty::Bool),
    ],
};

static CORE_ENV_VAR_SOURCE: Message = Message {
    name: "EnvVarSource",
    fields: &[
        opt(1, "fieldRef", Ty::Msg(&CORE_OBJECT_FIELD_SELECTOR)),
        opt(
            2,
            "resourceFieldRef",
            Ty::Msg(&CORE_RESOURCE_FIELD_SELECTOR),
        ),
        opt(3, "configMapKeyRef", Ty::Msg(&CORE_CONFIG_MAP_KEY_SELECTOR)),
        opt(4, "secretKeyRef", Ty::Msg(&CORE_SECRET_KEY_SELECTOR)),
        opt(5, "fileKeyRef", Ty::Msg(&CORE_FILE_KEY_SELECTOR)),
    ],
};

static CORE_CONTAINER_RESTART_RULE_ON_EXIT_CODES: Message = Message {
    name: "ContainerRestartRuleOnExitCodes",
    fields: &[opt_oz(1, "operator", Ty::Str), rep(2, "values", Ty::Int32)],
};

static CORE_PROBE_HANDLER: Message = Message {
    name: "ProbeHandler",
    fields: &[
        opt(1, "exec", Ty::Msg(&CORE_EXEC_ACTION)),
        opt(2, "httpGet", Ty::Msg(&CORE_HTTP_GET_ACTION)),
        opt(3, "tcpSocket", Ty::Msg(&CORE_TCP_SOCKET_ACTION)),
        opt(4, "grpc", Ty::Msg(&CORE_GRPC_ACTION)),
    ],
};

static CORE_LIFECYCLE_HANDLER: Message = Message {
    name: "LifecycleHandler",
    fields: &[
        opt(1, "exec", Ty::Msg(&CORE_EXEC_ACTION)),
        opt(2, "httpGet", Ty::Msg(&CORE_HTTP_GET_ACTION)),
        opt(3, "tcpSocket", Ty::Msg(&CORE_TCP_SOCKET_ACTION)),
        opt(4, "sleep", Ty::Msg(&CORE_SLEEP_ACTION)),
    ],
};

static CORE_CAPABILITIES: Message = Message {
    name: "Capabilities",
    fields: &[rep(1, "add", Ty::Str), rep(2, "drop", Ty::Str)],
};

static CORE_NODE_SELECTOR: Message = Message {
    name: "NodeSelector",
    fields: &[rep(
        1,
        "nodeSelectorTerms",
        Ty::Msg(&CORE_NODE_SELECTOR_TERM),
    )],
};

static CORE_PREFERRED_SCHEDULING_TERM: Message = Message {
    name: "PreferredSchedulingTerm",
    fields: &[
        opt(1, "weight", Ty::Int32),
        opt(2, "preference", Ty::Msg(&CORE_NODE_SELECTOR_TERM)),
    ],
};

static CORE_POD_AFFINITY_TERM: Message = Message {
    name: "PodAffinityTerm",
    fields: &[
        opt(1, "labelSelector", Ty::Msg(&META_LABEL_SELECTOR)),
        rep(2, "namespaces", Ty::Str),
        opt(3, "topologyKey", Ty::Str),
        opt(4, "namespaceSelector", Ty::Msg(&META_LABEL_SELECTOR)),
        rep(5, "matchLabelKeys", Ty::Str),
        rep(6, "mismatchLabelKeys", Ty::Str),
    ],
};

static CORE_WEIGHTED_POD_AFFINITY_TERM: Message = Message {
    name: "WeightedPodAffinityTerm",
    fields: &[
        opt(1, "weight", Ty::Int32),
        opt(2, "podAffinityTerm", Ty::Msg(&CORE_POD_AFFINITY_TERM)),
    ],
};

static CORE_CONTAINER_STATE_WAITING: Message = Message {
    name: "ContainerStateWaiting",
    fields: &[opt_oz(1, "reason", Ty::Str), opt_oz(2, "message", Ty::Str)],
};

static CORE_CONTAINER_STATE_RUNNING: Message = Message {
    name: "ContainerStateRunning",
    fields: &[opt(1, "startedAt", Ty::Time)],
};

static CORE_CONTAINER_STATE_TERMINATED: Message = Message {
    name: "ContainerStateTerminated",
    fields: &[
        opt(1, "exitCode", Ty::Int32),
        opt_oz(2, "signal", Ty::Int32),
        opt_oz(3, "reason", Ty::Str),
        opt_oz(4, "message", Ty::Str),
        opt(5, "startedAt", Ty::Time),
        opt(6, "finishedAt", Ty::Time),
        opt_oz(7, "containerID", Ty::Str),
    ],
};

static CORE_VOLUME_STATUS: Message = Message {
    name: "VolumeStatus",
    fields: &[opt(1, "image", Ty::Msg(&CORE_IMAGE_VOLUME_STATUS))],
};

static CORE_LINUX_CONTAINER_USER: Message = Message {
    name: "LinuxContainerUser",
    fields: &[
        opt(1, "uid", Ty::Int64),
        opt(2, "gid", Ty::Int64),
        rep(3, "supplementalGroups", Ty::Int64),
    ],
};

static CORE_RESOURCE_HEALTH: Message = Message {
    name: "ResourceHealth",
    fields: &[
        opt(1, "resourceID", Ty::Str),
        opt_oz(2, "health", Ty::Str),
        opt(6, "message", Ty::Str),
    ],
};

static BATCH_POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT: Message = Message {
    name: "PodFailurePolicyOnExitCodesRequirement",
    fields: &[
        opt(1, "containerName", Ty::Str),
        opt(2, "operator", Ty::Str),
        rep(3, "values", Ty::Int32),
    ],
};

static BATCH_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN: Message = Message {
    name: "PodFailurePolicyOnPodConditionsPattern",
    fields: &[opt(1, "type", Ty::Str), opt(2, "status", Ty::Str)],
};

static META_FIELD_SELECTOR_REQUIREMENT: Message = Message {
    name: "FieldSelectorRequirement",
    fields: &[
        opt(1, "key", Ty::Str),
        opt(2, "operator", Ty::Str),
        rep(3, "values", Ty::Str),
    ],
};

static NET_SERVICE_BACKEND_PORT: Message = Message {
    name: "ServiceBackendPort",
    fields: &[opt_oz(1, "name", Ty::Str), opt_oz(2, "number", Ty::Int32)],
};

static NET_HTTP_INGRESS_RULE_VALUE: Message = Message {
    name: "HTTPIngressRuleValue",
    fields: &[rep(1, "paths", Ty::Msg(&NET_HTTP_INGRESS_PATH))],
};

static NET_INGRESS_PORT_STATUS: Message = Message {
    name: "IngressPortStatus",
    fields: &[
        opt(1, "port", Ty::Int32),
        opt(2, "protocol", Ty::Str),
        opt(3, "error", Ty::Str),
    ],
};

static CORE_KEY_TO_PATH: Message = Message {
    name: "KeyToPath",
    fields: &[
        opt(1, "key", Ty::Str),
        opt(2, "path", Ty::Str),
        opt(3, "mode", Ty::Int32),
    ],
};

static CORE_DOWNWARD_API_VOLUME_FILE: Message = Message {
    name: "DownwardAPIVolumeFile",
    fields: &[
        opt(1, "path", Ty::Str),
        opt(2, "fieldRef", Ty::Msg(&CORE_OBJECT_FIELD_SELECTOR)),
        opt(
            3,
            "resourceFieldRef",
            Ty::Msg(&CORE_RESOURCE_FIELD_SELECTOR),
        ),
        opt(4, "mode", Ty::Int32),
    ],
};

static CORE_VOLUME_PROJECTION: Message = Message {
    name: "VolumeProjection",
    fields: &[
        opt(1, "secret", Ty::Msg(&CORE_SECRET_PROJECTION)),
        opt(2, "downwardAPI", Ty::Msg(&CORE_DOWNWARD_API_PROJECTION)),
        opt(3, "configMap", Ty::Msg(&CORE_CONFIG_MAP_PROJECTION)),
        opt(
            4,
            "serviceAccountToken",
            Ty::Msg(&CORE_SERVICE_ACCOUNT_TOKEN_PROJECTION),
        ),
        opt(
            5,
            "clusterTrustBundle",
            Ty::Msg(&CORE_CLUSTER_TRUST_BUNDLE_PROJECTION),
        ),
        opt(
            6,
            "podCertificate",
            Ty::Msg(&CORE_POD_CERTIFICATE_PROJECTION),
        ),
    ],
};

static CORE_PERSISTENT_VOLUME_CLAIM_TEMPLATE: Message = Message {
    name: "PersistentVolumeClaimTemplate",
    fields: &[
        opt(1, "metadata", Ty::Msg(&META_OBJECT_META)),
        opt(2, "spec", Ty::Msg(&CORE_PERSISTENT_VOLUME_CLAIM_SPEC)),
    ],
};

static CORE_OBJECT_FIELD_SELECTOR: Message = Message {
    name: "ObjectFieldSelector",
    fields: &[
        opt_oz(1, "apiVersion", Ty::Str),
        opt(2, "fieldPath", Ty::Str),
    ],
};

static CORE_RESOURCE_FIELD_SELECTOR: Message = Message {
    name: "ResourceFieldSelector",
    fields: &[
        opt_oz(1, "containerName", Ty::Str),
        opt(2, "resource", Ty::Str),
        opt(3, "divisor", Ty::Quantity),
    ],
};

static CORE_CONFIG_MAP_KEY_SELECTOR: Message = Message {
    name: "ConfigMapKeySelector",
    fields: &[
        inline(1, Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        opt(2, "key", Ty::Str),
        opt(3, "optional", Ty::Bool),
    ],
};

static CORE_SECRET_KEY_SELECTOR: Message = Message {
    name: "SecretKeySelector",
    fields: &[
        inline(1, Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        opt(2, "key", Ty::Str),
        opt(3, "optional", Ty::Bool),
    ],
};

static CORE_FILE_KEY_SELECTOR: Message = Message {
    name: "FileKeySelector",
    fields: &[
        opt(1, "volumeName", Ty::Str),
        opt(2, "path", Ty::Str),
        opt(3, "key", Ty::Str),
        opt(4, "optional", Ty::Bool),
    ],
};

static CORE_EXEC_ACTION: Message = Message {
    name: "ExecAction",
    fields: &[rep(1, "command", Ty::Str)],
};

static CORE_HTTP_GET_ACTION: Message = Message {
    name: "HTTPGetAction",
    fields: &[
        opt_oz(1, "path", Ty::Str),
        opt(2, "port", Ty::IntOrString),
        opt_oz(3, "host", Ty::Str),
        opt_oz(4, "scheme", Ty::Str),
        rep(5, "httpHeaders", Ty::Msg(&CORE_HTTP_HEADER)),
    ],
};

static CORE_TCP_SOCKET_ACTION: Message = Message {
    name: "TCPSocketAction",
    fields: &[opt(1, "port", Ty::IntOrString), opt_oz(2, "host", Ty::Str)],
};

static CORE_GRPC_ACTION: Message = Message {
    name: "GRPCAction",
    fields: &[opt(1, "port", Ty::Int32), opt(2, "service", Ty::Str)],
};

static CORE_SLEEP_ACTION: Message = Message {
    name: "SleepAction",
    fields: &[opt(1, "seconds", Ty::Int64)],
};

static CORE_NODE_SELECTOR_TERM: Message = Message {
    name: "NodeSelectorTerm",
    fields: &[
        rep(
            1,
            "matchExpressions",
            Ty::Msg(&CORE_NODE_SELECTOR_REQUIREMENT),
        ),
        rep(2, "matchFields", Ty::Msg(&CORE_NODE_SELECTOR_REQUIREMENT)),
    ],
};

static CORE_IMAGE_VOLUME_STATUS: Message = Message {
    name: "ImageVolumeStatus",
    fields: &[opt_oz(1, "imageRef", Ty::Str)],
};

static NET_HTTP_INGRESS_PATH: Message = Message {
    name: "HTTPIngressPath",
    fields: &[
        opt_oz(1, "path", Ty::Str),
        opt(2, "backend", Ty::Msg(&NET_INGRESS_BACKEND)),
        opt(3, "pathType", Ty::Str),
    ],
};

static CORE_SECRET_PROJECTION: Message = Message {
    name: "SecretProjection",
    fields: &[
        inline(1, Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        rep(2, "items", Ty::Msg(&CORE_KEY_TO_PATH)),
        opt(4, "optional", Ty::Bool),
    ],
};

static CORE_DOWNWARD_API_PROJECTION: Message = Message {
    name: "DownwardAPIProjection",
    fields: &[rep(1, "items", Ty::Msg(&CORE_DOWNWARD_API_VOLUME_FILE))],
};

static CORE_CONFIG_MAP_PROJECTION: Message = Message {
    name: "ConfigMapProjection",
    fields: &[
        inline(1, Ty::Msg(&CORE_LOCAL_OBJECT_REFERENCE)),
        rep(2, "items", Ty::Msg(&CORE_KEY_TO_PATH)),
        opt(4, "optional", Ty::Bool),
    ],
};

static CORE_SERVICE_ACCOUNT_TOKEN_PROJECTION: Message = Message {
    name: "ServiceAccountTokenProjection",
    fields: &[
        opt_oz(1, "audience", Ty::Str),
        opt(2, "expirationSeconds", Ty::Int64),
        opt(3, "path", Ty::Str),
    ],
};

static CORE_CLUSTER_TRUST_BUNDLE_PROJECTION: Message = Message {
    name: "ClusterTrustBundleProjection",
    fields: &[
        opt(1, "name", Ty::Str),
        opt(2, "signerName", Ty::Str),
        opt(3, "labelSelector", Ty::Msg(&META_LABEL_SELECTOR)),
        opt(4, "path", Ty::Str),
        opt(5, "optional", Ty::Bool),
    ],
};

static CORE_POD_CERTIFICATE_PROJECTION: Message = Message {
    name: "PodCertificateProjection",
    fields: &[
        opt_oz(1, "signerName", Ty::Str),
        opt_oz(2, "keyType", Ty::Str),
        opt(3, "maxExpirationSeconds", Ty::Int32),
        opt_oz(4, "credentialBundlePath", Ty::Str),
        opt_oz(5, "keyPath", Ty::Str),
        opt_oz(6, "certificateChainPath", Ty::Str),
        map(7, "userAnnotations", Ty::Str),
    ],
};

static CORE_PERSISTENT_VOLUME_CLAIM_SPEC: Message = Message {
    name: "PersistentVolumeClaimSpec",
    fields: &[
        rep(1, "accessModes", Ty::Str),
        opt(2, "resources", Ty::Msg(&CORE_VOLUME_RESOURCE_REQUIREMENTS)),
        opt_oz(3, "volumeName", Ty::Str),
        opt(4, "selector", Ty::Msg(&META_LABEL_SELECTOR)),
        opt(5, "storageClassName", Ty::Str),
        opt(6, "volumeMode", Ty::Str),
        opt(7, "dataSource", Ty::Msg(&CORE_TYPED_LOCAL_OBJECT_REFERENCE)),
        opt(8, "dataSourceRef", Ty::Msg(&CORE_TYPED_OBJECT_REFERENCE)),
        opt(9, "volumeAttributesClassName", Ty::Str),
    ],
};

static CORE_HTTP_HEADER: Message = Message {
    name: "HTTPHeader",
    fields: &[opt(1, "name", Ty::Str), opt(2, "value", Ty::Str)],
};

static CORE_NODE_SELECTOR_REQUIREMENT: Message = Message {
    name: "NodeSelectorRequirement",
    fields: &[
        opt(1, "key", Ty::Str),
        opt(2, "operator", Ty::Str),
        rep(3, "values", Ty::Str),
    ],
};

static CORE_VOLUME_RESOURCE_REQUIREMENTS: Message = Message {
    name: "VolumeResourceRequirements",
    fields: &[
        map(1, "limits", Ty::Quantity),
        map(2, "requests", Ty::Quantity),
    ],
};

static CORE_TYPED_OBJECT_REFERENCE: Message = Message {
    name: "TypedObjectReference",
    fields: &[
        opt(1, "apiGroup", Ty::Str),
        opt(2, "kind", Ty::Str),
        opt(3, "name", Ty::Str),
        opt(4, "namespace", Ty::Str),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `time.Time{}.Unix()` in Go: the zero time, which metav1.Time encodes as null.
    const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

    /// A body captured from the real kubectl v1.32.4 (pointed at a fake
    /// server) and the JSON kubectl prints for the same command with
    /// `--dry-run=client -o json`. Commands without a dry-run mode have the
    /// JSON that Go's encoding/json would produce, derived from the types'
    /// JSON tags. kubectl prints `null` for zero times and nil slices where
    /// the decoder leaves the key out, so nulls are ignored when comparing.
    struct Case {
        command: &'static str,
        body_hex: &'static str,
        expected: &'static str,
    }

    const KUBECTL_CASES: &[Case] = &[
        Case {
            command: "kubectl create namespace foo",
            body_hex: concat!(
                "6b3873000a0f0a02763112094e616d657370616365121b0a130a03666f6f12001a0022002a003200",
                "3800420012001a020a001a002200",
            ),
            expected: r#"
{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"foo",
"creationTimestamp":null},"spec":{},"status":{}}
"#,
        },
        Case {
            command: "kubectl create configmap cm --from-literal=a=b --from-literal=c=d",
            body_hex: concat!(
                "6b3873000a0f0a0276311209436f6e6669674d617012240a120a02636d12001a0022002a00320038",
                "00420012060a016112016212060a01631201641a002200",
            ),
            expected: r#"
{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm",
"creationTimestamp":null},"data":{"a":"b","c":"d"}}
"#,
        },
        Case {
            command: "kubectl create configmap cmb --from-file=bin=<binary> --from-literal=x=y",
            body_hex: concat!(
                "6b3873000a0f0a0276311209436f6e6669674d6170122e0a130a03636d6212001a0022002a003200",
                "3800420012060a01781201791a0f0a0362696e120862696e61727900ff1a002200",
            ),
            expected: r#"
{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cmb",
"creationTimestamp":null},"data":{"x":"y"},"binaryData":{"bin":"YmluYXJ5AP8="}}
"#,
        },
        Case {
            command: "kubectl create secret generic s --from-literal=k=v --type=Opaque",
            body_hex: concat!(
                "6b3873000a0c0a027631120653656372657412230a110a017312001a0022002a0032003800420012",
                "060a016b1201761a064f70617175651a002200",
            ),
            expected: r#"
{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s","creationTimestamp":null},
"data":{"k":"dg=="},"type":"Opaque"}
"#,
        },
        Case {
            command: "kubectl create secret docker-registry sd ...",
            body_hex: concat!(
                "6b3873000a0c0a02763112065365637265741299010a120a02736412001a0022002a003200380042",
                "0012630a112e646f636b6572636f6e6669676a736f6e124e7b226175746873223a7b22722e696f22",
                "3a7b22757365726e616d65223a2275222c2270617373776f7264223a2270222c22656d61696c223a",
                "22654078222c2261757468223a2264547077227d7d7d1a1e6b756265726e657465732e696f2f646f",
                "636b6572636f6e6669676a736f6e1a002200",
            ),
            expected: r#"
{"kind":"Secret","apiVersion":"v1","metadata":{"name":"sd",
"creationTimestamp":null},"data":{
".dockerconfigjson":"eyJhdXRocyI6eyJyLmlvIjp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicCIsImVtYWlsIjoiZUB4IiwiYXV0aCI6ImRUcHcifX19"},
"type":"kubernetes.io/dockerconfigjson"}
"#,
        },
        Case {
            command: "kubectl create deployment web --image=nginx --replicas=2 --port=80",
            body_hex: concat!(
                "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b8010a1f0a0377656212001a",
                "0022002a003200380042005a0a0a0361707012037765621286010802120c0a0a0a03617070120377",
                "65621a6c0a1c0a0012001a0022002a003200380042005a0a0a036170701203776562124c122e0a05",
                "6e67696e7812056e67696e782a00320a0a001000185022002a0042006a0072008001008801009001",
                "00a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a0028003800",
                "1a0c0800100018002000280038001a002200",
            ),
            expected: r#"
{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web",
"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"replicas":2,"selector":{
"matchLabels":{"app":"web"}},"template":{"metadata":{"creationTimestamp":null,
"labels":{"app":"web"}},"spec":{"containers":[{"name":"nginx","image":"nginx",
"ports":[{"containerPort":80}],"resources":{}}]}},"strategy":{}},"status":{}}
"#,
        },
        Case {
            command: "kubectl create deployment web0 (two images) --image=nginx --replicas=0",
            body_hex: concat!(
                "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412de010a210a04776562301200",
                "1a0022002a003200380042005a0b0a0361707012047765623012aa010800120d0a0b0a0361707012",
                "04776562301a8e010a1d0a0012001a0022002a003200380042005a0b0a0361707012047765623012",
                "6d12220a056e67696e7812056e67696e782a0042006a007200800100880100900100a20100122b0a",
                "0762757379626f78120c62757379626f783a312e33362a0042006a007200800100880100900100a2",
                "01001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c",
                "0800100018002000280038001a002200",
            ),
            expected: r#"
{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web0",
"creationTimestamp":null,"labels":{"app":"web0"}},"spec":{"replicas":0,"selector":{
"matchLabels":{"app":"web0"}},"template":{"metadata":{"creationTimestamp":null,
"labels":{"app":"web0"}},"spec":{"containers":[{"name":"nginx","image":"nginx",
"resources":{}},{"name":"busybox","image":"busybox:1.36","resources":{}}]}},
"strategy":{}},"status":{}}
"#,
        },
        Case {
            command: "kubectl create deployment web1 --image=nginx -- sleep 10",
            body_hex: concat!(
                "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412bb010a210a04776562311200",
                "1a0022002a003200380042005a0b0a036170701204776562311287010801120d0a0b0a0361707012",
                "04776562311a6c0a1d0a0012001a0022002a003200380042005a0b0a03617070120477656231124b",
                "122d0a056e67696e7812056e67696e781a05736c6565701a0231302a0042006a0072008001008801",
                "00900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a0028",
                "0038001a0c0800100018002000280038001a002200",
            ),
            expected: r#"
{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web1",
"creationTimestamp":null,"labels":{"app":"web1"}},"spec":{"replicas":1,"selector":{
"matchLabels":{"app":"web1"}},"template":{"metadata":{"creationTimestamp":null,
"labels":{"app":"web1"}},"spec":{"containers":[{"name":"nginx","image":"nginx",
"command":["sleep","10"],"resources":{}}]}},"strategy":{}},"status":{}}
"#,
        },
        Case {
            command: "kubectl create job j --image=busybox -- echo hi",
            body_hex: concat!(
                "6b3873000a0f0a0862617463682f763112034a6f621282010a110a016a12001a0022002a00320038",
                "004200126332610a100a0012001a0022002a00320038004200124d122a0a016a120762757379626f",
                "781a046563686f1a0268692a0042006a007200800100880100900100a201001a054e657665723200",
                "42004a0052005800600068008201008a01009a0100c201001a082000280030003a001a002200",
            ),
            expected: r#"
{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"j",
"creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},
"spec":{"containers":[{"name":"j","image":"busybox","command":["echo","hi"],
"resources":{}}],"restartPolicy":"Never"}}},"status":{}}
"#,
        },
        Case {
            command: "kubectl create job j2 --from=cronjob/c",
            body_hex: concat!(
                "6b3873000a0f0a0862617463682f763112034a6f6212e6020a87010a026a3212001a0022002a0032",
                "00380042005a060a016c120176622b0a2163726f6e6a6f622e6b756265726e657465732e696f2f69",
                "6e7374616e746961746512066d616e75616c6a3e0a0743726f6e4a6f621a01632224306233633161",
                "39652d356331642d346336652d396635332d3366316530623761326431312a0862617463682f7631",
                "300112cf0132ca010a100a0012001a0022002a0032003800420012b5010a110a0176120c9a01090a",
                "040a02636d18a403127b0a0163120762757379626f781a04646174652a003a060a01411201313a1a",
                "0a014212001a130a110a00120d6d657461646174612e6e616d6542220a0d0a0363707512060a0435",
                "30306d0a110a066d656d6f727912070a053132384d694a0d0a017610001a022f76220032006a0072",
                "00800100880100900100a201001a094f6e4661696c757265320042004a0052005800600068008201",
                "008a01009a0100c2010038031a082000280030003a001a002200",
            ),
            expected: r#"
{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"j2",
"creationTimestamp":null,"labels":{"l":"v"},"annotations":{
"cronjob.kubernetes.io/instantiate":"manual"},"ownerReferences":[{
"apiVersion":"batch/v1","kind":"CronJob","name":"c",
"uid":"0b3c1a9e-5c1d-4c6e-9f53-3f1e0b7a2d11","controller":true}]},"spec":{
"backoffLimit":3,"template":{"metadata":{"creationTimestamp":null},"spec":{
"volumes":[{"name":"v","configMap":{"name":"cm","defaultMode":420}}],"containers":[{
"name":"c","image":"busybox","command":["date"],"env":[{"name":"A","value":"1"},{
"name":"B","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],"resources":{
"limits":{"cpu":"500m","memory":"128Mi"}},"volumeMounts":[{"name":"v",
"mountPath":"/v"}]}],"restartPolicy":"OnFailure"}}},"status":{}}
"#,
        },
        Case {
            command: "kubectl create cronjob c --image=busybox --schedule=... --restart=Never -- date",
            body_hex: concat!(
                "6b3873000a130a0862617463682f7631120743726f6e4a6f62129d010a110a016312001a0022002a",
                "003200380042001285010a0b2a2f31202a202a202a202a1a002a740a110a016312001a0022002a00",
                "320038004200125f325d0a100a0012001a0022002a00320038004200124912260a01631207627573",
                "79626f781a04646174652a0042006a007200800100880100900100a201001a054e65766572320042",
                "004a0052005800600068008201008a01009a0100c201001a001a002200",
            ),
            expected: r#"
{"kind":"CronJob","apiVersion":"batch/v1","metadata":{"name":"c",
"creationTimestamp":null},"spec":{"schedule":"*/1 * * * *","jobTemplate":{
"metadata":{"name":"c","creationTimestamp":null},"spec":{"template":{"metadata":{
"creationTimestamp":null},"spec":{"containers":[{"name":"c","image":"busybox",
"command":["date"],"resources":{}}],"restartPolicy":"Never"}}}}},"status":{}}
"#,
        },
        Case {
            command: "kubectl create service clusterip svc --tcp=80:8080 --tcp=443",
            body_hex: concat!(
                "6b3873000a0d0a0276311207536572766963651283010a1f0a0373766312001a0022002a00320038",
                "0042005a0a0a036170701203737663125c0a1b0a0738302d38303830120354435018502207080010",
                "903f1a0028000a180a03343433120354435018bb032207080010bb031a002800120a0a0361707012",
                "037376631a002209436c757374657249503a00420052005a00600068001a020a001a002200",
            ),
            expected: r#"
{"kind":"Service","apiVersion":"v1","metadata":{"name":"svc",
"creationTimestamp":null,"labels":{"app":"svc"}},"spec":{"ports":[{"name":"80-8080",
"protocol":"TCP","port":80,"targetPort":8080},{"name":"443","protocol":"TCP",
"port":443,"targetPort":443}],"selector":{"app":"svc"},"type":"ClusterIP"},
"status":{"loadBalancer":{}}}
"#,
        },
        Case {
            command: "kubectl create service nodeport np --tcp=80:8080 --node-port=30080",
            body_hex: concat!(
                "6b3873000a0d0a02763112075365727669636512670a1d0a026e7012001a0022002a003200380042",
                "005a090a0361707012026e7012420a1d0a0738302d38303830120354435018502207080010903f1a",
                "002880eb0112090a0361707012026e701a0022084e6f6465506f72743a00420052005a0060006800",
                "1a020a001a002200",
            ),
            expected: r#"
{"kind":"Service","apiVersion":"v1","metadata":{"name":"np",
"creationTimestamp":null,"labels":{"app":"np"}},"spec":{"ports":[{"name":"80-8080",
"protocol":"TCP","port":80,"targetPort":8080,"nodePort":30080}],"selector":{
"app":"np"},"type":"NodePort"},"status":{"loadBalancer":{}}}
"#,
        },
        Case {
            command: "kubectl create service loadbalancer lb --tcp=80:http",
            body_hex: concat!(
                "6b3873000a0d0a027631120753657276696365126c0a1d0a026c6212001a0022002a003200380042",
                "005a090a0361707012026c6212470a1e0a0738302d6874747012035443501850220a080110001a04",
                "68747470280012090a0361707012026c621a00220c4c6f616442616c616e6365723a00420052005a",
                "00600068001a020a001a002200",
            ),
            expected: r#"
{"kind":"Service","apiVersion":"v1","metadata":{"name":"lb",
"creationTimestamp":null,"labels":{"app":"lb"}},"spec":{"ports":[{"name":"80-http",
"protocol":"TCP","port":80,"targetPort":"http"}],"selector":{"app":"lb"},
"type":"LoadBalancer"},"status":{"loadBalancer":{}}}
"#,
        },
        Case {
            command: "kubectl create service externalname en --external-name=example.com",
            body_hex: concat!(
                "6b3873000a0d0a02763112075365727669636512570a1d0a02656e12001a0022002a003200380042",
                "005a090a036170701202656e123212090a036170701202656e1a00220c45787465726e616c4e616d",
                "653a004200520b6578616d706c652e636f6d5a00600068001a020a001a002200",
            ),
            expected: r#"
{"kind":"Service","apiVersion":"v1","metadata":{"name":"en",
"creationTimestamp":null,"labels":{"app":"en"}},"spec":{"selector":{"app":"en"},
"type":"ExternalName","externalName":"example.com"},"status":{"loadBalancer":{}}}
"#,
        },
        Case {
            command: "kubectl create serviceaccount sa",
            body_hex: concat!(
                "6b3873000a140a027631120e536572766963654163636f756e7412140a120a02736112001a002200",
                "2a003200380042001a002200",
            ),
            expected: r#"
{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"sa",
"creationTimestamp":null}}
"#,
        },
        Case {
            command: "kubectl create priorityclass pc --value=1000 --global-default=true ...",
            body_hex: concat!(
                "6b3873000a250a147363686564756c696e672e6b38732e696f2f7631120d5072696f72697479436c",
                "61737312240a120a02706312001a0022002a0032003800420010e8071801220268692a054e657665",
                "721a002200",
            ),
            expected: r#"
{"kind":"PriorityClass","apiVersion":"scheduling.k8s.io/v1","metadata":{"name":"pc",
"creationTimestamp":null},"value":1000,"globalDefault":true,"description":"hi",
"preemptionPolicy":"Never"}
"#,
        },
        Case {
            command: "kubectl create priorityclass pc0 --value=0",
            body_hex: concat!(
                "6b3873000a250a147363686564756c696e672e6b38732e696f2f7631120d5072696f72697479436c",
                "61737312310a130a0370633012001a0022002a003200380042001000180022002a14507265656d70",
                "744c6f7765725072696f726974791a002200",
            ),
            expected: r#"
{"kind":"PriorityClass","apiVersion":"scheduling.k8s.io/v1","metadata":{
"name":"pc0","creationTimestamp":null},"value":0,
"preemptionPolicy":"PreemptLowerPriority"}
"#,
        },
        Case {
            command: "kubectl create pdb p --selector=app=x --min-available=1",
            body_hex: concat!(
                "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e4275646765741235",
                "0a110a017012001a0022002a0032003800420012140a06080010011a00120a0a080a036170701201",
                "781a0a080018002000280030001a002200",
            ),
            expected: r#"
{"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"p",
"creationTimestamp":null},"spec":{"minAvailable":1,"selector":{"matchLabels":{
"app":"x"}}},"status":{"disruptionsAllowed":0,"currentHealthy":0,"desiredHealthy":0,
"expectedPods":0}}
"#,
        },
        Case {
            command: "kubectl create pdb p2 --selector=app=x --max-unavailable=50%",
            body_hex: concat!(
                "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e4275646765741239",
                "0a120a02703212001a0022002a003200380042001217120a0a080a036170701201781a0908011000",
                "1a033530251a0a080018002000280030001a002200",
            ),
            expected: r#"
{"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"p2",
"creationTimestamp":null},"spec":{"selector":{"matchLabels":{"app":"x"}},
"maxUnavailable":"50%"},"status":{"disruptionsAllowed":0,"currentHealthy":0,
"desiredHealthy":0,"expectedPods":0}}
"#,
        },
        Case {
            command: "kubectl create quota q --hard=cpu=1,memory=1Gi,pods=10 --scopes=BestEffort",
            body_hex: concat!(
                "6b3873000a130a027631120d5265736f7572636551756f7461124e0a110a017112001a0022002a00",
                "32003800420012370a0a0a0363707512030a01310a0f0a066d656d6f727912050a033147690a0c0a",
                "04706f647312040a023130120a426573744566666f72741a001a002200",
            ),
            expected: r#"
{"kind":"ResourceQuota","apiVersion":"v1","metadata":{"name":"q",
"creationTimestamp":null},"spec":{"hard":{"cpu":"1","memory":"1Gi","pods":"10"},
"scopes":["BestEffort"]},"status":{}}
"#,
        },
        Case {
            command: "kubectl create role r --verb=get,list --resource=pods,deployments.apps ...",
            body_hex: concat!(
                "6b3873000a240a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f76311204526f",
                "6c65124e0a110a017212001a0022002a0032003800420012160a036765740a046c69737412001a04",
                "706f647322016112210a036765740a046c6973741204617070731a0b6465706c6f796d656e747322",
                "01611a002200",
            ),
            expected: r#"
{"kind":"Role","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"r",
"creationTimestamp":null},"rules":[{"verbs":["get","list"],"apiGroups":[""],
"resources":["pods"],"resourceNames":["a"]},{"verbs":["get","list"],"apiGroups":[
"apps"],"resources":["deployments"],"resourceNames":["a"]}]}
"#,
        },
        Case {
            command: "kubectl create clusterrole cr --verb=get --non-resource-url=/logs/*",
            body_hex: concat!(
                "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b436c",
                "7573746572526f6c6512240a120a02637212001a0022002a00320038004200120e0a036765742a07",
                "2f6c6f67732f2a1a002200",
            ),
            expected: r#"
{"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{
"name":"cr","creationTimestamp":null},"rules":[{"verbs":["get"],"nonResourceURLs":[
"/logs/*"]}]}
"#,
        },
        Case {
            command: "kubectl create clusterrole agg --aggregation-rule=...",
            body_hex: concat!(
                "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b436c",
                "7573746572526f6c65124b0a130a0361676712001a0022002a003200380042001a340a320a300a28",
                "726261632e6578616d706c652e636f6d2f6167677265676174652d746f2d6d6f6e69746f72696e67",
                "1204747275651a002200",
            ),
            expected: r#"
{"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{
"name":"agg","creationTimestamp":null},"rules":null,"aggregationRule":{
"clusterRoleSelectors":[{"matchLabels":{
"rbac.example.com/aggregate-to-monitoring":"true"}}]}}
"#,
        },
        Case {
            command: "kubectl create rolebinding rb --role=r --user=u --serviceaccount=default:sa ...",
            body_hex: concat!(
                "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b526f",
                "6c6542696e64696e6712ac010a120a02726212001a0022002a0032003800420012260a0455736572",
                "1219726261632e617574686f72697a6174696f6e2e6b38732e696f1a0175220012270a0547726f75",
                "701219726261632e617574686f72697a6174696f6e2e6b38732e696f1a01672200121f0a0e536572",
                "766963654163636f756e7412001a027361220764656661756c741a240a19726261632e617574686f",
                "72697a6174696f6e2e6b38732e696f1204526f6c651a01721a002200",
            ),
            expected: r#"
{"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{
"name":"rb","creationTimestamp":null},"subjects":[{"kind":"User",
"apiGroup":"rbac.authorization.k8s.io","name":"u"},{"kind":"Group",
"apiGroup":"rbac.authorization.k8s.io","name":"g"},{"kind":"ServiceAccount",
"name":"sa","namespace":"default"}],"roleRef":{
"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r"}}
"#,
        },
        Case {
            command: "kubectl create clusterrolebinding crb --clusterrole=cr --user=u",
            body_hex: concat!(
                "6b3873000a320a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f76311212436c",
                "7573746572526f6c6542696e64696e67126b0a130a0363726212001a0022002a0032003800420012",
                "260a04557365721219726261632e617574686f72697a6174696f6e2e6b38732e696f1a017522001a",
                "2c0a19726261632e617574686f72697a6174696f6e2e6b38732e696f120b436c7573746572526f6c",
                "651a0263721a002200",
            ),
            expected: r#"
{"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1",
"metadata":{"name":"crb","creationTimestamp":null},"subjects":[{"kind":"User",
"apiGroup":"rbac.authorization.k8s.io","name":"u"}],"roleRef":{
"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cr"}}
"#,
        },
        Case {
            command: "kubectl create ingress i --rule=foo.com/bar*=svc:8080,tls=sec ...",
            body_hex: concat!(
                "6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e6772657373127a0a",
                "190a016912001a0022002a0032003800420062060a016112016212590a11220f0a0364656612080a",
                "04687474701000120e0a07666f6f2e636f6d12037365631a2d0a07666f6f2e636f6d12220a200a1e",
                "0a042f626172120e220c0a0373766312050a0010903f1a0650726566697822056e67696e781a020a",
                "001a002200",
            ),
            expected: r#"
{"kind":"Ingress","apiVersion":"networking.k8s.io/v1","metadata":{"name":"i",
"creationTimestamp":null,"annotations":{"a":"b"}},"spec":{
"ingressClassName":"nginx","defaultBackend":{"service":{"name":"def","port":{
"name":"http"}}},"tls":[{"hosts":["foo.com"],"secretName":"sec"}],"rules":[{
"host":"foo.com","http":{"paths":[{"path":"/bar","pathType":"Prefix","backend":{
"service":{"name":"svc","port":{"number":8080}}}}]}}]},"status":{"loadBalancer":{}}}
"#,
        },
        Case {
            command: "kubectl auth can-i create pods",
            body_hex: concat!(
                "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c66537562",
                "6a656374416363657373526576696577123f0a100a0012001a0022002a0032003800420012210a1f",
                "0a0764656661756c7412066372656174651a0022002a04706f647332003a001a08080012001a0020",
                "001a002200",
            ),
            expected: r#"
{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1",
"metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":{
"namespace":"default","verb":"create","resource":"pods"}},"status":{
"allowed":false}}
"#,
        },
        Case {
            command: "kubectl auth can-i get deployments.apps/web --subresource=scale -n ...",
            body_hex: concat!(
                "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c66537562",
                "6a65637441636365737352657669657712530a100a0012001a0022002a0032003800420012350a33",
                "0a0b6b7562652d73797374656d12036765741a046170707322002a0b6465706c6f796d656e747332",
                "057363616c653a037765621a08080012001a0020001a002200",
            ),
            expected: r#"
{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1",
"metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":{
"namespace":"kube-system","verb":"get","group":"apps","resource":"deployments",
"subresource":"scale","name":"web"}},"status":{"allowed":false}}
"#,
        },
        Case {
            command: "kubectl auth can-i get /logs",
            body_hex: concat!(
                "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c66537562",
                "6a656374416363657373526576696577122c0a100a0012001a0022002a00320038004200120e120c",
                "0a052f6c6f677312036765741a08080012001a0020001a002200",
            ),
            expected: r#"
{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1",
"metadata":{"creationTimestamp":null},"spec":{"nonResourceAttributes":{
"path":"/logs","verb":"get"}},"status":{"allowed":false}}
"#,
        },
        Case {
            command: "kubectl auth can-i --list -n dev",
            body_hex: concat!(
                "6b3873000a310a17617574686f72697a6174696f6e2e6b38732e696f2f7631121653656c66537562",
                "6a65637452756c6573526576696577121f0a100a0012001a0022002a0032003800420012050a0364",
                "65761a04180022001a002200",
            ),
            expected: r#"
{"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1","metadata":{
"creationTimestamp":null},"spec":{"namespace":"dev"},"status":{"resourceRules":null,
"nonResourceRules":null,"incomplete":false}}
"#,
        },
        Case {
            command: "kubectl create token sa --duration=1h --audience=a --audience=b",
            body_hex: concat!(
                "6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e52",
                "65717565737412230a100a0012001a0022002a0032003800420012090a01610a016220901c1a040a",
                "0012001a002200",
            ),
            expected: r#"
{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","metadata":{
"creationTimestamp":null},"spec":{"audiences":["a","b"],"expirationSeconds":3600,
"boundObjectRef":null},"status":{"token":"","expirationTimestamp":null}}
"#,
        },
        Case {
            command: "kubectl create token sa --bound-object-kind=Pod --bound-object-name=p1 ...",
            body_hex: concat!(
                "6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e52",
                "657175657374124f0a100a0012001a0022002a0032003800420012351a330a03506f64120276311a",
                "027031222430623363316139652d356331642d346336652d396635332d3366316530623761326431",
                "311a040a0012001a002200",
            ),
            expected: r#"
{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","metadata":{
"creationTimestamp":null},"spec":{"audiences":null,"boundObjectRef":{"kind":"Pod",
"apiVersion":"v1","name":"p1","uid":"0b3c1a9e-5c1d-4c6e-9f53-3f1e0b7a2d11"}},
"status":{"token":"","expirationTimestamp":null}}
"#,
        },
        Case {
            command: "kubectl auth whoami",
            body_hex: concat!(
                "6b3873000a2d0a1861757468656e7469636174696f6e2e6b38732e696f2f7631121153656c665375",
                "626a656374526576696577121a0a100a0012001a0022002a0032003800420012060a040a0012001a",
                "002200",
            ),
            expected: r#"
{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","metadata":{
"creationTimestamp":null},"status":{"userInfo":{}}}
"#,
        },
        Case {
            command: "kubectl drain n1 --grace-period=7 (DELETE fallback)",
            body_hex: "6b3873000a130a027631120d44656c6574654f7074696f6e73120208071a002200",
            expected: r#"
{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":7}
"#,
        },
    ];

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    fn case(needle: &str) -> &'static Case {
        KUBECTL_CASES
            .iter()
            .find(|case| case.command.contains(needle))
            .unwrap()
    }

    fn without_nulls(value: &Value) -> Value {
        match value {
            Value::Object(object) => Value::Object(
                object
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), without_nulls(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
            other => other.clone(),
        }
    }

    fn varint(mut value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn tag(num: u32, wire_type: u8) -> Vec<u8> {
        varint(u64::from(num) << 3 | u64::from(wire_type))
    }

    fn varint_field(num: u32, value: u64) -> Vec<u8> {
        [tag(num, 0), varint(value)].concat()
    }

    fn len_field(num: u32, payload: &[u8]) -> Vec<u8> {
        [tag(num, 2), varint(payload.len() as u64), payload.to_vec()].concat()
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [
            len_field(1, api_version.as_bytes()),
            len_field(2, kind.as_bytes()),
        ]
        .concat();
        [
            MAGIC.to_vec(),
            len_field(1, &type_meta),
            len_field(2, raw),
            len_field(3, b""),
            len_field(4, b""),
        ]
        .concat()
    }

    fn meta_named(name: &str) -> Vec<u8> {
        len_field(1, &len_field(1, name.as_bytes()))
    }

    #[test]
    fn kubectl_bodies_decode_to_kubectl_json() {
        for case in KUBECTL_CASES {
            let decoded = decode(&unhex(case.body_hex))
                .unwrap_or_else(|err| panic!("{}: {err}", case.command));
            let expected: Value = serde_json::from_str(case.expected).unwrap();
            assert_eq!(
                without_nulls(&decoded),
                without_nulls(&expected),
                "{}\n got: {decoded}",
                case.command
            );
        }
    }

    #[test]
    fn zero_values_follow_go_json_tags() {
        // kubectl create deployment --replicas=0: *int32 replicas stays, the
        // non-pointer status counters and empty ObjectMeta strings go.
        let decoded = decode(&unhex(case("deployment web0").body_hex)).unwrap();
        assert_eq!(decoded["spec"]["replicas"], json!(0));
        assert_eq!(decoded["status"], json!({}));
        assert_eq!(
            decoded["metadata"],
            json!({"name": "web0", "labels": {"app": "web0"}})
        );
        let container = &decoded["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container.get("imagePullPolicy"), None);
        assert_eq!(container.get("stdin"), None);
    }

    #[test]
    fn content_type_constant() {
        assert_eq!(PROTOBUF_CONTENT_TYPE, "application/vnd.kubernetes.protobuf");
    }

    #[test]
    fn rejects_bodies_without_magic_or_kind() {
        for body in [&b""[..], b"k8s", b"{\"kind\":\"Pod\"}", b"k8s\x01\x0a\x00"] {
            assert!(
                matches!(decode(body), Err(ProtobufError::Malformed(_))),
                "{body:?}"
            );
        }
        assert!(matches!(decode(b"k8s\0"), Err(ProtobufError::Malformed(_))));
        let no_kind = [MAGIC.to_vec(), len_field(1, &len_field(1, b"v1"))].concat();
        assert!(matches!(decode(&no_kind), Err(ProtobufError::Malformed(_))));
    }

    #[test]
    fn unsupported_kind_is_reported_with_its_type() {
        let err = decode(&envelope("apps/v1", "StatefulSet", &meta_named("s"))).unwrap_err();
        assert_eq!(
            err,
            ProtobufError::UnsupportedKind {
                api_version: "apps/v1".to_owned(),
                kind: "StatefulSet".to_owned()
            }
        );
        assert!(err.to_string().contains("StatefulSet"));
        // The kind alone is not enough: Deployment only exists in apps/v1.
        assert!(matches!(
            decode(&envelope("v1", "Deployment", &[])),
            Err(ProtobufError::UnsupportedKind { .. })
        ));
    }

    #[test]
    fn every_truncation_of_a_real_body_fails_cleanly() {
        let body = unhex(case("--from=cronjob/c").body_hex);
        for len in 0..body.len() {
            // Must not panic; most prefixes are malformed, a few end on a
            // field boundary and decode to a partial object.
            let _ = decode(&body[..len]);
        }
        let mut cut = body.clone();
        cut.pop();
        assert!(matches!(decode(&cut), Err(ProtobufError::Malformed(_))));
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped() {
        let group = [
            tag(90, 3),
            varint_field(1, 5),
            tag(2, 3),
            len_field(3, b"x"),
            tag(2, 4),
            tag(90, 4),
        ]
        .concat();
        let unknown = [
            varint_field(99, 300),
            tag(98, 1),
            vec![0; 8],
            len_field(97, b"\xff\x00"),
            tag(96, 5),
            vec![0; 4],
            group,
        ]
        .concat();
        let meta = [len_field(1, b"n"), unknown.clone()].concat();
        let raw = [len_field(1, &meta), unknown, varint_field(2, 7)].concat();
        let decoded = decode(&envelope("scheduling.k8s.io/v1", "PriorityClass", &raw)).unwrap();
        assert_eq!(
            decoded,
            json!({
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": "n"},
                "value": 7
            })
        );
    }

    #[test]
    fn wrong_wire_type_for_a_known_field_is_malformed() {
        let raw = [meta_named("n"), len_field(2, b"7")].concat();
        let err = decode(&envelope("scheduling.k8s.io/v1", "PriorityClass", &raw)).unwrap_err();
        assert!(err.to_string().contains("PriorityClass.value"), "{err}");
    }

    #[test]
    fn broken_varints_lengths_and_groups_are_malformed() {
        let bodies = [
            [MAGIC.to_vec(), vec![0x08], vec![0xff; 11]].concat(),
            [
                MAGIC.to_vec(),
                vec![
                    0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
                ],
            ]
            .concat(),
            [MAGIC.to_vec(), vec![0x12, 0x05, 0x00]].concat(),
            [MAGIC.to_vec(), tag(7, 3), varint_field(1, 1)].concat(),
            [MAGIC.to_vec(), tag(7, 3), tag(8, 4)].concat(),
            [MAGIC.to_vec(), tag(7, 4)].concat(),
            [MAGIC.to_vec(), tag(7, 6)].concat(),
            [MAGIC.to_vec(), vec![0x00, 0x00]].concat(),
            // Groups nested far deeper than any schema, which must not
            // exhaust the stack.
            [MAGIC.to_vec(), tag(7, 3).repeat(10_000)].concat(),
        ];
        for body in bodies {
            assert!(
                matches!(decode(&body), Err(ProtobufError::Malformed(_))),
                "{body:?}"
            );
        }
    }

    #[test]
    fn negative_int32_and_packed_or_unpacked_repeated_ints() {
        let raw = [meta_named("n"), varint_field(2, (-5i64) as u64)].concat();
        let decoded = decode(&envelope("scheduling.k8s.io/v1", "PriorityClass", &raw)).unwrap();
        assert_eq!(decoded["value"], json!(-5));

        let packed = [varint(1), varint(2)].concat();
        let security_context = [
            varint_field(4, 1000),
            len_field(4, &packed),
            varint_field(4, (-1i64) as u64),
        ]
        .concat();
        let spec = len_field(14, &security_context);
        let raw = [meta_named("p"), len_field(2, &spec)].concat();
        let decoded = decode(&envelope("v1", "Pod", &raw)).unwrap();
        assert_eq!(
            decoded["spec"]["securityContext"]["supplementalGroups"],
            json!([1000, 1, 2, -1])
        );
    }

    #[test]
    fn times_become_rfc3339_or_null() {
        let timestamp =
            |seconds: i64| [varint_field(1, seconds as u64), varint_field(2, 5)].concat();
        let meta = [
            len_field(1, b"n"),
            len_field(8, &timestamp(1_700_000_000)),
            len_field(9, b""),
        ]
        .concat();
        let decoded = decode(&envelope("v1", "Namespace", &len_field(1, &meta))).unwrap();
        assert_eq!(
            decoded["metadata"],
            json!({
                "name": "n",
                "creationTimestamp": "2023-11-14T22:13:20Z",
                "deletionTimestamp": null
            })
        );
        // Go's zero time, written out explicitly, is still the zero time.
        let meta = [
            len_field(1, b"n"),
            len_field(8, &timestamp(GO_ZERO_TIME_UNIX)),
        ]
        .concat();
        let decoded = decode(&envelope("v1", "Namespace", &len_field(1, &meta))).unwrap();
        assert_eq!(decoded["metadata"], json!({"name": "n"}));
    }

    #[test]
    fn int_or_string_and_quantity() {
        let port = |target: &[u8]| {
            let service_port = [varint_field(3, 80), len_field(4, target)].concat();
            let spec = len_field(1, &service_port);
            decode(&envelope(
                "v1",
                "Service",
                &[meta_named("s"), len_field(2, &spec)].concat(),
            ))
        };
        let named = [varint_field(1, 1), len_field(3, b"http")].concat();
        assert_eq!(
            port(&named).unwrap()["spec"]["ports"][0]["targetPort"],
            json!("http")
        );
        let number = [varint_field(1, 0), varint_field(2, 8080)].concat();
        assert_eq!(
            port(&number).unwrap()["spec"]["ports"][0]["targetPort"],
            json!(8080)
        );
        assert!(matches!(
            port(&varint_field(1, 2)),
            Err(ProtobufError::Malformed(_))
        ));

        let hard = [len_field(1, b"cpu"), len_field(2, &len_field(1, b"250m"))].concat();
        let missing_value = len_field(1, b"pods");
        let spec = [len_field(1, &hard), len_field(1, &missing_value)].concat();
        let raw = [meta_named("q"), len_field(2, &spec)].concat();
        let decoded = decode(&envelope("v1", "ResourceQuota", &raw)).unwrap();
        assert_eq!(decoded["spec"]["hard"], json!({"cpu": "250m", "pods": "0"}));
    }

    #[test]
    fn repeated_embedded_messages_merge_and_later_zeroes_win() {
        let raw = [
            meta_named("n"),
            len_field(
                1,
                &len_field(11, &[len_field(1, b"a"), len_field(2, b"b")].concat()),
            ),
            len_field(1, &len_field(4, b"old")),
            len_field(1, &len_field(4, b"")),
            varint_field(3, 1),
        ]
        .concat();
        let decoded = decode(&envelope("scheduling.k8s.io/v1", "PriorityClass", &raw)).unwrap();
        assert_eq!(
            decoded["metadata"],
            json!({"name": "n", "labels": {"a": "b"}})
        );
        assert_eq!(decoded["globalDefault"], json!(true));
        assert_eq!(decoded.get("description"), None);
    }

    #[test]
    fn secret_bytes_are_base64() {
        let entry = [len_field(1, b"k"), len_field(2, b"\x00\xffv")].concat();
        let empty = len_field(1, b"e");
        let raw = [meta_named("s"), len_field(2, &entry), len_field(2, &empty)].concat();
        let decoded = decode(&envelope("v1", "Secret", &raw)).unwrap();
        assert_eq!(decoded["data"], json!({"k": "AP92", "e": ""}));
    }

    #[test]
    fn delete_options_in_any_group_version() {
        let preconditions = [len_field(1, b"uid-1"), len_field(2, b"42")].concat();
        let raw = [
            varint_field(1, 0),
            len_field(2, &preconditions),
            len_field(4, b"Foreground"),
            len_field(5, b"All"),
        ]
        .concat();
        for api_version in ["v1", "meta.k8s.io/v1", "apps/v1"] {
            let decoded = decode(&envelope(api_version, "DeleteOptions", &raw)).unwrap();
            assert_eq!(
                decoded,
                json!({
                    "apiVersion": api_version,
                    "kind": "DeleteOptions",
                    "gracePeriodSeconds": 0,
                    "preconditions": {"uid": "uid-1", "resourceVersion": "42"},
                    "propagationPolicy": "Foreground",
                    "dryRun": ["All"]
                })
            );
        }
    }

    #[test]
    fn inline_structs_join_their_parent_object() {
        // Probe embeds ProbeHandler (field 1) with json:",inline".
        let http_get = [
            len_field(1, b"/healthz"),
            len_field(2, &varint_field(2, 8080)),
        ]
        .concat();
        let handler = len_field(2, &http_get);
        let probe = [len_field(1, &handler), varint_field(2, 3)].concat();
        let container = [len_field(1, b"c"), len_field(10, &probe)].concat();
        let spec = len_field(2, &container);
        let raw = [meta_named("p"), len_field(2, &spec)].concat();
        let decoded = decode(&envelope("v1", "Pod", &raw)).unwrap();
        assert_eq!(
            decoded["spec"]["containers"][0],
            json!({
                "name": "c",
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": 8080},
                    "initialDelaySeconds": 3
                }
            })
        );
    }

    #[test]
    fn content_encoding_is_rejected() {
        let mut body = envelope("v1", "Namespace", &meta_named("n"));
        body.extend(len_field(3, b"gzip"));
        assert!(matches!(decode(&body), Err(ProtobufError::Malformed(_))));
    }

    #[test]
    fn schema_tables_are_sorted_and_unique() {
        fn check(msg: &'static Message, seen: &mut Vec<&'static str>) {
            if seen.contains(&msg.name) {
                return;
            }
            seen.push(msg.name);
            assert!(
                msg.fields.windows(2).all(|pair| pair[0].num < pair[1].num),
                "{} fields must be sorted by number for binary search",
                msg.name
            );
            for field in msg.fields {
                if let Ty::Msg(inner) = field.ty {
                    check(inner, seen);
                }
            }
        }
        let mut seen = Vec::new();
        for (_, _, root) in ROOTS {
            check(root, &mut seen);
        }
        assert!(seen.len() > 200);
    }
}
