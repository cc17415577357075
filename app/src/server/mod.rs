//! The portal's server side: state, sessions, passwords, sign-in throttling and CSRF checks.
//! Compiled only with the `ssr` feature; server functions and the `tollgate` binary use it.

pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod csrf;
pub mod passwords;
pub mod principal;
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
}

/// The portal state from Leptos context; its absence is a wiring bug, reported as internal.
pub fn portal_state() -> Result<PortalState, crate::error::AppError> {
    leptos::prelude::use_context::<PortalState>().ok_or_else(|| {
        tracing::error!("PortalState missing from the Leptos context");
        crate::error::AppError::Internal
    })
}
