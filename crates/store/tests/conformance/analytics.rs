//! Spend analytics: the hourly and daily rollups equal what was recorded, by every grouping and
//! filter, with labels for the objects still there; the upgrade keeps old rollups and fills the
//! hourly one from the log.

use crate::harness::{T0, TestDb, both, new_key, team, user};
use std::collections::BTreeMap;
use std::sync::Arc;
use tollgate_domain::analytics::{
    Granularity, GroupBy, LatencyHistogram, Rollup, RollupRow, SpendFilters, SpendMetrics,
    SpendQuery, assemble,
};
use tollgate_domain::routing::{Deployment, ProviderKind, Route, RouteSource, Strategy};
use tollgate_domain::time::{MS_PER_DAY, MS_PER_HOUR};
use tollgate_domain::{DeploymentId, KeyId, Micros, RouteId, TeamId, Timestamp, UserId};
use tollgate_store::{NewKey, SpendRecord, Store};
use uuid::Uuid;

/// SplitMix64: a seeded generator, so a failure replays exactly.
struct Prng(u64);

impl Prng {
    fn new(seed: u64) -> Prng {
        Prng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize].clone()
    }
}

/// A record with every optional field empty; tests set what they need.
pub(crate) fn bare(request_id: String, ts: Timestamp) -> SpendRecord {
    SpendRecord::new(request_id, ts, "default", "pod-a", "gpt-4o")
}

/// The first day of the generated records: midnight before `T0`.
fn day0() -> Timestamp {
    T0.start_of_day()
}

struct Dims {
    keys: Vec<Option<KeyId>>,
    teams: Vec<Option<TeamId>>,
    users: Vec<Option<UserId>>,
    deployments: Vec<Option<Uuid>>,
}

/// A few hundred records over three days; latencies around the bucket bounds, some on hour
/// starts, some without a latency, team or provider.
fn random_records(rng: &mut Prng, dims: &Dims, n: usize) -> Vec<SpendRecord> {
    let models = ["gpt-4o", "claude-sonnet-4", "o3"];
    let instances = ["default", "claude", "openai-eu"];
    let providers = [Some("openai"), Some("anthropic"), Some("azure"), None];
    let statuses = [200, 200, 200, 201, 400, 429, 500, 502];
    (0..n)
        .map(|i| {
            let mut ts = day0().0 + rng.below(3 * MS_PER_DAY as u64) as i64;
            if rng.below(8) == 0 {
                ts = ts.div_euclid(MS_PER_HOUR) * MS_PER_HOUR;
            }
            let mut r = bare(format!("rnd-{i:05}"), Timestamp(ts));
            r.key_id = rng.pick(&dims.keys);
            r.team_id = rng.pick(&dims.teams);
            r.user_id = rng.pick(&dims.users);
            r.deployment_id = rng.pick(&dims.deployments);
            r.route_model = rng.pick(&models).to_owned();
            r.instance = rng.pick(&instances).to_owned();
            r.provider = rng.pick(&providers).map(str::to_owned);
            r.prompt_tokens = rng.below(5_000) as i64;
            r.completion_tokens = rng.below(2_000) as i64;
            r.cost = Micros(rng.below(100_000) as i64);
            r.status = rng.pick(&statuses);
            r.latency_ms = match rng.below(5) {
                0 => None,
                1 => {
                    let bounds = tollgate_domain::analytics::LATENCY_BOUNDS_MS;
                    Some(rng.pick(&bounds) + rng.below(3) as i64 - 1)
                }
                _ => Some(rng.below(150_000) as i64),
            };
            r
        })
        .collect()
}

/// The value a record has for a grouping, as the store reports it.
fn group_of(r: &SpendRecord, g: Option<GroupBy>) -> Option<String> {
    match g? {
        GroupBy::Key => r.key_id.map(|k| k.to_string()),
        GroupBy::Team => r.team_id.map(|t| t.to_string()),
        GroupBy::User => r.user_id.map(|u| u.to_string()),
        GroupBy::Model => Some(r.route_model.clone()),
        GroupBy::Provider => r.provider.clone().filter(|p| !p.is_empty()),
        GroupBy::Instance => Some(r.instance.clone()),
        GroupBy::Deployment => r.deployment_id.map(|d| d.to_string()),
    }
}

fn matches(r: &SpendRecord, f: &SpendFilters) -> bool {
    f.key.is_none_or(|k| r.key_id == Some(k))
        && f.team.is_none_or(|t| r.team_id == Some(t))
        && f.user.is_none_or(|u| r.user_id == Some(u))
        && f.model.as_ref().is_none_or(|m| &r.route_model == m)
        && f.provider
            .as_ref()
            .is_none_or(|p| r.provider.as_ref() == Some(p))
        && f.instance.as_ref().is_none_or(|i| &r.instance == i)
        && f.deployment.is_none_or(|d| r.deployment_id == Some(d.0))
}

fn metrics_of(r: &SpendRecord) -> SpendMetrics {
    let mut latency = LatencyHistogram::default();
    if let Some(ms) = r.latency_ms {
        latency.record(ms);
    }
    SpendMetrics {
        requests: 1,
        errors: i64::from(r.status >= 400),
        prompt_tokens: r.prompt_tokens,
        completion_tokens: r.completion_tokens,
        cost: r.cost,
        latency,
    }
}

type Cells = BTreeMap<(Timestamp, Option<String>), SpendMetrics>;

/// What the rollup must answer, computed from the records.
fn expected(records: &[SpendRecord], rollup: Rollup, q: &SpendQuery) -> Cells {
    let from = rollup.bucket_start(q.from);
    let mut cells = Cells::new();
    for r in records {
        let bucket = rollup.bucket_start(r.ts);
        if bucket < from || bucket >= q.to || !matches(r, &q.filters) {
            continue;
        }
        cells
            .entry((bucket, group_of(r, q.group_by)))
            .or_default()
            .merge(&metrics_of(r));
    }
    cells
}

/// The rows as cells, checking they are ordered, unique and on bucket starts.
fn cells(rows: &[RollupRow], rollup: Rollup) -> Cells {
    let mut out = Cells::new();
    for pair in rows.windows(2) {
        assert!(
            (pair[0].bucket, &pair[0].group) < (pair[1].bucket, &pair[1].group),
            "rows out of order or repeated: {:?} then {:?}",
            (pair[0].bucket, &pair[0].group),
            (pair[1].bucket, &pair[1].group)
        );
    }
    for row in rows {
        assert_eq!(
            row.bucket.0 % rollup.width_ms(),
            0,
            "{rollup:?} {:?}",
            row.bucket
        );
        out.insert((row.bucket, row.group.clone()), row.metrics);
    }
    out
}

fn query(
    from: Timestamp,
    to: Timestamp,
    group_by: Option<GroupBy>,
    f: &SpendFilters,
) -> SpendQuery {
    SpendQuery {
        from,
        to,
        granularity: Granularity::Day,
        group_by,
        filters: f.clone(),
    }
}

async fn rollups_equal_the_records(store: Arc<dyn Store>) {
    let mut rng = Prng::new(0x7011_6a7e);
    let dims = Dims {
        keys: vec![
            Some(KeyId::new()),
            Some(KeyId::new()),
            Some(KeyId::new()),
            None,
        ],
        teams: vec![Some(TeamId::new()), Some(TeamId::new()), None],
        users: vec![Some(UserId::new()), Some(UserId::new()), None],
        deployments: vec![Some(Uuid::now_v7()), Some(Uuid::now_v7()), None],
    };
    let records = random_records(&mut rng, &dims, 360);
    for batch in records.chunks(120) {
        let w = store.record_spend(batch, T0).await.unwrap();
        assert_eq!(w.inserted, batch.len() as u64);
    }
    // A batch replayed (a spool after a crash) adds nothing anywhere.
    let w = store.record_spend(&records[120..240], T0).await.unwrap();
    assert_eq!(w.inserted, 0);
    let (logs, rollup) = store.spend_totals().await.unwrap();
    assert_eq!(logs, rollup);
    assert_eq!(logs.requests, 360);

    // Both tables answer: the one-dimension rollups where the grouping and the filters name at
    // most one dimension besides the team, the full rollups otherwise.
    let filters = [
        SpendFilters::default(),
        SpendFilters {
            team: dims.teams[0],
            ..SpendFilters::default()
        },
        SpendFilters {
            key: dims.keys[0],
            ..SpendFilters::default()
        },
        SpendFilters {
            team: dims.teams[1],
            model: Some("gpt-4o".to_owned()),
            ..SpendFilters::default()
        },
        SpendFilters {
            provider: Some("openai".to_owned()),
            instance: Some("claude".to_owned()),
            ..SpendFilters::default()
        },
        SpendFilters {
            user: dims.users[0],
            deployment: dims.deployments[0].map(DeploymentId),
            ..SpendFilters::default()
        },
    ];
    // The whole range, and one starting mid-hour and ending on an hour start of the second day.
    let ranges = [
        (day0(), Timestamp(day0().0 + 3 * MS_PER_DAY)),
        (
            Timestamp(day0().0 + 5 * MS_PER_HOUR + 1_800_000),
            Timestamp(day0().0 + MS_PER_DAY + 7 * MS_PER_HOUR),
        ),
    ];
    let groupings = std::iter::once(None).chain(GroupBy::ALL.into_iter().map(Some));
    let mut non_empty = 0;
    for rollup in [Rollup::Hourly, Rollup::Daily] {
        for group_by in groupings.clone() {
            for f in &filters {
                for (from, to) in ranges {
                    let q = query(from, to, group_by, f);
                    let rows = store.spend_rollup(rollup, &q).await.unwrap();
                    let want = expected(&records, rollup, &q);
                    assert_eq!(cells(&rows, rollup), want, "{rollup:?} {group_by:?} {f:?}");
                    // The same, summed per group over the range.
                    let mut want_totals: BTreeMap<Option<String>, SpendMetrics> = BTreeMap::new();
                    for ((_, group), m) in &want {
                        want_totals.entry(group.clone()).or_default().merge(m);
                    }
                    let totals = store.spend_group_totals(rollup, &q).await.unwrap();
                    assert!(
                        totals.windows(2).all(|p| p[0].group < p[1].group),
                        "one row per group, in order"
                    );
                    assert!(totals.iter().all(|r| r.bucket == rollup.bucket_start(from)));
                    let got: BTreeMap<_, _> = totals
                        .iter()
                        .map(|r| (r.group.clone(), r.metrics))
                        .collect();
                    assert_eq!(got, want_totals, "totals {rollup:?} {group_by:?} {f:?}");
                    non_empty += usize::from(!want.is_empty());
                    if group_by.is_none() {
                        assert!(rows.iter().all(|r| r.group.is_none() && r.label.is_none()));
                    }
                }
            }
        }
    }
    // The filters narrow to something, not to nothing.
    assert!(non_empty > 120, "{non_empty}");

    // A chart's series (its largest groups' points, the rest as "Other", every group's totals)
    // is what every row folded gives, however few groups it draws; the third range's hours
    // split into whole days from the daily rollup and edge hours from the hourly one.
    let split = (
        Timestamp(day0().0 + 5 * MS_PER_HOUR + 1_800_000),
        Timestamp(day0().0 + 2 * MS_PER_DAY + 7 * MS_PER_HOUR),
    );
    let mut folded = 0;
    for granularity in [Granularity::Hour, Granularity::Day] {
        for group_by in groupings.clone() {
            for f in &filters {
                for (from, to) in ranges.into_iter().chain([split]) {
                    let q = SpendQuery {
                        granularity,
                        ..query(from, to, group_by, f)
                    };
                    let rows = store.spend_rollup(granularity.rollup(), &q).await.unwrap();
                    for n in [1, 2, 8] {
                        let mut want = assemble(&q, &rows);
                        folded += usize::from(want.groups.len() > n + 1);
                        want.fold_points_beyond(n);
                        let got = tollgate_store::spend_chart(store.as_ref(), &q, n)
                            .await
                            .unwrap();
                        assert_eq!(
                            got, want,
                            "chart of {n}: {granularity:?} {group_by:?} {f:?}"
                        );
                    }
                }
            }
        }
    }
    // Most of those drew fewer groups than there were.
    assert!(folded > 60, "{folded}");
}

async fn ranges_end_before_to(store: Arc<dyn Store>) {
    // One request on the start of an hour, one a millisecond before it.
    let hour = Timestamp(day0().0 + 10 * MS_PER_HOUR);
    let mut on = bare("on-the-hour".to_owned(), hour);
    on.latency_ms = Some(120_001);
    let mut before = bare("just-before".to_owned(), Timestamp(hour.0 - 1));
    before.latency_ms = Some(50);
    store.record_spend(&[on, before], T0).await.unwrap();
    let none = SpendFilters::default();
    let hourly = |from, to| query(from, to, None, &none);
    let rows = store
        .spend_rollup(Rollup::Hourly, &hourly(day0(), hour))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].bucket, Timestamp(hour.0 - MS_PER_HOUR));
    assert_eq!(rows[0].metrics.latency.0[0], 1);
    let rows = store
        .spend_rollup(Rollup::Hourly, &hourly(day0(), Timestamp(hour.0 + 1)))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].bucket, hour);
    assert_eq!(rows[1].metrics.latency.0[11], 1, "past the last bound");
    // `from` mid-hour still takes the whole hour it falls in.
    let rows = store
        .spend_rollup(
            Rollup::Hourly,
            &hourly(Timestamp(hour.0 - 5), Timestamp(hour.0 + 5)),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    // Daily: both in one day; a range ending at that midnight has nothing.
    let rows = store
        .spend_rollup(Rollup::Daily, &hourly(hour, Timestamp(hour.0 + 1)))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].bucket, rows[0].metrics.requests), (day0(), 2));
    let earlier = Timestamp(day0().0 - MS_PER_DAY);
    assert!(
        store
            .spend_rollup(Rollup::Daily, &hourly(earlier, day0()))
            .await
            .unwrap()
            .is_empty()
    );
}

fn route_with(upstream: &str) -> Route {
    let id = RouteId::new();
    Route {
        id,
        instance: None,
        model_name: "gpt-4o".to_owned(),
        alias_of: None,
        strategy: Strategy::Weighted,
        timeout_ms: None,
        stream_idle_timeout_ms: None,
        retries: 0,
        fallbacks: Vec::new(),
        header_match: BTreeMap::new(),
        source: RouteSource::Db,
        deployments: vec![Deployment {
            id: DeploymentId::new(),
            route_id: id,
            provider: ProviderKind::Openai,
            upstream_model: upstream.to_owned(),
            api_base: None,
            api_version: None,
            credential_id: None,
            weight: 1,
            rpm_limit: None,
            tpm_limit: None,
            enabled: true,
            input_price_per_mtok: None,
            output_price_per_mtok: None,
            created_at: T0,
            updated_at: T0,
        }],
        created_at: T0,
        updated_at: T0,
    }
}

async fn labels_name_what_still_exists(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let team = team(store.as_ref(), "Platform").await;
    let named = store
        .create_key(&NewKey {
            alias: Some("ci-bot".to_owned()),
            team_id: Some(team),
            user_id: Some(ana.id),
            ..new_key("hash-named")
        })
        .await
        .unwrap();
    let unnamed = store.create_key(&new_key("hash-unnamed")).await.unwrap();
    let gone = store.create_key(&new_key("hash-gone")).await.unwrap();
    let route = store
        .create_route(&route_with("gpt-4o-2024-08-06"))
        .await
        .unwrap();
    let deployment = route.deployments[0].id;
    let lost_deployment = Uuid::now_v7();

    let mut records = Vec::new();
    for (i, key) in [Some(named.id), Some(unnamed.id), Some(gone.id), None]
        .into_iter()
        .enumerate()
    {
        let mut r = bare(format!("label-{i}"), Timestamp(T0.0 + i as i64));
        r.key_id = key;
        if i == 0 {
            (r.team_id, r.user_id) = (Some(team), Some(ana.id));
            r.deployment_id = Some(deployment.0);
        } else if i == 2 {
            r.deployment_id = Some(lost_deployment);
        }
        records.push(r);
    }
    store.record_spend(&records, T0).await.unwrap();
    store.delete_key(gone.id).await.unwrap();

    let day = T0.start_of_day();
    let labels = |rows: Vec<RollupRow>| -> BTreeMap<Option<String>, (Option<String>, i64)> {
        rows.into_iter()
            .map(|r| (r.group, (r.label, r.metrics.requests)))
            .collect()
    };
    let none = SpendFilters::default();
    let by = |g| query(day, Timestamp(day.0 + MS_PER_DAY), Some(g), &none);
    for rollup in [Rollup::Hourly, Rollup::Daily] {
        let keys = labels(store.spend_rollup(rollup, &by(GroupBy::Key)).await.unwrap());
        let want = BTreeMap::from([
            (Some(named.id.to_string()), (Some("ci-bot".to_owned()), 1)),
            (
                Some(unnamed.id.to_string()),
                (Some("sk-tg-abcd...wxyz".to_owned()), 1),
            ),
            // The key is gone; its spend stays, unnamed.
            (Some(gone.id.to_string()), (None, 1)),
            (None, (None, 1)),
        ]);
        assert_eq!(keys, want, "{rollup:?}");
        let teams = labels(
            store
                .spend_rollup(rollup, &by(GroupBy::Team))
                .await
                .unwrap(),
        );
        assert_eq!(
            teams,
            BTreeMap::from([
                (Some(team.to_string()), (Some("Platform".to_owned()), 1)),
                (None, (None, 3)),
            ])
        );
        let users = labels(
            store
                .spend_rollup(rollup, &by(GroupBy::User))
                .await
                .unwrap(),
        );
        assert_eq!(
            users.get(&Some(ana.id.to_string())),
            Some(&(Some("ana@example.com".to_owned()), 1))
        );
        let deployments = labels(
            store
                .spend_rollup(rollup, &by(GroupBy::Deployment))
                .await
                .unwrap(),
        );
        assert_eq!(
            deployments,
            BTreeMap::from([
                (
                    Some(deployment.to_string()),
                    (Some("openai/gpt-4o-2024-08-06".to_owned()), 1)
                ),
                (Some(lost_deployment.to_string()), (None, 1)),
                (None, (None, 2)),
            ])
        );
        let models = labels(
            store
                .spend_rollup(rollup, &by(GroupBy::Model))
                .await
                .unwrap(),
        );
        assert_eq!(
            models,
            BTreeMap::from([(Some("gpt-4o".to_owned()), (None, 4))])
        );
    }
    // The request log names keys the same way.
    let entry = store.get_spend_log("label-0").await.unwrap();
    assert_eq!(entry.key_label.as_deref(), Some("ci-bot"));
    let entry = store.get_spend_log("label-1").await.unwrap();
    assert_eq!(entry.key_label.as_deref(), Some("sk-tg-abcd...wxyz"));
    let entry = store.get_spend_log("label-2").await.unwrap();
    assert_eq!((entry.key_id, entry.key_label), (Some(gone.id), None));
}

/// Applies the migrations up to 0002, writes rows the old way, then lets the store migrate.
async fn upgrade(db: TestDb, dir: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let migrator = sqlx::migrate::Migrator::new(path).await.unwrap();
    let old_rows = [
        "INSERT INTO spend_daily (day, key_id, team_id, user_id, model, instance, requests, \
         prompt_tokens, completion_tokens, cost, errors) VALUES (86400000, \
         '0190aaaa-0000-7000-8000-000000000001', '00000000-0000-0000-0000-000000000000', \
         '00000000-0000-0000-0000-000000000000', 'gpt-4o', 'default', 7, 70, 7, 700, 1)",
        "INSERT INTO spend_logs (request_id, ts, key_id, instance, pod, route_model, provider, \
         status, latency_ms, cost) VALUES ('old-1', 7200001, \
         '0190aaaa-0000-7000-8000-000000000001', 'default', 'p', 'gpt-4o', 'openai', 200, 40, 5)",
        "INSERT INTO spend_logs (request_id, ts, key_id, instance, pod, route_model, provider, \
         status, latency_ms, cost) VALUES ('old-2', 7300000, \
         '0190aaaa-0000-7000-8000-000000000001', 'default', 'p', 'gpt-4o', 'openai', 503, \
         130000, 6)",
        "INSERT INTO spend_logs (request_id, ts, instance, pod, route_model, status) \
         VALUES ('old-3', 3600000, 'default', 'p', 'gpt-4o', 200)",
    ];
    if db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        migrator.run_to(2, &pool).await.unwrap();
        for sql in old_rows {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        migrator.run_to(2, &pool).await.unwrap();
        for sql in old_rows {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let store = db.store();
    store.migrate().await.unwrap();
    let all = query(
        Timestamp(0),
        Timestamp(2 * MS_PER_DAY),
        Some(GroupBy::Provider),
        &SpendFilters::default(),
    );
    // The old daily row is kept as it was, under "no provider".
    let daily = store.spend_rollup(Rollup::Daily, &all).await.unwrap();
    assert_eq!(daily.len(), 1, "{daily:?}");
    assert_eq!(
        (
            daily[0].bucket,
            daily[0].group.clone(),
            daily[0].metrics.requests
        ),
        (Timestamp(MS_PER_DAY), None, 7)
    );
    assert_eq!(daily[0].metrics.cost, Micros(700));
    assert_eq!(daily[0].metrics.latency.count(), 0);
    // The hourly rollup was filled from the log.
    let hourly = store.spend_rollup(Rollup::Hourly, &all).await.unwrap();
    let cells: Vec<_> = hourly
        .iter()
        .map(|r| {
            (
                r.bucket.0,
                r.group.clone(),
                r.metrics.requests,
                r.metrics.errors,
            )
        })
        .collect();
    assert_eq!(
        cells,
        vec![
            (MS_PER_HOUR, None, 1, 0),
            (2 * MS_PER_HOUR, Some("openai".to_owned()), 2, 1)
        ]
    );
    let mut latency = LatencyHistogram::default();
    latency.record(40);
    latency.record(130_000);
    assert_eq!(hourly[1].metrics.latency, latency);
    assert_eq!(hourly[1].metrics.cost, Micros(11));
    // And the writer adds to the migrated tables.
    let mut r = bare("new-1".to_owned(), Timestamp(MS_PER_DAY + 1));
    r.key_id = Some(KeyId(
        Uuid::parse_str("0190aaaa-0000-7000-8000-000000000001").unwrap(),
    ));
    store.record_spend(&[r], T0).await.unwrap();
    let daily = store.spend_rollup(Rollup::Daily, &all).await.unwrap();
    assert_eq!(daily[0].metrics.requests, 8);
}

mod upgrade_keeps_rollups_and_fills_hourly {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let db = crate::harness::TestDb::sqlite(false).await;
        super::upgrade(db, "../../migrations/sqlite").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let db = crate::harness::TestDb::postgres(false).await;
        super::upgrade(db, "../../migrations/postgres").await;
    }
}

both!(
    rollups_equal_the_records,
    ranges_end_before_to,
    labels_name_what_still_exists
);
