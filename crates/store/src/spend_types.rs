//! What the spend pipeline writes and reads: spend log rows, budget-window counters, limit
//! holders (teams and users with budgets or limits), and admin price overrides.

use serde::{Deserialize, Serialize};
use tollgate_domain::{KeyId, Micros, TeamId, Timestamp, UserId};
use uuid::Uuid;

/// Whose budget or limit: a virtual key, a team or a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// A virtual key.
    Key,
    /// A team.
    Team,
    /// A user.
    User,
}

impl Scope {
    /// `key`, `team` or `user`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Key => "key",
            Scope::Team => "team",
            Scope::User => "user",
        }
    }

    /// The inverse of [`Scope::as_str`].
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "key" => Some(Scope::Key),
            "team" => Some(Scope::Team),
            "user" => Some(Scope::User),
            _ => None,
        }
    }
}

/// One request as the spend log records it. `request_id` is unique: writing the same record
/// twice (a spool replayed after a crash) counts it once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRecord {
    /// The request id (the caller's `x-request-id` or a UUID v7).
    pub request_id: String,
    /// When the request ended.
    pub ts: Timestamp,
    /// The virtual key.
    pub key_id: Option<KeyId>,
    /// The key's team.
    pub team_id: Option<TeamId>,
    /// The key's user.
    pub user_id: Option<UserId>,
    /// The gateway instance that served it.
    pub instance: String,
    /// The pod (or host) that served it.
    pub pod: String,
    /// The model name the client asked for.
    pub route_model: String,
    /// The model the upstream was asked for.
    pub upstream_model: Option<String>,
    /// `openai`, `anthropic`, `azure`.
    pub provider: Option<String>,
    /// The deployment that answered.
    pub deployment_id: Option<Uuid>,
    /// Prompt tokens, cached ones included.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Prompt tokens read from the provider's cache.
    pub cached_tokens: i64,
    /// What it cost.
    pub cost: Micros,
    /// Arrival to last byte.
    pub latency_ms: Option<i64>,
    /// Arrival to first content (streams).
    pub ttft_ms: Option<i64>,
    /// The HTTP status the client got.
    pub status: i32,
    /// Why it failed, when it did.
    pub error_kind: Option<String>,
    /// No price was known: `cost` is 0, not a guess.
    pub unpriced: bool,
    /// The deployments the request was sent to, in order (retries and fallbacks included);
    /// empty when none was tried. Absent in spool files written before it existed.
    #[serde(default)]
    pub tried: Vec<Uuid>,
    /// The prompt and completion, for a key or team that stores them (`None` otherwise, and in
    /// spool files written before it existed). Written only with a new row, never on replay.
    #[serde(default)]
    pub bodies: Option<tollgate_domain::analytics::StoredBodies>,
    /// The budget window (start, UTC ms; 0 for a lifetime budget) charged for the key, its
    /// team and its user, computed from each owner's budget period when the request ended.
    pub key_window: i64,
    /// See `key_window`.
    pub team_window: i64,
    /// See `key_window`.
    pub user_window: i64,
}

impl SpendRecord {
    /// A successful request of `route_model` with nothing else known: no owner, no tokens, no
    /// cost, no latency, lifetime windows. Callers set the rest with struct update syntax.
    pub fn new(
        request_id: impl Into<String>,
        ts: Timestamp,
        instance: impl Into<String>,
        pod: impl Into<String>,
        route_model: impl Into<String>,
    ) -> SpendRecord {
        SpendRecord {
            request_id: request_id.into(),
            ts,
            key_id: None,
            team_id: None,
            user_id: None,
            instance: instance.into(),
            pod: pod.into(),
            route_model: route_model.into(),
            upstream_model: None,
            provider: None,
            deployment_id: None,
            prompt_tokens: 0,
            completion_tokens: 0,
            cached_tokens: 0,
            cost: Micros(0),
            latency_ms: None,
            ttft_ms: None,
            status: 200,
            error_kind: None,
            unpriced: false,
            tried: Vec::new(),
            bodies: None,
            key_window: 0,
            team_window: 0,
            user_window: 0,
        }
    }
}

/// A budget-window counter that a write moved, with its value before and after (so exactly
/// one writer sees a soft budget being crossed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowChange {
    /// Whose counter.
    pub scope: Scope,
    /// The key, team or user id.
    pub id: Uuid,
    /// The window's start (UTC ms; 0: lifetime).
    pub window_start: i64,
    /// Spend in the window before this write.
    pub before: Micros,
    /// Spend in the window after this write.
    pub after: Micros,
}

/// What [`crate::Store::record_spend`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpendWrite {
    /// Rows newly written; records already present (by request id) are skipped.
    pub inserted: u64,
    /// The window counters moved, one per (scope, id, window).
    pub windows: Vec<WindowChange>,
}

/// Spend of one owner in one budget window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSpend {
    /// Whose counter.
    pub scope: Scope,
    /// The key, team or user id.
    pub id: Uuid,
    /// The window's start (UTC ms; 0: lifetime).
    pub window_start: i64,
    /// Spend in the window so far.
    pub spend: Micros,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Budget and limit settings of a key, team or user. Users have budgets only: their rate
/// fields are always `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Spend limit per budget window.
    pub max_budget: Option<Micros>,
    /// `30s` .. `1mo` (see `tollgate_domain::budget`); `None`: the budget never resets.
    pub budget_duration: Option<String>,
    /// Spend at which an alert is raised, without blocking.
    pub soft_budget: Option<Micros>,
    /// Requests per minute.
    pub rpm_limit: Option<i64>,
    /// Tokens per minute.
    pub tpm_limit: Option<i64>,
    /// Requests in flight at once.
    pub max_parallel: Option<i64>,
}

impl Limits {
    /// Whether anything is limited at all.
    pub fn any(&self) -> bool {
        self.max_budget.is_some()
            || self.soft_budget.is_some()
            || self.rpm_limit.is_some()
            || self.tpm_limit.is_some()
            || self.max_parallel.is_some()
    }
}

/// A team or user with some budget or limit, as the gateway caches them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitHolder {
    /// `Team` or `User`.
    pub scope: Scope,
    /// The team or user id.
    pub id: Uuid,
    /// Its settings.
    pub limits: Limits,
    /// When it was created: the anchor of fixed-length budget windows.
    pub created_at: Timestamp,
}

/// An admin price override; it lives in `tollgate_domain` so the portal's pages show it too.
pub use tollgate_domain::pricing::ModelPrice;

/// Totals over the raw log and over the daily rollup, which must agree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpendTotals {
    /// Rows (requests).
    pub requests: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Cost.
    pub cost: i64,
    /// Requests with status >= 400.
    pub errors: i64,
}

/// Requests and spend served by one gateway pod since some time (from the raw spend log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodTraffic {
    /// The instance the serving gateway says it is.
    pub instance: String,
    /// The pod that served.
    pub pod: String,
    /// The model asked for (`route_model`).
    pub model: String,
    /// Requests logged.
    pub requests: i64,
    /// Of those, requests refused as not this instance's: no route for the model here
    /// (`model_not_found`) or a key not allowed on this instance (`instance_not_allowed`).
    pub misdirected: i64,
    /// Their cost.
    pub cost: Micros,
}

/// A budget whose owner spent at least a given share of it in some recent window (see
/// [`crate::Store::budgets_near_limit`]); the caller decides whether that window is the current
/// one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetStanding {
    /// Whose budget.
    pub scope: Scope,
    /// The key, team or user id.
    pub id: Uuid,
    /// The team it belongs to: a key's team, a team itself; `None` for users and team-less keys.
    pub team_id: Option<Uuid>,
    /// A key's alias (else its masked form), a team's name, a user's email.
    pub label: String,
    /// The budget.
    pub max_budget: Micros,
    /// Its period (`30d`, `1mo`), `None` for a lifetime budget.
    pub budget_duration: Option<String>,
    /// When the owner was created: the anchor of fixed-length windows.
    pub created_at: Timestamp,
    /// The window the spend is in (UTC ms; 0 for lifetime).
    pub window_start: i64,
    /// Spend in that window.
    pub spend: Micros,
}
