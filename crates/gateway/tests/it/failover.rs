//! Failures: retries on another deployment, fallback routes, what is never retried,
//! timeouts, and the circuit breaker that skips a failing deployment for a while.
//!
//! Deployment `a` has weight 1 and `b` weight 0: the weighted strategy then always tries `a`
//! first and reaches `b` only once `a` is excluded, so call counts are deterministic.

use crate::harness::{Harness, closed_port_base, dep_ids, openai, openai_at, route};
use crate::stub::Stub;
use serde_json::Value;
use std::time::Duration;
use tollgate_domain::routing::Route;

async fn a_then_b(h: &Harness, a: &Stub, b: &Stub, retries: i64) -> Route {
    h.add(
        route("gpt-4o")
            .retries(retries)
            .deploy(openai(a, "gpt-4o").weight(1))
            .deploy(openai(b, "gpt-4o").weight(0)),
    )
    .await
}

#[tokio::test]
async fn a_500_or_429_is_retried_on_another_deployment() {
    for status in [500, 503, 429] {
        let h = Harness::start().await;
        let a = Stub::with(|x| x.status = status).await;
        let b = Stub::start().await;
        let r = a_then_b(&h, &a, &b, 1).await;
        let key = h.key().await;
        let resp = h
            .chat(
                &key.secret,
                &serde_json::json!({"model": "gpt-4o", "messages": []}),
            )
            .await;
        assert_eq!(resp.status(), 200, "after a {status}");
        assert_eq!(
            resp.headers()["x-tollgate-deployment"].to_str().unwrap(),
            dep_ids(&r)[1]
        );
        assert_eq!((a.calls(), b.calls()), (1, 1), "after a {status}");
        // The spend log keeps both, in order: the one that failed, then the one that answered.
        let events = h.usage.events();
        assert_eq!(events.len(), 1);
        assert_eq!(tried(&events[0]), dep_ids(&r), "after a {status}");
    }
}

/// The deployments an accounted request was sent to, as text.
fn tried(e: &tollgate_gateway::usage::UsageEvent) -> Vec<String> {
    e.tried.iter().map(uuid::Uuid::to_string).collect()
}

#[tokio::test]
async fn a_connect_error_is_retried_on_another_deployment() {
    let h = Harness::start().await;
    let b = Stub::start().await;
    h.add(
        route("gpt-4o")
            .retries(1)
            .deploy(openai_at(&closed_port_base().await, "gpt-4o").weight(1))
            .deploy(openai(&b, "gpt-4o").weight(0)),
    )
    .await;
    let key = h.key().await;
    assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    assert_eq!(b.calls(), 1);
    assert!(
        h.metrics().await.contains(r#"kind="connect"} 1"#),
        "the connect failure is counted"
    );
}

#[tokio::test]
async fn without_retries_the_client_gets_502_listing_what_was_tried() {
    let h = Harness::start().await;
    let a = Stub::with(|x| x.status = 500).await;
    let b = Stub::start().await;
    let r = a_then_b(&h, &a, &b, 0).await;
    let key = h.key().await;
    let (status, body) = h.ask(&key.secret, "gpt-4o").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["tried"], serde_json::json!([dep_ids(&r)[0]]));
    assert_eq!(body["error"]["code"], "upstream_unavailable");
    assert!(
        !body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "a 5xx shows no internals: {body}"
    );
    assert_eq!((a.calls(), b.calls()), (1, 0));
}

#[tokio::test]
async fn when_every_retry_fails_all_deployments_are_listed() {
    let h = Harness::start().await;
    let a = Stub::with(|x| x.status = 500).await;
    let b = Stub::with(|x| x.status = 502).await;
    let r = a_then_b(&h, &a, &b, 3).await;
    let key = h.key().await;
    let (status, body) = h.ask(&key.secret, "gpt-4o").await;
    assert_eq!(status, 502);
    assert_eq!(body["error"]["tried"], serde_json::json!(dep_ids(&r)));
    assert_eq!(
        (a.calls(), b.calls()),
        (1, 1),
        "each deployment once per request"
    );
    // The failed request's log row lists them too.
    let events = h.usage.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].status, 502);
    assert_eq!(tried(&events[0]), dep_ids(&r));
}

#[tokio::test]
async fn a_failing_route_falls_back_to_another_route() {
    let h = Harness::start().await;
    let a = Stub::with(|x| x.status = 500).await;
    let b = Stub::start().await;
    let x = h
        .add(
            route("model-x")
                .fallbacks(&["model-y"])
                .deploy(openai(&a, "x-up")),
        )
        .await;
    let y = h.add(route("model-y").deploy(openai(&b, "y-up"))).await;
    let key = h.key().await;
    let resp = h
        .chat(
            &key.secret,
            &serde_json::json!({"model": "model-x", "messages": []}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["x-tollgate-deployment"].to_str().unwrap(),
        dep_ids(&y)[0]
    );
    assert_eq!((a.calls(), b.calls()), (1, 1));
    assert_eq!(b.last().body["model"], "y-up");

    b.set(|s| s.status = 500);
    let (status, body) = h.ask(&key.secret, "model-x").await;
    assert_eq!(status, 502);
    assert_eq!(
        body["error"]["tried"],
        serde_json::json!([dep_ids(&x)[0], dep_ids(&y)[0]])
    );
}

#[tokio::test]
async fn the_upstreams_own_400_is_passed_through_and_not_retried() {
    let h = Harness::start().await;
    let a = Stub::with(|x| x.status = 400).await;
    let b = Stub::start().await;
    a_then_b(&h, &a, &b, 2).await;
    let key = h.key().await;
    let (status, body) = h.ask(&key.secret, "gpt-4o").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        serde_json::json!({"error": {"message": "stub says no", "type": "invalid_request_error",
            "param": null, "code": "stub_error"}})
    );
    assert_eq!((a.calls(), b.calls()), (1, 0));
}

#[tokio::test]
async fn a_timeout_before_the_first_byte_is_retried_on_another_deployment() {
    let h = Harness::start().await;
    let a = Stub::with(|x| x.delay = Duration::from_secs(3)).await;
    let b = Stub::start().await;
    h.add(
        route("gpt-4o")
            .retries(1)
            .timeout_ms(400)
            .deploy(openai(&a, "gpt-4o").weight(1))
            .deploy(openai(&b, "gpt-4o").weight(0)),
    )
    .await;
    let key = h.key().await;
    let (status, body) = h.ask(&key.secret, "gpt-4o").await;
    assert_eq!(a.calls(), 1);
    assert_eq!(status, 200, "the retry on b should have served: {body}");
    assert_eq!(b.calls(), 1);
}

#[tokio::test]
async fn a_timeout_with_nothing_left_is_a_504() {
    let h = Harness::start().await;
    let a = Stub::with(|x| x.delay = Duration::from_secs(3)).await;
    h.add(route("gpt-4o").timeout_ms(300).deploy(openai(&a, "gpt-4o")))
        .await;
    let key = h.key().await;
    let started = std::time::Instant::now();
    let (status, body) = h.ask(&key.secret, "gpt-4o").await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // A streamed request that gets no first byte in time is a 504 too.
    let r = h
        .chat(
            &key.secret,
            &serde_json::json!({"model": "gpt-4o", "stream": true, "messages": []}),
        )
        .await;
    assert_eq!(r.status(), 504);
}

#[tokio::test]
async fn a_failing_deployment_cools_down_then_gets_one_probe_then_is_used_again() {
    let h = Harness::start().await; // cooldown: 2 failures, open for 500 ms
    let a = Stub::with(|x| x.status = 500).await;
    let b = Stub::start().await;
    let r = a_then_b(&h, &a, &b, 1).await;
    let key = h.key().await;

    for _ in 0..2 {
        assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    }
    assert_eq!(a.calls(), 2);
    let a_id = &dep_ids(&r)[0];
    let circuit = format!(r#"deployment="{a_id}",route="gpt-4o"}} "#);
    assert!(h.metrics().await.contains(&format!("{circuit}2")), "open");

    for _ in 0..5 {
        assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    }
    assert_eq!(a.calls(), 2, "an open circuit is skipped");
    assert_eq!(b.calls(), 7);

    tokio::time::sleep(Duration::from_millis(600)).await;
    a.set(|x| x.status = 200);
    assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    assert_eq!(a.calls(), 3, "one probe after `open_for`");
    assert!(
        h.metrics().await.contains(&format!("{circuit}0")),
        "closed again"
    );
    for _ in 0..3 {
        assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    }
    assert_eq!(a.calls(), 6, "used again after a good probe");
    assert_eq!(b.calls(), 7);
}

#[tokio::test]
async fn a_failed_probe_opens_the_circuit_again() {
    let h = Harness::start().await;
    let a = Stub::with(|x| x.status = 500).await;
    let b = Stub::start().await;
    a_then_b(&h, &a, &b, 1).await;
    let key = h.key().await;
    for _ in 0..2 {
        h.ask(&key.secret, "gpt-4o").await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    assert_eq!(a.calls(), 3, "the probe");
    for _ in 0..3 {
        assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    }
    assert_eq!(a.calls(), 3, "open again after one failed probe");
}

#[tokio::test]
async fn with_every_deployment_cooling_down_the_answer_is_503_without_a_call() {
    let h = Harness::start().await;
    let a = Stub::with(|x| x.status = 500).await;
    h.add(route("gpt-4o").deploy(openai(&a, "gpt-4o"))).await;
    let key = h.key().await;
    for _ in 0..2 {
        assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 502);
    }
    let (status, body) = h.ask(&key.secret, "gpt-4o").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["tried"], Value::Array(vec![]));
    assert_eq!(a.calls(), 2);
}

#[tokio::test]
async fn a_probe_abandoned_by_its_client_does_not_stall_the_deployment_forever() {
    let h = Harness::start().await;
    let a = Stub::with(|x| x.status = 500).await;
    let b = Stub::start().await;
    a_then_b(&h, &a, &b, 1).await;
    let key = h.key().await;
    for _ in 0..2 {
        h.ask(&key.secret, "gpt-4o").await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;

    // The probe: `a` is healthy but slow, and the client gives up before it answers.
    a.set(|x| {
        x.status = 200;
        x.delay = Duration::from_millis(800);
    });
    let gave_up = h
        .http
        .post(h.url("/v1/chat/completions"))
        .bearer_auth(&key.secret)
        .timeout(Duration::from_millis(200))
        .json(&serde_json::json!({"model": "gpt-4o", "messages": []}))
        .send()
        .await;
    assert!(gave_up.is_err());
    assert_eq!(a.calls(), 3, "the abandoned request was the probe");
    a.set(|x| x.delay = Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1200)).await;

    for _ in 0..5 {
        assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    }
    assert!(
        a.calls() > 3,
        "deployment `a` is healthy but never tried again: its half-open probe slot was never given back"
    );
}

#[tokio::test]
async fn a_final_429_stays_a_429_and_a_refused_upstream_credential_is_a_502() {
    let h = Harness::start().await;
    let limited = Stub::with(|x| x.status = 429).await;
    let refused = Stub::with(|x| x.status = 401).await;
    let b = Stub::start().await;
    h.add(route("limited").deploy(openai(&limited, "gpt-4o")))
        .await;
    h.add(
        route("refused")
            .retries(1)
            .deploy(openai(&refused, "gpt-4o").weight(1))
            .deploy(openai(&b, "gpt-4o").weight(0)),
    )
    .await;
    h.add(route("refused-only").deploy(openai(&refused, "gpt-4o")))
        .await;
    let key = h.key().await;

    // Clients back off on a 429; a 502 would make the OpenAI SDK treat it as a server fault.
    let (status, body) = h.ask(&key.secret, "limited").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "upstream_rate_limited");

    // The caller's key is fine: the deployment's own credential was refused. Another
    // deployment is tried, and alone it is a 502, never the caller's 401.
    assert_eq!(h.ask(&key.secret, "refused").await.0, 200);
    assert_eq!(b.calls(), 1);
    let (status, body) = h.ask(&key.secret, "refused-only").await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("credential"),
        "{body}"
    );
}
