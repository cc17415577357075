//! Queries on `teams` and `team_members`.

/// Free functions over `&Pool<Db>` for teams; see [`crate::ops`] for what must be in scope.
macro_rules! team_ops {
    () => {
        pub(crate) async fn create_team(
            pool: &sqlx::Pool<Db>,
            t: &$crate::NewTeam,
        ) -> $crate::Result<tollgate_domain::model::Team> {
            sqlx::query(
                "INSERT INTO teams (id, name, max_budget, budget_duration, rpm_limit, tpm_limit, \
                 spend, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7)",
            )
            .bind(id_arg(t.id.0))
            .bind(&t.settings.name)
            .bind(t.settings.max_budget.map(|m| m.0))
            .bind(t.settings.budget_duration.as_deref())
            .bind(t.settings.rpm_limit)
            .bind(t.settings.tpm_limit)
            .bind(t.now.0)
            .execute(pool)
            .await
            .map_err($crate::Error::unique(&[(
                "name",
                "a team with this name already exists",
            )]))?;
            Ok(tollgate_domain::model::Team {
                id: t.id,
                name: t.settings.name.clone(),
                max_budget: t.settings.max_budget,
                budget_duration: t.settings.budget_duration.clone(),
                rpm_limit: t.settings.rpm_limit,
                tpm_limit: t.settings.tpm_limit,
                spend: tollgate_domain::Micros::ZERO,
                policy: Default::default(),
                created_at: t.now,
                updated_at: t.now,
            })
        }

        pub(crate) async fn get_team(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::TeamId,
        ) -> $crate::Result<tollgate_domain::model::Team> {
            let row = sqlx::query(concat!(
                "SELECT ",
                $crate::rows::team_cols!(),
                " FROM teams WHERE id = $1"
            ))
            .bind(id_arg(id.0))
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?;
            $crate::rows::team(&row.ok_or($crate::Error::NotFound)?)
        }

        pub(crate) async fn list_teams(
            pool: &sqlx::Pool<Db>,
            page: &$crate::Page,
        ) -> $crate::Result<Vec<tollgate_domain::model::Team>> {
            $crate::ops::fetch_page!(
                pool,
                concat!(
                    "SELECT ",
                    $crate::rows::team_cols!(),
                    " FROM teams ORDER BY name LIMIT $1 OFFSET $2"
                ),
                page,
                $crate::rows::team
            )
        }

        pub(crate) async fn add_team_member(
            pool: &sqlx::Pool<Db>,
            team_id: tollgate_domain::TeamId,
            user_id: tollgate_domain::UserId,
            role: tollgate_domain::authz::TeamRole,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<()> {
            sqlx::query(
                "INSERT INTO team_members (team_id, user_id, role, added_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id_arg(team_id.0))
            .bind(id_arg(user_id.0))
            .bind(role.as_str())
            .bind(now.0)
            .execute(pool)
            .await
            .map_err($crate::Error::unique(&[(
                "team_members",
                "the user is already a member of this team",
            )]))?;
            Ok(())
        }

        pub(crate) async fn remove_team_member(
            pool: &sqlx::Pool<Db>,
            team_id: tollgate_domain::TeamId,
            user_id: tollgate_domain::UserId,
        ) -> $crate::Result<()> {
            let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(id_arg(team_id.0))
                .bind(id_arg(user_id.0))
                .execute(pool)
                .await
                .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn list_team_members(
            pool: &sqlx::Pool<Db>,
            team_id: tollgate_domain::TeamId,
        ) -> $crate::Result<Vec<tollgate_domain::model::TeamMember>> {
            sqlx::query(
                "SELECT team_id, user_id, role, added_at FROM team_members WHERE team_id = $1 \
                 ORDER BY added_at, user_id",
            )
            .bind(id_arg(team_id.0))
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map($crate::rows::team_member)
            .collect()
        }

        pub(crate) async fn memberships_of(
            pool: &sqlx::Pool<Db>,
            user_id: tollgate_domain::UserId,
        ) -> $crate::Result<Vec<tollgate_domain::model::TeamMember>> {
            sqlx::query(
                "SELECT team_id, user_id, role, added_at FROM team_members WHERE user_id = $1 \
                 ORDER BY added_at, team_id",
            )
            .bind(id_arg(user_id.0))
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map($crate::rows::team_member)
            .collect()
        }

        pub(crate) async fn update_team(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::TeamId,
            t: &$crate::TeamSettings,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<tollgate_domain::model::Team> {
            let row = sqlx::query(concat!(
                "UPDATE teams SET name = $2, max_budget = $3, budget_duration = $4, \
                 rpm_limit = $5, tpm_limit = $6, updated_at = $7 WHERE id = $1 RETURNING ",
                $crate::rows::team_cols!()
            ))
            .bind(id_arg(id.0))
            .bind(&t.name)
            .bind(t.max_budget.map(|m| m.0))
            .bind(t.budget_duration.as_deref())
            .bind(t.rpm_limit)
            .bind(t.tpm_limit)
            .bind(now.0)
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::unique(&[(
                "name",
                "a team with this name already exists",
            )]))?;
            $crate::rows::team(&row.ok_or($crate::Error::NotFound)?)
        }

        pub(crate) async fn set_team_policy(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::TeamId,
            policy: &tollgate_domain::policy::MemberPolicy,
            now: tollgate_domain::Timestamp,
        ) -> $crate::Result<tollgate_domain::model::Team> {
            // An open policy is stored as NULL, as a team that never had one.
            let json = (!policy.is_open())
                .then(|| serde_json::to_string(policy))
                .transpose()
                .map_err(|e| $crate::Error::Internal(e.to_string()))?;
            let row = sqlx::query(concat!(
                "UPDATE teams SET member_policy = $2, updated_at = $3 WHERE id = $1 RETURNING ",
                $crate::rows::team_cols!()
            ))
            .bind(id_arg(id.0))
            .bind(json)
            .bind(now.0)
            .fetch_optional(pool)
            .await
            .map_err($crate::Error::db)?;
            $crate::rows::team(&row.ok_or($crate::Error::NotFound)?)
        }

        pub(crate) async fn delete_team(
            pool: &sqlx::Pool<Db>,
            id: tollgate_domain::TeamId,
        ) -> $crate::Result<()> {
            let done = sqlx::query("DELETE FROM teams WHERE id = $1")
                .bind(id_arg(id.0))
                .execute(pool)
                .await
                .map_err($crate::Error::delete(
                    "the team still has virtual keys: delete them first",
                ))?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn set_team_member_role(
            pool: &sqlx::Pool<Db>,
            team_id: tollgate_domain::TeamId,
            user_id: tollgate_domain::UserId,
            role: tollgate_domain::authz::TeamRole,
        ) -> $crate::Result<()> {
            let done = sqlx::query(
                "UPDATE team_members SET role = $3 WHERE team_id = $1 AND user_id = $2",
            )
            .bind(id_arg(team_id.0))
            .bind(id_arg(user_id.0))
            .bind(role.as_str())
            .execute(pool)
            .await
            .map_err($crate::Error::db)?;
            $crate::ops::one_row(done.rows_affected())
        }

        pub(crate) async fn team_roster(
            pool: &sqlx::Pool<Db>,
            team_id: tollgate_domain::TeamId,
        ) -> $crate::Result<Vec<tollgate_domain::model::RosterEntry>> {
            sqlx::query(concat!(
                "SELECT m.role AS member_role, m.added_at, ",
                $crate::rows::user_cols_u!(),
                " FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 \
                 ORDER BY u.email"
            ))
            .bind(id_arg(team_id.0))
            .fetch_all(pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map($crate::rows::roster_entry)
            .collect()
        }

        pub(crate) async fn count_member_keys(
            pool: &sqlx::Pool<Db>,
            team_id: tollgate_domain::TeamId,
            user_id: tollgate_domain::UserId,
        ) -> $crate::Result<i64> {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM virtual_keys WHERE team_id = $1 AND user_id = $2",
            )
            .bind(id_arg(team_id.0))
            .bind(id_arg(user_id.0))
            .fetch_one(pool)
            .await
            .map_err($crate::Error::db)?;
            $crate::rows::DbRow::int(&row, "n")
        }
    };
}
pub(crate) use team_ops;
