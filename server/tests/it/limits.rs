//! Budgets, rate limits and the spend pipeline across real processes: two gateway processes
//! sharing one Postgres and one Redis, a SIGTERM in the middle of a stream, and the traffic
//! evidence the instances report reads from the spend log.

use super::harness::{
    COMPLETION_TOKENS, Db, MASTER, PROMPT_TOKENS, Server, ask, create_key, free_port,
    migrated_postgres, redis_url, serve_with_stub, stub_upstream, wait_for_key, wait_until,
    write_config,
};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tollgate_domain::pricing::{PriceTable, cost};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateway_processes_share_one_rpm_limit_and_one_budget() {
    let api = stub_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &api, "gpt-4o");
    let db = migrated_postgres();
    let redis = redis_url();
    let env = [("TOLLGATE_REDIS_URL", redis.as_str())];
    let a = Server::spawn("gateway", Db::Url(db.clone()), &env, Some(dir.path()))
        .ready()
        .await;
    let b = Server::spawn("gateway", Db::Url(db.clone()), &env, Some(dir.path()))
        .ready()
        .await;
    let rpm_key = create_key(&db, &["--rpm", "60"]);
    let budget_key = create_key(&db, &["--max-budget", "1"]);
    for base in [&a.base, &b.base] {
        wait_for_key(base, &rpm_key).await;
        wait_for_key(base, &budget_key).await;
    }

    // RPM 60 across both processes: 150 requests in a few seconds, 8 at a time, alternating.
    // The window is sliding in whole seconds and shared in Redis: exactly 60 pass within the
    // minute (tolerance zero while the burst lasts under a minute; see limits/mod.rs).
    let bases = [a.base.clone(), b.base.clone()];
    let burst_started = std::time::Instant::now();
    let statuses: Vec<u16> = futures_util::stream::iter(0..150)
        .map(|i| {
            let base = bases[i % 2].clone();
            let key = rpm_key.clone();
            async move { ask(&base, &key, "ping").await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    // Exactly 60 means something only if the whole burst fell inside one minute.
    assert!(
        burst_started.elapsed() < Duration::from_secs(50),
        "the burst took {:?}",
        burst_started.elapsed()
    );
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, 60, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429));

    // A $1 budget hammered by 64 parallel clients on both processes. Each answer costs C; each
    // reservation (max_tokens at the output price) is at least C, so once spend plus
    // reservations reach $1 nothing more is admitted: exactly ceil($1 / C) requests pass, and
    // the overshoot is less than one request's cost.
    let c = {
        let (price, _) = PriceTable::builtin().lookup("gpt-4o").unwrap();
        cost(&price, PROMPT_TOKENS, COMPLETION_TOKENS, 0).0
    };
    let expected = (1_000_000 + c - 1) / c;
    let admitted = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..64)
        .map(|i| {
            let base = bases[i % 2].clone();
            let key = budget_key.clone();
            let admitted = admitted.clone();
            tokio::spawn(async move {
                loop {
                    match ask(&base, &key, "ping").await {
                        200 => {
                            admitted.fetch_add(1, Ordering::SeqCst);
                        }
                        400 => return,
                        other => panic!("unexpected status {other}"),
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    let admitted = admitted.load(Ordering::SeqCst) as i64;
    assert_eq!(admitted, expected, "C = {c} micro-dollars");
    // Both processes' spend reached the database.
    let store = tollgate_store::connect(&db, &tollgate_store::ConnectOptions::default())
        .await
        .unwrap();
    let mut spend = 0;
    for _ in 0..50 {
        let keys = store
            .find_keys(&tollgate_store::KeyQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        spend = keys
            .iter()
            .find(|k| k.max_budget.is_some())
            .map_or(0, |k| k.spend.0);
        if spend == admitted * c {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(spend, admitted * c);
    assert!(spend - 1_000_000 < c, "overshoot below one request's cost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_lets_the_stream_finish_and_records_its_spend() {
    let api = stub_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &api, "gpt-4o");
    let mut server = Server::spawn("serve", Db::Sqlite, &[], Some(dir.path()))
        .ready()
        .await;
    let db_url = server.sqlite_url();
    let key = create_key(&db_url, &[]);
    wait_for_key(&server.base, &key).await;

    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.base))
        .bearer_auth(&key)
        .json(&json!({"model": "ping", "stream": true, "messages": [{"role": "user", "content": "count"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("piece0"));
    server.terminate();
    let mut text = String::from_utf8_lossy(&first).into_owned();
    while let Some(chunk) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    for i in 0..10 {
        assert!(
            text.contains(&format!("piece{i}")),
            "piece{i} missing: {text}"
        );
    }
    assert!(text.contains("[DONE]"));
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("the server exits after the stream");
    assert!(status.success(), "{status:?}\n{}", server.log());
    // New connections were refused meanwhile; the stream's spend was flushed before the exit.
    let store = tollgate_store::connect(&db_url, &tollgate_store::ConnectOptions::default())
        .await
        .unwrap();
    let (logs, rollup) = store.spend_totals().await.unwrap();
    assert_eq!(
        logs.requests - logs.errors,
        1,
        "the stream is in the spend log"
    );
    assert_eq!(rollup, logs);
    assert_eq!(logs.completion_tokens, 10);
}

/// A stream still running when the shutdown grace runs out is cut, and its spend (the tokens
/// relayed so far) is spooled at the exit for the next start to replay, not lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_when_the_grace_runs_out_is_spooled_at_exit() {
    let api = stub_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &api, "gpt-4o");
    let mut server = Server::spawn(
        "serve",
        Db::Sqlite,
        &[("TOLLGATE_SPEND__SHUTDOWN_GRACE_SECS", "0")],
        Some(dir.path()),
    )
    .ready()
    .await;
    let key = create_key(&server.sqlite_url(), &[]);
    wait_for_key(&server.base, &key).await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", server.base))
        .bearer_auth(&key)
        .json(&json!({"model": "ping", "stream": true, "messages": [{"role": "user", "content": "count"}]}))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("piece0"));
    server.terminate();
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("the server exits once the grace is over");
    assert!(status.success(), "{status:?}\n{}", server.log());
    // The stream never finished: 10 pieces 150 ms apart, cut after the first.
    let mut text = String::new();
    while let Some(Ok(chunk)) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!text.contains("[DONE]"), "{text}");
    let spool = server.data_dir().join("spool");
    let mut records = Vec::new();
    for entry in std::fs::read_dir(&spool).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "jsonl") {
            let text = std::fs::read_to_string(&path).unwrap();
            records.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap())
                    .filter(|r| r["route_model"] == "ping"),
            );
        }
    }
    assert_eq!(records.len(), 1, "{records:?}\n{}", server.log());
    assert!(
        records[0]["completion_tokens"].as_i64().unwrap() >= 1,
        "charged for what was relayed: {}",
        records[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_page_shows_the_last_hours_requests_and_spend_per_pod() {
    let served = serve_with_stub(&[("POD_NAME", "pod-under-test")]).await;
    let (server, store) = (&served.server, &served.store);
    let key = create_key(&server.sqlite_url(), &[]);
    wait_for_key(&server.base, &key).await;
    for _ in 0..3 {
        assert_eq!(ask(&server.base, &key, "ping").await, 200);
    }
    let c = {
        let (price, _) = PriceTable::builtin().lookup("gpt-4o").unwrap();
        cost(&price, PROMPT_TOKENS, COMPLETION_TOKENS, 0).0
    };
    // The page's figures come from the spend log, read once a minute at most: wait until the
    // writer (flushing every 200 ms here) has written all three, then load the page once.
    wait_until("the spend of 3 requests reached the log", || async {
        store.spend_totals().await.unwrap().0.cost >= 3 * c
    })
    .await;
    let detail: Value = reqwest::Client::new()
        .post(format!("{}/rpc/get_instance", server.base))
        .bearer_auth(MASTER)
        .form(&[("name", "default")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let traffic = detail["traffic"].as_array().unwrap();
    assert_eq!(traffic.len(), 1, "{detail:#}");
    assert_eq!(traffic[0]["pod"], "pod-under-test");
    // The 404s of `wait_for_key` are logged too (at no cost).
    assert!(traffic[0]["requests"].as_i64().unwrap() >= 3);
    assert_eq!(traffic[0]["spend"].as_i64().unwrap(), 3 * c, "{detail:#}");
}

/// Issue 7's traffic evidence end to end: instance beta answers 404 for a model only instance
/// alpha routes (what happens when alpha's Service reaches beta's pods); the spend log records
/// it, and the instances report calls it cross-instance traffic, naming both instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instances_model_refused_here_is_reported_as_cross_instance_traffic() {
    let api = stub_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &api, "gpt-4o");
    let path = dir.path().join("tollgate.toml");
    let toml = std::fs::read_to_string(&path).unwrap().replace(
        "model_name = \"ping\"\n",
        "model_name = \"ping\"\ninstance = \"alpha\"\n",
    );
    std::fs::write(&path, toml).unwrap();
    let db = migrated_postgres();
    let alpha = Server::spawn(
        "serve",
        Db::Url(db.clone()),
        &[
            ("TOLLGATE_MASTER_KEY", MASTER),
            ("KUBECONFIG", "/nonexistent/kubeconfig"),
            ("TOLLGATE_INSTANCE", "alpha"),
            ("POD_NAME", "alpha-pod"),
        ],
        Some(dir.path()),
    )
    .ready()
    .await;
    let beta = Server::spawn(
        "gateway",
        Db::Url(db.clone()),
        &[("TOLLGATE_INSTANCE", "beta"), ("POD_NAME", "beta-pod")],
        Some(dir.path()),
    )
    .ready()
    .await;
    let key = create_key(&db, &[]);
    wait_for_key(&alpha.base, &key).await;
    wait_for_key(&beta.base, &key).await;
    for _ in 0..3 {
        assert_eq!(ask(&alpha.base, &key, "ping").await, 200);
    }
    for _ in 0..2 {
        assert_eq!(ask(&beta.base, &key, "ping").await, 404);
    }
    // The report reads the log at most once a minute: wait until all five are written first.
    let store = tollgate_store::connect(&db, &tollgate_store::ConnectOptions::default())
        .await
        .unwrap();
    let pings = tollgate_domain::analytics::LogQuery {
        model: Some("ping".to_owned()),
        ..Default::default()
    };
    wait_until("the five requests reached the log", || async {
        store.list_spend_logs(&pings).await.unwrap().entries.len() >= 5
    })
    .await;
    let report: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/instances", alpha.base))
        .bearer_auth(MASTER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let found: Vec<&Value> = report["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "cross-instance-traffic")
        .collect();
    assert_eq!(found.len(), 1, "{report:#}");
    let d = found[0];
    assert_eq!(d["severity"], "critical");
    assert_eq!(
        d["title"],
        "2 requests for ping, which instance alpha serves, reached pods of instance beta in the last hour"
    );
    assert_eq!(d["instances"], json!(["alpha", "beta"]));
    assert!(
        d["evidence"][0]
            .as_str()
            .unwrap()
            .starts_with("beta-pod (instance beta) refused 2 requests for ping"),
        "{d:#}"
    );
}

/// Redis configured but unreachable: the gateway stays ready (200) and says it is degraded, with
/// the policy in force, so an operator sees it without taking the replicas out of the Service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_readiness_is_degraded_and_names_the_policy() {
    let dead = format!("redis://127.0.0.1:{}", free_port());
    for (policy, mode) in [("local", "degraded_local"), ("deny", "deny")] {
        let server = Server::spawn(
            "gateway",
            Db::Sqlite,
            &[
                ("TOLLGATE_REDIS_URL", dead.as_str()),
                ("TOLLGATE_LIMITS__ON_REDIS_DOWN", policy),
                ("TOLLGATE_LIMITS__REDIS_TIMEOUT_MS", "200"),
            ],
            None,
        )
        .ready()
        .await;
        // The limiter's probe notices within about a second.
        let readiness = || async {
            let resp = reqwest::get(format!("{}/health/readiness", server.base))
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "a degraded gateway stays ready");
            resp.json::<Value>().await.unwrap()
        };
        wait_until("readiness to show the Redis outage", || async {
            readiness().await["checks"]["limits"]["mode"] == mode
        })
        .await;
        // Redis stays down, so the state holds.
        let last = readiness().await;
        assert_eq!(last["checks"]["limits"]["mode"], mode, "{last:#}");
        assert_eq!(last["status"], "degraded", "{last:#}");
        assert_eq!(last["checks"]["limits"]["ok"], false);
        assert!(
            last["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "Redis unreachable: limits degraded"),
            "{last:#}"
        );
    }
}
