//! The Leptos portal: server-rendered pages, server functions under `/rpc/`, static files.

use crate::config::Config;
use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use std::sync::Arc;
use std::time::Duration;
use tollgate_app::server::{Auth, AuthConfig, PortalState};
use tollgate_app::{App, shell};
use tollgate_store::Store;

/// The wasm bundle and stylesheet are named after this (`/pkg/tollgate.wasm`, `.js`, `.css`).
pub const OUTPUT_NAME: &str = "tollgate";

pub fn state(
    config: &Config,
    store: Arc<dyn Store>,
    cluster: Arc<tollgate_app::server::instances::ClusterView>,
) -> PortalState {
    let auth = Auth::new(
        store.clone(),
        AuthConfig {
            session_ttl: Duration::from_secs(config.auth.session_ttl_hours * 3600),
            cookie_security: config.auth.cookie_security,
            master_key: config.master_key.clone(),
        },
    );
    PortalState {
        store,
        auth: Arc::new(auth),
        cluster,
    }
}

pub fn router(config: &Config, state: PortalState) -> Router {
    let options = leptos::config::LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .env(leptos::config::Env::PROD)
        .site_addr(config.listen)
        .build();
    let routes = generate_route_list(App);
    let page_state = state.clone();
    let rpc = move |req: Request| {
        let state = state.clone();
        async move { handle_server_fns_with_context(move || provide_context(state.clone()), req).await }
    };
    let shell_options = options.clone();
    Router::new()
        .route("/rpc/{*name}", any(rpc))
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(page_state.clone()),
            move || shell(shell_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
}
