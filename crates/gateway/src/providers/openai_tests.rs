use super::*;
use crate::providers::fixtures::{
    OPENAI_TEXT_STREAM, OPENAI_TOOL_STREAM, client, events, json, obj, run, run_every_split,
};
use crate::providers::{ProviderKind, provider};
use serde_json::json;

fn target(api_base: Option<&str>) -> Target<'_> {
    Target {
        provider: ProviderKind::Openai,
        upstream_model: "gpt-4o-2024-08-06",
        api_base,
        api_version: None,
        api_key: Some("sk-upstream"),
    }
}

fn header<'a>(req: &'a UpstreamRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.to_str().unwrap())
}

#[test]
fn passthrough_keeps_unknown_fields_and_replaces_only_the_model() {
    let body = obj(json!({
        "model": "my-alias",
        "messages": [{"role": "user", "content": "Hi", "x_vendor": {"deep": [1, {"k": "v"}]}}],
        "seed": 7,
        "reasoning_effort": "low",
        "prediction": {"type": "content", "content": "abc"},
        "web_search_options": {"user_location": {"type": "approximate"}},
    }));
    let headers = http::HeaderMap::new();
    let req = provider(ProviderKind::Openai)
        .build_request(
            &client(Endpoint::ChatCompletions, &body, &headers),
            &target(None),
        )
        .unwrap();
    let mut expected = Value::Object(body.clone());
    expected["model"] = json!("gpt-4o-2024-08-06");
    assert_eq!(json(&req.body), expected);
    assert_eq!(req.url, "https://api.openai.com/v1/chat/completions");
    assert_eq!(header(&req, "authorization"), Some("Bearer sk-upstream"));
    assert_eq!(header(&req, "content-type"), Some("application/json"));
}

#[test]
fn streaming_upstreams_always_report_usage() {
    let body =
        obj(json!({"model": "m", "prompt": "Say", "stream": true, "stream_options": {"x": 1}}));
    let headers = http::HeaderMap::new();
    let req = OpenAi
        .build_request(
            &client(Endpoint::Completions, &body, &headers),
            &target(Some("http://vllm:8000/v1/")),
        )
        .unwrap();
    assert_eq!(req.url, "http://vllm:8000/v1/completions");
    let sent = json(&req.body);
    assert_eq!(
        sent["stream_options"],
        json!({"include_usage": true, "x": 1})
    );
    assert_eq!(sent["prompt"], "Say");
}

#[test]
fn embeddings_pass_through_without_stream_options() {
    let body = obj(json!({"model": "m", "input": ["a", "b"], "dimensions": 256}));
    let headers = http::HeaderMap::new();
    let req = OpenAi
        .build_request(
            &client(Endpoint::Embeddings, &body, &headers),
            &target(None),
        )
        .unwrap();
    assert_eq!(req.url, "https://api.openai.com/v1/embeddings");
    assert_eq!(
        json(&req.body),
        json!({"model": "gpt-4o-2024-08-06", "input": ["a", "b"], "dimensions": 256})
    );
}

#[test]
fn messages_clients_are_translated_to_chat() {
    let body = obj(
        json!({"model": "claude", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}),
    );
    let headers = http::HeaderMap::new();
    let official = OpenAi
        .build_request(&client(Endpoint::Messages, &body, &headers), &target(None))
        .unwrap();
    assert_eq!(official.url, "https://api.openai.com/v1/chat/completions");
    assert_eq!(json(&official.body)["max_completion_tokens"], 100);
    let local = OpenAi
        .build_request(
            &client(Endpoint::Messages, &body, &headers),
            &target(Some("http://ollama:11434/v1")),
        )
        .unwrap();
    assert_eq!(json(&local.body)["max_tokens"], 100);
}

#[test]
fn no_key_no_authorization_header() {
    let body = obj(json!({"model": "m", "messages": []}));
    let headers = http::HeaderMap::new();
    let t = Target {
        api_key: None,
        ..target(None)
    };
    let req = OpenAi
        .build_request(&client(Endpoint::ChatCompletions, &body, &headers), &t)
        .unwrap();
    assert_eq!(header(&req, "authorization"), None);
    let bad = Target {
        api_key: Some("line\nbreak"),
        ..target(None)
    };
    let err = OpenAi
        .build_request(&client(Endpoint::ChatCompletions, &body, &headers), &bad)
        .unwrap_err();
    assert!(matches!(err, ProviderError::BadUpstream(_)));
    assert!(!err.to_string().contains("line"), "the key is never shown");
}

#[test]
fn responses_pass_through_byte_for_byte_with_usage() {
    let body = br#"{"id":"chatcmpl-123","object":"chat.completion","created":1677652288,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, how may I assist you today?"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":0}}}"#;
    let (out, usage) = OpenAi
        .convert_response(Endpoint::ChatCompletions, body)
        .unwrap();
    assert_eq!(&out[..], &body[..]);
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 9,
            completion_tokens: 12,
            cached_tokens: 4
        }
    );

    let emb = br#"{"object":"list","data":[{"object":"embedding","embedding":[0.0023064255,-0.009327292],"index":0}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#;
    let (out, usage) = OpenAi.convert_response(Endpoint::Embeddings, emb).unwrap();
    assert_eq!(&out[..], &emb[..]);
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 8,
            completion_tokens: 0,
            cached_tokens: 0
        }
    );

    assert!(matches!(
        OpenAi.convert_response(Endpoint::ChatCompletions, b"<html>"),
        Err(ProviderError::BadUpstream(_))
    ));
}

#[test]
fn the_requested_usage_chunk_is_dropped_when_the_client_did_not_ask() {
    let out = run_every_split(
        || OpenAi.stream_converter(Endpoint::ChatCompletions, false),
        OPENAI_TEXT_STREAM,
    );
    let expected: String = OPENAI_TEXT_STREAM
        .split_inclusive("\n\n")
        .filter(|e| !e.contains("\"choices\":[]"))
        .collect();
    assert_eq!(String::from_utf8(out).unwrap(), expected);

    let mut conv = OpenAi.stream_converter(Endpoint::ChatCompletions, false);
    run(conv.as_mut(), &[OPENAI_TEXT_STREAM.as_bytes()]);
    assert_eq!(
        conv.usage(),
        Usage {
            prompt_tokens: 19,
            completion_tokens: 10,
            cached_tokens: 8
        }
    );
}

#[test]
fn the_usage_chunk_is_kept_when_the_client_asked() {
    let out = run_every_split(
        || OpenAi.stream_converter(Endpoint::ChatCompletions, true),
        OPENAI_TEXT_STREAM,
    );
    assert_eq!(out, OPENAI_TEXT_STREAM.as_bytes());
    let evs = events(&out);
    assert_eq!(evs.last().unwrap().1, "[DONE]");
}

#[test]
fn started_waits_for_content() {
    let mut conv = OpenAi.stream_converter(Endpoint::ChatCompletions, false);
    let mut parts = OPENAI_TEXT_STREAM.split_inclusive("\n\n");
    let first = conv.push(parts.next().unwrap().as_bytes()).unwrap();
    assert!(!first.is_empty(), "the role chunk is forwarded at once");
    assert!(!conv.started(), "an empty role chunk is no content");
    conv.push(parts.next().unwrap().as_bytes()).unwrap();
    assert!(conv.started());

    let mut conv = OpenAi.stream_converter(Endpoint::ChatCompletions, false);
    conv.push(
        OPENAI_TOOL_STREAM
            .split_inclusive("\n\n")
            .next()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert!(conv.started(), "a tool call is content");
    let mut conv = OpenAi.stream_converter(Endpoint::Completions, false);
    conv.push(br#"data: {"id":"cmpl-1","object":"text_completion","choices":[{"text":"This","index":0,"logprobs":null,"finish_reason":null}],"model":"gpt-3.5-turbo-instruct"}

"#).unwrap();
    assert!(conv.started());
}

#[test]
fn usage_detection_skips_null_usage_and_strings() {
    assert!(carries_usage(
        r#"{"choices":[],"usage" : {"prompt_tokens":1}}"#
    ));
    assert!(!carries_usage(r#"{"choices":[],"usage":null}"#));
    assert!(!carries_usage(
        r#"{"choices":[{"delta":{"content":"\"usage\": {"}}]}"#
    ));
}

#[test]
fn errors_stay_openai_for_openai_clients_and_become_anthropic_for_messages_clients() {
    let body = br#"{"error":{"message":"Invalid 'messages[0].role'","type":"invalid_request_error","param":"messages[0].role","code":null}}"#;
    assert_eq!(
        OpenAi.convert_error(Endpoint::ChatCompletions, 400, body),
        &body[..]
    );
    let v = json(&OpenAi.convert_error(Endpoint::Messages, 400, body));
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
}
