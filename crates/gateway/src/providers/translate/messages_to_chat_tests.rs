use super::*;
use crate::providers::fixtures::obj;

fn translate(v: Value) -> Value {
    Value::Object(request(&obj(v), "gpt-4o", true).unwrap())
}

fn refused(v: Value) -> String {
    match request(&obj(v), "gpt-4o", true).unwrap_err() {
        ProviderError::BadRequest { param, .. } => param.unwrap_or_default(),
        e => panic!("not a bad request: {e}"),
    }
}

#[test]
fn plain_text_with_a_system_prompt() {
    let out = translate(
        json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello, Claude"}], "top_k": 5}),
    );
    assert_eq!(
        out,
        json!({"model": "gpt-4o", "max_completion_tokens": 1024, "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello, Claude"},
        ]})
    );
    let out = Value::Object(
        request(
            &obj(json!({"max_tokens": 5, "messages": []})),
            "llama3",
            false,
        )
        .unwrap(),
    );
    assert_eq!(out["max_tokens"], 5);
}

#[test]
fn system_blocks_multi_turn_and_parameters() {
    let out = translate(json!({
        "max_tokens": 10,
        "system": [{"type": "text", "text": "One."}, {"type": "text", "text": "Two.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hello there."}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Hi, I'm Claude."}]},
            {"role": "user", "content": "Explain LLMs."},
        ],
        "stop_sequences": ["END"], "temperature": 0.5, "top_p": 0.8, "stream": true,
        "metadata": {"user_id": "u-1"},
    }));
    assert_eq!(
        out["messages"],
        json!([
            {"role": "system", "content": "One.\nTwo."},
            {"role": "user", "content": "Hello there."},
            {"role": "assistant", "content": "Hi, I'm Claude."},
            {"role": "user", "content": "Explain LLMs."},
        ])
    );
    assert_eq!(out["stop"], json!(["END"]));
    assert_eq!(out["temperature"], 0.5);
    assert_eq!(out["top_p"], 0.8);
    assert_eq!(out["stream"], true);
    assert_eq!(out["stream_options"], json!({"include_usage": true}));
    assert_eq!(out["user"], "u-1");
}

#[test]
fn images_become_image_url_parts() {
    let out = translate(
        json!({"max_tokens": 1, "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            {"type": "text", "text": "Compare."},
        ]}]}),
    );
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            {"type": "text", "text": "Compare."},
        ])
    );
}

#[test]
fn a_tool_round_trip() {
    let out = translate(json!({
        "max_tokens": 100,
        "tools": [{"name": "get_weather", "description": "Get the current weather",
            "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "messages": [
            {"role": "user", "content": "Weather in SF?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should call the tool.", "signature": "sig"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": [{"type": "text", "text": "15 degrees"}]},
                {"type": "text", "text": "And tomorrow?"},
            ]},
        ],
    }));
    assert_eq!(
        out["tools"],
        json!([{"type": "function", "function": {"name": "get_weather",
        "description": "Get the current weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}])
    );
    assert_eq!(out["tool_choice"], "required");
    assert_eq!(out["parallel_tool_calls"], false);
    let m = out["messages"].as_array().unwrap();
    assert_eq!(
        m[1],
        json!({"role": "assistant", "content": "Let me check.", "tool_calls": [{
        "id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"location\":\"San Francisco, CA\"}"}}]})
    );
    assert_eq!(
        m[2],
        json!({"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"})
    );
    assert_eq!(m[3], json!({"role": "user", "content": "And tomorrow?"}));
    assert_eq!(m.len(), 4);
}

#[test]
fn tool_choice_variants() {
    let tools = json!([{"name": "f", "input_schema": {"type": "object"}}]);
    let choice = |c: Value| {
        translate(json!({"max_tokens": 1, "messages": [], "tools": tools, "tool_choice": c}))["tool_choice"].clone()
    };
    assert_eq!(choice(json!({"type": "auto"})), "auto");
    assert_eq!(choice(json!({"type": "none"})), "none");
    assert_eq!(
        choice(json!({"type": "tool", "name": "f"})),
        json!({"type": "function", "function": {"name": "f"}})
    );
    let only_tools = translate(json!({"max_tokens": 1, "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]}]}));
    assert_eq!(only_tools["messages"][0]["content"], Value::Null);
}

#[test]
fn what_openai_cannot_express_is_refused() {
    assert_eq!(
        refused(
            json!({"max_tokens": 1, "messages": [], "tools": [{"type": "web_search_20250305", "name": "web_search"}]})
        ),
        "tools.0"
    );
    assert_eq!(
        refused(
            json!({"max_tokens": 1, "messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}}]}]})
        ),
        "messages.0.content.0"
    );
    assert_eq!(
        refused(json!({"max_tokens": 1, "messages": [{"role": "system", "content": "x"}]})),
        "messages.0.role"
    );
    assert_eq!(
        refused(
            json!({"max_tokens": 1, "messages": [], "tools": [{"name": "f"}], "tool_choice": {"type": "tool"}})
        ),
        "tool_choice"
    );
    assert_eq!(refused(json!({"max_tokens": 1})), "messages");
}
