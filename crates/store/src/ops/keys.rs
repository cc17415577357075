//! Queries on `virtual_keys`.

/// Free functions over `&Pool<Db>` for virtual keys; see [`crate::ops`] for what must be in scope.
macro_rules! key_ops {
    () => {
        pub(crate) async fn create_key(
            pool: &sqlx::Pool<Db>,
            k: &$crate::NewKey,
        ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
            let mut tx = pool.begin().await.map_err($crate::Error::db)?;
            if let (Some(cap), Some(team), Some(user)) = (k.owner_cap, k.team_id, k.user_id) {
                // Locks the owner's membership row (Postgres) or takes the write lock (SQLite)
                // before counting, so creations by one owner run one after another and the
                // second counts the first's key.
                sqlx::query("UPDATE team_members SET role = role WHERE team_id = $1 AND user_id = $2")
                    .bind(id_arg(team.0))
                    .bind(id_arg(user.0))
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::Error::db)?;
                let held: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM virtual_keys WHERE team_id = $1 AND user_id = $2",
                )
                .bind(id_arg(team.0))
                .bind(id_arg(user.0))
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::Error::db)?;
                if held >= i64::from(cap) {
                    return Err($crate::Error::Conflict(format!(
                        "the owner already holds {held} keys in this team, the most its policy \
                         allows ({cap}); delete one first"
                    )));
                }
            }
            // `RETURNING` the stored row: what `get_key` will read, not a copy of the input.
            let row = sqlx::query(concat!(
                "INSERT INTO virtual_keys (id, key_hash, key_prefix, key_suffix, alias, team_id, \
                 user_id, allowed_models, allowed_instances, max_budget, budget_duration, \
                 soft_budget, rpm_limit, tpm_limit, max_parallel, expires_at, blocked, metadata, \
                 spend, version, created_at, updated_at, store_prompts) VALUES ($1, $2, $3, $4, \
                 $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0, 0, $19, $19, \
                 $20) RETURNING ",
                $crate::rows::key_cols!()
            ))
            .bind(id_arg(k.id.0))
            .bind(&k.key_hash)
            .bind(&k.key_prefix)
            .bind(&k.key_suffix)
            .bind(k.alias.as_deref())
            .bind(k.team_id.map(|t| id_arg(t.0)))
            .bind(k.user_id.map(|u| id_arg(u.0)))
            .bind(k.allowed_models.as_ref().map(sqlx::types::Json))
            .bind(k.allowed_instances.as_ref().map(sqlx::types::Json))
            .bind(k.max_budget.map(|m| m.0))
            .bind(k.budget_duration.as_deref())
            .bind(k.soft_budget.map(|m| m.0))
            .bind(k.rpm_limit)
            .bind(k.tpm_limit)
            .bind(k.max_parallel)
            .bind(k.expires_at.map(|t| t.0))
            .bind(false)
            .bind(k.metadata.as_deref())
            .bind(k.now.0)
            .bind(k.store_prompts)
            .fetch_one(&mut *tx)
            .await
            .map_err($crate::Error::unique(&[(
                "key_hash",
                "this key already exists: generate another",
            )]))?;
            let key = $crate::rows::key(&row)?;
            tx.commit().await.map_err($crate::Error::db)?;
            Ok(key)
        }

        pub(crate) async fn get_key(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::KeyId,
        ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
            let row = sqlx::query(concat!(
                "SELECT ",
                $crate::rows::key_cols!(),
                " FROM virtual_keys WHERE id = $1"
            ))
            .bind(id_arg(id.0))
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?;
            $crate::rows::key(&row.ok_or($crate::Error::NotFound)?)
        }

        pub(crate) async fn get_key_by_hash(
            pool: &sqlx::Pool<Db>,
            key_hash: &str,
        ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
            let row = sqlx::query(concat!(
                "SELECT ",
                $crate::rows::key_cols!(),
                " FROM virtual_keys WHERE key_hash = $1"
            ))
            .bind(key_hash)
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?;
            $crate::rows::key(&row.ok_or($crate::Error::NotFound)?)
        }

        pub(crate) async fn list_active_keys(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<Vec<$crate::KeyRecord>> {
            sqlx::query(concat!(
                "SELECT ",
                $crate::rows::key_cols!(),
                ", key_hash, previous_key_hash FROM virtual_keys WHERE NOT blocked \
                 AND (user_id IS NULL OR user_id NOT IN (SELECT id FROM users WHERE disabled)) \
                 ORDER BY created_at, id"
            ))
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map(|row| {
                Ok($crate::KeyRecord {
                    key: $crate::rows::key(row)?,
                    key_hash: $crate::rows::DbRow::text(row, "key_hash")?,
                    previous_key_hash: $crate::rows::DbRow::opt_text(row, "previous_key_hash")?,
                })
            })
            .collect()
        }

        pub(crate) async fn find_keys(
            pool: &sqlx::Pool<Db>,
            query: &$crate::KeyQuery,
        ) -> $crate::Result<Vec<tollgate_domain::model::VirtualKey>> {
            let mut q = sqlx::QueryBuilder::<Db>::new(concat!(
                "SELECT ",
                $crate::rows::key_cols!(),
                " FROM virtual_keys WHERE 1 = 1"
            ));
            let (order, descending) = $crate::ops::keys::key_order(query.sort);
            let (cmp, dir) = if descending { ("<", "DESC") } else { (">", "ASC") };
            if let Some(after) = query.after {
                if order == "id" {
                    q.push(format_args!(" AND id {cmp} ")).push_bind(id_arg(after.0));
                } else {
                    // After that key in this order: its value read here, so the cursor stays
                    // the id (a key deleted meanwhile ends the list).
                    q.push(format_args!(
                        " AND ({order}, id) {cmp} (SELECT {order}, id FROM virtual_keys WHERE id = "
                    ))
                    .push_bind(id_arg(after.0))
                    .push(")");
                }
            }
            if let Some(t) = query.team {
                q.push(" AND team_id = ").push_bind(id_arg(t.0));
            }
            if let Some(u) = query.user {
                q.push(" AND user_id = ").push_bind(id_arg(u.0));
            }
            if let Some(b) = query.blocked {
                q.push(" AND blocked = ").push_bind(b);
            }
            if let Some(t) = query.expires_before {
                q.push(" AND expires_at < ").push_bind(t.0);
            }
            if let Some(text) = query.search.as_deref().filter(|t| !t.is_empty()) {
                let (before, value, after) = alias_contains(text);
                q.push(" AND (")
                    .push(before)
                    .push_bind(value)
                    .push(after)
                    .push(" OR key_prefix = ")
                    .push_bind(text.to_owned())
                    .push(" OR key_suffix = ")
                    .push_bind(text.to_owned())
                    .push(")");
            }
            if order == "id" {
                q.push(format_args!(" ORDER BY id {dir} LIMIT "));
            } else {
                q.push(format_args!(" ORDER BY {order} {dir}, id {dir} LIMIT "));
            }
            q.push_bind(i64::from(query.limit));
            // Not a named prepared statement: Postgres plans an unnamed one with the values, so a
            // search uses the trigram index; a cached generic plan cannot know the pattern and
            // read every key (64 ms at 100k keys, bench/RESULTS.md).
            q.build()
                .persistent(false)
                .fetch_all(pool)
                .await
                .map_err($crate::Error::db)?
                .iter()
                .map($crate::rows::key)
                .collect()
        }

        pub(crate) async fn update_key(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::KeyId,
            k: &$crate::KeySettings,
            version: i64,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
            let row = sqlx::query(concat!(
                "UPDATE virtual_keys SET alias = $3, allowed_models = $4, allowed_instances = $5, \
                 max_budget = $6, budget_duration = $7, soft_budget = $8, rpm_limit = $9, \
                 tpm_limit = $10, max_parallel = $11, expires_at = $12, metadata = $13, \
                 store_prompts = $14, updated_at = $15, version = version + 1 \
                 WHERE id = $1 AND version = $2 RETURNING ",
                $crate::rows::key_cols!()
            ))
            .bind(id_arg(id.0))
            .bind(version)
            .bind(k.alias.as_deref())
            .bind(k.allowed_models.as_ref().map(sqlx::types::Json))
            .bind(k.allowed_instances.as_ref().map(sqlx::types::Json))
            .bind(k.max_budget.map(|m| m.0))
            .bind(k.budget_duration.as_deref())
            .bind(k.soft_budget.map(|m| m.0))
            .bind(k.rpm_limit)
            .bind(k.tpm_limit)
            .bind(k.max_parallel)
            .bind(k.expires_at.map(|t| t.0))
            .bind(k.metadata.as_deref())
            .bind(k.store_prompts)
            .bind(now.0)
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?;
            match row {
                Some(row) => $crate::rows::key(&row),
                // Gone, or saved by someone else since `version` was read.
                None => match get_key(pool, id).await {
                    Ok(_) => Err($crate::Error::Conflict(
                        "this key changed since you opened it: reload it and make your change again"
                            .to_owned(),
                    )),
                    Err(e) => Err(e),
                },
            }
        }

        pub(crate) async fn rotate_key(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::KeyId,
            secret: &$crate::KeySecret,
            previous_until: Option<tollgate_domain::Timestamp>,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
            // The right-hand sides read the row as it was: the previous hash is the one replaced.
            let row = sqlx::query(concat!(
                "UPDATE virtual_keys SET \
                 previous_key_hash = CASE WHEN $5 IS NULL THEN NULL ELSE key_hash END, \
                 previous_key_expires_at = $5, key_hash = $2, key_prefix = $3, key_suffix = $4, \
                 updated_at = $6, version = version + 1 WHERE id = $1 RETURNING ",
                $crate::rows::key_cols!()
            ))
            .bind(id_arg(id.0))
            .bind(&secret.hash)
            .bind(&secret.prefix)
            .bind(&secret.suffix)
            .bind(previous_until.map(|t| t.0))
            .bind(now.0)
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::unique(&[("key_hash", "a key with this secret already exists")]))?;
            $crate::rows::key(&row.ok_or($crate::Error::NotFound)?)
        }

        /// Sets one of a key's flags with `sql` (`$1` the id, `$2` the value, `$3` the time),
        /// bumping its `version`; returns the key as now stored.
        async fn set_key_flag(
            pool: &sqlx::Pool<Db>,
            sql: &'static str,
            id: tollgate_domain::KeyId,
            on: bool,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
            let row = sqlx::query(sql)
                .bind(id_arg(id.0))
                .bind(on)
                .bind(now.0)
                .fetch_optional(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::rows::key(&row.ok_or($crate::Error::NotFound)?)
        }

        pub(crate) async fn set_key_blocked(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::KeyId,
            blocked: bool,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
            const SQL: &str = concat!(
                "UPDATE virtual_keys SET blocked = $2, updated_at = $3, version = version + 1 \
                 WHERE id = $1 RETURNING ",
                $crate::rows::key_cols!()
            );
            set_key_flag(pool, SQL, id, blocked, now).await
        }

        pub(crate) async fn set_key_store_prompts(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::KeyId,
            on: bool,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
            const SQL: &str = concat!(
                "UPDATE virtual_keys SET store_prompts = $2, updated_at = $3, \
                 version = version + 1 WHERE id = $1 RETURNING ",
                $crate::rows::key_cols!()
            );
            set_key_flag(pool, SQL, id, on, now).await
        }

        pub(crate) async fn set_team_store_prompts(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::TeamId,
            on: bool,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<()> {
            let done = sqlx::query(
                "UPDATE teams SET store_prompts = $2, updated_at = $3 WHERE id = $1",
            )
            .bind(id_arg(id.0))
            .bind(on)
            .bind(now.0)
            .execute(pool)
            .await
            .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn teams_storing_prompts(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<Vec<tollgate_domain::TeamId>> {
            use $crate::rows::DbRow as _;
            sqlx::query("SELECT id FROM teams WHERE store_prompts ORDER BY id")
                .fetch_all(pool)
                .await
                .map_err($crate::Error::db)?
                .iter()
                .map(|r| Ok(tollgate_domain::TeamId(r.uuid("id")?)))
                .collect()
        }

        pub(crate) async fn delete_key(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::KeyId,
        ) -> $crate::Result<()> {
            // Spend logs and rollups keep the id: they have no foreign key to outlive.
            let done = sqlx::query("DELETE FROM virtual_keys WHERE id = $1")
                .bind(id_arg(id.0))
                .execute(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }
    };
}
pub(crate) use key_ops;

/// What a key order sorts by, and whether descending; the key's id breaks ties in the same
/// direction. The expressions are those of migration 0012's indexes, letter for letter (SQLite
/// uses an expression index only for the same expression): NULLs become the value that sorts
/// them where [`KeySort`](tollgate_domain::key_spec::KeySort) says.
pub(crate) fn key_order(sort: tollgate_domain::key_spec::KeySort) -> (&'static str, bool) {
    use tollgate_domain::key_spec::KeySort;
    match sort {
        KeySort::Newest => ("id", true),
        KeySort::Oldest => ("id", false),
        KeySort::Spend => ("spend", true),
        KeySort::LastUsed => ("COALESCE(last_used_at, -1)", true),
        KeySort::Alias => ("COALESCE(alias, '')", false),
        KeySort::Expires => ("COALESCE(expires_at, 9223372036854775807)", false),
    }
}
