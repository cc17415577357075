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

// A rollup row binds its bucket, its `dim` (one-dimension tables), 7 dimensions and the
// metrics: a chunk of them must stay under SQLite's 32766 parameters.
const _: () = assert!((2 + 7 + METRICS) * CHUNK <= 32_766);

/// A rollup row's dimensions: (bucket start, key, team, user, model, instance, provider,
/// deployment). An absent id is the nil uuid, an absent provider `''`.
pub(crate) type RollupKey = (i64, Uuid, Uuid, Uuid, String, String, String, Uuid);

/// The dimensions of the one-dimension rollups (`spend_daily_dims`, `spend_hourly_dims`), in
/// the order a request is added to them: `""` is the team's totals.
pub(crate) const DIMS: [&str; 7] = [
    "",
    "key",
    "user",
    "model",
    "instance",
    "provider",
    "deployment",
];

/// The dimensions of the one-dimension rollups summed over every team (their `team_id` is the
/// nil uuid), for questions about all teams at once: 30 days by model is 30 rows a day here,
/// not one per team and model. `all` holds the totals, `all:model` the models and so on. Keys
/// and users are not among them: a key belongs to one team, so its rows are no fewer.
pub(crate) const ALL_TEAMS_DIMS: [&str; 5] = [
    "all",
    "all:model",
    "all:instance",
    "all:provider",
    "all:deployment",
];

/// The `dim` whose rows answer a grouping (a team is in every row: its totals do).
pub(crate) fn dim_of(group_by: Option<GroupBy>) -> &'static str {
    match group_by {
        None | Some(GroupBy::Team) => "",
        Some(GroupBy::Key) => "key",
        Some(GroupBy::User) => "user",
        Some(GroupBy::Model) => "model",
        Some(GroupBy::Instance) => "instance",
        Some(GroupBy::Provider) => "provider",
        Some(GroupBy::Deployment) => "deployment",
    }
}

/// The one-dimension rollup `dim` that can answer `query`, when one can: its grouping and its
/// filters name at most one dimension besides the team (a filter on the grouped dimension is
/// fine: those rows carry it). A question about every team reads its [`ALL_TEAMS_DIMS`] rows.
pub(crate) fn dims_for(query: &tollgate_domain::analytics::SpendQuery) -> Option<&'static str> {
    let f = &query.filters;
    let mut named: Vec<&'static str> = [
        (f.key.is_some(), "key"),
        (f.user.is_some(), "user"),
        (f.model.is_some(), "model"),
        (f.instance.is_some(), "instance"),
        (f.provider.is_some(), "provider"),
        (f.deployment.is_some(), "deployment"),
    ]
    .into_iter()
    .filter_map(|(set, d)| set.then_some(d))
    .collect();
    let grouped = dim_of(query.group_by);
    if !grouped.is_empty() {
        named.push(grouped);
    }
    named.sort_unstable();
    named.dedup();
    let dim = match named.as_slice() {
        [] => "",
        [one] => *one,
        _ => return None,
    };
    // Every team's rows at once, not grouped by team: the rows summed over the teams, when
    // that dimension has them.
    if f.team.is_none()
        && query.group_by != Some(GroupBy::Team)
        && let Some(all) = ALL_TEAMS_DIMS
            .into_iter()
            .find(|a| all_teams_column(a) == Some(dim))
    {
        return Some(all);
    }
    Some(dim)
}

/// The dimension a row of [`ALL_TEAMS_DIMS`] carries (`""`: the totals); `None` for a `dim`
/// of one team's rows.
fn all_teams_column(dim: &str) -> Option<&str> {
    match dim {
        "all" => Some(""),
        _ => dim.strip_prefix("all:"),
    }
}

/// A row key of a one-dimension rollup: its `dim`, then a [`RollupKey`] whose other
/// dimensions are emptied.
pub(crate) type DimsKey = (&'static str, RollupKey);

/// What the new rows of a batch add to each rollup, ordered by key (the order rows are locked
/// in, the same in every writer).
#[derive(Default)]
pub(crate) struct Rollups {
    daily: BTreeMap<RollupKey, [i64; METRICS]>,
    hourly: BTreeMap<RollupKey, [i64; METRICS]>,
    daily_dims: BTreeMap<DimsKey, [i64; METRICS]>,
    hourly_dims: BTreeMap<DimsKey, [i64; METRICS]>,
}

fn add_into<K: Ord>(map: &mut BTreeMap<K, [i64; METRICS]>, key: K, v: [i64; METRICS]) {
    let sums = map.entry(key).or_insert([0; METRICS]);
    for (sum, add) in sums.iter_mut().zip(v) {
        *sum = sum.saturating_add(add);
    }
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
            for dim in DIMS.into_iter().chain(ALL_TEAMS_DIMS) {
                let (b, k, t, u, m, i, p, d) = &key;
                // One team's rows carry it; the rows of every team carry the nil uuid.
                let (column, t) = match all_teams_column(dim) {
                    Some(column) => (column, &nil),
                    None => (dim, t),
                };
                let e = String::new;
                let one = match column {
                    "" => (*b, nil, *t, nil, e(), e(), e(), nil),
                    "key" => (*b, *k, *t, nil, e(), e(), e(), nil),
                    "user" => (*b, nil, *t, *u, e(), e(), e(), nil),
                    "model" => (*b, nil, *t, nil, m.clone(), e(), e(), nil),
                    "instance" => (*b, nil, *t, nil, e(), i.clone(), e(), nil),
                    "provider" => (*b, nil, *t, nil, e(), e(), p.clone(), nil),
                    _ => (*b, nil, *t, nil, e(), e(), e(), *d),
                };
                add_into(self.dims_mut(rollup), (dim, one), v);
            }
            add_into(self.of_mut(rollup), key, v);
        }
    }

    /// The rows to add to one one-dimension rollup.
    pub(crate) fn dims(&self, rollup: Rollup) -> &BTreeMap<DimsKey, [i64; METRICS]> {
        match rollup {
            Rollup::Daily => &self.daily_dims,
            Rollup::Hourly => &self.hourly_dims,
        }
    }

    fn dims_mut(&mut self, rollup: Rollup) -> &mut BTreeMap<DimsKey, [i64; METRICS]> {
        match rollup {
            Rollup::Daily => &mut self.daily_dims,
            Rollup::Hourly => &mut self.hourly_dims,
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

/// The one-dimension table of a rollup: a fixed name, never input.
pub(crate) fn dims_table_of(rollup: Rollup) -> &'static str {
    match rollup {
        Rollup::Daily => "spend_daily_dims",
        Rollup::Hourly => "spend_hourly_dims",
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
        /// Adds a batch's rows to one rollup table: one multi-row upsert per chunk, in key
        /// order. Rows of a one-dimension table carry their `dim` (all or none do).
        async fn write_rollup(
            conn: &mut <Db as sqlx::Database>::Connection,
            table: &'static str,
            bucket: &'static str,
            rows: &[(
                Option<&'static str>,
                &$crate::ops::rollups::RollupKey,
                &[i64; $crate::ops::rollups::METRICS],
            )],
        ) -> $crate::Result<()> {
            use $crate::ops::rollups::{DIMENSION_COLS, METRIC_COLS};
            let dim_col = if rows.first().is_some_and(|r| r.0.is_some()) {
                "dim, "
            } else {
                ""
            };
            let metrics = METRIC_COLS.join(", ");
            let sums = METRIC_COLS
                .iter()
                .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            for chunk in rows.chunks($crate::ops::spend::CHUNK) {
                let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                    "INSERT INTO {table} ({bucket}, {dim_col}{DIMENSION_COLS}, {metrics}) "
                ));
                q.push_values(chunk, |mut b, (dim, key, values)| {
                    let (start, k, team, user, model, instance, provider, deployment) = key;
                    b.push_bind(*start);
                    if let Some(d) = dim {
                        b.push_bind(*d);
                    }
                    b.push_bind(id_arg(*k))
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
                    " ON CONFLICT ({dim_col}{bucket}, {DIMENSION_COLS}) DO UPDATE SET {sums}"
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
            read_rollup(pool, rollup, query, true, None).await
        }

        pub(crate) async fn spend_group_totals(
            pool: &sqlx::Pool<Db>,
            rollup: tollgate_domain::analytics::Rollup,
            query: &tollgate_domain::analytics::SpendQuery,
        ) -> $crate::Result<Vec<tollgate_domain::analytics::RollupRow>> {
            read_rollup(pool, rollup, query, false, None).await
        }

        pub(crate) async fn spend_rollup_of(
            pool: &sqlx::Pool<Db>,
            rollup: tollgate_domain::analytics::Rollup,
            query: &tollgate_domain::analytics::SpendQuery,
            groups: &[String],
        ) -> $crate::Result<Vec<tollgate_domain::analytics::RollupRow>> {
            if groups.is_empty() || query.group_by.is_none() {
                return Ok(Vec::new());
            }
            read_rollup(pool, rollup, query, true, Some(groups)).await
        }

        /// The rollup read: per bucket and group, or (`by_bucket` false) per group over the
        /// whole range, reported at the range's first bucket; `only` some of the groups.
        async fn read_rollup(
            pool: &sqlx::Pool<Db>,
            rollup: tollgate_domain::analytics::Rollup,
            query: &tollgate_domain::analytics::SpendQuery,
            by_bucket: bool,
            only: Option<&[String]>,
        ) -> $crate::Result<Vec<tollgate_domain::analytics::RollupRow>> {
            use $crate::ops::rollups::{
                METRIC_COLS, dims_for, dims_table_of, group_column, label_source, rollup_row,
                sort_rows, table_of,
            };
            // The one-dimension table when the question names at most one dimension besides the
            // team (a few thousand rows a day), else the full rollup.
            let dim = dims_for(query);
            let (full, bucket) = table_of(rollup);
            let table = if dim.is_some() {
                dims_table_of(rollup)
            } else {
                full
            };
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
                .map(|c| format!("CAST({SUM_BIGINT}({c}) AS BIGINT) AS {c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                "SELECT r.bucket, CAST(r.g AS TEXT) AS grp, {labels}, {outer} FROM (SELECT "
            ));
            if by_bucket {
                q.push(bucket);
            } else {
                q.push("CAST(").push_bind(from.0).push(" AS BIGINT)");
            }
            q.push(format!(
                " AS bucket, {g} AS g, {sums} FROM {table} WHERE {bucket} >= ",
                g = group.unwrap_or("''"),
            ));
            q.push_bind(from.0);
            q.push(format!(" AND {bucket} < ")).push_bind(query.to.0);
            if let Some(d) = dim {
                q.push(" AND dim = ").push_bind(d);
            }
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
            if let (Some(values), Some(g)) = (only, query.group_by) {
                // The values as `RollupRow::group` gives them: "" is the nil uuid or ''.
                let (col, uuids) = group_column(g);
                q.push(format!(" AND {col} IN ("));
                let mut list = q.separated(", ");
                for v in values {
                    if !uuids {
                        list.push_bind(v.clone());
                    } else if v.is_empty() {
                        list.push_bind(id_arg(uuid::Uuid::nil()));
                    } else if let Ok(id) = uuid::Uuid::parse_str(v) {
                        list.push_bind(id_arg(id));
                    } else {
                        // Not an id: it names no row.
                        list.push("NULL");
                    }
                }
                q.push(")");
            }
            match (by_bucket, group) {
                (true, None) => q.push(format!(" GROUP BY {bucket}")),
                (true, Some(col)) => q.push(format!(" GROUP BY {bucket}, {col}")),
                (false, Some(col)) => q.push(format!(" GROUP BY {col}")),
                // One sum over the range: no row at all when nothing matched.
                (false, None) => q.push(" HAVING COUNT(*) > 0"),
            };
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

#[cfg(test)]
mod tests {
    use super::dims_for;
    use tollgate_domain::analytics::{Granularity, GroupBy, SpendFilters, SpendQuery};
    use tollgate_domain::{KeyId, TeamId, Timestamp};

    fn q(group_by: Option<GroupBy>, filters: SpendFilters) -> SpendQuery {
        SpendQuery {
            from: Timestamp(0),
            to: Timestamp(1),
            granularity: Granularity::Day,
            group_by,
            filters,
        }
    }

    #[test]
    fn one_dimension_besides_the_team_reads_the_small_table() {
        let none = SpendFilters::default;
        let team = || SpendFilters {
            team: Some(TeamId::new()),
            ..SpendFilters::default()
        };
        let model = |m: &str| SpendFilters {
            model: Some(m.to_owned()),
            ..SpendFilters::default()
        };
        // Every team at once reads the rows summed over the teams where there are some.
        assert_eq!(dims_for(&q(None, none())), Some("all"));
        assert_eq!(dims_for(&q(Some(GroupBy::Team), none())), Some(""));
        assert_eq!(dims_for(&q(Some(GroupBy::Key), none())), Some("key"));
        assert_eq!(dims_for(&q(Some(GroupBy::User), none())), Some("user"));
        assert_eq!(
            dims_for(&q(Some(GroupBy::Model), model("m"))),
            Some("all:model")
        );
        assert_eq!(dims_for(&q(None, model("m"))), Some("all:model"));
        assert_eq!(
            dims_for(&q(Some(GroupBy::Deployment), none())),
            Some("all:deployment")
        );
        // Grouped by team, or one team: that team's rows.
        assert_eq!(dims_for(&q(Some(GroupBy::Team), model("m"))), Some("model"));
        assert_eq!(dims_for(&q(None, team())), Some(""));
        assert_eq!(dims_for(&q(Some(GroupBy::Team), team())), Some(""));
        assert_eq!(dims_for(&q(Some(GroupBy::Key), team())), Some("key"));
        let team_model = SpendFilters {
            model: Some("m".to_owned()),
            ..team()
        };
        assert_eq!(
            dims_for(&q(Some(GroupBy::Instance), team_model.clone())),
            None
        );
        assert_eq!(
            dims_for(&q(Some(GroupBy::Model), team_model)),
            Some("model")
        );
        assert_eq!(dims_for(&q(Some(GroupBy::Key), model("m"))), None);
        let both = SpendFilters {
            key: Some(KeyId::new()),
            model: Some("m".to_owned()),
            ..SpendFilters::default()
        };
        assert_eq!(dims_for(&q(None, both)), None);
    }
}
