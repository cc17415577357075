//! Queries on `config_revision` and `gateway_nodes`: what gateways apply and report.

/// Free functions over `&Pool<Db>` for the configuration revision and heartbeats. Besides what
/// [`crate::ops`] lists, the invoking module provides `BUMP_REVISION`: one statement that adds
/// one to the revision, returns it as `revision`, and on Postgres notifies the change feed.
macro_rules! gateway_ops {
    () => {
        pub(crate) async fn config_revision(pool: &sqlx::Pool<Db>) -> $crate::Result<i64> {
            let row = sqlx::query("SELECT revision FROM config_revision WHERE id = 1")
                .fetch_one(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::rows::DbRow::int(&row, "revision")
        }

        pub(crate) async fn bump_config_revision(pool: &sqlx::Pool<Db>) -> $crate::Result<i64> {
            // One statement: atomic on both backends without an explicit transaction, and on
            // Postgres the notification is sent by the same transaction (at its commit).
            let row = sqlx::query(BUMP_REVISION)
                .fetch_one(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::rows::DbRow::int(&row, "revision")
        }

        pub(crate) async fn upsert_gateway_node(
            pool: &sqlx::Pool<Db>,
            n: &$crate::GatewayNode,
        ) -> $crate::Result<()> {
            sqlx::query(concat!(
                "INSERT INTO gateway_nodes (",
                $crate::rows::node_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (instance, pod) DO UPDATE SET version = excluded.version, \
                 config_revision = excluded.config_revision, started_at = excluded.started_at, \
                 last_seen = excluded.last_seen, in_flight = excluded.in_flight"
            ))
            .bind(&n.instance)
            .bind(&n.pod)
            .bind(&n.version)
            .bind(n.config_revision)
            .bind(n.started_at.0)
            .bind(n.last_seen.0)
            .bind(n.in_flight)
            .execute(pool)
            .await
            .map_err($crate::Error::db)?;
            Ok(())
        }

        pub(crate) async fn list_gateway_nodes(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<Vec<$crate::GatewayNode>> {
            sqlx::query(concat!(
                "SELECT ",
                $crate::rows::node_cols!(),
                " FROM gateway_nodes ORDER BY instance, pod"
            ))
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map($crate::rows::gateway_node)
            .collect()
        }
    };
}
pub(crate) use gateway_ops;
