//! `/api/v1/keys` (scope `admin`): create (the key is shown once), list,
//! revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorResponses};
use super::extract::JsonBody;
use super::guard::{Access, Routes};
use super::AppState;
use crate::auth::{CreatedKey, KeyInfo, Scope};
use crate::domain::validate;
use crate::domain::validate::ValidationError;
use crate::error::Error;

pub fn router() -> Routes {
    Routes::new()
        .add(Access::Scope(Scope::Admin), routes!(list))
        .add(Access::Scope(Scope::Admin), routes!(create))
        .add(Access::Scope(Scope::Admin), routes!(revoke))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyInfo>,
}

/// The scopes named, or a validation error naming the bad one.
pub fn parse_scopes(field: &str, names: &[String]) -> Result<Vec<Scope>, ValidationError> {
    if names.is_empty() {
        return Err(ValidationError::new(
            field,
            "give at least one scope: read, write, delete or admin",
        ));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Scope::parse(name).ok_or_else(|| {
                ValidationError::new(
                    format!("{field}[{i}]"),
                    format!("unknown scope {name:?}; use read, write, delete or admin"),
                )
            })
        })
        .collect()
}

/// Create an API key; the response is the only place the key appears.
#[utoipa::path(post, path = "/keys", tag = "auth", request_body = NewKey,
    responses((status = 201, description = "Created", body = CreatedKey), ErrorResponses))]
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

/// Every key, revoked ones included (never the key or its hash).
#[utoipa::path(get, path = "/keys", tag = "auth",
    responses((status = 200, description = "OK", body = KeyList), ErrorResponses))]
async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let items = state.auth.list_keys().await?;
    Ok(Json(KeyList { items }).into_response())
}

/// Revoke a key: it stops working at once.
#[utoipa::path(delete, path = "/keys/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), ErrorResponses))]
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
