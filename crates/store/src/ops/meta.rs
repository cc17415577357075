//! Migrations and readiness, the same on both backends but for one query each provides.

/// `migrate` and `readiness` over `&Pool<Db>`. Besides what [`crate::ops`] lists, the invoking
/// module provides `MIGRATOR` (its embedded migrations), `BACKEND`, and
/// `MIGRATIONS_TABLE_EXISTS` (a query returning one boolean column `e`).
macro_rules! meta_ops {
    () => {
        pub(crate) async fn migrate(pool: &sqlx::Pool<Db>) -> $crate::Result<()> {
            MIGRATOR.run(pool).await.map_err($crate::Error::migrate)
        }

        pub(crate) async fn readiness(pool: &sqlx::Pool<Db>) -> $crate::Result<$crate::Readiness> {
            let expected = MIGRATOR
                .iter()
                .filter(|m| m.migration_type.is_up_migration())
                .count();
            let mut ready = $crate::Readiness {
                backend: BACKEND,
                reachable: false,
                migrations_applied: 0,
                migrations_expected: expected,
            };
            match sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map_err($crate::Error::db)
            {
                Ok(_) => ready.reachable = true,
                Err(e) if e.is_unavailable() => return Ok(ready),
                Err(e) => return Err(e),
            }
            let row = sqlx::query(MIGRATIONS_TABLE_EXISTS)
                .fetch_one(pool)
                .await
                .map_err($crate::Error::db)?;
            if $crate::rows::DbRow::flag(&row, "e")? {
                let row = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success")
                    .fetch_one(pool)
                    .await
                    .map_err($crate::Error::db)?;
                let applied = $crate::rows::DbRow::int(&row, "n")?;
                ready.migrations_applied = usize::try_from(applied).unwrap_or(0);
            }
            Ok(ready)
        }
    };
}
pub(crate) use meta_ops;
