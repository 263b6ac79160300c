//! The admin UI: its files are compiled into the binary (no CDN, works
//! offline). `/` and every `/ui/*` page answer the same `index.html` (the
//! script routes on the path); `/ui/assets/*` are the script, styles and
//! icon.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

const INDEX: &str = include_str!("../../ui/index.html");
const ASSETS: [(&str, &str, &str); 3] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../ui/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../ui/app.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../ui/favicon.svg"),
    ),
];

/// Only our own files, never framed.
const CSP: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The console's pages and files are public: the data they show comes from
/// the API, which asks for credentials.
pub fn router() -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(page))
        .route("/ui", get(page))
        .route("/ui/", get(page))
        .route("/ui/assets/{file}", get(asset))
        .route("/ui/{*page}", get(page));
    super::guard::undocumented(super::guard::Access::Public, pages)
}

fn respond(content_type: &'static str, body: &'static str, cache: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn page() -> Response {
    respond("text/html; charset=utf-8", INDEX, "no-cache")
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => respond(content_type, body, "no-cache"),
        None => super::error::ApiError::NotFound {
            message: format!("no UI asset {file}"),
        }
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_references_exactly_the_embedded_assets() {
        for (name, _, body) in ASSETS {
            assert!(
                INDEX.contains(&format!("/ui/assets/{name}")) || name == "app.js",
                "index.html does not use {name}"
            );
            assert!(!body.is_empty());
        }
        assert!(INDEX.contains("/ui/assets/app.js"));
        for body in [INDEX].into_iter().chain(ASSETS.iter().map(|(_, _, b)| *b)) {
            for external in [
                "src=\"http",
                "href=\"http",
                "url(http",
                "@import",
                "fetch('http",
            ] {
                assert!(!body.contains(external), "an external resource: {external}");
            }
        }
    }
}
