//! One usage event per request, emitted when the response ends (even if the client went away),
//! onto a sink: the spend pipeline's writer (`crate::spend`), or a counter in tests.

use std::sync::atomic::{AtomicU64, Ordering};
use tollgate_domain::{KeyId, Micros, TeamId, Timestamp, UserId};

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
    /// What it cost (0 when no price is known: see `unpriced`).
    pub cost: Micros,
    /// Tokens were used but no price is known for the model.
    pub unpriced: bool,
    /// The budget windows charged (start, UTC ms; 0: lifetime), for the key, team and user.
    pub key_window: i64,
    pub team_window: i64,
    pub user_window: i64,
}

/// Where usage events go. `record` must not block: it is called from `Drop` of a stream.
pub trait UsageSink: Send + Sync {
    fn record(&self, event: UsageEvent);
    /// The spend pipeline's state, when this sink is the spend writer.
    fn spend_status(&self) -> Option<crate::spend::SpendStatus> {
        None
    }
    /// The spend pipeline's counters, when this sink is the spend writer.
    fn spend_stats(&self) -> Option<&crate::spend::SpendStats> {
        None
    }
}

/// Counts events and tokens (tests, and processes that keep no spend log).
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
