//! The Leptos portal: server-rendered pages, server functions under `/rpc/`, static files.

use crate::config::Config;
use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use tollgate_app::server::routes::RouteTester;
use tollgate_app::server::{Auth, AuthConfig, PortalState};
use tollgate_app::{App, shell};
use tollgate_domain::routing::{Route, RouteTest};
use tollgate_gateway::probe::Prober;
use tollgate_gateway::secrets::SecretKey;
use tollgate_store::Store;

/// The wasm bundle and stylesheet are named after this (`/pkg/tollgate.wasm`, `.js`, `.css`).
pub const OUTPUT_NAME: &str = "tollgate";

pub fn state(
    config: &Config,
    store: Arc<dyn Store>,
    cluster: Arc<tollgate_app::server::instances::ClusterView>,
) -> Result<PortalState, tollgate_gateway::StartError> {
    let auth = Auth::new(
        store.clone(),
        AuthConfig {
            session_ttl: Duration::from_secs(config.auth.session_ttl_hours * 3600),
            cookie_security: config.auth.cookie_security,
            master_key: config.master_key.clone(),
        },
    );
    let secret_key = config
        .secret_key
        .as_ref()
        .and_then(|k| SecretKey::parse(k.expose_secret()).ok());
    let sealer = secret_key
        .clone()
        .map(|k| Arc::new(Sealer(k)) as Arc<dyn tollgate_app::server::routes::Sealer>);
    let (config_routes, config_refs) =
        tollgate_gateway::config_routes(&config.routes, tollgate_domain::Timestamp::now());
    let tester = Tester {
        prober: Prober::new(store.clone(), secret_key, config_refs)?,
        instance: config.instance.clone(),
    };
    Ok(PortalState {
        store,
        auth: Arc::new(auth),
        cluster,
        sealer,
        tester: Arc::new(tester),
        config_routes: Arc::new(config_routes),
    })
}

/// The gateway's prober, sending a global route's tests as this process's instance.
struct Tester {
    prober: Prober,
    instance: String,
}

impl RouteTester for Tester {
    fn test<'a>(
        &'a self,
        routes: Vec<Route>,
        tested: &'a Route,
        model: &'a str,
    ) -> futures_util::future::BoxFuture<'a, RouteTest> {
        let instance = tested.instance.as_deref().unwrap_or(&self.instance);
        Box::pin(self.prober.test(routes, tested, model, instance))
    }
}

/// The gateway's AES-GCM key, sealing the secrets the portal stores.
struct Sealer(SecretKey);

impl tollgate_app::server::routes::Sealer for Sealer {
    fn seal(&self, secret: &str) -> tollgate_store::CredentialSecret {
        self.0.seal(secret)
    }
}

/// A server function whose arguments could not be read never runs, so nothing set its status:
/// leptos answers 500. The body is the encoded `AppError` (`the form was incomplete`, ...):
/// answer with that error's own status instead (400 here), so bad input is not a server fault.
/// Only server functions' error answers (marked with leptos's `serverfnerror` header) are read.
async fn with_error_status(res: axum::response::Response) -> axum::response::Response {
    if res.status() != http::StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key("serverfnerror")
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    if let Ok(e) = serde_json::from_slice::<tollgate_app::error::AppError>(&bytes)
        && let Ok(status) = http::StatusCode::from_u16(e.status_code())
    {
        parts.status = status;
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
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
        // `leptos_routes_with_context` serves each server function at its own path, ahead of
        // `/rpc/{*name}` (which answers names that do not exist): the status is mended here.
        .layer(axum::middleware::map_response(with_error_status))
        .with_state(options)
}
