//! The generic REST storage: create, get, list, update and delete for every resource, over the
//! `Store` and the watch cache. Objects are handled as JSON; per-kind behaviour comes from
//! `strategy`, `defaults` and `validation`. A write either fully happens or not at all: every
//! check runs before the single store operation, and the store's compare-and-swap decides races.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use serde_json::{Value, json};

use capstan_api_types::ResourceInfo;
use capstan_store::{KeyValue, Store, StoreError};

use crate::error::{ApiError, ApiResult, StatusCause, Target};
use crate::object::{self, meta_mut};
use crate::request::FieldValidation;
use crate::schemas::Schemas;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::watch_cache::{CachedObject, WatchCache};
use crate::{allocator, defaults, stored_form, strategy, validation};

/// How often an update retries after losing a compare-and-swap race it did not ask for.
const UPDATE_RETRIES: usize = 16;
/// How long an update waits for the watch cache to catch up before reading the store instead.
const FRESH_READ_WAIT: Duration = Duration::from_millis(500);

pub struct Api {
    pub store: Arc<dyn Store>,
    pub cache: Arc<WatchCache>,
    pub schemas: Arc<Schemas>,
    /// tolerationSeconds of the default not-ready/unreachable tolerations.
    pub default_toleration_seconds: i64,
}

/// Options every write carries.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: String,
    pub field_validation: FieldValidation,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            dry_run: false,
            field_manager: "capstan".into(),
            field_validation: FieldValidation::Warn,
        }
    }
}

#[derive(Debug, Clone)]
pub struct WriteResult {
    pub object: Value,
    pub created: bool,
    pub warnings: Vec<String>,
    /// `object` as JSON, when the write produced it anyway (the stored text plus its
    /// resourceVersion) — answering with it saves serialising the object again.
    pub json: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub limit: usize,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
}

pub struct ListResult {
    pub items: Vec<Bytes>,
    pub revision: i64,
    pub continue_token: Option<String>,
}

/// Options of a delete (`DeleteOptions`).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub propagation_policy: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    pub fn from_body(body: &Value) -> ApiResult<Self> {
        let policy = match body.get("propagationPolicy").and_then(Value::as_str) {
            None => None,
            Some(p @ ("Orphan" | "Background" | "Foreground")) => Some(p.to_string()),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy {other:?} is invalid: must be Orphan, Background or Foreground"
                )));
            }
        };
        let policy =
            policy.or_else(
                || match body.get("orphanDependents").and_then(Value::as_bool) {
                    Some(true) => Some("Orphan".into()),
                    Some(false) => Some("Background".into()),
                    None => None,
                },
            );
        Ok(DeleteOptions {
            grace_period_seconds: body.get("gracePeriodSeconds").and_then(Value::as_i64),
            precondition_uid: body
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(Into::into),
            precondition_rv: body
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(Into::into),
            propagation_policy: policy,
            dry_run: body
                .get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|v| v == "All")),
        })
    }
}

pub fn target<'a>(r: &'a ResourceInfo, qualified: &'a str, name: &'a str) -> Target<'a> {
    Target {
        resource: qualified,
        group: r.group,
        plural: r.plural,
        name,
    }
}

fn not_found(r: &ResourceInfo, name: &str) -> ApiError {
    let q = r.qualified_resource();
    ApiError::not_found(&target(r, &q, name))
}

fn store_err(r: &ResourceInfo, name: &str, e: StoreError) -> ApiError {
    let q = r.qualified_resource();
    ApiError::from_store(e, &target(r, &q, name))
}

pub fn decode_kv(kv: &KeyValue) -> ApiResult<Value> {
    let mut v: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("corrupt object {} in store: {e}", kv.key)))?;
    object::set_resource_version(&mut v, kv.mod_revision);
    Ok(v)
}

/// Stored form: the object without its resourceVersion (the store revision is the RV).
fn encode_for_store(obj: &Value) -> ApiResult<Vec<u8>> {
    stored_form::encode(obj).map_err(|e| ApiError::internal(e.to_string()))
}

fn invalid(r: &ResourceInfo, name: &str, causes: Vec<validation::Cause>) -> ApiError {
    let message = validation::full_message(&r.qualified_kind(), name, &causes);
    let causes = causes
        .into_iter()
        .map(|c| StatusCause {
            reason: c.reason,
            message: c.message,
            field: c.field,
        })
        .collect();
    let q = r.qualified_resource();
    ApiError::invalid(r.kind, &target(r, &q, name), message, causes)
}

fn encode_continue(revision: i64, key: &str) -> String {
    let raw = json!({"v": "meta.k8s.io/v1", "rv": revision, "start": key}).to_string();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn decode_continue(token: &str) -> ApiResult<(i64, String)> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {token}"));
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rv = v.get("rv").and_then(Value::as_i64).ok_or_else(bad)?;
    let start = v.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    Ok((rv, start.to_string()))
}

impl Api {
    fn list_prefix(r: &ResourceInfo, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if r.namespaced => format!("{}{}/", r.key_prefix(), ns),
            _ => r.key_prefix(),
        }
    }

    pub async fn get(&self, r: &ResourceInfo, ns: Option<&str>, name: &str) -> ApiResult<Value> {
        Ok(self.read_current(r, ns, name).await?.1)
    }

    /// The stored object with its store revision, or 404.
    async fn read_current(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
    ) -> ApiResult<(i64, Value)> {
        let kv = self
            .store
            .get(&r.key(ns, name))
            .await
            .map_err(|e| store_err(r, name, e))?
            .ok_or_else(|| not_found(r, name))?;
        Ok((kv.mod_revision, decode_kv(&kv)?))
    }

    /// The object as of now — from the watch cache once it has caught up with the store's
    /// current revision (the same guarantee as a store read, without the read), else from
    /// the store. Update paths start here; a compare-and-swap still guards the write.
    async fn read_fresh(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
    ) -> ApiResult<(i64, Value)> {
        let now = self.store.current_revision().await?;
        if let Some(cache) = self.cache.resource(r)
            && self.cache.wait_for(now, FRESH_READ_WAIT).await
        {
            let cached = cache.read().objects.get(&r.key(ns, name)).cloned();
            if let Some(obj) = cached
                && let Ok(value) = serde_json::from_slice::<Value>(&obj.json)
            {
                return Ok((obj.revision, value));
            }
        }
        self.read_current(r, ns, name).await
    }

    /// Lists from the watch cache when it can answer at the revision asked for, otherwise
    /// (exact revisions, later pages) from the store at the list's revision.
    pub async fn list(
        &self,
        r: &'static ResourceInfo,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<ListResult> {
        let prefix = Self::list_prefix(r, ns);
        if let Some(token) = &opts.continue_token {
            let (rev, start) = decode_continue(token)?;
            if !start.starts_with(&prefix) {
                return Err(ApiError::bad_request(
                    "continue key does not match the request",
                ));
            }
            return self
                .list_from_store(r, &prefix, Some(start), rev, opts)
                .await;
        }
        let requested: Option<i64> = match opts.resource_version.as_deref() {
            None | Some("") => None,
            Some(v) => Some(
                v.parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {v:?}")))?,
            ),
        };
        if opts.resource_version_match.as_deref() == Some("Exact") {
            let rev = requested.ok_or_else(|| {
                ApiError::bad_request("resourceVersionMatch=Exact requires resourceVersion")
            })?;
            return self.list_from_store(r, &prefix, None, rev, opts).await;
        }
        let min = match requested {
            Some(v) => v,
            None => self.store.current_revision().await?,
        };
        if !self.cache.wait_for(min, Duration::from_secs(3)).await {
            if requested.is_some_and(|v| v > 0) {
                return Err(ApiError::timeout(format!(
                    "Too large resource version: {min}, current: {}",
                    self.cache.synced_revision()
                )));
            }
            let rev = self.store.current_revision().await?;
            return self.list_from_store(r, &prefix, None, rev, opts).await;
        }
        let cache = self
            .cache
            .resource(r)
            .ok_or_else(|| ApiError::internal("no watch cache for resource"))?;
        let state = cache.read();
        let revision = state.revision.max(self.cache.synced_revision());
        let mut items = Vec::new();
        let mut continue_token = None;
        let matches =
            |o: &CachedObject| opts.labels.matches_object(&o.view) && opts.fields.matches(&o.view);
        if let Some(name) = opts
            .fields
            .required_name()
            .filter(|_| ns.is_some() || !r.namespaced)
        {
            if let Some(o) = state.objects.get(&r.key(ns, name)).filter(|o| matches(o)) {
                items.push(o.json.clone());
            }
        } else {
            let mut last_key: Option<&str> = None;
            for (key, o) in state.objects.range(prefix.clone()..) {
                if !key.starts_with(&prefix) {
                    break;
                }
                if !matches(o) {
                    continue;
                }
                if opts.limit > 0 && items.len() == opts.limit {
                    // More matching items exist: later pages come from the store at `revision`.
                    continue_token = last_key.map(|k| encode_continue(revision, k));
                    break;
                }
                items.push(o.json.clone());
                last_key = Some(key);
            }
        }
        Ok(ListResult {
            items,
            revision,
            continue_token,
        })
    }

    async fn list_from_store(
        &self,
        r: &ResourceInfo,
        prefix: &str,
        mut start: Option<String>,
        revision: i64,
        opts: &ListOptions,
    ) -> ApiResult<ListResult> {
        let mut items = Vec::new();
        let page_size = if opts.limit == 0 {
            0
        } else {
            opts.limit.max(50)
        };
        loop {
            let page = self
                .store
                .list(prefix, start.as_deref(), page_size, Some(revision))
                .await
                .map_err(|e| match e {
                    StoreError::Compacted { .. } if opts.continue_token.is_some() => ApiError::gone(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    ),
                    other => ApiError::from(other),
                })?;
            let n = page.items.len();
            for (i, kv) in page.items.iter().enumerate() {
                let Some(o) = CachedObject::from_kv(r.kind, kv) else {
                    continue;
                };
                if opts.labels.matches_object(&o.view) && opts.fields.matches(&o.view) {
                    items.push(o.json.clone());
                    if opts.limit > 0 && items.len() == opts.limit {
                        let more = i + 1 < n || page.more;
                        let token = more.then(|| encode_continue(revision, &kv.key));
                        return Ok(ListResult {
                            items,
                            revision,
                            continue_token: token,
                        });
                    }
                }
            }
            if !page.more || n == 0 {
                return Ok(ListResult {
                    items,
                    revision,
                    continue_token: None,
                });
            }
            start = page.items.last().map(|kv| kv.key.clone());
        }
    }

    /// Checks that the namespace of a namespaced create exists and is not terminating.
    async fn check_namespace(&self, r: &ResourceInfo, ns: &str, name: &str) -> ApiResult<()> {
        let Some(ns_res) = capstan_api_types::registry::find("", "v1", "namespaces") else {
            return Ok(());
        };
        let key = ns_res.key(None, ns);
        // The cached selector view carries status.phase (a namespace's selectable field).
        let cached = self
            .cache
            .resource(ns_res)
            .and_then(|c| c.read().objects.get(&key).map(|o| o.view.clone()));
        let nsobj = match cached {
            Some(view) => view,
            None => match self.store.get(&key).await? {
                Some(kv) => decode_kv(&kv)?,
                None => return Err(not_found(ns_res, ns)),
            },
        };
        if nsobj.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating") {
            let q = r.qualified_resource();
            return Err(ApiError::forbidden(
                &target(r, &q, name),
                &format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            ));
        }
        Ok(())
    }

    /// Checks body kind/apiVersion and namespace against the request.
    pub fn check_identity(r: &ResourceInfo, ns: Option<&str>, obj: &mut Value) -> ApiResult<()> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        let api_version = r.api_version();
        match obj.get("kind").and_then(Value::as_str) {
            None | Some("") => obj["kind"] = json!(r.kind),
            Some(k) if k == r.kind => {}
            Some(k) => {
                return Err(ApiError::bad_request(format!(
                    "the kind {k:?} of the body does not match the resource {:?} (expected kind {:?})",
                    r.plural, r.kind
                )));
            }
        }
        match obj.get("apiVersion").and_then(Value::as_str) {
            None | Some("") => obj["apiVersion"] = json!(api_version),
            Some(v) if v == api_version => {}
            Some(v) => {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({v}) does not match the expected API version ({api_version})"
                )));
            }
        }
        if r.namespaced {
            let meta = meta_mut(obj);
            match (meta.get("namespace").and_then(Value::as_str), ns) {
                (Some(body_ns), Some(url_ns)) if !body_ns.is_empty() && body_ns != url_ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                (_, Some(url_ns)) => {
                    meta.insert("namespace".into(), json!(url_ns));
                }
                (_, None) => {
                    return Err(ApiError::bad_request(
                        "a namespace is required for this request",
                    ));
                }
            }
        } else {
            meta_mut(obj).remove("namespace");
        }
        Ok(())
    }

    /// Unknown-field check and typed normalisation of a client-supplied object.
    pub fn decode_typed(
        &self,
        r: &ResourceInfo,
        obj: Value,
        validation_mode: FieldValidation,
        warnings: &mut Vec<String>,
    ) -> ApiResult<Value> {
        if validation_mode != FieldValidation::Ignore {
            let unknown = self.schemas.unknown_fields(&r.schema_name, &obj);
            if !unknown.is_empty() {
                if validation_mode == FieldValidation::Strict {
                    let list = unknown
                        .iter()
                        .map(|f| format!("unknown field \"{f}\""))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(ApiError::bad_request(format!(
                        "strict decoding error: {list}"
                    )));
                }
                warnings.extend(unknown.iter().map(|f| format!("unknown field \"{f}\"")));
            }
        }
        (r.normalize)(obj).map_err(|e| {
            ApiError::bad_request(format!("error decoding {}: {e}", r.qualified_kind()))
        })
    }

    /// A patch result names the namespace it came from (or none for cluster-scoped objects).
    fn check_patched_identity(r: &ResourceInfo, obj: &mut Value) -> ApiResult<()> {
        let ns = object::meta_str(obj, "namespace").map(str::to_string);
        Self::check_identity(r, ns.as_deref().or(r.namespaced.then_some("")), obj)
    }

    /// Identity and field checks for an object produced by a patch, as for a PUT body.
    pub fn check_patched(
        &self,
        r: &ResourceInfo,
        mut obj: Value,
        mode: FieldValidation,
        warnings: &mut Vec<String>,
    ) -> ApiResult<Value> {
        Self::check_patched_identity(r, &mut obj)?;
        self.decode_typed(r, obj, mode, warnings)
    }

    /// `check_patched` for a status update, which keeps only the result's `status` (and
    /// managedFields): only the status is checked and normalised, not the spec and metadata
    /// that the update takes from the stored object anyway.
    pub fn check_patched_status(
        &self,
        r: &ResourceInfo,
        mut obj: Value,
        mode: FieldValidation,
        warnings: &mut Vec<String>,
    ) -> ApiResult<Value> {
        Self::check_patched_identity(r, &mut obj)?;
        let Some(top) = obj.as_object_mut() else {
            return self.decode_typed(r, obj, mode, warnings);
        };
        let mut slim = serde_json::Map::new();
        for k in ["apiVersion", "kind"] {
            if let Some(v) = top.get(k) {
                slim.insert(k.into(), v.clone());
            }
        }
        if let Some(status) = top.remove("status") {
            slim.insert("status".into(), status);
        }
        if let Value::Object(mut checked) =
            self.decode_typed(r, Value::Object(slim), mode, warnings)?
            && let Some(status) = checked.remove("status")
        {
            top.insert("status".into(), status);
        }
        Ok(obj)
    }

    pub async fn create(
        &self,
        r: &'static ResourceInfo,
        ns: Option<&str>,
        obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<WriteResult> {
        self.create_inner(r, ns, obj, opts, true).await
    }

    /// `track_fields` is false when the caller (server-side apply) already set managedFields.
    pub async fn create_inner(
        &self,
        r: &'static ResourceInfo,
        ns: Option<&str>,
        mut obj: Value,
        opts: &WriteOptions,
        track_fields: bool,
    ) -> ApiResult<WriteResult> {
        let mut warnings = Vec::new();
        Self::check_identity(r, ns, &mut obj)?;
        let mut obj = self.decode_typed(r, obj, opts.field_validation, &mut warnings)?;
        let generate_name = object::meta_str(&obj, "generateName").map(str::to_string);
        let explicit_name = object::name(&obj).to_string();
        if explicit_name.is_empty() && generate_name.as_deref().is_none_or(str::is_empty) {
            let q = r.qualified_resource();
            return Err(ApiError::invalid(
                r.kind,
                &target(r, &q, ""),
                format!(
                    "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                    r.qualified_kind()
                ),
                vec![StatusCause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value: name or generateName is required".into(),
                    field: "metadata.name".into(),
                }],
            ));
        }
        if let Some(ns) = ns.filter(|_| r.namespaced) {
            self.check_namespace(r, ns, &explicit_name).await?;
        }
        {
            let meta = meta_mut(&mut obj);
            meta.insert("uid".into(), json!(object::new_uid()));
            meta.insert("creationTimestamp".into(), json!(object::now_rfc3339()));
            for f in [
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "selfLink",
            ] {
                meta.remove(f);
            }
            if strategy::tracks_generation(r) {
                meta.insert("generation".into(), json!(1));
            } else {
                meta.remove("generation");
            }
            if !track_fields {
                // server-side apply computed managedFields already
            } else {
                meta.remove("managedFields");
            }
        }
        strategy::prepare_status_on_create(r, &mut obj);
        if r.kind == "Pod" {
            crate::admission::admit_pod(self, &mut obj)?;
            crate::admission::default_tolerations(&mut obj, self.default_toleration_seconds);
        }
        for attempt in 0..8 {
            if explicit_name.is_empty()
                && let Some(prefix) = &generate_name
            {
                meta_mut(&mut obj).insert(
                    "name".into(),
                    json!(format!("{prefix}{}", object::random_suffix())),
                );
            }
            let name = object::name(&obj).to_string();
            // After the name is final: some defaults (a Job's selector) derive from identity.
            defaults::apply_defaults(r.group, r.kind, &mut obj);
            let causes = validation::validate_create(r.group, r.kind, &obj);
            if !causes.is_empty() {
                return Err(invalid(r, &name, causes));
            }
            if r.kind == "Service" {
                allocator::allocate_service(self, &mut obj, None)
                    .map_err(|c| invalid(r, &name, vec![c]))?;
            }
            if track_fields {
                let api_version = r.api_version();
                let now = object::now_rfc3339();
                crate::patch::apply::record_update(
                    r.kind,
                    None,
                    &mut obj,
                    &opts.field_manager,
                    &api_version,
                    None,
                    &now,
                );
            }
            if opts.dry_run {
                return Ok(WriteResult {
                    object: obj,
                    created: true,
                    warnings,
                    json: None,
                });
            }
            let bytes = encode_for_store(&obj)?;
            let stored = bytes.clone();
            match self.store.create(&r.key(ns, &name), bytes).await {
                Ok(kv) => {
                    object::set_resource_version(&mut obj, kv.mod_revision);
                    return Ok(WriteResult {
                        object: obj,
                        created: true,
                        warnings,
                        json: stored_form::with_resource_version(&stored, kv.mod_revision),
                    });
                }
                Err(StoreError::AlreadyExists(_)) if explicit_name.is_empty() && attempt < 7 => {
                    continue;
                }
                Err(e) => return Err(store_err(r, &name, e)),
            }
        }
        Err(ApiError::internal("could not generate a unique name"))
    }

    /// Read-modify-write with compare-and-swap. `mutate` gets the current object and returns
    /// the desired one plus whether the caller demanded the current resourceVersion (then a
    /// lost race is a 409 instead of a retry).
    pub async fn update_with<F>(
        &self,
        r: &'static ResourceInfo,
        ns: Option<&str>,
        name: &str,
        opts: &WriteOptions,
        subresource: Option<&str>,
        mut mutate: F,
    ) -> ApiResult<WriteResult>
    where
        F: FnMut(&Value) -> ApiResult<Mutation>,
    {
        let key = r.key(ns, name);
        let q = r.qualified_resource();
        let tgt = target(r, &q, name);
        for attempt in 0..UPDATE_RETRIES {
            let (current_rev, current) = if attempt == 0 {
                self.read_fresh(r, ns, name).await?
            } else {
                self.read_current(r, ns, name).await?
            };
            let Mutation {
                object: mut new,
                precondition,
                track_fields,
                mut warnings,
            } = mutate(&current)?;
            if let Some(want) = precondition
                && want != current_rev
            {
                return Err(ApiError::stale_update(&tgt));
            }
            self.finish_update(r, &current, &mut new, subresource)?;
            if track_fields {
                let api_version = r.api_version();
                let now = object::now_rfc3339();
                crate::patch::apply::record_update(
                    r.kind,
                    Some(&current),
                    &mut new,
                    &opts.field_manager,
                    &api_version,
                    subresource,
                    &now,
                );
            }
            object::set_resource_version(&mut new, current_rev);
            if stored_form::eq_ignoring_field_times(&new, &current) {
                return Ok(WriteResult {
                    object: current,
                    created: false,
                    warnings,
                    json: None,
                });
            }
            // The last finalizer going away completes a deletion, but only one whose grace
            // period is over (a terminating pod waits for its kubelet; namespaces are completed
            // by their own finalizer task).
            let finalized = r.kind != "Namespace"
                && object::is_terminating(&new)
                && object::finalizers(&new).is_empty()
                && current
                    .pointer("/metadata/deletionGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    == Some(0);
            if opts.dry_run {
                return Ok(WriteResult {
                    object: new,
                    created: false,
                    warnings,
                    json: None,
                });
            }
            let mut stored = None;
            let result = if finalized {
                self.store
                    .delete(&key, Some(current_rev))
                    .await
                    .map(|(_, rev)| rev)
            } else {
                let bytes = encode_for_store(&new)?;
                stored = Some(bytes.clone());
                self.store
                    .update(&key, bytes, current_rev)
                    .await
                    .map(|kv| kv.mod_revision)
            };
            match result {
                Ok(rev) => {
                    object::set_resource_version(&mut new, rev);
                    return Ok(WriteResult {
                        object: new,
                        created: false,
                        warnings: std::mem::take(&mut warnings),
                        json: stored.and_then(|s| stored_form::with_resource_version(&s, rev)),
                    });
                }
                Err(StoreError::Conflict { .. } | StoreError::NotFound(_))
                    if precondition.is_none() =>
                {
                    continue;
                }
                Err(e) => return Err(store_err(r, name, e)),
            }
        }
        Err(ApiError::stale_update(&tgt))
    }

    /// Server-owned metadata survives any update; status and spec split by subresource;
    /// generation bumps on spec changes; defaults and validation run on the result.
    fn finish_update(
        &self,
        r: &ResourceInfo,
        current: &Value,
        new: &mut Value,
        subresource: Option<&str>,
    ) -> ApiResult<()> {
        let name = object::name(current).to_string();
        let new_name = object::name(new);
        if !new_name.is_empty() && new_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({new_name}) does not match the name on the URL ({name})"
            )));
        }
        let empty = serde_json::Map::new();
        let old_meta = object::meta(current).unwrap_or(&empty);
        {
            let meta = meta_mut(new);
            for f in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                match old_meta.get(f) {
                    Some(v) => meta.insert(f.into(), v.clone()),
                    None => meta.remove(f),
                };
            }
            // Finalizers may only be removed, not added, once deletion has started.
            if old_meta.get("deletionTimestamp").is_some() {
                let old_f = object::finalizers(current);
                if let Some(Value::Array(fins)) = meta.get("finalizers")
                    && fins
                        .iter()
                        .any(|f| f.as_str().is_some_and(|f| !old_f.iter().any(|o| o == f)))
                {
                    let q = r.qualified_resource();
                    return Err(ApiError::forbidden(
                        &target(r, &q, &name),
                        "no new finalizers can be added if the object is being deleted",
                    ));
                }
            }
        }
        match subresource {
            Some("status") => {
                // Status, managedFields and the user metadata the kind's status strategy allows
                // change; everything else comes from the current object. The patched copy
                // already equals it nearly everywhere, so only what differs is copied back
                // instead of cloning the whole object.
                let writable = status_writable_metadata(r);
                if let (Value::Object(n), Value::Object(c)) = (&mut *new, current) {
                    n.retain(|k, _| k == "status" || c.contains_key(k));
                    for (k, cv) in c {
                        if k == "status" {
                            continue;
                        }
                        if k == "metadata"
                            && let (Some(Value::Object(nm)), Value::Object(cm)) =
                                (n.get_mut("metadata"), cv)
                        {
                            let own_fields = nm.contains_key("managedFields");
                            nm.retain(|mk, _| {
                                mk == "managedFields"
                                    || writable.contains(&mk.as_str())
                                    || cm.contains_key(mk)
                            });
                            for (mk, mv) in cm {
                                let kept = (mk == "managedFields" && own_fields)
                                    || writable.contains(&mk.as_str());
                                if !kept {
                                    copy_back(nm, mk, mv);
                                }
                            }
                            normalize_changed_metadata(nm, cm, writable)?;
                            continue;
                        }
                        copy_back(n, k, cv);
                    }
                } else {
                    *new = current.clone();
                }
            }
            // A binding sets spec.nodeName and a status condition together.
            Some("binding") => {}
            _ => {
                if r.has_status()
                    && let Some(m) = new.as_object_mut()
                {
                    match current.get("status") {
                        Some(s) => m.insert("status".into(), s.clone()),
                        None => m.remove("status"),
                    };
                }
            }
        }
        defaults::apply_defaults(r.group, r.kind, new);
        if strategy::tracks_generation(r) && strategy::spec_changed(current, new) {
            let g = current
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            meta_mut(new).insert("generation".into(), json!(g + 1));
        }
        if r.kind == "Service" && subresource.is_none() {
            allocator::carry_service_allocations(current, new);
            allocator::allocate_service(self, new, Some(current))
                .map_err(|c| invalid(r, &name, vec![c]))?;
        }
        let causes = if subresource == Some("binding") {
            // The binding handler itself checked the one field it sets.
            Vec::new()
        } else if subresource == Some("status") {
            validation::validate_status_update(r.group, r.kind, new, current)
        } else {
            validation::validate_update(r.group, r.kind, new, current)
        };
        if !causes.is_empty() {
            return Err(invalid(r, &name, causes));
        }
        Ok(())
    }

    /// PUT of a whole object (main resource or `status`).
    pub async fn replace(
        &self,
        r: &'static ResourceInfo,
        ns: Option<&str>,
        name: &str,
        body: Value,
        subresource: Option<&str>,
        opts: &WriteOptions,
    ) -> ApiResult<WriteResult> {
        let mut body = body;
        Self::check_identity(r, ns, &mut body)?;
        let mut warnings = Vec::new();
        let body = self.decode_typed(r, body, opts.field_validation, &mut warnings)?;
        let precondition = object::resource_version(&body);
        if object::meta_str(&body, "resourceVersion").is_some_and(|s| !s.is_empty())
            && precondition.is_none()
        {
            return Err(ApiError::bad_request(
                "metadata.resourceVersion: Invalid value: must be an integer",
            ));
        }
        self.update_with(r, ns, name, opts, subresource, |_current| {
            Ok(Mutation {
                object: body.clone(),
                precondition,
                track_fields: true,
                warnings: warnings.clone(),
            })
        })
        .await
    }

    /// A write by the server itself (no validation, no field tracking): `change` returns the
    /// new object, or None when nothing needs to change.
    pub async fn system_update<F>(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        mut change: F,
    ) -> ApiResult<Value>
    where
        F: FnMut(&Value) -> Option<Value>,
    {
        let key = r.key(ns, name);
        for attempt in 0..UPDATE_RETRIES {
            let (current_rev, current) = if attempt == 0 {
                self.read_fresh(r, ns, name).await?
            } else {
                self.read_current(r, ns, name).await?
            };
            let Some(mut new) = change(&current) else {
                return Ok(current);
            };
            match self
                .store
                .update(&key, encode_for_store(&new)?, current_rev)
                .await
            {
                Ok(kv) => {
                    object::set_resource_version(&mut new, kv.mod_revision);
                    return Ok(new);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_err(r, name, e)),
            }
        }
        let q = r.qualified_resource();
        Err(ApiError::stale_update(&target(r, &q, name)))
    }

    pub async fn delete(
        &self,
        r: &'static ResourceInfo,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<(Value, bool)> {
        let key = r.key(ns, name);
        let q = r.qualified_resource();
        let tgt = target(r, &q, name);
        for attempt in 0..UPDATE_RETRIES {
            let (current_rev, current) = if attempt == 0 {
                self.read_fresh(r, ns, name).await?
            } else {
                self.read_current(r, ns, name).await?
            };
            if let Some(uid) = &opts.precondition_uid
                && object::meta_str(&current, "uid") != Some(uid.as_str())
            {
                return Err(ApiError::conflict(
                    &tgt,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        object::meta_str(&current, "uid").unwrap_or_default()
                    ),
                ));
            }
            if let Some(rv) = &opts.precondition_rv
                && rv != &current_rev.to_string()
            {
                return Err(ApiError::conflict(
                    &tgt,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        current_rev
                    ),
                ));
            }
            let mut new = current.clone();
            let graceful = self.graceful_deletion(r, &current, &mut new, opts);
            if graceful {
                if opts.dry_run || stored_form::eq_ignoring_field_times(&new, &current) {
                    return Ok((new, false));
                }
                let bytes = encode_for_store(&new)?;
                match self.store.update(&key, bytes, current_rev).await {
                    Ok(kv) => {
                        object::set_resource_version(&mut new, kv.mod_revision);
                        return Ok((new, false));
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => return Err(store_err(r, name, e)),
                }
            }
            if opts.dry_run {
                return Ok((current, true));
            }
            match self.store.delete(&key, Some(current_rev)).await {
                Ok((_, rev)) => {
                    let mut last = current;
                    object::set_resource_version(&mut last, rev);
                    return Ok((last, true));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_err(r, name, e)),
            }
        }
        Err(ApiError::stale_update(&tgt))
    }

    /// Marks an object as being deleted instead of removing it, when finalizers, a propagation
    /// policy that needs the garbage collector, or a bound pod's grace period say so.
    fn graceful_deletion(
        &self,
        r: &ResourceInfo,
        current: &Value,
        new: &mut Value,
        opts: &DeleteOptions,
    ) -> bool {
        let mut fins = object::finalizers(current);
        match opts.propagation_policy.as_deref() {
            Some("Foreground") if !fins.iter().any(|f| f == "foregroundDeletion") => {
                fins.push("foregroundDeletion".into())
            }
            Some("Orphan") if !fins.iter().any(|f| f == "orphan") => fins.push("orphan".into()),
            _ => {}
        }
        let pod_grace = if r.kind == "Pod" {
            let bound = current
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            let finished = matches!(
                current.pointer("/status/phase").and_then(Value::as_str),
                Some("Succeeded" | "Failed")
            );
            let default = current
                .pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(30);
            // Kubernetes caps nothing here, but a timestamp needs a sane range: a year is plenty.
            let grace = opts
                .grace_period_seconds
                .unwrap_or(default)
                .clamp(0, 365 * 86_400);
            (bound && !finished && grace > 0).then_some(grace)
        } else {
            None
        };
        if fins.is_empty() && pod_grace.is_none() {
            return false;
        }
        let already = object::is_terminating(current);
        let meta = meta_mut(new);
        if !fins.is_empty() {
            meta.insert("finalizers".into(), json!(fins));
        }
        let grace = pod_grace.unwrap_or(0);
        let shorter = meta
            .get("deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .is_none_or(|g| grace < g);
        if !already || shorter {
            meta.insert(
                "deletionTimestamp".into(),
                json!(object::rfc3339(object::unix_now().saturating_add(grace))),
            );
            meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
        }
        true
    }
}

/// What an update wants written.
pub struct Mutation {
    pub object: Value,
    /// The resourceVersion the caller requires the current object to have.
    pub precondition: Option<i64>,
    /// Record managedFields for this write (false when server-side apply already did).
    pub track_fields: bool,
    pub warnings: Vec<String>,
}

/// Makes `map[key]` equal `value`, cloning only when it differs.
/// The metadata a write to the status subresource may change, as Kubernetes' status
/// strategies allow: they reset spec, and Pods also their ownerReferences, Deployments their
/// labels (the server-owned fields are reset for every write).
fn status_writable_metadata(r: &ResourceInfo) -> &'static [&'static str] {
    match (r.group, r.kind) {
        ("", "Pod") => &["labels", "annotations", "finalizers"],
        ("apps", "Deployment") => &["annotations", "finalizers", "ownerReferences"],
        _ => &["labels", "annotations", "finalizers", "ownerReferences"],
    }
}

/// A status patch is decoded only for its status (the rest used to be discarded); user
/// metadata it changed is brought to its typed form here, or refused.
fn normalize_changed_metadata(
    new: &mut serde_json::Map<String, Value>,
    current: &serde_json::Map<String, Value>,
    writable: &[&str],
) -> ApiResult<()> {
    let changed: serde_json::Map<String, Value> = writable
        .iter()
        .filter(|k| new.get(**k) != current.get(**k))
        .filter_map(|k| Some((k.to_string(), new.get(*k)?.clone())))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = changed.keys().cloned().collect();
    let typed: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta =
        serde_json::from_value(Value::Object(changed))
            .map_err(|e| ApiError::bad_request(format!("metadata: {e}")))?;
    if let Ok(Value::Object(normal)) = serde_json::to_value(typed) {
        for k in keys {
            match normal.get(&k) {
                Some(v) => copy_back(new, &k, v),
                None => {
                    new.remove(&k);
                }
            }
        }
    }
    Ok(())
}

fn copy_back(map: &mut serde_json::Map<String, Value>, key: &str, value: &Value) {
    match map.get_mut(key) {
        Some(v) if v == value => {}
        Some(v) => *v = value.clone(),
        None => {
            map.insert(key.to_string(), value.clone());
        }
    }
}
