//! HTTP composition: the outer router (health, always up) and the application router switched in
//! once the database is ready. Every route module exposes `router()`; they are merged here.

mod api;
mod health;
mod portal;
mod session;

pub use health::Health;

use crate::config::Config;
use crate::startup::Mode;
use axum::Router;
use axum::extract::Request;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::watch;
use tollgate_store::Store;
use tower::ServiceExt as _;

/// Largest request body the portal and admin API accept (forms and JSON are small).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Hands requests to the current application router; start-up replaces it once.
pub struct Switch(watch::Sender<Router>);

impl Switch {
    pub fn new() -> (Switch, watch::Receiver<Router>) {
        let (tx, rx) = watch::channel(starting_router());
        (Switch(tx), rx)
    }

    pub fn set(&self, router: Router) {
        let _previous = self.0.send_replace(router);
    }
}

/// Health routes, then whatever the switch currently holds.
pub fn outer_router(health: Health, app: watch::Receiver<Router>) -> Router {
    let forward = tower::service_fn(move |req: Request| {
        let router = app.borrow().clone();
        async move { Ok::<_, Infallible>(router.oneshot(req).await.unwrap_or_else(|e| match e {})) }
    });
    health::router(health).fallback_service(forward)
}

/// Until the database is ready, everything but health answers 503 with a reason.
fn starting_router() -> Router {
    Router::new().fallback(|| async {
        (
            http::StatusCode::SERVICE_UNAVAILABLE,
            [(http::header::RETRY_AFTER, "2")],
            "Tollgate is starting: waiting for the database. See /health/readiness.",
        )
    })
}

/// The application for a mode: the gateway's routes (no session middleware, their own body
/// limit) beside the portal's (with it).
pub fn app_router(
    config: &Config,
    store: Arc<dyn Store>,
    mode: Mode,
    gateway: Option<Arc<tollgate_gateway::Gateway>>,
    cluster: Arc<tollgate_app::server::instances::ClusterView>,
) -> Result<Router, tollgate_gateway::StartError> {
    let gateway_routes = gateway.map(tollgate_gateway::router).unwrap_or_default();
    if !mode.portal {
        return Ok(gateway_routes.fallback(api::not_found));
    }
    let state = portal::state(config, store, cluster)?;
    let portal = portal::router(config, state.clone()).merge(api::router(state.clone()));
    Ok(gateway_routes.merge(apply_middleware(portal, state)))
}

/// The layers, outermost last.
fn apply_middleware(router: Router, state: tollgate_app::server::PortalState) -> Router {
    router
        // Who is asking: session cookie or master key; gates pages; refuses cross-site writes.
        .layer(axum::middleware::from_fn_with_state(
            state,
            session::resolve,
        ))
        // Bodies over the limit get 413 before any handler reads them.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        // Request spans with method, path and status.
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
