//! `/api/v1/auth`: sign in (a session JWT in an HttpOnly cookie, and its
//! CSRF token), sign out (the token is revoked), and who am I.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::parse_json;
use super::extract::read_json_bytes;
use super::guard::{bearer, session_cookie};
use super::AppState;
use crate::auth::session::Session;
use crate::auth::{Principal, SESSION_COOKIE};
use crate::domain::validate;
use crate::error::Error;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: String,
    password: String,
}

/// The client a failed sign-in is counted against: the peer address, or
/// the first `X-Forwarded-For` hop behind a trusted proxy.
fn client(request: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        let forwarded = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty());
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

fn session_body(state: &AppState, session: &Session) -> serde_json::Value {
    json!({
        "auth": "session",
        "user": { "username": session.username },
        "csrf_token": state.auth.signer().csrf_token(&session.jti),
        "expires_at": session.expires_at,
    })
}

async fn login(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let client = client(&request, state.auth.settings().trust_forwarded_for);
    let secure = secure(&state, request.headers());
    if let Err(wait) = state.auth.limiter.check(&client) {
        tracing::warn!(%client, "sign-in refused: too many failures");
        return Err(ApiError::RateLimited { retry_after: wait });
    }
    let bytes = read_json_bytes(request, &state).await?;
    let credentials: Credentials = parse_json(&bytes)?;
    validate::required_text("username", &credentials.username).map_err(Error::from)?;
    validate::required_text("password", &credentials.password).map_err(Error::from)?;
    match state
        .auth
        .sign_in(&credentials.username, &credentials.password)
        .await
    {
        Ok(session) => {
            state.auth.limiter.succeeded(&client);
            tracing::info!(username = %session.username, %client, "signed in");
            let max_age = (session.expires_at - chrono::Utc::now())
                .num_seconds()
                .max(0);
            let mut body = session_body(&state, &session);
            body["token"] = json!(session.token);
            let mut response = Json(body).into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie(&session.token, max_age, secure));
            Ok(response)
        }
        Err(crate::auth::AuthError::Unauthorized(message)) => {
            state.auth.limiter.failed(&client);
            tracing::warn!(%client, "failed sign-in");
            Err(ApiError::Unauthorized {
                message: message.into(),
            })
        }
        Err(other) => Err(other.into()),
    }
}

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

async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let principal = state
        .auth
        .authenticate(bearer(&headers), session_cookie(&headers))
        .await?;
    let body = match principal {
        Principal::Open => json!({ "auth": "open", "user": null }),
        Principal::Key { id, name, scopes } => {
            json!({ "auth": "key", "user": null, "key": { "id": id, "name": name, "scopes": scopes } })
        }
        Principal::Session { session, .. } => session_body(&state, &session),
    };
    Ok(Json(body).into_response())
}
