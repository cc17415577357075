//! Model routes and their deployments, and how a requested model name finds its route:
//! an exact name first, then the longest matching prefix wildcard (`anthropic/*`), then `*`.
//! The same patterns restrict which models a key may call.

use crate::ids::{CredentialId, DeploymentId, RouteId};
use crate::money::Micros;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a route picks among its deployments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Random, in proportion to each deployment's weight.
    #[default]
    Weighted,
    /// The deployment with the fewest requests in flight.
    LeastBusy,
    /// The deployment with the lowest recent latency (EWMA; time to first token for streams).
    LowestLatency,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [
        Strategy::Weighted,
        Strategy::LeastBusy,
        Strategy::LowestLatency,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Weighted => "weighted",
            Strategy::LeastBusy => "least_busy",
            Strategy::LowestLatency => "lowest_latency",
        }
    }

    pub fn parse(s: &str) -> Option<Strategy> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The wire format an upstream speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI and every OpenAI-compatible server (vLLM, Ollama, DeepSeek, any `api_base`).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// Azure OpenAI deployments.
    Azure,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::Openai,
        ProviderKind::Anthropic,
        ProviderKind::Azure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Azure => "azure",
        }
    }

    pub fn parse(s: &str) -> Option<ProviderKind> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Where a route was declared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteSource {
    /// The database (managed in the portal or the API).
    #[default]
    Db,
    /// `tollgate.toml`: shown read-only.
    Config,
}

/// A model name clients may request, and how it is served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub id: RouteId,
    /// `None`: the route serves every instance.
    pub instance: Option<String>,
    /// An exact name, a prefix wildcard (`anthropic/*`) or `*`.
    pub model_name: String,
    /// When set, this route is an alias: requests resolve as if they named this model instead.
    pub alias_of: Option<String>,
    pub strategy: Strategy,
    /// Whole-request timeout.
    pub timeout_ms: Option<i64>,
    /// Longest silence allowed between two chunks of a stream.
    pub stream_idle_timeout_ms: Option<i64>,
    /// Further attempts on other deployments after the first fails (retryable failures only).
    pub retries: i64,
    /// Other model names to try, in order, once retries run out.
    pub fallbacks: Vec<String>,
    /// Headers the request must carry, with these values (e.g. `x-canary: true`).
    pub header_match: BTreeMap<String, String>,
    pub source: RouteSource,
    pub deployments: Vec<Deployment>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One upstream serving a route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: DeploymentId,
    pub route_id: RouteId,
    pub provider: ProviderKind,
    /// The model name sent upstream. For a wildcard route, empty means "the matched suffix".
    pub upstream_model: String,
    pub api_base: Option<String>,
    /// Azure's `api-version`.
    pub api_version: Option<String>,
    pub credential_id: Option<CredentialId>,
    pub weight: i64,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    pub enabled: bool,
    /// Price overrides per million tokens.
    pub input_price_per_mtok: Option<Micros>,
    pub output_price_per_mtok: Option<Micros>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What one small test request through a route showed: the Routes page's "Test" button and
/// `POST /api/v1/routes/{id}/test`. The request is sent as a gateway would send it (the route's
/// strategy, retries and fallbacks), but charged to no key and counted by no limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteTest {
    /// The model name requested.
    pub model: String,
    /// The instance whose routes resolved the fallbacks.
    pub instance: String,
    /// Whether a deployment answered with a completion.
    pub ok: bool,
    /// The status a client would have seen.
    pub status: u16,
    /// From the first attempt to the answer (or the last failure), in milliseconds.
    pub latency_ms: f64,
    /// Every deployment tried or skipped, in order.
    pub attempts: Vec<TestAttempt>,
    /// The start of the answer's text.
    pub reply: Option<String>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
}

/// One deployment in a [`RouteTest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestAttempt {
    /// The route it belongs to: the one tested, or one of its fallbacks.
    pub route: String,
    pub deployment_id: DeploymentId,
    pub provider: ProviderKind,
    pub upstream_model: String,
    /// `ok`; a failure the gateway would retry elsewhere (`connect`, `timeout`, `upstream_5xx`,
    /// `upstream_429`, `upstream_auth`, `bad_response`, ...); `upstream_4xx`, the upstream's own
    /// refusal; or `skipped` (disabled, or its credential cannot be read).
    pub outcome: String,
    /// The upstream's HTTP status, when it answered.
    pub status: Option<u16>,
    pub latency_ms: Option<f64>,
    pub detail: Option<String>,
}

/// An upstream credential as shown: never the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub id: CredentialId,
    pub name: String,
    pub provider: String,
    /// `env:VAR` or `file:/path` when the secret is a reference; `None` when it is stored encrypted.
    pub reference: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A model-name pattern: `gpt-4o` (exact), `anthropic/*` (prefix), `*` (anything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern<'a> {
    Exact(&'a str),
    /// The text before `*`, e.g. `anthropic/`.
    Prefix(&'a str),
    Any,
}

impl<'a> Pattern<'a> {
    pub fn parse(s: &'a str) -> Pattern<'a> {
        if s == "*" {
            Pattern::Any
        } else if let Some(prefix) = s.strip_suffix('*') {
            Pattern::Prefix(prefix)
        } else {
            Pattern::Exact(s)
        }
    }

    /// Whether `model` matches; for a prefix, the rest after the prefix.
    pub fn matches(self, model: &str) -> Option<&str> {
        match self {
            Pattern::Exact(e) => (e == model).then_some(""),
            Pattern::Prefix(p) => model.strip_prefix(p).filter(|rest| !rest.is_empty()),
            Pattern::Any => Some(model),
        }
    }
}

/// A pattern a person typed: non-empty, at most one `*`, and only at the end.
pub fn validate_pattern(s: &str) -> Result<(), &'static str> {
    if s.trim().is_empty() {
        return Err("enter a model name or pattern");
    }
    if s.len() > 256 {
        return Err("a model name has at most 256 characters");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a model name has no spaces or control characters");
    }
    match s.find('*') {
        Some(i) if i != s.len() - 1 => Err("`*` may only end a pattern, as in `anthropic/*`"),
        _ => Ok(()),
    }
}

/// Whether a key restricted to `allowed` (names or patterns) may call `model`.
/// `None` means no restriction; an empty list allows nothing.
pub fn model_allowed(allowed: Option<&[String]>, model: &str) -> bool {
    match allowed {
        None => true,
        Some(list) => list
            .iter()
            .any(|p| Pattern::parse(p).matches(model).is_some()),
    }
}

/// How specific a match is, for choosing among routes: exact beats any prefix, a longer prefix
/// beats a shorter one, and `*` comes last.
pub fn specificity(pattern: &str) -> (u8, usize) {
    match Pattern::parse(pattern) {
        Pattern::Exact(_) => (2, pattern.len()),
        Pattern::Prefix(p) => (1, p.len()),
        Pattern::Any => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_documented() {
        assert_eq!(Pattern::parse("gpt-4o").matches("gpt-4o"), Some(""));
        assert_eq!(Pattern::parse("gpt-4o").matches("gpt-4o-mini"), None);
        assert_eq!(
            Pattern::parse("anthropic/*").matches("anthropic/claude-3"),
            Some("claude-3")
        );
        assert_eq!(
            Pattern::parse("anthropic/*").matches("anthropic/"),
            None,
            "a wildcard needs a suffix"
        );
        assert_eq!(Pattern::parse("*").matches("anything"), Some("anything"));
    }

    #[test]
    fn specificity_orders_exact_then_longest_prefix_then_any() {
        let mut pats = vec![
            "*",
            "anthropic/*",
            "anthropic/claude-*",
            "anthropic/claude-3",
        ];
        pats.sort_by_key(|p| std::cmp::Reverse(specificity(p)));
        assert_eq!(
            pats,
            [
                "anthropic/claude-3",
                "anthropic/claude-*",
                "anthropic/*",
                "*"
            ]
        );
    }

    #[test]
    fn key_model_restrictions() {
        let allowed = vec!["gpt-4o".to_owned(), "anthropic/*".to_owned()];
        assert!(model_allowed(Some(&allowed), "gpt-4o"));
        assert!(model_allowed(Some(&allowed), "anthropic/claude-3"));
        assert!(!model_allowed(Some(&allowed), "gpt-4o-mini"));
        assert!(!model_allowed(Some(&[]), "gpt-4o"));
        assert!(model_allowed(None, "anything"));
    }

    #[test]
    fn pattern_validation() {
        assert!(validate_pattern("anthropic/*").is_ok());
        assert!(validate_pattern("*").is_ok());
        assert!(validate_pattern("a*b").is_err());
        assert!(validate_pattern("").is_err());
        assert!(validate_pattern("gpt 4").is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(Strategy::parse(s.as_str()), Some(s));
        }
        for p in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(p.as_str()), Some(p));
        }
    }
}
