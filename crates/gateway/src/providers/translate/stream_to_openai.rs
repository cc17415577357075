//! An Anthropic messages stream -> OpenAI `chat.completion.chunk`s (for a chat client served
//! by an Anthropic deployment).

use super::{finish_reason, write_data};
use crate::providers::sse::{Event, EventHandler};
use crate::providers::usage::{AnthropicUsage, openai_json};
use crate::providers::{ProviderError, Result, Usage, now_unix};
use serde::Deserialize;
use serde_json::{Value, json};

pub(crate) struct EventsToChunks {
    wants_usage: bool,
    id: String,
    model: String,
    created: u64,
    usage: AnthropicUsage,
    /// Anthropic content-block index -> OpenAI tool-call index, for open tool blocks.
    tool_blocks: Vec<(u64, u64)>,
    next_tool: u64,
    started: bool,
    /// The upstream sent at least one event with data.
    seen: bool,
    /// The final `[DONE]` (or an error) was sent: nothing more is.
    done: bool,
}

impl EventsToChunks {
    pub(crate) fn new(wants_usage: bool) -> Self {
        EventsToChunks {
            wants_usage,
            id: String::new(),
            model: String::new(),
            created: now_unix(),
            usage: AnthropicUsage::default(),
            tool_blocks: Vec::new(),
            next_tool: 0,
            started: false,
            seen: false,
            done: false,
        }
    }
}

impl EventsToChunks {
    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        })
    }

    fn handle(&mut self, ev: &Event<'_>, out: &mut Vec<u8>) -> Result<()> {
        let Some(data) = ev.data.as_deref() else {
            return Ok(());
        };
        if self.done {
            return Ok(());
        }
        self.seen = true;
        let v: Value = serde_json::from_str(data).map_err(|e| {
            ProviderError::BadUpstream(format!("unreadable upstream stream event: {e}"))
        })?;
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .or(ev.event)
            .unwrap_or("");
        match kind {
            "message_start" => {
                let m = &v["message"];
                self.id = m["id"].as_str().unwrap_or_default().to_owned();
                self.model = m["model"].as_str().unwrap_or_default().to_owned();
                self.merge_usage(&m["usage"]);
                write_data(
                    out,
                    &self.chunk(json!({"role": "assistant", "content": ""}), None),
                );
            }
            "content_block_start" => {
                let block = &v["content_block"];
                let index = v["index"].as_u64().unwrap_or(0);
                match block["type"].as_str() {
                    Some("tool_use") => {
                        let tool = self.next_tool;
                        self.next_tool += 1;
                        self.tool_blocks.push((index, tool));
                        self.started = true;
                        let call = json!({"index": tool, "id": block["id"], "type": "function",
                            "function": {"name": block["name"], "arguments": ""}});
                        write_data(out, &self.chunk(json!({"tool_calls": [call]}), None));
                    }
                    Some("text") => self.text(block["text"].as_str().unwrap_or(""), out),
                    _ => {}
                }
            }
            "content_block_delta" => {
                let delta = &v["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => self.text(delta["text"].as_str().unwrap_or(""), out),
                    Some("input_json_delta") => {
                        let index = v["index"].as_u64().unwrap_or(0);
                        let json = delta["partial_json"].as_str().unwrap_or("");
                        let tool = self
                            .tool_blocks
                            .iter()
                            .find(|(b, _)| *b == index)
                            .map(|(_, t)| *t);
                        if let (Some(tool), false) = (tool, json.is_empty()) {
                            let call = json!({"index": tool, "function": {"arguments": json}});
                            write_data(out, &self.chunk(json!({"tool_calls": [call]}), None));
                        }
                    }
                    // Thinking, signatures and citations have no OpenAI chunk.
                    _ => {}
                }
            }
            "message_delta" => {
                self.merge_usage(&v["usage"]);
                let stop = v["delta"]["stop_reason"].as_str().unwrap_or("end_turn");
                write_data(out, &self.chunk(json!({}), Some(finish_reason(stop))));
            }
            "message_stop" => self.end(out),
            "error" => {
                let e = &v["error"];
                let error = json!({"error": {
                    "message": e["message"].as_str().unwrap_or("the upstream stream failed"),
                    "type": e["type"].as_str().unwrap_or("api_error"),
                    "param": null,
                    "code": null,
                }});
                write_data(out, &error);
                self.done = true;
            }
            // `ping`, `content_block_stop`, and events added later.
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, text: &str, out: &mut Vec<u8>) {
        if !text.is_empty() {
            self.started = true;
            write_data(out, &self.chunk(json!({"content": text}), None));
        }
    }

    fn merge_usage(&mut self, usage: &Value) {
        if let Ok(u) = AnthropicUsage::deserialize(usage) {
            self.usage.merge(u);
        }
    }

    /// The usage chunk (when the client asked for it) and `[DONE]`; nothing for an upstream
    /// that sent nothing (so the proxy can tell an empty stream).
    fn close(&mut self, out: &mut Vec<u8>) {
        if self.done || !self.seen {
            return;
        }
        self.done = true;
        if self.wants_usage {
            let mut chunk = self.chunk(json!({}), None);
            chunk["choices"] = json!([]);
            chunk["usage"] = openai_json(self.usage.into());
            write_data(out, &chunk);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

impl EventHandler for EventsToChunks {
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<u8>) -> Result<()> {
        self.handle(ev, out)
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        self.close(out);
    }

    fn usage(&self) -> Usage {
        self.usage.into()
    }

    fn started(&self) -> bool {
        self.started
    }
}

#[cfg(test)]
#[path = "stream_to_openai_tests.rs"]
mod tests;
