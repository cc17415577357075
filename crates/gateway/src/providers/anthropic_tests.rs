use super::*;
use crate::providers::ProviderKind;
use crate::providers::fixtures::{
    ANTHROPIC_TOOL_STREAM, anthropic_text_stream, client, json, obj, run, run_every_split,
};
use serde_json::json;

fn target(api_base: Option<&str>) -> Target<'_> {
    Target {
        provider: ProviderKind::Anthropic,
        upstream_model: "claude-sonnet-4-5-20250929",
        api_base,
        api_version: None,
        api_key: Some("sk-ant-upstream"),
    }
}

fn headers_of(req: &UpstreamRequest, name: &str) -> Vec<String> {
    req.headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.to_str().unwrap().to_owned())
        .collect()
}

fn messages_body() -> Map<String, Value> {
    obj(json!({
        "model": "claude",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Hello, world"}],
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "x_future": {"nested": [true]},
    }))
}

use serde_json::{Map, Value};

#[test]
fn messages_pass_through_with_default_headers() {
    let body = messages_body();
    let headers = http::HeaderMap::new();
    let req = Anthropic
        .build_request(&client(Endpoint::Messages, &body, &headers), &target(None))
        .unwrap();
    assert_eq!(req.url, "https://api.anthropic.com/v1/messages");
    assert_eq!(headers_of(&req, "x-api-key"), ["sk-ant-upstream"]);
    assert_eq!(headers_of(&req, "anthropic-version"), ["2023-06-01"]);
    assert!(headers_of(&req, "anthropic-beta").is_empty());
    assert!(headers_of(&req, "authorization").is_empty());
    let mut expected = Value::Object(body.clone());
    expected["model"] = json!("claude-sonnet-4-5-20250929");
    assert_eq!(json(&req.body), expected);
}

#[test]
fn client_version_and_beta_headers_are_forwarded() {
    let body = messages_body();
    let mut headers = http::HeaderMap::new();
    headers.insert("anthropic-version", "2023-01-01".parse().unwrap());
    headers.append(
        "anthropic-beta",
        "prompt-caching-2024-07-31".parse().unwrap(),
    );
    headers.append(
        "anthropic-beta",
        "token-efficient-tools-2025-02-19".parse().unwrap(),
    );
    let req = Anthropic
        .build_request(
            &client(Endpoint::Messages, &body, &headers),
            &target(Some("https://proxy.example/v1/")),
        )
        .unwrap();
    assert_eq!(req.url, "https://proxy.example/v1/messages");
    assert_eq!(headers_of(&req, "anthropic-version"), ["2023-01-01"]);
    assert_eq!(
        headers_of(&req, "anthropic-beta"),
        [
            "prompt-caching-2024-07-31",
            "token-efficient-tools-2025-02-19"
        ]
    );
}

#[test]
fn embeddings_and_completions_are_refused() {
    let body = obj(json!({"model": "m", "input": "x"}));
    let headers = http::HeaderMap::new();
    for endpoint in [Endpoint::Embeddings, Endpoint::Completions] {
        let err = Anthropic
            .build_request(&client(endpoint, &body, &headers), &target(None))
            .unwrap_err();
        assert!(matches!(err, ProviderError::BadRequest { .. }));
        assert!(
            err.to_string()
                .contains("is not supported by Anthropic deployments")
        );
    }
}

#[test]
fn chat_clients_are_translated() {
    let body = obj(
        json!({"model": "gpt", "messages": [{"role": "user", "content": "Hi"}], "stream": true}),
    );
    let headers = http::HeaderMap::new();
    let req = Anthropic
        .build_request(
            &client(Endpoint::ChatCompletions, &body, &headers),
            &target(None),
        )
        .unwrap();
    assert_eq!(
        json(&req.body),
        json!({"model": "claude-sonnet-4-5-20250929", "max_tokens": 4096, "stream": true,
               "messages": [{"role": "user", "content": "Hi"}]})
    );
    assert_eq!(headers_of(&req, "anthropic-version"), ["2023-06-01"]);
}

#[test]
fn responses_pass_through_with_usage() {
    let body = br#"{"content":[{"text":"Hi! My name is Claude.","type":"text"}],"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","model":"claude-sonnet-4-5-20250929","role":"assistant","stop_reason":"end_turn","stop_sequence":null,"type":"message","usage":{"input_tokens":2095,"cache_creation_input_tokens":0,"cache_read_input_tokens":1000,"output_tokens":503}}"#;
    let (out, usage) = Anthropic
        .convert_response(Endpoint::Messages, body)
        .unwrap();
    assert_eq!(&out[..], &body[..]);
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 3095,
            completion_tokens: 503,
            cached_tokens: 1000
        }
    );
}

#[test]
fn streams_pass_through_unchanged_with_usage() {
    let input = anthropic_text_stream();
    let out = run_every_split(
        || Anthropic.stream_converter(Endpoint::Messages, false),
        &input,
    );
    assert_eq!(out, input.as_bytes());
    let mut conv = Anthropic.stream_converter(Endpoint::Messages, false);
    run(conv.as_mut(), &[input.as_bytes()]);
    assert_eq!(
        conv.usage(),
        Usage {
            prompt_tokens: 125,
            completion_tokens: 15,
            cached_tokens: 100
        }
    );
}

#[test]
fn started_is_set_by_the_first_delta_or_tool_use() {
    let mut conv = Anthropic.stream_converter(Endpoint::Messages, false);
    let events: Vec<&str> = ANTHROPIC_TOOL_STREAM.split_inclusive("\n\n").collect();
    for e in &events[..3] {
        conv.push(e.as_bytes()).unwrap();
    }
    assert!(
        !conv.started(),
        "message_start, an empty text block and a ping are no content"
    );
    conv.push(events[3].as_bytes()).unwrap();
    assert!(conv.started());
    let mut conv = Anthropic.stream_converter(Endpoint::Messages, false);
    conv.push(events[0].as_bytes()).unwrap();
    conv.push(events[5].as_bytes()).unwrap();
    assert!(conv.started(), "a tool_use block start names a tool");
}

#[test]
fn errors_convert_to_the_client_dialect() {
    let body = br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#;
    assert_eq!(
        Anthropic.convert_error(Endpoint::Messages, 400, body),
        &body[..]
    );
    let v = json(&Anthropic.convert_error(Endpoint::ChatCompletions, 400, body));
    assert_eq!(v["error"]["message"], "max_tokens: Field required");
    assert_eq!(v["error"]["type"], "invalid_request_error");
}
