//! `/api/v1/keys` (scope `admin`): create (the key is shown once), list,
//! revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::JsonBody;
use super::AppState;
use crate::auth::Scope;
use crate::domain::validate;
use crate::domain::validate::ValidationError;
use crate::error::Error;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/keys", get(list).post(create))
        .route("/keys/{id}", delete(revoke))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<String>,
}

/// The scopes named, or a validation error naming the bad one.
pub fn parse_scopes(field: &str, names: &[String]) -> Result<Vec<Scope>, ValidationError> {
    if names.is_empty() {
        return Err(ValidationError::new(
            field,
            "give at least one scope: read, write or admin",
        ));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Scope::parse(name).ok_or_else(|| {
                ValidationError::new(
                    format!("{field}[{i}]"),
                    format!("unknown scope {name:?}; use read, write or admin"),
                )
            })
        })
        .collect()
}

async fn create(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<NewKey>,
) -> Result<Response, ApiError> {
    validate::required_text("name", &request.name).map_err(Error::from)?;
    let scopes = parse_scopes("scopes", &request.scopes).map_err(Error::from)?;
    let created = state.auth.create_key(request.name.trim(), &scopes).await?;
    tracing::info!(key = %created.info.id, name = %created.info.name, "API key created");
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = state.auth.list_keys().await?;
    Ok(Json(json!({ "items": keys })).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.auth.revoke_key(&id).await? {
        tracing::info!(key = %id, "API key revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound {
            message: format!("no API key {id}"),
        })
    }
}
