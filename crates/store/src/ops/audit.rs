//! Queries on `audit_log`.

/// Free functions over `&Pool<Db>` for the audit log; see [`crate::ops`] for what must be in scope.
macro_rules! audit_ops {
    () => {
        pub(crate) async fn insert_audit(
            pool: &sqlx::Pool<Db>,
            e: &tollgate_domain::model::AuditEntry,
        ) -> $crate::Result<()> {
            sqlx::query(
                "INSERT INTO audit_log (id, ts, actor_user_id, actor_label, action, object_type, \
                 object_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id_arg(e.id.0))
            .bind(e.ts.0)
            .bind(e.actor_user_id.map(|u| id_arg(u.0)))
            .bind(&e.actor_label)
            .bind(&e.action)
            .bind(&e.object_type)
            .bind(e.object_id.as_deref())
            .bind(e.before.as_deref())
            .bind(e.after.as_deref())
            .execute(pool)
            .await
            .map_err($crate::Error::db)?;
            Ok(())
        }

        pub(crate) async fn list_audit(
            pool: &sqlx::Pool<Db>,
            q: &$crate::AuditQuery,
        ) -> $crate::Result<Vec<tollgate_domain::model::AuditEntry>> {
            // Optional filters as `$n IS NULL OR ...`: one static statement, no SQL assembled
            // from input. The prefix is compared with `substr`, not `LIKE`, so `%` and `_` in
            // it are plain characters and SQLite's case-insensitive `LIKE` does not apply.
            sqlx::query(concat!(
                "SELECT ",
                $crate::rows::audit_cols!(),
                " FROM audit_log WHERE ($1 IS NULL OR ts < $1 OR (ts = $1 AND id < $8)) \
                 AND ($2 IS NULL OR substr(action, 1, length($2)) = $2) \
                 AND ($3 IS NULL OR object_type = $3) \
                 AND ($5 IS NULL OR object_id = $5) \
                 AND ($6 IS NULL OR actor_label = $6) \
                 AND ($7 IS NULL OR ts >= $7) \
                 ORDER BY ts DESC, id DESC LIMIT $4"
            ))
            .bind(q.before.map(|t| t.0))
            .bind(q.action_prefix.as_deref())
            .bind(q.object_type.as_deref())
            .bind(i64::from(q.limit))
            .bind(q.object_id.as_deref())
            .bind(q.actor.as_deref())
            .bind(q.since.map(|t| t.0))
            .bind(q.before_id.map(|i| id_arg(i.0)))
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map($crate::rows::audit_entry)
            .collect()
        }
    };
}
pub(crate) use audit_ops;
