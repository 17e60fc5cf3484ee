//! Server-side printing: the `meta.k8s.io/v1` Table column definitions and row
//! cells that `kubectl get` renders, for every kind this server serves.
//!
//! Columns and cell rules follow kube-apiserver's built-in printers (v1.33).
//! The real server always generates tables in wide mode and leaves hiding the
//! priority-1 columns to the client, so every row carries a cell for every
//! column, wide ones included.
//!
//! Objects arrive in their versioned JSON shape and may lack fields. Upstream
//! prints from internal objects that went through scheme defaulting when they
//! were written, so a field with a scheme default (a Service's type, a port's
//! protocol, a Deployment's replicas, a PV's phase) prints as that default when
//! absent; any other absent field prints as upstream prints the Go zero value.

mod columns;
mod core_v1;
mod others;
#[cfg(test)]
mod tests;
mod workloads;

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

/// One entry of a Table's `columnDefinitions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// The OpenAPI type of the cells: "string", "integer", "boolean", "date".
    pub kind: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    /// 0 for columns `kubectl get` always shows, 1 for `-o wide` only.
    pub priority: i32,
}

/// The columns for `kind` in API group `group` ("" or "core" for the core
/// group); kinds without a dedicated printer get Name and Created At.
pub fn columns(group: &str, kind: &str) -> &'static [Column] {
    match (normalize_group(group), kind) {
        ("", "Namespace") => columns::NAMESPACE,
        ("", "Node") => columns::NODE,
        ("", "Pod") => columns::POD,
        ("", "Service") => columns::SERVICE,
        ("", "Endpoints") => columns::ENDPOINTS,
        ("", "ConfigMap") => columns::CONFIG_MAP,
        ("", "Secret") => columns::SECRET,
        ("", "ServiceAccount") => columns::SERVICE_ACCOUNT,
        ("", "Event") | ("events.k8s.io", "Event") => columns::EVENT,
        ("", "PersistentVolume") => columns::PERSISTENT_VOLUME,
        ("", "PersistentVolumeClaim") => columns::PERSISTENT_VOLUME_CLAIM,
        ("apps", "Deployment") => columns::DEPLOYMENT,
        ("apps", "ReplicaSet") => columns::REPLICA_SET,
        ("apps", "StatefulSet") => columns::STATEFUL_SET,
        ("apps", "DaemonSet") => columns::DAEMON_SET,
        ("apps", "ControllerRevision") => columns::CONTROLLER_REVISION,
        ("batch", "Job") => columns::JOB,
        ("batch", "CronJob") => columns::CRON_JOB,
        ("coordination.k8s.io", "Lease") => columns::LEASE,
        ("discovery.k8s.io", "EndpointSlice") => columns::ENDPOINT_SLICE,
        ("scheduling.k8s.io", "PriorityClass") => columns::PRIORITY_CLASS,
        ("policy", "PodDisruptionBudget") => columns::POD_DISRUPTION_BUDGET,
        _ => columns::DEFAULT,
    }
}

/// The cells of `obj`'s row, one per entry of `columns(group, kind)`.
/// `now_unix_secs` is the instant ages and durations are measured against.
pub fn row_cells(group: &str, kind: &str, obj: &Value, now_unix_secs: i64) -> Vec<Value> {
    let now = i128::from(now_unix_secs) * NANOS_PER_SEC;
    match (normalize_group(group), kind) {
        ("", "Namespace") => core_v1::namespace(obj, now),
        ("", "Node") => core_v1::node(obj, now),
        ("", "Pod") => core_v1::pod(obj, now),
        ("", "Service") => core_v1::service(obj, now),
        ("", "Endpoints") => core_v1::endpoints(obj, now),
        ("", "ConfigMap") => core_v1::config_map(obj, now),
        ("", "Secret") => core_v1::secret(obj, now),
        ("", "ServiceAccount") => core_v1::service_account(obj, now),
        ("", "Event") => core_v1::core_event(obj, now),
        ("events.k8s.io", "Event") => core_v1::events_event(obj, now),
        ("", "PersistentVolume") => core_v1::persistent_volume(obj, now),
        ("", "PersistentVolumeClaim") => core_v1::persistent_volume_claim(obj, now),
        ("apps", "Deployment") => workloads::deployment(obj, now),
        ("apps", "ReplicaSet") => workloads::replica_set(obj, now),
        ("apps", "StatefulSet") => workloads::stateful_set(obj, now),
        ("apps", "DaemonSet") => workloads::daemon_set(obj, now),
        ("apps", "ControllerRevision") => workloads::controller_revision(obj, now),
        ("batch", "Job") => workloads::job(obj, now),
        ("batch", "CronJob") => workloads::cron_job(obj, now),
        ("coordination.k8s.io", "Lease") => others::lease(obj, now),
        ("discovery.k8s.io", "EndpointSlice") => others::endpoint_slice(obj, now),
        ("scheduling.k8s.io", "PriorityClass") => others::priority_class(obj, now),
        ("policy", "PodDisruptionBudget") => others::pod_disruption_budget(obj, now),
        // The generic table convertor prints an absolute timestamp, not an age.
        _ => vec![
            name(obj),
            format_rfc3339(time_at(obj, "/metadata/creationTimestamp")).into(),
        ],
    }
}

/// The Table `columnDefinitions` array for `cols`.
pub fn column_definitions_json(cols: &[Column]) -> Value {
    Value::Array(
        cols.iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "type": c.kind,
                    "format": c.format,
                    "description": c.description,
                    "priority": c.priority,
                })
            })
            .collect(),
    )
}

/// A duration in whole seconds the way `kubectl get` shows ages: two or three
/// significant figures ("5s", "2m30s", "3h", "5d", "2y").
pub fn human_duration(secs: i64) -> String {
    // A second of negative skew between clocks still reads as "just now".
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return with_remainder(minutes, "m", secs % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        return with_remainder(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return with_remainder(days, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return with_remainder(years, "y", days % 365, "d");
    }
    format!("{years}y")
}

fn with_remainder(major: i64, major_unit: &str, minor: i64, minor_unit: &str) -> String {
    if minor == 0 {
        format!("{major}{major_unit}")
    } else {
        format!("{major}{major_unit}{minor}{minor_unit}")
    }
}

fn normalize_group(group: &str) -> &str {
    if group == "core" { "" } else { group }
}

// ---- JSON access -----------------------------------------------------------

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The string at `ptr`, or `default` when absent or empty; the default is
/// either what scheme defaulting would have stored or upstream's placeholder.
fn str_or<'a>(v: &'a Value, ptr: &str, default: &'a str) -> &'a str {
    match str_at(v, ptr) {
        "" => default,
        s => s,
    }
}

fn int_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

fn arr_at<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn map_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a Map<String, Value>> {
    v.pointer(ptr).and_then(Value::as_object)
}

fn map_len(v: &Value, ptr: &str) -> usize {
    map_at(v, ptr).map_or(0, Map::len)
}

/// Whether `ptr` holds a value; JSON null decodes to a nil pointer upstream.
fn present(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).is_some_and(|x| !x.is_null())
}

fn name(obj: &Value) -> Value {
    str_at(obj, "/metadata/name").into()
}

fn count(n: usize) -> Value {
    Value::from(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A resource quantity or int-or-string as upstream's `String()` shows it.
fn scalar_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// ---- time -------------------------------------------------------------------

/// An instant as nanoseconds since the Unix epoch.
type Nanos = i128;

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Go's zero `time.Time` (0001-01-01T00:00:00Z), which an absent timestamp
/// decodes to and which upstream prints as "<unknown>".
const ZERO_TIME: Nanos = -62_135_596_800 * NANOS_PER_SEC;

/// The timestamp at `ptr`, or the zero time when absent or malformed.
fn time_at(v: &Value, ptr: &str) -> Nanos {
    opt_time_at(v, ptr).unwrap_or(ZERO_TIME)
}

/// The timestamp at `ptr`, or None where upstream would hold a nil pointer.
fn opt_time_at(v: &Value, ptr: &str) -> Option<Nanos> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
}

/// Time elapsed since `t` as a human duration; "<unknown>" for the zero time.
fn since(t: Nanos, now: Nanos) -> String {
    if t == ZERO_TIME {
        return "<unknown>".into();
    }
    elapsed(t, now)
}

/// `to - from` as a human duration, truncated to whole seconds like Go's
/// `int(d.Seconds())`.
fn elapsed(from: Nanos, to: Nanos) -> String {
    let secs = (to - from) / NANOS_PER_SEC;
    human_duration(i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX }))
}

fn age(obj: &Value, now: Nanos) -> Value {
    since(time_at(obj, "/metadata/creationTimestamp"), now).into()
}

/// Parses RFC 3339 ("2024-05-01T10:00:00Z", with optional fraction and
/// numeric offset), the form metav1.Time and MicroTime take in JSON.
fn parse_rfc3339(s: &str) -> Option<Nanos> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't') {
        return None;
    }
    let year = digits(s, 0, 4)?;
    let month = digits(s, 5, 7)?;
    let day = digits(s, 8, 10)?;
    let hour = digits(s, 11, 13)?;
    let minute = digits(s, 14, 16)?;
    let second = digits(s, 17, 19)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac: Nanos = 0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        // Digits past nanosecond precision carry no information Go keeps.
        let mut scale = NANOS_PER_SEC;
        for d in after_dot.bytes().take(len.min(9)) {
            scale /= 10;
            frac += Nanos::from(d - b'0') * scale;
        }
        rest = &after_dot[len..];
    }
    let offset_secs: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let z = rest.as_bytes();
            if z.len() != 6 || z[3] != b':' {
                return None;
            }
            let sign = match z[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (digits(rest, 1, 3)?, digits(rest, 4, 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(Nanos::from(secs) * NANOS_PER_SEC + frac)
}

fn digits(s: &str, from: usize, to: usize) -> Option<i64> {
    let part = s.get(from..to)?;
    if !part.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm), avoiding a date-time dependency for this one conversion.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of `days_from_civil`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats like Go's `t.UTC().Format(time.RFC3339)`: whole seconds, "Z".
fn format_rfc3339(t: Nanos) -> String {
    let secs = i64::try_from(t.div_euclid(NANOS_PER_SEC)).unwrap_or(0);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---- labels and selectors -----------------------------------------------------

/// `k=v` pairs sorted as whole strings, or "<none>" (labels.FormatLabels).
fn format_labels(labels: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<String> = labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    if pairs.is_empty() {
        return "<none>".into();
    }
    pairs.sort();
    pairs.join(",")
}

/// A LabelSelector in query syntax (metav1.FormatLabelSelector): "<none>"
/// when it selects nothing or everything, "<error>" when it is malformed.
fn format_label_selector(selector: Option<&Value>) -> String {
    match selector_string(selector) {
        Ok(s) if s.is_empty() => "<none>".into(),
        Ok(s) => s,
        Err(()) => "<error>".into(),
    }
}

/// The selector's requirements sorted by key and joined with commas, as
/// `LabelSelectorAsSelector(..).String()` renders them; empty for a nil or
/// empty selector.
fn selector_string(selector: Option<&Value>) -> Result<String, ()> {
    let Some(sel) = selector.filter(|v| !v.is_null()) else {
        return Ok(String::new());
    };
    let mut reqs: Vec<(&str, String)> = Vec::new();
    for (key, value) in map_at(sel, "/matchLabels").into_iter().flatten() {
        reqs.push((key, format!("{key}={}", value.as_str().ok_or(())?)));
    }
    for expr in arr_at(sel, "/matchExpressions") {
        let key = str_at(expr, "/key");
        let mut values = arr_at(expr, "/values")
            .iter()
            .map(|v| v.as_str().ok_or(()))
            .collect::<Result<Vec<_>, ()>>()?;
        values.sort_unstable();
        let rendered = match str_at(expr, "/operator") {
            "In" | "NotIn" if values.is_empty() => return Err(()),
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" | "DoesNotExist" if !values.is_empty() => return Err(()),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return Err(()),
        };
        reqs.push((key, rendered));
    }
    reqs.sort_by(|a, b| a.0.cmp(b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(","))
}

// ---- shared cell builders -------------------------------------------------------

/// Container names and images, each comma-joined (the wide Containers and
/// Images columns).
fn container_cells(containers: &[Value]) -> [Value; 2] {
    let join = |field: &str| {
        containers
            .iter()
            .map(|c| str_at(c, field))
            .collect::<Vec<_>>()
            .join(",")
    };
    [join("/name").into(), join("/image").into()]
}

/// Access modes abbreviated in the fixed order RWO, ROX, RWX, RWOP.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// Joins up to three entries, then summarises the rest as " + N more...".
fn list_with_more(list: &[String], total: usize) -> String {
    const MAX: usize = 3;
    let shown = list[..list.len().min(MAX)].join(",");
    match total.cmp(&MAX) {
        Ordering::Greater => format!("{shown} + {} more...", total - MAX),
        _ => shown,
    }
}
