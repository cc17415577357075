//! `/health/liveliness` (the process answers) and `/health/readiness` (the database is reachable
//! and migrated; for a gateway also where limits are counted and the spend pipeline's state),
//! each with a JSON body saying what was checked.
//!
//! A gateway whose database is down keeps serving cached keys and routes, so its readiness
//! stays 200 with `status: degraded` and the reasons: taking every replica out of its Service
//! during a database outage would turn a degraded gateway into an outage. A portal-only
//! process cannot work without its database and answers 503.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use http::StatusCode;
use serde_json::json;
use std::sync::{Arc, RwLock};
use tollgate_gateway::Gateway;
use tollgate_gateway::limits::Mode;
use tollgate_store::Store;

/// Where start-up is.
#[derive(Clone)]
pub struct Health(Arc<RwLock<Phase>>);

/// The store, and the gateway when this process runs one.
type Running = (Arc<dyn Store>, Option<Arc<Gateway>>);

enum Phase {
    Starting(String),
    Running(Arc<dyn Store>, Option<Arc<Gateway>>),
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

    pub fn set_running(&self, store: Arc<dyn Store>, gateway: Option<Arc<Gateway>>) {
        if let Ok(mut p) = self.0.write() {
            *p = Phase::Running(store, gateway);
        }
    }

    fn running(&self) -> Result<Running, String> {
        match self.0.read().as_deref() {
            Ok(Phase::Running(s, g)) => Ok((s.clone(), g.clone())),
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
    let (store, gateway) = match health.running() {
        Ok(s) => s,
        Err(detail) => {
            let body = json!({
                "status": "starting",
                "checks": { "database": { "ok": false, "detail": detail } }
            });
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
        }
    };
    let (db_ok, database) = match store.readiness().await {
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
            (
                ok,
                json!({
                    "ok": ok,
                    "backend": r.backend.as_str(),
                    "migrations_applied": r.migrations_applied,
                    "migrations_expected": r.migrations_expected,
                    "detail": detail,
                }),
            )
        }
        Err(e) => (
            false,
            json!({ "ok": false, "backend": store.backend().as_str(), "detail": e.to_string() }),
        ),
    };
    let Some(gw) = gateway else {
        let status = if db_ok { "ready" } else { "not_ready" };
        let code = if db_ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        return (
            code,
            Json(json!({ "status": status, "checks": { "database": database } })),
        );
    };
    let mut reasons = Vec::new();
    if !db_ok {
        reasons.push("database unreachable: serving cached keys and routes, spend is spooled");
    }
    let mode = gw.limiter.mode();
    let limits = json!({
        "ok": matches!(mode, Mode::Local | Mode::Redis),
        "mode": mode.as_str(),
        "replicas": gw.limiter.replicas(),
        "detail": match mode {
            Mode::Local => "in process (no Redis configured)",
            Mode::Redis => "shared through Redis",
            Mode::DegradedLocal => "Redis unreachable: each replica enforces limit / live replicas",
            Mode::Deny => "Redis unreachable: requests with limits are refused",
        },
    });
    if !matches!(mode, Mode::Local | Mode::Redis) {
        reasons.push("Redis unreachable: limits degraded");
    }
    let spend = gw.usage.spend_writer().map(|w| w.status()).map(|st| {
        if st.spool_full {
            reasons.push("spend spool FULL: usage events are being dropped");
        } else if st.spool_bytes > 0 {
            reasons.push("spend events waiting in the spool");
        }
        json!({
            "ok": !st.spool_full,
            "database_ok": st.database_ok,
            "queued": st.queued,
            "spool_bytes": st.spool_bytes,
            "spool_max_bytes": st.spool_max_bytes,
            "spool_full": st.spool_full,
            "dropped": st.dropped,
        })
    });
    let status = if reasons.is_empty() {
        "ready"
    } else {
        "degraded"
    };
    // A gateway with its snapshot still serves: degraded, not unready (see the module docs).
    (
        StatusCode::OK,
        Json(json!({
            "status": status,
            "reasons": reasons,
            "checks": { "database": database, "limits": limits, "spend": spend },
        })),
    )
}
