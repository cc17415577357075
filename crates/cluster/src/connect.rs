//! Connecting: a client from the in-cluster ServiceAccount or a kubeconfig (`KUBECONFIG`,
//! `~/.kube/config`), or the cluster view switched off, with the reason the portal shows.

use crate::report::{self, Heartbeat, ReportSettings, TrafficSample};
use crate::watch::Watches;
use crate::{Error, Result};
use std::sync::Arc;
use tollgate_domain::Timestamp;
use tollgate_domain::instances::ClusterReport;

/// `[kubernetes] enabled`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Enabled {
    /// On when a ServiceAccount or kubeconfig is found, off otherwise.
    #[default]
    Auto,
    /// Must connect: start-up fails without a cluster.
    Yes,
    No,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub enabled: Enabled,
    /// Default: the namespace of the ServiceAccount or the kubeconfig context.
    pub namespace: Option<String>,
    pub report: ReportSettings,
}

/// The cluster view: on with running watches, or off with a reason.
#[derive(Clone)]
pub enum Cluster {
    Off { reason: String },
    On(Arc<Watches>),
}

impl Cluster {
    pub fn off(reason: impl Into<String>) -> Cluster {
        Cluster::Off {
            reason: reason.into(),
        }
    }

    /// Connects as the settings say and starts the watches.
    pub async fn connect(settings: &Settings) -> Result<Cluster> {
        if settings.enabled == Enabled::No {
            return Ok(Cluster::off(
                "switched off in the configuration ([kubernetes] enabled = false)",
            ));
        }
        let config = match kube::Config::infer().await {
            Ok(c) => c,
            Err(e) if settings.enabled == Enabled::Auto => {
                return Ok(Cluster::off(format!(
                    "no in-cluster ServiceAccount or kubeconfig was found ({e})"
                )));
            }
            Err(e) => return Err(Error::NoCluster(e.to_string())),
        };
        Ok(Cluster::On(Arc::new(Self::start(config, settings)?)))
    }

    /// Starts the watches with an explicit client configuration.
    pub fn start(config: kube::Config, settings: &Settings) -> Result<Watches> {
        let namespace = settings
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let url = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(|e| Error::NoCluster(e.to_string()))?;
        tracing::info!(%url, %namespace, "Kubernetes: watching the namespace");
        Ok(Watches::start(&client, &namespace))
    }

    /// The report from the caches (or from heartbeats only, when off). `config_revision` is the
    /// database's configuration revision, when it could be read.
    pub fn report(
        &self,
        heartbeats: &[Heartbeat],
        config_revision: Option<i64>,
        traffic: &[TrafficSample],
        settings: &ReportSettings,
        now: Timestamp,
    ) -> ClusterReport {
        match self {
            Cluster::Off { reason } => {
                report::build_off(reason, heartbeats, config_revision, traffic, settings, now)
            }
            Cluster::On(w) => report::build_live(
                w.namespace(),
                &w.objects(),
                &w.access(),
                heartbeats,
                config_revision,
                traffic,
                settings,
                now,
            ),
        }
    }
}
