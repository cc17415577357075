//! The Postgres backend: the shared database of a cluster.

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
}

impl PgStore {
    /// Connects to a `postgres:` or `postgresql:` URL, failing at once when the server is down.
    pub(crate) async fn connect(url: &str, opts: &ConnectOptions) -> Result<PgStore> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| Error::Config("the Postgres URL is malformed".to_owned()))?;
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
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .connect_lazy_with(options);
        Ok(PgStore { pool })
    }
}

/// The shared queries, compiled for Postgres.
mod queries {
    use super::Uuid;

    type Db = sqlx::Postgres;
    pub(super) const BACKEND: crate::Backend = crate::Backend::Postgres;
    static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");
    const MIGRATIONS_TABLE_EXISTS: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL AS e";

    /// Ids are native `uuid`.
    fn id_arg(id: Uuid) -> Uuid {
        id
    }

    crate::ops::store_ops!();
}

crate::ops::impl_store!(PgStore, queries);
