//! The `Store` trait: everything the portal, admin API and gateway keep in the database.

use crate::error::Result;
use crate::spend_types::{
    BudgetStanding, LimitHolder, Limits, ModelPrice, PodTraffic, Scope, SpendRecord, SpendTotals,
    SpendWrite, WindowSpend,
};
use crate::types::{
    AuditQuery, Backend, CredentialSecret, GatewayNode, KeyQuery, KeyRecord, KeySettings,
    NewCredential, NewKey, NewSession, NewTeam, NewUser, Page, Readiness, SessionWithUser,
    TeamSettings, UserAuth,
};
use async_trait::async_trait;
use tokio::sync::broadcast;
use tollgate_domain::analytics::{LogEntry, LogPage, LogQuery, Rollup, RollupRow, SpendQuery};
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::model::{AuditEntry, Team, TeamMember, User, VirtualKey};
use tollgate_domain::routing::{Credential, Route};
use tollgate_domain::{CredentialId, KeyId, RouteId, TeamId, Timestamp, UserId};
use uuid::Uuid;

/// The database behind Tollgate, used as `Arc<dyn Store>`.
///
/// Rows are written as given: ids and timestamps are made by the caller. Lookups that find
/// nothing return [`Error::NotFound`](crate::Error::NotFound); taken unique fields return
/// [`Error::Conflict`](crate::Error::Conflict).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// Applies the embedded migrations not yet applied; a no-op when up to date.
    async fn migrate(&self) -> Result<()>;
    /// Whether the database answers, and how many migrations it has of how many expected.
    async fn readiness(&self) -> Result<Readiness>;
    /// Closes the pool, waiting for connections in use to be returned.
    async fn close(&self);

    // Users.
    /// Creates a user; `Conflict` if the email is taken.
    async fn create_user(&self, user: &NewUser) -> Result<User>;
    /// One user by id.
    async fn get_user(&self, id: UserId) -> Result<User>;
    /// One user and their password hash, by (normalised) email.
    async fn get_user_auth(&self, email: &str) -> Result<UserAuth>;
    /// How many users exist (0 means the installation needs bootstrapping).
    async fn count_users(&self) -> Result<i64>;
    /// Users ordered by email.
    async fn list_users(&self, page: &Page) -> Result<Vec<User>>;
    /// Replaces a user's password hash.
    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        must_change: bool,
        now: Timestamp,
    ) -> Result<()>;
    /// Changes a user's installation-wide role.
    async fn set_user_role(&self, id: UserId, role: GlobalRole, now: Timestamp) -> Result<()>;
    /// Disables or re-enables a user (sessions are not touched: see `delete_user_sessions`).
    async fn set_user_disabled(&self, id: UserId, disabled: bool, now: Timestamp) -> Result<()>;
    /// Deletes a user with their sessions and memberships; `Conflict` while they own keys.
    async fn delete_user(&self, id: UserId) -> Result<()>;

    // Sessions.
    /// Records a new session; `NotFound` if the user does not exist.
    async fn create_session(&self, session: &NewSession) -> Result<()>;
    /// The session with this token hash and its user, expired or not.
    async fn get_session(&self, token_hash: &str) -> Result<SessionWithUser>;
    /// Ends one session; `NotFound` if there is none.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Ends every session of a user; returns how many there were.
    async fn delete_user_sessions(&self, user_id: UserId) -> Result<u64>;
    /// Removes sessions whose `expires_at` is at or before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64>;

    // Teams.
    /// Creates a team; `Conflict` if the name is taken.
    async fn create_team(&self, team: &NewTeam) -> Result<Team>;
    /// One team by id.
    async fn get_team(&self, id: TeamId) -> Result<Team>;
    /// Teams ordered by name.
    async fn list_teams(&self, page: &Page) -> Result<Vec<Team>>;
    /// Adds a user to a team; `Conflict` if already a member, `NotFound` if either is missing.
    async fn add_team_member(
        &self,
        team_id: TeamId,
        user_id: UserId,
        role: TeamRole,
        now: Timestamp,
    ) -> Result<()>;
    /// Removes a user from a team; `NotFound` if they were not a member.
    async fn remove_team_member(&self, team_id: TeamId, user_id: UserId) -> Result<()>;
    /// A team's members, oldest first.
    async fn list_team_members(&self, team_id: TeamId) -> Result<Vec<TeamMember>>;
    /// The teams a user belongs to, oldest membership first.
    async fn memberships_of(&self, user_id: UserId) -> Result<Vec<TeamMember>>;
    /// Replaces a team's own settings; `Conflict` when the name is taken, `NotFound` when the
    /// team does not exist.
    async fn update_team(
        &self,
        id: TeamId,
        settings: &TeamSettings,
        now: Timestamp,
    ) -> Result<Team>;
    /// Replaces a team's self-service policy (an open one is stored as none).
    async fn set_team_policy(
        &self,
        id: TeamId,
        policy: &tollgate_domain::policy::MemberPolicy,
        now: Timestamp,
    ) -> Result<Team>;
    /// Deletes a team and its memberships; `Conflict` while it still has keys.
    async fn delete_team(&self, id: TeamId) -> Result<()>;
    /// Changes a member's role; `NotFound` when they are not a member.
    async fn set_team_member_role(
        &self,
        team_id: TeamId,
        user_id: UserId,
        role: TeamRole,
    ) -> Result<()>;
    /// A team's members with their accounts, by email.
    async fn team_roster(
        &self,
        team_id: TeamId,
    ) -> Result<Vec<tollgate_domain::model::RosterEntry>>;
    /// How many keys a user holds in a team (blocked ones included).
    async fn count_member_keys(&self, team_id: TeamId, user_id: UserId) -> Result<i64>;

    // Audit log.
    /// Appends one entry.
    async fn insert_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Entries matching the query, newest first.
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;

    // Configuration revision.
    /// The current configuration revision (0 before any change).
    async fn config_revision(&self) -> Result<i64>;
    /// Atomically adds one to the revision, tells the change feed, and returns the new value.
    async fn bump_config_revision(&self) -> Result<i64>;
    /// The change feed: every new revision, from this process and (on Postgres) every other.
    ///
    /// A revision may come more than once (after the feed reconnects it sends the current one,
    /// since notifications sent meanwhile are lost) and a slow receiver may see `Lagged`: either
    /// way, reload and compare with the revision applied. `Closed` follows [`Store::close`].
    /// On Postgres the first call starts one listening task; it fails if the database cannot
    /// be reached, and the next call tries again.
    async fn subscribe_changes(&self) -> Result<broadcast::Receiver<i64>>;

    // Virtual keys.
    /// Creates a key; `Conflict` if the hash is taken, `NotFound` if its team or user is missing.
    async fn create_key(&self, key: &NewKey) -> Result<VirtualKey>;
    /// One key by id.
    async fn get_key(&self, id: KeyId) -> Result<VirtualKey>;
    /// One key by the SHA-256 hex of its secret.
    async fn get_key_by_hash(&self, key_hash: &str) -> Result<VirtualKey>;
    /// Every key not blocked and not owned by a disabled user, with its hash (and a rotated
    /// key's previous one), oldest first: the gateway's cache. Expired keys are included: the
    /// gateway checks expiry at each request.
    async fn list_active_keys(&self) -> Result<Vec<KeyRecord>>;
    /// Keys matching `query`, newest first (id descending), at most `query.limit`: keyset
    /// pagination, as cheap on the last page as on the first.
    async fn find_keys(&self, query: &KeyQuery) -> Result<Vec<VirtualKey>>;
    /// Replaces a key's settings if its `version` is still `version`, bumping it; returns it as
    /// now stored. `Conflict` when someone saved it since, `NotFound` when it is gone.
    async fn update_key(
        &self,
        id: KeyId,
        settings: &KeySettings,
        version: i64,
        now: Timestamp,
    ) -> Result<VirtualKey>;
    /// Blocks or unblocks a key, bumping its `version`; returns it as now stored.
    async fn set_key_blocked(&self, id: KeyId, blocked: bool, now: Timestamp)
    -> Result<VirtualKey>;
    /// Deletes a key; its spend history stays.
    async fn delete_key(&self, id: KeyId) -> Result<()>;
    /// Gives a key a new secret, bumping its version. With `previous_until`, the secret replaced
    /// keeps working until then (the gateways read it from [`Store::list_active_keys`]);
    /// without, it stops at once, as does any earlier one still in its grace period.
    async fn rotate_key(
        &self,
        id: KeyId,
        secret: &crate::types::KeySecret,
        previous_until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<VirtualKey>;
    /// Turns the storing of a key's prompts and completions on or off, bumping its `version`;
    /// returns it as now stored.
    async fn set_key_store_prompts(
        &self,
        id: KeyId,
        on: bool,
        now: Timestamp,
    ) -> Result<VirtualKey>;
    /// The same for every key of a team.
    async fn set_team_store_prompts(&self, id: TeamId, on: bool, now: Timestamp) -> Result<()>;
    /// The teams whose keys store prompts and completions.
    async fn teams_storing_prompts(&self) -> Result<Vec<TeamId>>;

    // Routes.
    /// Creates a route and its deployments in one transaction (each deployment under this
    /// route's id); `Conflict` if the instance already has a route for this model and header
    /// match, `NotFound` if a deployment's credential is missing.
    async fn create_route(&self, route: &Route) -> Result<Route>;
    /// Every route of every instance, each with its deployments (oldest first), ordered by model
    /// name, instance, header match.
    async fn list_routes(&self) -> Result<Vec<Route>>;
    /// One route by id, with its deployments.
    async fn get_route(&self, id: RouteId) -> Result<Route>;
    /// Deletes a route and its deployments.
    async fn delete_route(&self, id: RouteId) -> Result<()>;
    /// Replaces a database route and its deployments (same id) in one transaction: `NotFound`
    /// when there is no such database route, `Conflict` when another route has its model,
    /// instance and header match; either way nothing changes.
    async fn replace_route(&self, route: &Route) -> Result<Route>;
    /// Replaces every route declared in `tollgate.toml` with these, in one transaction; they are
    /// stored with source `config` whatever their `source` says. Routes from the database stay.
    async fn replace_config_routes(&self, routes: &[Route]) -> Result<()>;

    // Upstream credentials.
    /// Stores a credential; `Conflict` if the name is taken.
    async fn create_credential(&self, credential: &NewCredential) -> Result<Credential>;
    /// Every credential, by name, without secrets.
    async fn list_credentials(&self) -> Result<Vec<Credential>>;
    /// A credential's secret, for the gateway to decrypt or resolve.
    async fn get_credential_secret(&self, id: CredentialId) -> Result<CredentialSecret>;
    /// Deletes a credential; `Conflict` while a deployment uses it.
    async fn delete_credential(&self, id: CredentialId) -> Result<()>;

    // Gateway heartbeats.
    /// Inserts or replaces the row of this (instance, pod).
    async fn upsert_gateway_node(&self, node: &GatewayNode) -> Result<()>;
    /// Every known gateway pod, by instance then pod.
    async fn list_gateway_nodes(&self) -> Result<Vec<GatewayNode>>;

    // The spend pipeline.
    /// Writes a batch in one transaction: spend log rows (a request id already present is
    /// skipped, so replaying a batch never counts twice), then, for the rows newly written only,
    /// the spend of their keys, teams and users, the budget-window counters and the daily and
    /// hourly rollups (by key, team, user, model, instance, provider and deployment, with a
    /// latency histogram).
    async fn record_spend(&self, batch: &[SpendRecord], now: Timestamp) -> Result<SpendWrite>;
    /// Window counters changed after `updated_after` whose window started at or after
    /// `min_window_start`, plus lifetime counters (window 0) changed after `updated_after`.
    async fn list_spend_windows(
        &self,
        updated_after: Timestamp,
        min_window_start: Timestamp,
    ) -> Result<Vec<WindowSpend>>;
    /// Deletes at most `limit` spend log rows older than `before`, and at most `limit` stored
    /// bodies (the rollups stay); returns how many rows of both went.
    async fn delete_spend_logs_before(&self, before: Timestamp, limit: u32) -> Result<u64>;
    /// Drops whole months of the spend log that end at or before `before` (Postgres keeps one
    /// partition per month; SQLite has none and drops nothing); returns the partitions' names.
    /// Retention calls this first, then deletes the rest row by row.
    async fn drop_spend_log_partitions(&self, before: Timestamp) -> Result<Vec<String>>;
    /// Requests and spend per (instance, pod, model asked for) logged at or after `since`, in
    /// that order, with how many this instance refused as not its own ([`PodTraffic`]).
    async fn pod_traffic(&self, since: Timestamp) -> Result<Vec<PodTraffic>>;
    /// Totals of the raw log and of the rollup, for consistency checks.
    async fn spend_totals(&self) -> Result<(SpendTotals, SpendTotals)>;

    // Spend analytics and the request log.
    /// Rollup rows of `rollup` whose bucket starts in `[rollup.bucket_start(query.from),
    /// query.to)`, narrowed by `query.filters`, one row per (bucket, value of `query.group_by`),
    /// ordered by bucket then group (byte-wise; no group first). `query.granularity` is not read:
    /// the caller folds the rows into its buckets ([`tollgate_domain::analytics::assemble`]).
    ///
    /// `group` is the value as text (a uuid's canonical text for key, team, user and
    /// deployment); `None` for rows without one ('' or the nil uuid) or when not grouped.
    /// `label` is a key's alias (else its masked form), a team's name, a user's email, a
    /// deployment's `<provider>/<upstream_model>`; `None` when the object is gone, and for the
    /// other groupings.
    async fn spend_rollup(&self, rollup: Rollup, query: &SpendQuery) -> Result<Vec<RollupRow>>;
    /// The same rows as [`Store::spend_rollup`] summed over the whole range: one row per value
    /// of `query.group_by` (one row when not grouped, none when nothing matched), each with
    /// `bucket` = `rollup.bucket_start(query.from)`, ordered by group. For totals per group
    /// (the dashboard's top five) without a row per bucket to fetch and fold.
    async fn spend_group_totals(
        &self,
        rollup: Rollup,
        query: &SpendQuery,
    ) -> Result<Vec<RollupRow>>;
    /// The rows of [`Store::spend_rollup`] of only these values of `query.group_by` (as
    /// [`RollupRow::group`] gives them; `""` is the rows without one): the points of the
    /// largest groups of a chart, without reading every other group's.
    async fn spend_rollup_of(
        &self,
        rollup: Rollup,
        query: &SpendQuery,
        groups: &[String],
    ) -> Result<Vec<RollupRow>>;
    /// One page of the request log, newest first (`(ts, request_id)` descending), filtered;
    /// `next` is set when more rows may follow. `query.after` continues strictly after (older
    /// than) that row: keyset pagination, as cheap on the last page as on the first. The model
    /// filter matches the model asked for (`route_model`). `query` is not validated here.
    async fn list_spend_logs(&self, query: &LogQuery) -> Result<LogPage>;
    /// One request of the log by its request id; `NotFound` when absent (or removed by
    /// retention). `key_label` as in [`Store::list_spend_logs`].
    async fn get_spend_log(&self, request_id: &str) -> Result<LogEntry>;

    // Budgets and limits of teams and users (keys carry theirs).
    /// Budgets (of keys, teams and users) whose spend in a window starting at or after
    /// `min_window_start`, or in the lifetime window, is at least `percent` % of the maximum.
    /// Windows are not judged current here: the caller computes each owner's current window
    /// from its period ([`tollgate_domain::budget::window`]) and keeps that one.
    async fn budgets_near_limit(
        &self,
        percent: i64,
        min_window_start: Timestamp,
    ) -> Result<Vec<BudgetStanding>>;
    /// Every team and user with a budget or limit set.
    async fn list_limit_holders(&self) -> Result<Vec<LimitHolder>>;
    /// Replaces the budget and limit settings of a key, team or user (a user's rate fields
    /// must be `None`). `NotFound` when it does not exist.
    async fn set_limits(
        &self,
        scope: Scope,
        id: Uuid,
        limits: &Limits,
        now: Timestamp,
    ) -> Result<()>;

    // Prices.
    /// Admin price overrides, by pattern.
    async fn list_model_prices(&self) -> Result<Vec<ModelPrice>>;
    /// Sets the override for a pattern.
    async fn upsert_model_price(&self, price: &ModelPrice) -> Result<()>;
    /// Removes an override; `NotFound` when there is none.
    async fn delete_model_price(&self, pattern: &str) -> Result<()>;
}
