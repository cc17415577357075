//! LiteLLM's `/team/new` and `/user/new`, in its field names and answer shapes, for scripts
//! written for LiteLLM; the rules are `tollgate_app::server::people`'s (admins only).

use super::keys::dollars;
use super::{ApiError, body, principal};
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::Json;
use axum::routing::post;
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_app::server::people;
use tollgate_app::server::teams::{self, TeamSpec};
use tollgate_app::server::{PortalState, Principal};
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::{TeamId, Timestamp};

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/team/new", post(team_new))
        .route("/user/new", post(user_new))
}

/// Fields LiteLLM has and Tollgate does not are refused by name, not ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiteLlmTeam {
    team_alias: String,
    max_budget: Option<f64>,
    budget_duration: Option<String>,
    rpm_limit: Option<i64>,
    tpm_limit: Option<i64>,
}

async fn team_new(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<LiteLlmTeam>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let b = body(b)?;
    let spec = TeamSpec {
        name: b.team_alias,
        max_budget: dollars("max_budget", b.max_budget)?,
        budget_duration: b.budget_duration,
        rpm_limit: b.rpm_limit,
        tpm_limit: b.tpm_limit,
    };
    let team = teams::create_team(state.store.as_ref(), &who, spec, Timestamp::now())
        .await
        .map_err(|e| e.renamed(&[("name", "team_alias")]))?;
    Ok(Json(json!({
        "team_id": team.id,
        "team_alias": team.name,
        "max_budget": team.max_budget.map(|m| m.0 as f64 / 1_000_000.0),
        "budget_duration": team.budget_duration,
        "rpm_limit": team.rpm_limit,
        "tpm_limit": team.tpm_limit,
        "spend": 0.0,
        "models": [],
        "members_with_roles": [],
        "created_at": team.created_at.to_string(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiteLlmUser {
    user_email: String,
    user_alias: Option<String>,
    /// `proxy_admin`, `proxy_admin_viewer`, `internal_user` (the default) or
    /// `internal_user_viewer`.
    user_role: Option<String>,
    team_id: Option<TeamId>,
}

/// LiteLLM's role names to Tollgate's. `internal_user_viewer` is a user with no team rights of
/// their own beyond reading: Tollgate's `user`, and a `member` when a team is named.
fn role(name: Option<&str>) -> Result<GlobalRole, ApiError> {
    match name.unwrap_or("internal_user") {
        "proxy_admin" => Ok(GlobalRole::Admin),
        "proxy_admin_viewer" => Ok(GlobalRole::Viewer),
        "internal_user" | "internal_user_viewer" => Ok(GlobalRole::User),
        other => Err(ApiError::BadRequest(format!(
            "user_role: {other:?} is not one of proxy_admin, proxy_admin_viewer, internal_user, \
             internal_user_viewer"
        ))),
    }
}

/// `/user/new`: the answer holds a one-time password for the portal (shown once; it must be
/// changed at the first sign-in). LiteLLM also makes a key here; Tollgate makes keys with
/// `/key/generate`, so `key` is null.
async fn user_new(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<LiteLlmUser>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let b = body(b)?;
    let global = role(b.user_role.as_deref())?;
    let made = people::create_user(
        state.store.as_ref(),
        &who,
        &b.user_email,
        b.user_alias.as_deref(),
        global,
        b.team_id.map(|t| (t, TeamRole::Member)),
        Timestamp::now(),
    )
    .await
    .map_err(|e| e.renamed(&[("email", "user_email"), ("name", "user_alias")]))?;
    Ok(Json(json!({
        "user_id": made.user.id,
        "user_email": made.user.email,
        "user_alias": made.user.name,
        "user_role": b.user_role.unwrap_or_else(|| "internal_user".to_owned()),
        "teams": b.team_id.map(|t| vec![t]).unwrap_or_default(),
        "key": null,
        "one_time_password": made.password,
    })))
}
