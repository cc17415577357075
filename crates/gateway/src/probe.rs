//! The Routes page's "Test" button: one small chat request sent through a route as a gateway
//! would send it (the route's strategy and retries, then its fallbacks, the same upstream
//! requests and the same sorting of failures), reporting what each deployment did.
//!
//! A test is charged to no key and counted by no limit, and it keeps its own deployment state,
//! so it neither spends a budget nor cools down a deployment the gateways are using. It runs
//! wherever the portal runs (with or without a gateway in the process): it reads the routes'
//! secrets from the store as a gateway's loader does.

use crate::balance::DeploymentState;
use crate::providers::{self, ClientRequest, Endpoint, ProviderError, Target};
use crate::proxy::{Failure, Picker, failure_status, ms, read_body, send};
use crate::routes::{DeploymentEntry, Resolved, RouteEntry, RouteTable};
use crate::secrets::SecretKey;
use crate::snapshot::{Secrets, route_entry};
use crate::{StartError, upstream_client};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tollgate_domain::DeploymentId;
use tollgate_domain::pricing::PriceTable;
use tollgate_domain::routing::{Pattern, Route, RouteTest, TestAttempt};
use tollgate_store::Store;

/// What a test asks the model.
pub const PROMPT: &str = "Reply with the single word: pong";
/// At most this many tokens are asked for, so a test costs next to nothing.
pub const MAX_TOKENS: u64 = 16;
/// The most of the answer's text kept in the report.
pub const REPLY_CHARS: usize = 500;
/// The most of an upstream answer read.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Sends test requests through routes.
pub struct Prober {
    store: Arc<dyn Store>,
    secret_key: Option<SecretKey>,
    /// Each `tollgate.toml` deployment's key reference, by the ids the portal shows.
    config_refs: HashMap<DeploymentId, String>,
    client: reqwest::Client,
    /// The longest a whole test may take (every attempt included).
    pub limit: Duration,
}

/// How one attempt ended.
enum Attempted {
    /// A completion: the answer's text and its tokens.
    Answer {
        reply: Option<String>,
        usage: providers::Usage,
    },
    /// The upstream's own refusal, which the gateway passes to the client as it is.
    Refused { status: StatusCode, message: String },
    /// A failure the gateway would retry on another deployment.
    Retry(Failure),
}

impl Prober {
    pub fn new(
        store: Arc<dyn Store>,
        secret_key: Option<SecretKey>,
        config_refs: HashMap<DeploymentId, String>,
    ) -> Result<Prober, StartError> {
        Ok(Prober {
            store,
            secret_key,
            config_refs,
            client: upstream_client()?,
            limit: Duration::from_secs(30),
        })
    }

    /// Sends one test request for `model` through the route `tested`, its fallbacks resolved
    /// among `routes` as the gateway `instance` would resolve them.
    pub async fn test(
        &self,
        routes: Vec<Route>,
        tested: &Route,
        model: &str,
        instance: &str,
    ) -> RouteTest {
        let mut secrets = Secrets::new(
            self.store.as_ref(),
            self.secret_key.as_ref(),
            &self.config_refs,
        );
        // Built-in prices: a test is not charged, so overrides are not read.
        let prices = PriceTable::builtin();
        let fresh = |_| Arc::new(DeploymentState::default());
        let own = Arc::new(route_entry(tested.clone(), &mut secrets, &prices, fresh).await);
        // The instance's routes, for the alias's target and the fallbacks; the tested one (also
        // among them) shares its deployments rather than being built again.
        let mut entries = Vec::new();
        for r in routes {
            if r.id == tested.id {
                entries.push(RouteEntry {
                    route: r,
                    deployments: own.deployments.clone(),
                });
            } else if r.instance.as_deref().is_none_or(|i| i == instance) {
                entries.push(route_entry(r, &mut secrets, &prices, fresh).await);
            }
        }
        let table = RouteTable::build(entries, instance);
        let headers = header_map(tested);
        let mut report = RouteTest {
            model: model.to_owned(),
            instance: instance.to_owned(),
            ok: false,
            status: 0,
            latency_ms: 0.0,
            attempts: Vec::new(),
            reply: None,
            error: None,
            prompt_tokens: None,
            completion_tokens: None,
        };
        let first = match &tested.alias_of {
            Some(target) => match table.resolve(target, &headers) {
                Some(r) => r,
                None => {
                    report.status = StatusCode::NOT_FOUND.as_u16();
                    report.error = Some(format!(
                        "this alias names `{target}`, which no route of the instance `{instance}` serves"
                    ));
                    return report;
                }
            },
            None => Resolved {
                entry: &own,
                suffix: match Pattern::parse(&tested.model_name) {
                    Pattern::Exact(_) => None,
                    p => p.matches(model).map(str::to_owned),
                },
            },
        };
        let body = match json!({
            "model": model,
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": MAX_TOKENS,
        }) {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        let request = ClientRequest {
            endpoint: Endpoint::ChatCompletions,
            body: &body,
            headers: &headers,
        };
        let fallbacks: Vec<Resolved<'_>> = first
            .entry
            .route
            .fallbacks
            .iter()
            .filter_map(|f| table.resolve(f, &headers))
            .collect();

        let started = Instant::now();
        let end = started + self.limit;
        let mut last: Option<Failure> = None;
        'routes: for resolved in std::iter::once(first).chain(fallbacks) {
            let route = &resolved.entry.route;
            for d in &resolved.entry.deployments {
                let why = if d.deployment.enabled {
                    d.credential_error.clone()
                } else {
                    Some("disabled".to_owned())
                };
                if let Some(why) = why {
                    report
                        .attempts
                        .push(attempt_row(route, d, &resolved, "skipped", why));
                }
            }
            let mut picker = Picker::new(&resolved);
            while let Some((dep, _)) = picker.next() {
                picker.attempts += 1;
                let now = Instant::now();
                if now >= end {
                    last = Some(Failure {
                        kind: "timeout",
                        detail: format!(
                            "the test's {} s ran out before this deployment was tried",
                            self.limit.as_secs()
                        ),
                        retry_after: None,
                    });
                    break 'routes;
                }
                let deadline = route.timeout_ms.map_or(end, |t| (now + ms(t)).min(end));
                let sent = Instant::now();
                let outcome = self.attempt(&request, &resolved, &dep, deadline).await;
                let took = Some(millis(sent.elapsed()));
                let mut row = attempt_row(route, &dep, &resolved, "ok", String::new());
                row.latency_ms = took;
                match outcome {
                    Attempted::Answer { reply, usage } => {
                        row.status = Some(200);
                        row.detail = None;
                        report.attempts.push(row);
                        report.ok = true;
                        report.status = 200;
                        report.reply = reply;
                        report.prompt_tokens = Some(usage.prompt_tokens);
                        report.completion_tokens = Some(usage.completion_tokens);
                        report.latency_ms = millis(started.elapsed());
                        return report;
                    }
                    Attempted::Refused { status, message } => {
                        row.outcome = "upstream_4xx".to_owned();
                        row.status = Some(status.as_u16());
                        row.detail = Some(message.clone());
                        report.attempts.push(row);
                        report.status = status.as_u16();
                        report.error = Some(message);
                        report.latency_ms = millis(started.elapsed());
                        return report;
                    }
                    Attempted::Retry(f) => {
                        f.kind.clone_into(&mut row.outcome);
                        row.detail = Some(f.detail.clone());
                        report.attempts.push(row);
                        last = Some(f);
                    }
                }
            }
        }
        report.latency_ms = millis(started.elapsed());
        let tried = report
            .attempts
            .iter()
            .filter(|a| a.outcome != "skipped")
            .count();
        match last {
            None => {
                report.status = StatusCode::SERVICE_UNAVAILABLE.as_u16();
                report.error = Some(
                    "no deployment could be tried: each is disabled or its credential cannot be read"
                        .to_owned(),
                );
            }
            Some(f) => {
                report.status = failure_status(f.kind).as_u16();
                report.error = Some(format!(
                    "the upstream failed after {tried} attempt(s); last error: {}",
                    f.detail
                ));
            }
        }
        report
    }

    /// One request to one deployment, sorted as the gateway's request path sorts it.
    async fn attempt(
        &self,
        request: &ClientRequest<'_>,
        resolved: &Resolved<'_>,
        dep: &DeploymentEntry,
        deadline: Instant,
    ) -> Attempted {
        let d = &dep.deployment;
        let provider = providers::provider(d.provider);
        let target = Target {
            provider: d.provider,
            upstream_model: dep.upstream_model(resolved.suffix.as_deref()),
            api_base: d.api_base.as_deref(),
            api_version: d.api_version.as_deref(),
            api_key: dep.api_key.as_ref().map(|k| k.expose_secret()),
        };
        let upstream = match provider.build_request(request, &target) {
            Ok(u) => u,
            Err(ProviderError::BadRequest { message, .. }) => {
                return Attempted::Refused {
                    status: StatusCode::BAD_REQUEST,
                    message,
                };
            }
            Err(ProviderError::BadUpstream(m)) => return retry("request", m),
        };
        let response = match send(&self.client, upstream, deadline).await {
            Ok(r) => r,
            Err(f) => return Attempted::Retry(f),
        };
        let status = response.status();
        let body = match read_body(response, deadline, Some(MAX_ANSWER_BYTES)).await {
            Ok(b) => b,
            Err(f) => return Attempted::Retry(f),
        };
        if !status.is_success() {
            let converted = provider.convert_error(request.endpoint, status.as_u16(), &body);
            return Attempted::Refused {
                status,
                message: error_message(&converted)
                    .unwrap_or_else(|| format!("the upstream answered {status}")),
            };
        }
        match provider.convert_response(request.endpoint, &body) {
            Ok((converted, usage)) => Attempted::Answer {
                reply: reply_text(&converted),
                usage,
            },
            Err(e) => retry("bad_response", e.to_string()),
        }
    }
}

fn retry(kind: &'static str, detail: String) -> Attempted {
    Attempted::Retry(Failure {
        kind,
        detail,
        retry_after: None,
    })
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The headers the route matches on, so a header-matched route is resolved as itself.
fn header_map(route: &Route) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in &route.header_match {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
    }
    h
}

fn attempt_row(
    route: &Route,
    dep: &DeploymentEntry,
    resolved: &Resolved<'_>,
    outcome: &str,
    detail: String,
) -> TestAttempt {
    TestAttempt {
        route: route.model_name.clone(),
        deployment_id: dep.deployment.id,
        provider: dep.deployment.provider,
        upstream_model: dep.upstream_model(resolved.suffix.as_deref()).to_owned(),
        outcome: outcome.to_owned(),
        status: None,
        latency_ms: None,
        detail: (!detail.is_empty()).then_some(detail),
    }
}

/// The first choice's text, cut to [`REPLY_CHARS`].
fn reply_text(openai_body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(openai_body).ok()?;
    let text = v
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)?;
    Some(text.chars().take(REPLY_CHARS).collect())
}

/// `error.message` of an OpenAI-shaped error body.
fn error_message(openai_error: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(openai_error).ok()?;
    let m = v.pointer("/error/message").and_then(Value::as_str)?;
    Some(m.chars().take(REPLY_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_is_the_first_choices_text_cut_short() {
        let body = json!({"choices": [{"message": {"content": "pong"}}]}).to_string();
        assert_eq!(reply_text(body.as_bytes()).as_deref(), Some("pong"));
        let long = "é".repeat(REPLY_CHARS + 10);
        let body = json!({"choices": [{"message": {"content": long}}]}).to_string();
        assert_eq!(
            reply_text(body.as_bytes()).map(|r| r.chars().count()),
            Some(REPLY_CHARS)
        );
        assert_eq!(reply_text(b"{\"choices\": []}"), None);
        assert_eq!(reply_text(b"not json"), None);
    }

    #[test]
    fn an_error_message_is_read_from_the_openai_shape() {
        let body = json!({"error": {"message": "model not found", "type": "x"}}).to_string();
        assert_eq!(
            error_message(body.as_bytes()).as_deref(),
            Some("model not found")
        );
        assert_eq!(error_message(b"{}"), None);
    }

    #[test]
    fn header_matched_routes_send_their_headers() {
        let route = Route {
            id: tollgate_domain::RouteId::new(),
            instance: None,
            model_name: "m".into(),
            alias_of: None,
            strategy: Default::default(),
            timeout_ms: None,
            stream_idle_timeout_ms: None,
            retries: 0,
            fallbacks: vec![],
            header_match: [("x-canary".to_owned(), "true".to_owned())].into(),
            source: tollgate_domain::routing::RouteSource::Db,
            deployments: vec![],
            created_at: tollgate_domain::Timestamp(0),
            updated_at: tollgate_domain::Timestamp(0),
        };
        let h = header_map(&route);
        assert_eq!(
            h.get("x-canary").and_then(|v| v.to_str().ok()),
            Some("true")
        );
    }
}
