//! Crossing dialects: chat-completions clients on Anthropic routes, Messages clients on
//! Anthropic routes, and Azure's URL and headers.

use crate::harness::{Harness, anthropic, azure, eventually, route, sse_data, sse_json};
use crate::stub::Stub;
use serde_json::{Value, json};
use std::time::Duration;

async fn anthropic_route(h: &Harness, tool_call: bool) -> Stub {
    let stub = Stub::with(|b| {
        b.api_key = Some("sk-ant-upstream".into());
        b.tool_call = tool_call;
        b.prompt_tokens = 17;
        b.completion_tokens = 9;
    })
    .await;
    h.add(route("claude").deploy(anthropic(&stub, "claude-sonnet-4-5").key("sk-ant-upstream")))
        .await;
    stub
}

fn chat_body(stream: bool) -> Value {
    json!({
        "model": "claude",
        "stream": stream,
        "max_tokens": 64,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    })
}

#[tokio::test]
async fn a_chat_client_on_an_anthropic_route_gets_a_chat_completion() {
    let h = Harness::start().await;
    let stub = anthropic_route(&h, true).await;
    let key = h.key().await;
    let r = h.chat(&key.secret, &chat_body(false)).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();

    let seen = stub.last();
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.headers["x-api-key"], "sk-ant-upstream");
    assert!(seen.headers.contains_key("anthropic-version"));
    assert_eq!(seen.body["model"], "claude-sonnet-4-5");
    assert_eq!(seen.body["system"], "Be brief.");
    assert_eq!(seen.body["max_tokens"], 64);
    assert_eq!(seen.body["messages"][0]["role"], "user");
    assert_eq!(seen.body["tools"][0]["name"], "get_weather");

    assert_eq!(v["object"], "chat.completion");
    let m = &v["choices"][0]["message"];
    assert_eq!(m["role"], "assistant");
    assert_eq!(m["content"], "Hello, world");
    assert_eq!(m["tool_calls"][0]["function"]["name"], "get_weather");
    let args: Value = serde_json::from_str(
        m["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(args, json!({"city": "Paris"}));
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(v["usage"]["prompt_tokens"], 17);
    assert_eq!(v["usage"]["completion_tokens"], 9);
    assert_eq!(
        (h.usage.prompt_tokens(), h.usage.completion_tokens()),
        (17, 9)
    );
}

#[tokio::test]
async fn a_chat_client_streaming_from_an_anthropic_route_gets_chunks() {
    let h = Harness::start().await;
    let stub = anthropic_route(&h, false).await;
    let key = h.key().await;
    let mut body = chat_body(true);
    body["stream_options"] = json!({"include_usage": true});
    let r = h.chat(&key.secret, &body).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert_eq!(stub.last().body["stream"], true);

    let chunks = sse_json(&text);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk"),
        "{text}"
    );
    let content: String = chunks
        .iter()
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(content, "Hello, world");
    let finish: Vec<_> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .collect();
    assert_eq!(finish, ["stop"]);
    let usage = chunks.iter().find(|c| c["usage"].is_object()).unwrap();
    assert_eq!(usage["usage"]["prompt_tokens"], 17);
    assert_eq!(usage["usage"]["completion_tokens"], 9);
    assert_eq!(sse_data(&text).last().unwrap(), "[DONE]");
    assert!(eventually(Duration::from_secs(1), || h.usage.count() == 1).await);
    assert_eq!(
        (h.usage.prompt_tokens(), h.usage.completion_tokens()),
        (17, 9)
    );
}

#[tokio::test]
async fn a_streamed_tool_call_from_anthropic_becomes_openai_tool_call_deltas() {
    let h = Harness::start().await;
    let _stub = anthropic_route(&h, true).await;
    let key = h.key().await;
    let r = h.chat(&key.secret, &chat_body(true)).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let chunks = sse_json(&text);

    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert!(!calls.is_empty(), "{text}");
    assert_eq!(calls[0]["id"], "toolu_stub");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert!(calls.iter().all(|c| c["index"] == 0));
    let args: String = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"city": "Paris"})
    );
    let finish: Vec<_> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .collect();
    assert_eq!(finish, ["tool_calls"]);
    assert!(
        !chunks.iter().any(|c| c["usage"].is_object()),
        "no usage chunk unasked"
    );
    assert_eq!(sse_data(&text).last().unwrap(), "[DONE]");
}

#[tokio::test]
async fn a_messages_client_on_an_anthropic_route_passes_through() {
    let h = Harness::start().await;
    let stub = anthropic_route(&h, false).await;
    let key = h.key().await;
    let mut sent = json!({
        "model": "claude",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi",
            "cache_control": {"type": "ephemeral"}}]}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "x_future_field": [1, 2, 3],
    });
    let r = h
        .http
        .post(h.url("/v1/messages"))
        .header("x-api-key", &key.secret)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .json(&sent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "Hello, world");
    assert_eq!(v["usage"], json!({"input_tokens": 17, "output_tokens": 9}));

    let seen = stub.last();
    sent["model"] = json!("claude-sonnet-4-5");
    assert_eq!(seen.body, sent);
    assert_eq!(
        seen.headers["x-api-key"], "sk-ant-upstream",
        "not the client's key"
    );
    assert_eq!(seen.headers["anthropic-version"], "2023-06-01");
    assert_eq!(
        seen.headers["anthropic-beta"],
        "interleaved-thinking-2025-05-14"
    );
}

#[tokio::test]
async fn a_messages_stream_passes_through_with_usage_accounted() {
    let h = Harness::start().await;
    let _stub = anthropic_route(&h, false).await;
    let key = h.key().await;
    let r = h
        .post(
            "/v1/messages",
            &key.secret,
            &json!({"model": "claude", "max_tokens": 32, "stream": true,
                "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"message_start"));
    assert_eq!(events.last(), Some(&"message_stop"));
    assert!(events.contains(&"content_block_delta"));
    assert!(eventually(Duration::from_secs(1), || h.usage.count() == 1).await);
    assert_eq!(
        (h.usage.prompt_tokens(), h.usage.completion_tokens()),
        (17, 9)
    );
}

#[tokio::test]
async fn an_anthropic_upstream_error_reaches_a_chat_client_in_openai_shape() {
    let h = Harness::start().await;
    let stub = anthropic_route(&h, false).await;
    stub.set(|b| b.status = 400);
    let key = h.key().await;
    let r = h.chat(&key.secret, &chat_body(false)).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["message"], "stub says no", "{v}");
    assert!(v["error"]["type"].is_string());
}

#[tokio::test]
async fn embeddings_are_refused_for_an_anthropic_route() {
    let h = Harness::start().await;
    let stub = anthropic_route(&h, false).await;
    let key = h.key().await;
    let r = h
        .post(
            "/v1/embeddings",
            &key.secret,
            &json!({"model": "claude", "input": "x"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unsupported_by_provider");
    assert_eq!(stub.calls(), 0);
}

#[tokio::test]
async fn an_azure_deployment_gets_its_url_api_version_and_api_key() {
    let h = Harness::start().await;
    let stub = Stub::with(|b| b.api_key = Some("azure-secret".into())).await;
    h.add(
        route("gpt-4o").deploy(
            azure(&stub, "my-gpt4o-deployment")
                .key("azure-secret")
                .api_version("2024-06-01"),
        ),
    )
    .await;
    h.add(route("gpt-4o-default-version").deploy(azure(&stub, "dep2").key("azure-secret")))
        .await;
    let key = h.key().await;

    let (status, body) = h.ask(&key.secret, "gpt-4o").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "Hello, world");
    let seen = stub.last();
    assert_eq!(
        seen.path,
        "/openai/deployments/my-gpt4o-deployment/chat/completions"
    );
    assert_eq!(seen.query.as_deref(), Some("api-version=2024-06-01"));
    assert_eq!(seen.headers["api-key"], "azure-secret");
    assert!(seen.headers.get("authorization").is_none());

    let (status, _) = h.ask(&key.secret, "gpt-4o-default-version").await;
    assert_eq!(status, 200);
    let seen = stub.last();
    assert_eq!(seen.path, "/openai/deployments/dep2/chat/completions");
    assert_eq!(
        seen.query.as_deref(),
        Some(
            format!(
                "api-version={}",
                tollgate_gateway::providers::DEFAULT_AZURE_API_VERSION
            )
            .as_str()
        )
    );
}
