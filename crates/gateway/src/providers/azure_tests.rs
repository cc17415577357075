use super::*;
use crate::providers::ProviderKind;
use crate::providers::fixtures::{client, json, obj};
use serde_json::json;

fn target<'a>(api_base: Option<&'a str>, api_version: Option<&'a str>) -> Target<'a> {
    Target {
        provider: ProviderKind::Azure,
        upstream_model: "gpt-4o-prod",
        api_base,
        api_version,
        api_key: Some("azure-key"),
    }
}

#[test]
fn deployment_url_api_version_and_api_key_header() {
    let body = obj(
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "stream": true, "x": {"y": 1}}),
    );
    let headers = http::HeaderMap::new();
    let req = Azure
        .build_request(
            &client(Endpoint::ChatCompletions, &body, &headers),
            &target(Some("https://contoso.openai.azure.com/"), None),
        )
        .unwrap();
    assert_eq!(
        req.url,
        "https://contoso.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    );
    let names: Vec<_> = req
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
        .collect();
    assert!(names.contains(&("api-key", "azure-key")));
    assert!(!names.iter().any(|(n, _)| *n == "authorization"));
    let sent = json(&req.body);
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_eq!(sent["x"], json!({"y": 1}));
}

#[test]
fn embeddings_and_a_custom_api_version() {
    let body = obj(json!({"input": "hello"}));
    let headers = http::HeaderMap::new();
    let req = Azure
        .build_request(
            &client(Endpoint::Embeddings, &body, &headers),
            &target(
                Some("https://contoso.openai.azure.com"),
                Some("2025-04-01-preview"),
            ),
        )
        .unwrap();
    assert_eq!(
        req.url,
        "https://contoso.openai.azure.com/openai/deployments/gpt-4o-prod/embeddings?api-version=2025-04-01-preview"
    );
}

#[test]
fn messages_clients_get_max_completion_tokens() {
    let body = obj(json!({"max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]}));
    let headers = http::HeaderMap::new();
    let req = Azure
        .build_request(
            &client(Endpoint::Messages, &body, &headers),
            &target(Some("https://c.openai.azure.com"), None),
        )
        .unwrap();
    assert!(req.url.contains("/chat/completions?"));
    assert_eq!(json(&req.body)["max_completion_tokens"], 50);
}

#[test]
fn an_api_base_is_required() {
    let body = obj(json!({}));
    let headers = http::HeaderMap::new();
    let err = Azure
        .build_request(
            &client(Endpoint::ChatCompletions, &body, &headers),
            &target(None, None),
        )
        .unwrap_err();
    assert!(matches!(err, ProviderError::BadUpstream(_)));
    assert!(err.to_string().contains("api_base"));
}
