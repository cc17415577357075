//! The `Store` trait: everything the portal, admin API and gateway keep in the database.

use crate::error::Result;
use crate::types::{
    AuditQuery, Backend, GatewayNode, NewSession, NewTeam, NewUser, Page, Readiness,
    SessionWithUser, UserAuth,
};
use async_trait::async_trait;
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::model::{AuditEntry, Team, TeamMember, User};
use tollgate_domain::{TeamId, Timestamp, UserId};

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

    // Audit log.
    /// Appends one entry.
    async fn insert_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Entries matching the query, newest first.
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;

    // Configuration revision.
    /// The current configuration revision (0 before any change).
    async fn config_revision(&self) -> Result<i64>;
    /// Atomically adds one to the revision and returns the new value.
    async fn bump_config_revision(&self) -> Result<i64>;

    // Gateway heartbeats.
    /// Inserts or replaces the row of this (instance, pod).
    async fn upsert_gateway_node(&self, node: &GatewayNode) -> Result<()>;
    /// Every known gateway pod, by instance then pod.
    async fn list_gateway_nodes(&self) -> Result<Vec<GatewayNode>>;
}
