//! Queries on `routes` and their `deployments`, always written and read together.

/// Free functions over `&Pool<Db>` for routes. Besides what [`crate::ops`] lists, the invoking
/// module provides `SNAPSHOT_READ`: a statement that makes a transaction read one snapshot, or
/// `None` when its transactions already do (SQLite).
macro_rules! route_ops {
    () => {
        const ROUTE_UNIQUES: $crate::error::Uniques = &[(
            "routes_instance_model",
            "a route for this model and instance already exists",
        )];

        /// Inserts a route and its deployments on `conn` (inside the caller's transaction). Each
        /// deployment is written under `r.id`, whatever its own `route_id` says.
        async fn insert_route_rows(
            conn: &mut <Db as sqlx::Database>::Connection,
            r: &tollgate_domain::routing::Route,
            source: tollgate_domain::routing::RouteSource,
        ) -> $crate::Result<()> {
            sqlx::query(
                "INSERT INTO routes (id, instance, model_name, alias_of, strategy, timeout_ms, \
                 stream_idle_timeout_ms, retries, fallbacks, header_match, source, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(id_arg(r.id.0))
            .bind(r.instance.as_deref())
            .bind(&r.model_name)
            .bind(r.alias_of.as_deref())
            .bind(r.strategy.as_str())
            .bind(r.timeout_ms)
            .bind(r.stream_idle_timeout_ms)
            .bind(r.retries)
            .bind(sqlx::types::Json(&r.fallbacks))
            .bind($crate::rows::header_match_text(&r.header_match)?)
            .bind($crate::rows::source_str(source))
            .bind(r.created_at.0)
            .bind(r.updated_at.0)
            .execute(&mut *conn)
            .await
            .map_err($crate::Error::unique(ROUTE_UNIQUES))?;
            for d in &r.deployments {
                sqlx::query(concat!(
                    "INSERT INTO deployments (",
                    $crate::rows::deployment_cols!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                ))
                .bind(id_arg(d.id.0))
                .bind(id_arg(r.id.0))
                .bind(d.provider.as_str())
                .bind(&d.upstream_model)
                .bind(d.api_base.as_deref())
                .bind(d.api_version.as_deref())
                .bind(d.credential_id.map(|c| id_arg(c.0)))
                .bind(d.weight)
                .bind(d.rpm_limit)
                .bind(d.tpm_limit)
                .bind(d.enabled)
                .bind(d.input_price_per_mtok.map(|m| m.0))
                .bind(d.output_price_per_mtok.map(|m| m.0))
                .bind(d.created_at.0)
                .bind(d.updated_at.0)
                .execute(&mut *conn)
                .await
                // A missing credential is a foreign key violation: `NotFound`.
                .map_err($crate::Error::db)?;
            }
            Ok(())
        }

        /// A transaction whose reads all see one snapshot: routes and deployments read in two
        /// statements then agree even while another process replaces them.
        async fn begin_snapshot(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<sqlx::Transaction<'static, Db>> {
            let mut tx = pool.begin().await.map_err($crate::Error::db)?;
            if let Some(sql) = SNAPSHOT_READ {
                sqlx::query(sql)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::Error::db)?;
            }
            Ok(tx)
        }

        pub(crate) async fn create_route(
            pool: &sqlx::Pool<Db>,
            r: &tollgate_domain::routing::Route,
        ) -> $crate::Result<tollgate_domain::routing::Route> {
            let mut tx = pool.begin().await.map_err($crate::Error::db)?;
            insert_route_rows(&mut tx, r, r.source).await?;
            tx.commit().await.map_err($crate::Error::db)?;
            Ok($crate::ops::as_stored(r))
        }

        pub(crate) async fn list_routes(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<Vec<tollgate_domain::routing::Route>> {
            // Two queries whatever the number of routes, read in one snapshot.
            let mut tx = begin_snapshot(pool).await?;
            let routes = sqlx::query(concat!(
                "SELECT ",
                $crate::rows::route_cols!(),
                " FROM routes ORDER BY model_name, COALESCE(instance, ''), header_match, id"
            ))
            .fetch_all(&mut *tx)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map($crate::rows::route)
            .collect::<$crate::Result<Vec<_>>>()?;
            let deployments = sqlx::query(concat!(
                "SELECT ",
                $crate::rows::deployment_cols!(),
                " FROM deployments ORDER BY created_at, id"
            ))
            .fetch_all(&mut *tx)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map($crate::rows::deployment)
            .collect::<$crate::Result<Vec<_>>>()?;
            tx.commit().await.map_err($crate::Error::db)?;
            Ok($crate::ops::attach_deployments(routes, deployments))
        }

        pub(crate) async fn get_route(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::RouteId,
        ) -> $crate::Result<tollgate_domain::routing::Route> {
            let mut tx = begin_snapshot(pool).await?;
            let row = sqlx::query(concat!(
                "SELECT ",
                $crate::rows::route_cols!(),
                " FROM routes WHERE id = $1"
            ))
            .bind(id_arg(id.0))
            .fetch_optional(&mut *tx)
            .await
            .map_err($crate::Error::db)?
            .ok_or($crate::Error::NotFound)?;
            let mut route = $crate::rows::route(&row)?;
            route.deployments = sqlx::query(concat!(
                "SELECT ",
                $crate::rows::deployment_cols!(),
                " FROM deployments WHERE route_id = $1 ORDER BY created_at, id"
            ))
            .bind(id_arg(id.0))
            .fetch_all(&mut *tx)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map($crate::rows::deployment)
            .collect::<$crate::Result<Vec<_>>>()?;
            tx.commit().await.map_err($crate::Error::db)?;
            Ok(route)
        }

        pub(crate) async fn delete_route(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::RouteId,
        ) -> $crate::Result<()> {
            // Deployments go with it (`ON DELETE CASCADE`).
            let done = sqlx::query("DELETE FROM routes WHERE id = $1")
                .bind(id_arg(id.0))
                .execute(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn replace_route(
            pool: &sqlx::Pool<Db>,
            r: &tollgate_domain::routing::Route,
        ) -> $crate::Result<tollgate_domain::routing::Route> {
            // All or nothing: on a conflict (or a missing credential) the route stays as it was.
            let mut tx = pool.begin().await.map_err($crate::Error::db)?;
            let done = sqlx::query("DELETE FROM routes WHERE id = $1 AND source = $2")
                .bind(id_arg(r.id.0))
                .bind($crate::rows::source_str(
                    tollgate_domain::routing::RouteSource::Db,
                ))
                .execute(&mut *tx)
                .await
                .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())?;
            insert_route_rows(&mut tx, r, tollgate_domain::routing::RouteSource::Db).await?;
            tx.commit().await.map_err($crate::Error::db)?;
            Ok($crate::ops::as_stored(r))
        }

        pub(crate) async fn replace_config_routes(
            pool: &sqlx::Pool<Db>,
            routes: &[tollgate_domain::routing::Route],
        ) -> $crate::Result<()> {
            // All or nothing: on a conflict the previous configuration routes stay.
            let mut tx = pool.begin().await.map_err($crate::Error::db)?;
            sqlx::query("DELETE FROM routes WHERE source = $1")
                .bind($crate::rows::source_str(
                    tollgate_domain::routing::RouteSource::Config,
                ))
                .execute(&mut *tx)
                .await
                .map_err($crate::Error::db)?;
            for r in routes {
                insert_route_rows(&mut tx, r, tollgate_domain::routing::RouteSource::Config)
                    .await?;
            }
            tx.commit().await.map_err($crate::Error::db)?;
            Ok(())
        }
    };
}
pub(crate) use route_ops;
