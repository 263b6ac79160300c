//! `/api/v1/auth`: sign in (a session JWT in an HttpOnly cookie, and its
//! CSRF token), sign out (the token is revoked), and who am I.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody, ErrorResponses};
use super::extract::parse_json;
use super::extract::read_json_bytes;
use super::guard::{Access, Routes};
use super::AppState;
use crate::auth::session::Session;
use crate::auth::{Principal, Scope, SESSION_COOKIE};
use crate::domain::validate;
use crate::error::Error;

pub fn router() -> Routes {
    Routes::new()
        .add(Access::Public, routes!(login))
        .add(Access::Authenticated, routes!(logout))
        .add(Access::Authenticated, routes!(me))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: String,
    password: String,
}

/// The client a failed sign-in is counted against: the peer address, or
/// behind a trusted proxy the address it saw (the last `X-Forwarded-For`
/// entry: the ones before it are whatever the client sent).
pub fn client(request: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty());
        if let Some(client) = forwarded {
            return client.to_string();
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Cookies get `Secure` when configured, or when a proxy says the client
/// spoke HTTPS.
fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.auth.settings().cookie_secure
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .expect("a JWT is a valid header value")
}

#[derive(Serialize, utoipa::ToSchema)]
struct User {
    username: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct KeyView {
    id: String,
    name: String,
    scopes: Vec<Scope>,
}

/// Who is calling: `auth` is `session`, `key` or `open` (no credentials
/// needed: auth disabled, or none set up on a local server).
#[derive(Serialize, utoipa::ToSchema)]
struct Identity {
    auth: &'static str,
    user: Option<User>,
    /// A session's CSRF token: send it as `X-CSRF-Token` with every change
    /// the session cookie authenticates.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// At sign-in only: the session JWT (also set as the HttpOnly cookie),
    /// for API clients that send it as a bearer token.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<KeyView>,
}

fn session_body(state: &AppState, session: &Session) -> Identity {
    Identity {
        auth: "session",
        user: Some(User {
            username: session.username.clone(),
        }),
        csrf_token: Some(state.auth.signer().csrf_token(&session.jti)),
        expires_at: Some(session.expires_at),
        token: None,
        key: None,
    }
}

/// Sign in to the admin UI: a session JWT (HS256, `JWT_SECRET`) in an
/// HttpOnly SameSite=Strict cookie, and its CSRF token. Failed attempts are
/// limited per client (429 with Retry-After).
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Credentials, security(()),
    responses(
        (status = 200, description = "Signed in (Set-Cookie: vectadb_session)", body = Identity),
        (status = 429, description = "Too many failed sign-ins from this client", body = ErrorBody),
        ErrorResponses))]
async fn login(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let client = client(&request, state.auth.settings().trust_forwarded_for);
    let secure = secure(&state, request.headers());
    let bytes = read_json_bytes(request, super::SIGN_IN_BYTES).await?;
    let credentials: Credentials = parse_json(&bytes)?;
    validate::required_text("username", &credentials.username).map_err(Error::from)?;
    validate::required_text("password", &credentials.password).map_err(Error::from)?;
    let session = state
        .auth
        .sign_in(&credentials.username, &credentials.password, &client)
        .await?;
    tracing::info!(username = %session.username, %client, "signed in");
    let max_age = (session.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    let mut body = session_body(&state, &session);
    body.token = Some(session.token.clone());
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&session.token, max_age, secure));
    Ok(response)
}

/// Sign out: the session's token is revoked and the cookie cleared.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out"), ErrorResponses))]
async fn logout(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    match &principal {
        Principal::Session { session, .. } => {
            state.auth.sign_out(session).await?;
            tracing::info!(username = %session.username, "signed out");
        }
        Principal::Key { .. } => {
            return Err(ApiError::BadRequest {
                field: None,
                message:
                    "sign-out ends a session; an API key is revoked with DELETE /api/v1/keys/{id}"
                        .into(),
            })
        }
        Principal::Open => {}
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie("", 0, secure(&state, &headers)));
    Ok(response)
}

/// Who the credentials belong to (the UI's session check).
#[utoipa::path(get, path = "/auth/me", tag = "auth",
    responses((status = 200, description = "OK", body = Identity), ErrorResponses))]
async fn me(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    let bare = |auth| Identity {
        auth,
        user: None,
        csrf_token: None,
        expires_at: None,
        token: None,
        key: None,
    };
    let body = match principal {
        Principal::Open => bare("open"),
        Principal::Key { id, name, scopes } => Identity {
            key: Some(KeyView { id, name, scopes }),
            ..bare("key")
        },
        Principal::Session { session, .. } => session_body(&state, &session),
    };
    Ok(Json(body).into_response())
}
