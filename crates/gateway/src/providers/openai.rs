//! The OpenAI adapter (OpenAI and every OpenAI-compatible server), and the OpenAI-dialect
//! pieces Azure shares: request bodies, response usage, and the passthrough stream.

use super::body::{WithOverrides, stream_options_with_usage, to_bytes};
use super::sse::{Event, EventHandler, SseConverter};
use super::translate::{self, errors};
use super::usage::OpenAiUsage;
use super::{
    ClientRequest, DEFAULT_OPENAI_API_BASE, Endpoint, Provider, ProviderError, Result,
    StreamConverter, Target, UpstreamRequest, Usage, header_value, trim_base,
};
use bytes::Bytes;
use http::HeaderValue;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

pub(crate) struct OpenAi;

impl Provider for OpenAi {
    fn build_request(
        &self,
        req: &ClientRequest<'_>,
        target: &Target<'_>,
    ) -> Result<UpstreamRequest> {
        let base = trim_base(target.api_base.unwrap_or(DEFAULT_OPENAI_API_BASE));
        // OpenAI's own reasoning models reject `max_tokens`; other servers may not know its successor.
        let official = base.contains("api.openai.com");
        let mut headers = vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
        if let Some(key) = target.api_key {
            headers.push((
                AUTHORIZATION,
                header_value("authorization", &format!("Bearer {key}"))?,
            ));
        }
        Ok(UpstreamRequest {
            url: format!("{base}/{}", path(req.endpoint)),
            headers,
            body: body(req, target.upstream_model, official)?,
        })
    }

    fn convert_response(&self, endpoint: Endpoint, body: &[u8]) -> Result<(Bytes, Usage)> {
        convert_response(endpoint, body)
    }

    fn convert_error(&self, endpoint: Endpoint, status: u16, body: &[u8]) -> Bytes {
        convert_error(endpoint, status, body)
    }

    fn stream_converter(
        &self,
        endpoint: Endpoint,
        client_wants_usage: bool,
    ) -> Box<dyn StreamConverter> {
        stream_converter(endpoint, client_wants_usage)
    }
}

/// The path under the API base for an endpoint (Anthropic clients are served by chat).
pub(crate) fn path(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::ChatCompletions | Endpoint::Messages => "chat/completions",
        Endpoint::Completions => "completions",
        Endpoint::Embeddings => "embeddings",
    }
}

/// The OpenAI-dialect body: the client's own with `model` replaced (and usage requested for
/// streams), or a translated Anthropic request.
pub(crate) fn body(
    req: &ClientRequest<'_>,
    model: &str,
    max_completion_tokens: bool,
) -> Result<Bytes> {
    if req.endpoint == Endpoint::Messages {
        let chat = translate::messages_to_chat::request(req.body, model, max_completion_tokens)?;
        return to_bytes(&chat);
    }
    let mut overrides = vec![("model", Value::String(model.to_owned()))];
    if req.is_stream() && req.endpoint != Endpoint::Embeddings {
        overrides.push(("stream_options", stream_options_with_usage(req.body)));
    }
    to_bytes(&WithOverrides {
        base: req.body,
        overrides: &overrides,
    })
}

pub(crate) fn convert_response(endpoint: Endpoint, body: &[u8]) -> Result<(Bytes, Usage)> {
    if endpoint == Endpoint::Messages {
        return translate::response::chat_to_message(body);
    }
    #[derive(Deserialize)]
    struct WithUsage {
        usage: Option<OpenAiUsage>,
    }
    let parsed: WithUsage = serde_json::from_slice(body)
        .map_err(|e| ProviderError::BadUpstream(format!("unreadable upstream response: {e}")))?;
    Ok((
        Bytes::copy_from_slice(body),
        parsed.usage.map(Usage::from).unwrap_or_default(),
    ))
}

pub(crate) fn convert_error(endpoint: Endpoint, status: u16, body: &[u8]) -> Bytes {
    match endpoint {
        Endpoint::Messages => errors::to_anthropic(status, body),
        _ => errors::to_openai(status, body),
    }
}

pub(crate) fn stream_converter(
    endpoint: Endpoint,
    client_wants_usage: bool,
) -> Box<dyn StreamConverter> {
    match endpoint {
        Endpoint::Messages => Box::new(SseConverter::new(
            translate::stream_to_anthropic::ChunksToEvents::new(),
        )),
        _ => Box::new(SseConverter::new(PassthroughState {
            wants_usage: client_wants_usage,
            usage: Usage::default(),
            started: false,
        })),
    }
}

/// Forwards OpenAI chunks as received, reading usage and dropping the usage-only chunk
/// Tollgate asked for when the client did not.
struct PassthroughState {
    wants_usage: bool,
    usage: Usage,
    started: bool,
}

impl PassthroughState {
    fn forward(&mut self, ev: &Event<'_>, out: &mut Vec<u8>) {
        let Some(data) = ev.data.as_deref() else {
            out.extend_from_slice(ev.raw);
            return;
        };
        let mut forward = true;
        if carries_usage(data) {
            #[derive(Deserialize)]
            struct UsageChunk {
                choices: Option<Vec<IgnoredAny>>,
                usage: Option<OpenAiUsage>,
            }
            if let Ok(UsageChunk {
                choices,
                usage: Some(usage),
            }) = serde_json::from_str(data)
            {
                self.usage = usage.into();
                forward = self.wants_usage || choices.is_none_or(|c| !c.is_empty());
            }
        }
        if !self.started && data != "[DONE]" {
            self.started = serde_json::from_str::<Value>(data).is_ok_and(|v| has_content(&v));
        }
        if forward {
            out.extend_from_slice(ev.raw);
        }
    }
}

impl EventHandler for PassthroughState {
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<u8>) -> Result<()> {
        PassthroughState::forward(self, ev, out);
        Ok(())
    }

    fn usage(&self) -> Usage {
        self.usage
    }

    fn started(&self) -> bool {
        self.started
    }
}

/// Whether a chunk's JSON has a `"usage": {` member, without parsing it (chunks carry
/// `"usage": null` when usage was requested; inside strings the quotes would be escaped).
fn carries_usage(data: &str) -> bool {
    data.match_indices("\"usage\"").any(|(i, m)| {
        let rest = data[i + m.len()..].trim_start();
        rest.strip_prefix(':')
            .is_some_and(|r| r.trim_start().starts_with('{'))
    })
}

/// Whether a chat or completions chunk carries text, a refusal or a tool call.
fn has_content(chunk: &Value) -> bool {
    let non_empty = |v: Option<&Value>| match v {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(_)) => true,
        _ => false,
    };
    let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
        return false;
    };
    choices.iter().any(|c| {
        non_empty(c.get("text"))
            || c.get("delta").is_some_and(|d| {
                ["content", "refusal", "tool_calls", "function_call"]
                    .iter()
                    .any(|k| non_empty(d.get(*k)))
            })
    })
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
