//! An Anthropic messages request -> an OpenAI chat-completions request.
//!
//! Anthropic-only knobs with no OpenAI equivalent that do not change the answer's shape
//! (`top_k`, `thinking`, `cache_control`, `service_tier`) are dropped; server tools and
//! document blocks are refused.

use crate::providers::{ProviderError, Result};
use serde_json::{Map, Value, json};

/// `max_completion_tokens`: OpenAI's own API (its reasoning models refuse `max_tokens`);
/// otherwise `max_tokens`, which every OpenAI-compatible server knows.
pub(crate) fn request(
    body: &Map<String, Value>,
    model: &str,
    max_completion_tokens: bool,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    out.insert("model".into(), model.into());

    let mut messages = Vec::new();
    match body.get("system") {
        None | Some(Value::Null) => {}
        Some(system) => {
            let text = block_text(system, "system")?;
            if !text.is_empty() {
                messages.push(json!({"role": "system", "content": text}));
            }
        }
    }
    let Some(input) = body.get("messages").and_then(Value::as_array) else {
        return Err(ProviderError::bad_request(
            "`messages` must be an array",
            "messages",
        ));
    };
    for (i, m) in input.iter().enumerate() {
        let content = m.get("content").unwrap_or(&Value::Null);
        match m.get("role").and_then(Value::as_str) {
            Some("user") => user(content, i, &mut messages)?,
            Some("assistant") => messages.push(assistant(content, i)?),
            _ => {
                return Err(ProviderError::bad_request(
                    "message `role` must be `user` or `assistant`",
                    format!("messages.{i}.role"),
                ));
            }
        }
    }
    out.insert("messages".into(), messages.into());

    if let Some(n) = body.get("max_tokens").and_then(Value::as_u64) {
        let key = if max_completion_tokens {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        out.insert(key.into(), n.into());
    }
    if let Some(stop) = body
        .get("stop_sequences")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
    {
        out.insert("stop".into(), stop.clone().into());
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = body.get(key).filter(|v| v.is_number()) {
            out.insert(key.into(), v.clone());
        }
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), true.into());
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if let Some(user) = body
        .get("metadata")
        .and_then(|m| m.get("user_id"))
        .and_then(Value::as_str)
    {
        out.insert("user".into(), user.into());
    }
    tools(body, &mut out)?;
    Ok(out)
}

/// The text of a string or an array of `text` blocks; anything else is refused.
fn block_text(content: &Value, param: &str) -> Result<String> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut text = Vec::with_capacity(blocks.len());
            for (j, b) in blocks.iter().enumerate() {
                match (
                    b.get("type").and_then(Value::as_str),
                    b.get("text").and_then(Value::as_str),
                ) {
                    (Some("text"), Some(t)) => text.push(t),
                    _ => {
                        return Err(ProviderError::bad_request(
                            "only text blocks are supported here by OpenAI-compatible deployments",
                            format!("{param}.{j}"),
                        ));
                    }
                }
            }
            Ok(text.join("\n"))
        }
        _ => Err(ProviderError::bad_request(
            "content must be a string or an array of blocks",
            param,
        )),
    }
}

/// A user turn: its `tool_result` blocks become `tool` messages (first, as Anthropic orders
/// them), the rest one user message.
fn user(content: &Value, i: usize, out: &mut Vec<Value>) -> Result<()> {
    let Value::Array(blocks) = content else {
        out.push(json!({"role": "user", "content": block_text(content, &format!("messages.{i}.content"))?}));
        return Ok(());
    };
    let mut parts = Vec::new();
    for (j, b) in blocks.iter().enumerate() {
        let param = format!("messages.{i}.content.{j}");
        match b.get("type").and_then(Value::as_str) {
            Some("text") => parts
                .push(json!({"type": "text", "text": b.get("text").cloned().unwrap_or_default()})),
            Some("image") => parts.push(image_part(b).ok_or_else(|| {
                ProviderError::bad_request(
                    "an image needs a `base64` or `url` source",
                    param.clone(),
                )
            })?),
            Some("tool_result") => {
                let id = b
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ProviderError::bad_request(
                            "a `tool_result` needs a `tool_use_id`",
                            param.clone(),
                        )
                    })?;
                let text = match b.get("content") {
                    None | Some(Value::Null) => String::new(),
                    Some(c) => block_text(c, &format!("{param}.content"))?,
                };
                out.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
            }
            other => {
                return Err(ProviderError::bad_request(
                    format!(
                        "content block type `{}` is not supported by OpenAI-compatible deployments",
                        other.unwrap_or("")
                    ),
                    param,
                ));
            }
        }
    }
    match parts.as_slice() {
        [] => {}
        [only] if only["type"] == "text" => {
            out.push(json!({"role": "user", "content": only["text"]}))
        }
        _ => out.push(json!({"role": "user", "content": parts})),
    }
    Ok(())
}

fn image_part(block: &Value) -> Option<Value> {
    let source = block.get("source")?;
    let url = match source.get("type").and_then(Value::as_str)? {
        "base64" => format!(
            "data:{};base64,{}",
            source.get("media_type")?.as_str()?,
            source.get("data")?.as_str()?
        ),
        "url" => source.get("url")?.as_str()?.to_owned(),
        _ => return None,
    };
    Some(json!({"type": "image_url", "image_url": {"url": url}}))
}

fn assistant(content: &Value, i: usize) -> Result<Value> {
    let Value::Array(blocks) = content else {
        return Ok(
            json!({"role": "assistant", "content": block_text(content, &format!("messages.{i}.content"))?}),
        );
    };
    let mut text = String::new();
    let mut calls = Vec::new();
    for (j, b) in blocks.iter().enumerate() {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(b.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => calls.push(json!({
                "id": b.get("id").cloned().unwrap_or_default(),
                "type": "function",
                "function": {
                    "name": b.get("name").cloned().unwrap_or_default(),
                    "arguments": b.get("input").unwrap_or(&json!({})).to_string(),
                },
            })),
            // Reasoning of an earlier turn: OpenAI-compatible servers have nowhere to take it.
            Some("thinking" | "redacted_thinking") => {}
            other => {
                return Err(ProviderError::bad_request(
                    format!(
                        "content block type `{}` is not supported by OpenAI-compatible deployments",
                        other.unwrap_or("")
                    ),
                    format!("messages.{i}.content.{j}"),
                ));
            }
        }
    }
    let mut msg = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        if text.is_empty() {
            msg["content"] = Value::Null;
        }
        msg["tool_calls"] = calls.into();
    }
    Ok(msg)
}

fn tools(body: &Map<String, Value>, out: &mut Map<String, Value>) -> Result<()> {
    let Some(defs) = body
        .get("tools")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
    else {
        return Ok(());
    };
    let mut tools = Vec::with_capacity(defs.len());
    for (i, t) in defs.iter().enumerate() {
        let custom = t
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(|k| k == "custom");
        let Some(name) = t.get("name").and_then(Value::as_str).filter(|_| custom) else {
            return Err(ProviderError::bad_request(
                "only custom tools (`name`, `input_schema`) are supported by OpenAI-compatible deployments",
                format!("tools.{i}"),
            ));
        };
        let mut function = json!({
            "name": name,
            "parameters": t.get("input_schema").cloned().unwrap_or_else(|| json!({"type": "object"})),
        });
        if let Some(d) = t.get("description") {
            function["description"] = d.clone();
        }
        tools.push(json!({"type": "function", "function": function}));
    }
    out.insert("tools".into(), tools.into());
    let Some(choice) = body.get("tool_choice") else {
        return Ok(());
    };
    let mapped = match choice.get("type").and_then(Value::as_str) {
        Some("auto") => json!("auto"),
        Some("any") => json!("required"),
        Some("none") => json!("none"),
        Some("tool") => match choice.get("name").and_then(Value::as_str) {
            Some(name) => json!({"type": "function", "function": {"name": name}}),
            None => {
                return Err(ProviderError::bad_request(
                    "`tool_choice` of type `tool` needs a `name`",
                    "tool_choice",
                ));
            }
        },
        _ => {
            return Err(ProviderError::bad_request(
                "`tool_choice` is not valid",
                "tool_choice",
            ));
        }
    };
    out.insert("tool_choice".into(), mapped);
    if choice
        .get("disable_parallel_tool_use")
        .and_then(Value::as_bool)
        == Some(true)
    {
        out.insert("parallel_tool_calls".into(), false.into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "messages_to_chat_tests.rs"]
mod tests;
