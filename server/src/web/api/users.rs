//! Users over HTTP: `/api/v1/users` (list, create with a one-time password) and
//! `/api/v1/users/{id}` (change role or disable, delete), and `/api/v1/users/{id}/password`
//! (a new one-time password). The rules are `tollgate_app::server::people`'s (admins only).

use super::{ApiError, body, path_id, principal, query};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_app::server::people;
use tollgate_app::server::{PortalState, Principal};
use tollgate_domain::authz::GlobalRole;
use tollgate_domain::{Timestamp, UserId};

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/api/v1/users", get(list).post(create))
        .route(
            "/api/v1/users/{id}",
            axum::routing::patch(edit).delete(delete),
        )
        .route("/api/v1/users/{id}/password", post(reset_password))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u64,
}

fn default_limit() -> u32 {
    100
}

async fn list(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let q = query(q)?;
    let page = tollgate_store::Page {
        limit: q.limit,
        offset: q.offset,
    };
    let users = people::list_users(state.store.as_ref(), &who, &page).await?;
    Ok(Json(json!({ "data": users })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    name: Option<String>,
    #[serde(default = "default_role")]
    role: GlobalRole,
}

fn default_role() -> GlobalRole {
    GlobalRole::User
}

async fn create(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<NewUser>, JsonRejection>,
) -> Result<Response, ApiError> {
    let who = principal(p)?;
    let b = body(b)?;
    let made = people::create_user(
        state.store.as_ref(),
        &who,
        &b.email,
        b.name.as_deref(),
        b.role,
        None,
        Timestamp::now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "data": made.user, "one_time_password": made.password })),
    )
        .into_response())
}

/// `PATCH /api/v1/users/{id}`: `role` and/or `disabled`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    role: Option<GlobalRole>,
    disabled: Option<bool>,
}

async fn edit(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
    b: Result<Json<UserChange>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let b = body(b)?;
    let id = path_id::<UserId>(&id)?;
    let store = state.store.as_ref();
    if b.role.is_none() && b.disabled.is_none() {
        return Err(ApiError::BadRequest(
            "send `role`, `disabled` or both".into(),
        ));
    }
    let mut user = None;
    if let Some(role) = b.role {
        user = Some(people::set_role(store, &who, id, role).await?);
    }
    if let Some(disabled) = b.disabled {
        user = Some(people::set_disabled(store, &who, id, disabled).await?);
    }
    Ok(Json(json!({ "data": user })))
}

async fn delete(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = principal(p)?;
    people::delete_user(state.store.as_ref(), &who, path_id::<UserId>(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset_password(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let made = people::reset_password(state.store.as_ref(), &who, path_id::<UserId>(&id)?).await?;
    Ok(Json(json!({ "one_time_password": made.password })))
}
