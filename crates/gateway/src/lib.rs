//! The data plane: auth, routing, providers, failover, streaming relay, usage events, metrics.
//! No Leptos here: the portal and the gateway share only `tollgate-domain` and `tollgate-store`.

pub mod balance;
mod charge;
pub mod error;
mod feed;
mod handlers;
pub mod limits;
pub mod metrics;
pub mod probe;
pub mod providers;
mod proxy;
mod relay;
pub mod routes;
pub mod secrets;
pub mod snapshot;
pub mod spend;
pub mod usage;

pub use handlers::router;
pub use snapshot::{ConfigDeployment, ConfigRoute, config_routes};

use balance::CooldownPolicy;
use snapshot::{Loader, Snapshot};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tollgate_domain::Micros;
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
    /// Rate limits and budgets: Redis or in process.
    pub limits: limits::LimitsConfig,
    /// Completion tokens assumed for a budget reservation when a request sets no `max_tokens`.
    pub default_completion_tokens: u64,
    /// How often budget-window spend is re-read from the database.
    pub spend_refresh_interval: Duration,
    /// For keys and teams that store prompts: the most kept of each request body and of each
    /// answer, in bytes.
    pub store_prompts_max_bytes: usize,
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
            limits: limits::LimitsConfig::default(),
            default_completion_tokens: 1024,
            spend_refresh_interval: Duration::from_secs(1),
            store_prompts_max_bytes: 64 * 1024,
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
    pub limiter: Arc<limits::Limiter>,
    /// Spend of each owner's newest budget window as the database last said: (window, spend).
    /// Only the newest window is kept, so the map stays one entry per owner.
    spend_view: RwLock<HashMap<(limits::Scope, uuid::Uuid), (i64, Micros)>>,
    /// Whether the last read of the database succeeded.
    db_ok: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot build the upstream HTTP client: {0}")]
    Client(String),
    #[error("cannot load keys and routes: {0}")]
    Load(#[from] tollgate_store::Error),
}

/// The HTTP client upstream requests go out on.
pub(crate) fn upstream_client() -> Result<reqwest::Client, StartError> {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        // An API answer is never a redirect to follow (and following one would resend the key).
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| StartError::Client(e.to_string()))
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
        let client = upstream_client()?;
        let loader = Loader::new(
            store.clone(),
            config.instance.clone(),
            secret_key,
            config_routes,
        );
        let first = loader.load().await?;
        let limiter = limits::Limiter::start(config.limits.clone()).await;
        let gw = Arc::new(Gateway {
            limiter,
            spend_view: RwLock::new(HashMap::new()),
            db_ok: AtomicBool::new(true),
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
        tokio::spawn(feed::refresh_spend(Arc::downgrade(&gw)));
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

    /// Whether the database answered the last time this process asked.
    pub fn database_ok(&self) -> bool {
        self.db_ok.load(Ordering::Relaxed)
    }

    pub(crate) fn set_database_ok(&self, ok: bool) {
        if self.db_ok.swap(ok, Ordering::Relaxed) != ok {
            if ok {
                tracing::info!("database reachable again");
            } else {
                tracing::error!(
                    "database unreachable: serving cached keys and routes; spend goes to the spool"
                );
            }
        }
    }

    /// Spend the database has for an owner's budget window.
    pub(crate) fn window_spend(&self, scope: limits::Scope, id: uuid::Uuid, window: i64) -> Micros {
        self.spend_view
            .read()
            .ok()
            .and_then(|v| v.get(&(scope, id)).copied())
            .filter(|(w, _)| *w == window)
            .map_or(Micros::ZERO, |(_, spend)| spend)
    }

    pub(crate) fn merge_spend_view(&self, rows: &[tollgate_store::WindowSpend]) {
        if rows.is_empty() {
            return;
        }
        if let Ok(mut v) = self.spend_view.write() {
            for r in rows {
                let e = v
                    .entry((r.scope, r.id))
                    .or_insert((r.window_start, r.spend));
                if r.window_start >= e.0 {
                    *e = (r.window_start, r.spend);
                }
            }
        }
    }

    /// Raises soft-budget alerts for the counters a spend write moved across a threshold
    /// (exactly one writer sees each crossing: the before/after come from one atomic update).
    pub fn on_spend_written(self: &Arc<Self>, done: &tollgate_store::SpendWrite) {
        let snapshot = self.snapshot();
        for w in &done.windows {
            let Some(soft) = charge::soft_budget(&snapshot, w.scope, w.id) else {
                continue;
            };
            if w.before < soft && w.after >= soft {
                self.metrics.soft_budget_alert(w.scope.as_str());
                tracing::warn!(scope = w.scope.as_str(), id = %w.id, spend = %w.after, soft_budget = %soft, "soft budget reached");
                let entry = tollgate_domain::model::AuditEntry {
                    id: tollgate_domain::AuditId::new(),
                    ts: tollgate_domain::Timestamp::now(),
                    actor_user_id: None,
                    actor_label: "system".to_owned(),
                    action: "budget.soft_limit_reached".to_owned(),
                    object_type: w.scope.as_str().to_owned(),
                    object_id: Some(w.id.to_string()),
                    before: None,
                    after: Some(
                        serde_json::json!({
                            "window_start": w.window_start,
                            "spend_micros": w.after.0,
                            "soft_budget_micros": soft.0,
                        })
                        .to_string(),
                    ),
                };
                let store = self.store.clone();
                tokio::spawn(async move {
                    if let Err(e) = store.insert_audit(&entry).await {
                        tracing::warn!(error = %e, "soft budget alert not written to the audit log");
                    }
                });
            }
        }
    }

    /// Appends the limiter's mode and the spend pipeline's counters to the metrics text.
    pub fn render_pipeline_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let base = format!(
            "instance=\"{}\",pod=\"{}\"",
            metrics::esc(&self.config.instance),
            metrics::esc(&self.config.pod)
        );
        let mode = self.limiter.mode();
        out.push_str("# HELP tollgate_limits_mode Where rate limits and budgets are counted (1 for the current mode).\n# TYPE tollgate_limits_mode gauge\n");
        for m in limits::Mode::ALL {
            let _ = writeln!(
                out,
                "tollgate_limits_mode{{{base},mode=\"{}\"}} {}",
                m.as_str(),
                u8::from(m == mode)
            );
        }
        let _ = writeln!(
            out,
            "# HELP tollgate_redis_errors_total Failed Redis calls of the limiter.\n# TYPE tollgate_redis_errors_total counter\ntollgate_redis_errors_total{{{base}}} {}",
            self.limiter.redis_errors.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP tollgate_database_up Whether the last database read succeeded.\n# TYPE tollgate_database_up gauge\ntollgate_database_up{{{base}}} {}",
            u8::from(self.database_ok())
        );
        let Some(writer) = self.usage.spend_writer() else {
            return;
        };
        let (st, stats) = (writer.status(), &writer.stats);
        let counters = [
            (
                "tollgate_spend_written_total",
                "Spend log rows committed.",
                &stats.written,
            ),
            (
                "tollgate_spend_spooled_total",
                "Spend events written to the local spool while the database failed.",
                &stats.spooled,
            ),
            (
                "tollgate_spend_replayed_total",
                "Spend events replayed from the spool.",
                &stats.replayed,
            ),
            (
                "tollgate_spend_dropped_total",
                "Spend events LOST: the spool was full or unwritable.",
                &stats.dropped,
            ),
            (
                "tollgate_spend_write_errors_total",
                "Failed spend batch writes.",
                &stats.write_errors,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{{base}}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let gauges = [
            (
                "tollgate_spend_queue_events",
                "Spend events waiting in memory.",
                st.queued as i64,
            ),
            (
                "tollgate_spend_spool_bytes",
                "Bytes in the local spend spool.",
                i64::try_from(st.spool_bytes).unwrap_or(i64::MAX),
            ),
            (
                "tollgate_spend_spool_max_bytes",
                "The spool's size bound.",
                i64::try_from(st.spool_max_bytes).unwrap_or(i64::MAX),
            ),
            (
                "tollgate_spend_spool_full",
                "1 when the spool is full and events are being dropped.",
                i64::from(st.spool_full),
            ),
            (
                "tollgate_spend_flush_lag_ms",
                "Age of the oldest event of the last committed batch.",
                stats.last_flush_lag_ms.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{base}}} {v}"
            );
        }
    }

    /// Loads a new snapshot and swaps it in; on failure the old one keeps serving.
    pub async fn reload(&self) {
        match self.loader.load().await {
            Ok(next) => {
                self.set_database_ok(true);
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
                self.set_database_ok(false);
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
