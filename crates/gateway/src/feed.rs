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
                Ok(r) => Some(r),
                Err(e) => {
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
