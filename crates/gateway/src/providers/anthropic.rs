//! The Anthropic adapter: Messages clients pass through; chat-completions clients are
//! translated; completions and embeddings are refused.

use super::body::{WithOverrides, to_bytes};
use super::sse::{Event, EventHandler, SseConverter};
use super::translate::{self, errors};
use super::usage::AnthropicUsage;
use super::{
    ClientRequest, DEFAULT_ANTHROPIC_API_BASE, DEFAULT_ANTHROPIC_VERSION, Endpoint, Provider,
    ProviderError, Result, StreamConverter, Target, UpstreamRequest, Usage, header_value,
    trim_base,
};
use bytes::Bytes;
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::Value;

pub(crate) struct Anthropic;

const VERSION: &str = "anthropic-version";
const BETA: &str = "anthropic-beta";

fn unsupported(endpoint: Endpoint) -> ProviderError {
    let what = match endpoint {
        Endpoint::Embeddings => "`/v1/embeddings`",
        _ => "`/v1/completions`",
    };
    ProviderError::BadRequest {
        message: format!("{what} is not supported by Anthropic deployments"),
        param: None,
    }
}

impl Provider for Anthropic {
    fn build_request(
        &self,
        req: &ClientRequest<'_>,
        target: &Target<'_>,
    ) -> Result<UpstreamRequest> {
        let body = match req.endpoint {
            Endpoint::Messages => to_bytes(&WithOverrides {
                base: req.body,
                overrides: &[("model", Value::String(target.upstream_model.to_owned()))],
            })?,
            Endpoint::ChatCompletions => to_bytes(&translate::chat_to_messages::request(
                req.body,
                target.upstream_model,
            )?)?,
            e @ (Endpoint::Completions | Endpoint::Embeddings) => return Err(unsupported(e)),
        };
        let base = trim_base(target.api_base.unwrap_or(DEFAULT_ANTHROPIC_API_BASE));
        // A base configured with its `/v1` is accepted too.
        let url = match base.strip_suffix("/v1") {
            Some(base) => format!("{base}/v1/messages"),
            None => format!("{base}/v1/messages"),
        };
        let mut headers = vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
        if let Some(key) = target.api_key {
            headers.push((
                http::HeaderName::from_static("x-api-key"),
                header_value("x-api-key", key)?,
            ));
        }
        let version = req
            .headers
            .get(VERSION)
            .cloned()
            .unwrap_or(HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION));
        headers.push((http::HeaderName::from_static(VERSION), version));
        for beta in req.headers.get_all(BETA) {
            headers.push((http::HeaderName::from_static(BETA), beta.clone()));
        }
        Ok(UpstreamRequest { url, headers, body })
    }

    fn convert_response(&self, endpoint: Endpoint, body: &[u8]) -> Result<(Bytes, Usage)> {
        match endpoint {
            Endpoint::Messages => {
                #[derive(Deserialize)]
                struct WithUsage {
                    #[serde(default)]
                    usage: AnthropicUsage,
                }
                let parsed: WithUsage = serde_json::from_slice(body).map_err(|e| {
                    ProviderError::BadUpstream(format!("unreadable upstream response: {e}"))
                })?;
                Ok((Bytes::copy_from_slice(body), parsed.usage.into()))
            }
            Endpoint::ChatCompletions => translate::response::message_to_chat(body),
            e @ (Endpoint::Completions | Endpoint::Embeddings) => Err(unsupported(e)),
        }
    }

    fn convert_error(&self, endpoint: Endpoint, status: u16, body: &[u8]) -> Bytes {
        match endpoint {
            Endpoint::Messages => errors::to_anthropic(status, body),
            _ => errors::to_openai(status, body),
        }
    }

    fn stream_converter(
        &self,
        endpoint: Endpoint,
        client_wants_usage: bool,
    ) -> Box<dyn StreamConverter> {
        match endpoint {
            Endpoint::Messages => Box::new(SseConverter::new(PassthroughState::default())),
            _ => Box::new(SseConverter::new(
                translate::stream_to_openai::EventsToChunks::new(client_wants_usage),
            )),
        }
    }
}

/// Forwards Anthropic events as received, reading usage from `message_start` and
/// `message_delta` (the only events that carry it).
#[derive(Default)]
struct PassthroughState {
    usage: AnthropicUsage,
    started: bool,
}

impl PassthroughState {
    fn forward(&mut self, ev: &Event<'_>, out: &mut Vec<u8>) {
        out.extend_from_slice(ev.raw);
        let Some(data) = ev.data.as_deref() else {
            return;
        };
        match ev.event {
            Some("content_block_delta") => self.started = true,
            Some("content_block_start") if !self.started => {
                self.started = data.contains("\"tool_use\"");
            }
            Some("message_start" | "message_delta") | None => {
                #[derive(Deserialize)]
                struct Data {
                    message: Option<WithUsage>,
                    usage: Option<AnthropicUsage>,
                }
                #[derive(Deserialize)]
                struct WithUsage {
                    usage: Option<AnthropicUsage>,
                }
                if let Ok(d) = serde_json::from_str::<Data>(data)
                    && let Some(u) = d.usage.or(d.message.and_then(|m| m.usage))
                {
                    self.usage.merge(u);
                }
            }
            _ => {}
        }
    }
}

impl EventHandler for PassthroughState {
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<u8>) -> Result<()> {
        PassthroughState::forward(self, ev, out);
        Ok(())
    }

    fn usage(&self) -> Usage {
        self.usage.into()
    }

    fn started(&self) -> bool {
        self.started
    }
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
