//! The cluster view the instances pages and `/api/v1/instances` read: the watches' caches (or
//! nothing, when Kubernetes is off) joined with the heartbeats in the database.

use std::sync::Arc;
use tollgate_cluster::{Cluster, ClusterReport, Heartbeat, ReportSettings, TrafficSample};
use tollgate_store::Store;

pub struct ClusterView {
    pub cluster: Cluster,
    pub settings: ReportSettings,
}

impl ClusterView {
    pub fn new(cluster: Cluster, settings: ReportSettings) -> Arc<ClusterView> {
        Arc::new(ClusterView { cluster, settings })
    }

    /// The report now. Reads the heartbeat table once; never calls the Kubernetes API.
    pub async fn report(&self, store: &dyn Store) -> Result<ClusterReport, tollgate_store::Error> {
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
        // Traffic evidence needs spend logs grouped by (instance, pod) for the last hour; the
        // store has no such query yet (the spend pipeline issue), so none is passed.
        let traffic: Vec<TrafficSample> = Vec::new();
        Ok(self.cluster.report(
            &heartbeats,
            &traffic,
            &self.settings,
            tollgate_domain::Timestamp::now(),
        ))
    }
}
