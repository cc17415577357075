//! The spend rollups (`spend_daily`, `spend_hourly`): what a batch adds to them, and the
//! analytics query that reads them.

use crate::error::Result;
use crate::ops::spend::CHUNK;
use crate::rows::DbRow;
use crate::spend_types::SpendRecord;
use std::collections::BTreeMap;
use tollgate_domain::Micros;
use tollgate_domain::analytics::{
    GroupBy, LATENCY_BUCKETS, LatencyHistogram, Rollup, RollupRow, SpendMetrics,
};
use uuid::Uuid;

/// Metric columns of a rollup row: five counters, then the latency buckets.
pub(crate) const METRICS: usize = 5 + LATENCY_BUCKETS;

/// The metric columns, in the order of a [`Rollups`] value.
pub(crate) const METRIC_COLS: [&str; METRICS] = [
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "errors",
    "lat_0",
    "lat_1",
    "lat_2",
    "lat_3",
    "lat_4",
    "lat_5",
    "lat_6",
    "lat_7",
    "lat_8",
    "lat_9",
    "lat_10",
    "lat_11",
];

/// The dimension columns after the bucket, in the order of a [`RollupKey`]: the primary key.
pub(crate) const DIMENSION_COLS: &str =
    "key_id, team_id, user_id, model, instance, provider, deployment_id";

// A rollup row binds its bucket, 7 dimensions and the metrics: a chunk of them must stay under
// SQLite's 32766 parameters.
const _: () = assert!((1 + 7 + METRICS) * CHUNK <= 32_766);

/// A rollup row's dimensions: (bucket start, key, team, user, model, instance, provider,
/// deployment). An absent id is the nil uuid, an absent provider `''`.
pub(crate) type RollupKey = (i64, Uuid, Uuid, Uuid, String, String, String, Uuid);

/// What the new rows of a batch add to each rollup, ordered by key (the order rows are locked
/// in, the same in every writer).
#[derive(Default)]
pub(crate) struct Rollups {
    daily: BTreeMap<RollupKey, [i64; METRICS]>,
    hourly: BTreeMap<RollupKey, [i64; METRICS]>,
}

impl Rollups {
    pub(crate) fn add(&mut self, r: &SpendRecord) {
        let mut v = [0; METRICS];
        v[0] = 1;
        v[1] = r.prompt_tokens;
        v[2] = r.completion_tokens;
        v[3] = r.cost.0;
        v[4] = i64::from(r.status >= 400);
        if let Some(ms) = r.latency_ms {
            v[5 + LatencyHistogram::bucket_of(ms)] = 1;
        }
        let nil = Uuid::nil();
        for rollup in [Rollup::Daily, Rollup::Hourly] {
            let key = (
                rollup.bucket_start(r.ts).0,
                r.key_id.map_or(nil, |k| k.0),
                r.team_id.map_or(nil, |t| t.0),
                r.user_id.map_or(nil, |u| u.0),
                r.route_model.clone(),
                r.instance.clone(),
                r.provider.clone().unwrap_or_default(),
                r.deployment_id.unwrap_or(nil),
            );
            let sums = self.of_mut(rollup).entry(key).or_insert([0; METRICS]);
            for (sum, add) in sums.iter_mut().zip(v) {
                *sum = sum.saturating_add(add);
            }
        }
    }

    /// The rows to add to one rollup.
    pub(crate) fn of(&self, rollup: Rollup) -> &BTreeMap<RollupKey, [i64; METRICS]> {
        match rollup {
            Rollup::Daily => &self.daily,
            Rollup::Hourly => &self.hourly,
        }
    }

    fn of_mut(&mut self, rollup: Rollup) -> &mut BTreeMap<RollupKey, [i64; METRICS]> {
        match rollup {
            Rollup::Daily => &mut self.daily,
            Rollup::Hourly => &mut self.hourly,
        }
    }
}

/// The table of a rollup and its bucket column: fixed names, never input.
pub(crate) fn table_of(rollup: Rollup) -> (&'static str, &'static str) {
    match rollup {
        Rollup::Daily => ("spend_daily", "day"),
        Rollup::Hourly => ("spend_hourly", "hour"),
    }
}

/// The column a grouping reads, and whether it holds uuids (whose nil value means "none").
pub(crate) fn group_column(group_by: GroupBy) -> (&'static str, bool) {
    match group_by {
        GroupBy::Key => ("key_id", true),
        GroupBy::Team => ("team_id", true),
        GroupBy::User => ("user_id", true),
        GroupBy::Model => ("model", false),
        GroupBy::Provider => ("provider", false),
        GroupBy::Instance => ("instance", false),
        GroupBy::Deployment => ("deployment_id", true),
    }
}

/// The label columns (`label`, `key_prefix`, `key_suffix`) and the join that provides them for
/// a grouping; `r.g` is the group's value. A missing object leaves them NULL.
pub(crate) fn label_source(group_by: Option<GroupBy>) -> (&'static str, &'static str) {
    const NONE: &str = "NULL AS label, NULL AS key_prefix, NULL AS key_suffix";
    match group_by {
        Some(GroupBy::Key) => (
            "l.alias AS label, l.key_prefix AS key_prefix, l.key_suffix AS key_suffix",
            " LEFT JOIN virtual_keys l ON l.id = r.g",
        ),
        Some(GroupBy::Team) => (
            "l.name AS label, NULL AS key_prefix, NULL AS key_suffix",
            " LEFT JOIN teams l ON l.id = r.g",
        ),
        Some(GroupBy::User) => (
            "l.email AS label, NULL AS key_prefix, NULL AS key_suffix",
            " LEFT JOIN users l ON l.id = r.g",
        ),
        Some(GroupBy::Deployment) => (
            "l.provider || '/' || l.upstream_model AS label, NULL AS key_prefix, \
             NULL AS key_suffix",
            " LEFT JOIN deployments l ON l.id = r.g",
        ),
        Some(GroupBy::Model | GroupBy::Provider | GroupBy::Instance) | None => (NONE, ""),
    }
}

/// What a key is called: its alias, else its masked form; `None` when the key is gone.
pub(crate) fn key_label(
    alias: Option<String>,
    prefix: Option<String>,
    suffix: Option<String>,
) -> Option<String> {
    let (prefix, suffix) = (prefix?, suffix?);
    Some(match alias {
        Some(a) if !a.is_empty() => a,
        _ => tollgate_domain::keys::masked(&prefix, &suffix),
    })
}

/// One row of the rollup query (see `spend_rollup`).
pub(crate) fn rollup_row(r: &impl DbRow, group_by: Option<GroupBy>) -> Result<RollupRow> {
    let group = match group_by {
        None => None,
        Some(g) => {
            let text = r.opt_text("grp")?.unwrap_or_default();
            let none = text.is_empty() || (group_column(g).1 && text == Uuid::nil().to_string());
            (!none).then_some(text)
        }
    };
    let label = r.opt_text("label")?;
    let label = if group_by == Some(GroupBy::Key) {
        key_label(label, r.opt_text("key_prefix")?, r.opt_text("key_suffix")?)
    } else {
        label
    };
    let mut v = [0; METRICS];
    for (value, col) in v.iter_mut().zip(METRIC_COLS) {
        *value = r.int(col)?;
    }
    let mut latency = [0; LATENCY_BUCKETS];
    latency.copy_from_slice(&v[5..]);
    Ok(RollupRow {
        bucket: r.ts("bucket")?,
        group,
        label,
        metrics: SpendMetrics {
            requests: v[0],
            prompt_tokens: v[1],
            completion_tokens: v[2],
            cost: Micros(v[3]),
            errors: v[4],
            latency: LatencyHistogram(latency),
        },
    })
}

/// Rows ordered by bucket, then group (no group first), byte-wise on both backends whatever
/// the database's collation.
pub(crate) fn sort_rows(rows: &mut [RollupRow]) {
    rows.sort_by(|a, b| (a.bucket, &a.group).cmp(&(b.bucket, &b.group)));
}

/// The rollup writer and the analytics query, over a connection or `&Pool<Db>`; see
/// [`crate::ops`] for what must be in scope.
macro_rules! rollup_ops {
    () => {
        /// Adds a batch's rows to one rollup: one multi-row upsert per chunk, in key order.
        async fn write_rollup(
            conn: &mut <Db as sqlx::Database>::Connection,
            rollup: tollgate_domain::analytics::Rollup,
            rows: &std::collections::BTreeMap<
                $crate::ops::rollups::RollupKey,
                [i64; $crate::ops::rollups::METRICS],
            >,
        ) -> $crate::Result<()> {
            use $crate::ops::rollups::{DIMENSION_COLS, METRIC_COLS, table_of};
            let (table, bucket) = table_of(rollup);
            let metrics = METRIC_COLS.join(", ");
            let sums = METRIC_COLS
                .iter()
                .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let entries: Vec<_> = rows.iter().collect();
            for chunk in entries.chunks($crate::ops::spend::CHUNK) {
                let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                    "INSERT INTO {table} ({bucket}, {DIMENSION_COLS}, {metrics}) "
                ));
                q.push_values(chunk, |mut b, (key, values)| {
                    let (start, k, team, user, model, instance, provider, deployment) = key;
                    b.push_bind(*start)
                        .push_bind(id_arg(*k))
                        .push_bind(id_arg(*team))
                        .push_bind(id_arg(*user))
                        .push_bind(model.clone())
                        .push_bind(instance.clone())
                        .push_bind(provider.clone())
                        .push_bind(id_arg(*deployment));
                    for v in values.iter() {
                        b.push_bind(*v);
                    }
                });
                q.push(format!(
                    " ON CONFLICT ({bucket}, {DIMENSION_COLS}) DO UPDATE SET {sums}"
                ));
                q.build()
                    .execute(&mut *conn)
                    .await
                    .map_err($crate::Error::db)?;
            }
            Ok(())
        }

        pub(crate) async fn spend_rollup(
            pool: &sqlx::Pool<Db>,
            rollup: tollgate_domain::analytics::Rollup,
            query: &tollgate_domain::analytics::SpendQuery,
        ) -> $crate::Result<Vec<tollgate_domain::analytics::RollupRow>> {
            use $crate::ops::rollups::{
                METRIC_COLS, group_column, label_source, rollup_row, sort_rows, table_of,
            };
            let (table, bucket) = table_of(rollup);
            let from = rollup.bucket_start(query.from);
            let group = query.group_by.map(|g| group_column(g).0);
            let (labels, join) = label_source(query.group_by);
            // Sum in a subquery, then join the labels: one lookup per answer row, not per
            // rollup row. Every name below is a fixed string; every value is bound.
            let outer = METRIC_COLS
                .iter()
                .map(|c| format!("r.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sums = METRIC_COLS
                .iter()
                .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                "SELECT r.bucket, CAST(r.g AS TEXT) AS grp, {labels}, {outer} FROM \
                 (SELECT {bucket} AS bucket, {g} AS g, {sums} FROM {table} WHERE {bucket} >= ",
                g = group.unwrap_or("''"),
            ));
            q.push_bind(from.0);
            q.push(format!(" AND {bucket} < ")).push_bind(query.to.0);
            let f = &query.filters;
            if let Some(k) = f.key {
                q.push(" AND key_id = ").push_bind(id_arg(k.0));
            }
            if let Some(t) = f.team {
                q.push(" AND team_id = ").push_bind(id_arg(t.0));
            }
            if let Some(u) = f.user {
                q.push(" AND user_id = ").push_bind(id_arg(u.0));
            }
            if let Some(m) = &f.model {
                q.push(" AND model = ").push_bind(m.clone());
            }
            if let Some(p) = &f.provider {
                q.push(" AND provider = ").push_bind(p.clone());
            }
            if let Some(i) = &f.instance {
                q.push(" AND instance = ").push_bind(i.clone());
            }
            if let Some(d) = f.deployment {
                q.push(" AND deployment_id = ").push_bind(id_arg(d.0));
            }
            q.push(format!(" GROUP BY {bucket}"));
            if let Some(col) = group {
                q.push(format!(", {col}"));
            }
            q.push(format!(") AS r{join}"));
            let mut rows = q
                .build()
                .fetch_all(pool)
                .await
                .map_err($crate::Error::db)?
                .iter()
                .map(|row| rollup_row(row, query.group_by))
                .collect::<$crate::Result<Vec<_>>>()?;
            sort_rows(&mut rows);
            Ok(rows)
        }
    };
}
pub(crate) use rollup_ops;
