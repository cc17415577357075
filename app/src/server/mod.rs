//! The portal's server side: state, sessions, passwords, sign-in throttling and CSRF checks.
//! Compiled only with the `ssr` feature; server functions and the `tollgate` binary use it.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod csrf;
pub mod forms;
pub mod import;
pub mod instances;
pub mod keys;
pub mod passwords;
pub mod people;
pub mod principal;
pub mod routes;
pub mod teams;
pub mod throttle;

use std::sync::Arc;
use tollgate_store::Store;

pub use auth::{Auth, AuthConfig};
pub use principal::{Principal, principal};

/// What every server function needs, provided once as Leptos context.
#[derive(Clone)]
pub struct PortalState {
    pub store: Arc<dyn Store>,
    pub auth: Arc<Auth>,
    /// Kubernetes (or its absence) for the instances pages.
    pub cluster: Arc<instances::ClusterView>,
    /// Seals credential secrets (`TOLLGATE_SECRET_KEY`); `None` when no key is configured.
    pub sealer: Option<Arc<dyn routes::Sealer>>,
    /// Sends the Routes page's test requests.
    pub tester: Arc<dyn routes::RouteTester>,
    /// The routes of `tollgate.toml`, shown read-only beside the database's.
    pub config_routes: Arc<Vec<tollgate_domain::routing::Route>>,
}

/// The portal state from Leptos context; its absence is a wiring bug, reported as internal.
pub fn portal_state() -> Result<PortalState, crate::error::AppError> {
    leptos::prelude::use_context::<PortalState>().ok_or_else(|| {
        tracing::error!("PortalState missing from the Leptos context");
        crate::error::AppError::Internal
    })
}

/// The principal and the store, which nearly every server function starts with.
pub fn caller() -> Result<(Principal, Arc<dyn Store>), crate::error::AppError> {
    Ok((principal()?, portal_state()?.store))
}

/// Sets the HTTP status of a server function's response from its error, so a wrong password is
/// a 401 and a bad field a 422, not a 500. Every server function returns through this.
pub fn reply<T>(result: Result<T, crate::error::AppError>) -> Result<T, crate::error::AppError> {
    if let Err(e) = &result
        && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(
            http::StatusCode::from_u16(e.status_code())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    result
}
