//! The admin REST API under `/api/v1` (master key as bearer, or a session). The portal
//! issue grows it to keys, teams, routes and credentials; its error shape is fixed here.
//! `/api/v1/instances` serves the instance health report for alerting scripts; `/api/v1/spend`
//! and `/api/v1/logs` (module [`spend`]) the analytics. `/api/v1/openapi.json` describes it all.

mod audit;
mod keys;
mod people;
mod routes;
mod spend;
mod teams;
mod users;

use axum::extract::{Query, Request, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Extension, Router};
use http::StatusCode;
use serde_json::json;
use tollgate_app::server::{PortalState, Principal};
use tollgate_domain::{Action, Target};

pub fn router(state: PortalState) -> Router {
    Router::new()
        .route("/api/v1/me", get(get_me))
        .route("/api/v1/instances", get(list_instances))
        .route("/api/v1/instances/{name}", get(get_instance))
        .route("/api/v1/openapi.json", get(get_openapi))
        .merge(spend::routes())
        .merge(keys::routes())
        .merge(people::routes())
        .merge(teams::routes())
        .merge(users::routes())
        .merge(audit::routes())
        .merge(routes::routes())
        .route("/api/v1/{*rest}", axum::routing::any(not_found))
        .with_state(state)
}

/// The API's one error type: OpenAI-style `{"error":{"message","type","code"}}` bodies.
#[derive(Debug)]
pub enum ApiError {
    Unauthenticated,
    Forbidden,
    BadRequest(String),
    /// The object changed since the caller read it (or a unique name is taken).
    Conflict(String),
    NotFound,
    Unavailable,
    Internal,
}

impl ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "authentication_error",
            ApiError::Forbidden => "permission_error",
            ApiError::BadRequest(_) => "invalid_request_error",
            ApiError::Conflict(_) => "conflict_error",
            ApiError::NotFound => "not_found_error",
            ApiError::Unavailable => "service_unavailable",
            ApiError::Internal => "internal_error",
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated => {
                "Send the master key as `Authorization: Bearer ...`, or sign in.".into()
            }
            ApiError::Forbidden => "You do not have permission to do this.".into(),
            ApiError::BadRequest(m) | ApiError::Conflict(m) => m.clone(),
            ApiError::NotFound => "No such endpoint or object.".into(),
            ApiError::Unavailable => "The database is unavailable right now.".into(),
            ApiError::Internal => "Internal error; it has been logged.".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": {
            "message": self.message(),
            "type": self.kind(),
            "param": null,
            "code": self.status_code().as_u16(),
        }});
        (self.status_code(), Json(body)).into_response()
    }
}

impl From<tollgate_store::Error> for ApiError {
    fn from(e: tollgate_store::Error) -> Self {
        match e {
            tollgate_store::Error::NotFound => ApiError::NotFound,
            tollgate_store::Error::Conflict(m) => ApiError::Conflict(m),
            tollgate_store::Error::Unavailable(_) => ApiError::Unavailable,
            other => {
                tracing::error!(error = ?other, "store error in the admin API");
                ApiError::Internal
            }
        }
    }
}

impl From<tollgate_domain::analytics::QueryError> for ApiError {
    fn from(e: tollgate_domain::analytics::QueryError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<tollgate_app::error::AppError> for ApiError {
    fn from(e: tollgate_app::error::AppError) -> Self {
        use tollgate_app::error::AppError as E;
        match e {
            E::Unauthenticated => ApiError::Unauthenticated,
            E::Forbidden | E::CrossSite => ApiError::Forbidden,
            E::Invalid(f) => ApiError::BadRequest(format!("{}: {}", f.field, f.message)),
            E::Conflict(m) => ApiError::Conflict(m),
            E::NotFound => ApiError::NotFound,
            E::Unavailable => ApiError::Unavailable,
            E::BadCredentials | E::TooManyAttempts(_) | E::Transport(_) | E::Internal => {
                ApiError::Internal
            }
        }
    }
}

/// The OpenAPI 3.1 description of this API, kept beside the handlers and checked by a test
/// against the routes they serve.
pub const OPENAPI: &str = include_str!("api/openapi.json");

async fn get_openapi() -> Response {
    ([(http::header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// A JSON body, or a 400 saying what is wrong with it (the field, for a field).
fn body<T>(b: Result<Json<T>, axum::extract::rejection::JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// An id in a path: one that does not parse names nothing, so it is a 404 like an id that does
/// not exist.
fn path_id<T: std::str::FromStr>(s: &str) -> Result<T, ApiError> {
    s.parse().map_err(|_| ApiError::NotFound)
}

/// Query parameters, or a 400 saying what is wrong with them.
fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

fn principal(p: Option<Extension<Principal>>) -> Result<Principal, ApiError> {
    p.map(|Extension(p)| p).ok_or(ApiError::Unauthenticated)
}

async fn get_me(p: Option<Extension<Principal>>) -> Result<Json<serde_json::Value>, ApiError> {
    let p = principal(p)?;
    Ok(Json(json!({
        "label": p.label,
        "user_id": p.actor.user_id,
        "role": p.actor.role,
        "teams": p.actor.teams.iter().map(|(t, r)| json!({"team_id": t, "role": r})).collect::<Vec<_>>(),
    })))
}

/// Every instance with its state, pods and diagnoses, and whether Kubernetes is on.
async fn list_instances(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    principal(p)?
        .actor
        .authorize(Action::ReadInstances, Target::Global)
        .map_err(|_| ApiError::Forbidden)?;
    let report = state.cluster.report(state.store.as_ref()).await?;
    Ok(Json(json!({
        "kubernetes": report.kubernetes,
        "generated_at": report.generated_at,
        "data": report.instances,
        "diagnoses": report.diagnoses,
    })))
}

async fn get_instance(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    principal(p)?
        .actor
        .authorize(Action::ReadInstances, Target::Global)
        .map_err(|_| ApiError::Forbidden)?;
    let report = state.cluster.report(state.store.as_ref()).await?;
    let instance = report.instance(&name).ok_or(ApiError::NotFound)?;
    Ok(Json(json!({
        "kubernetes": report.kubernetes,
        "generated_at": report.generated_at,
        "data": instance,
    })))
}

pub async fn not_found(_req: Request) -> ApiError {
    ApiError::NotFound
}
