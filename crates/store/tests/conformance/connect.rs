//! Connecting, migrating, readiness, and what errors show.

use crate::harness::{TestDb, admin_url, assert_safe, both, options, user};
use sqlx::{Connection, Executor, PgConnection};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tollgate_store::{Backend, ConnectOptions, Error, Store};

async fn migrate_twice_is_a_noop(store: Arc<dyn Store>) {
    let before = store.readiness().await.unwrap();
    assert!(before.reachable);
    assert_eq!(before.backend, store.backend());
    assert_eq!(before.migrations_applied, 0);
    assert!(before.migrations_expected >= 1);
    assert!(!before.is_ready());

    store.migrate().await.unwrap();
    let after = store.readiness().await.unwrap();
    assert_eq!(after.migrations_applied, after.migrations_expected);
    assert!(after.is_ready());
    let ana = user(store.as_ref(), "ana@example.com").await;
    store.bump_config_revision().await.unwrap();

    store.migrate().await.unwrap();
    assert_eq!(store.readiness().await.unwrap(), after);
    assert_eq!(store.get_user(ana.id).await.unwrap(), ana);
    assert_eq!(store.config_revision().await.unwrap(), 1);
}

both!(unmigrated: migrate_twice_is_a_noop);

#[tokio::test]
async fn backends_are_chosen_by_scheme() {
    let sqlite = TestDb::sqlite(false).await;
    assert_eq!(sqlite.store.backend(), Backend::Sqlite);
    assert_eq!(sqlite.store.backend().as_str(), "sqlite");
    let postgres = TestDb::postgres(false).await;
    assert_eq!(postgres.store.backend(), Backend::Postgres);
    assert_eq!(postgres.store.backend().as_str(), "postgres");
    let postgresql = postgres.url.replacen("postgres:", "postgresql:", 1);
    let again = tollgate_store::connect(&postgresql, &options())
        .await
        .unwrap();
    assert_eq!(again.backend(), Backend::Postgres);
    again.close().await;
}

#[tokio::test]
async fn unknown_schemes_are_refused_without_echoing_the_url() {
    for url in [
        "mysql://root:s3cret@db/tollgate",
        "tollgate.db",
        "",
        "http://s3cret@x",
    ] {
        let err = match tollgate_store::connect(url, &options()).await {
            Ok(_) => panic!("{url:?} was accepted"),
            Err(e) => e,
        };
        assert!(matches!(err, Error::Config(_)), "{url:?}: {err:?}");
        assert!(err.to_string().contains("sqlite:"), "{err}");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}

#[tokio::test]
async fn sqlite_creates_the_file_and_its_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/tollgate.db");
    let store = tollgate_store::connect(&format!("sqlite:{}", path.display()), &options())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert!(path.is_file());
    store.close().await;
}

#[tokio::test]
async fn postgres_that_is_down_fails_fast() {
    let opts = ConnectOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(30),
    };
    let started = Instant::now();
    let err = match tollgate_store::connect("postgres://postgres@127.0.0.1:1/tollgate", &opts).await
    {
        Ok(_) => panic!("connected to a closed port"),
        Err(e) => e,
    };
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.is_unavailable(), "{err:?}");
    assert_eq!(err.to_string(), "the database is unavailable");
}

#[tokio::test]
async fn postgres_readiness_says_unreachable_when_the_database_goes_away() {
    let db = TestDb::postgres(true).await;
    assert!(db.store.readiness().await.unwrap().is_ready());
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .await
        .unwrap();
    let ready = db.store.readiness().await.unwrap();
    assert!(!ready.reachable, "{ready:?}");
    assert_eq!(ready.migrations_applied, 0);
    let err = db.store.count_users().await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert_safe(&err);
}

#[test]
fn details_stay_out_of_display() {
    let internal = Error::Internal("INSERT INTO users ... duplicate key value".to_owned());
    let unavailable = Error::Unavailable("error communicating with database: refused".to_owned());
    assert_eq!(internal.to_string(), "internal database error");
    assert_eq!(unavailable.to_string(), "the database is unavailable");
    assert_safe(&internal);
    assert_safe(&unavailable);
    // The details are kept for logs.
    assert!(format!("{internal:?}").contains("duplicate key"));
}
