//! The data plane: auth, routing, providers, failover, streaming relay, usage events, metrics.
//! No Leptos here: the portal and the gateway share only `tollgate-domain` and `tollgate-store`.

pub mod balance;
pub mod error;
mod feed;
mod handlers;
pub mod metrics;
pub mod providers;
mod proxy;
mod relay;
pub mod routes;
pub mod secrets;
pub mod snapshot;
pub mod usage;

pub use handlers::router;
pub use snapshot::{ConfigDeployment, ConfigRoute};

use balance::CooldownPolicy;
use snapshot::{Loader, Snapshot};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tollgate_store::Store;
use usage::UsageSink;

/// How a gateway process behaves.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    pub instance: String,
    pub pod: String,
    /// Largest request body accepted (default 32 MiB).
    pub max_body_bytes: usize,
    /// Whole-request timeout when a route sets none.
    pub default_timeout: Duration,
    /// Longest silence between stream chunks when a route sets none.
    pub default_stream_idle_timeout: Duration,
    pub cooldown: CooldownPolicy,
    /// How often the configuration revision is polled besides the change feed.
    pub poll_interval: Duration,
}

impl GatewayConfig {
    pub fn new(instance: String, pod: String) -> GatewayConfig {
        GatewayConfig {
            instance,
            pod,
            max_body_bytes: 32 * 1024 * 1024,
            default_timeout: Duration::from_secs(600),
            default_stream_idle_timeout: Duration::from_secs(120),
            cooldown: CooldownPolicy::default(),
            poll_interval: Duration::from_secs(3),
        }
    }
}

/// One gateway process: its configuration, the current snapshot, the upstream client, the sinks.
pub struct Gateway {
    pub config: GatewayConfig,
    pub store: Arc<dyn Store>,
    loader: Loader,
    snapshot: RwLock<Arc<Snapshot>>,
    applied_revision: AtomicI64,
    client: reqwest::Client,
    pub usage: Arc<dyn UsageSink>,
    pub metrics: metrics::Metrics,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the upstream HTTP client: {0}")]
    Client(String),
    #[error("cannot load keys and routes: {0}")]
    Load(#[from] tollgate_store::Error),
}

impl Gateway {
    /// Builds the gateway, loads the first snapshot, and starts the change-feed task.
    pub async fn start(
        config: GatewayConfig,
        store: Arc<dyn Store>,
        secret_key: Option<secrets::SecretKey>,
        config_routes: &[ConfigRoute],
        usage: Arc<dyn UsageSink>,
    ) -> Result<Arc<Gateway>, StartError> {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            // An API answer is never a redirect to follow (and following one would resend the key).
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| StartError::Client(e.to_string()))?;
        let loader = Loader::new(
            store.clone(),
            config.instance.clone(),
            secret_key,
            config_routes,
        );
        let first = loader.load().await?;
        let gw = Arc::new(Gateway {
            applied_revision: AtomicI64::new(first.revision),
            snapshot: RwLock::new(Arc::new(first)),
            config,
            store,
            loader,
            client,
            usage,
            metrics: metrics::Metrics::default(),
        });
        tokio::spawn(feed::run(gw.clone()));
        Ok(gw)
    }

    /// The current snapshot: one read-lock and a pointer copy per request.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The configuration revision this process has applied (reported in its heartbeat).
    pub fn applied_revision(&self) -> i64 {
        self.applied_revision.load(Ordering::Relaxed)
    }

    pub fn in_flight(&self) -> i64 {
        self.metrics.in_flight()
    }

    /// Loads a new snapshot and swaps it in; on failure the old one keeps serving.
    pub async fn reload(&self) {
        match self.loader.load().await {
            Ok(next) => {
                let revision = next.revision;
                let Ok(mut current) = self.snapshot.write() else {
                    return;
                };
                // Two reloads can overlap (the feed's and an explicit one): an older result
                // must never replace a newer one.
                if revision < current.revision {
                    return;
                }
                *current = Arc::new(next);
                self.applied_revision.store(revision, Ordering::Relaxed);
                tracing::debug!(revision, "configuration reloaded");
            }
            Err(e) => {
                tracing::warn!(error = %e, "reload failed; serving the previous configuration")
            }
        }
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub(crate) fn deployment_states(
        &self,
    ) -> Vec<(tollgate_domain::DeploymentId, Arc<balance::DeploymentState>)> {
        self.loader.states()
    }
}
