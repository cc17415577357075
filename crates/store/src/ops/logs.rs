//! The request log: pages of `spend_logs`, newest first, by keyset, and one request by id.

use crate::error::{Error, Result};
use crate::ops::rollups::key_label;
use crate::rows::DbRow;
use tollgate_domain::analytics::LogEntry;
use tollgate_domain::{DeploymentId, KeyId, Micros, TeamId, UserId};

/// The columns [`log_entry`] reads, with the key's label columns from a `LEFT JOIN`: a deleted
/// key leaves them NULL. `status` is `integer` on Postgres, read as `BIGINT` like every other.
macro_rules! log_select {
    () => {
        "SELECT s.request_id, s.ts, s.key_id, s.team_id, s.user_id, s.instance, s.pod, \
         s.route_model, s.upstream_model, s.provider, s.deployment_id, s.prompt_tokens, \
         s.completion_tokens, s.cached_tokens, s.cost, s.latency_ms, s.ttft_ms, \
         CAST(s.status AS BIGINT) AS status, s.error_kind, s.unpriced, s.tried, k.alias AS key_alias, \
         k.key_prefix, k.key_suffix FROM spend_logs s LEFT JOIN virtual_keys k ON k.id = s.key_id"
    };
}
pub(crate) use log_select;

pub(crate) fn log_entry(r: &impl DbRow) -> Result<LogEntry> {
    let status = r.int("status")?;
    Ok(LogEntry {
        request_id: r.text("request_id")?,
        ts: r.ts("ts")?,
        key_id: r.opt_uuid("key_id")?.map(KeyId),
        key_label: key_label(
            r.opt_text("key_alias")?,
            r.opt_text("key_prefix")?,
            r.opt_text("key_suffix")?,
        ),
        team_id: r.opt_uuid("team_id")?.map(TeamId),
        user_id: r.opt_uuid("user_id")?.map(UserId),
        instance: r.text("instance")?,
        pod: r.text("pod")?,
        route_model: r.text("route_model")?,
        upstream_model: r.opt_text("upstream_model")?,
        provider: r.opt_text("provider")?,
        deployment_id: r.opt_uuid("deployment_id")?.map(DeploymentId),
        prompt_tokens: r.int("prompt_tokens")?,
        completion_tokens: r.int("completion_tokens")?,
        cached_tokens: r.int("cached_tokens")?,
        cost: Micros(r.int("cost")?),
        latency_ms: r.opt_int("latency_ms")?,
        ttft_ms: r.opt_int("ttft_ms")?,
        status: i32::try_from(status)
            .map_err(|_| Error::Internal(format!("a stored status is out of range: {status}")))?,
        error_kind: r.opt_text("error_kind")?,
        unpriced: r.flag("unpriced")?,
        tried: tried_ids(&r.text("tried")?)?,
        bodies: None,
        bodies_withheld: false,
    })
}

/// The inverse of `ops::spend::tried_text`.
fn tried_ids(text: &str) -> Result<Vec<DeploymentId>> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            uuid::Uuid::parse_str(s)
                .map(DeploymentId)
                .map_err(|_| Error::Internal(format!("a stored deployment id is malformed: {s:?}")))
        })
        .collect()
}

/// Free functions over `&Pool<Db>` for the request log; see [`crate::ops`] for what must be in
/// scope.
macro_rules! log_ops {
    () => {
        pub(crate) async fn list_spend_logs(
            pool: &sqlx::Pool<Db>,
            query: &tollgate_domain::analytics::LogQuery,
        ) -> $crate::Result<tollgate_domain::analytics::LogPage> {
            // Filters are clauses with bound values, added only when present. `1 = 1` lets
            // each start with `AND`.
            let mut q = sqlx::QueryBuilder::<Db>::new(concat!(
                $crate::ops::logs::log_select!(),
                " WHERE 1 = 1"
            ));
            if let Some(from) = query.from {
                q.push(" AND s.ts >= ").push_bind(from.0);
            }
            if let Some(to) = query.to {
                q.push(" AND s.ts < ").push_bind(to.0);
            }
            if let Some(k) = query.key {
                q.push(" AND s.key_id = ").push_bind(id_arg(k.0));
            }
            if let Some(t) = query.team {
                q.push(" AND s.team_id = ").push_bind(id_arg(t.0));
            }
            if let Some(m) = &query.model {
                q.push(" AND s.route_model = ").push_bind(m.clone());
            }
            if let Some(i) = &query.instance {
                q.push(" AND s.instance = ").push_bind(i.clone());
            }
            if let Some(p) = &query.pod {
                q.push(" AND s.pod = ").push_bind(p.clone());
            }
            if let Some(status) = query.status {
                let (low, high) = status.bounds();
                q.push(" AND s.status >= ").push_bind(low);
                q.push(" AND s.status <= ").push_bind(high);
                // The same condition as a literal, so the planner may use the partial index
                // of failed requests (a bound value cannot prove it applies).
                if low >= 400 {
                    q.push(" AND s.status >= 400");
                }
            }
            if let Some(min) = query.min_latency_ms {
                q.push(" AND s.latency_ms >= ").push_bind(min);
            }
            if let Some(after) = &query.after {
                // Strictly older than the cursor. The plain `ts <=` lets the (key_id, ts) and
                // (team_id, ts) indexes bound their scan too.
                q.push(" AND s.ts <= ").push_bind(after.ts.0);
                q.push(" AND (s.ts, s.request_id) < (")
                    .push_bind(after.ts.0)
                    .push(", ")
                    .push_bind(after.request_id.clone())
                    .push(")");
            }
            // One row more than asked tells whether another page follows.
            let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
            q.push(" ORDER BY s.ts DESC, s.request_id DESC LIMIT ")
                .push_bind(i64::from(query.limit) + 1);
            let mut entries = q
                .build()
                .fetch_all(pool)
                .await
                .map_err($crate::Error::db)?
                .iter()
                .map($crate::ops::logs::log_entry)
                .collect::<$crate::Result<Vec<_>>>()?;
            let more = entries.len() > limit;
            entries.truncate(limit);
            let next = if more {
                entries
                    .last()
                    .map(tollgate_domain::analytics::LogEntry::cursor)
            } else {
                None
            };
            Ok(tollgate_domain::analytics::LogPage { entries, next })
        }

        pub(crate) async fn get_spend_log(
            pool: &sqlx::Pool<Db>,
            request_id: &str,
        ) -> $crate::Result<tollgate_domain::analytics::LogEntry> {
            let row = sqlx::query(concat!(
                $crate::ops::logs::log_select!(),
                " WHERE s.request_id = $1"
            ))
            .bind(request_id)
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?;
            let mut entry = $crate::ops::logs::log_entry(&row.ok_or($crate::Error::NotFound)?)?;
            use $crate::rows::DbRow as _;
            let bodies = sqlx::query(
                "SELECT prompt, completion, truncated FROM spend_log_bodies WHERE request_id = $1",
            )
            .bind(request_id)
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?;
            if let Some(b) = bodies {
                entry.bodies = Some(tollgate_domain::analytics::StoredBodies {
                    prompt: b.text("prompt")?,
                    completion: b.text("completion")?,
                    truncated: b.flag("truncated")?,
                });
            }
            Ok(entry)
        }
    };
}
pub(crate) use log_ops;
