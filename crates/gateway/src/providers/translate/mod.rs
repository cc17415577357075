//! Translation between the OpenAI chat-completions and Anthropic messages dialects: requests,
//! responses, streams and error bodies, in both directions.

pub(crate) mod chat_to_messages;
pub(crate) mod errors;
pub(crate) mod messages_to_chat;
pub(crate) mod response;
pub(crate) mod stream_to_anthropic;
pub(crate) mod stream_to_openai;

use serde_json::Value;

/// Anthropic `stop_reason` -> OpenAI `finish_reason`.
pub(crate) fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        // `end_turn`, `stop_sequence`, `pause_turn` and anything newer.
        _ => "stop",
    }
}

/// OpenAI `finish_reason` -> Anthropic `stop_reason`.
pub(crate) fn stop_reason(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// Appends `data: {json}` and a blank line.
pub(crate) fn write_data(out: &mut Vec<u8>, value: &Value) {
    out.extend_from_slice(b"data: ");
    // Writing a `Value` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
    out.extend_from_slice(b"\n\n");
}

/// Appends `event: {name}`, `data: {json}` and a blank line.
pub(crate) fn write_event(out: &mut Vec<u8>, name: &str, value: &Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.push(b'\n');
    write_data(out, value);
}

/// A fresh id for a message the upstream gave none: `prefix` + a UUID v7.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

/// The text of OpenAI content (a string or an array of `text` parts).
pub(crate) fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_round_trip() {
        for (a, o) in [
            ("end_turn", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
        ] {
            assert_eq!(finish_reason(a), o);
            assert_eq!(stop_reason(o), a);
        }
        assert_eq!(finish_reason("stop_sequence"), "stop");
    }

    #[test]
    fn sse_writers_frame_events() {
        let mut out = Vec::new();
        write_event(&mut out, "ping", &serde_json::json!({"type": "ping"}));
        write_data(&mut out, &Value::Null);
        assert_eq!(
            out,
            b"event: ping\ndata: {\"type\":\"ping\"}\n\ndata: null\n\n"
        );
    }
}
