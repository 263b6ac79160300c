//! The OpenAPI 3.1 document, built from the same annotated handlers the
//! Router is built from (utoipa-axum's `routes!`), served at
//! `/api/v1/openapi.json`. The admin UI's pages (`/`, `/ui/*`) are HTML,
//! not API, and are not in it.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, SecurityRequirement};
use utoipa_axum::routes;

use super::guard::{Access, Routes};
use super::{agents, auth, keys, logs, ops, otlp, rpc, similar, tasks, thoughts, traces};

/// Every API route, documented, each with its access rule.
pub fn routes() -> Routes {
    let api = Routes::new()
        .merge(agents::router())
        .merge(tasks::router())
        .merge(thoughts::router())
        .merge(logs::router())
        .merge(similar::router())
        .merge(traces::router())
        .merge(rpc::router())
        .merge(auth::router())
        .merge(keys::router())
        .add(Access::Public, routes!(openapi_json));
    Routes::new()
        .nest("/api/v1", api)
        .merge(ops::router())
        .merge(otlp::router())
}

/// The document: paths and schemas from the handlers, plus what they
/// cannot say (title, version, how to authenticate).
pub fn document() -> OpenApi {
    let (_, mut doc) = routes().into_router().split_for_parts();
    // Handler names repeat across modules (`list`, `show`): ids are
    // `<tag>_<handler>`, unique because each module has its own tag.
    for item in doc.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let tag = operation
                .tags
                .as_ref()
                .and_then(|t| t.first())
                .cloned()
                .unwrap_or_default();
            let handler = operation.operation_id.take().unwrap_or_default();
            operation.operation_id = Some(format!("{}_{handler}", tag.replace('-', "_")));
        }
    }
    doc.info = InfoBuilder::new()
        .title("VectaDB")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Observability database for LLM agents: agents, tasks, thoughts and logs, their \
             traces, search by meaning, OpenTelemetry ingest. Errors are \
             `{\"error\": {\"code\", \"message\", \"field\"?}}` (docs/API.md).",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "api_key",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API key (`vdb_…`, also accepted as `X-API-Key`) or a session token from \
                     /api/v1/auth/login",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            crate::auth::SESSION_COOKIE,
            "The admin UI's session cookie; changes also need the X-CSRF-Token header",
        ))),
    );
    doc.security = Some(vec![
        SecurityRequirement::new("api_key", Vec::<String>::new()),
        SecurityRequirement::new("session", Vec::<String>::new()),
    ]);
    doc
}

/// The operations of a path, whatever their method.
pub(super) fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
    ]
    .into_iter()
    .flatten()
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    document()
        .to_pretty_json()
        .expect("the document serializes")
});

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", security(()),
    responses((status = 200, description = "OpenAPI 3.1", body = serde_json::Value)))]
async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}
