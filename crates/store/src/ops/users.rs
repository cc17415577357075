//! Queries on `users`.

/// Free functions over `&Pool<Db>` for users; see [`crate::ops`] for what must be in scope.
macro_rules! user_ops {
    () => {
        const USER_UNIQUES: $crate::error::Uniques =
            &[("email", "a user with this email already exists")];

        pub(crate) async fn create_user(
            pool: &sqlx::Pool<Db>,
            u: &$crate::NewUser,
        ) -> $crate::Result<tollgate_domain::model::User> {
            sqlx::query(
                "INSERT INTO users (id, email, name, role, password_hash, must_change_password, \
                 disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(id_arg(u.id.0))
            .bind(&u.email)
            .bind(&u.name)
            .bind(u.role.as_str())
            .bind(&u.password_hash)
            .bind(u.must_change_password)
            .bind(false)
            .bind(u.now.0)
            .execute(pool)
            .await
            .map_err($crate::Error::unique(USER_UNIQUES))?;
            Ok(tollgate_domain::model::User {
                id: u.id,
                email: u.email.clone(),
                name: u.name.clone(),
                role: u.role,
                disabled: false,
                must_change_password: u.must_change_password,
                created_at: u.now,
                updated_at: u.now,
            })
        }

        pub(crate) async fn get_user(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::UserId,
        ) -> $crate::Result<tollgate_domain::model::User> {
            let row = sqlx::query(concat!(
                "SELECT ",
                $crate::rows::user_cols!(),
                " FROM users WHERE id = $1"
            ))
            .bind(id_arg(id.0))
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?;
            $crate::rows::user(&row.ok_or($crate::Error::NotFound)?)
        }

        pub(crate) async fn get_user_auth(
            pool: &sqlx::Pool<Db>,
            email: &str,
        ) -> $crate::Result<$crate::UserAuth> {
            let row = sqlx::query(concat!(
                "SELECT ",
                $crate::rows::user_cols!(),
                ", password_hash FROM users WHERE email = $1"
            ))
            .bind(email)
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?
            .ok_or($crate::Error::NotFound)?;
            Ok($crate::UserAuth {
                user: $crate::rows::user(&row)?,
                password_hash: $crate::rows::DbRow::text(&row, "password_hash")?,
            })
        }

        pub(crate) async fn count_users(pool: &sqlx::Pool<Db>) -> $crate::Result<i64> {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
                .fetch_one(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::rows::DbRow::int(&row, "n")
        }

        pub(crate) async fn list_users(
            pool: &sqlx::Pool<Db>,
            page: &$crate::Page,
        ) -> $crate::Result<Vec<tollgate_domain::model::User>> {
            $crate::ops::fetch_page!(
                pool,
                concat!("SELECT ", $crate::rows::user_cols!(), " FROM users ORDER BY email LIMIT $1 OFFSET $2"),
                page,
                $crate::rows::user
            )
        }

        pub(crate) async fn set_password(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::UserId,
            password_hash: &str,
            must_change: bool,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<()> {
            let done = sqlx::query(
                "UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = $4 \
                 WHERE id = $1",
            )
            .bind(id_arg(id.0))
            .bind(password_hash)
            .bind(must_change)
            .bind(now.0)
            .execute(pool)
            .await
            .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn set_user_role(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::UserId,
            role: tollgate_domain::authz::GlobalRole,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<()> {
            let done = sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
                .bind(id_arg(id.0))
                .bind(role.as_str())
                .bind(now.0)
                .execute(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn set_user_disabled(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::UserId,
            disabled: bool,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<()> {
            let done =
                sqlx::query("UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1")
                    .bind(id_arg(id.0))
                    .bind(disabled)
                    .bind(now.0)
                    .execute(pool)
                    .await
                    .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn delete_user(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::UserId,
        ) -> $crate::Result<()> {
            let done = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id_arg(id.0))
                .execute(pool)
                .await
                .map_err($crate::Error::delete(
                    "the user still owns virtual keys: delete or reassign them first",
                ))?;
            $crate::ops::one_row(done.rows_affected())
        }
    };
}
pub(crate) use user_ops;
