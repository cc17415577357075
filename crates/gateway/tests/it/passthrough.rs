//! Same-dialect requests: bodies reach the upstream untouched but for the model, answers come
//! back untouched, and every response carries Tollgate's headers.

use crate::harness::{Harness, dep_ids, openai, route};
use crate::stub::Stub;
use serde_json::json;

#[tokio::test]
async fn unknown_fields_reach_the_upstream_and_only_the_model_changes() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o-2024-08-06")))
        .await;
    let key = h.key().await;
    let mut sent = json!({
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "hi", "x_nested_unknown": {"a": [1, null]}}],
        "temperature": 0.25,
        "x_vendor_top": {"deep": [{"keep": true}, "s", 1.5]},
        "reasoning_effort": "low",
    });
    let r = h.chat(&key.secret, &sent).await;
    assert_eq!(r.status(), 200);
    let answer: serde_json::Value = r.json().await.unwrap();

    sent["model"] = json!("gpt-4o-2024-08-06");
    let seen = stub.last();
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.body, sent, "only `model` differs");
    assert!(
        seen.headers.get("authorization").is_none(),
        "no credential, no Authorization header: the client's key never goes upstream"
    );
    assert_eq!(
        answer["x_stub_extra"],
        json!({"kept": [1, {"nested": true}]})
    );
    assert_eq!(answer["system_fingerprint"], "fp_stub");

    let e = h.usage.last();
    assert_eq!(e.key_id, Some(key.id));
    assert_eq!(e.route_model, "gpt-4o");
    assert_eq!(e.upstream_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(e.provider.as_deref(), Some("openai"));
    assert_eq!((e.prompt_tokens, e.completion_tokens), (11, 7));
    assert_eq!((e.status, e.stream), (200, false));
}

#[tokio::test]
async fn the_upstream_key_comes_from_the_credential_not_the_client() {
    let h = Harness::start().await;
    let stub = Stub::with(|b| b.api_key = Some("sk-upstream-1".into())).await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o").key("sk-upstream-1")))
        .await;
    let key = h.key().await;
    let (status, body) = h.ask(&key.secret, "gpt-4o").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        stub.last().headers["authorization"].to_str().unwrap(),
        "Bearer sk-upstream-1"
    );
}

#[tokio::test]
async fn responses_carry_request_id_instance_pod_deployment_and_overhead() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    let r = h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key().await;
    let body = json!({"model": "gpt-4o", "messages": []});

    let sent = h
        .http
        .post(h.url("/v1/chat/completions"))
        .bearer_auth(&key.secret)
        .header("x-request-id", "req-from-client-42")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let hd = sent.headers();
    assert_eq!(hd["x-request-id"], "req-from-client-42");
    assert_eq!(hd["x-tollgate-instance"], "default");
    assert_eq!(hd["x-tollgate-pod"], "pod-1");
    assert_eq!(
        hd["x-tollgate-deployment"].to_str().unwrap(),
        dep_ids(&r)[0]
    );
    let overhead: f64 = hd["x-tollgate-overhead-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.0..2000.0).contains(&overhead), "{overhead}");

    let a = h.chat(&key.secret, &body).await;
    let b = h.chat(&key.secret, &body).await;
    let (a, b) = (&a.headers()["x-request-id"], &b.headers()["x-request-id"]);
    assert!(!a.is_empty());
    assert_ne!(a, b, "a request id is generated per request");
    assert_eq!(h.usage.last().request_id, b.to_str().unwrap());

    let refused = h.ask("sk-tg-nope", "gpt-4o").await;
    assert_eq!(refused.0, 401);
    let refused = h
        .http
        .post(h.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        refused.headers().contains_key("x-request-id")
            && refused.headers().contains_key("x-tollgate-instance"),
        "errors carry the headers too"
    );
}

#[tokio::test]
async fn completions_and_embeddings_pass_through_with_usage() {
    let h = Harness::start().await;
    let stub = Stub::with(|b| b.prompt_tokens = 5).await;
    h.add(route("emb").deploy(openai(&stub, "text-embedding-3-small")))
        .await;
    h.add(route("instruct").deploy(openai(&stub, "gpt-3.5-turbo-instruct")))
        .await;
    let key = h.key().await;

    let r = h
        .post(
            "/v1/embeddings",
            &key.secret,
            &json!({"model": "emb", "input": ["a", "b"], "dimensions": 2}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["data"][0]["embedding"], json!([0.25, -0.5]));
    let seen = stub.last();
    assert_eq!(seen.path, "/v1/embeddings");
    assert_eq!(
        seen.body,
        json!({"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 2})
    );
    assert_eq!(h.usage.prompt_tokens(), 5);

    let r = h
        .post(
            "/v1/completions",
            &key.secret,
            &json!({"model": "instruct", "prompt": "Say hi", "max_tokens": 3}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["choices"][0]["text"], "Hello, world");
    assert_eq!(stub.last().path, "/v1/completions");
    assert_eq!(h.usage.prompt_tokens(), 10);
    assert_eq!(h.usage.completion_tokens(), 7);
}

#[tokio::test]
async fn a_body_over_axums_default_limit_but_under_ours_is_accepted() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key().await;
    // axum's default body limit is 2 MiB; the gateway's own (32 MiB here) must be the one in force.
    let big = "x".repeat(3 * 1024 * 1024);
    let r = h
        .chat(
            &key.secret,
            &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": big}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        stub.last().body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .len(),
        3 * 1024 * 1024
    );
}
