use super::*;
use crate::providers::fixtures::obj;

const MODEL: &str = "claude-sonnet-4-5-20250929";

fn translate(v: Value) -> Value {
    Value::Object(request(&obj(v), MODEL).unwrap())
}

fn refused(v: Value) -> String {
    match request(&obj(v), MODEL).unwrap_err() {
        ProviderError::BadRequest { param, .. } => param.unwrap_or_default(),
        e => panic!("not a bad request: {e}"),
    }
}

#[test]
fn plain_text_gets_a_default_max_tokens() {
    let out = translate(
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello!"}],
        "presence_penalty": 0.5, "seed": 1}),
    );
    assert_eq!(
        out,
        json!({"model": MODEL, "max_tokens": 4096, "messages": [{"role": "user", "content": "Hello!"}]})
    );
}

#[test]
fn system_and_developer_messages_become_the_system_prompt() {
    let out = translate(json!({"messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        {"role": "user", "content": "Hi"},
    ], "max_completion_tokens": 300, "max_tokens": 10}));
    assert_eq!(out["system"], "You are terse.\n\nAnswer in French.");
    assert_eq!(out["messages"], json!([{"role": "user", "content": "Hi"}]));
    assert_eq!(out["max_tokens"], 300);
}

#[test]
fn multi_turn_with_sampling_stop_and_user() {
    let out = translate(json!({"messages": [
        {"role": "user", "content": "Hello there."},
        {"role": "assistant", "content": "Hi, I'm Claude. How can I help you?"},
        {"role": "user", "content": "Can you explain LLMs in plain English?"},
    ], "temperature": 0.2, "top_p": 0.9, "stop": "\n\nHuman:", "user": "user-42", "stream": true}));
    assert_eq!(out["messages"].as_array().unwrap().len(), 3);
    assert_eq!(
        out["messages"][1],
        json!({"role": "assistant", "content": [{"type": "text", "text": "Hi, I'm Claude. How can I help you?"}]})
    );
    assert_eq!(out["temperature"], 0.2);
    assert_eq!(out["top_p"], 0.9);
    assert_eq!(out["stop_sequences"], json!(["\n\nHuman:"]));
    assert_eq!(out["metadata"], json!({"user_id": "user-42"}));
    assert_eq!(out["stream"], true);
    let out = translate(json!({"messages": [], "stop": ["a", "b"]}));
    assert_eq!(out["stop_sequences"], json!(["a", "b"]));
}

#[test]
fn image_parts_become_image_blocks() {
    let out = translate(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in these images?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg==", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/a.jpg"}},
    ]}]}));
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is in these images?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
            {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/a.jpg"}},
        ])
    );
    let param = refused(json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}]}]}));
    assert_eq!(param, "messages[0].content[0]");
    let param = refused(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi"}, {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}]}]}));
    assert_eq!(param, "messages[0].content[1]");
}

#[test]
fn a_tool_round_trip() {
    let out = translate(json!({
        "messages": [
            {"role": "user", "content": "Weather in Paris and Tokyo?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Tokyo\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "25C"}]},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}, "strict": true}}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
    }));
    assert_eq!(
        out["tools"],
        json!([{"name": "get_weather", "description": "Current weather",
        "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}])
    );
    assert_eq!(
        out["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    let m = out["messages"].as_array().unwrap();
    assert_eq!(m.len(), 4, "the two tool results share one user message");
    assert_eq!(
        m[1]["content"],
        json!([
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"location": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"location": "Tokyo"}},
        ])
    );
    assert_eq!(
        m[2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": "25C"},
        ]})
    );
    assert_eq!(m[3], json!({"role": "user", "content": "Thanks"}));
}

#[test]
fn tool_choice_variants() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let choice = |c: Value| translate(json!({"messages": [], "tools": tools, "tool_choice": c}));
    assert_eq!(
        choice(json!("auto"))["tool_choice"],
        json!({"type": "auto"})
    );
    assert_eq!(
        choice(json!({"type": "function", "function": {"name": "f"}}))["tool_choice"],
        json!({"type": "tool", "name": "f"})
    );
    assert_eq!(
        choice(json!({"type": "function", "function": {"name": "f"}}))["tools"][0]["input_schema"],
        json!({"type": "object", "properties": {}})
    );
    let none = choice(json!("none"));
    assert!(none.get("tools").is_none() && none.get("tool_choice").is_none());
    let with_history = translate(json!({"tools": tools, "tool_choice": "none", "messages": [
        {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "c", "content": "ok"}]}));
    assert_eq!(with_history["tool_choice"], json!({"type": "none"}));
    assert_eq!(
        with_history["messages"][0]["content"][0]["input"],
        json!({})
    );
}

#[test]
fn what_anthropic_cannot_express_is_refused() {
    let msgs = json!([{"role": "user", "content": "x"}]);
    assert_eq!(refused(json!({"messages": msgs, "n": 2})), "n");
    assert_eq!(
        refused(json!({"messages": msgs, "logprobs": true})),
        "logprobs"
    );
    assert_eq!(
        refused(json!({"messages": msgs, "response_format": {"type": "json_object"}})),
        "response_format"
    );
    assert_eq!(refused(json!({"messages": "x"})), "messages");
    assert_eq!(
        refused(json!({"messages": [{"role": "function", "name": "f", "content": "x"}]})),
        "messages[0].role"
    );
    assert_eq!(
        refused(json!({"messages": [{"role": "tool", "content": "x"}]})),
        "messages[0].tool_call_id"
    );
    assert_eq!(
        refused(
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1]"}}]}]})
        ),
        "messages[0].tool_calls[0].function.arguments"
    );
    assert_eq!(
        refused(json!({"messages": msgs, "tools": [{"type": "custom", "custom": {"name": "x"}}]})),
        "tools[0]"
    );
    // `n: 1` and a text response format are fine.
    translate(json!({"messages": msgs, "n": 1, "response_format": {"type": "text"}}));
}
