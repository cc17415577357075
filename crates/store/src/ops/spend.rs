//! Queries of the spend pipeline: the batch write, window counters, retention and the
//! consistency check. The rollups it feeds are in [`crate::ops::rollups`].

use crate::ops::rollups::Rollups;
use crate::spend_types::{Scope, SpendRecord};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Rows per multi-row `INSERT`: the widest row (a rollup row, 25 columns; a spend log row has
/// 20) x 1000 stays under SQLite's 32766 parameters and Postgres's 65535.
pub(crate) const CHUNK: usize = 1000;

/// The `tried` column: the deployments' uuids, comma-separated.
pub(crate) fn tried_text(tried: &[uuid::Uuid]) -> String {
    tried
        .iter()
        .map(uuid::Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// One instant of each calendar month (UTC) the batch's rows fall in: its first millisecond,
/// oldest first. Postgres keeps `spend_logs` in one partition per month.
pub(crate) fn months_of(batch: &[SpendRecord]) -> Vec<i64> {
    use tollgate_domain::time::{MS_PER_DAY, days_from_civil};
    let months: std::collections::BTreeSet<i64> = batch
        .iter()
        .map(|r| {
            let c = r.ts.to_civil();
            days_from_civil(c.year, c.month, 1) * MS_PER_DAY
        })
        .collect();
    months.into_iter().collect()
}

/// What the newly written rows of a batch add to counters, in a fixed order (so two writers
/// lock rows in the same order and cannot deadlock on Postgres).
#[derive(Default)]
pub(crate) struct Aggregate {
    /// Per key: cost, and the newest request time (`last_used_at`).
    pub keys: BTreeMap<Uuid, (i64, i64)>,
    pub teams: BTreeMap<Uuid, i64>,
    pub users: BTreeMap<Uuid, i64>,
    pub windows: BTreeMap<(Scope, Uuid, i64), i64>,
    /// `spend_daily` and `spend_hourly`.
    pub rollups: Rollups,
}

impl Aggregate {
    pub(crate) fn add(&mut self, r: &SpendRecord) {
        let cost = r.cost.0;
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
        self.rollups.add(r);
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
            // Postgres: every month of the batch has its partition before the transaction
            // starts, so creating one never waits on this transaction's row locks.
            ensure_log_partitions(pool, &$crate::ops::spend::months_of(batch)).await?;
            let mut tx = pool.begin().await.map_err($crate::Error::db)?;
            let mut fresh = std::collections::HashSet::new();
            for chunk in batch.chunks(CHUNK) {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO spend_logs (request_id, ts, key_id, team_id, user_id, instance, \
                     pod, route_model, upstream_model, provider, deployment_id, prompt_tokens, \
                     completion_tokens, cached_tokens, cost, latency_ms, ttft_ms, status, \
                     error_kind, unpriced, tried) ",
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
                        .push_bind(r.unpriced)
                        .push_bind($crate::ops::spend::tried_text(&r.tried));
                });
                q.push(format!(
                    " ON CONFLICT ({SPEND_LOG_UNIQUE}) DO NOTHING RETURNING request_id"
                ));
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
            let mut bodies = Vec::new();
            for r in batch {
                if fresh.remove(&r.request_id) {
                    agg.add(r);
                    if let Some(b) = &r.bodies {
                        bodies.push((r, b));
                    }
                }
            }
            // Few rows, each up to twice the configured cap: small statements.
            for chunk in bodies.chunks(50) {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO spend_log_bodies (request_id, ts, prompt, completion, truncated) ",
                );
                q.push_values(chunk, |mut b, (r, body)| {
                    b.push_bind(r.request_id.clone())
                        .push_bind(r.ts.0)
                        .push_bind(body.prompt.clone())
                        .push_bind(body.completion.clone())
                        .push_bind(body.truncated);
                });
                q.push(" ON CONFLICT (request_id) DO NOTHING");
                q.build()
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::Error::db)?;
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
            // Daily first, then hourly, each in key order, then their one-dimension tables the
            // same way: the same lock order in every writer.
            use $crate::ops::rollups::{dims_table_of, table_of};
            use tollgate_domain::analytics::Rollup;
            for rollup in [Rollup::Daily, Rollup::Hourly] {
                let (table, bucket) = table_of(rollup);
                let rows: Vec<_> = agg
                    .rollups
                    .of(rollup)
                    .iter()
                    .map(|(k, v)| (None, k, v))
                    .collect();
                write_rollup(&mut tx, table, bucket, &rows).await?;
            }
            for rollup in [Rollup::Daily, Rollup::Hourly] {
                let (_, bucket) = table_of(rollup);
                let rows: Vec<_> = agg
                    .rollups
                    .dims(rollup)
                    .iter()
                    .map(|((d, k), v)| (Some(*d), k, v))
                    .collect();
                write_rollup(&mut tx, dims_table_of(rollup), bucket, &rows).await?;
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
            // A bounded batch of each table: retention never holds a long lock on a busy table.
            let mut deleted = 0;
            for statement in [
                "DELETE FROM spend_logs WHERE request_id IN \
                 (SELECT request_id FROM spend_logs WHERE ts < $1 LIMIT $2)",
                "DELETE FROM spend_log_bodies WHERE request_id IN \
                 (SELECT request_id FROM spend_log_bodies WHERE ts < $1 LIMIT $2)",
            ] {
                let done = sqlx::query(statement)
                .bind(before.0)
                .bind(i64::from(limit))
                .execute(pool)
                .await
                .map_err($crate::Error::db)?;
                deleted += done.rows_affected();
            }
            Ok(deleted)
        }

        pub(crate) async fn pod_traffic(
            pool: &sqlx::Pool<Db>,
            since: tollgate_domain::Timestamp,
        ) -> $crate::Result<Vec<$crate::PodTraffic>> {
            use $crate::rows::DbRow as _;
            // A range on the `ts` index; callers keep the window short (the last hour).
            let [not_found, not_allowed] = tollgate_domain::analytics::error_kind::MISDIRECTED;
            sqlx::query(
                "SELECT instance, pod, route_model, CAST(COUNT(*) AS BIGINT) AS requests, \
                 CAST(COALESCE(SUM(CASE WHEN error_kind IN ($2, $3) \
                 THEN 1 ELSE 0 END), 0) AS BIGINT) AS misdirected, \
                 CAST(COALESCE(SUM(cost), 0) AS BIGINT) AS cost FROM spend_logs \
                 WHERE ts >= $1 GROUP BY instance, pod, route_model \
                 ORDER BY instance, pod, route_model",
            )
            .bind(since.0)
            .bind(not_found)
            .bind(not_allowed)
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map(|row| {
                Ok($crate::PodTraffic {
                    instance: row.text("instance")?,
                    pod: row.text("pod")?,
                    model: row.text("route_model")?,
                    requests: row.int("requests")?,
                    misdirected: row.int("misdirected")?,
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
    };
}
pub(crate) use spend_ops;
