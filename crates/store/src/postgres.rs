//! The Postgres backend: the shared database of a cluster.

use crate::changes::PgChanges;
use crate::error::{Error, Result};
use crate::types::ConnectOptions;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use std::str::FromStr;
use uuid::Uuid;

crate::rows::impl_db_row!(PgRow, uuid: Uuid, Ok);

/// A store on a Postgres database.
pub(crate) struct PgStore {
    pool: PgPool,
    changes: PgChanges,
}

impl PgStore {
    /// Connects to a `postgres:` or `postgresql:` URL, failing at once when the server is down.
    pub(crate) async fn connect(url: &str, opts: &ConnectOptions) -> Result<PgStore> {
        // JIT off for Tollgate's sessions: its statements are short (an index range, a rollup
        // read of thousands of rows) and gain nothing from compiling; where a plan's estimate
        // crosses `jit_above_cost` the compiling alone took 30-60 ms (bench/RESULTS.md, spend
        // analytics at 10M rows, runs 1 and 5).
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| Error::Config("the Postgres URL is malformed".to_owned()))?
            .options([("jit", "off")]);
        // One attempt first: the pool would retry a refused connection until `acquire_timeout`,
        // which at start-up only delays the error.
        match tokio::time::timeout(opts.acquire_timeout, PgConnection::connect_with(&options)).await
        {
            Ok(Ok(conn)) => {
                // The probe is not kept; an error while closing it changes nothing.
                let _ = conn.close().await;
            }
            Ok(Err(e)) => return Err(Error::db(e)),
            Err(_) => {
                return Err(Error::Unavailable(
                    "timed out connecting to Postgres".to_owned(),
                ));
            }
        }
        // The change feed's one connection is apart from the pool: it is held for as long as the
        // store lives, and is opened only when someone subscribes.
        let listen_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(opts.acquire_timeout)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options.clone());
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .connect_lazy_with(options);
        Ok(PgStore {
            changes: PgChanges::new(pool.clone(), listen_pool),
            pool,
        })
    }
}

/// The shared queries, compiled for Postgres.
mod queries {
    use super::Uuid;

    type Db = sqlx::Postgres;
    pub(super) const BACKEND: crate::Backend = crate::Backend::Postgres;
    static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");
    const MIGRATIONS_TABLE_EXISTS: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS e";
    /// The bump and its notification in one statement, hence one transaction: listeners hear
    /// of the revision when, and only if, it is committed.
    const BUMP_REVISION: &str = concat!(
        "WITH bumped AS (UPDATE config_revision SET revision = revision + 1 WHERE id = 1 \
         RETURNING revision) SELECT b.revision FROM bumped b, pg_notify('",
        crate::changes::channel!(),
        "', b.revision::text) AS n"
    );
    /// Read committed would let the second read of `list_routes` see a later commit.
    const SNAPSHOT_READ: Option<&str> =
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");

    /// `spend_logs` is partitioned by month of `ts` (migration 0006), and a partitioned table's
    /// unique key must hold its partition column. A replayed record keeps its `ts`, so it is
    /// still the same row.
    /// "The alias contains `text`" as (SQL before the bound value, the value, SQL after): a
    /// case-sensitive `LIKE` with `\`, `%` and `_` escaped, which the trigram index of migration
    /// 0011 serves (`strpos` reads every key: 55 ms at 100k keys, bench/RESULTS.md).
    fn alias_contains(text: &str) -> (&'static str, String, &'static str) {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        ("alias LIKE ", format!("%{escaped}%"), " ESCAPE '\\'")
    }

    const SPEND_LOG_UNIQUE: &str = "request_id, ts";

    /// The sum of a rollup's `bigint` column as a `bigint`: `tollgate_sum` (migration 0009)
    /// adds in 64 bits where `SUM(bigint)` adds `numeric`s, a third of an analytics read's time
    /// over a thousand groups. Both fail on overflow.
    const SUM_BIGINT: &str = "tollgate_sum";

    /// Creates the partitions of the months starting at `months` (UTC ms) that do not exist.
    async fn ensure_log_partitions(pool: &sqlx::PgPool, months: &[i64]) -> crate::Result<()> {
        sqlx::query("SELECT tollgate_spend_logs_partition(m) FROM unnest($1::bigint[]) AS m")
            .bind(months)
            .execute(pool)
            .await
            .map_err(crate::Error::db)?;
        Ok(())
    }

    /// Drops the partitions holding only rows older than `before`; returns their names.
    pub(crate) async fn drop_log_partitions(
        pool: &sqlx::PgPool,
        before: tollgate_domain::Timestamp,
    ) -> crate::Result<Vec<String>> {
        sqlx::query_scalar("SELECT p FROM tollgate_drop_spend_logs_partitions($1) AS p")
            .bind(before.0)
            .fetch_all(pool)
            .await
            .map_err(crate::Error::db)
    }

    /// Ids are native `uuid`.
    fn id_arg(id: Uuid) -> Uuid {
        id
    }

    crate::ops::store_ops!();
}

crate::ops::impl_store!(PgStore, queries);
