//! OpenAI `chat.completion.chunk`s -> an Anthropic messages stream (for a messages client
//! served by an OpenAI-compatible or Azure deployment): `message_start`, one content block at
//! a time with its own index, `message_delta` with the stop reason and usage, `message_stop`.

use super::{new_id, stop_reason, write_event};
use crate::providers::sse::{Event, EventHandler};
use crate::providers::usage::{OpenAiUsage, anthropic_json};
use crate::providers::{ProviderError, Result, Usage};
use serde::Deserialize;
use serde_json::{Value, json};

/// The content block being written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    /// A tool call, by its OpenAI `index`.
    Tool(u64),
}

#[derive(Default)]
pub(crate) struct ChunksToEvents {
    id: String,
    model: String,
    message_started: bool,
    open: Option<Open>,
    /// Index of the next content block.
    next_block: u64,
    /// OpenAI tool-call indexes that already had a block.
    tools_seen: Vec<u64>,
    stop: Option<&'static str>,
    usage: Usage,
    started: bool,
    /// The upstream sent at least one event with data.
    seen: bool,
    done: bool,
}

impl ChunksToEvents {
    pub(crate) fn new() -> Self {
        ChunksToEvents::default()
    }
}

impl ChunksToEvents {
    fn handle(&mut self, ev: &Event<'_>, out: &mut Vec<u8>) -> Result<()> {
        let Some(data) = ev.data.as_deref() else {
            return Ok(());
        };
        if self.done {
            return Ok(());
        }
        self.seen = true;
        if data.trim() == "[DONE]" {
            self.end(out);
            return Ok(());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            ProviderError::BadUpstream(format!("unreadable upstream stream chunk: {e}"))
        })?;
        if let Some(e) = v.get("error").filter(|e| e.is_object()) {
            let error = json!({"type": "error", "error": {
                "type": "api_error",
                "message": e["message"].as_str().unwrap_or("the upstream stream failed"),
            }});
            write_event(out, "error", &error);
            self.done = true;
            return Ok(());
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object())
            && let Ok(u) = OpenAiUsage::deserialize(u)
        {
            self.usage = u.into();
        }
        for (field, key) in [(&mut self.id, "id"), (&mut self.model, "model")] {
            if field.is_empty() {
                v[key].as_str().unwrap_or_default().clone_into(field);
            }
        }
        // Azure sends a first chunk with no choices (content-filter results): nothing to say.
        let Some(choice) = v["choices"].as_array().and_then(|c| c.first()) else {
            return Ok(());
        };
        self.start_message(out);
        let delta = &choice["delta"];
        for key in ["content", "refusal"] {
            if let Some(text) = delta[key].as_str().filter(|t| !t.is_empty()) {
                self.text(text, out);
            }
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            self.tool_call(call, out);
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.stop = Some(stop_reason(reason));
        }
        Ok(())
    }

    fn start_message(&mut self, out: &mut Vec<u8>) {
        if self.message_started {
            return;
        }
        self.message_started = true;
        if self.id.is_empty() {
            self.id = new_id("msg_");
        }
        let start = json!({"type": "message_start", "message": {
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": anthropic_json(self.usage),
        }});
        write_event(out, "message_start", &start);
    }

    fn open_block(&mut self, open: Open, block: Value, out: &mut Vec<u8>) {
        self.close_block(out);
        let start = json!({"type": "content_block_start", "index": self.next_block, "content_block": block});
        write_event(out, "content_block_start", &start);
        self.open = Some(open);
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        if self.open.take().is_some() {
            write_event(
                out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": self.next_block}),
            );
            self.next_block += 1;
        }
    }

    fn delta(&self, delta: Value, out: &mut Vec<u8>) {
        let event =
            json!({"type": "content_block_delta", "index": self.next_block, "delta": delta});
        write_event(out, "content_block_delta", &event);
    }

    fn text(&mut self, text: &str, out: &mut Vec<u8>) {
        if self.open != Some(Open::Text) {
            self.open_block(Open::Text, json!({"type": "text", "text": ""}), out);
        }
        self.started = true;
        self.delta(json!({"type": "text_delta", "text": text}), out);
    }

    fn tool_call(&mut self, call: &Value, out: &mut Vec<u8>) {
        let index = call["index"].as_u64().unwrap_or(0);
        let function = &call["function"];
        if self.open != Some(Open::Tool(index)) && !self.tools_seen.contains(&index) {
            self.tools_seen.push(index);
            let id = call["id"]
                .as_str()
                .map_or_else(|| new_id("toolu_"), str::to_owned);
            let block = json!({"type": "tool_use", "id": id, "name": function["name"].as_str().unwrap_or(""), "input": {}});
            self.open_block(Open::Tool(index), block, out);
            self.started = true;
        }
        let Some(arguments) = function["arguments"].as_str().filter(|a| !a.is_empty()) else {
            return;
        };
        if self.open == Some(Open::Tool(index)) {
            self.delta(
                json!({"type": "input_json_delta", "partial_json": arguments}),
                out,
            );
        } else {
            // Anthropic blocks cannot be reopened; OpenAI sends each call's pieces in a row.
            tracing::warn!(
                index,
                "arguments for an earlier tool call were dropped from the stream"
            );
        }
    }

    /// Closes the message: `message_delta` with the stop reason and usage, `message_stop`;
    /// nothing for an upstream that sent nothing (so the proxy can tell an empty stream).
    fn close(&mut self, out: &mut Vec<u8>) {
        if self.done || !self.seen {
            return;
        }
        self.done = true;
        self.start_message(out);
        self.close_block(out);
        let delta = json!({"type": "message_delta",
            "delta": {"stop_reason": self.stop.unwrap_or("end_turn"), "stop_sequence": null},
            "usage": anthropic_json(self.usage)});
        write_event(out, "message_delta", &delta);
        write_event(out, "message_stop", &json!({"type": "message_stop"}));
    }
}

impl EventHandler for ChunksToEvents {
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<u8>) -> Result<()> {
        self.handle(ev, out)
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        self.close(out);
    }

    fn usage(&self) -> Usage {
        self.usage
    }

    fn started(&self) -> bool {
        self.started
    }
}

#[cfg(test)]
#[path = "stream_to_anthropic_tests.rs"]
mod tests;
