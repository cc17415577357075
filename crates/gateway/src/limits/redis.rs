//! The shared counters in Redis: two Lua scripts, one call each per request.

use super::{Check, LimitsConfig, Owner, RateKind, Refusal, Scope};
use redis::aio::ConnectionManager;
use std::time::Duration;
use tollgate_domain::Micros;

pub(crate) type RedisError = redis::RedisError;

/// Budget counters live a day in Redis, then are re-seeded from the database.
const BUDGET_TTL_MS: i64 = 24 * 3600 * 1000;

#[derive(Clone)]
pub(crate) struct RedisLimiter {
    conn: ConnectionManager,
    admit: redis::Script,
    settle: redis::Script,
    timeout: Duration,
}

fn timeout_error() -> RedisError {
    RedisError::from((redis::ErrorKind::IoError, "Redis did not answer in time"))
}

/// The four keys of one owner: requests, tokens, parallel leases, budget of its window.
fn keys(c: &Check) -> [String; 4] {
    let base = format!("tg:{}:{}", c.owner.as_str(), c.id);
    let window = c.budget.map_or(0, |b| b.window);
    [
        format!("{base}:rpm"),
        format!("{base}:tpm"),
        format!("{base}:par"),
        format!("{base}:bud:{window}"),
    ]
}

fn opt(v: Option<i64>) -> i64 {
    v.unwrap_or(-1)
}

impl RedisLimiter {
    pub(crate) async fn connect(url: &str, timeout: Duration) -> Result<RedisLimiter, RedisError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(
            timeout * 2,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| timeout_error())??;
        Ok(RedisLimiter {
            conn,
            admit: redis::Script::new(include_str!("admit.lua")),
            settle: redis::Script::new(include_str!("settle.lua")),
            timeout,
        })
    }

    pub(crate) async fn ping(&self) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(
            self.timeout,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        .map_err(|_| timeout_error())?
        .map(|_| ())
    }

    /// `Ok(Ok(()))` admitted, `Ok(Err(_))` refused, `Err(_)` Redis failed (nothing decided).
    pub(crate) async fn admit(
        &self,
        request_id: &str,
        checks: &[Check],
        config: &LimitsConfig,
    ) -> Result<Result<(), Refusal>, RedisError> {
        let mut inv = self.admit.prepare_invoke();
        for c in checks {
            for k in keys(c) {
                inv.key(k);
            }
        }
        inv.arg(request_id)
            .arg(i64::try_from(config.parallel_lease.as_millis()).unwrap_or(i64::MAX))
            .arg(BUDGET_TTL_MS);
        for c in checks {
            let b = c.budget;
            inv.arg(opt(c.rpm))
                .arg(opt(c.tpm))
                .arg(opt(c.parallel))
                .arg(b.map_or(-1, |b| b.max.0))
                .arg(b.map_or(0, |b| b.seed.0))
                .arg(b.map_or(0, |b| b.estimate.0));
        }
        let mut conn = self.conn.clone();
        let out: Vec<i64> = tokio::time::timeout(self.timeout, inv.invoke_async(&mut conn))
            .await
            .map_err(|_| timeout_error())??;
        if out.first() == Some(&1) {
            return Ok(Ok(()));
        }
        let at = |i: usize| out.get(i).copied().unwrap_or(0);
        let owner = usize::try_from(at(1))
            .ok()
            .and_then(|i| checks.get(i))
            .map_or(Owner::Spend(Scope::Key), |c| c.owner);
        let kind = match at(2) {
            1 => RateKind::Requests,
            2 => RateKind::Tokens,
            3 => RateKind::Parallel,
            _ => {
                return Ok(Err(Refusal::Budget {
                    owner,
                    max: Micros(at(3)),
                    spent: Micros(at(5)),
                }));
            }
        };
        Ok(Err(Refusal::Rate {
            owner,
            kind,
            limit: at(3),
            retry_after_ms: at(4).max(1),
        }))
    }

    pub(crate) async fn settle(
        &self,
        request_id: &str,
        checks: &[Check],
        tokens: u64,
        cost: Micros,
    ) -> Result<(), RedisError> {
        let mut inv = self.settle.prepare_invoke();
        for c in checks {
            for k in keys(c) {
                inv.key(k);
            }
        }
        inv.arg(request_id);
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        for c in checks {
            inv.arg(if c.tpm.is_some() { tokens } else { -1 })
                .arg(i64::from(c.parallel.is_some()))
                .arg(i64::from(c.budget.is_some()))
                .arg(c.budget.map_or(0, |b| b.estimate.0))
                .arg(cost.0);
        }
        let mut conn = self.conn.clone();
        tokio::time::timeout(self.timeout, inv.invoke_async::<i64>(&mut conn))
            .await
            .map_err(|_| timeout_error())??;
        Ok(())
    }
}
