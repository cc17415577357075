//! The stub's answers: bodies and stream events shaped like the providers' own, with usage.

use super::Behaviour;
use axum::body::Bytes;
use serde_json::{Value, json};

fn text(b: &Behaviour) -> String {
    b.text.concat()
}

fn openai_usage(b: &Behaviour) -> Value {
    json!({
        "prompt_tokens": b.prompt_tokens,
        "completion_tokens": b.completion_tokens,
        "total_tokens": b.prompt_tokens + b.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
    })
}

pub(super) fn openai_chat(b: &Behaviour, model: &str) -> Value {
    json!({
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "system_fingerprint": "fp_stub",
        "x_stub_extra": {"kept": [1, {"nested": true}]},
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text(b), "refusal": null},
            "logprobs": null,
            "finish_reason": "stop",
        }],
        "usage": openai_usage(b),
    })
}

pub(super) fn openai_completion(b: &Behaviour, model: &str) -> Value {
    json!({
        "id": "cmpl-stub",
        "object": "text_completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "text": text(b), "logprobs": null, "finish_reason": "stop"}],
        "usage": openai_usage(b),
    })
}

pub(super) fn anthropic_message(b: &Behaviour, model: &str) -> Value {
    let mut content = vec![json!({"type": "text", "text": text(b)})];
    if b.tool_call {
        content.push(
            json!({"type": "tool_use", "id": "toolu_stub", "name": "get_weather",
            "input": {"city": "Paris"}}),
        );
    }
    json!({
        "id": "msg_stub",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": if b.tool_call { "tool_use" } else { "end_turn" },
        "stop_sequence": null,
        "usage": {"input_tokens": b.prompt_tokens, "output_tokens": b.completion_tokens},
    })
}

fn data(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

/// A chat stream as OpenAI sends it: `usage: null` on every chunk and a final usage chunk
/// with no choices only when `stream_options.include_usage` was set.
pub(super) fn openai_events(b: &Behaviour, model: &str, include_usage: bool) -> Vec<Bytes> {
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({
            "id": "chatcmpl-stub",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": model,
            "system_fingerprint": "fp_stub",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        data(&c)
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for t in &b.text {
        out.push(chunk(json!({"content": t}), Value::Null));
    }
    out.push(chunk(json!({}), json!("stop")));
    if include_usage {
        out.push(data(&json!({
            "id": "chatcmpl-stub",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": model,
            "choices": [],
            "usage": openai_usage(b),
        })));
    }
    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
    out
}

fn event(name: &str, v: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {v}\n\n"))
}

pub(super) fn anthropic_events(b: &Behaviour, model: &str) -> Vec<Bytes> {
    let mut out = vec![event(
        "message_start",
        &json!({"type": "message_start", "message": {"id": "msg_stub", "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": {"input_tokens": b.prompt_tokens, "output_tokens": 1}}}),
    )];
    out.push(event(
        "content_block_start",
        &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ));
    out.push(event("ping", &json!({"type": "ping"})));
    for t in &b.text {
        out.push(event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": t}}),
        ));
    }
    out.push(event(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    if b.tool_call {
        out.push(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 1, "content_block":
                {"type": "tool_use", "id": "toolu_stub", "name": "get_weather", "input": {}}}),
        ));
        for part in ["{\"city\":", " \"Paris\"}"] {
            out.push(event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": part}}),
            ));
        }
        out.push(event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": 1}),
        ));
    }
    out.push(event(
        "message_delta",
        &json!({"type": "message_delta",
            "delta": {"stop_reason": if b.tool_call { "tool_use" } else { "end_turn" }, "stop_sequence": null},
            "usage": {"output_tokens": b.completion_tokens}}),
    ));
    out.push(event("message_stop", &json!({"type": "message_stop"})));
    out
}
