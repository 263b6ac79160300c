//! An in-memory Kubernetes API server under a real `kube::Client` (a tower
//! service): it stores objects by path, answers GET/LIST/POST/PATCH
//! (server-side apply, merge and JSON patch)/DELETE as the API server does
//! for the calls the operator makes, honours finalizers and the status
//! subresource, and records every call so tests can assert on the exact
//! requests and objects.
//!
//! Server-side apply on the status subresource tracks field managers as
//! the API server does, per top-level status field (the operator applies
//! `provisioned` whole, and `conditions` is an atomic list: the CRD gives
//! it no list type), in `metadata.managedFields`: a field a manager applied
//! before and leaves out is removed unless another manager owns it; a field
//! nobody applied (written by a merge patch or a test) stays.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{json, Value};

/// One request the client sent.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: Option<String>,
    pub body: Option<Value>,
}

impl Call {
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }

    /// The RBAC verb this call needs.
    pub fn verb(&self) -> &'static str {
        let target = Target::parse(&self.path).expect("a resource path");
        match (self.method.as_str(), target.name.is_some()) {
            ("GET", true) => "get",
            ("GET", false) if self.query.contains("watch=") => "watch",
            ("GET", false) => "list",
            ("POST", _) => "create",
            ("PATCH", _) => "patch",
            ("PUT", _) => "update",
            ("DELETE", true) => "delete",
            ("DELETE", false) => "deletecollection",
            (other, _) => panic!("unexpected method {other}"),
        }
    }

    /// `(api group, resource[/subresource])`, as RBAC rules name them.
    pub fn resource(&self) -> (String, String) {
        let target = Target::parse(&self.path).expect("a resource path");
        let resource = match target.sub {
            Some(sub) => format!("{}/{sub}", target.plural),
            None => target.plural,
        };
        (target.group, resource)
    }
}

/// What a path addresses.
#[derive(Debug, Clone)]
struct Target {
    group: String,
    plural: String,
    collection: String,
    name: Option<String>,
    sub: Option<String>,
}

impl Target {
    fn parse(path: &str) -> Option<Target> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let group = match *segments.first()? {
            "api" => String::new(),
            "apis" => segments.get(1)?.to_string(),
            _ => return None,
        };
        let ns_at = segments.iter().position(|s| *s == "namespaces")?;
        let plural = segments.get(ns_at + 2)?.to_string();
        Some(Target {
            group,
            plural,
            collection: format!("/{}", segments[..ns_at + 3].join("/")),
            name: segments.get(ns_at + 3).map(|s| s.to_string()),
            sub: segments.get(ns_at + 4).map(|s| s.to_string()),
        })
    }
}

#[derive(Default)]
struct State {
    /// Object path → object.
    objects: BTreeMap<String, Value>,
    calls: Vec<Call>,
    version: u64,
    /// Writes refused: (method, path, status, message).
    refusals: Vec<(String, String, StatusCode, String)>,
}

/// The fake API server; clones share state.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    pub fn new() -> FakeApi {
        FakeApi::default()
    }

    /// A client whose every request this fake answers.
    pub fn client(&self) -> kube::Client {
        let fake = self.clone();
        let service = tower::service_fn(move |request: Request<Body>| {
            let fake = fake.clone();
            async move { Ok::<_, Infallible>(fake.handle(request).await) }
        });
        kube::Client::new(service, "default")
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The calls so far, forgetting them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.state.lock().unwrap().calls)
    }

    /// The object at `path` (`/apis/apps/v1/namespaces/ns/statefulsets/x`).
    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    /// Objects under a collection path, by name.
    pub fn list(&self, collection: &str) -> BTreeMap<String, Value> {
        let prefix = format!("{collection}/");
        self.state
            .lock()
            .unwrap()
            .objects
            .iter()
            .filter(|(path, _)| path.starts_with(&prefix))
            .map(|(path, object)| (path[prefix.len()..].to_string(), object.clone()))
            .collect()
    }

    /// Create an object as `kubectl create` would (uid, generation...).
    pub fn create(&self, collection: &str, object: Value) -> Value {
        let mut state = self.state.lock().unwrap();
        create(&mut state, collection, object).expect("object created")
    }

    /// Refuse every `method` write to `path` with `status` and `message`,
    /// as an API server refuses an invalid or forbidden change.
    pub fn refuse(&self, method: &str, path: &str, status: StatusCode, message: &str) {
        self.state.lock().unwrap().refusals.push((
            method.into(),
            path.into(),
            status,
            message.into(),
        ));
    }

    /// Change a stored object in place (what kubelet or a user would do);
    /// bumps its resourceVersion.
    pub fn update(&self, path: &str, change: impl FnOnce(&mut Value)) {
        let mut state = self.state.lock().unwrap();
        state.version += 1;
        let version = state.version;
        let object = state
            .objects
            .get_mut(path)
            .unwrap_or_else(|| panic!("no object at {path}"));
        change(object);
        object["metadata"]["resourceVersion"] = json!(version.to_string());
    }

    async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or("").to_string();
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = request
            .into_body()
            .collect_bytes()
            .await
            .expect("request body");
        let body: Option<Value> = (!bytes.is_empty())
            .then(|| serde_json::from_slice(&bytes).expect("request bodies are JSON"));
        let call = Call {
            method,
            path,
            query,
            content_type,
            body,
        };
        if call.query.contains("watch=true") {
            self.state.lock().unwrap().calls.push(call.clone());
            return self.watch(&call).await;
        }
        let mut state = self.state.lock().unwrap();
        state.calls.push(call.clone());
        let refused = state
            .refusals
            .iter()
            .find(|(method, path, _, _)| *method == call.method && *path == call.path)
            .map(|(_, _, status, message)| Err((*status, message.clone())));
        let (status, value) = match refused.unwrap_or_else(|| serve(&mut state, &call)) {
            Ok(value) => (StatusCode::OK, value),
            Err((status, message)) => (status, failure(status, &message)),
        };
        Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&value).unwrap()))
            .unwrap()
    }
}

impl FakeApi {
    /// A watch: the objects of the collection (matching its label selector)
    /// changed since the watch's resourceVersion, as MODIFIED events; when
    /// none has, an empty stream after a pause (the watcher then watches
    /// again), as a watch that times out would.
    async fn watch(&self, call: &Call) -> Response<Body> {
        let target = Target::parse(&call.path).expect("a collection path");
        let query = query_params(&call.query);
        let since: u64 = query
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let selector = query.get("labelSelector").cloned().unwrap_or_default();
        let mut lines = Vec::new();
        for _ in 0..4 {
            {
                let state = self.state.lock().unwrap();
                for (_, object) in matching(&state, &target.collection, &selector) {
                    let version: u64 = object["metadata"]["resourceVersion"]
                        .as_str()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if version > since {
                        let event = json!({ "type": "MODIFIED", "object": object });
                        lines.extend(serde_json::to_vec(&event).unwrap());
                        lines.push(b'\n');
                    }
                }
            }
            if !lines.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Response::builder()
            .status(StatusCode::OK)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(lines))
            .unwrap()
    }
}

type Served = Result<Value, (StatusCode, String)>;

fn failure(status: StatusCode, message: &str) -> Value {
    let reason = match status {
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::CONFLICT => "AlreadyExists",
        StatusCode::UNPROCESSABLE_ENTITY => "Invalid",
        _ => "BadRequest",
    };
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": status.as_u16()
    })
}

fn serve(state: &mut State, call: &Call) -> Served {
    let target = Target::parse(&call.path)
        .ok_or((StatusCode::NOT_FOUND, format!("no route {}", call.path)))?;
    let query = query_params(&call.query);
    let selector = query.get("labelSelector").cloned().unwrap_or_default();
    let object_path = |name: &str| format!("{}/{name}", target.collection);
    match (call.method.as_str(), &target.name) {
        ("GET", Some(name)) => state
            .objects
            .get(&object_path(name))
            .cloned()
            .ok_or((StatusCode::NOT_FOUND, format!("{name} not found"))),
        ("GET", None) => Ok(json!({
            "kind": "List", "apiVersion": "v1",
            "metadata": { "resourceVersion": state.version.to_string() },
            "items": matching(state, &target.collection, &selector)
                .into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        })),
        ("POST", None) => create(
            state,
            &target.collection,
            call.body.clone().unwrap_or_default(),
        ),
        ("PATCH", Some(name)) => patch(state, &object_path(name), &target, call, &query),
        ("DELETE", Some(name)) => delete(state, &object_path(name)),
        ("DELETE", None) => {
            let doomed = matching(state, &target.collection, &selector);
            let mut items = Vec::new();
            for (path, _) in doomed {
                items.push(delete(state, &path)?);
            }
            Ok(json!({ "kind": "List", "apiVersion": "v1", "metadata": {}, "items": items }))
        }
        (method, _) => Err((
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} {}", call.path),
        )),
    }
}

fn query_params(query: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Objects in `collection` whose labels match `selector` (`k=v,k2=v2`).
fn matching(state: &State, collection: &str, selector: &str) -> Vec<(String, Value)> {
    let wanted: Vec<(&str, &str)> = selector
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.split_once('=').expect("equality selectors only"))
        .collect();
    let prefix = format!("{collection}/");
    state
        .objects
        .iter()
        .filter(|(path, _)| path.starts_with(&prefix) && !path[prefix.len()..].contains('/'))
        .filter(|(_, object)| {
            wanted
                .iter()
                .all(|(k, v)| object["metadata"]["labels"][*k].as_str() == Some(*v))
        })
        .map(|(p, o)| (p.clone(), o.clone()))
        .collect()
}

fn create(state: &mut State, collection: &str, mut object: Value) -> Served {
    let name = object["metadata"]["name"]
        .as_str()
        .ok_or((
            StatusCode::UNPROCESSABLE_ENTITY,
            "metadata.name is required".to_string(),
        ))?
        .to_string();
    let path = format!("{collection}/{name}");
    if state.objects.contains_key(&path) {
        return Err((StatusCode::CONFLICT, format!("{name} already exists")));
    }
    state.version += 1;
    let meta = &mut object["metadata"];
    meta["uid"] = json!(format!("uid-{}", state.version));
    meta["resourceVersion"] = json!(state.version.to_string());
    meta["generation"] = json!(1);
    meta["creationTimestamp"] = json!("2026-11-28T12:00:00Z");
    if let Some(ns) = collection
        .split('/')
        .skip_while(|s| *s != "namespaces")
        .nth(1)
    {
        meta["namespace"] = json!(ns);
    }
    state.objects.insert(path, object.clone());
    Ok(object)
}

fn patch(
    state: &mut State,
    path: &str,
    target: &Target,
    call: &Call,
    query: &BTreeMap<String, String>,
) -> Served {
    let body = call.body.clone().unwrap_or_default();
    let content_type = call.content_type.as_deref().unwrap_or("");
    let apply = content_type.starts_with("application/apply-patch");
    let manager = if apply {
        Some(check_apply(&body, query)?)
    } else {
        None
    };
    let Some(live) = state.objects.get(path).cloned() else {
        if apply && target.sub.is_none() {
            return create(state, &target.collection, body);
        }
        return Err((StatusCode::NOT_FOUND, format!("{path} not found")));
    };
    let mut next = live.clone();
    if let Some(manager) = manager.filter(|_| target.sub.as_deref() == Some("status")) {
        if body["apiVersion"] != live["apiVersion"] || body["kind"] != live["kind"] {
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "applied {} {} to a {} {}",
                    body["apiVersion"], body["kind"], live["apiVersion"], live["kind"]
                ),
            ));
        }
        let force = query.get("force").is_some_and(|f| f == "true");
        apply_status(&mut next, &body, manager, force)?;
    } else if apply {
        // The operator is the only field manager: what it applies replaces
        // its fields; the server's own metadata and the status stay.
        for (key, value) in body.as_object().expect("an object") {
            match key.as_str() {
                "metadata" => {
                    for field in ["labels", "annotations", "ownerReferences"] {
                        if let Some(v) = value.get(field) {
                            next["metadata"][field] = v.clone();
                        }
                    }
                }
                "status" => {}
                _ => next[key] = value.clone(),
            }
        }
    } else if content_type.starts_with("application/merge-patch") {
        json_patch::merge(&mut next, &body);
    } else if content_type.starts_with("application/json-patch") {
        let mut operations: json_patch::Patch =
            serde_json::from_value(body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
        // The API server's JSON patch (evanphx/json-patch) passes a test
        // for null at a path that does not exist; kube's finalizer helper
        // relies on it.
        operations.0.retain(|op| match op {
            json_patch::PatchOperation::Test(test) => {
                !(test.value.is_null() && next.pointer(test.path.as_str()).is_none())
            }
            _ => true,
        });
        json_patch::patch(&mut next, &operations)
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    } else {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {content_type}"),
        ));
    }
    // The status subresource changes only the status; the main resource
    // never changes it.
    if target.sub.as_deref() == Some("status") {
        let status = next["status"].clone();
        let managed = next["metadata"]["managedFields"].clone();
        next = live.clone();
        next["status"] = status;
        if !managed.is_null() {
            next["metadata"]["managedFields"] = managed;
        }
    } else if live.get("status").is_some() {
        next["status"] = live["status"].clone();
    }
    if next.get("spec") != live.get("spec") {
        let generation = live["metadata"]["generation"].as_i64().unwrap_or(1);
        next["metadata"]["generation"] = json!(generation + 1);
    }
    state.version += 1;
    next["metadata"]["resourceVersion"] = json!(state.version.to_string());
    let finished = next["metadata"].get("deletionTimestamp").is_some()
        && next["metadata"]["finalizers"]
            .as_array()
            .is_none_or(|f| f.is_empty());
    if finished {
        state.objects.remove(path);
    } else {
        state.objects.insert(path.to_string(), next.clone());
    }
    Ok(next)
}

/// What the API server checks of every server-side apply: a field manager
/// (returned), and an applied object that says its apiVersion and kind.
fn check_apply<'q>(
    body: &Value,
    query: &'q BTreeMap<String, String>,
) -> Result<&'q str, (StatusCode, String)> {
    let manager = query.get("fieldManager").filter(|m| !m.is_empty()).ok_or((
        StatusCode::UNPROCESSABLE_ENTITY,
        "fieldManager: Required value: is required for apply patch".to_string(),
    ))?;
    for field in ["apiVersion", "kind"] {
        if body[field].as_str().is_none_or(str::is_empty) {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("{field} must be set in an applied object"),
            ));
        }
    }
    Ok(manager.as_str())
}

/// The status fields each manager applied, from `metadata.managedFields`.
fn status_owners(object: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut owners = BTreeMap::new();
    for entry in object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if entry["subresource"] == "status" && entry["operation"] == "Apply" {
            let fields = entry["fieldsV1"]["f:status"]
                .as_object()
                .into_iter()
                .flat_map(|f| f.keys())
                .filter_map(|k| k.strip_prefix("f:"))
                .map(str::to_string)
                .collect();
            owners.insert(
                entry["manager"].as_str().unwrap_or_default().to_string(),
                fields,
            );
        }
    }
    owners
}

/// Server-side apply of `applied`'s status by `manager` onto `object`.
fn apply_status(
    object: &mut Value,
    applied: &Value,
    manager: &str,
    force: bool,
) -> Result<(), (StatusCode, String)> {
    let applied = applied["status"].as_object().cloned().unwrap_or_default();
    let mut status = object["status"].as_object().cloned().unwrap_or_default();
    let mut owners = status_owners(object);
    for (field, value) in &applied {
        let taken = owners
            .iter()
            .find(|(other, fields)| *other != manager && fields.contains(field));
        if let (Some((other, _)), false) = (taken, force || status.get(field) == Some(value)) {
            return Err((
                StatusCode::CONFLICT,
                format!("Apply failed with 1 conflict: conflict with {other:?}: .status.{field}"),
            ));
        }
    }
    let before = owners.remove(manager).unwrap_or_default();
    for field in before.iter().filter(|f| !applied.contains_key(*f)) {
        if !owners.values().any(|fields| fields.contains(field)) {
            status.remove(field);
        }
    }
    for (field, value) in &applied {
        // A changed value is the applier's alone (taken over when forced).
        if status.get(field) != Some(value) {
            for fields in owners.values_mut() {
                fields.remove(field);
            }
        }
        status.insert(field.clone(), value.clone());
    }
    owners.insert(manager.to_string(), applied.keys().cloned().collect());
    let api_version = object["apiVersion"].clone();
    let mut entries: Vec<Value> = object["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| !(e["subresource"] == "status" && e["operation"] == "Apply"))
        .cloned()
        .collect();
    for (manager, fields) in owners.into_iter().filter(|(_, f)| !f.is_empty()) {
        let fields: serde_json::Map<String, Value> = fields
            .into_iter()
            .map(|f| (format!("f:{f}"), json!({})))
            .collect();
        entries.push(json!({
            "manager": manager, "operation": "Apply", "apiVersion": api_version,
            "fieldsType": "FieldsV1", "fieldsV1": { "f:status": fields },
            "subresource": "status",
        }));
    }
    if entries.is_empty() {
        if let Some(meta) = object["metadata"].as_object_mut() {
            meta.remove("managedFields");
        }
    } else {
        object["metadata"]["managedFields"] = json!(entries);
    }
    object["status"] = Value::Object(status);
    Ok(())
}

fn delete(state: &mut State, path: &str) -> Served {
    let mut object = state
        .objects
        .get(path)
        .cloned()
        .ok_or((StatusCode::NOT_FOUND, format!("{path} not found")))?;
    let has_finalizers = object["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    state.version += 1;
    if has_finalizers {
        object["metadata"]["deletionTimestamp"] = json!("2026-11-28T13:00:00Z");
        object["metadata"]["resourceVersion"] = json!(state.version.to_string());
        state.objects.insert(path.to_string(), object.clone());
    } else {
        state.objects.remove(path);
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use kube::api::{Patch, PatchParams};
    use kube::Api;
    use serde_json::{json, Value};
    use vectadb_operator::crd::VectaDB;

    use super::FakeApi;

    const COLLECTION: &str = "/apis/vectadb.io/v1alpha1/namespaces/ns/vectadbs";

    fn applied(status: Value) -> Value {
        json!({ "apiVersion": "vectadb.io/v1alpha1", "kind": "VectaDB", "status": status })
    }

    #[tokio::test]
    async fn status_apply_keeps_the_fields_each_manager_owns() {
        let fake = FakeApi::new();
        fake.create(
            COLLECTION,
            json!({ "apiVersion": "vectadb.io/v1alpha1", "kind": "VectaDB",
                    "metadata": { "name": "demo" }, "spec": {} }),
        );
        let path = format!("{COLLECTION}/demo");
        // Written outside server-side apply (owned by no applier).
        fake.update(&path, |db| {
            db["status"] = json!({ "readyComponents": "0/3" })
        });
        let api: Api<VectaDB> = Api::namespaced(fake.client(), "ns");
        let apply = |manager: &str, status: Value, force: bool| {
            let api = api.clone();
            let mut params = PatchParams::apply(manager);
            params.force = force;
            async move {
                api.patch_status("demo", &params, &Patch::Apply(applied(status)))
                    .await
            }
        };
        let status = |fake: &FakeApi| fake.get(&path).unwrap()["status"].clone();

        apply(
            "op",
            json!({ "phase": "Pending", "endpoint": "http://a" }),
            true,
        )
        .await
        .unwrap();
        assert_eq!(
            status(&fake),
            json!({ "readyComponents": "0/3", "phase": "Pending", "endpoint": "http://a" })
        );

        // Left out by its only manager: removed; the others stay.
        apply("op", json!({ "phase": "Ready" }), true)
            .await
            .unwrap();
        assert_eq!(
            status(&fake),
            json!({ "readyComponents": "0/3", "phase": "Ready" })
        );

        // Another manager: a different value conflicts unless forced; the
        // same value is shared, and outlives the first manager leaving it.
        let conflict = apply("other", json!({ "phase": "Failed" }), false).await;
        assert!(
            matches!(&conflict, Err(kube::Error::Api(e)) if e.code == 409),
            "{conflict:?}"
        );
        apply("other", json!({ "phase": "Ready" }), false)
            .await
            .unwrap();
        apply("op", json!({}), true).await.unwrap();
        assert_eq!(
            status(&fake),
            json!({ "readyComponents": "0/3", "phase": "Ready" })
        );
        let managed = &fake.get(&path).unwrap()["metadata"]["managedFields"];
        assert_eq!(managed.as_array().unwrap().len(), 1, "{managed}");
        assert_eq!(managed[0]["manager"], "other");

        // An applied object must say what it is.
        let untyped = api
            .patch_status(
                "demo",
                &PatchParams::apply("op"),
                &Patch::Apply(json!({ "status": { "phase": "Ready" } })),
            )
            .await;
        assert!(
            matches!(&untyped, Err(kube::Error::Api(e)) if e.code == 400),
            "{untyped:?}"
        );
    }
}
