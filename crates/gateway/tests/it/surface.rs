//! `GET /v1/models`, `GET /metrics`, and configuration changes reaching a running gateway.

use crate::harness::{Harness, eventually, new_key, openai, route, test_config};
use crate::stub::Stub;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tollgate_domain::Timestamp;

#[tokio::test]
async fn models_lists_only_what_the_key_may_use_on_this_instance() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    for name in ["gpt-4o", "gpt-4o-mini", "claude-sonnet"] {
        h.add(route(name).deploy(openai(&stub, name))).await;
    }
    h.add(route("fast").alias_of("gpt-4o")).await;
    h.add(route("eu-model").instance("eu").deploy(openai(&stub, "m")))
        .await;

    let list = |key: String| {
        let http = h.http.clone();
        let url = h.url("/v1/models");
        async move {
            let r = http.get(url).bearer_auth(key).send().await.unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            let ids: Vec<String> = v["data"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .map(|m| m["id"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (status, v["object"].clone(), ids)
        }
    };

    let all = h.key().await;
    let (status, object, ids) = list(all.secret).await;
    assert_eq!(status, 200);
    assert_eq!(object, "list");
    assert_eq!(ids, ["claude-sonnet", "fast", "gpt-4o", "gpt-4o-mini"]);

    let narrow = h
        .key_with(|k| k.allowed_models = Some(vec!["gpt-4o".into(), "claude-*".into()]))
        .await;
    let (_, _, ids) = list(narrow.secret).await;
    assert_eq!(ids, ["claude-sonnet", "gpt-4o"]);

    let (status, _, _) = list("sk-tg-unknown".into()).await;
    assert_eq!(status, 401);
}

/// The value of the sample whose line starts with `name{` and contains every label.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_show_in_flight() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key().await;
    for _ in 0..3 {
        assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);
    }
    assert_eq!(h.ask(&key.secret, "nope").await.0, 404);

    let text = h.metrics().await;
    assert_eq!(
        sample(
            &text,
            "tollgate_requests_total",
            &[r#"route="gpt-4o""#, r#"status="200""#]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "tollgate_requests_total",
            // Refusals are labelled `-`, never with the model name a client made up.
            &[r#"route="-""#, r#"status="404""#]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "tollgate_tokens_total",
            &[r#"route="gpt-4o""#, r#"direction="prompt""#]
        ),
        Some(33.0)
    );
    assert_eq!(
        sample(
            &text,
            "tollgate_in_flight_requests",
            &[r#"instance="default""#, r#"pod="pod-1""#]
        ),
        Some(0.0),
        "{text}"
    );

    // While a slow request is being served, the gauge shows it.
    stub.set(|b| b.delay = Duration::from_millis(800));
    let slow = {
        let (http, url, secret) = (
            h.http.clone(),
            h.url("/v1/chat/completions"),
            key.secret.clone(),
        );
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(secret)
                .json(&serde_json::json!({"model": "gpt-4o", "messages": []}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    assert!(eventually(Duration::from_secs(1), || stub.in_flight() == 1).await);
    // The request is now waiting for the upstream's answer, which for a non-streamed
    // completion is most of its life: it is being served and must be counted.
    let text = h.metrics().await;
    let during = sample(&text, "tollgate_in_flight_requests", &[]);
    assert_eq!(
        h.gw.in_flight(),
        1,
        "Gateway::in_flight during the upstream call"
    );
    assert_eq!(during, Some(1.0), "{text}");
    assert_eq!(slow.await.unwrap(), 200);
    assert_eq!(h.gw.in_flight(), 0);
}

#[tokio::test]
async fn a_blocked_key_is_refused_within_a_second_through_the_change_feed() {
    let mut config = test_config();
    // Polling would also find the change; make it too slow to matter, so the feed is tested.
    config.poll_interval = Duration::from_secs(3600);
    let h = Harness::with_config(config).await;
    let stub = Stub::start().await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key().await;
    let other = h.key().await;
    assert_eq!(h.ask(&key.secret, "gpt-4o").await.0, 200);

    let changed = Instant::now();
    h.store
        .set_key_blocked(key.id, true, Timestamp::now())
        .await
        .unwrap();
    h.store.bump_config_revision().await.unwrap();
    let mut status = 200;
    while changed.elapsed() < Duration::from_secs(1) {
        status = h.ask(&key.secret, "gpt-4o").await.0;
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        status,
        401,
        "still served {:?} after blocking",
        changed.elapsed()
    );

    // A new route appears the same way.
    h.store
        .create_route(&route("gpt-4o-mini").deploy(openai(&stub, "mini")).route)
        .await
        .unwrap();
    h.store.bump_config_revision().await.unwrap();
    let changed = Instant::now();
    while changed.elapsed() < Duration::from_secs(1) {
        status = h.ask(&other.secret, "gpt-4o-mini").await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        status,
        200,
        "the new route is not served after {:?}",
        changed.elapsed()
    );
    assert_eq!(stub.last().body["model"], "mini");
}

#[tokio::test]
async fn an_explicit_reload_is_never_undone_by_an_older_one() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;

    // Watch the applied revision: it must never go back.
    let gw = h.gw.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let watcher = tokio::spawn(async move {
        let (mut high, mut regressions) = (gw.applied_revision(), Vec::new());
        while !stopped.load(Ordering::Relaxed) {
            let now = gw.applied_revision();
            if now < high && regressions.last() != Some(&(high, now)) {
                regressions.push((high, now));
            }
            high = high.max(now);
            tokio::task::yield_now().await;
        }
        regressions
    });

    // What the portal does, then what a caller of `reload` expects: the new key is known
    // from then on. Back to back, so the feed is always reloading while we do.
    let mut lost = 0;
    for _ in 0..200 {
        let (_, new) = new_key();
        let hash = new.key_hash.clone();
        h.store.create_key(&new).await.unwrap();
        h.store.bump_config_revision().await.unwrap();
        h.gw.reload().await;
        assert!(h.gw.snapshot().keys.contains_key(&hash));
        tokio::task::yield_now().await;
        if !h.gw.snapshot().keys.contains_key(&hash) {
            lost += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let regressions = watcher.await.unwrap();
    assert!(
        lost == 0 && regressions.is_empty(),
        "{lost} of 200 new keys gone again just after `reload()`; applied revision went back: \
         {regressions:?} (the change feed's reload, started before the bump, finished after \
         ours and swapped its older snapshot in)"
    );
}
