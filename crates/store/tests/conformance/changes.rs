//! The change feed: a bump reaches subscribers, in this process and (Postgres) in others.

use crate::harness::{TestDb, admin_url, both, options};
use sqlx::{Connection, Executor, PgConnection};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::timeout;
use tollgate_store::{Error, Store};

const WITHIN: Duration = Duration::from_secs(1);

async fn next(rx: &mut Receiver<i64>) -> i64 {
    timeout(WITHIN, rx.recv())
        .await
        .expect("no revision within 1 s")
        .unwrap()
}

async fn subscribers_hear_each_bump(store: Arc<dyn Store>) {
    let mut first = store.subscribe_changes().await.unwrap();
    let mut second = store.subscribe_changes().await.unwrap();
    assert_eq!(store.bump_config_revision().await.unwrap(), 1);
    assert_eq!(store.bump_config_revision().await.unwrap(), 2);
    assert_eq!((next(&mut first).await, next(&mut first).await), (1, 2));
    assert_eq!((next(&mut second).await, next(&mut second).await), (1, 2));

    // A late subscriber hears only what comes after it.
    let mut late = store.subscribe_changes().await.unwrap();
    assert_eq!(store.bump_config_revision().await.unwrap(), 3);
    assert_eq!(next(&mut late).await, 3);
    assert_eq!(next(&mut first).await, 3);
}

async fn close_ends_the_feed(store: Arc<dyn Store>) {
    let mut rx = store.subscribe_changes().await.unwrap();
    store.close().await;
    let ended = timeout(WITHIN, rx.recv())
        .await
        .expect("the feed did not end");
    assert_eq!(ended, Err(RecvError::Closed));
    assert!(matches!(
        store.subscribe_changes().await,
        Err(Error::Unavailable(_))
    ));
}

both!(subscribers_hear_each_bump, close_ends_the_feed);

/// Two processes on one database, as two gateway pods are: each hears the other's bumps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notifies_other_stores_on_the_database() {
    let db = TestDb::postgres(true).await;
    let other = tollgate_store::connect(&db.url, &options()).await.unwrap();
    let mut here = db.store.subscribe_changes().await.unwrap();
    let mut there = other.subscribe_changes().await.unwrap();

    assert_eq!(other.bump_config_revision().await.unwrap(), 1);
    assert_eq!(next(&mut here).await, 1);
    assert_eq!(next(&mut there).await, 1);
    assert_eq!(db.store.bump_config_revision().await.unwrap(), 2);
    assert_eq!(next(&mut there).await, 2);
    assert_eq!(next(&mut here).await, 2);
    other.close().await;
}

/// A bump rolled back is never announced: the notification belongs to the bump's transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notifies_only_committed_bumps() {
    let db = TestDb::postgres(true).await;
    let mut rx = db.store.subscribe_changes().await.unwrap();
    let mut conn = PgConnection::connect(&db.url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    tx.execute("SELECT pg_notify('tollgate_changes', '99')")
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(db.store.bump_config_revision().await.unwrap(), 1);
    assert_eq!(next(&mut rx).await, 1);
}

/// The server ends the listening session (a failover, an idle reaper): the feed listens again
/// and sends the current revision, which covers what was announced while nobody listened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_feed_survives_a_dropped_connection() {
    let db = TestDb::postgres(true).await;
    let mut rx = db.store.subscribe_changes().await.unwrap();
    let mut admin = PgConnection::connect(&db.url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(ended, [true], "one listening session");

    // Sent while the feed may not be listening yet: lost as a notification, but the feed reads
    // the revision once it listens again (and may send an older one first, read before this).
    assert_eq!(db.store.bump_config_revision().await.unwrap(), 1);
    reaches(&mut rx, 1, Duration::from_secs(5)).await;

    // And notifications flow again.
    assert_eq!(db.store.bump_config_revision().await.unwrap(), 2);
    reaches(&mut rx, 2, WITHIN).await;
}

/// Receives until `revision` comes, within `limit`; what comes before it may repeat or be older,
/// never newer.
async fn reaches(rx: &mut Receiver<i64>, revision: i64, limit: Duration) {
    let waited = timeout(limit, async {
        loop {
            let seen = rx.recv().await.unwrap();
            assert!(seen <= revision, "{seen} before {revision}");
            if seen == revision {
                return;
            }
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "revision {revision} did not come within {limit:?}"
    );
}

/// The feed cannot reconnect at once (the database refuses connections for a while): it keeps
/// trying, with backoff, and catches up once it listens again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_feed_retries_until_it_can_listen() {
    let db = TestDb::postgres(true).await;
    let mut rx = db.store.subscribe_changes().await.unwrap();
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    let allow = |yes: bool| {
        sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {yes}"
        ))
    };
    admin.execute(allow(false)).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND query LIKE 'LISTEN%'",
    )
    .bind(&name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(ended, [true], "one listening session");
    // Long enough for the first reconnection and a retry or two to be refused.
    tokio::time::sleep(Duration::from_millis(700)).await;
    admin.execute(allow(true)).await.unwrap();

    assert_eq!(db.store.bump_config_revision().await.unwrap(), 1);
    reaches(&mut rx, 1, Duration::from_secs(5)).await;
    assert_eq!(db.store.bump_config_revision().await.unwrap(), 2);
    reaches(&mut rx, 2, WITHIN).await;
}
