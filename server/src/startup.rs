//! Start-up: listen first (so health checks answer at once), then connect to the database with
//! backoff, migrate, create the first admin, and switch the full application in.

use crate::config::{Config, redact_url};
use crate::web::{self, Health};
use crate::{heartbeat, retention};
use anyhow::Context as _;
use secrecy::ExposeSecret;
use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tollgate_app::server::bootstrap::{self, Bootstrap};
use tollgate_app::server::instances::ClusterView;
use tollgate_gateway::Gateway;
use tollgate_gateway::secrets::SecretKey;
use tollgate_gateway::spend::SpendWriter;
use tollgate_gateway::usage::UsageSink;
use tollgate_store::{ConnectOptions, Store};

/// Which parts a process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    pub portal: bool,
    pub gateway: bool,
}

impl Mode {
    pub const SERVE: Mode = Mode {
        portal: true,
        gateway: true,
    };
    pub const GATEWAY: Mode = Mode {
        portal: false,
        gateway: true,
    };
    pub const PORTAL: Mode = Mode {
        portal: true,
        gateway: false,
    };
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The spend writer of a process, once it has one: kept by the caller so it can spool what
/// the runtime's last tasks account for after [`serve`] returns (see `cli::run`).
pub type WriterSlot = Arc<std::sync::OnceLock<Arc<SpendWriter>>>;

pub async fn serve(config: Config, mode: Mode, writer: WriterSlot) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    // Small SSE chunks must leave at once: no Nagle delay on any accepted socket.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let health = Health::starting("connecting to the database");
    let (switch, app) = web::Switch::new();
    let outer = web::outer_router(health.clone(), app);
    let (signalled_tx, mut signalled) = tokio::sync::watch::channel(false);
    let server = axum::serve(
        listener,
        outer.into_make_service_with_connect_info::<SocketAddr>(),
    )
    // On SIGTERM: stop accepting, let in-flight requests and streams finish.
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = signalled_tx.send(true);
    })
    .into_future();
    let grace = Duration::from_secs(config.spend.shutdown_grace_secs);
    let what = match (mode.portal, mode.gateway) {
        (true, true) => "portal, admin API and gateway",
        (true, false) => "portal and admin API",
        _ => "gateway",
    };
    tracing::info!(%addr, "Tollgate {} ({what}) listening", env!("CARGO_PKG_VERSION"));
    if mode.portal {
        println!("Tollgate is running at http://{addr}");
    }

    let setup = async {
        let store = connect_with_retry(&config, &health).await;
        store.migrate().await.context("database migration failed")?;
        if mode.portal {
            bootstrap_admin(&config, store.as_ref()).await?;
        }
        let gateway = if mode.gateway {
            let spend = SpendWriter::start(store.clone(), config.spend_config())
                .context("cannot open the spend spool")?;
            let _ = writer.set(spend.clone());
            Some(start_gateway(&config, store.clone(), spend).await?)
        } else {
            None
        };
        let cluster = if mode.portal {
            connect_cluster(&config).await?
        } else {
            tollgate_cluster::Cluster::off("this process runs the gateway only")
        };
        let cluster = ClusterView::new(cluster, config.cluster_settings().report);
        let router = web::app_router(&config, store.clone(), mode, gateway.clone(), cluster)?;
        switch.set(router);
        health.set_running(store.clone(), gateway.clone());
        tracing::info!(backend = store.backend().as_str(), instance = %config.instance, "ready");
        if mode.portal && config.spend.retention_days > 0 {
            tokio::spawn(retention::run(store.clone(), config.spend.retention_days));
        }
        if let Some(gw) = gateway {
            tokio::spawn(heartbeat::run(store, gw));
        }
        anyhow::Ok(())
    };
    tokio::pin!(server);
    let served = async {
        tokio::select! {
            served = &mut server => served.context("HTTP server failed"),
            () = async {
                let _ = signalled.wait_for(|s| *s).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "grace period over: closing the connections still open");
                Ok(())
            }
        }
    };
    tokio::pin!(served);
    let result = tokio::select! {
        r = &mut served => r,
        done = setup => match done {
            Ok(()) => served.await,
            Err(e) => Err(e),
        },
    };
    // Every usage event of the requests served is written (or spooled) before the exit.
    if let Some(w) = writer.get() {
        w.close().await;
        tracing::info!("spend events flushed");
    }
    result
}

async fn start_gateway(
    config: &Config,
    store: Arc<dyn Store>,
    spend: Arc<SpendWriter>,
) -> anyhow::Result<Arc<Gateway>> {
    let secret_key = config
        .secret_key
        .as_ref()
        .map(|k| SecretKey::parse(k.expose_secret()))
        .transpose()
        .context("secret_key")?;
    let usage: Arc<dyn UsageSink> = spend.clone();
    let gw = Gateway::start(
        config.gateway_config(heartbeat::pod_name()),
        store,
        secret_key,
        &config.routes,
        usage,
    )
    .await
    .context("cannot start the gateway")?;
    let hook = Arc::downgrade(&gw);
    spend.set_on_written(Box::new(move |done| {
        if let Some(gw) = hook.upgrade() {
            gw.on_spend_written(done);
        }
    }));
    Ok(gw)
}

/// The portal's cluster view: watches when a ServiceAccount or kubeconfig is found (or required),
/// else off with the reason the instances pages show.
async fn connect_cluster(config: &Config) -> anyhow::Result<tollgate_cluster::Cluster> {
    let cluster = tollgate_cluster::Cluster::connect(&config.cluster_settings())
        .await
        .context("[kubernetes] enabled = true, but")?;
    match &cluster {
        tollgate_cluster::Cluster::Off { reason } => {
            tracing::info!("Kubernetes view off: {reason}")
        }
        tollgate_cluster::Cluster::On(w) => {
            tracing::info!(namespace = w.namespace(), "Kubernetes view on")
        }
    }
    Ok(cluster)
}

/// `tollgate migrate`: a few attempts, then give up with the reason.
pub async fn migrate_only(config: &Config) -> anyhow::Result<()> {
    let url = config.database_url();
    let mut last = None;
    for attempt in 1..=5u32 {
        match tollgate_store::connect(&url, &connect_options(config)).await {
            Ok(store) => {
                store.migrate().await.context("migration failed")?;
                let r = store.readiness().await?;
                println!(
                    "{}: {} of {} migrations applied",
                    redact_url(&url),
                    r.migrations_applied,
                    r.migrations_expected
                );
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(attempt, "database {} unreachable: {e}", redact_url(&url));
                last = Some(e);
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
        }
    }
    Err(anyhow::anyhow!(
        "database {} unreachable after 5 attempts: {}",
        redact_url(&url),
        last.map(|e| e.to_string()).unwrap_or_default()
    ))
}

pub fn connect_options(config: &Config) -> ConnectOptions {
    ConnectOptions {
        max_connections: config.database.max_connections,
        acquire_timeout: Duration::from_secs(config.database.acquire_timeout_secs),
    }
}

/// Retries until the database answers, doubling the wait up to 30 s; readiness says why it waits.
async fn connect_with_retry(config: &Config, health: &Health) -> Arc<dyn Store> {
    let url = config.database_url();
    let mut delay = Duration::from_secs(1);
    let mut attempt = 1u32;
    loop {
        match tollgate_store::connect(&url, &connect_options(config)).await {
            Ok(store) => return store,
            Err(e) => {
                let detail = format!(
                    "database {} unreachable ({e}); attempt {attempt}, retrying in {} s",
                    redact_url(&url),
                    delay.as_secs()
                );
                tracing::warn!("{detail}");
                health.set_starting(detail);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_BACKOFF);
                attempt = attempt.saturating_add(1);
            }
        }
    }
}

async fn bootstrap_admin(config: &Config, store: &dyn Store) -> anyhow::Result<()> {
    let outcome = bootstrap::ensure_admin(
        store,
        config.admin_email.as_deref(),
        config.admin_password.as_ref(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot create the first admin: {e}"))?;
    match outcome {
        Bootstrap::NotNeeded => {}
        Bootstrap::FromConfig { email } => {
            tracing::info!(%email, "Bootstrap admin created from configuration")
        }
        Bootstrap::OneTime { email, password } => tracing::warn!(
            "Bootstrap admin created: {email}, one-time password: {} (change it at first sign-in; it is not shown again)",
            password.expose_secret()
        ),
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
