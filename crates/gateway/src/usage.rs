//! One usage event per request, emitted when the response ends (even if the client went away),
//! onto a sink: the spend pipeline's writer (`crate::spend`), or a counter in tests.

use std::sync::atomic::{AtomicU64, Ordering};
use tollgate_store::SpendRecord;

/// How a request ended, for accounting and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The client disconnected before the end; tokens produced so far are counted.
    ClientClosed,
    /// Refused by Tollgate (auth, validation, routing) or failed upstream.
    Error,
}

/// One request's usage: the spend log row it becomes, plus how it ended and whether it
/// streamed (for tests and metrics). It reads as its record (`event.prompt_tokens`).
#[derive(Clone, Debug)]
pub struct UsageEvent {
    pub record: SpendRecord,
    pub outcome: Outcome,
    pub stream: bool,
}

impl std::ops::Deref for UsageEvent {
    type Target = SpendRecord;
    fn deref(&self) -> &SpendRecord {
        &self.record
    }
}

/// Where usage events go. `record` must not block: it is called from `Drop` of a stream.
pub trait UsageSink: Send + Sync {
    fn record(&self, event: UsageEvent);
    /// The spend writer, when this sink is it (for its metrics and readiness).
    fn spend_writer(&self) -> Option<&crate::spend::SpendWriter> {
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
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        self.events.fetch_add(1, Ordering::Relaxed);
        self.prompt_tokens
            .fetch_add(n(e.prompt_tokens), Ordering::Relaxed);
        self.completion_tokens
            .fetch_add(n(e.completion_tokens), Ordering::Relaxed);
    }
}
