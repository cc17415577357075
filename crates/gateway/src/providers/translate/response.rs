//! Non-streaming responses: an Anthropic message <-> an OpenAI `chat.completion`.

use super::{finish_reason, new_id, stop_reason, text_of};
use crate::providers::usage::{AnthropicUsage, OpenAiUsage, anthropic_json, openai_json};
use crate::providers::{ProviderError, Result, Usage, now_unix};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

fn unreadable(e: serde_json::Error) -> ProviderError {
    ProviderError::BadUpstream(format!("unreadable upstream response: {e}"))
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    content: Vec<Value>,
    stop_reason: Option<String>,
    #[serde(default)]
    usage: AnthropicUsage,
}

/// An Anthropic message -> an OpenAI chat completion.
pub(crate) fn message_to_chat(body: &[u8]) -> Result<(Bytes, Usage)> {
    let m: Message = serde_json::from_slice(body).map_err(unreadable)?;
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in &m.content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => calls.push(json!({
                "id": block.get("id").cloned().unwrap_or_default(),
                "type": "function",
                "function": {
                    "name": block.get("name").cloned().unwrap_or_default(),
                    "arguments": block.get("input").unwrap_or(&json!({})).to_string(),
                },
            })),
            // Thinking and server-tool blocks have no place in an OpenAI message.
            _ => {}
        }
    }
    let mut message = json!({"role": "assistant", "content": text, "refusal": null});
    if !calls.is_empty() {
        if text.is_empty() {
            message["content"] = Value::Null;
        }
        message["tool_calls"] = calls.into();
    }
    let usage = Usage::from(m.usage);
    let id = if m.id.is_empty() {
        new_id("chatcmpl-")
    } else {
        m.id
    };
    let body = json!({
        "id": id,
        "object": "chat.completion",
        "created": now_unix(),
        "model": m.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason(m.stop_reason.as_deref().unwrap_or("end_turn")),
        }],
        "usage": openai_json(usage),
    });
    Ok((Bytes::from(body.to_string()), usage))
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: ChatMessage,
    finish_reason: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ChatMessage {
    content: Value,
    refusal: Option<String>,
    tool_calls: Vec<ToolCall>,
}

#[derive(Deserialize)]
struct ToolCall {
    #[serde(default)]
    id: String,
    #[serde(default)]
    function: Function,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Function {
    name: String,
    arguments: String,
}

/// An OpenAI chat completion -> an Anthropic message.
pub(crate) fn chat_to_message(body: &[u8]) -> Result<(Bytes, Usage)> {
    let c: Completion = serde_json::from_slice(body).map_err(unreadable)?;
    let choice = c.choices.into_iter().next();
    let mut content = Vec::new();
    let mut stop = "end_turn";
    if let Some(choice) = choice {
        let text = text_of(&choice.message.content);
        for t in [Some(text), choice.message.refusal].into_iter().flatten() {
            if !t.is_empty() {
                content.push(json!({"type": "text", "text": t}));
            }
        }
        for call in choice.message.tool_calls {
            content.push(json!({
                "type": "tool_use",
                "id": call.id,
                "name": call.function.name,
                "input": tool_input(&call.function.arguments),
            }));
        }
        stop = stop_reason(choice.finish_reason.as_deref().unwrap_or("stop"));
    }
    let usage = c.usage.map(Usage::from).unwrap_or_default();
    let id = if c.id.is_empty() {
        new_id("msg_")
    } else {
        c.id
    };
    let body = json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": c.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": anthropic_json(usage),
    });
    Ok((Bytes::from(body.to_string()), usage))
}

/// Tool arguments as Anthropic's `input` object. A model may emit invalid JSON (e.g. cut off
/// by `max_tokens`); the call is kept, with an empty input, rather than failing the response.
pub(crate) fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            if !arguments.trim().is_empty() {
                tracing::warn!("tool call arguments are not a JSON object; sent as an empty input");
            }
            json!({})
        }
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
