//! How a route spreads requests over its deployments: by weight, to the least busy, to the
//! fastest.

use crate::harness::{Harness, eventually, openai, route};
use crate::stub::Stub;
use futures_util::StreamExt as _;
use std::time::Duration;
use tollgate_domain::routing::Strategy;

#[tokio::test]
async fn weighted_three_to_one() {
    let h = Harness::start().await;
    let (a, b) = (Stub::start().await, Stub::start().await);
    h.add(
        route("gpt-4o")
            .deploy(openai(&a, "gpt-4o").weight(3))
            .deploy(openai(&b, "gpt-4o").weight(1)),
    )
    .await;
    let key = h.key().await;
    let statuses: Vec<u16> = futures_util::stream::iter(0..400)
        .map(|_| async { h.ask(&key.secret, "gpt-4o").await.0 })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200));
    assert_eq!(a.calls() + b.calls(), 400);
    // A's count is Binomial(400, 0.75): mean 300, sd sqrt(400 * 0.75 * 0.25) = 8.7. A band of
    // +-45 is over 5 sd (a false failure about once in 10 million runs), and still far from
    // 200 (even split) or 400 (everything on one).
    assert!((255..=345).contains(&a.calls()), "a: {}", a.calls());
}

#[tokio::test]
async fn least_busy_avoids_the_deployment_with_requests_in_flight() {
    let h = Harness::start().await;
    let slow = Stub::with(|b| b.delay = Duration::from_millis(1500)).await;
    let fast = Stub::start().await;
    h.add(
        route("gpt-4o")
            .strategy(Strategy::LeastBusy)
            .deploy(openai(&slow, "gpt-4o"))
            .deploy(openai(&fast, "gpt-4o")),
    )
    .await;
    let key = h.key().await;

    // Both idle: each request goes either way; keep sending until one is stuck on `slow`.
    let mut pending = Vec::new();
    while slow.calls() == 0 {
        let (base, secret, http) = (
            h.url("/v1/chat/completions"),
            key.secret.clone(),
            h.http.clone(),
        );
        pending.push(tokio::spawn(async move {
            http.post(base)
                .bearer_auth(secret)
                .json(&serde_json::json!({"model": "gpt-4o", "messages": []}))
                .send()
                .await
                .unwrap()
                .status()
        }));
        let sent = pending.len();
        assert!(
            eventually(Duration::from_secs(1), || slow.calls() + fast.calls()
                == sent)
            .await
        );
        assert!(sent < 30, "least-busy never picked the slow deployment");
    }
    assert_eq!(slow.in_flight(), 1);
    let fast_before = fast.calls();
    for _ in 0..10 {
        assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    }
    assert_eq!(
        slow.calls(),
        1,
        "a busy deployment got traffic while another was idle"
    );
    assert_eq!(fast.calls(), fast_before + 10);
    for p in pending {
        assert_eq!(p.await.unwrap(), 200);
    }
}

#[tokio::test]
async fn lowest_latency_prefers_the_faster_deployment_after_warm_up() {
    let h = Harness::start().await;
    let slow = Stub::with(|b| b.delay = Duration::from_millis(150)).await;
    let fast = Stub::start().await;
    h.add(
        route("gpt-4o")
            .strategy(Strategy::LowestLatency)
            .deploy(openai(&slow, "gpt-4o"))
            .deploy(openai(&fast, "gpt-4o")),
    )
    .await;
    let key = h.key().await;
    // A deployment without a sample is tried first, so two requests measure both.
    for _ in 0..2 {
        assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    }
    assert_eq!(
        (slow.calls(), fast.calls()),
        (1, 1),
        "warm-up explores both"
    );
    for _ in 0..20 {
        assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    }
    assert_eq!(
        slow.calls(),
        1,
        "the slow deployment got traffic after warm-up"
    );
    assert_eq!(fast.calls(), 21);
}
