//! `/health/liveliness` (the process answers) and `/health/readiness` (the database is reachable
//! and migrated), each with a JSON body saying what was checked.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use http::StatusCode;
use serde_json::json;
use std::sync::{Arc, RwLock};
use tollgate_store::Store;

/// Where start-up is.
#[derive(Clone)]
pub struct Health(Arc<RwLock<Phase>>);

enum Phase {
    Starting(String),
    Running(Arc<dyn Store>),
}

impl Health {
    pub fn starting(detail: &str) -> Health {
        Health(Arc::new(RwLock::new(Phase::Starting(detail.to_owned()))))
    }

    pub fn set_starting(&self, detail: String) {
        if let Ok(mut p) = self.0.write() {
            *p = Phase::Starting(detail);
        }
    }

    pub fn set_running(&self, store: Arc<dyn Store>) {
        if let Ok(mut p) = self.0.write() {
            *p = Phase::Running(store);
        }
    }

    fn store(&self) -> Result<Arc<dyn Store>, String> {
        match self.0.read().as_deref() {
            Ok(Phase::Running(s)) => Ok(s.clone()),
            Ok(Phase::Starting(detail)) => Err(detail.clone()),
            Err(_) => Err("health state unavailable".to_owned()),
        }
    }
}

pub fn router(health: Health) -> axum::Router {
    Router::new()
        .route("/health/liveliness", get(liveliness))
        .route("/health/readiness", get(readiness))
        .with_state(health)
}

async fn liveliness() -> impl IntoResponse {
    Json(json!({ "status": "alive", "version": env!("CARGO_PKG_VERSION") }))
}

async fn readiness(State(health): State<Health>) -> impl IntoResponse {
    let store = match health.store() {
        Ok(s) => s,
        Err(detail) => {
            let body = json!({
                "status": "starting",
                "checks": { "database": { "ok": false, "detail": detail } }
            });
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
        }
    };
    match store.readiness().await {
        Ok(r) => {
            let migrated = r.migrations_applied >= r.migrations_expected;
            let ok = r.reachable && migrated;
            let detail = if !r.reachable {
                "unreachable"
            } else if !migrated {
                "migrations pending"
            } else {
                "reachable and migrated"
            };
            let body = json!({
                "status": if ok { "ready" } else { "not_ready" },
                "checks": { "database": {
                    "ok": ok,
                    "backend": r.backend.as_str(),
                    "migrations_applied": r.migrations_applied,
                    "migrations_expected": r.migrations_expected,
                    "detail": detail,
                } }
            });
            (
                if ok {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                },
                Json(body),
            )
        }
        Err(e) => {
            let body = json!({
                "status": "not_ready",
                "checks": { "database": { "ok": false, "backend": store.backend().as_str(), "detail": e.to_string() } }
            });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}
