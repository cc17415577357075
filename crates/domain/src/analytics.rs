//! Spend analytics: the questions the dashboard, the spend page, the request log and
//! `/api/v1/spend` / `/api/v1/logs` ask, the rules that keep them cheap, and their answers.
//!
//! The store answers with rollup rows at its own grain (an hour or a day); [`assemble`] folds
//! them into the buckets and groups asked for, identically on the server and in the browser.

use crate::ids::{DeploymentId, KeyId, TeamId, UserId};
use crate::money::Micros;
use crate::time::{MS_PER_DAY, MS_PER_HOUR, Timestamp, civil_from_days, days_from_civil};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The longest range the hourly grain serves: beyond it a chart would have too many bars to
/// read, and the hourly rollup is kept for charts of recent days.
pub const MAX_HOURLY_RANGE_MS: i64 = 7 * MS_PER_DAY;
/// The longest range any query may cover (about five years).
pub const MAX_RANGE_MS: i64 = 1_830 * MS_PER_DAY;
/// Upper bounds (inclusive, ms) of the latency histogram's buckets; a last bucket holds the
/// rest. Percentiles are estimated within a bucket, so they are as exact as these bounds.
pub const LATENCY_BOUNDS_MS: [i64; 11] = [
    50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 60_000, 120_000,
];
/// Number of latency buckets: one per bound plus the overflow.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// How wide each bucket of a time series is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Hour,
    Day,
    Month,
}

impl Granularity {
    pub const ALL: [Granularity; 3] = [Granularity::Hour, Granularity::Day, Granularity::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
            Granularity::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Granularity> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// The grain of the rollup that serves it: hours for `Hour`, days otherwise.
    pub fn rollup(self) -> Rollup {
        match self {
            Granularity::Hour => Rollup::Hourly,
            Granularity::Day | Granularity::Month => Rollup::Daily,
        }
    }

    /// The start of the bucket `ts` falls in (UTC; months are calendar months).
    pub fn bucket_start(self, ts: Timestamp) -> Timestamp {
        match self {
            Granularity::Hour => Timestamp(ts.0.div_euclid(MS_PER_HOUR) * MS_PER_HOUR),
            Granularity::Day => ts.start_of_day(),
            Granularity::Month => {
                let (y, m, _) = civil_from_days(ts.0.div_euclid(MS_PER_DAY));
                Timestamp(days_from_civil(y, m, 1) * MS_PER_DAY)
            }
        }
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(self, start: Timestamp) -> Timestamp {
        match self {
            Granularity::Hour => start.plus_millis(MS_PER_HOUR),
            Granularity::Day => start.plus_millis(MS_PER_DAY),
            Granularity::Month => {
                let (y, m, _) = civil_from_days(start.0.div_euclid(MS_PER_DAY));
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                Timestamp(days_from_civil(y, m, 1) * MS_PER_DAY)
            }
        }
    }

    /// Every bucket start touching `[from, to)`, oldest first.
    pub fn buckets(self, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
        let mut out = Vec::new();
        let mut b = self.bucket_start(from);
        while b < to {
            out.push(b);
            b = self.next(b);
        }
        out
    }
}

/// The two rollup tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rollup {
    Hourly,
    Daily,
}

impl Rollup {
    /// Bucket width in ms.
    pub fn width_ms(self) -> i64 {
        match self {
            Rollup::Hourly => MS_PER_HOUR,
            Rollup::Daily => MS_PER_DAY,
        }
    }

    /// The start of the rollup bucket `ts` falls in.
    pub fn bucket_start(self, ts: Timestamp) -> Timestamp {
        Timestamp(ts.0.div_euclid(self.width_ms()) * self.width_ms())
    }
}

/// What a series or table is broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Key,
    Team,
    User,
    Model,
    Provider,
    Instance,
    Deployment,
}

impl GroupBy {
    pub const ALL: [GroupBy; 7] = [
        GroupBy::Key,
        GroupBy::Team,
        GroupBy::User,
        GroupBy::Model,
        GroupBy::Provider,
        GroupBy::Instance,
        GroupBy::Deployment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Key => "key",
            GroupBy::Team => "team",
            GroupBy::User => "user",
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Instance => "instance",
            GroupBy::Deployment => "deployment",
        }
    }

    pub fn parse(s: &str) -> Option<GroupBy> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// A heading for tables and legends.
    pub fn title(self) -> &'static str {
        match self {
            GroupBy::Key => "Key",
            GroupBy::Team => "Team",
            GroupBy::User => "User",
            GroupBy::Model => "Model",
            GroupBy::Provider => "Provider",
            GroupBy::Instance => "Instance",
            GroupBy::Deployment => "Deployment",
        }
    }
}

/// Filters shared by the spend queries; each narrows to rows with exactly that value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendFilters {
    pub key: Option<KeyId>,
    pub team: Option<TeamId>,
    pub user: Option<UserId>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub instance: Option<String>,
    pub deployment: Option<DeploymentId>,
}

/// A question about spend over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendQuery {
    /// Inclusive start (UTC ms).
    pub from: Timestamp,
    /// Exclusive end (UTC ms).
    pub to: Timestamp,
    pub granularity: Granularity,
    pub group_by: Option<GroupBy>,
    pub filters: SpendFilters,
}

/// Why a query was refused; the message names the field and is safe to show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{field}: {message}")]
pub struct QueryError {
    pub field: &'static str,
    pub message: String,
}

fn query_error(field: &'static str, message: impl Into<String>) -> QueryError {
    QueryError {
        field,
        message: message.into(),
    }
}

/// `error_kind`s of the spend log that mean "not this instance's request". The gateway writes
/// them; the cluster view counts them as traffic that reached the wrong instance.
pub mod error_kind {
    /// No route for the model on the instance that answered.
    pub const MODEL_NOT_FOUND: &str = "model_not_found";
    /// A key restricted to other instances.
    pub const INSTANCE_NOT_ALLOWED: &str = "instance_not_allowed";
    /// Both of the above.
    pub const MISDIRECTED: [&str; 2] = [MODEL_NOT_FOUND, INSTANCE_NOT_ALLOWED];
}

/// Query-string values as people and scripts type them, read the same way by the analytics
/// pages and by `/api/v1/spend` and `/api/v1/logs`: absent or empty is `None`, anything else
/// must parse, or the error names the field and what it takes.
pub mod param {
    use super::{Granularity, GroupBy, LogCursor, QueryError, StatusFilter, query_error};
    use crate::Timestamp;

    fn typed<T>(
        field: &'static str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>, QueryError> {
        match value.map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => parse(v)
                .map(Some)
                .ok_or_else(|| query_error(field, format!("{v:?} is not valid: {expected}"))),
        }
    }

    /// A date (`2026-11-22`), a UTC time (`2026-11-22T10:00:00Z`) or unix milliseconds.
    pub fn time(field: &'static str, value: Option<&str>) -> Result<Option<Timestamp>, QueryError> {
        typed(
            field,
            value,
            Timestamp::parse,
            "use a date such as 2026-11-22, a UTC time or unix milliseconds",
        )
    }

    /// An id (a UUID).
    pub fn id<T: std::str::FromStr>(
        field: &'static str,
        value: Option<&str>,
    ) -> Result<Option<T>, QueryError> {
        typed(field, value, |v| v.parse().ok(), "expected an id (a UUID)")
    }

    pub fn granularity(value: Option<&str>) -> Result<Option<Granularity>, QueryError> {
        typed(
            "granularity",
            value,
            Granularity::parse,
            "choose hour, day or month",
        )
    }

    /// `none` is no grouping too (the form's choice).
    pub fn group_by(value: Option<&str>) -> Result<Option<GroupBy>, QueryError> {
        match value.map(str::trim) {
            Some("none") => Ok(None),
            v => typed(
                "group_by",
                v,
                GroupBy::parse,
                "choose key, team, user, model, provider, instance or deployment",
            ),
        }
    }

    pub fn status(value: Option<&str>) -> Result<Option<StatusFilter>, QueryError> {
        typed(
            "status",
            value,
            StatusFilter::parse,
            "choose success, error or a status code such as 429",
        )
    }

    /// The `next` of a previous page of the request log.
    pub fn cursor(value: Option<&str>) -> Result<Option<LogCursor>, QueryError> {
        typed(
            "after",
            value,
            LogCursor::decode,
            "this page link is damaged or out of date; start again from the newest requests",
        )
    }
}

/// The longest string filter accepted (model, provider, instance, pod names).
pub const MAX_FILTER_LEN: usize = 256;

fn check_text(field: &'static str, value: Option<&str>) -> Result<(), QueryError> {
    match value {
        Some("") => Err(query_error(field, "must not be empty")),
        Some(v) if v.len() > MAX_FILTER_LEN => Err(query_error(
            field,
            format!("must be at most {MAX_FILTER_LEN} bytes"),
        )),
        Some(v) if v.chars().any(char::is_control) => {
            Err(query_error(field, "must not contain control characters"))
        }
        _ => Ok(()),
    }
}

impl SpendFilters {
    pub fn validate(&self) -> Result<(), QueryError> {
        check_text("model", self.model.as_deref())?;
        check_text("provider", self.provider.as_deref())?;
        check_text("instance", self.instance.as_deref())
    }
}

/// Checks a time range: ordered, not empty, within [`MAX_RANGE_MS`].
pub fn validate_range(from: Timestamp, to: Timestamp) -> Result<(), QueryError> {
    if from.0 < 0 {
        return Err(query_error("from", "must not be before 1970"));
    }
    if to <= from {
        return Err(query_error("to", "must be after `from`"));
    }
    if to.0 - from.0 > MAX_RANGE_MS {
        return Err(query_error("to", "the range may cover at most 5 years"));
    }
    Ok(())
}

impl SpendQuery {
    /// Checks the range, the granularity for it, and the filters.
    pub fn validate(&self) -> Result<(), QueryError> {
        validate_range(self.from, self.to)?;
        if self.granularity == Granularity::Hour && self.to.0 - self.from.0 > MAX_HOURLY_RANGE_MS {
            return Err(query_error(
                "granularity",
                "hourly buckets serve ranges up to 7 days; choose day or month",
            ));
        }
        self.filters.validate()
    }

    /// The rollup reads whose rows, summed, are this range's: for hourly buckets, the whole
    /// days inside it from the daily rollup (a row per day, not 24) and the hours at its edges
    /// from the hourly one; otherwise the granularity's rollup over the whole range. For totals
    /// per group over the range ([`assemble_chart`]).
    pub fn totals_parts(&self) -> Vec<(Rollup, SpendQuery)> {
        let rollup = self.granularity.rollup();
        let part = |rollup: Rollup, from: Timestamp, to: Timestamp| {
            (
                rollup,
                SpendQuery {
                    from,
                    to,
                    ..self.clone()
                },
            )
        };
        if rollup != Rollup::Hourly {
            return vec![part(rollup, self.from, self.to)];
        }
        // The hourly rows read are those from the hour of `from` up to `to`.
        let first_hour = Rollup::Hourly.bucket_start(self.from);
        let first_day = if first_hour == first_hour.start_of_day() {
            first_hour
        } else {
            first_hour.start_of_day().plus_millis(MS_PER_DAY)
        };
        let last_day = self.to.start_of_day();
        if first_day >= last_day {
            return vec![part(Rollup::Hourly, self.from, self.to)];
        }
        let mut parts = Vec::with_capacity(3);
        if first_hour < first_day {
            parts.push(part(Rollup::Hourly, self.from, first_day));
        }
        parts.push(part(Rollup::Daily, first_day, last_day));
        if last_day < self.to {
            parts.push(part(Rollup::Hourly, last_day, self.to));
        }
        parts
    }

    /// The granularity that suits a range when none is chosen: hours up to 2 days, days up to
    /// 93, months beyond.
    pub fn default_granularity(from: Timestamp, to: Timestamp) -> Granularity {
        let span = to.0 - from.0;
        if span <= 2 * MS_PER_DAY {
            Granularity::Hour
        } else if span <= 93 * MS_PER_DAY {
            Granularity::Day
        } else {
            Granularity::Month
        }
    }
}

/// Request latencies, counted per bucket of [`LATENCY_BOUNDS_MS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyHistogram(pub [i64; LATENCY_BUCKETS]);

impl LatencyHistogram {
    /// The bucket a latency falls in.
    pub fn bucket_of(ms: i64) -> usize {
        LATENCY_BOUNDS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(LATENCY_BOUNDS_MS.len())
    }

    pub fn record(&mut self, ms: i64) {
        self.0[Self::bucket_of(ms)] += 1;
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += *b;
        }
    }

    pub fn count(&self) -> i64 {
        self.0.iter().sum()
    }

    /// What is left of these latencies without `other`'s (a part of them).
    pub fn minus(&self, other: &LatencyHistogram) -> LatencyHistogram {
        let mut left = *self;
        for (a, b) in left.0.iter_mut().zip(other.0.iter()) {
            *a -= *b;
        }
        left
    }

    /// The estimated `q`-quantile (0 < q <= 1) in ms, interpolated linearly within its bucket;
    /// `None` with no samples. The overflow bucket reports its lower bound.
    pub fn quantile(&self, q: f64) -> Option<i64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as i64;
        let mut seen = 0;
        for (i, n) in self.0.iter().enumerate() {
            if *n > 0 && seen + n >= rank {
                let lower = if i == 0 { 0 } else { LATENCY_BOUNDS_MS[i - 1] };
                let Some(upper) = LATENCY_BOUNDS_MS.get(i) else {
                    return Some(lower);
                };
                let within = (rank - seen) as f64 / *n as f64;
                return Some(lower + ((upper - lower) as f64 * within).round() as i64);
            }
            seen += n;
        }
        None
    }
}

/// What a set of requests amounted to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendMetrics {
    pub requests: i64,
    /// Requests answered with a status of 400 or more.
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost: Micros,
    pub latency: LatencyHistogram,
}

impl SpendMetrics {
    pub fn merge(&mut self, other: &SpendMetrics) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cost = self.cost.saturating_add(other.cost);
        self.latency.merge(&other.latency);
    }

    /// What is left of these requests without `other` (a part of them).
    pub fn minus(&self, other: &SpendMetrics) -> SpendMetrics {
        SpendMetrics {
            requests: self.requests - other.requests,
            errors: self.errors - other.errors,
            prompt_tokens: self.prompt_tokens - other.prompt_tokens,
            completion_tokens: self.completion_tokens - other.completion_tokens,
            cost: Micros(self.cost.0.saturating_sub(other.cost.0)),
            latency: self.latency.minus(&other.latency),
        }
    }

    pub fn tokens(&self) -> i64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// Errors per request, 0 to 1; `None` with no requests.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }
}

/// One rollup row as the store returns it: a bucket of its own grain, the group's value (as
/// text; `None` when not grouped or the row has no such value) and its label when it has one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupRow {
    pub bucket: Timestamp,
    pub group: Option<String>,
    pub label: Option<String>,
    pub metrics: SpendMetrics,
}

/// A group of the answer: its value, what to call it, and its totals over the range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendGroup {
    /// The id or name grouped by; empty for rows without one (for example a key with no team).
    pub key: String,
    /// What people read: a key's alias, a team's name, a user's email, else `key`.
    pub label: String,
    pub totals: SpendMetrics,
}

/// A bucket of one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendPoint {
    pub bucket: Timestamp,
    /// Index into [`SpendSeries::groups`].
    pub group: usize,
    pub metrics: SpendMetrics,
}

/// The answer to a [`SpendQuery`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendSeries {
    pub query: SpendQuery,
    /// Every bucket of the range, oldest first, with or without data.
    pub buckets: Vec<Timestamp>,
    /// Groups by cost, highest first (then by label). Ungrouped: one group with an empty key.
    pub groups: Vec<SpendGroup>,
    /// Only buckets with data, by bucket then group.
    pub points: Vec<SpendPoint>,
    pub totals: SpendMetrics,
    /// Per bucket of `buckets`, all groups together.
    pub per_bucket: Vec<SpendMetrics>,
}

/// How many groups a chart draws on its own; the rest are drawn together as "Other".
pub const CHART_GROUPS: usize = 8;

impl SpendSeries {
    /// Merges the points of every group from `n` on into one point per bucket under group `n`
    /// ("Other"), leaving `groups` (and so the table and its CSV) whole. A chart needs no more,
    /// and the answer stays small however many groups there are: 7 days by the hour by 1,000
    /// keys is about 150k points, at most `(n + 1) * 168` after this.
    pub fn fold_points_beyond(&mut self, n: usize) {
        if self.groups.len() <= n + 1 {
            return;
        }
        let mut out: Vec<SpendPoint> = Vec::with_capacity(self.points.len());
        for p in std::mem::take(&mut self.points) {
            match out.last_mut() {
                // Points come by bucket then group: the folded ones of a bucket are adjacent.
                Some(last) if p.group >= n && last.group == n && last.bucket == p.bucket => {
                    last.metrics.merge(&p.metrics);
                }
                _ => out.push(SpendPoint {
                    group: p.group.min(n),
                    ..p
                }),
            }
        }
        self.points = out;
    }
}

/// The label shown for a group without a value.
pub fn none_label(group_by: Option<GroupBy>) -> &'static str {
    match group_by {
        None => "All",
        Some(GroupBy::Key) => "(no key)",
        Some(GroupBy::Team) => "(no team)",
        Some(GroupBy::User) => "(no user)",
        Some(GroupBy::Deployment) => "(no deployment)",
        Some(GroupBy::Provider) => "(no provider)",
        Some(GroupBy::Model | GroupBy::Instance) => "(none)",
    }
}

/// Folds rollup rows into the query's buckets and groups. Rows outside `[from, to)` (a daily
/// row under a range that starts mid-day is the caller's concern) are kept in the bucket they
/// fall in when that bucket is part of the range, and dropped otherwise.
pub fn assemble(query: &SpendQuery, rows: &[RollupRow]) -> SpendSeries {
    let g = query.granularity;
    let buckets = g.buckets(query.from, query.to);
    let bucket_index: HashMap<Timestamp, usize> =
        buckets.iter().enumerate().map(|(i, b)| (*b, i)).collect();
    let mut group_index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<SpendGroup> = Vec::new();
    let mut cells: HashMap<(usize, usize), SpendMetrics> = HashMap::new();
    let mut per_bucket = vec![SpendMetrics::default(); buckets.len()];
    let mut totals = SpendMetrics::default();
    for row in rows {
        let Some(&b) = bucket_index.get(&g.bucket_start(row.bucket)) else {
            continue;
        };
        let key = row.group.clone().unwrap_or_default();
        let gi = *group_index.entry(key.clone()).or_insert_with(|| {
            let label = match (&row.label, key.is_empty()) {
                (Some(l), _) if !l.is_empty() => l.clone(),
                (_, true) => none_label(query.group_by).to_owned(),
                (_, false) => key.clone(),
            };
            groups.push(SpendGroup {
                key: key.clone(),
                label,
                totals: SpendMetrics::default(),
            });
            groups.len() - 1
        });
        groups[gi].totals.merge(&row.metrics);
        cells.entry((b, gi)).or_default().merge(&row.metrics);
        per_bucket[b].merge(&row.metrics);
        totals.merge(&row.metrics);
    }
    // Order groups by cost (then requests, then label) and renumber the cells to match.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|a, b| {
        let (x, y) = (&groups[*a], &groups[*b]);
        y.totals
            .cost
            .cmp(&x.totals.cost)
            .then(y.totals.requests.cmp(&x.totals.requests))
            .then(x.label.cmp(&y.label))
            .then(x.key.cmp(&y.key))
    });
    let mut renumber = vec![0; groups.len()];
    for (new, old) in order.iter().enumerate() {
        renumber[*old] = new;
    }
    let mut sorted: Vec<Option<SpendGroup>> = groups.into_iter().map(Some).collect();
    let groups: Vec<SpendGroup> = order.iter().filter_map(|i| sorted[*i].take()).collect();
    let mut points: Vec<SpendPoint> = cells
        .into_iter()
        .map(|((b, gi), metrics)| SpendPoint {
            bucket: buckets[b],
            group: renumber[gi],
            metrics,
        })
        .collect();
    points.sort_by_key(|p| (p.bucket, p.group));
    SpendSeries {
        query: query.clone(),
        buckets,
        groups,
        points,
        totals,
        per_bucket,
    }
}

/// Every group of `query` with its totals over the range, ordered as [`assemble`] orders them,
/// from rows summed per group (the reads of [`SpendQuery::totals_parts`]; rows of one group from
/// several reads are added up, the first label kept). Its points are those totals in the first
/// bucket until [`assemble_chart`] replaces them.
pub fn group_totals(query: &SpendQuery, rows: impl IntoIterator<Item = RollupRow>) -> SpendSeries {
    let first = query.granularity.bucket_start(query.from);
    let rows: Vec<RollupRow> = rows
        .into_iter()
        .map(|r| RollupRow { bucket: first, ..r })
        .collect();
    assemble(query, &rows)
}

/// The series a chart of the `n` largest groups needs, from three smaller reads than every
/// group's points: `whole`, every group with its totals ([`group_totals`]); `per_bucket`, the
/// rows of the query without its grouping; and `points`, the rows of the `n` largest groups
/// only. The answer equals [`assemble`] of every row followed by
/// [`SpendSeries::fold_points_beyond`]`(n)`: every group with its totals (the table), points for
/// the first `n`, and the rest of each bucket under group `n` ("Other").
///
/// The reads are separate statements: a request written between them can leave a bucket's
/// "Other" off by that request until the next read; a bucket whose "Other" comes to no requests
/// has no such point.
pub fn assemble_chart(
    whole: SpendSeries,
    per_bucket: &[RollupRow],
    points: &[RollupRow],
    n: usize,
) -> SpendSeries {
    let query = &whole.query;
    let ungrouped = assemble(
        &SpendQuery {
            group_by: None,
            ..query.clone()
        },
        per_bucket,
    );
    let top = assemble(query, points);
    let index: HashMap<&str, usize> = whole
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.key.as_str(), i))
        .collect();
    let mut out: Vec<SpendPoint> = Vec::with_capacity(top.points.len() + whole.buckets.len());
    let mut charted = vec![SpendMetrics::default(); whole.buckets.len()];
    let bucket_index: HashMap<Timestamp, usize> = whole
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| (*b, i))
        .collect();
    for p in &top.points {
        let Some(&group) = index.get(top.groups[p.group].key.as_str()) else {
            continue;
        };
        if group >= n {
            continue;
        }
        if let Some(&b) = bucket_index.get(&p.bucket) {
            charted[b].merge(&p.metrics);
        }
        out.push(SpendPoint { group, ..p.clone() });
    }
    // The rest of each bucket is group `n`: "Other", or with exactly `n + 1` groups, that group.
    if whole.groups.len() > n {
        for (b, bucket) in whole.buckets.iter().enumerate() {
            let other = ungrouped.per_bucket[b].minus(&charted[b]);
            if other.requests > 0 {
                out.push(SpendPoint {
                    bucket: *bucket,
                    group: n,
                    metrics: other,
                });
            }
        }
    }
    out.sort_by_key(|p| (p.bucket, p.group));
    SpendSeries {
        points: out,
        per_bucket: ungrouped.per_bucket,
        ..whole
    }
}

/// The home page's numbers, all from the rollups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// When the numbers were read.
    pub now: Timestamp,
    /// The team the numbers are limited to (people who see only their team's spend).
    pub team: Option<TeamId>,
    /// Since midnight UTC.
    pub today: SpendMetrics,
    /// Since the first of the month, UTC.
    pub month: SpendMetrics,
    pub month_start: Timestamp,
    /// The last 30 days, today included, oldest first; days without traffic are zeros.
    pub daily: Vec<(Timestamp, SpendMetrics)>,
    /// The five highest spenders of this month, per dimension (key, team, model, instance).
    pub top: Vec<(GroupBy, Vec<SpendGroup>)>,
    /// Budgets at or over [`NEAR_LIMIT_PERCENT`] of their maximum in their current window,
    /// fullest first, at most [`DASHBOARD_BUDGETS`].
    pub near_limit: Vec<BudgetAlert>,
}

/// The share of a budget from which the dashboard lists it.
pub const NEAR_LIMIT_PERCENT: i64 = 80;
/// At most this many budgets on the dashboard.
pub const DASHBOARD_BUDGETS: usize = 10;

/// A budget at or near its maximum in its current window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetAlert {
    /// What owns it: a key, a team or a user.
    pub owner: BudgetOwner,
    /// The owner's id.
    pub id: String,
    /// A key's alias (or masked form), a team's name, a user's email.
    pub label: String,
    pub spend: Micros,
    pub max_budget: Micros,
    /// When the window resets; `None` for a lifetime budget.
    pub resets: Option<Timestamp>,
}

/// Who a budget belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetOwner {
    Key,
    Team,
    User,
}

impl BudgetOwner {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetOwner::Key => "key",
            BudgetOwner::Team => "team",
            BudgetOwner::User => "user",
        }
    }
}

impl BudgetAlert {
    /// Spend as a share of the budget (1.0 is all of it; may exceed 1 by what was in flight).
    pub fn share(&self) -> f64 {
        if self.max_budget.0 <= 0 {
            return 0.0;
        }
        self.spend.0 as f64 / self.max_budget.0 as f64
    }
}

/// The dimensions the dashboard ranks, in the order shown.
pub const DASHBOARD_TOP: [GroupBy; 4] = [
    GroupBy::Key,
    GroupBy::Team,
    GroupBy::Model,
    GroupBy::Instance,
];

/// Which answers a request log filter keeps, by status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Below 400.
    Success,
    /// 400 or more.
    Error,
    /// One exact status.
    Code(u16),
}

impl StatusFilter {
    /// `success`, `error` or a status code such as `429`.
    pub fn parse(s: &str) -> Option<StatusFilter> {
        match s {
            "success" => Some(StatusFilter::Success),
            "error" => Some(StatusFilter::Error),
            code => code
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .map(StatusFilter::Code),
        }
    }

    pub fn as_string(self) -> String {
        match self {
            StatusFilter::Success => "success".to_owned(),
            StatusFilter::Error => "error".to_owned(),
            StatusFilter::Code(c) => c.to_string(),
        }
    }

    /// The inclusive range of statuses kept.
    pub fn bounds(self) -> (i32, i32) {
        match self {
            StatusFilter::Success => (0, 399),
            StatusFilter::Error => (400, 999),
            StatusFilter::Code(c) => (i32::from(c), i32::from(c)),
        }
    }
}

/// Where a page of the request log ends: the next page starts strictly after (older than) it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCursor {
    pub ts: Timestamp,
    pub request_id: String,
}

impl LogCursor {
    /// `<ts>_<request id>`: opaque to callers, safe in a URL.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.ts.0, self.request_id)
    }

    pub fn decode(s: &str) -> Option<LogCursor> {
        let (ts, id) = s.split_once('_')?;
        let ts = ts.parse::<i64>().ok()?;
        if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        Some(LogCursor {
            ts: Timestamp(ts),
            request_id: id.to_owned(),
        })
    }
}

/// The most rows one page of the request log may hold.
pub const MAX_LOG_PAGE: u32 = 500;

/// A question to the request log: filters and where to continue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogQuery {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub key: Option<KeyId>,
    pub team: Option<TeamId>,
    pub model: Option<String>,
    pub instance: Option<String>,
    pub pod: Option<String>,
    pub status: Option<StatusFilter>,
    pub min_latency_ms: Option<i64>,
    /// Continue after this row (newest first).
    pub after: Option<LogCursor>,
    pub limit: u32,
}

impl Default for LogQuery {
    fn default() -> Self {
        LogQuery {
            from: None,
            to: None,
            key: None,
            team: None,
            model: None,
            instance: None,
            pod: None,
            status: None,
            min_latency_ms: None,
            after: None,
            limit: 50,
        }
    }
}

impl LogQuery {
    pub fn validate(&self) -> Result<(), QueryError> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to <= from
        {
            return Err(query_error("to", "must be after `from`"));
        }
        if !(1..=MAX_LOG_PAGE).contains(&self.limit) {
            return Err(query_error("limit", format!("must be 1 to {MAX_LOG_PAGE}")));
        }
        if self.min_latency_ms.is_some_and(|m| m < 0) {
            return Err(query_error("min_latency_ms", "must not be negative"));
        }
        check_text("model", self.model.as_deref())?;
        check_text("instance", self.instance.as_deref())?;
        check_text("pod", self.pod.as_deref())
    }
}

/// One request as the request log shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub request_id: String,
    pub ts: Timestamp,
    pub key_id: Option<KeyId>,
    /// The key's alias or masked form, when the key still exists.
    pub key_label: Option<String>,
    pub team_id: Option<TeamId>,
    pub user_id: Option<UserId>,
    pub instance: String,
    pub pod: String,
    pub route_model: String,
    pub upstream_model: Option<String>,
    pub provider: Option<String>,
    pub deployment_id: Option<DeploymentId>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    pub cost: Micros,
    pub latency_ms: Option<i64>,
    pub ttft_ms: Option<i64>,
    pub status: i32,
    pub error_kind: Option<String>,
    pub unpriced: bool,
    /// The deployments the request was sent to, in order; the last answered unless all failed.
    pub tried: Vec<DeploymentId>,
    /// The prompt and completion, when its key or team stores them (off by default); read by
    /// the detail view only, `None` in pages of the log.
    #[serde(default)]
    pub bodies: Option<StoredBodies>,
    /// Bodies are stored for this request but the reader may not see them (only those who may
    /// read the key: admins, viewers, its team's admins and its owner).
    #[serde(default)]
    pub bodies_withheld: bool,
}

/// A request's body and its answer as the client sent and received them (JSON, or the
/// server-sent events of a stream), each cut at the configured size. Stored only for keys or
/// teams that opted in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBodies {
    pub prompt: String,
    pub completion: String,
    /// One of them was longer than the cap and was cut.
    pub truncated: bool,
}

impl StoredBodies {
    /// Keeps at most `cap` bytes of each side, cut on a character boundary. Bytes that are not
    /// UTF-8, and NUL (which Postgres text cannot hold), become U+FFFD.
    pub fn capture(prompt: &[u8], completion: &[u8], cap: usize) -> StoredBodies {
        let (prompt, cut_prompt) = text_within(prompt, cap);
        let (completion, cut_completion) = text_within(completion, cap);
        StoredBodies {
            prompt,
            completion,
            truncated: cut_prompt || cut_completion,
        }
    }
}

/// At most `cap` bytes of `bytes` as text, and whether anything was cut.
fn text_within(bytes: &[u8], cap: usize) -> (String, bool) {
    let mut text =
        String::from_utf8_lossy(&bytes[..bytes.len().min(cap)]).replace('\0', "\u{FFFD}");
    let mut cut = bytes.len() > cap;
    // The replacements may have grown it past the cap: cut on a character boundary.
    if text.len() > cap {
        let mut end = cap;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        cut = true;
    }
    (text, cut)
}

impl LogEntry {
    pub fn cursor(&self) -> LogCursor {
        LogCursor {
            ts: self.ts,
            request_id: self.request_id.clone(),
        }
    }
}

/// A page of the request log, newest first, and where the next one starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    pub next: Option<LogCursor>,
}

/// Quotes one CSV field when it needs it (RFC 4180), and defuses spreadsheet formulas: a field
/// starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`.
pub fn csv_field(value: &str) -> String {
    let defused = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if value.parse::<f64>().is_err() => {
            format!("'{value}")
        }
        _ => value.to_owned(),
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// One CSV line (with its `\r\n`) from fields.
pub fn csv_line<I, S>(fields: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut line = fields
        .into_iter()
        .map(|f| csv_field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Micro-dollars as a plain decimal dollar amount for CSV and JSON consumers: `12.345678`.
pub fn dollars_decimal(m: Micros) -> String {
    let sign = if m.0 < 0 { "-" } else { "" };
    let abs = m.0.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

/// The table under the spend chart, as CSV: one line per group in the order given, the same
/// columns as the table, numbers unformatted (dollars as a decimal string, the error rate as a
/// fraction).
pub fn groups_csv<'a>(
    group_title: &str,
    groups: impl IntoIterator<Item = &'a SpendGroup>,
) -> String {
    let mut out = csv_line([
        group_title,
        "id",
        "requests",
        "errors",
        "error_rate",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "p50_latency_ms",
        "p95_latency_ms",
    ]);
    for g in groups {
        let t = &g.totals;
        let q = |p: f64| {
            t.latency
                .quantile(p)
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        out.push_str(&csv_line([
            g.label.clone(),
            g.key.clone(),
            t.requests.to_string(),
            t.errors.to_string(),
            t.error_rate()
                .map(|e| format!("{e:.4}"))
                .unwrap_or_default(),
            t.prompt_tokens.to_string(),
            t.completion_tokens.to_string(),
            dollars_decimal(t.cost),
            q(0.5),
            q(0.95),
        ]));
    }
    out
}

#[cfg(test)]
mod tests;
