//! Each gateway process writes a heartbeat row every 5 s: instance, pod, version, the config
//! revision it has applied, and requests in flight. The portal and the instances page read them.

use std::sync::Arc;
use std::time::Duration;
use tollgate_domain::Timestamp;
use tollgate_gateway::Gateway;
use tollgate_store::{GatewayNode, Store};

pub const INTERVAL: Duration = Duration::from_secs(5);

/// The pod name: `POD_NAME` (set from the Downward API), else the host name.
pub fn pod_name() -> String {
    std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Writes heartbeats until the task is dropped. A failed write is logged and retried next tick.
pub async fn run(store: Arc<dyn Store>, gateway: Arc<Gateway>) {
    let started_at = Timestamp::now();
    let mut tick = tokio::time::interval(INTERVAL);
    loop {
        tick.tick().await;
        let node = GatewayNode {
            instance: gateway.config.instance.clone(),
            pod: gateway.config.pod.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            config_revision: gateway.applied_revision(),
            started_at,
            last_seen: Timestamp::now(),
            in_flight: gateway.in_flight(),
        };
        if let Err(e) = store.upsert_gateway_node(&node).await {
            tracing::warn!(error = %e, "heartbeat write failed");
        }
    }
}
