//! An OpenAI chat-completions request -> an Anthropic messages request.
//!
//! Fields Anthropic has no equivalent for and that do not change the answer's meaning
//! (`seed`, penalties, `logit_bias`, `service_tier` ...) are dropped, since Anthropic rejects
//! unknown fields; those that would change it (`n > 1`, `logprobs`, JSON response formats)
//! are refused.

use super::text_of;
use crate::providers::{ProviderError, Result};
use serde_json::{Map, Value, json};

/// Anthropic requires `max_tokens`; this is used when the client set no limit.
pub(crate) const DEFAULT_MAX_TOKENS: u64 = 4096;

pub(crate) fn request(body: &Map<String, Value>, model: &str) -> Result<Map<String, Value>> {
    refuse_inexpressible(body)?;
    let mut out = Map::new();
    out.insert("model".into(), model.into());

    let (system, messages) = messages(body.get("messages"))?;
    if !system.is_empty() {
        out.insert("system".into(), system.join("\n\n").into());
    }
    let history_has_tools = messages.iter().any(|m| {
        m["content"]
            .as_array()
            .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_use"))
    });
    out.insert("messages".into(), messages.into());

    let max_tokens = ["max_completion_tokens", "max_tokens"]
        .iter()
        .find_map(|k| body.get(*k).and_then(Value::as_u64))
        .unwrap_or(DEFAULT_MAX_TOKENS);
    out.insert("max_tokens".into(), max_tokens.into());

    match body.get("stop") {
        Some(Value::String(s)) => {
            out.insert("stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(a)) if !a.is_empty() => {
            out.insert("stop_sequences".into(), a.clone().into());
        }
        _ => {}
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = body.get(key).filter(|v| v.is_number()) {
            out.insert(key.into(), v.clone());
        }
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), true.into());
    }
    if let Some(user) = body.get("user").and_then(Value::as_str) {
        out.insert("metadata".into(), json!({"user_id": user}));
    }
    tools(body, history_has_tools, &mut out)?;
    Ok(out)
}

fn refuse_inexpressible(body: &Map<String, Value>) -> Result<()> {
    if body.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(ProviderError::bad_request(
            "`n` greater than 1 is not supported by Anthropic deployments",
            "n",
        ));
    }
    if body.get("logprobs").and_then(Value::as_bool) == Some(true) {
        return Err(ProviderError::bad_request(
            "`logprobs` is not supported by Anthropic deployments",
            "logprobs",
        ));
    }
    let format = body
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str);
    if format.is_some_and(|t| t != "text") {
        return Err(ProviderError::bad_request(
            "`response_format` other than `text` is not supported by Anthropic deployments",
            "response_format",
        ));
    }
    if body.contains_key("functions") {
        return Err(ProviderError::bad_request(
            "legacy `functions` are not supported by Anthropic deployments; use `tools`",
            "functions",
        ));
    }
    Ok(())
}

/// The system prompt parts and the Anthropic messages.
fn messages(messages: Option<&Value>) -> Result<(Vec<String>, Vec<Value>)> {
    let Some(messages) = messages.and_then(Value::as_array) else {
        return Err(ProviderError::bad_request(
            "`messages` must be an array",
            "messages",
        ));
    };
    let mut system = Vec::new();
    let mut out: Vec<Value> = Vec::new();
    // Whether the last message in `out` holds `tool_result` blocks that more may join.
    let mut in_tool_results = false;
    for (i, m) in messages.iter().enumerate() {
        let content = m.get("content").unwrap_or(&Value::Null);
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let joins_tool_results = role == "tool";
        match role {
            "system" | "developer" => system.push(text_of(content)),
            "user" => out.push(json!({"role": "user", "content": user_content(content, i)?})),
            "assistant" => {
                let blocks = assistant_blocks(m, content, i)?;
                if !blocks.is_empty() {
                    out.push(json!({"role": "assistant", "content": blocks}));
                }
            }
            "tool" => {
                let Some(id) = m.get("tool_call_id").and_then(Value::as_str) else {
                    return Err(ProviderError::bad_request(
                        "a `tool` message needs a `tool_call_id`",
                        format!("messages[{i}].tool_call_id"),
                    ));
                };
                let block =
                    json!({"type": "tool_result", "tool_use_id": id, "content": text_of(content)});
                match out
                    .last_mut()
                    .and_then(|last| last["content"].as_array_mut())
                {
                    Some(blocks) if in_tool_results => blocks.push(block),
                    _ => out.push(json!({"role": "user", "content": [block]})),
                }
            }
            _ => {
                return Err(ProviderError::bad_request(
                    format!("message role `{role}` is not supported by Anthropic deployments"),
                    format!("messages[{i}].role"),
                ));
            }
        }
        if role != "system" && role != "developer" {
            in_tool_results = joins_tool_results;
        }
    }
    Ok((system, out))
}

fn user_content(content: &Value, i: usize) -> Result<Value> {
    let Value::Array(parts) = content else {
        return Ok(Value::String(text_of(content)));
    };
    let mut blocks = Vec::with_capacity(parts.len());
    for (j, part) in parts.iter().enumerate() {
        let param = || format!("messages[{i}].content[{j}]");
        match part.get("type").and_then(Value::as_str) {
            Some("text") => blocks.push(
                json!({"type": "text", "text": part.get("text").cloned().unwrap_or_default()}),
            ),
            Some("image_url") => {
                let url = part
                    .get("image_url")
                    .and_then(|u| u.get("url").or(Some(u)))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ProviderError::bad_request("an `image_url` part needs a `url`", param())
                    })?;
                blocks.push(image_block(url).ok_or_else(|| {
                    ProviderError::bad_request(
                        "image data URLs must be base64 (`data:<type>;base64,...`)",
                        param(),
                    )
                })?);
            }
            other => {
                return Err(ProviderError::bad_request(
                    format!(
                        "content part type `{}` is not supported by Anthropic deployments",
                        other.unwrap_or("")
                    ),
                    param(),
                ));
            }
        }
    }
    Ok(Value::Array(blocks))
}

/// An Anthropic image block for an OpenAI image URL (a base64 data URL or an http URL).
fn image_block(url: &str) -> Option<Value> {
    let Some(data_url) = url.strip_prefix("data:") else {
        return Some(json!({"type": "image", "source": {"type": "url", "url": url}}));
    };
    let (meta, data) = data_url.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some(
        json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}),
    )
}

fn assistant_blocks(m: &Value, content: &Value, i: usize) -> Result<Vec<Value>> {
    let mut blocks = Vec::new();
    let mut push_text = |t: &str| {
        if !t.is_empty() {
            blocks.push(json!({"type": "text", "text": t}));
        }
    };
    match content {
        Value::String(s) => push_text(s),
        Value::Array(parts) => {
            for p in parts {
                if let Some(t) = p
                    .get("text")
                    .or_else(|| p.get("refusal"))
                    .and_then(Value::as_str)
                {
                    push_text(t);
                }
            }
        }
        _ => {}
    }
    for (j, call) in m
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let param = format!("messages[{i}].tool_calls[{j}]");
        let function = call.get("function");
        let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
        let (Some(id), Some(name)) = (call.get("id").and_then(Value::as_str), name) else {
            return Err(ProviderError::bad_request(
                "a tool call needs an `id` and a `function.name`",
                param,
            ));
        };
        let arguments = function
            .and_then(|f| f.get("arguments"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let input = if arguments.trim().is_empty() {
            json!({})
        } else {
            match serde_json::from_str::<Value>(arguments) {
                Ok(v @ Value::Object(_)) => v,
                _ => {
                    return Err(ProviderError::bad_request(
                        "tool call `arguments` must be a JSON object",
                        format!("{param}.function.arguments"),
                    ));
                }
            }
        };
        blocks.push(json!({"type": "tool_use", "id": id, "name": name, "input": input}));
    }
    Ok(blocks)
}

fn tools(
    body: &Map<String, Value>,
    history_has_tools: bool,
    out: &mut Map<String, Value>,
) -> Result<()> {
    let Some(defs) = body
        .get("tools")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
    else {
        return Ok(());
    };
    let mut tools = Vec::with_capacity(defs.len());
    for (i, t) in defs.iter().enumerate() {
        let f = t
            .get("function")
            .filter(|_| t.get("type").is_none_or(|k| k == "function"));
        let Some(name) = f.and_then(|f| f.get("name")).and_then(Value::as_str) else {
            return Err(ProviderError::bad_request(
                "only `function` tools with a name are supported by Anthropic deployments",
                format!("tools[{i}]"),
            ));
        };
        let mut tool = json!({
            "name": name,
            "input_schema": f.and_then(|f| f.get("parameters")).cloned()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        });
        if let Some(d) = f.and_then(|f| f.get("description")) {
            tool["description"] = d.clone();
        }
        tools.push(tool);
    }
    let mut choice = match body.get("tool_choice") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "auto" => Some(json!({"type": "auto"})),
        Some(Value::String(s)) if s == "required" => Some(json!({"type": "any"})),
        // Tools stay defined when the history uses them (Anthropic needs them then).
        Some(Value::String(s)) if s == "none" && history_has_tools => Some(json!({"type": "none"})),
        Some(Value::String(s)) if s == "none" => return Ok(()),
        Some(c) => match c
            .get("function")
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
        {
            Some(name) => Some(json!({"type": "tool", "name": name})),
            None => {
                return Err(ProviderError::bad_request(
                    "`tool_choice` is not valid",
                    "tool_choice",
                ));
            }
        },
    };
    if body.get("parallel_tool_calls").and_then(Value::as_bool) == Some(false) {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if c["type"] != "none" {
            c["disable_parallel_tool_use"] = true.into();
        }
    }
    out.insert("tools".into(), tools.into());
    if let Some(c) = choice {
        out.insert("tool_choice".into(), c);
    }
    Ok(())
}

#[cfg(test)]
#[path = "chat_to_messages_tests.rs"]
mod tests;
