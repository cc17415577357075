//! The queries, written once and compiled for each backend by macro.
//!
//! Every statement is SQL that both SQLite and Postgres accept: placeholders are `$1`, `$2` ...
//! (SQLite reads them as numbered parameters), upserts use `ON CONFLICT ... DO UPDATE`, and
//! single-statement updates use `RETURNING`. The only difference left is the uuid column type,
//! so a backend module that invokes [`store_ops!`] must have in scope:
//!
//! - `Db`: its `sqlx::Database` (`sqlx::Sqlite` or `sqlx::Postgres`);
//! - `id_arg(uuid::Uuid) -> impl Encode + Type`: how it binds a uuid (`String` or `Uuid`);
//! - `impl DbRow for` its row type (see [`crate::rows`]);
//! - `BACKEND`, `MIGRATOR` and `MIGRATIONS_TABLE_EXISTS` (see [`meta`]), `BUMP_REVISION` (see
//!   [`gateway`]) and `SNAPSHOT_READ` (see [`routes`]);
//! - `SPEND_LOG_UNIQUE`, `ensure_log_partitions` and `drop_log_partitions`: how `spend_logs` is
//!   kept (one table on SQLite, monthly partitions on Postgres; see [`spend`]);
//! - `alias_contains`: how a key's alias is searched for a substring (see [`keys`]);
//! - `SUM_BIGINT`: the aggregate that sums a `bigint` rollup column to a `bigint` (see
//!   [`rollups`]).
//!
//! [`impl_store!`] also needs the backend type to have a `changes` field with `subscribe`,
//! `published` and `close` (see [`crate::changes`]).
//!
//! Macros rather than generic functions: sqlx code generic over the database needs a
//! higher-ranked bound for every type and executor it touches, on every function.

pub(crate) mod audit;
pub(crate) mod credentials;
pub(crate) mod gateway;
pub(crate) mod keys;
pub(crate) mod limits;
pub(crate) mod logs;
pub(crate) mod meta;
pub(crate) mod rollups;
pub(crate) mod routes;
pub(crate) mod sessions;
pub(crate) mod spend;
pub(crate) mod teams;
pub(crate) mod users;

use crate::error::{Error, Result};
use crate::types::Page;
use std::collections::HashMap;
use tollgate_domain::RouteId;
use tollgate_domain::routing::{Deployment, Route};

/// `LIMIT` and `OFFSET` as the `BIGINT`s both databases take.
pub(crate) fn limit_offset(page: &Page) -> (i64, i64) {
    (
        i64::from(page.limit),
        i64::try_from(page.offset).unwrap_or(i64::MAX),
    )
}

/// One page of a `SELECT ... LIMIT $1 OFFSET $2`, each row read with `$map`: written once for
/// every paginated list.
macro_rules! fetch_page {
    ($pool:expr, $sql:expr, $page:expr, $map:path) => {{
        let (limit, offset) = $crate::ops::limit_offset($page);
        sqlx::query($sql)
            .bind(limit)
            .bind(offset)
            .fetch_all($pool)
            .await
            .map_err($crate::Error::db)?
            .iter()
            .map($map)
            .collect()
    }};
}
pub(crate) use fetch_page;

/// An update or delete by key: it touched one row, or the row does not exist.
pub(crate) fn one_row(rows_affected: u64) -> Result<()> {
    if rows_affected == 0 {
        Err(Error::NotFound)
    } else {
        Ok(())
    }
}

/// A route as `create_route` stored it: its deployments under its own id.
pub(crate) fn as_stored(r: &Route) -> Route {
    let mut stored = r.clone();
    for d in &mut stored.deployments {
        d.route_id = r.id;
    }
    stored
}

/// Hands each deployment to its route, keeping the deployments' order. Deployments of routes not
/// in `routes` are dropped.
pub(crate) fn attach_deployments(
    mut routes: Vec<Route>,
    deployments: Vec<Deployment>,
) -> Vec<Route> {
    let index: HashMap<RouteId, usize> =
        routes.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    for d in deployments {
        if let Some(&i) = index.get(&d.route_id) {
            routes[i].deployments.push(d);
        }
    }
    routes
}

/// Defines every shared query as a `pub(crate) async fn` in the invoking module.
macro_rules! store_ops {
    () => {
        $crate::ops::meta::meta_ops!();
        $crate::ops::users::user_ops!();
        $crate::ops::sessions::session_ops!();
        $crate::ops::teams::team_ops!();
        $crate::ops::audit::audit_ops!();
        $crate::ops::gateway::gateway_ops!();
        $crate::ops::keys::key_ops!();
        $crate::ops::routes::route_ops!();
        $crate::ops::credentials::credential_ops!();
        $crate::ops::spend::spend_ops!();
        $crate::ops::rollups::rollup_ops!();
        $crate::ops::logs::log_ops!();
        $crate::ops::limits::limit_ops!();
    };
}
pub(crate) use store_ops;

/// Implements [`crate::Store`] for a backend type with a `pool` field, forwarding to the
/// shared queries defined (by [`store_ops!`]) in module `$ops`, next to its `BACKEND`.
macro_rules! impl_store {
    ($store:ty, $ops:ident) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> $crate::Backend {
                $ops::BACKEND
            }
            async fn migrate(&self) -> $crate::Result<()> {
                $ops::migrate(&self.pool).await
            }
            async fn readiness(&self) -> $crate::Result<$crate::Readiness> {
                $ops::readiness(&self.pool).await
            }
            async fn close(&self) {
                self.changes.close().await;
                self.pool.close().await
            }

            async fn create_user(
                &self,
                u: &$crate::NewUser,
            ) -> $crate::Result<tollgate_domain::model::User> {
                $ops::create_user(&self.pool, u).await
            }
            async fn get_user(
                &self,
                id: tollgate_domain::UserId,
            ) -> $crate::Result<tollgate_domain::model::User> {
                $ops::get_user(&self.pool, id).await
            }
            async fn get_user_auth(&self, email: &str) -> $crate::Result<$crate::UserAuth> {
                $ops::get_user_auth(&self.pool, email).await
            }
            async fn count_users(&self) -> $crate::Result<i64> {
                $ops::count_users(&self.pool).await
            }
            async fn list_users(
                &self,
                page: &$crate::Page,
            ) -> $crate::Result<Vec<tollgate_domain::model::User>> {
                $ops::list_users(&self.pool, page).await
            }
            async fn set_password(
                &self,
                id: tollgate_domain::UserId,
                hash: &str,
                must_change: bool,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<()> {
                $ops::set_password(&self.pool, id, hash, must_change, now).await
            }
            async fn set_user_role(
                &self,
                id: tollgate_domain::UserId,
                role: tollgate_domain::authz::GlobalRole,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<()> {
                $ops::set_user_role(&self.pool, id, role, now).await
            }
            async fn set_user_disabled(
                &self,
                id: tollgate_domain::UserId,
                disabled: bool,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<()> {
                $ops::set_user_disabled(&self.pool, id, disabled, now).await
            }
            async fn delete_user(&self, id: tollgate_domain::UserId) -> $crate::Result<()> {
                $ops::delete_user(&self.pool, id).await
            }

            async fn create_session(&self, s: &$crate::NewSession) -> $crate::Result<()> {
                $ops::create_session(&self.pool, s).await
            }
            async fn get_session(
                &self,
                token_hash: &str,
            ) -> $crate::Result<$crate::SessionWithUser> {
                $ops::get_session(&self.pool, token_hash).await
            }
            async fn delete_session(&self, token_hash: &str) -> $crate::Result<()> {
                $ops::delete_session(&self.pool, token_hash).await
            }
            async fn delete_user_sessions(
                &self,
                user_id: tollgate_domain::UserId,
            ) -> $crate::Result<u64> {
                $ops::delete_user_sessions(&self.pool, user_id).await
            }
            async fn delete_expired_sessions(
                &self,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<u64> {
                $ops::delete_expired_sessions(&self.pool, now).await
            }

            async fn create_team(
                &self,
                t: &$crate::NewTeam,
            ) -> $crate::Result<tollgate_domain::model::Team> {
                $ops::create_team(&self.pool, t).await
            }
            async fn get_team(
                &self,
                id: tollgate_domain::TeamId,
            ) -> $crate::Result<tollgate_domain::model::Team> {
                $ops::get_team(&self.pool, id).await
            }
            async fn list_teams(
                &self,
                page: &$crate::Page,
            ) -> $crate::Result<Vec<tollgate_domain::model::Team>> {
                $ops::list_teams(&self.pool, page).await
            }
            async fn add_team_member(
                &self,
                team_id: tollgate_domain::TeamId,
                user_id: tollgate_domain::UserId,
                role: tollgate_domain::authz::TeamRole,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<()> {
                $ops::add_team_member(&self.pool, team_id, user_id, role, now).await
            }
            async fn update_team(
                &self,
                id: tollgate_domain::TeamId,
                settings: &$crate::TeamSettings,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<tollgate_domain::model::Team> {
                $ops::update_team(&self.pool, id, settings, now).await
            }
            async fn set_team_policy(
                &self,
                id: tollgate_domain::TeamId,
                policy: &tollgate_domain::policy::MemberPolicy,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<tollgate_domain::model::Team> {
                $ops::set_team_policy(&self.pool, id, policy, now).await
            }
            async fn delete_team(&self, id: tollgate_domain::TeamId) -> $crate::Result<()> {
                $ops::delete_team(&self.pool, id).await
            }
            async fn set_team_member_role(
                &self,
                team_id: tollgate_domain::TeamId,
                user_id: tollgate_domain::UserId,
                role: tollgate_domain::authz::TeamRole,
            ) -> $crate::Result<()> {
                $ops::set_team_member_role(&self.pool, team_id, user_id, role).await
            }
            async fn team_roster(
                &self,
                team_id: tollgate_domain::TeamId,
            ) -> $crate::Result<Vec<tollgate_domain::model::RosterEntry>> {
                $ops::team_roster(&self.pool, team_id).await
            }
            async fn count_member_keys(
                &self,
                team_id: tollgate_domain::TeamId,
                user_id: tollgate_domain::UserId,
            ) -> $crate::Result<i64> {
                $ops::count_member_keys(&self.pool, team_id, user_id).await
            }
            async fn rotate_key(
                &self,
                id: tollgate_domain::KeyId,
                secret: &$crate::KeySecret,
                previous_until: Option<tollgate_domain::Timestamp>,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
                $ops::rotate_key(&self.pool, id, secret, previous_until, now).await
            }
            async fn replace_route(
                &self,
                route: &tollgate_domain::routing::Route,
            ) -> $crate::Result<tollgate_domain::routing::Route> {
                $ops::replace_route(&self.pool, route).await
            }
            async fn remove_team_member(
                &self,
                team_id: tollgate_domain::TeamId,
                user_id: tollgate_domain::UserId,
            ) -> $crate::Result<()> {
                $ops::remove_team_member(&self.pool, team_id, user_id).await
            }
            async fn list_team_members(
                &self,
                team_id: tollgate_domain::TeamId,
            ) -> $crate::Result<Vec<tollgate_domain::model::TeamMember>> {
                $ops::list_team_members(&self.pool, team_id).await
            }
            async fn memberships_of(
                &self,
                user_id: tollgate_domain::UserId,
            ) -> $crate::Result<Vec<tollgate_domain::model::TeamMember>> {
                $ops::memberships_of(&self.pool, user_id).await
            }

            async fn insert_audit(
                &self,
                entry: &tollgate_domain::model::AuditEntry,
            ) -> $crate::Result<()> {
                $ops::insert_audit(&self.pool, entry).await
            }
            async fn list_audit(
                &self,
                query: &$crate::AuditQuery,
            ) -> $crate::Result<Vec<tollgate_domain::model::AuditEntry>> {
                $ops::list_audit(&self.pool, query).await
            }

            async fn config_revision(&self) -> $crate::Result<i64> {
                $ops::config_revision(&self.pool).await
            }
            async fn bump_config_revision(&self) -> $crate::Result<i64> {
                let revision = $ops::bump_config_revision(&self.pool).await?;
                self.changes.published(revision);
                Ok(revision)
            }

            async fn upsert_gateway_node(&self, node: &$crate::GatewayNode) -> $crate::Result<()> {
                $ops::upsert_gateway_node(&self.pool, node).await
            }
            async fn list_gateway_nodes(&self) -> $crate::Result<Vec<$crate::GatewayNode>> {
                $ops::list_gateway_nodes(&self.pool).await
            }
            async fn subscribe_changes(
                &self,
            ) -> $crate::Result<tokio::sync::broadcast::Receiver<i64>> {
                self.changes.subscribe().await
            }

            async fn create_key(
                &self,
                key: &$crate::NewKey,
            ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
                $ops::create_key(&self.pool, key).await
            }
            async fn get_key(
                &self,
                id: tollgate_domain::KeyId,
            ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
                $ops::get_key(&self.pool, id).await
            }
            async fn get_key_by_hash(
                &self,
                key_hash: &str,
            ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
                $ops::get_key_by_hash(&self.pool, key_hash).await
            }
            async fn list_active_keys(&self) -> $crate::Result<Vec<$crate::KeyRecord>> {
                $ops::list_active_keys(&self.pool).await
            }
            async fn update_key(
                &self,
                id: tollgate_domain::KeyId,
                settings: &$crate::KeySettings,
                version: i64,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
                $ops::update_key(&self.pool, id, settings, version, now).await
            }
            async fn find_keys(
                &self,
                query: &$crate::KeyQuery,
            ) -> $crate::Result<Vec<tollgate_domain::model::VirtualKey>> {
                $ops::find_keys(&self.pool, query).await
            }
            async fn set_key_blocked(
                &self,
                id: tollgate_domain::KeyId,
                blocked: bool,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
                $ops::set_key_blocked(&self.pool, id, blocked, now).await
            }
            async fn delete_key(&self, id: tollgate_domain::KeyId) -> $crate::Result<()> {
                $ops::delete_key(&self.pool, id).await
            }
            async fn set_key_store_prompts(
                &self,
                id: tollgate_domain::KeyId,
                on: bool,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<tollgate_domain::model::VirtualKey> {
                $ops::set_key_store_prompts(&self.pool, id, on, now).await
            }
            async fn set_team_store_prompts(
                &self,
                id: tollgate_domain::TeamId,
                on: bool,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<()> {
                $ops::set_team_store_prompts(&self.pool, id, on, now).await
            }
            async fn teams_storing_prompts(&self) -> $crate::Result<Vec<tollgate_domain::TeamId>> {
                $ops::teams_storing_prompts(&self.pool).await
            }

            async fn create_route(
                &self,
                route: &tollgate_domain::routing::Route,
            ) -> $crate::Result<tollgate_domain::routing::Route> {
                $ops::create_route(&self.pool, route).await
            }
            async fn list_routes(&self) -> $crate::Result<Vec<tollgate_domain::routing::Route>> {
                $ops::list_routes(&self.pool).await
            }
            async fn get_route(
                &self,
                id: tollgate_domain::RouteId,
            ) -> $crate::Result<tollgate_domain::routing::Route> {
                $ops::get_route(&self.pool, id).await
            }
            async fn delete_route(&self, id: tollgate_domain::RouteId) -> $crate::Result<()> {
                $ops::delete_route(&self.pool, id).await
            }
            async fn replace_config_routes(
                &self,
                routes: &[tollgate_domain::routing::Route],
            ) -> $crate::Result<()> {
                $ops::replace_config_routes(&self.pool, routes).await
            }

            async fn create_credential(
                &self,
                credential: &$crate::NewCredential,
            ) -> $crate::Result<tollgate_domain::routing::Credential> {
                $ops::create_credential(&self.pool, credential).await
            }
            async fn list_credentials(
                &self,
            ) -> $crate::Result<Vec<tollgate_domain::routing::Credential>> {
                $ops::list_credentials(&self.pool).await
            }
            async fn get_credential_secret(
                &self,
                id: tollgate_domain::CredentialId,
            ) -> $crate::Result<$crate::CredentialSecret> {
                $ops::get_credential_secret(&self.pool, id).await
            }
            async fn delete_credential(
                &self,
                id: tollgate_domain::CredentialId,
            ) -> $crate::Result<()> {
                $ops::delete_credential(&self.pool, id).await
            }
            async fn record_spend(
                &self,
                batch: &[$crate::SpendRecord],
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<$crate::SpendWrite> {
                $ops::record_spend(&self.pool, batch, now).await
            }
            async fn list_spend_windows(
                &self,
                updated_after: tollgate_domain::Timestamp,
                min_window_start: tollgate_domain::Timestamp,
            ) -> $crate::Result<Vec<$crate::WindowSpend>> {
                $ops::list_spend_windows(&self.pool, updated_after, min_window_start).await
            }
            async fn delete_spend_logs_before(
                &self,
                before: tollgate_domain::Timestamp,
                limit: u32,
            ) -> $crate::Result<u64> {
                $ops::delete_spend_logs_before(&self.pool, before, limit).await
            }
            async fn drop_spend_log_partitions(
                &self,
                before: tollgate_domain::Timestamp,
            ) -> $crate::Result<Vec<String>> {
                $ops::drop_log_partitions(&self.pool, before).await
            }
            async fn pod_traffic(
                &self,
                since: tollgate_domain::Timestamp,
            ) -> $crate::Result<Vec<$crate::PodTraffic>> {
                $ops::pod_traffic(&self.pool, since).await
            }
            async fn spend_totals(
                &self,
            ) -> $crate::Result<($crate::SpendTotals, $crate::SpendTotals)> {
                $ops::spend_totals(&self.pool).await
            }
            async fn spend_rollup(
                &self,
                rollup: tollgate_domain::analytics::Rollup,
                query: &tollgate_domain::analytics::SpendQuery,
            ) -> $crate::Result<Vec<tollgate_domain::analytics::RollupRow>> {
                $ops::spend_rollup(&self.pool, rollup, query).await
            }
            async fn spend_group_totals(
                &self,
                rollup: tollgate_domain::analytics::Rollup,
                query: &tollgate_domain::analytics::SpendQuery,
            ) -> $crate::Result<Vec<tollgate_domain::analytics::RollupRow>> {
                $ops::spend_group_totals(&self.pool, rollup, query).await
            }
            async fn spend_rollup_of(
                &self,
                rollup: tollgate_domain::analytics::Rollup,
                query: &tollgate_domain::analytics::SpendQuery,
                groups: &[String],
            ) -> $crate::Result<Vec<tollgate_domain::analytics::RollupRow>> {
                $ops::spend_rollup_of(&self.pool, rollup, query, groups).await
            }
            async fn list_spend_logs(
                &self,
                query: &tollgate_domain::analytics::LogQuery,
            ) -> $crate::Result<tollgate_domain::analytics::LogPage> {
                $ops::list_spend_logs(&self.pool, query).await
            }
            async fn get_spend_log(
                &self,
                request_id: &str,
            ) -> $crate::Result<tollgate_domain::analytics::LogEntry> {
                $ops::get_spend_log(&self.pool, request_id).await
            }
            async fn budgets_near_limit(
                &self,
                percent: i64,
                min_window_start: tollgate_domain::Timestamp,
            ) -> $crate::Result<Vec<$crate::BudgetStanding>> {
                $ops::budgets_near_limit(&self.pool, percent, min_window_start).await
            }
            async fn list_limit_holders(&self) -> $crate::Result<Vec<$crate::LimitHolder>> {
                $ops::list_limit_holders(&self.pool).await
            }
            async fn set_limits(
                &self,
                scope: $crate::Scope,
                id: uuid::Uuid,
                limits: &$crate::Limits,
                now: tollgate_domain::Timestamp,
            ) -> $crate::Result<()> {
                $ops::set_limits(&self.pool, scope, id, limits, now).await
            }
            async fn list_model_prices(&self) -> $crate::Result<Vec<$crate::ModelPrice>> {
                $ops::list_model_prices(&self.pool).await
            }
            async fn upsert_model_price(&self, price: &$crate::ModelPrice) -> $crate::Result<()> {
                $ops::upsert_model_price(&self.pool, price).await
            }
            async fn delete_model_price(&self, pattern: &str) -> $crate::Result<()> {
                $ops::delete_model_price(&self.pool, pattern).await
            }
        }
    };
}
pub(crate) use impl_store;
