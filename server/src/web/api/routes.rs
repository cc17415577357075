//! Routes, credentials and price overrides over HTTP: `/api/v1/routes`, `/api/v1/credentials`
//! (write-only secrets) and `/api/v1/prices`. The rules are `tollgate_app::server::routes`'s,
//! which the portal's Routes and Settings pages share.

use super::{ApiError, body, path_id, principal};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use http::StatusCode;
use serde_json::{Value, json};
use tollgate_app::server::routes::{self, CredentialSpec, PriceSpec, RouteSpec, TestSpec};
use tollgate_app::server::{PortalState, Principal};
use tollgate_domain::Timestamp;

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/api/v1/routes", get(list_routes).post(create_route))
        .route(
            "/api/v1/routes/{id}",
            delete(delete_route).put(update_route),
        )
        .route("/api/v1/routes/{id}/test", post(test_route))
        .route(
            "/api/v1/credentials",
            get(list_credentials).post(create_credential),
        )
        .route("/api/v1/credentials/{id}", delete(delete_credential))
        .route("/api/v1/prices", get(list_prices).put(set_price))
        .route("/api/v1/prices/{pattern}", delete(delete_price))
}

async fn list_routes(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let list = routes::list_routes(state.store.as_ref(), &who, &state.config_routes).await?;
    Ok(Json(json!({ "data": list })))
}

async fn create_route(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<RouteSpec>, JsonRejection>,
) -> Result<Response, ApiError> {
    let who = principal(p)?;
    let spec = body(b)?;
    let route = routes::create_route(state.store.as_ref(), &who, spec, Timestamp::now()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": route }))).into_response())
}

async fn update_route(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(route): Path<String>,
    b: Result<Json<RouteSpec>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let spec = body(b)?;
    let id = path_id(&route)?;
    let route =
        routes::update_route(state.store.as_ref(), &who, id, spec, Timestamp::now()).await?;
    Ok(Json(json!({ "data": route })))
}

/// One test request through the route; the report is the answer whether the upstream answered
/// or not (`ok`, `status`, every attempt).
async fn test_route(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(route): Path<String>,
    b: Result<Json<TestSpec>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let spec = body(b)?;
    let id = path_id(&route)?;
    let report = routes::test_route(
        state.store.as_ref(),
        &who,
        state.tester.as_ref(),
        &state.config_routes,
        id,
        spec,
    )
    .await?;
    Ok(Json(json!({ "data": report })))
}

async fn delete_route(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(route): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = principal(p)?;
    routes::delete_route(state.store.as_ref(), &who, path_id(&route)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_credentials(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let list = routes::list_credentials(state.store.as_ref(), &who).await?;
    Ok(Json(json!({ "data": list })))
}

async fn create_credential(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<CredentialSpec>, JsonRejection>,
) -> Result<Response, ApiError> {
    let who = principal(p)?;
    let spec = body(b)?;
    let made = routes::create_credential(
        state.store.as_ref(),
        &who,
        state.sealer.as_deref(),
        spec,
        Timestamp::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": made }))).into_response())
}

async fn delete_credential(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(credential): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = principal(p)?;
    routes::delete_credential(state.store.as_ref(), &who, path_id(&credential)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_prices(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let list = routes::list_prices(state.store.as_ref(), &who).await?;
    Ok(Json(json!({ "data": list })))
}

async fn set_price(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<PriceSpec>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let spec = body(b)?;
    let price = routes::set_price(state.store.as_ref(), &who, spec, Timestamp::now()).await?;
    Ok(Json(json!({ "data": price })))
}

async fn delete_price(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(pattern): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = principal(p)?;
    routes::delete_price(state.store.as_ref(), &who, &pattern).await?;
    Ok(StatusCode::NO_CONTENT)
}
