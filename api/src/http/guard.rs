//! The auth gate in front of every route: what each route needs (declared
//! with the route: [`Routes::add`]), who is calling ([`crate::auth::Auth::authenticate`]), and
//! CSRF for state changes a session cookie authenticates. The caller's
//! [`Principal`] is left in the request's extensions for handlers.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use subtle::ConstantTimeEq;
use utoipa::openapi::path::Paths;
use utoipa::openapi::SecurityRequirement;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use super::error::ApiError;
use super::AppState;
use crate::auth::{Principal, Scope, CSRF_HEADER, SESSION_COOKIE};

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, metrics, the UI's files, sign-in.
    Public,
    /// Any valid credentials (sign-out, who am I).
    Authenticated,
    Scope(Scope),
}

/// Routes whose access is declared with them. Each module's `router()`
/// returns one, and the only way in is [`Routes::add`], which takes the
/// access rule with the handlers: a route cannot join the API without one.
/// The rule is enforced by a layer on the route itself and written into the
/// OpenAPI document as the operation's security requirement, so the
/// document says which scope each operation needs.
pub struct Routes(OpenApiRouter<AppState>);

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Self(OpenApiRouter::new())
    }

    /// `routes` (one path's methods, from `routes!`) open to `access`.
    pub fn add(self, access: Access, routes: UtoipaMethodRouter<AppState>) -> Self {
        let (schemas, mut paths, method_router) = routes;
        document(&mut paths, access);
        let method_router = match access {
            Access::Public => method_router,
            needed => {
                method_router.layer(middleware::from_fn(move |request: Request, next: Next| {
                    gate(needed, request, next)
                }))
            }
        };
        Self(self.0.routes((schemas, paths, method_router)))
    }

    pub fn merge(self, other: Routes) -> Self {
        Self(self.0.merge(other.0))
    }

    /// These routes under `prefix` (e.g. `/api/v1`).
    pub fn nest(self, prefix: &str, other: Routes) -> Self {
        Self(self.0.nest(prefix, other.0))
    }

    pub fn into_router(self) -> OpenApiRouter<AppState> {
        self.0
    }
}

/// A router the OpenAPI document does not describe (the UI's files, the
/// gRPC methods), every route of it open to `access`.
pub fn undocumented(access: Access, router: Router<AppState>) -> Router<AppState> {
    match access {
        Access::Public => router,
        needed => router.route_layer(middleware::from_fn(move |request: Request, next: Next| {
            gate(needed, request, next)
        })),
    }
}

/// What answers a path no route matches: under `/api/` it takes the
/// credentials a read would (an unknown API path tells nothing to a caller
/// without them), elsewhere anyone gets the 404.
pub async fn fallback_access(request: Request, next: Next) -> Response {
    let access = if request.uri().path().starts_with("/api/") {
        Access::Scope(Scope::Read)
    } else {
        Access::Public
    };
    gate(access, request, next).await
}

/// The operations' security requirement in the OpenAPI document: none for
/// public ones, else either credential with the scope as its required role.
fn document(paths: &mut Paths, access: Access) {
    let requirement = match access {
        Access::Public => vec![SecurityRequirement::default()],
        Access::Authenticated => vec![
            SecurityRequirement::new("api_key", Vec::<String>::new()),
            SecurityRequirement::new("session", Vec::<String>::new()),
        ],
        Access::Scope(scope) => vec![
            SecurityRequirement::new("api_key", [scope.as_str()]),
            SecurityRequirement::new("session", [scope.as_str()]),
        ],
    };
    for item in paths.paths.values_mut() {
        for operation in super::openapi::operations_mut(item) {
            operation.security = Some(requirement.clone());
        }
    }
}

/// The bearer credential: `Authorization: Bearer …` or `X-API-Key`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty());
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The session cookie's value, if sent.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// A server open without credentials answers only what a local client
/// sends: the Host must name loopback (or an allowed host), so a page whose
/// name was rebound to 127.0.0.1 cannot read it, and a change must not come
/// from another site (`Origin`, `Sec-Fetch-Site`), so a page the user visits
/// cannot write to it or create the first admin key. Requests with neither
/// header (curl, SDKs) are local clients.
pub fn local_request(
    method: &Method,
    headers: &HeaderMap,
    allowed: &[String],
) -> Result<(), ApiError> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    let refused = |message: &str| ApiError::Forbidden {
        code: "not_local",
        message: format!(
            "{message}: this server has no credentials set up and answers local clients only \
             (set ALLOWED_HOSTS, or create an API key)"
        ),
    };
    if let Some(host) = headers.get(header::HOST) {
        let host = host.to_str().map(host_name).unwrap_or_default();
        if !local_host(&host, allowed) {
            return Err(refused("the Host header names another host"));
        }
    }
    let changes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if changes {
        if matches!(text("sec-fetch-site"), Some("cross-site" | "same-site")) {
            return Err(refused("a change sent by another site"));
        }
        if let Some(origin) = text(header::ORIGIN.as_str()) {
            let host = origin
                .split_once("://")
                .map(|(_, rest)| host_name(rest))
                .unwrap_or_default();
            if !local_host(&host, allowed) {
                return Err(refused("a change sent by another site"));
            }
        }
    }
    Ok(())
}

/// The host of a `host[:port]` (IPv6 in brackets), lower-cased.
fn host_name(authority: &str) -> String {
    let authority = authority.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.to_ascii_lowercase()
}

fn local_host(host: &str, allowed: &[String]) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || allowed.iter().any(|a| a == host)
}

/// Let the request through if its credentials grant `needed`. The state
/// comes from the request's extensions, where [`super::app`] puts it for
/// every request.
async fn gate(needed: Access, mut request: Request, next: Next) -> Response {
    if needed == Access::Public {
        return next.run(request).await;
    }
    let Some(state) = request.extensions().get::<AppState>().cloned() else {
        tracing::error!("the auth gate found no application state on the request");
        return ApiError::Internal.into_response();
    };
    let headers = request.headers();
    let principal = match state
        .auth
        .authenticate(bearer(headers), session_cookie(headers))
        .await
    {
        Ok(principal) => principal,
        Err(error) => return ApiError::from(error).into_response(),
    };
    if matches!(principal, Principal::Open) && state.auth.local_only() {
        if let Err(error) = local_request(
            request.method(),
            request.headers(),
            &state.auth.settings().allowed_hosts,
        ) {
            return error.into_response();
        }
    }
    if let Access::Scope(scope) = needed {
        if !principal.allows(scope) {
            return ApiError::Forbidden {
                code: "forbidden",
                message: format!("this API key lacks the `{}` scope", scope.as_str()),
            }
            .into_response();
        }
    }
    if let Principal::Session {
        session,
        via_cookie: true,
    } = &principal
    {
        let safe = matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        );
        let expected = state.auth.signer().csrf_token(&session.jti);
        let sent = request
            .headers()
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !safe && !bool::from(sent.ct_eq(expected.as_bytes())) {
            return ApiError::Forbidden {
                code: "csrf",
                message: "missing or wrong X-CSRF-Token header (a signed-in session must send \
                          the token it was given with every change)"
                    .into(),
            }
            .into_response();
        }
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_from_either_header_and_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", "k".parse().unwrap());
        assert_eq!(bearer(&headers), Some("k"));
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::COOKIE,
            "a=1; vectadb_session=tok; b=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&headers), Some("tok"));
    }

    #[test]
    fn an_open_server_answers_local_clients_only() {
        let allowed = vec!["vectadb.internal".to_string()];
        let check = |method: Method, pairs: &[(&str, &str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(
                    header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            local_request(&method, &headers, &allowed).is_ok()
        };
        assert!(check(Method::POST, &[]), "curl and SDKs");
        for host in [
            "localhost:8080",
            "127.0.0.1",
            "[::1]:80",
            "vectadb.internal",
        ] {
            assert!(check(Method::GET, &[("host", host)]), "{host}");
        }
        assert!(!check(Method::GET, &[("host", "attacker.example:8080")]));
        assert!(check(
            Method::POST,
            &[("host", "localhost"), ("origin", "http://localhost:8080")]
        ));
        assert!(!check(
            Method::POST,
            &[
                ("host", "localhost"),
                ("origin", "https://attacker.example")
            ]
        ));
        assert!(!check(
            Method::POST,
            &[("host", "localhost"), ("sec-fetch-site", "cross-site")]
        ));
        assert!(
            check(
                Method::GET,
                &[("host", "localhost"), ("sec-fetch-site", "cross-site")]
            ),
            "reads are guarded by the Host alone"
        );
    }
}
