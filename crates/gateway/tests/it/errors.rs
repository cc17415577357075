//! Requests Tollgate refuses itself, and the shape of its errors in each dialect.

use crate::harness::{Harness, openai, route, test_config};
use crate::stub::Stub;
use serde_json::{Value, json};
use tollgate_domain::Timestamp;

/// A gateway with one working route `gpt-4o`, and its stub.
async fn gateway() -> (Harness, Stub) {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    (h, stub)
}

fn assert_openai_error(body: &Value, kind: &str, code: &str) {
    let e = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("{body}"));
    for field in ["message", "type", "param", "code"] {
        assert!(e.contains_key(field), "`{field}` missing from {body}");
    }
    assert!(!e["message"].as_str().unwrap().is_empty());
    assert_eq!(e["type"], kind, "{body}");
    assert_eq!(e["code"], code, "{body}");
}

const CHAT: &str = r#"{"model":"gpt-4o","messages":[]}"#;

async fn raw(h: &Harness, path: &str, auth: Option<(&str, &str)>, body: &str) -> (u16, Value) {
    let mut req = h
        .http
        .post(h.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some((name, value)) = auth {
        req = req.header(name, value);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn missing_unknown_blocked_and_expired_keys_are_401() {
    let (h, stub) = gateway().await;
    let blocked = h.key().await;
    h.store
        .set_key_blocked(blocked.id, true, Timestamp::now())
        .await
        .unwrap();
    let expired = h
        .key_with(|k| k.expires_at = Some(Timestamp(Timestamp::now().0 - 1_000)))
        .await;
    let later = h
        .key_with(|k| k.expires_at = Some(Timestamp(Timestamp::now().0 + 3_600_000)))
        .await;
    h.apply().await;

    let (status, body) = raw(&h, "/v1/chat/completions", None, CHAT).await;
    assert_eq!(status, 401);
    assert_openai_error(&body, "authentication_error", "invalid_api_key");

    let unknown = format!("Bearer {}", tollgate_domain::keys::generate_key());
    for (who, auth) in [
        ("unknown", unknown),
        ("blocked", format!("Bearer {}", blocked.secret)),
        ("expired", format!("Bearer {}", expired.secret)),
        ("not bearer", format!("Basic {}", later.secret)),
    ] {
        let (status, body) = raw(
            &h,
            "/v1/chat/completions",
            Some(("authorization", &auth)),
            CHAT,
        )
        .await;
        assert_eq!(status, 401, "{who}");
        assert_openai_error(&body, "authentication_error", "invalid_api_key");
    }
    let (status, _) = raw(
        &h,
        "/v1/chat/completions",
        Some(("authorization", &format!("Bearer {}", later.secret))),
        CHAT,
    )
    .await;
    assert_eq!(status, 200, "a key expiring later works");
    assert_eq!(stub.calls(), 1);
    assert_eq!(
        h.usage.count(),
        1,
        "requests without a valid key are not accounted: {:?}",
        h.usage.events()
    );
}

#[tokio::test]
async fn messages_clients_get_anthropic_shaped_errors() {
    let (h, _stub) = gateway().await;
    let (status, body) = raw(&h, "/v1/messages", None, CHAT).await;
    assert_eq!(status, 401);
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], "authentication_error");
    assert!(body["error"]["message"].is_string());

    let key = h.key().await;
    let (status, body) = raw(
        &h,
        "/v1/messages",
        Some(("x-api-key", &key.secret)),
        r#"{"model":"claude-nope","max_tokens":1,"messages":[]}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "not_found_error");
}

#[tokio::test]
async fn the_key_is_accepted_in_x_api_key() {
    let (h, stub) = gateway().await;
    let key = h.key().await;
    let (status, body) = raw(
        &h,
        "/v1/chat/completions",
        Some(("x-api-key", &key.secret)),
        CHAT,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stub.calls(), 1);
}

#[tokio::test]
async fn a_key_may_be_refused_a_model_or_an_instance() {
    let (h, stub) = gateway().await;
    h.add(route("gpt-4o-mini").deploy(openai(&stub, "gpt-4o-mini")))
        .await;
    let narrow = h
        .key_with(|k| k.allowed_models = Some(vec!["gpt-4o-mini".into()]))
        .await;
    let (status, body) = h.ask(&narrow.secret, "gpt-4o").await;
    assert_eq!(status, 403);
    assert_openai_error(&body, "permission_error", "model_not_allowed");
    assert_eq!(h.ask(&narrow.secret, "gpt-4o-mini").await.0, 200);

    let elsewhere = h
        .key_with(|k| k.allowed_instances = Some(vec!["eu".into()]))
        .await;
    let (status, body) = h.ask(&elsewhere.secret, "gpt-4o").await;
    assert_eq!(status, 403);
    assert_openai_error(&body, "permission_error", "instance_not_allowed");
    assert_eq!(stub.calls(), 1, "refusals never reach the upstream");

    let here = h
        .key_with(|k| k.allowed_instances = Some(vec!["eu".into(), "default".into()]))
        .await;
    assert_eq!(h.ask(&here.secret, "gpt-4o").await.0, 200);
}

#[tokio::test]
async fn an_unknown_model_is_404() {
    let (h, stub) = gateway().await;
    let key = h.key().await;
    let (status, body) = h.ask(&key.secret, "gpt-5-nonexistent").await;
    assert_eq!(status, 404);
    assert_openai_error(&body, "invalid_request_error", "model_not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gpt-5-nonexistent")
    );
    assert_eq!(stub.calls(), 0);
    assert_eq!(
        h.usage.last().error_kind.as_deref(),
        Some("model_not_found")
    );
}

#[tokio::test]
async fn malformed_json_is_400_naming_the_position() {
    let (h, stub) = gateway().await;
    let key = h.key().await;
    let auth = format!("Bearer {}", key.secret);
    let (status, body) = raw(
        &h,
        "/v1/chat/completions",
        Some(("authorization", &auth)),
        "{\"model\": \"gpt-4o\",\n  \"messages\": [}",
    )
    .await;
    assert_eq!(status, 400);
    assert_openai_error(&body, "invalid_request_error", "invalid_request");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("line 2 column 16"), "{message}");

    let (status, body) = raw(
        &h,
        "/v1/chat/completions",
        Some(("authorization", &auth)),
        "[1, 2]",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(stub.calls(), 0);
}

#[tokio::test]
async fn a_missing_or_empty_model_is_400() {
    let (h, _stub) = gateway().await;
    let key = h.key().await;
    for body in [
        json!({"messages": []}),
        json!({"model": "", "messages": []}),
        json!({"model": 4}),
    ] {
        let r = h.chat(&key.secret, &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_openai_error(&v, "invalid_request_error", "invalid_request");
        assert_eq!(v["error"]["param"], "model");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let mut config = test_config();
    config.max_body_bytes = 4096;
    let h = Harness::with_config(config).await;
    let stub = Stub::start().await;
    h.add(route("gpt-4o").deploy(openai(&stub, "gpt-4o"))).await;
    let key = h.key().await;
    let big =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x".repeat(8192)}]});

    let r = h.chat(&key.secret, &big).await;
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.unwrap();
    assert_openai_error(&v, "invalid_request_error", "request_too_large");

    // Without a Content-Length (chunked), the limit holds while reading.
    let bytes = serde_json::to_vec(&big).unwrap();
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(1024).map(|c| Ok(c.to_vec())).collect();
    let r = h
        .http
        .post(h.url("/v1/chat/completions"))
        .bearer_auth(&key.secret)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(stub.calls(), 0);
    assert_eq!(
        h.ask(&key.secret, "gpt-4o").await.0,
        200,
        "small bodies pass"
    );
}
