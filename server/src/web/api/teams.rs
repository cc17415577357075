//! Teams over HTTP: `/api/v1/teams` (list, create), `/api/v1/teams/{id}` (read with members,
//! edit, delete), its policy and its members. The rules are `tollgate_app::server::teams`'s,
//! which the portal's pages share.

use super::{ApiError, body, path_id, principal};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, put};
use axum::{Extension, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_app::server::teams::{self, TeamSpec};
use tollgate_app::server::{PortalState, Principal};
use tollgate_domain::authz::TeamRole;
use tollgate_domain::policy::MemberPolicy;
use tollgate_domain::{TeamId, Timestamp, UserId};

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/api/v1/teams", get(list).post(create))
        .route("/api/v1/teams/{id}", get(info).put(edit).delete(delete))
        .route("/api/v1/teams/{id}/policy", put(set_policy))
        .route(
            "/api/v1/teams/{id}/members",
            axum::routing::post(add_member),
        )
        .route(
            "/api/v1/teams/{id}/members/{user}",
            put(set_role).delete(remove_member),
        )
}

async fn list(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let list = teams::list_teams(state.store.as_ref(), &who).await?;
    Ok(Json(json!({ "data": list })))
}

async fn create(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<TeamSpec>, JsonRejection>,
) -> Result<Response, ApiError> {
    let who = principal(p)?;
    let spec = body(b)?;
    let team = teams::create_team(state.store.as_ref(), &who, spec, Timestamp::now()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": team }))).into_response())
}

async fn info(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(team): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let v = teams::team_detail(state.store.as_ref(), &who, path_id(&team)?).await?;
    Ok(Json(json!({ "data": v.team, "members": v.members })))
}

async fn edit(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(team): Path<String>,
    b: Result<Json<TeamSpec>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let spec = body(b)?;
    let team = teams::update_team(
        state.store.as_ref(),
        &who,
        path_id(&team)?,
        spec,
        Timestamp::now(),
    )
    .await?;
    Ok(Json(json!({ "data": team })))
}

async fn delete(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(team): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = principal(p)?;
    teams::delete_team(state.store.as_ref(), &who, path_id(&team)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_policy(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(team): Path<String>,
    b: Result<Json<MemberPolicy>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let policy = body(b)?;
    let team = teams::set_policy(
        state.store.as_ref(),
        &who,
        path_id(&team)?,
        policy,
        Timestamp::now(),
    )
    .await?;
    Ok(Json(json!({ "data": team })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMember {
    email: String,
    role: TeamRole,
}

async fn add_member(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(team): Path<String>,
    b: Result<Json<NewMember>, JsonRejection>,
) -> Result<Response, ApiError> {
    let who = principal(p)?;
    let b = body(b)?;
    let team = path_id::<TeamId>(&team)?;
    let member = teams::add_member(
        state.store.as_ref(),
        &who,
        team,
        &b.email,
        b.role,
        Timestamp::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": member }))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: TeamRole,
}

async fn set_role(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path((team, user)): Path<(String, String)>,
    b: Result<Json<RoleBody>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let who = principal(p)?;
    let b = body(b)?;
    teams::set_member_role(
        state.store.as_ref(),
        &who,
        path_id(&team)?,
        path_id::<UserId>(&user)?,
        b.role,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path((team, user)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let who = principal(p)?;
    teams::remove_member(
        state.store.as_ref(),
        &who,
        path_id(&team)?,
        path_id::<UserId>(&user)?,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
