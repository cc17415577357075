use super::*;

fn json(b: &Bytes) -> Value {
    serde_json::from_slice(b).unwrap()
}

const MESSAGE_TEXT: &str = r#"{"content":[{"text":"Hi! My name is Claude.","type":"text"}],"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","model":"claude-sonnet-4-5-20250929","role":"assistant","stop_reason":"max_tokens","stop_sequence":null,"type":"message","usage":{"input_tokens":2095,"cache_read_input_tokens":5,"output_tokens":503}}"#;

const MESSAGE_TOOL: &str = r#"{"id":"msg_01Aq9w938a90dw8q","model":"claude-sonnet-4-5-20250929","stop_reason":"tool_use","role":"assistant","type":"message","content":[{"type":"thinking","thinking":"...","signature":"x"},{"type":"text","text":"I'll check the weather."},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA","unit":"celsius"}}],"usage":{"input_tokens":384,"output_tokens":91}}"#;

const CHAT_TOOL: &str = r#"{"id":"chatcmpl-abc123","object":"chat.completion","created":1699896916,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_current_weather","arguments":"{\n\"location\": \"Boston, MA\"\n}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99,"prompt_tokens_details":{"cached_tokens":64}}}"#;

#[test]
fn an_anthropic_text_message_becomes_a_chat_completion() {
    let (out, usage) = message_to_chat(MESSAGE_TEXT.as_bytes()).unwrap();
    let v = json(&out);
    assert_eq!(v["id"], "msg_013Zva2CMHLNnXjNJJKqJ2EF");
    assert_eq!(v["object"], "chat.completion");
    assert!(v["created"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(v["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hi! My name is Claude."
    );
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert!(v["choices"][0]["message"].get("tool_calls").is_none());
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 2100,
            completion_tokens: 503,
            cached_tokens: 5
        }
    );
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 2100, "completion_tokens": 503, "total_tokens": 2603,
        "prompt_tokens_details": {"cached_tokens": 5}})
    );
}

#[test]
fn tool_use_becomes_tool_calls() {
    let (out, _) = message_to_chat(MESSAGE_TOOL.as_bytes()).unwrap();
    let v = json(&out);
    let msg = &v["choices"][0]["message"];
    assert_eq!(msg["content"], "I'll check the weather.");
    assert_eq!(msg["tool_calls"][0]["id"], "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(msg["tool_calls"][0]["type"], "function");
    assert_eq!(msg["tool_calls"][0]["function"]["name"], "get_weather");
    let args: Value = serde_json::from_str(
        msg["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        args,
        json!({"location": "San Francisco, CA", "unit": "celsius"})
    );
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn a_chat_completion_becomes_an_anthropic_message() {
    let body = r#"{"id":"chatcmpl-123","object":"chat.completion","created":1677652288,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there!","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}"#;
    let (out, usage) = chat_to_message(body.as_bytes()).unwrap();
    assert_eq!(
        json(&out),
        json!({
            "id": "chatcmpl-123", "type": "message", "role": "assistant", "model": "gpt-4o-mini",
            "content": [{"type": "text", "text": "Hello there!"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 9, "output_tokens": 12, "cache_read_input_tokens": 0},
        })
    );
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 9,
            completion_tokens: 12,
            cached_tokens: 0
        }
    );
}

#[test]
fn tool_calls_become_tool_use_blocks() {
    let (out, usage) = chat_to_message(CHAT_TOOL.as_bytes()).unwrap();
    let v = json(&out);
    assert_eq!(
        v["content"],
        json!([{"type": "tool_use", "id": "call_abc123", "name": "get_current_weather",
        "input": {"location": "Boston, MA"}}])
    );
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 18, "output_tokens": 17, "cache_read_input_tokens": 64})
    );
    assert_eq!(usage.cached_tokens, 64);
    assert_eq!(tool_input("{\"cut off"), json!({}));
}

#[test]
fn length_and_missing_ids() {
    let body = r#"{"id":"","model":"llama3","choices":[{"message":{"content":"partial"},"finish_reason":"length"}]}"#;
    let v = json(&chat_to_message(body.as_bytes()).unwrap().0);
    assert_eq!(v["stop_reason"], "max_tokens");
    assert!(v["id"].as_str().unwrap().starts_with("msg_"));
}

#[test]
fn unreadable_bodies_are_bad_upstream() {
    assert!(matches!(
        chat_to_message(b"not json"),
        Err(ProviderError::BadUpstream(_))
    ));
    assert!(matches!(
        message_to_chat(b"[1]"),
        Err(ProviderError::BadUpstream(_))
    ));
}
