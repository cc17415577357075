//! One usage event per request, emitted when the response ends (even if the client went away),
//! onto a sink the spend pipeline consumes. For now the sink counts.

use std::sync::atomic::{AtomicU64, Ordering};
use tollgate_domain::{KeyId, TeamId, Timestamp, UserId};

/// How a request ended, for accounting and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The client disconnected before the end; tokens produced so far are counted.
    ClientClosed,
    /// Refused by Tollgate (auth, validation, routing) or failed upstream.
    Error,
}

#[derive(Clone, Debug)]
pub struct UsageEvent {
    pub request_id: String,
    pub ts: Timestamp,
    pub key_id: Option<KeyId>,
    pub team_id: Option<TeamId>,
    pub user_id: Option<UserId>,
    pub instance: String,
    pub pod: String,
    /// The model name the client asked for.
    pub route_model: String,
    pub upstream_model: Option<String>,
    pub provider: Option<&'static str>,
    pub deployment_id: Option<String>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    pub status: u16,
    pub outcome: Outcome,
    /// `timeout`, `connect`, `upstream_5xx`, `upstream_429`, `upstream_4xx`, `auth`, ...
    pub error_kind: Option<&'static str>,
    pub stream: bool,
}

/// Where usage events go. `record` must not block: it is called from `Drop` of a stream.
pub trait UsageSink: Send + Sync {
    fn record(&self, event: UsageEvent);
}

/// Counts events and tokens; the spend pipeline issue replaces it with the batch writer.
#[derive(Default)]
pub struct CountingSink {
    pub events: AtomicU64,
    pub prompt_tokens: AtomicU64,
    pub completion_tokens: AtomicU64,
}

impl UsageSink for CountingSink {
    fn record(&self, e: UsageEvent) {
        self.events.fetch_add(1, Ordering::Relaxed);
        self.prompt_tokens
            .fetch_add(e.prompt_tokens, Ordering::Relaxed);
        self.completion_tokens
            .fetch_add(e.completion_tokens, Ordering::Relaxed);
    }
}
