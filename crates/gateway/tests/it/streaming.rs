//! Streams: relayed as they come, usage always asked of the upstream and shown only on
//! request, accounted when they end, and cancelled upstream when the client leaves.

use crate::harness::{Harness, eventually, openai, read_stream, route, sse_data, sse_json};
use crate::stub::Stub;
use futures_util::StreamExt as _;
use serde_json::json;
use std::time::{Duration, Instant};
use tollgate_gateway::usage::Outcome;

fn stream_body(include_usage: Option<bool>) -> serde_json::Value {
    let mut body = json!({"model": "gpt-4o", "stream": true,
        "messages": [{"role": "user", "content": "hi"}]});
    if let Some(u) = include_usage {
        body["stream_options"] = json!({"include_usage": u});
    }
    body
}

#[tokio::test]
async fn chunks_reach_the_client_before_the_upstream_finishes() {
    let h = Harness::start().await;
    let stub = Stub::with(|b| {
        b.chunk_gap = Duration::from_millis(300);
        b.text = vec!["a".into(), "b".into(), "c".into()];
    })
    .await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key().await;

    let sent = Instant::now();
    let r = h.chat(&key.secret, &stream_body(None)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    for name in [
        "x-request-id",
        "x-tollgate-deployment",
        "x-tollgate-overhead-ms",
    ] {
        assert!(r.headers().contains_key(name), "{name} missing on a stream");
    }
    let chunks = read_stream(r).await;
    let first = chunks.first().unwrap().0 - sent;
    let last = chunks.last().unwrap().0 - sent;
    // Six events 300 ms apart: the upstream takes 1.5 s. A relay that buffered would deliver
    // everything at once, at the end.
    assert!(
        first < Duration::from_millis(600),
        "first chunk after {first:?}"
    );
    assert!(
        last - first >= Duration::from_millis(900),
        "the stream was buffered: first {first:?}, last {last:?}"
    );
    let text: String = chunks.iter().map(|(_, c)| c.as_str()).collect();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
}

#[tokio::test]
async fn usage_is_always_asked_of_the_upstream_but_shown_only_when_the_client_asked() {
    let h = Harness::start().await;
    let stub = Stub::with(|b| {
        b.prompt_tokens = 13;
        b.completion_tokens = 21;
    })
    .await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key().await;

    for client_asked in [None, Some(false), Some(true)] {
        let before = h.usage.count();
        let r = h.chat(&key.secret, &stream_body(client_asked)).await;
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert_eq!(
            stub.last().body["stream_options"]["include_usage"],
            true,
            "upstream asked for usage (client: {client_asked:?})"
        );
        let usage_chunks: Vec<_> = sse_json(&text)
            .into_iter()
            .filter(|c| c["usage"].is_object())
            .collect();
        if client_asked == Some(true) {
            assert_eq!(usage_chunks.len(), 1, "{text}");
            assert_eq!(usage_chunks[0]["usage"]["prompt_tokens"], 13);
            assert_eq!(usage_chunks[0]["usage"]["completion_tokens"], 21);
        } else {
            assert!(usage_chunks.is_empty(), "{client_asked:?}: {text}");
        }
        let contents: String = sse_json(&text)
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(contents, "Hello, world");
        assert_eq!(sse_data(&text).last().unwrap(), "[DONE]");
        assert!(eventually(Duration::from_secs(1), || h.usage.count() == before + 1).await);
        let e = h.usage.last();
        assert_eq!((e.prompt_tokens, e.completion_tokens), (13, 21));
        assert_eq!(e.outcome, Outcome::Ok);
        assert!(e.stream);
    }
    assert_eq!(h.usage.prompt_tokens(), 3 * 13);
    assert_eq!(h.usage.completion_tokens(), 3 * 21);
}

#[tokio::test]
async fn a_client_leaving_mid_stream_cancels_the_upstream_and_is_still_accounted() {
    let h = Harness::start().await;
    let stub = Stub::with(|b| {
        b.chunk_gap = Duration::from_millis(200);
        b.text = (0..20).map(|i| format!("t{i} ")).collect();
    })
    .await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key().await;

    let r = h.chat(&key.secret, &stream_body(None)).await;
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: "));
    assert!(!stub.cancelled());
    drop(body);

    assert!(
        eventually(Duration::from_secs(1), || stub.cancelled()).await,
        "the upstream stream was not cancelled"
    );
    assert!(
        eventually(Duration::from_secs(1), || h.usage.count() == 1).await,
        "no usage event for the abandoned stream"
    );
    let e = h.usage.last();
    assert_eq!(e.outcome, Outcome::ClientClosed);
    assert_eq!(e.status, 499);
    assert!(
        eventually(Duration::from_secs(1), || h.gw.in_flight() == 0).await,
        "in-flight gauge back to zero"
    );
}

#[tokio::test]
async fn an_abandoned_stream_is_charged_for_what_was_produced() {
    let h = Harness::start().await;
    let stub = Stub::with(|b| {
        b.chunk_gap = Duration::from_millis(100);
        b.text = (0..20).map(|i| format!("t{i} ")).collect();
    })
    .await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key().await;
    let r = h.chat(&key.secret, &stream_body(None)).await;
    let mut body = r.bytes_stream();
    let mut pieces = 0;
    while pieces < 4 {
        let chunk = body.next().await.unwrap().unwrap();
        pieces += sse_data(std::str::from_utf8(&chunk).unwrap()).len();
    }
    drop(body);
    assert!(eventually(Duration::from_secs(2), || h.usage.count() == 1).await);
    let e = h.usage.last();
    assert_eq!(e.outcome, Outcome::ClientClosed);
    // The upstream never sent its usage report: the relayed events stand in for tokens.
    assert!(
        (pieces as i64..20).contains(&e.completion_tokens),
        "{} tokens for {pieces} events read",
        e.completion_tokens
    );
    assert!(e.prompt_tokens > 0);
    assert!(
        e.cost.0 > 0 && !e.unpriced,
        "gpt-4o is priced: {:?}",
        e.cost
    );
}

#[tokio::test]
async fn an_upstream_breaking_mid_stream_ends_the_stream_and_is_accounted_as_an_error() {
    let h = Harness::start().await;
    let stub = Stub::with(|b| {
        // Role, "Hello", ", ", "world", then the break. The gap lets content reach the
        // client first (a break before any content is retried instead); the event written
        // just before the break may be lost with the connection.
        b.drop_after = Some(4);
        b.chunk_gap = Duration::from_millis(100);
    })
    .await;
    let other = Stub::start().await;
    h.add(
        route("gpt-4o")
            .retries(1)
            .deploy(openai(&stub, "gpt-4o").weight(1))
            .deploy(openai(&other, "gpt-4o").weight(0)),
    )
    .await;
    let key = h.key().await;

    let r = h.chat(&key.secret, &stream_body(None)).await;
    assert_eq!(r.status(), 200, "the first bytes were already sent");
    let chunks = read_stream_lossy(r).await;
    assert!(chunks.contains("Hello"), "{chunks}");
    assert!(!chunks.contains("[DONE]"), "{chunks}");
    assert_eq!(other.calls(), 0, "no retry once the client has bytes");
    assert!(eventually(Duration::from_secs(1), || h.usage.count() == 1).await);
    let e = h.usage.last();
    assert_eq!(e.outcome, Outcome::Error);
    assert_eq!(e.error_kind.as_deref(), Some("stream_interrupted"));
}

/// The body until it ends or breaks.
async fn read_stream_lossy(r: reqwest::Response) -> String {
    let mut out = String::new();
    let mut body = r.bytes_stream();
    while let Some(Ok(chunk)) = body.next().await {
        out.push_str(&String::from_utf8_lossy(&chunk));
    }
    out
}
