//! Keeps the snapshot current: reloads when the change feed announces a newer configuration
//! revision (Postgres LISTEN/NOTIFY, or in process on SQLite), and polls the revision every few
//! seconds as a safety net for a missed notification or a change made by another process on SQLite.

use crate::Gateway;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

pub async fn run(gw: Arc<Gateway>) {
    let mut changes = match gw.store.subscribe_changes().await {
        Ok(rx) => Some(rx),
        Err(e) => {
            tracing::warn!(error = %e, "change feed unavailable; polling only");
            None
        }
    };
    let mut poll = tokio::time::interval(gw.config.poll_interval);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let announced = tokio::select! {
            msg = recv(&mut changes) => msg,
            _ = poll.tick() => match gw.store.config_revision().await {
                Ok(r) => {
                    gw.set_database_ok(true);
                    Some(r)
                }
                Err(e) => {
                    gw.set_database_ok(false);
                    tracing::debug!(error = %e, "revision poll failed");
                    None
                }
            },
        };
        if announced.is_some_and(|r| r != gw.applied_revision()) {
            gw.reload().await;
        }
    }
}

/// The next announced revision. A lagged feed answers `-2`, a revision no snapshot has, so the
/// caller reloads; a closed feed answers `None` once and then waits forever (the poll remains).
async fn recv(changes: &mut Option<tokio::sync::broadcast::Receiver<i64>>) -> Option<i64> {
    match changes {
        Some(rx) => match rx.recv().await {
            Ok(r) => Some(r),
            Err(RecvError::Lagged(_)) => Some(-2),
            Err(RecvError::Closed) => {
                *changes = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

/// Budget windows older than this are never checked again: not re-read.
const WINDOW_HORIZON_MS: i64 = 400 * tollgate_domain::time::MS_PER_DAY;
/// Counters written by another replica with a clock this far behind are still picked up.
const CLOCK_SLACK_MS: i64 = 10_000;
/// A heartbeat older than this no longer counts as a live replica.
const REPLICA_STALE_MS: i64 = 30_000;

/// Re-reads budget-window spend changed since the last look (every replica's writes), and
/// every tenth time the number of live gateway replicas (for degraded limits).
pub async fn refresh_spend(gw: std::sync::Weak<Gateway>) {
    let mut watermark = tollgate_domain::Timestamp(0);
    let mut round: u64 = 0;
    let interval = match gw.upgrade() {
        Some(g) => g.config.spend_refresh_interval,
        None => return,
    };
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(gw) = gw.upgrade() else { return };
        let now = tollgate_domain::Timestamp::now();
        match gw
            .store
            .list_spend_windows(
                tollgate_domain::Timestamp(watermark.0 - CLOCK_SLACK_MS),
                tollgate_domain::Timestamp(now.0 - WINDOW_HORIZON_MS),
            )
            .await
        {
            Ok(rows) => {
                gw.set_database_ok(true);
                if let Some(newest) = rows.iter().map(|r| r.updated_at).max() {
                    watermark = watermark.max(newest);
                }
                gw.merge_spend_view(&rows);
            }
            Err(e) => {
                gw.set_database_ok(false);
                tracing::debug!(error = %e, "spend refresh failed");
            }
        }
        if round.is_multiple_of(10)
            && let Ok(nodes) = gw.store.list_gateway_nodes().await
        {
            let live = nodes
                .iter()
                .filter(|n| now.0 - n.last_seen.0 <= REPLICA_STALE_MS)
                .count();
            gw.limiter
                .set_replicas(u32::try_from(live).unwrap_or(u32::MAX));
        }
        round += 1;
    }
}
