//! The Azure OpenAI adapter: OpenAI's format at a deployment URL with an `api-version`,
//! authenticated by an `api-key` header.

use super::{
    ClientRequest, DEFAULT_AZURE_API_VERSION, Endpoint, Provider, ProviderError, Result,
    StreamConverter, Target, UpstreamRequest, Usage, header_value, openai, trim_base,
};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue};

pub(crate) struct Azure;

impl Provider for Azure {
    fn build_request(
        &self,
        req: &ClientRequest<'_>,
        target: &Target<'_>,
    ) -> Result<UpstreamRequest> {
        let Some(base) = target.api_base else {
            // The deployment's configuration is at fault, not the client: another may serve.
            return Err(ProviderError::BadUpstream(
                "this Azure deployment has no `api_base` configured".into(),
            ));
        };
        let url = format!(
            "{}/openai/deployments/{}/{}?api-version={}",
            trim_base(base),
            target.upstream_model,
            openai::path(req.endpoint),
            target.api_version.unwrap_or(DEFAULT_AZURE_API_VERSION),
        );
        let mut headers = vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
        if let Some(key) = target.api_key {
            headers.push((
                HeaderName::from_static("api-key"),
                header_value("api-key", key)?,
            ));
        }
        // Azure serves OpenAI's models, whose reasoning ones refuse `max_tokens`.
        let body = openai::body(req, target.upstream_model, true)?;
        Ok(UpstreamRequest { url, headers, body })
    }

    fn convert_response(&self, endpoint: Endpoint, body: &[u8]) -> Result<(Bytes, Usage)> {
        openai::convert_response(endpoint, body)
    }

    fn convert_error(&self, endpoint: Endpoint, status: u16, body: &[u8]) -> Bytes {
        openai::convert_error(endpoint, status, body)
    }

    fn stream_converter(
        &self,
        endpoint: Endpoint,
        client_wants_usage: bool,
    ) -> Box<dyn StreamConverter> {
        openai::stream_converter(endpoint, client_wants_usage)
    }
}

#[cfg(test)]
#[path = "azure_tests.rs"]
mod tests;
