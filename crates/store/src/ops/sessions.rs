//! Queries on `sessions`.

/// Free functions over `&Pool<Db>` for sessions; see [`crate::ops`] for what must be in scope.
macro_rules! session_ops {
    () => {
        pub(crate) async fn create_session(
            pool: &sqlx::Pool<Db>,
            s: &$crate::NewSession,
        ) -> $crate::Result<()> {
            sqlx::query(
                "INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at, ip, \
                 user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id_arg(s.id.0))
            .bind(s.user_id.map(|u| id_arg(u.0)))
            .bind(&s.token_hash)
            .bind(s.created_at.0)
            .bind(s.expires_at.0)
            .bind(s.ip.as_deref())
            .bind(s.user_agent.as_deref())
            .execute(pool)
            .await
            .map_err($crate::Error::unique(&[(
                "token_hash",
                "this session already exists",
            )]))?;
            Ok(())
        }

        pub(crate) async fn get_session(
            pool: &sqlx::Pool<Db>,
            token_hash: &str,
        ) -> $crate::Result<$crate::SessionWithUser> {
            let row = sqlx::query(concat!(
                "SELECT ",
                $crate::rows::session_cols_s!(),
                ", ",
                $crate::rows::user_cols_u!(),
                " FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1"
            ))
            .bind(token_hash)
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?
            .ok_or($crate::Error::NotFound)?;
            let session = $crate::rows::session(&row)?;
            let user = match session.user_id {
                Some(_) => Some($crate::rows::user(&row)?),
                None => None,
            };
            Ok($crate::SessionWithUser { session, user })
        }

        pub(crate) async fn delete_session(
            pool: &sqlx::Pool<Db>,
            token_hash: &str,
        ) -> $crate::Result<()> {
            let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn delete_user_sessions(
            pool: &sqlx::Pool<Db>,
            user_id: tollgate_domain::UserId,
        ) -> $crate::Result<u64> {
            let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id_arg(user_id.0))
                .execute(pool)
                .await
                .map_err($crate::Error::db)?;
            Ok(done.rows_affected())
        }

        pub(crate) async fn delete_expired_sessions(
            pool: &sqlx::Pool<Db>,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<u64> {
            let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now.0)
                .execute(pool)
                .await
                .map_err($crate::Error::db)?;
            Ok(done.rows_affected())
        }
    };
}
pub(crate) use session_ops;
