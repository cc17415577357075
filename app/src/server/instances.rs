//! The cluster view the instances pages and `/api/v1/instances` read: the watches' caches (or
//! nothing, when Kubernetes is off) joined with the heartbeats in the database.

use std::sync::Arc;
use tollgate_cluster::{Cluster, ClusterReport, Heartbeat, ReportSettings, TrafficSample};
use tollgate_store::{PodTraffic, Store};

pub struct ClusterView {
    pub cluster: Cluster,
    pub settings: ReportSettings,
    /// The last hour's requests per (instance, pod, model) from the spend log, read at most once a
    /// minute (the pages poll every few seconds; the log can be large).
    traffic: tokio::sync::Mutex<Option<(std::time::Instant, Vec<PodTraffic>)>>,
}

const TRAFFIC_WINDOW_MS: i64 = 3_600_000;
const TRAFFIC_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl ClusterView {
    pub fn new(cluster: Cluster, settings: ReportSettings) -> Arc<ClusterView> {
        Arc::new(ClusterView {
            cluster,
            settings,
            traffic: tokio::sync::Mutex::new(None),
        })
    }

    /// Requests and spend per (instance, pod) over the last hour: the traffic evidence of the
    /// diagnoses and the instance page's table. An unreadable log gives none (and a warning).
    pub async fn traffic(&self, store: &dyn Store) -> Vec<PodTraffic> {
        let mut cached = self.traffic.lock().await;
        if let Some((at, samples)) = cached.as_ref()
            && at.elapsed() < TRAFFIC_TTL
        {
            return samples.clone();
        }
        let since =
            tollgate_domain::Timestamp(tollgate_domain::Timestamp::now().0 - TRAFFIC_WINDOW_MS);
        match store.pod_traffic(since).await {
            Ok(rows) => {
                *cached = Some((std::time::Instant::now(), rows.clone()));
                rows
            }
            Err(e) => {
                tracing::warn!(error = %e, "traffic per pod unavailable");
                Vec::new()
            }
        }
    }

    /// The report now. Reads the heartbeat table and the configuration revision once; never
    /// calls the Kubernetes API.
    pub async fn report(&self, store: &dyn Store) -> Result<ClusterReport, tollgate_store::Error> {
        // Read before the heartbeats, so a change made in between shows as a heartbeat ahead
        // of it (which the diagnosis allows) rather than as every process behind.
        let config_revision = match store.config_revision().await {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "configuration revision unavailable");
                None
            }
        };
        let heartbeats: Vec<Heartbeat> = store
            .list_gateway_nodes()
            .await?
            .into_iter()
            .map(|n| Heartbeat {
                instance: n.instance,
                pod: n.pod,
                version: n.version,
                config_revision: n.config_revision,
                in_flight: n.in_flight,
                last_seen: n.last_seen,
            })
            .collect();
        let traffic: Vec<TrafficSample> = self
            .traffic(store)
            .await
            .into_iter()
            .map(|r| TrafficSample {
                instance: r.instance,
                pod: r.pod,
                model: r.model,
                requests: u64::try_from(r.requests).unwrap_or(0),
                misdirected: u64::try_from(r.misdirected).unwrap_or(0),
            })
            .collect();
        Ok(self.cluster.report(
            &heartbeats,
            config_revision,
            &traffic,
            &self.settings,
            tollgate_domain::Timestamp::now(),
        ))
    }
}
