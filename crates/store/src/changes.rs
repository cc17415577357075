//! The change feed: how a new configuration revision reaches whoever subscribed.
//!
//! Postgres: `bump_config_revision` calls `pg_notify` in its own statement, so every process on
//! the database hears of it; one task per store listens and forwards into a broadcast channel.
//! SQLite serves one process: the store publishes on an in-process channel after the bump.

use crate::error::{Error, Result};
use sqlx::postgres::{PgListener, PgPool};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{OnceCell, broadcast};
use tokio::task::JoinHandle;

/// The Postgres channel name, for `concat!` into the bump statement.
macro_rules! channel {
    () => {
        "tollgate_changes"
    };
}
pub(crate) use channel;

/// Revisions a receiver may fall behind by before it sees `Lagged`.
const CAPACITY: usize = 64;
/// The first wait before listening again after an error; doubled each failure up to the most.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A connection that lasted this long was healthy: the next failure starts from `MIN_BACKOFF`.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);

/// The in-process feed of a SQLite store.
pub(crate) struct LocalChanges {
    /// `None` once the store is closed, so receivers see `Closed`.
    tx: Mutex<Option<broadcast::Sender<i64>>>,
}

impl LocalChanges {
    pub(crate) fn new() -> LocalChanges {
        LocalChanges {
            tx: Mutex::new(Some(broadcast::channel(CAPACITY).0)),
        }
    }

    fn sender(&self) -> Option<broadcast::Sender<i64>> {
        // A panic while holding the lock cannot leave the `Option` half-written.
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) async fn subscribe(&self) -> Result<broadcast::Receiver<i64>> {
        self.sender().map(|tx| tx.subscribe()).ok_or_else(closed)
    }

    pub(crate) fn published(&self, revision: i64) {
        if let Some(tx) = self.sender() {
            // An error only means nobody is subscribed.
            let _ = tx.send(revision);
        }
    }

    pub(crate) async fn close(&self) {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// The feed of a Postgres store: started by the first `subscribe`.
pub(crate) struct PgChanges {
    /// The store's pool, to read the current revision after a reconnection.
    pool: PgPool,
    /// One connection, held by the listener (a pool so sqlx can reconnect it).
    listen_pool: PgPool,
    feed: OnceCell<Feed>,
}

struct Feed {
    /// Weak: the task holds the only strong sender, so receivers see `Closed` when it ends.
    tx: broadcast::WeakSender<i64>,
    task: JoinHandle<()>,
}

impl Drop for PgChanges {
    fn drop(&mut self) {
        if let Some(feed) = self.feed.get() {
            feed.task.abort();
        }
    }
}

impl PgChanges {
    pub(crate) fn new(pool: PgPool, listen_pool: PgPool) -> PgChanges {
        PgChanges {
            pool,
            listen_pool,
            feed: OnceCell::new(),
        }
    }

    pub(crate) async fn subscribe(&self) -> Result<broadcast::Receiver<i64>> {
        let feed = self
            .feed
            .get_or_try_init(|| async {
                // Listening before returning: a bump after `subscribe` returns is heard.
                let listener = listen(&self.listen_pool).await?;
                let (tx, _) = broadcast::channel(CAPACITY);
                let weak = tx.downgrade();
                let task = tokio::spawn(forward(
                    listener,
                    self.listen_pool.clone(),
                    self.pool.clone(),
                    tx,
                ));
                Ok::<_, Error>(Feed { tx: weak, task })
            })
            .await?;
        feed.tx
            .upgrade()
            .map(|tx| tx.subscribe())
            .ok_or_else(closed)
    }

    /// Nothing to do: the bump statement notified.
    pub(crate) fn published(&self, _revision: i64) {}

    pub(crate) async fn close(&self) {
        if let Some(feed) = self.feed.get() {
            // First, so the listener's connection goes back and the pool can close.
            feed.task.abort();
        }
        self.listen_pool.close().await;
    }
}

fn closed() -> Error {
    Error::Unavailable("the change feed is closed".to_owned())
}

async fn listen(pool: &PgPool) -> Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.map_err(Error::db)?;
    listener.listen(channel!()).await.map_err(Error::db)?;
    Ok(listener)
}

/// Forwards notifications until the listening pool is closed.
///
/// sqlx's `PgListener` reconnects by itself only when the socket reports certain I/O errors; any
/// other error (the server ending the session, a failed reconnection) comes back from
/// `try_recv`, so this drops that listener and listens anew, with backoff. Notifications sent
/// while no connection listened are lost: after each reconnection the current revision is sent,
/// so subscribers compare and reload.
async fn forward(
    mut listener: PgListener,
    listen_pool: PgPool,
    pool: PgPool,
    tx: broadcast::Sender<i64>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut connected_at = Instant::now();
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match notification.payload().parse::<i64>() {
                // An error only means nobody is subscribed right now.
                Ok(revision) => drop(tx.send(revision)),
                Err(_) => tracing::warn!(
                    channel = channel!(),
                    "ignored a notification that is not a revision"
                ),
            },
            Ok(None) => {
                tracing::info!("the change feed reconnected to Postgres");
                connected_at = Instant::now();
                catch_up(&pool, &tx).await;
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "the change feed lost Postgres; listening again");
                drop(listener);
                if connected_at.elapsed() >= HEALTHY_AFTER {
                    backoff = MIN_BACKOFF;
                }
                listener = loop {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    if listen_pool.is_closed() {
                        return;
                    }
                    match listen(&listen_pool).await {
                        Ok(l) => break l,
                        Err(e) => tracing::warn!(
                            error = ?e,
                            retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                            "the change feed cannot listen yet"
                        ),
                    }
                };
                tracing::info!("the change feed listens again");
                connected_at = Instant::now();
                catch_up(&pool, &tx).await;
            }
        }
    }
}

/// Sends the current revision: whatever was notified while nobody listened is covered by it.
async fn catch_up(pool: &PgPool, tx: &broadcast::Sender<i64>) {
    let revision =
        sqlx::query_scalar::<_, i64>("SELECT revision FROM config_revision WHERE id = 1")
            .fetch_one(pool)
            .await;
    match revision {
        Ok(revision) => drop(tx.send(revision)),
        Err(e) => tracing::warn!(error = %e, "the change feed cannot read the revision"),
    }
}
