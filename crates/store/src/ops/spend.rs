//! Queries of the spend pipeline: the batch write, window counters, retention, limit holders
//! and price overrides.

use crate::spend_types::{Scope, SpendRecord};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Rows per multi-row `INSERT`: 20 columns x 1000 rows stays under SQLite's 32766 parameters
/// and Postgres's 65535.
pub(crate) const CHUNK: usize = 1000;

/// One row of `spend_daily`: (day, key, team, user, model, instance).
pub(crate) type DailyKey = (i64, Uuid, Uuid, Uuid, String, String);

/// What the newly written rows of a batch add to counters, in a fixed order (so two writers
/// lock rows in the same order and cannot deadlock on Postgres).
#[derive(Default)]
pub(crate) struct Aggregate {
    /// Per key: cost, and the newest request time (`last_used_at`).
    pub keys: BTreeMap<Uuid, (i64, i64)>,
    pub teams: BTreeMap<Uuid, i64>,
    pub users: BTreeMap<Uuid, i64>,
    pub windows: BTreeMap<(Scope, Uuid, i64), i64>,
    /// requests, prompt tokens, completion tokens, cost, errors.
    pub daily: BTreeMap<DailyKey, [i64; 5]>,
}

impl Aggregate {
    pub(crate) fn add(&mut self, r: &SpendRecord) {
        let cost = r.cost.0;
        let nil = Uuid::nil();
        let key = r.key_id.map(|k| k.0);
        let team = r.team_id.map(|t| t.0);
        let user = r.user_id.map(|u| u.0);
        if let Some(k) = key {
            let e = self.keys.entry(k).or_insert((0, i64::MIN));
            e.0 = e.0.saturating_add(cost);
            e.1 = e.1.max(r.ts.0);
        }
        for (scope, id, window) in [
            (Scope::Key, key, r.key_window),
            (Scope::Team, team, r.team_window),
            (Scope::User, user, r.user_window),
        ] {
            let Some(id) = id else { continue };
            match scope {
                Scope::Team => *self.teams.entry(id).or_default() += cost,
                Scope::User => *self.users.entry(id).or_default() += cost,
                Scope::Key => {}
            }
            if cost != 0 {
                *self.windows.entry((scope, id, window)).or_default() += cost;
            }
        }
        let day = tollgate_domain::Timestamp(r.ts.0).start_of_day().0;
        let d = self.daily.entry((
            day,
            key.unwrap_or(nil),
            team.unwrap_or(nil),
            user.unwrap_or(nil),
            r.route_model.clone(),
            r.instance.clone(),
        ));
        let v = d.or_default();
        v[0] += 1;
        v[1] += r.prompt_tokens;
        v[2] += r.completion_tokens;
        v[3] = v[3].saturating_add(cost);
        v[4] += i64::from(r.status >= 400);
    }
}

/// Free functions over `&Pool<Db>` for the spend pipeline; see [`crate::ops`] for what must be
/// in scope.
macro_rules! spend_ops {
    () => {
        pub(crate) async fn record_spend(
            pool: &sqlx::Pool<Db>,
            batch: &[$crate::SpendRecord],
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<$crate::SpendWrite> {
            use $crate::ops::spend::{Aggregate, CHUNK};
            use $crate::rows::DbRow as _;
            if batch.is_empty() {
                return Ok($crate::SpendWrite::default());
            }
            let mut tx = pool.begin().await.map_err($crate::Error::db)?;
            let mut fresh = std::collections::HashSet::new();
            for chunk in batch.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO spend_logs (request_id, ts, key_id, team_id, user_id, instance, \
                     pod, route_model, upstream_model, provider, deployment_id, prompt_tokens, \
                     completion_tokens, cached_tokens, cost, latency_ms, ttft_ms, status, \
                     error_kind, unpriced) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(r.request_id.clone())
                        .push_bind(r.ts.0)
                        .push_bind(r.key_id.map(|k| id_arg(k.0)))
                        .push_bind(r.team_id.map(|t| id_arg(t.0)))
                        .push_bind(r.user_id.map(|u| id_arg(u.0)))
                        .push_bind(r.instance.clone())
                        .push_bind(r.pod.clone())
                        .push_bind(r.route_model.clone())
                        .push_bind(r.upstream_model.clone())
                        .push_bind(r.provider.clone())
                        .push_bind(r.deployment_id.map(id_arg))
                        .push_bind(r.prompt_tokens)
                        .push_bind(r.completion_tokens)
                        .push_bind(r.cached_tokens)
                        .push_bind(r.cost.0)
                        .push_bind(r.latency_ms)
                        .push_bind(r.ttft_ms)
                        .push_bind(r.status)
                        .push_bind(r.error_kind.clone())
                        .push_bind(r.unpriced);
                });
                q.push(" ON CONFLICT (request_id) DO NOTHING RETURNING request_id");
                for row in q
                    .build()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err($crate::Error::db)?
                {
                    fresh.insert(row.text("request_id")?);
                }
            }
            let inserted = fresh.len() as u64;
            // Only rows written now count: a replayed or repeated request id adds nothing.
            let mut agg = Aggregate::default();
            for r in batch {
                if fresh.remove(&r.request_id) {
                    agg.add(r);
                }
            }
            // One statement per table: `UPDATE ... FROM (VALUES ...)` (both backends name the
            // VALUES columns column1, column2 ...), in id order.
            let keys: Vec<_> = agg.keys.iter().collect();
            for chunk in keys.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "UPDATE virtual_keys SET spend = virtual_keys.spend + v.column2, \
                     last_used_at = CASE WHEN virtual_keys.last_used_at IS NULL OR \
                     virtual_keys.last_used_at < v.column3 THEN v.column3 \
                     ELSE virtual_keys.last_used_at END FROM (",
                );
                q.push_values(chunk, |mut b, (id, (cost, last))| {
                    b.push_bind(id_arg(**id)).push_bind(*cost).push_bind(*last);
                });
                q.push(") AS v WHERE virtual_keys.id = v.column1");
                q.build()
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::Error::db)?;
            }
            for (table, map) in [("teams", &agg.teams), ("users", &agg.users)] {
                let owners: Vec<_> = map.iter().filter(|(_, c)| **c != 0).collect();
                for chunk in owners.chunks(CHUNK) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                        "UPDATE {table} SET spend = {table}.spend + v.column2 FROM ("
                    ));
                    q.push_values(chunk, |mut b, (id, cost)| {
                        b.push_bind(id_arg(**id)).push_bind(**cost);
                    });
                    q.push(format!(") AS v WHERE {table}.id = v.column1"));
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::Error::db)?;
                }
            }
            let mut windows = Vec::with_capacity(agg.windows.len());
            let entries: Vec<_> = agg.windows.iter().collect();
            for chunk in entries.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO spend_windows (scope, id, window_start, spend, updated_at) ",
                );
                q.push_values(chunk, |mut b, ((scope, id, window), cost)| {
                    b.push_bind(scope.as_str())
                        .push_bind(id_arg(*id))
                        .push_bind(*window)
                        .push_bind(**cost)
                        .push_bind(now.0);
                });
                q.push(
                    " ON CONFLICT (scope, id, window_start) DO UPDATE SET \
                     spend = spend_windows.spend + excluded.spend, \
                     updated_at = excluded.updated_at RETURNING scope, id, window_start, spend",
                );
                for row in q
                    .build()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err($crate::Error::db)?
                {
                    let scope_text = row.text("scope")?;
                    let scope = $crate::Scope::parse(&scope_text).ok_or_else(|| {
                        $crate::Error::Internal(format!("unknown scope {scope_text}"))
                    })?;
                    let id = row.uuid("id")?;
                    let window_start = row.int("window_start")?;
                    let after = row.int("spend")?;
                    let delta = agg
                        .windows
                        .get(&(scope, id, window_start))
                        .copied()
                        .unwrap_or(0);
                    windows.push($crate::WindowChange {
                        scope,
                        id,
                        window_start,
                        before: tollgate_domain::Micros(after - delta),
                        after: tollgate_domain::Micros(after),
                    });
                }
            }
            let daily: Vec<_> = agg.daily.iter().collect();
            for chunk in daily.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO spend_daily (day, key_id, team_id, user_id, model, instance, \
                     requests, prompt_tokens, completion_tokens, cost, errors) ",
                );
                q.push_values(chunk, |mut b, ((day, key, team, user, model, instance), v)| {
                    b.push_bind(*day)
                        .push_bind(id_arg(*key))
                        .push_bind(id_arg(*team))
                        .push_bind(id_arg(*user))
                        .push_bind(model.clone())
                        .push_bind(instance.clone())
                        .push_bind(v[0])
                        .push_bind(v[1])
                        .push_bind(v[2])
                        .push_bind(v[3])
                        .push_bind(v[4]);
                });
                q.push(
                    " ON CONFLICT (day, key_id, team_id, user_id, model, instance) DO UPDATE SET \
                     requests = spend_daily.requests + excluded.requests, \
                     prompt_tokens = spend_daily.prompt_tokens + excluded.prompt_tokens, \
                     completion_tokens = spend_daily.completion_tokens + excluded.completion_tokens, \
                     cost = spend_daily.cost + excluded.cost, \
                     errors = spend_daily.errors + excluded.errors",
                );
                q.build()
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::Error::db)?;
            }
            tx.commit().await.map_err($crate::Error::db)?;
            Ok($crate::SpendWrite { inserted, windows })
        }

        pub(crate) async fn list_spend_windows(
            pool: &sqlx::Pool<Db>,
            updated_after: tollgate_domain::Timestamp,
            min_window_start: tollgate_domain::Timestamp,
        ) -> $crate::Result<Vec<$crate::WindowSpend>> {
            use $crate::rows::DbRow as _;
            sqlx::query(
                "SELECT scope, id, window_start, spend, updated_at FROM spend_windows \
                 WHERE updated_at > $1 AND (window_start = 0 OR window_start >= $2)",
            )
            .bind(updated_after.0)
            .bind(min_window_start.0)
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map(|row| {
                let scope_text = row.text("scope")?;
                Ok($crate::WindowSpend {
                    scope: $crate::Scope::parse(&scope_text).ok_or_else(|| {
                        $crate::Error::Internal(format!("unknown scope {scope_text}"))
                    })?,
                    id: row.uuid("id")?,
                    window_start: row.int("window_start")?,
                    spend: tollgate_domain::Micros(row.int("spend")?),
                    updated_at: row.ts("updated_at")?,
                })
            })
            .collect()
        }

        pub(crate) async fn delete_spend_logs_before(
            pool: &sqlx::Pool<Db>,
            before: tollgate_domain::Timestamp,
            limit: u32,
        ) -> $crate::Result<u64> {
            // A bounded batch: retention never holds a long lock on a busy table.
            let done = sqlx::query(
                "DELETE FROM spend_logs WHERE request_id IN \
                 (SELECT request_id FROM spend_logs WHERE ts < $1 LIMIT $2)",
            )
            .bind(before.0)
            .bind(i64::from(limit))
            .execute(pool)
            .await
            .map_err($crate::Error::db)?;
            Ok(done.rows_affected())
        }

        pub(crate) async fn pod_traffic(
            pool: &sqlx::Pool<Db>,
            since: tollgate_domain::Timestamp,
        ) -> $crate::Result<Vec<$crate::PodTraffic>> {
            use $crate::rows::DbRow as _;
            // A range on the `ts` index; callers keep the window short (the last hour).
            sqlx::query(
                "SELECT instance, pod, CAST(COUNT(*) AS BIGINT) AS requests, \
                 CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS cost FROM spend_logs \
                 WHERE ts >= $1 GROUP BY instance, pod ORDER BY instance, pod",
            )
            .bind(since.0)
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map(|row| {
                Ok($crate::PodTraffic {
                    instance: row.text("instance")?,
                    pod: row.text("pod")?,
                    requests: row.int("requests")?,
                    cost: tollgate_domain::Micros(row.int("cost")?),
                })
            })
            .collect()
        }

        pub(crate) async fn spend_totals(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<($crate::SpendTotals, $crate::SpendTotals)> {
            use $crate::rows::DbRow as _;
            let read = |row: &<Db as sqlx::Database>::Row| -> $crate::Result<$crate::SpendTotals> {
                Ok($crate::SpendTotals {
                    requests: row.int("requests")?,
                    prompt_tokens: row.int("prompt_tokens")?,
                    completion_tokens: row.int("completion_tokens")?,
                    cost: row.int("cost")?,
                    errors: row.int("errors")?,
                })
            };
            let logs = sqlx::query(
                "SELECT CAST(COUNT(*) AS BIGINT) AS requests, \
                 CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS prompt_tokens, \
                 CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) AS completion_tokens, \
                 CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS cost, \
                 CAST(COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0) AS BIGINT) \
                 AS errors FROM spend_logs",
            )
            .fetch_one(pool)
            .await
            .map_err($crate::Error::db)?;
            let rollup = sqlx::query(
                "SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) AS requests, \
                 CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS prompt_tokens, \
                 CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) AS completion_tokens, \
                 CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS cost, \
                 CAST(COALESCE(SUM(errors), 0) AS BIGINT) AS errors FROM spend_daily",
            )
            .fetch_one(pool)
            .await
            .map_err($crate::Error::db)?;
            Ok((read(&logs)?, read(&rollup)?))
        }

        pub(crate) async fn list_limit_holders(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<Vec<$crate::LimitHolder>> {
            use $crate::rows::DbRow as _;
            let mut out = Vec::new();
            for (scope, sql) in [
                (
                    $crate::Scope::Team,
                    "SELECT id, max_budget, budget_duration, soft_budget, rpm_limit, tpm_limit, \
                     max_parallel, created_at FROM teams WHERE max_budget IS NOT NULL OR \
                     soft_budget IS NOT NULL OR rpm_limit IS NOT NULL OR tpm_limit IS NOT NULL \
                     OR max_parallel IS NOT NULL ORDER BY id",
                ),
                (
                    $crate::Scope::User,
                    "SELECT id, max_budget, budget_duration, soft_budget, NULL AS rpm_limit, \
                     NULL AS tpm_limit, NULL AS max_parallel, created_at FROM users \
                     WHERE max_budget IS NOT NULL OR soft_budget IS NOT NULL ORDER BY id",
                ),
            ] {
                for row in sqlx::query(sql)
                    .fetch_all(pool)
                    .await
                    .map_err($crate::Error::db)?
                {
                    out.push($crate::LimitHolder {
                        scope,
                        id: row.uuid("id")?,
                        limits: $crate::Limits {
                            max_budget: row.opt_int("max_budget")?.map(tollgate_domain::Micros),
                            budget_duration: row.opt_text("budget_duration")?,
                            soft_budget: row.opt_int("soft_budget")?.map(tollgate_domain::Micros),
                            rpm_limit: row.opt_int("rpm_limit")?,
                            tpm_limit: row.opt_int("tpm_limit")?,
                            max_parallel: row.opt_int("max_parallel")?,
                        },
                        created_at: row.ts("created_at")?,
                    });
                }
            }
            Ok(out)
        }

        pub(crate) async fn set_limits(
            pool: &sqlx::Pool<Db>,
            scope: $crate::Scope,
            id: uuid::Uuid,
            l: &$crate::Limits,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<()> {
            let rates = |sql| {
                sqlx::query(sql)
                    .bind(id_arg(id))
                    .bind(l.max_budget.map(|m| m.0))
                    .bind(l.budget_duration.as_deref())
                    .bind(l.soft_budget.map(|m| m.0))
                    .bind(l.rpm_limit)
                    .bind(l.tpm_limit)
                    .bind(l.max_parallel)
                    .bind(now.0)
            };
            let query = match scope {
                $crate::Scope::Key => rates(
                    "UPDATE virtual_keys SET max_budget = $2, budget_duration = $3, \
                     soft_budget = $4, rpm_limit = $5, tpm_limit = $6, max_parallel = $7, \
                     updated_at = $8, version = version + 1 WHERE id = $1",
                ),
                $crate::Scope::Team => rates(
                    "UPDATE teams SET max_budget = $2, budget_duration = $3, soft_budget = $4, \
                     rpm_limit = $5, tpm_limit = $6, max_parallel = $7, updated_at = $8 \
                     WHERE id = $1",
                ),
                $crate::Scope::User => {
                    if l.rpm_limit.is_some() || l.tpm_limit.is_some() || l.max_parallel.is_some()
                    {
                        return Err($crate::Error::Conflict(
                            "a user has a budget only: set rate limits on keys and teams"
                                .to_owned(),
                        ));
                    }
                    sqlx::query(
                        "UPDATE users SET max_budget = $2, budget_duration = $3, \
                         soft_budget = $4, updated_at = $5 WHERE id = $1",
                    )
                    .bind(id_arg(id))
                    .bind(l.max_budget.map(|m| m.0))
                    .bind(l.budget_duration.as_deref())
                    .bind(l.soft_budget.map(|m| m.0))
                    .bind(now.0)
                }
            };
            let done = query.execute(pool).await.map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn list_model_prices(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<Vec<$crate::ModelPrice>> {
            use $crate::rows::DbRow as _;
            sqlx::query(
                "SELECT model_pattern, input_price_per_mtok, output_price_per_mtok, \
                 cached_input_price_per_mtok, updated_at FROM model_prices \
                 WHERE source = 'admin' ORDER BY model_pattern",
            )
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map(|row| {
                Ok($crate::ModelPrice {
                    pattern: row.text("model_pattern")?,
                    input_per_mtok: tollgate_domain::Micros(row.int("input_price_per_mtok")?),
                    output_per_mtok: tollgate_domain::Micros(row.int("output_price_per_mtok")?),
                    cached_input_per_mtok: row
                        .opt_int("cached_input_price_per_mtok")?
                        .map(tollgate_domain::Micros),
                    updated_at: row.ts("updated_at")?,
                })
            })
            .collect()
        }

        pub(crate) async fn upsert_model_price(
            pool: &sqlx::Pool<Db>,
            p: &$crate::ModelPrice,
        ) -> $crate::Result<()> {
            sqlx::query(
                "INSERT INTO model_prices (model_pattern, input_price_per_mtok, \
                 output_price_per_mtok, cached_input_price_per_mtok, source, updated_at) \
                 VALUES ($1, $2, $3, $4, 'admin', $5) ON CONFLICT (model_pattern) DO UPDATE SET \
                 input_price_per_mtok = excluded.input_price_per_mtok, \
                 output_price_per_mtok = excluded.output_price_per_mtok, \
                 cached_input_price_per_mtok = excluded.cached_input_price_per_mtok, \
                 source = 'admin', updated_at = excluded.updated_at",
            )
            .bind(&p.pattern)
            .bind(p.input_per_mtok.0)
            .bind(p.output_per_mtok.0)
            .bind(p.cached_input_per_mtok.map(|m| m.0))
            .bind(p.updated_at.0)
            .execute(pool)
            .await
            .map_err($crate::Error::db)?;
            Ok(())
        }

        pub(crate) async fn delete_model_price(
            pool: &sqlx::Pool<Db>,
            pattern: &str,
        ) -> $crate::Result<()> {
            let done = sqlx::query("DELETE FROM model_prices WHERE model_pattern = $1")
                .bind(pattern)
                .execute(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }
    };
}
pub(crate) use spend_ops;
