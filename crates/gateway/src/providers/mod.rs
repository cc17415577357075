//! Provider adapters: how a client request becomes an upstream request, and how upstream
//! responses, errors and streams come back in the client's dialect (OpenAI or Anthropic).
//!
//! When the client's dialect is the provider's, bodies pass through without loss (only `model`
//! changes, and OpenAI-dialect streams always ask for usage); otherwise `translate` converts.

mod anthropic;
mod azure;
mod body;
#[cfg(test)]
mod fixtures;
mod openai;
pub mod sse;
mod translate;
mod usage;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use tollgate_domain::routing::ProviderKind;

/// The client-facing endpoint a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// `POST /v1/completions` (legacy text completions).
    Completions,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `POST /v1/messages`: an Anthropic-dialect client.
    Messages,
}

impl Endpoint {
    /// The wire format the client speaks on this endpoint.
    pub fn client_dialect(self) -> Dialect {
        match self {
            Endpoint::Messages => Dialect::Anthropic,
            Endpoint::ChatCompletions | Endpoint::Completions | Endpoint::Embeddings => {
                Dialect::OpenAi
            }
        }
    }
}

/// A wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    OpenAi,
    Anthropic,
}

/// The deployment a request goes to.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub provider: ProviderKind,
    pub upstream_model: &'a str,
    /// Defaults: OpenAI `https://api.openai.com/v1`, Anthropic `https://api.anthropic.com`;
    /// Azure requires it.
    pub api_base: Option<&'a str>,
    /// Azure's `api-version`; default [`DEFAULT_AZURE_API_VERSION`].
    pub api_version: Option<&'a str>,
    pub api_key: Option<&'a str>,
}

pub const DEFAULT_OPENAI_API_BASE: &str = "https://api.openai.com/v1";
pub const DEFAULT_ANTHROPIC_API_BASE: &str = "https://api.anthropic.com";
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// What the client sent.
#[derive(Clone, Copy, Debug)]
pub struct ClientRequest<'a> {
    pub endpoint: Endpoint,
    /// The client's JSON object; unknown fields are preserved on passthrough.
    pub body: &'a Map<String, Value>,
    /// The client's headers (for `anthropic-version` / `anthropic-beta` passthrough).
    pub headers: &'a HeaderMap,
}

impl ClientRequest<'_> {
    /// The client asked for a streamed (SSE) answer.
    pub fn is_stream(&self) -> bool {
        self.body.get("stream").and_then(Value::as_bool) == Some(true)
    }

    /// An OpenAI client set `stream_options.include_usage = true`.
    pub fn wants_stream_usage(&self) -> bool {
        self.body
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true)
    }
}

/// The HTTP request to send upstream (always `POST`).
#[derive(Clone, Debug)]
pub struct UpstreamRequest {
    pub url: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

/// Tokens an upstream reported. `prompt_tokens` includes cached ones; `cached_tokens` is the
/// part of the prompt read from the provider's cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
}

/// Why a request could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The client's body cannot be sent to this provider (e.g. embeddings to Anthropic, invalid
    /// messages): a 400 with this message and the offending parameter.
    #[error("{message}")]
    BadRequest {
        message: String,
        param: Option<String>,
    },
    /// The upstream answered something unreadable: a 502.
    #[error("{0}")]
    BadUpstream(String),
}

impl ProviderError {
    pub(crate) fn bad_request(message: impl Into<String>, param: impl Into<String>) -> Self {
        ProviderError::BadRequest {
            message: message.into(),
            param: Some(param.into()),
        }
    }
}

pub(crate) type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// One upstream wire format.
pub trait Provider: Send + Sync {
    /// The upstream HTTP request (always POST) for this client request. Sets the upstream model,
    /// auth headers, content-type, and for OpenAI-compatible streaming upstreams adds
    /// `stream_options.include_usage = true` so usage is always reported.
    fn build_request(
        &self,
        req: &ClientRequest<'_>,
        target: &Target<'_>,
    ) -> Result<UpstreamRequest, ProviderError>;

    /// A successful (2xx) non-streaming upstream body -> the body for the client (in the
    /// client's dialect) and its usage.
    fn convert_response(
        &self,
        endpoint: Endpoint,
        body: &[u8],
    ) -> Result<(Bytes, Usage), ProviderError>;

    /// An upstream 4xx/5xx body -> the error body for the client in the client's dialect
    /// (OpenAI shape `{"error":{"message","type","param","code"}}`, Anthropic shape
    /// `{"type":"error","error":{"type","message"}}`); passed through unchanged when the
    /// dialects match and the body is a JSON error.
    fn convert_error(&self, endpoint: Endpoint, status: u16, body: &[u8]) -> Bytes;

    /// A converter for a streaming (SSE) upstream response.
    fn stream_converter(
        &self,
        endpoint: Endpoint,
        client_wants_usage: bool,
    ) -> Box<dyn StreamConverter>;
}

/// Turns an upstream SSE body into the client's SSE body, chunk by chunk.
pub trait StreamConverter: Send {
    /// Upstream bytes, split anywhere (even mid-line or mid-UTF-8) -> bytes to send the client
    /// now (possibly empty). Never buffers more than the current incomplete SSE event.
    fn push(&mut self, chunk: &[u8]) -> Result<Bytes, ProviderError>;
    /// The upstream ended: whatever is left to send (e.g. the final `data: [DONE]`).
    fn finish(&mut self) -> Bytes;
    /// Usage the upstream reported so far (zero for what it never reported).
    fn usage(&self) -> Usage;
    /// Whether any content (text or tool-call delta) has been emitted to the client yet.
    fn started(&self) -> bool;
    /// Upstream events read so far: about one token each, for an estimate when a stream ends
    /// before its usage report.
    fn events(&self) -> u64;
}

/// The adapter for a provider kind.
pub fn provider(kind: ProviderKind) -> &'static dyn Provider {
    match kind {
        ProviderKind::Openai => &openai::OpenAi,
        ProviderKind::Anthropic => &anthropic::Anthropic,
        ProviderKind::Azure => &azure::Azure,
    }
}

/// `base` without trailing slashes.
fn trim_base(base: &str) -> &str {
    base.trim_end_matches('/')
}

/// A header value from a deployment's configuration (e.g. its key). An invalid one is the
/// deployment's fault, not the client's: a `BadUpstream`, so the proxy may try another.
fn header_value(name: &str, value: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(value).map_err(|_| {
        ProviderError::BadUpstream(format!(
            "the deployment's `{name}` is not a valid header value"
        ))
    })
}

/// Seconds since the Unix epoch, for `created` fields.
fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_know_their_dialect() {
        assert_eq!(Endpoint::Messages.client_dialect(), Dialect::Anthropic);
        assert_eq!(Endpoint::Embeddings.client_dialect(), Dialect::OpenAi);
    }

    #[test]
    fn stream_flags_read_the_body() {
        let body: Map<String, Value> = serde_json::from_str(
            r#"{"stream":true,"stream_options":{"include_usage":true},"model":"m"}"#,
        )
        .unwrap();
        let headers = HeaderMap::new();
        let req = ClientRequest {
            endpoint: Endpoint::ChatCompletions,
            body: &body,
            headers: &headers,
        };
        assert!(req.is_stream());
        assert!(req.wants_stream_usage());
        let body: Map<String, Value> = serde_json::from_str(r#"{"stream":"yes"}"#).unwrap();
        let req = ClientRequest { body: &body, ..req };
        assert!(!req.is_stream());
        assert!(!req.wants_stream_usage());
    }
}
