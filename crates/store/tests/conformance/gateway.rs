//! The configuration revision and gateway heartbeats.

use crate::harness::{T0, both};
use std::sync::Arc;
use tollgate_domain::Timestamp;
use tollgate_store::{GatewayNode, Store};

async fn revision_bumps_are_monotonic(store: Arc<dyn Store>) {
    assert_eq!(store.config_revision().await.unwrap(), 0);
    assert_eq!(store.bump_config_revision().await.unwrap(), 1);
    assert_eq!(store.bump_config_revision().await.unwrap(), 2);
    assert_eq!(store.config_revision().await.unwrap(), 2);
}

async fn concurrent_bumps_lose_nothing(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.bump_config_revision().await.unwrap() })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<i64>>(),
        "every bump returns its own new value"
    );
    assert_eq!(store.config_revision().await.unwrap(), 20);
}

fn node(instance: &str, pod: &str, revision: i64, seen_ms: i64) -> GatewayNode {
    GatewayNode {
        instance: instance.to_owned(),
        pod: pod.to_owned(),
        version: "0.1.0".to_owned(),
        config_revision: revision,
        started_at: T0,
        last_seen: Timestamp(T0.0 + seen_ms),
        in_flight: 3,
    }
}

async fn heartbeat_upsert_replaces(store: Arc<dyn Store>) {
    assert!(store.list_gateway_nodes().await.unwrap().is_empty());
    let claude_b = node("claude", "claude-7d9f-b", 4, 0);
    let claude_a = node("claude", "claude-7d9f-a", 4, 0);
    let openai = node("openai-eu", "openai-eu-1", 4, 0);
    for n in [&openai, &claude_b, &claude_a] {
        store.upsert_gateway_node(n).await.unwrap();
    }
    assert_eq!(
        store.list_gateway_nodes().await.unwrap(),
        [claude_a.clone(), claude_b.clone(), openai.clone()]
    );

    let newer = GatewayNode {
        version: "0.2.0".to_owned(),
        started_at: Timestamp(T0.0 + 5),
        in_flight: 0,
        ..node("claude", "claude-7d9f-b", 5, 10_000)
    };
    store.upsert_gateway_node(&newer).await.unwrap();
    let nodes = store.list_gateway_nodes().await.unwrap();
    assert_eq!(nodes, [claude_a, newer, openai]);
}

both!(
    revision_bumps_are_monotonic,
    concurrent_bumps_lose_nothing,
    heartbeat_upsert_replaces
);
