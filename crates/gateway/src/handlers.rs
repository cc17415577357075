//! The gateway's HTTP surface: the OpenAI- and Anthropic-compatible endpoints, `/v1/models`,
//! and `/metrics`.

use crate::Gateway;
use crate::error::GatewayError;
use crate::providers::{Dialect, Endpoint};
use crate::proxy;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::header;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use tollgate_domain::routing::model_allowed;

pub fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/chat/completions", post(chat_completions))
        .route("/v1/completions", post(completions))
        .route("/completions", post(completions))
        .route("/v1/embeddings", post(embeddings))
        .route("/embeddings", post(embeddings))
        .route("/v1/messages", post(messages))
        .route("/v1/models", get(list_models))
        .route("/models", get(list_models))
        .route("/metrics", get(metrics))
        .with_state(gw)
}

async fn chat_completions(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    forward(gw, Endpoint::ChatCompletions, req).await
}

async fn completions(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    forward(gw, Endpoint::Completions, req).await
}

async fn embeddings(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    forward(gw, Endpoint::Embeddings, req).await
}

async fn messages(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    forward(gw, Endpoint::Messages, req).await
}

/// Reads the body under the size limit (413 beyond it) and hands the request to the proxy.
async fn forward(gw: Arc<Gateway>, endpoint: Endpoint, req: Request) -> Response {
    let limit = gw.config.max_body_bytes;
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let body = if declared.is_some_and(|n| n > limit) {
        Err(GatewayError::TooLarge(limit))
    } else {
        axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| GatewayError::TooLarge(limit))
    };
    proxy::serve(gw, endpoint, parts.headers, body).await
}

/// The models the calling key may use on this instance (exact names and aliases).
async fn list_models(State(gw): State<Arc<Gateway>>, headers: http::HeaderMap) -> Response {
    let snapshot = gw.snapshot();
    let key = match proxy::authenticate(&snapshot, &headers, gw.database_ok()) {
        Ok(k) => k,
        Err(e) => return e.into_response_for(Dialect::OpenAi),
    };
    let mut names: Vec<&str> = snapshot
        .routes
        .model_names()
        .filter(|m| model_allowed(key.allowed_models.as_deref(), m))
        .collect();
    names.sort_unstable();
    let data: Vec<_> = names
        .into_iter()
        .map(|id| json!({ "id": id, "object": "model", "created": 0, "owned_by": "tollgate" }))
        .collect();
    Json(json!({ "object": "list", "data": data })).into_response()
}

async fn metrics(State(gw): State<Arc<Gateway>>) -> Response {
    let now = Instant::now();
    let snapshot = gw.snapshot();
    let mut route_of = std::collections::HashMap::new();
    for name in snapshot.routes.model_names() {
        if let Some(r) = snapshot.routes.resolve(name, &http::HeaderMap::new()) {
            for d in &r.entry.deployments {
                route_of.insert(d.deployment.id, r.entry.route.model_name.clone());
            }
        }
    }
    let circuits: Vec<(String, String, u8)> = gw
        .deployment_states()
        .into_iter()
        .map(|(id, state)| {
            let code = match state.circuit_state(now) {
                crate::balance::CircuitState::Closed => 0,
                crate::balance::CircuitState::HalfOpen => 1,
                crate::balance::CircuitState::Open => 2,
            };
            (
                id.to_string(),
                route_of.get(&id).cloned().unwrap_or_default(),
                code,
            )
        })
        .collect();
    let mut text = gw
        .metrics
        .render(&gw.config.instance, &gw.config.pod, &circuits);
    gw.render_pipeline_metrics(&mut text);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
