//! Rate limits (requests and tokens per minute, parallel requests) and budgets with
//! reservations, for keys, teams and users.
//!
//! With Redis configured, every replica shares one set of counters, moved by two Lua scripts
//! (`admit.lua` before the upstream call, `settle.lua` after it) so a check and its increment
//! are one atomic step. Without Redis, the same rules run in process ([`local`]).
//!
//! Windows are sliding, in whole seconds: the last 60 one-second buckets. A minute window
//! aligned to a whole second never holds more than the limit; an arbitrary 60 s interval can
//! hold at most the limit plus what arrived in one partial second. GCRA was the alternative:
//! it keeps one number per limit, but it lets a full burst through and then one request per
//! 1/rate seconds, so "60 per minute" admits up to twice that in the first minute, which is
//! not what an admin who types 60 expects.
//!
//! When Redis stops answering, the configured policy applies and is visible (metrics and
//! readiness): `local` enforces limit / known replica count in each process, `deny` refuses
//! requests that have limits. Never silently the full limit per replica.

pub(crate) mod local;
pub(crate) mod redis;

use serde::Deserialize;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tollgate_domain::Micros;
pub use tollgate_store::Scope;

/// Whose limits a check holds: an owner of spend (a key, team or user), or a deployment's
/// own rate cap (the provider's quota for it; no budget, never in the spend counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    Spend(Scope),
    Deployment,
}

impl Owner {
    /// `key`, `team`, `user` or `deployment`: in Redis keys and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Spend(s) => s.as_str(),
            Owner::Deployment => "deployment",
        }
    }
}
use uuid::Uuid;

/// What to do while Redis is configured but unreachable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisDownPolicy {
    /// Each replica enforces limit / known replica count (degraded, and reported so).
    #[default]
    Local,
    /// Requests that have any limit are refused with 503 until Redis is back.
    Deny,
}

#[derive(Clone, Debug)]
pub struct LimitsConfig {
    pub redis_url: Option<String>,
    pub on_redis_down: RedisDownPolicy,
    /// Longest wait for one Redis call before the policy above applies.
    pub redis_timeout: Duration,
    /// A parallel slot taken by a replica that then died frees itself after this.
    pub parallel_lease: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            redis_url: None,
            on_redis_down: RedisDownPolicy::Local,
            redis_timeout: Duration::from_millis(500),
            parallel_lease: Duration::from_secs(900),
        }
    }
}

/// Where the counters are right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No Redis configured: in process (exact for one replica).
    Local,
    /// Shared by every replica through Redis.
    Redis,
    /// Redis unreachable, policy `local`: limit / replica count per replica.
    DegradedLocal,
    /// Redis unreachable, policy `deny`.
    Deny,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Local => "local",
            Mode::Redis => "redis",
            Mode::DegradedLocal => "degraded_local",
            Mode::Deny => "deny",
        }
    }

    pub const ALL: [Mode; 4] = [Mode::Local, Mode::Redis, Mode::DegradedLocal, Mode::Deny];
}

/// Which limit refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RateKind {
    Requests,
    Tokens,
    Parallel,
}

/// One owner's limits for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub owner: Owner,
    pub id: Uuid,
    pub rpm: Option<i64>,
    pub tpm: Option<i64>,
    pub parallel: Option<i64>,
    pub budget: Option<BudgetCheck>,
}

impl Check {
    pub fn is_empty(&self) -> bool {
        self.rpm.is_none() && self.tpm.is_none() && self.parallel.is_none() && self.budget.is_none()
    }
}

/// A budget to check and reserve against, in the window the request falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetCheck {
    pub max: Micros,
    /// The window's start (UTC ms; 0: lifetime).
    pub window: i64,
    /// Spend the database already has for this window (the counters start from it).
    pub seed: Micros,
    /// Reserved until the request settles.
    pub estimate: Micros,
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Rate {
        owner: Owner,
        kind: RateKind,
        limit: i64,
        retry_after_ms: i64,
    },
    Budget {
        owner: Owner,
        max: Micros,
        spent: Micros,
    },
    /// Redis is down and the policy is `deny`.
    Unavailable,
}

/// The limiter of one gateway process.
pub struct Limiter {
    config: LimitsConfig,
    local: local::Local,
    redis: RwLock<Option<redis::RedisLimiter>>,
    redis_up: AtomicBool,
    replicas: AtomicU32,
    /// Redis failures seen (for metrics).
    pub redis_errors: AtomicU64,
}

/// Which counters admitted a request, so it settles there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Redis,
    Local,
}

impl Limiter {
    /// Connects to Redis when configured; an unreachable Redis starts the limiter degraded
    /// and a background task keeps trying.
    pub async fn start(config: LimitsConfig) -> Arc<Limiter> {
        let limiter = Arc::new(Limiter {
            local: local::Local::default(),
            redis: RwLock::new(None),
            redis_up: AtomicBool::new(false),
            replicas: AtomicU32::new(1),
            redis_errors: AtomicU64::new(0),
            config,
        });
        if limiter.config.redis_url.is_some() {
            limiter.connect_redis().await;
            tokio::spawn(probe(Arc::downgrade(&limiter)));
        }
        limiter
    }

    async fn connect_redis(&self) {
        let Some(url) = &self.config.redis_url else {
            return;
        };
        match redis::RedisLimiter::connect(url, self.config.redis_timeout).await {
            Ok(r) => {
                let ok = r.ping().await.is_ok();
                if let Ok(mut slot) = self.redis.write() {
                    *slot = Some(r);
                }
                self.set_redis_up(ok);
            }
            Err(e) => {
                tracing::warn!(error = %e, "Redis unreachable; limits follow the `on_redis_down` policy");
                self.set_redis_up(false);
            }
        }
    }

    fn set_redis_up(&self, up: bool) {
        let was = self.redis_up.swap(up, Ordering::Relaxed);
        if was != up {
            if up {
                tracing::info!("Redis reachable: limits are shared by every replica again");
            } else {
                tracing::error!(
                    policy = ?self.config.on_redis_down,
                    replicas = self.replicas(),
                    "Redis unreachable: limits degraded"
                );
            }
        }
    }

    pub fn mode(&self) -> Mode {
        if self.config.redis_url.is_none() {
            Mode::Local
        } else if self.redis_up.load(Ordering::Relaxed) {
            Mode::Redis
        } else {
            match self.config.on_redis_down {
                RedisDownPolicy::Local => Mode::DegradedLocal,
                RedisDownPolicy::Deny => Mode::Deny,
            }
        }
    }

    /// Gateway replicas known alive (from heartbeats); at least 1.
    pub fn replicas(&self) -> u32 {
        self.replicas.load(Ordering::Relaxed).max(1)
    }

    pub fn set_replicas(&self, n: u32) {
        self.replicas.store(n.max(1), Ordering::Relaxed);
    }

    fn redis(&self) -> Option<redis::RedisLimiter> {
        self.redis.read().ok().and_then(|r| r.clone())
    }

    /// Checks every limit and, when all pass, takes a request slot, a parallel slot and a
    /// budget reservation. The ticket gives them back when it settles (or is dropped).
    pub async fn admit(
        self: &Arc<Self>,
        request_id: &str,
        checks: Vec<Check>,
    ) -> Result<Ticket, Refusal> {
        let mut via = Via::Local;
        match self.mode() {
            Mode::Local => self.local.admit(&checks, 1)?,
            Mode::Redis => match self.redis() {
                Some(r) => match r.admit(request_id, &checks, &self.config).await {
                    Ok(outcome) => {
                        outcome?;
                        via = Via::Redis;
                    }
                    Err(e) => {
                        self.redis_failed(&e);
                        self.degraded_admit(&checks)?;
                    }
                },
                None => self.degraded_admit(&checks)?,
            },
            Mode::DegradedLocal | Mode::Deny => self.degraded_admit(&checks)?,
        }
        Ok(Ticket {
            limiter: self.clone(),
            request_id: request_id.to_owned(),
            checks,
            via,
            settled: false,
        })
    }

    fn degraded_admit(&self, checks: &[Check]) -> Result<(), Refusal> {
        match self.config.on_redis_down {
            RedisDownPolicy::Deny => Err(Refusal::Unavailable),
            RedisDownPolicy::Local => self.local.admit(checks, self.replicas()),
        }
    }

    fn redis_failed(&self, e: &redis::RedisError) {
        self.redis_errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(error = %e, "Redis call failed");
        self.set_redis_up(false);
    }
}

/// While Redis is configured, checks it every second and flips the mode when it comes or goes.
async fn probe(limiter: std::sync::Weak<Limiter>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let Some(l) = limiter.upgrade() else { return };
        match l.redis() {
            None => l.connect_redis().await,
            Some(r) => {
                let ok = r.ping().await.is_ok();
                if !ok {
                    l.redis_errors.fetch_add(1, Ordering::Relaxed);
                }
                l.set_redis_up(ok);
            }
        }
    }
}

/// What a request took from the limits; settled with the real tokens and cost when it ends.
/// Dropped unsettled (refused or failed before any upstream answer), it releases its slot and
/// reservation at zero cost.
pub struct Ticket {
    limiter: Arc<Limiter>,
    request_id: String,
    checks: Vec<Check>,
    via: Via,
    settled: bool,
}

impl Ticket {
    pub fn settle(mut self, tokens: u64, cost: Micros) {
        self.finish(tokens, cost);
    }

    fn finish(&mut self, tokens: u64, cost: Micros) {
        if self.settled {
            return;
        }
        self.settled = true;
        let checks = std::mem::take(&mut self.checks);
        match self.via {
            Via::Local => self.limiter.local.settle(&checks, tokens, cost),
            Via::Redis => {
                let limiter = self.limiter.clone();
                let request_id = std::mem::take(&mut self.request_id);
                // Off the response path; a failure is counted and the leases expire on their own.
                let Ok(handle) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                handle.spawn(async move {
                    if let Some(r) = limiter.redis()
                        && let Err(e) = r.settle(&request_id, &checks, tokens, cost).await
                    {
                        limiter.redis_failed(&e);
                    }
                });
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.finish(0, Micros::ZERO);
    }
}
