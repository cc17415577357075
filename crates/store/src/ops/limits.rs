//! Budgets and limits of teams and users (keys carry theirs), and admin price overrides: what
//! the gateway's accounting reads besides the counters.

/// Free functions over `&Pool<Db>` for limit holders and prices; see [`crate::ops`] for what must
/// be in scope.
macro_rules! limit_ops {
    () => {
        pub(crate) async fn list_limit_holders(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<Vec<$crate::LimitHolder>> {
            use $crate::rows::DbRow as _;
            let mut out = Vec::new();
            for (scope, sql) in [
                (
                    $crate::Scope::Team,
                    "SELECT id, max_budget, budget_duration, soft_budget, rpm_limit, tpm_limit, \
                     max_parallel, created_at FROM teams WHERE max_budget IS NOT NULL OR \
                     soft_budget IS NOT NULL OR rpm_limit IS NOT NULL OR tpm_limit IS NOT NULL \
                     OR max_parallel IS NOT NULL ORDER BY id",
                ),
                (
                    $crate::Scope::User,
                    "SELECT id, max_budget, budget_duration, soft_budget, NULL AS rpm_limit, \
                     NULL AS tpm_limit, NULL AS max_parallel, created_at FROM users \
                     WHERE max_budget IS NOT NULL OR soft_budget IS NOT NULL ORDER BY id",
                ),
            ] {
                for row in sqlx::query(sql)
                    .fetch_all(pool)
                    .await
                    .map_err($crate::Error::db)?
                {
                    out.push($crate::LimitHolder {
                        scope,
                        id: row.uuid("id")?,
                        limits: $crate::Limits {
                            max_budget: row.opt_int("max_budget")?.map(tollgate_domain::Micros),
                            budget_duration: row.opt_text("budget_duration")?,
                            soft_budget: row.opt_int("soft_budget")?.map(tollgate_domain::Micros),
                            rpm_limit: row.opt_int("rpm_limit")?,
                            tpm_limit: row.opt_int("tpm_limit")?,
                            max_parallel: row.opt_int("max_parallel")?,
                        },
                        created_at: row.ts("created_at")?,
                    });
                }
            }
            Ok(out)
        }

        pub(crate) async fn budgets_near_limit(
            pool: &sqlx::Pool<Db>,
            percent: i64,
            min_window_start: tollgate_domain::Timestamp,
        ) -> $crate::Result<Vec<$crate::BudgetStanding>> {
            use $crate::rows::DbRow as _;
            // One statement per owner kind, each a join of the counters at or over the share
            // with their owner; the counters are few per owner and the share filter keeps the
            // answer to the budgets worth showing.
            let mut out = Vec::new();
            for (scope, select, from) in [
                (
                    $crate::Scope::Key,
                    "SELECT o.id, o.team_id, o.alias, o.key_prefix, o.key_suffix, ",
                    " FROM spend_windows w JOIN virtual_keys o ON o.id = w.id WHERE w.scope = 'key'",
                ),
                (
                    $crate::Scope::Team,
                    "SELECT o.id, o.id AS team_id, o.name AS alias, NULL AS key_prefix, \
                     NULL AS key_suffix, ",
                    " FROM spend_windows w JOIN teams o ON o.id = w.id WHERE w.scope = 'team'",
                ),
                (
                    $crate::Scope::User,
                    "SELECT o.id, NULL AS team_id, o.email AS alias, NULL AS key_prefix, \
                     NULL AS key_suffix, ",
                    " FROM spend_windows w JOIN users o ON o.id = w.id WHERE w.scope = 'user'",
                ),
            ] {
                let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                    "{select}o.max_budget, o.budget_duration, o.created_at, w.window_start, \
                     w.spend{from} AND o.max_budget IS NOT NULL AND o.max_budget > 0 \
                     AND w.spend * 100 >= o.max_budget * "
                ));
                q.push_bind(percent);
                q.push(" AND (w.window_start = 0 OR w.window_start >= ");
                q.push_bind(min_window_start.0);
                q.push(") ORDER BY o.id, w.window_start");
                for row in q
                    .build()
                    .fetch_all(pool)
                    .await
                    .map_err($crate::Error::db)?
                {
                    let alias = row.opt_text("alias")?;
                    let label = match scope {
                        $crate::Scope::Key => $crate::ops::rollups::key_label(
                            alias,
                            row.opt_text("key_prefix")?,
                            row.opt_text("key_suffix")?,
                        ),
                        _ => alias,
                    };
                    out.push($crate::BudgetStanding {
                        scope,
                        id: row.uuid("id")?,
                        team_id: row.opt_uuid("team_id")?,
                        label: label.unwrap_or_default(),
                        max_budget: tollgate_domain::Micros(row.int("max_budget")?),
                        budget_duration: row.opt_text("budget_duration")?,
                        created_at: row.ts("created_at")?,
                        window_start: row.int("window_start")?,
                        spend: tollgate_domain::Micros(row.int("spend")?),
                    });
                }
            }
            Ok(out)
        }

        pub(crate) async fn set_limits(
            pool: &sqlx::Pool<Db>,
            scope: $crate::Scope,
            id: uuid::Uuid,
            l: &$crate::Limits,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<()> {
            let rates = |sql| {
                sqlx::query(sql)
                    .bind(id_arg(id))
                    .bind(l.max_budget.map(|m| m.0))
                    .bind(l.budget_duration.as_deref())
                    .bind(l.soft_budget.map(|m| m.0))
                    .bind(l.rpm_limit)
                    .bind(l.tpm_limit)
                    .bind(l.max_parallel)
                    .bind(now.0)
            };
            let query = match scope {
                $crate::Scope::Key => rates(
                    "UPDATE virtual_keys SET max_budget = $2, budget_duration = $3, \
                     soft_budget = $4, rpm_limit = $5, tpm_limit = $6, max_parallel = $7, \
                     updated_at = $8, version = version + 1 WHERE id = $1",
                ),
                $crate::Scope::Team => rates(
                    "UPDATE teams SET max_budget = $2, budget_duration = $3, soft_budget = $4, \
                     rpm_limit = $5, tpm_limit = $6, max_parallel = $7, updated_at = $8 \
                     WHERE id = $1",
                ),
                $crate::Scope::User => {
                    if l.rpm_limit.is_some() || l.tpm_limit.is_some() || l.max_parallel.is_some()
                    {
                        return Err($crate::Error::Conflict(
                            "a user has a budget only: set rate limits on keys and teams"
                                .to_owned(),
                        ));
                    }
                    sqlx::query(
                        "UPDATE users SET max_budget = $2, budget_duration = $3, \
                         soft_budget = $4, updated_at = $5 WHERE id = $1",
                    )
                    .bind(id_arg(id))
                    .bind(l.max_budget.map(|m| m.0))
                    .bind(l.budget_duration.as_deref())
                    .bind(l.soft_budget.map(|m| m.0))
                    .bind(now.0)
                }
            };
            let done = query.execute(pool).await.map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn list_model_prices(
            pool: &sqlx::Pool<Db>,
        ) -> $crate::Result<Vec<$crate::ModelPrice>> {
            use $crate::rows::DbRow as _;
            sqlx::query(
                "SELECT model_pattern, input_price_per_mtok, output_price_per_mtok, \
                 cached_input_price_per_mtok, updated_at FROM model_prices \
                 WHERE source = 'admin' ORDER BY model_pattern",
            )
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map(|row| {
                Ok($crate::ModelPrice {
                    pattern: row.text("model_pattern")?,
                    input_per_mtok: tollgate_domain::Micros(row.int("input_price_per_mtok")?),
                    output_per_mtok: tollgate_domain::Micros(row.int("output_price_per_mtok")?),
                    cached_input_per_mtok: row
                        .opt_int("cached_input_price_per_mtok")?
                        .map(tollgate_domain::Micros),
                    updated_at: row.ts("updated_at")?,
                })
            })
            .collect()
        }

        pub(crate) async fn upsert_model_price(
            pool: &sqlx::Pool<Db>,
            p: &$crate::ModelPrice,
        ) -> $crate::Result<()> {
            sqlx::query(
                "INSERT INTO model_prices (model_pattern, input_price_per_mtok, \
                 output_price_per_mtok, cached_input_price_per_mtok, source, updated_at) \
                 VALUES ($1, $2, $3, $4, 'admin', $5) ON CONFLICT (model_pattern) DO UPDATE SET \
                 input_price_per_mtok = excluded.input_price_per_mtok, \
                 output_price_per_mtok = excluded.output_price_per_mtok, \
                 cached_input_price_per_mtok = excluded.cached_input_price_per_mtok, \
                 source = 'admin', updated_at = excluded.updated_at",
            )
            .bind(&p.pattern)
            .bind(p.input_per_mtok.0)
            .bind(p.output_per_mtok.0)
            .bind(p.cached_input_per_mtok.map(|m| m.0))
            .bind(p.updated_at.0)
            .execute(pool)
            .await
            .map_err($crate::Error::db)?;
            Ok(())
        }

        pub(crate) async fn delete_model_price(
            pool: &sqlx::Pool<Db>,
            pattern: &str,
        ) -> $crate::Result<()> {
            let done = sqlx::query("DELETE FROM model_prices WHERE model_pattern = $1")
                .bind(pattern)
                .execute(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }
    };
}
pub(crate) use limit_ops;
