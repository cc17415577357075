//! Budgets, rate limits and the spend pipeline: rows equal requests, rollups equal logs,
//! refusals at the boundary, limits shared through Redis, the Redis-down policies, and a
//! database outage that fails no request of a known key and loses no spend.

use crate::harness::{Harness, Usage, eventually, hi, openai, route, test_config};
use crate::stub::Stub;
use crate::support::{OwnRedis, PgDb, Proxy};
use futures_util::StreamExt as _;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tollgate_domain::authz::GlobalRole;
use tollgate_domain::{Micros, TeamId, Timestamp, UserId};
use tollgate_gateway::GatewayConfig;
use tollgate_gateway::limits::{LimitsConfig, RedisDownPolicy};
use tollgate_gateway::spend::{SpendConfig, SpendWriter};
use tollgate_store::{ConnectOptions, Limits, NewUser, Scope, Store};

/// Stub usage is 11 prompt + 7 completion tokens; at $1 / $2 per million that is 11 + 14 = 25
/// micro-dollars a request.
const COST: i64 = 25;

enum Db {
    Sqlite,
    Postgres(String),
}

struct Spend {
    h: Harness,
    writer: Arc<SpendWriter>,
}

async fn spend_harness(db: Db, config: GatewayConfig) -> Spend {
    let dir = tempfile::tempdir().unwrap();
    let url = match db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("t.db").display()),
        Db::Postgres(url) => url,
    };
    let store = tollgate_store::connect(
        &url,
        &ConnectOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
        },
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let mut sc = SpendConfig::new(dir.path().join("spool"));
    sc.flush_interval = Duration::from_millis(200);
    let writer = SpendWriter::start(store.clone(), sc).unwrap();
    let h = Harness::build(
        config,
        store,
        writer.clone(),
        Arc::new(Usage::default()),
        dir,
    )
    .await;
    let hook = Arc::downgrade(&h.gw);
    writer.set_on_written(Box::new(move |done| {
        if let Some(gw) = hook.upgrade() {
            gw.on_spend_written(done);
        }
    }));
    Spend { h, writer }
}

async fn priced_route(h: &Harness, stub: &Stub) {
    h.add(
        route("m")
            .deploy(openai(stub, "stub-model"))
            .prices(1_000_000, 2_000_000),
    )
    .await;
}

async fn team_and_user(store: &dyn Store) -> (TeamId, UserId) {
    let team = crate::harness::team(store).await;
    let user = store
        .create_user(&NewUser {
            id: UserId::new(),
            email: format!("{}@example.com", UserId::new().0.simple()),
            name: "Ana".into(),
            role: GlobalRole::User,
            password_hash: "x".into(),
            must_change_password: false,
            now: Timestamp::now(),
        })
        .await
        .unwrap();
    (team, user.id)
}

/// `n` chat requests, `concurrency` at a time; returns the status of each.
async fn burst(h: &Harness, key: &str, n: usize, concurrency: usize) -> Vec<u16> {
    futures_util::stream::iter(0..n)
        .map(|_| async { h.ask(key, "m").await.0 })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

async fn rows_equal_requests(db: Db) {
    let stub = Stub::start().await;
    let Spend { h, writer } = spend_harness(db, test_config()).await;
    priced_route(&h, &stub).await;
    let (team, user) = team_and_user(h.store.as_ref()).await;
    let key = h
        .key_with(|k| {
            k.team_id = Some(team);
            k.user_id = Some(user);
        })
        .await;
    let n = 10_000;
    let statuses = burst(&h, &key.secret, n, 32).await;
    assert!(statuses.iter().all(|s| *s == 200), "every request answered");
    writer.close().await;
    let (logs, rollup) = h.store.spend_totals().await.unwrap();
    assert_eq!(logs.requests, n as i64, "one spend log row per request");
    assert_eq!(logs.prompt_tokens, 11 * n as i64);
    assert_eq!(logs.completion_tokens, 7 * n as i64);
    assert_eq!(logs.cost, COST * n as i64);
    assert_eq!(rollup, logs, "the daily rollup equals the sum of the logs");
    let k = h.store.get_key(key.id).await.unwrap();
    assert_eq!(k.spend, Micros(COST * n as i64));
    assert!(k.last_used_at.is_some());
    assert_eq!(
        h.store.get_team(team).await.unwrap().spend,
        Micros(COST * n as i64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_10k_requests_is_10k_rows_on_sqlite() {
    rows_equal_requests(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_10k_requests_is_10k_rows_on_postgres() {
    let pg = PgDb::create();
    rows_equal_requests(Db::Postgres(pg.url.clone())).await;
}

/// A model no price table knows costs 0 and says so (`unpriced`), never a guess; a priced
/// one beside it is charged as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_model_costs_nothing_and_is_flagged_unpriced() {
    let stub = Stub::start().await;
    let Spend { h, writer } = spend_harness(Db::Sqlite, test_config()).await;
    priced_route(&h, &stub).await;
    h.add(route("local").deploy(openai(&stub, "our-own-finetune-7b")))
        .await;
    let key = h.key().await;
    assert_eq!(h.ask(&key.secret, "local").await.0, 200);
    assert_eq!(h.ask(&key.secret, "m").await.0, 200);
    writer.close().await;
    let page = h
        .store
        .list_spend_logs(&tollgate_domain::analytics::LogQuery::default())
        .await
        .unwrap();
    let by_model = |m: &str| {
        page.entries
            .iter()
            .find(|e| e.route_model == m)
            .cloned()
            .unwrap()
    };
    let local = by_model("local");
    assert_eq!(local.cost, Micros::ZERO);
    assert!(local.unpriced, "{local:?}");
    assert!(local.prompt_tokens > 0, "the tokens are still counted");
    let priced = by_model("m");
    assert_eq!(priced.cost, Micros(COST));
    assert!(!priced.unpriced);
    let m = h.metrics().await;
    assert!(
        m.contains(
            r#"tollgate_unpriced_requests_total{instance="default",pod="pod-1",route="local"} 1"#
        ),
        "{m}"
    );
    assert!(
        !m.contains(
            r#"tollgate_unpriced_requests_total{instance="default",pod="pod-1",route="m"}"#
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_refuses_at_the_boundary_with_the_openai_shape() {
    let stub = Stub::start().await;
    let Spend { h, writer } = spend_harness(Db::Sqlite, test_config()).await;
    priced_route(&h, &stub).await;
    // Exactly three requests' worth: the third brings spend to the budget, the fourth is refused.
    let exact = h.key_with(|k| k.max_budget = Some(Micros(3 * COST))).await;
    for i in 0..3 {
        assert_eq!(h.ask(&exact.secret, "m").await.0, 200, "request {i}");
    }
    let r = h.ask_raw(&exact.secret, "m").await;
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "budget_exceeded");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$0.000075"),
        "{body}"
    );
    // One micro-dollar more: the fourth fits (75 < 76), the fifth does not.
    let roomy = h
        .key_with(|k| k.max_budget = Some(Micros(3 * COST + 1)))
        .await;
    for _ in 0..4 {
        assert_eq!(h.ask(&roomy.secret, "m").await.0, 200);
    }
    assert_eq!(h.ask(&roomy.secret, "m").await.0, 400);
    // A refused request costs nothing and reaches no upstream.
    assert_eq!(stub.calls(), 7);
    writer.close().await;
    let (logs, _) = h.store.spend_totals().await.unwrap();
    assert_eq!(logs.cost, 7 * COST);
    assert!(
        h.metrics()
            .await
            .contains(r#"scope="key",kind="budget"} 2"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_budget_covers_all_its_keys_and_a_soft_budget_alerts_once() {
    let stub = Stub::start().await;
    let Spend { h, writer } = spend_harness(Db::Sqlite, test_config()).await;
    priced_route(&h, &stub).await;
    let (team, _) = team_and_user(h.store.as_ref()).await;
    h.store
        .set_limits(
            Scope::Team,
            team.0,
            &Limits {
                max_budget: Some(Micros(4 * COST)),
                budget_duration: Some("1d".into()),
                soft_budget: Some(Micros(2 * COST)),
                ..Limits::default()
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let a = h.key_with(|k| k.team_id = Some(team)).await;
    let b = h.key_with(|k| k.team_id = Some(team)).await;
    for key in [&a, &b, &a, &b] {
        assert_eq!(h.ask(&key.secret, "m").await.0, 200);
        // Let each batch commit, so the soft-budget crossing is seen by one write.
        writer.close().await;
    }
    assert_eq!(
        h.ask(&a.secret, "m").await.0,
        400,
        "the team's budget is spent"
    );
    assert_eq!(h.ask(&b.secret, "m").await.0, 400);
    // The alert is written to the audit log off the write path: wait for the first, then
    // long enough for a duplicate to show, and read again.
    let alerts = || async {
        h.store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 50,
                action_prefix: Some("budget.".into()),
                ..Default::default()
            })
            .await
            .unwrap()
    };
    for _ in 0..40 {
        if !alerts().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let audit = alerts().await;
    assert_eq!(
        audit.len(),
        1,
        "one alert when the soft budget is crossed: {audit:?}"
    );
    assert_eq!(
        audit[0].object_id.as_deref(),
        Some(team.0.to_string().as_str())
    );
    assert!(h.metrics().await.contains(
        r#"tollgate_soft_budget_alerts_total{instance="default",pod="pod-1",scope="team"} 1"#
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_per_minute_answer_429_with_retry_after_and_ratelimit_headers() {
    let stub = Stub::start().await;
    let h = Harness::start().await;
    priced_route(&h, &stub).await;
    let key = h.key_with(|k| k.rpm_limit = Some(2)).await;
    assert_eq!(h.ask(&key.secret, "m").await.0, 200);
    assert_eq!(h.ask(&key.secret, "m").await.0, 200);
    let r = h.ask_raw(&key.secret, "m").await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(r.headers()["x-ratelimit-limit-requests"], "2");
    assert_eq!(r.headers()["x-ratelimit-remaining-requests"], "0");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(stub.calls(), 2);
    let m = h.metrics().await;
    assert!(
        m.contains(r#"tollgate_limits_mode{instance="default",pod="pod-1",mode="local"} 1"#),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_and_token_limits() {
    // The upstream holds each answer long enough that all four requests of the burst arrive
    // while the first two still hold their slots, even on a loaded machine.
    let stub = Stub::with(|b| b.delay = Duration::from_secs(3)).await;
    // The held answers must not hit the upstream timeout of the test configuration (2 s).
    let mut config = test_config();
    config.default_timeout = Duration::from_secs(30);
    let h = Harness::with_config(config).await;
    priced_route(&h, &stub).await;
    let par = h.key_with(|k| k.max_parallel = Some(2)).await;
    let statuses = burst(&h, &par.secret, 4, 4).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2);
    // The slots came back.
    assert_eq!(h.ask(&par.secret, "m").await.0, 200);

    stub.set(|b| b.delay = Duration::ZERO);
    // 18 tokens a request: 0 < 20 and 18 < 20 pass, 36 >= 20 does not.
    let tpm = h.key_with(|k| k.tpm_limit = Some(20)).await;
    assert_eq!(h.ask(&tpm.secret, "m").await.0, 200);
    assert_eq!(h.ask(&tpm.secret, "m").await.0, 200);
    assert_eq!(h.ask(&tpm.secret, "m").await.0, 429);
}

fn with_redis(url: &str, policy: RedisDownPolicy) -> GatewayConfig {
    let mut c = test_config();
    c.limits = LimitsConfig {
        redis_url: Some(url.to_owned()),
        on_redis_down: policy,
        redis_timeout: Duration::from_millis(300),
        ..LimitsConfig::default()
    };
    c
}

fn test_redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_share_limits_through_redis() {
    let stub = Stub::start().await;
    let config = with_redis(&test_redis_url(), RedisDownPolicy::Local);
    let a = Harness::with_config(config.clone()).await;
    // The second gateway reads the first one's database: the same keys and routes.
    let b = Harness::build(
        config,
        a.store.clone(),
        Arc::new(Usage::default()),
        Arc::new(Usage::default()),
        tempfile::tempdir().unwrap(),
    )
    .await;
    priced_route(&a, &stub).await;
    let key = a.key_with(|k| k.rpm_limit = Some(5)).await;
    b.gw.reload().await;
    let mut ok = 0;
    for i in 0..12 {
        let h = if i % 2 == 0 { &a } else { &b };
        if h.ask(&key.secret, "m").await.0 == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 5, "the limit holds across both gateways, not 5 each");
    assert!(a.metrics().await.contains(r#"mode="redis"} 1"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_divides_limits_by_replicas_then_recovers() {
    let stub = Stub::start().await;
    let mut redis = OwnRedis::start().await;
    let h = Harness::with_config(with_redis(&redis.url(), RedisDownPolicy::Local)).await;
    priced_route(&h, &stub).await;
    assert!(h.metrics().await.contains(r#"mode="redis"} 1"#));
    // Two replicas known from heartbeats: each may use half while degraded. The heartbeats are
    // written too, dated ahead, so the gateway's own replica count refresh (from the heartbeat
    // table) agrees with the figure set here whenever it runs.
    let ahead = tollgate_domain::Timestamp::now().plus_millis(600_000);
    for pod in ["pod-a", "pod-b"] {
        h.store
            .upsert_gateway_node(&tollgate_store::GatewayNode {
                instance: "default".to_owned(),
                pod: pod.to_owned(),
                version: "test".to_owned(),
                config_revision: 0,
                started_at: ahead,
                last_seen: ahead,
                in_flight: 0,
            })
            .await
            .unwrap();
    }
    h.gw.limiter.set_replicas(2);
    let key = h.key_with(|k| k.rpm_limit = Some(10)).await;
    redis.stop();
    let statuses = burst(&h, &key.secret, 12, 1).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "limit / replicas, never the full limit per replica: {statuses:?}"
    );
    let m = h.metrics().await;
    assert!(m.contains(r#"mode="degraded_local"} 1"#), "{m}");
    redis.restart().await;
    assert!(
        eventually(Duration::from_secs(5), || h.gw.limiter.mode()
            == tollgate_gateway::limits::Mode::Redis)
        .await,
        "back to shared counters once Redis answers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_with_policy_deny_refuses_limited_keys_only() {
    let stub = Stub::start().await;
    let dead = crate::harness::closed_port_base().await;
    let port = dead.rsplit(':').next().unwrap().trim_end_matches("/v1");
    let h = Harness::with_config(with_redis(
        &format!("redis://127.0.0.1:{port}"),
        RedisDownPolicy::Deny,
    ))
    .await;
    priced_route(&h, &stub).await;
    let limited = h.key_with(|k| k.rpm_limit = Some(100)).await;
    let free = h.key().await;
    let r = h.ask_raw(&limited.secret, "m").await;
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "limits_unavailable");
    assert_eq!(
        h.ask(&free.secret, "m").await.0,
        200,
        "no limits, nothing to check"
    );
    assert!(h.metrics().await.contains(r#"mode="deny"} 1"#));
}

/// Postgres cut off for 30 s under load: known keys keep working, an unknown key is told the
/// database is unreachable (503, not 401), spend goes to the spool, and after recovery the
/// spend log holds exactly one row per request served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30s_database_outage_fails_no_request_and_loses_no_spend() {
    let stub = Stub::start().await;
    let pg = PgDb::create();
    let proxy = Proxy::start(pg.addr()).await;
    let Spend { h, writer } =
        spend_harness(Db::Postgres(pg.url_via(proxy.port)), test_config()).await;
    priced_route(&h, &stub).await;
    let key = h.key().await;
    let (status, _) = h.ask(&key.secret, "m").await;
    assert_eq!(status, 200);

    let load = {
        let h_base = h.base.clone();
        let secret = key.secret.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut statuses = Vec::new();
            let end = Instant::now() + Duration::from_secs(40);
            while Instant::now() < end {
                let r = http
                    .post(format!("{h_base}/v1/chat/completions"))
                    .bearer_auth(&secret)
                    .json(&hi("m"))
                    .send()
                    .await
                    .unwrap();
                statuses.push(r.status().as_u16());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            statuses
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.cut();
    assert!(
        eventually(Duration::from_secs(5), || !h.gw.database_ok()).await,
        "the gateway notices the outage"
    );
    let unknown = h
        .chat(
            "sk-tg-not-a-key-the-cache-knows",
            &json!({"model": "m", "messages": []}),
        )
        .await;
    assert_eq!(
        unknown.status(),
        503,
        "unknown key during an outage: 503, not 401"
    );
    assert!(
        eventually(Duration::from_secs(5), || writer.status().spool_bytes > 0).await,
        "spend goes to the spool"
    );
    tokio::time::sleep(Duration::from_secs(27)).await;
    proxy.restore();
    let statuses = load.await.unwrap();
    let served = statuses.iter().filter(|s| **s == 200).count() as i64;
    assert_eq!(
        served as usize,
        statuses.len(),
        "no failed request for a known key: {:?}",
        statuses.iter().filter(|s| **s != 200).collect::<Vec<_>>()
    );
    assert!(served > 100, "the load ran through the outage ({served})");
    // Replayed from the spool: rows == requests served (plus the first one).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (logs, rollup) = h.store.spend_totals().await.unwrap_or_default();
        if logs.requests == served + 1 && writer.status().spool_bytes == 0 {
            assert_eq!(rollup, logs);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "spend logs {} != requests {} (spool {} bytes)",
            logs.requests,
            served + 1,
            writer.status().spool_bytes
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(h.gw.database_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_at_its_rate_cap_is_skipped_and_a_route_all_capped_answers_429() {
    let first = Stub::start().await;
    let second = Stub::start().await;
    let h = Harness::start().await;
    h.add(
        route("m")
            .deploy(openai(&first, "stub-model"))
            .cap(Some(2), None)
            .deploy(openai(&second, "stub-model"))
            .cap(Some(1), None),
    )
    .await;
    let key = h.key().await;
    // Whichever is picked first, the caps admit two on the first and one on the second.
    let statuses: Vec<u16> = {
        let mut s = Vec::new();
        for _ in 0..4 {
            s.push(h.ask(&key.secret, "m").await.0);
        }
        s
    };
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!((first.calls(), second.calls()), (2, 1));
    let r = h.ask_raw(&key.secret, "m").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rate cap"),
        "{body}"
    );
}
