//! The spend writer's sustained rate: pushes usage records at a fixed rate into a `SpendWriter`
//! over a real database for a while, then reports rows written, the flush lag (age of the
//! oldest event of each committed batch) and the rate. Used by `bench/spend.sh`.
//!
//!   cargo run --release -p tollgate-gateway --example spend_writer_bench -- URL RATE SECONDS
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tollgate_domain::{KeyId, Micros, TeamId, Timestamp, UserId};
use tollgate_gateway::spend::{SpendConfig, SpendWriter};
use tollgate_store::{ConnectOptions, SpendRecord};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("database URL");
    let rate: u64 = args.get(2).map_or(10_000, |r| r.parse().unwrap());
    let secs: u64 = args.get(3).map_or(20, |s| s.parse().unwrap());
    let store = tollgate_store::connect(url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let (before, _) = store.spend_totals().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let writer =
        SpendWriter::start(store.clone(), SpendConfig::new(dir.path().join("spool"))).unwrap();
    // 1000 keys in 50 teams, 30 models, 5 instances: realistic rollup fan-out.
    let keys: Vec<KeyId> = (0..1000).map(|_| KeyId::new()).collect();
    let teams: Vec<TeamId> = (0..50).map(|_| TeamId::new()).collect();
    let users: Vec<UserId> = (0..200).map(|_| UserId::new()).collect();
    let start = Instant::now();
    let tick = Duration::from_millis(10);
    let per_tick = rate / 100;
    let mut sent: u64 = 0;
    let mut lags = Vec::new();
    let mut next = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..per_tick {
            let i = sent as usize;
            writer.push(SpendRecord {
                key_id: Some(keys[i % keys.len()]),
                team_id: Some(teams[i % teams.len()]),
                user_id: Some(users[i % users.len()]),
                upstream_model: Some("gpt-4o".to_owned()),
                provider: Some("openai".to_owned()),
                prompt_tokens: 100,
                completion_tokens: 20,
                cost: Micros(450),
                latency_ms: Some(120),
                ..SpendRecord::new(
                    uuid::Uuid::now_v7().to_string(),
                    Timestamp::now(),
                    format!("inst-{}", i % 5),
                    "bench-pod",
                    format!("model-{}", i % 30),
                )
            });
            sent += 1;
        }
        next += tick;
        if start.elapsed().as_secs() >= 2 {
            lags.push(writer.stats.last_flush_lag_ms.load(Ordering::Relaxed));
        }
        tokio::time::sleep_until(next.into()).await;
    }
    let pushed_for = start.elapsed();
    writer.close().await;
    let drained = start.elapsed();
    let (after, _) = store.spend_totals().await.unwrap();
    lags.sort_unstable();
    let pct = |p: f64| {
        lags.get(((lags.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    println!("backend={}", store.backend().as_str());
    println!("target_rate={rate}/s seconds={secs}");
    println!("events_pushed={sent}");
    println!("rows_written={}", after.requests - before.requests);
    println!(
        "achieved_rate={:.0}/s (pushed over {:.1} s, drained by {:.1} s)",
        sent as f64 / pushed_for.as_secs_f64(),
        pushed_for.as_secs_f64(),
        drained.as_secs_f64()
    );
    println!(
        "flush_lag_ms p50={} p95={} max={}",
        pct(0.5),
        pct(0.95),
        lags.last().copied().unwrap_or(0)
    );
    println!(
        "spooled={} dropped={}",
        writer.stats.spooled.load(Ordering::Relaxed),
        writer.stats.dropped.load(Ordering::Relaxed)
    );
}
