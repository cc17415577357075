//! The SQLite backend: one local file, the single-node default.

use crate::changes::LocalChanges;
use crate::error::{Error, Result};
use crate::types::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

crate::rows::impl_db_row!(SqliteRow, uuid: String, crate::rows::parse_uuid);

/// A store on a SQLite file.
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    /// In process: another process on the same file hears nothing (SQLite is single-node).
    changes: LocalChanges,
}

impl SqliteStore {
    /// Opens (creating if missing, with its directory) the file named by a `sqlite:` URL.
    pub(crate) async fn connect(url: &str, opts: &ConnectOptions) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| Error::Config("the SQLite URL is malformed".to_owned()))?
            .create_if_missing(true)
            // Readers do not block the writer; `NORMAL` is durable enough with WAL.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Writers queue for the lock instead of failing at once.
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                Error::Config(format!(
                    "cannot create the directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(Error::db)?;
        Ok(SqliteStore {
            pool,
            changes: LocalChanges::new(),
        })
    }
}

/// The shared queries, compiled for SQLite.
mod queries {
    use super::Uuid;

    type Db = sqlx::Sqlite;
    pub(super) const BACKEND: crate::Backend = crate::Backend::Sqlite;
    static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
    const MIGRATIONS_TABLE_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master \
         WHERE type = 'table' AND name = '_sqlx_migrations') AS e";
    const BUMP_REVISION: &str =
        "UPDATE config_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision";
    /// A SQLite transaction reads one snapshot (WAL) from its first read on.
    const SNAPSHOT_READ: Option<&str> = None;

    /// One row per request id: SQLite's `spend_logs` is one table.
    /// "The alias contains `text`" as (SQL before the bound value, the value, SQL after):
    /// `instr`, a case-sensitive substring match with no wildcard characters to escape (SQLite's
    /// `LIKE` ignores ASCII case).
    fn alias_contains(text: &str) -> (&'static str, String, &'static str) {
        ("instr(COALESCE(alias, ''), ", text.to_owned(), ") > 0")
    }

    const SPEND_LOG_UNIQUE: &str = "request_id";

    /// SQLite's `SUM` of integers is an integer (and fails on overflow).
    const SUM_BIGINT: &str = "SUM";

    /// SQLite has no partitions: nothing to create.
    async fn ensure_log_partitions(_: &sqlx::SqlitePool, _: &[i64]) -> crate::Result<()> {
        Ok(())
    }

    /// SQLite has no partitions: retention deletes rows (`delete_spend_logs_before`).
    pub(crate) async fn drop_log_partitions(
        _: &sqlx::SqlitePool,
        _: tollgate_domain::Timestamp,
    ) -> crate::Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Ids are stored as canonical text: hyphenated, lower-case.
    fn id_arg(id: Uuid) -> String {
        id.hyphenated().to_string()
    }

    crate::ops::store_ops!();
}

crate::ops::impl_store!(SqliteStore, queries);
