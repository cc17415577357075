//! What goes into and comes out of the store besides the domain entities.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use tollgate_domain::authz::GlobalRole;
use tollgate_domain::model::{User, VirtualKey};
use tollgate_domain::{CredentialId, KeyId, Micros, SessionId, TeamId, Timestamp, UserId};

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// A local file: the single-node default.
    Sqlite,
    /// A shared server: the cluster mode.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to open the connection pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// How long an operation waits for a connection (and `connect` for the first one).
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Whether the database answers and how far its schema is migrated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// Which database this is.
    pub backend: Backend,
    /// Whether a trivial query succeeded.
    pub reachable: bool,
    /// Migrations recorded as applied in the database (0 when unreachable).
    pub migrations_applied: usize,
    /// Migrations built into this binary.
    pub migrations_expected: usize,
}

impl Readiness {
    /// Reachable and fully migrated.
    pub fn is_ready(&self) -> bool {
        self.reachable && self.migrations_applied == self.migrations_expected
    }
}

/// A window of a list ordered by the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// At most this many rows.
    pub limit: u32,
    /// Rows skipped first.
    pub offset: u64,
}

impl Page {
    /// The first `limit` rows.
    pub fn first(limit: u32) -> Page {
        Page { limit, offset: 0 }
    }
}

impl Default for Page {
    fn default() -> Self {
        Page::first(100)
    }
}

/// A user to create; `id` and `now` are made by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// The new row's id.
    pub id: UserId,
    /// Normalised (trimmed, lower-case) by the caller.
    pub email: String,
    /// The display name.
    pub name: String,
    /// The installation-wide role.
    pub role: GlobalRole,
    /// The password hash (PHC string); never the password.
    pub password_hash: String,
    /// Whether the user must choose a new password at the next sign-in.
    pub must_change_password: bool,
    /// Written as both `created_at` and `updated_at`.
    pub now: Timestamp,
}

/// A user with the hash to check a password against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAuth {
    /// The user.
    pub user: User,
    /// The stored password hash.
    pub password_hash: String,
}

/// A session to create; the cookie token itself is never stored, only its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// The row id.
    pub id: SessionId,
    /// Whose session; `None` for a master-key session.
    pub user_id: Option<UserId>,
    /// SHA-256 hex of the cookie token.
    pub token_hash: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops being valid.
    pub expires_at: Timestamp,
    /// The client address at sign-in, if known.
    pub ip: Option<String>,
    /// The client's `User-Agent` at sign-in, if sent.
    pub user_agent: Option<String>,
}

/// A session row, without its token hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The row id.
    pub id: SessionId,
    /// Whose session; `None` for a master-key session.
    pub user_id: Option<UserId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops being valid (checked by the caller).
    pub expires_at: Timestamp,
}

/// A session and the user it belongs to, read together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionWithUser {
    /// The session.
    pub session: Session,
    /// Its user, whatever their state (the caller checks `disabled`); `None` for a master-key session.
    pub user: Option<User>,
}

/// A team's own settings: what creating it sets and an edit replaces (its policy, members,
/// spend and id are apart).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeamSettings {
    /// Unique among teams.
    pub name: String,
    /// Spend limit per budget window.
    pub max_budget: Option<Micros>,
    /// `1d`, `7d`, `30d`, `1mo`; `None`: the budget never resets.
    pub budget_duration: Option<String>,
    /// Requests per minute for the whole team.
    pub rpm_limit: Option<i64>,
    /// Tokens per minute for the whole team.
    pub tpm_limit: Option<i64>,
}

/// A team to create; `id` and `now` are made by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTeam {
    /// The new row's id.
    pub id: TeamId,
    /// Its name, budget and limits.
    pub settings: TeamSettings,
    /// Written as both `created_at` and `updated_at`.
    pub now: Timestamp,
}

impl NewTeam {
    /// A team with a name and no budget or limits.
    pub fn named(id: TeamId, name: impl Into<String>, now: Timestamp) -> NewTeam {
        NewTeam {
            id,
            settings: TeamSettings {
                name: name.into(),
                ..TeamSettings::default()
            },
            now,
        }
    }
}

/// A key's settings that an edit replaces (its team, owner, secret and spend stay).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySettings {
    /// A name for people.
    pub alias: Option<String>,
    /// Model names or patterns; `None`: no restriction of its own.
    pub allowed_models: Option<Vec<String>>,
    /// Instance names; `None`: every instance.
    pub allowed_instances: Option<Vec<String>>,
    /// Spend limit per budget window.
    pub max_budget: Option<Micros>,
    /// The budget window; `None`: never resets.
    pub budget_duration: Option<String>,
    /// Spend at which owners are warned.
    pub soft_budget: Option<Micros>,
    /// Requests per minute.
    pub rpm_limit: Option<i64>,
    /// Tokens per minute.
    pub tpm_limit: Option<i64>,
    /// Requests in flight at once.
    pub max_parallel: Option<i64>,
    /// When it stops working.
    pub expires_at: Option<Timestamp>,
    /// A JSON object, kept verbatim.
    pub metadata: Option<String>,
    /// Its prompts and completions are stored.
    pub store_prompts: bool,
}

/// A filter on the key list, read newest first (by id: ids are UUID v7, so by creation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyQuery {
    /// At most this many keys.
    pub limit: u32,
    /// Only keys after this one in the order (the last id of the previous page).
    pub after: Option<tollgate_domain::KeyId>,
    /// Only this team's keys.
    pub team: Option<tollgate_domain::TeamId>,
    /// Only this user's keys.
    pub user: Option<tollgate_domain::UserId>,
    /// Only blocked (`true`) or unblocked (`false`) keys.
    pub blocked: Option<bool>,
    /// Only keys with an expiry before this (expired ones included).
    pub expires_before: Option<Timestamp>,
    /// Only keys whose alias contains this, or whose display prefix or suffix is it (case
    /// matters; `%` and `_` match themselves).
    pub search: Option<String>,
    /// The order; `after` continues after that key in it.
    pub sort: tollgate_domain::key_spec::KeySort,
}

/// A filter on the audit log, read newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// At most this many entries.
    pub limit: u32,
    /// Only entries older than this (the last `ts` of the previous page): strictly older, or
    /// as old with a smaller id than `before_id` when it is set.
    pub before: Option<Timestamp>,
    /// The last id of the previous page, so that entries of the same millisecond are not lost
    /// between pages.
    pub before_id: Option<tollgate_domain::AuditId>,
    /// Only actions starting with this, such as `user.` (case-sensitive, no wildcards).
    pub action_prefix: Option<String>,
    /// Only entries about this kind of object.
    pub object_type: Option<String>,
    /// Only entries about this object (its id as recorded).
    pub object_id: Option<String>,
    /// Only changes made by this actor (their label as recorded: an email, `master key`).
    pub actor: Option<String>,
    /// Only entries at or after this.
    pub since: Option<Timestamp>,
}

/// A gateway pod's heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayNode {
    /// The gateway instance (Deployment) name.
    pub instance: String,
    /// The pod (or host) name; unique within the instance.
    pub pod: String,
    /// The Tollgate version it runs.
    pub version: String,
    /// The configuration revision it has applied.
    pub config_revision: i64,
    /// When the process started.
    pub started_at: Timestamp,
    /// When this heartbeat was sent.
    pub last_seen: Timestamp,
    /// Requests being served at that moment.
    pub in_flight: i64,
}

/// A virtual key to create; `id` and `now` are made by the caller, and so is the secret, of which
/// only the hash is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    /// The new row's id.
    pub id: KeyId,
    /// SHA-256 hex of the secret; unique.
    pub key_hash: String,
    /// The display prefix, such as `sk-tg-abcd`.
    pub key_prefix: String,
    /// The display suffix, such as `wxyz`.
    pub key_suffix: String,
    /// A name for people.
    pub alias: Option<String>,
    /// The owning team, which must exist.
    pub team_id: Option<TeamId>,
    /// The owning user, who must exist.
    pub user_id: Option<UserId>,
    /// Model names or patterns; `None`: no restriction of its own; empty: nothing allowed.
    pub allowed_models: Option<Vec<String>>,
    /// Instance names; `None`: every instance; empty: none.
    pub allowed_instances: Option<Vec<String>>,
    /// Spend limit per budget window.
    pub max_budget: Option<Micros>,
    /// `1d`, `7d`, `30d`, `1mo`; `None`: the budget never resets.
    pub budget_duration: Option<String>,
    /// Spend at which owners are warned.
    pub soft_budget: Option<Micros>,
    /// Requests per minute.
    pub rpm_limit: Option<i64>,
    /// Tokens per minute.
    pub tpm_limit: Option<i64>,
    /// Requests in flight at once.
    pub max_parallel: Option<i64>,
    /// When the key stops working.
    pub expires_at: Option<Timestamp>,
    /// JSON object text, kept verbatim.
    pub metadata: Option<String>,
    /// Keep its requests' prompts and completions in the request log.
    pub store_prompts: bool,
    /// The most keys its owner may hold in its team (a member's self-service policy): with a
    /// team and a user set, the key is refused (`Conflict`) when the owner holds this many
    /// already. Counted and inserted in one transaction that first locks the owner's membership,
    /// so two creations at once cannot both take the last place.
    pub owner_cap: Option<u32>,
    /// Written as both `created_at` and `updated_at`.
    pub now: Timestamp,
}

impl NewKey {
    /// A key with no owner, restriction, budget, limit, expiry or metadata; set what differs
    /// with struct update syntax (`NewKey { alias, ..NewKey::new(...) }`).
    pub fn new(
        id: KeyId,
        key_hash: String,
        key_prefix: String,
        key_suffix: String,
        now: Timestamp,
    ) -> NewKey {
        NewKey {
            id,
            key_hash,
            key_prefix,
            key_suffix,
            alias: None,
            team_id: None,
            user_id: None,
            allowed_models: None,
            allowed_instances: None,
            max_budget: None,
            budget_duration: None,
            soft_budget: None,
            rpm_limit: None,
            tpm_limit: None,
            max_parallel: None,
            expires_at: None,
            metadata: None,
            store_prompts: false,
            owner_cap: None,
            now,
        }
    }

    /// This key with `settings`: every field a [`KeySettings`] holds is replaced.
    pub fn with_settings(self, s: KeySettings) -> NewKey {
        NewKey {
            alias: s.alias,
            allowed_models: s.allowed_models,
            allowed_instances: s.allowed_instances,
            max_budget: s.max_budget,
            budget_duration: s.budget_duration,
            soft_budget: s.soft_budget,
            rpm_limit: s.rpm_limit,
            tpm_limit: s.tpm_limit,
            max_parallel: s.max_parallel,
            expires_at: s.expires_at,
            metadata: s.metadata,
            store_prompts: s.store_prompts,
            ..self
        }
    }
}

/// A key with its hash, as the gateway caches it to authenticate requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key.
    pub key: VirtualKey,
    /// SHA-256 hex of its secret.
    pub key_hash: String,
    /// After a rotation with a grace period: the previous secret's hash, accepted until
    /// `key.previous_expires_at`.
    pub previous_key_hash: Option<String>,
}

/// A new secret for a key: its hash and display parts (the secret itself is never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySecret {
    /// SHA-256 hex.
    pub hash: String,
    /// What the key list shows before the `...` (`sk-tg-abcd`).
    pub prefix: String,
    /// What it shows after (`wxyz`).
    pub suffix: String,
}

/// An upstream credential to create; `id` and `now` are made by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCredential {
    /// The new row's id.
    pub id: CredentialId,
    /// Unique among credentials.
    pub name: String,
    /// The provider it is for, such as `openai`.
    pub provider: String,
    /// The secret, encrypted above the store, or where to find it.
    pub secret: CredentialSecret,
    /// Written as both `created_at` and `updated_at`.
    pub now: Timestamp,
}

/// Where a credential's secret is: encrypted in the database, or named by a reference.
///
/// The store never decrypts: the caller holds the key. `Debug` shows no ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialSecret {
    /// AES-GCM ciphertext and its nonce.
    Encrypted {
        /// The encrypted secret with its tag.
        ciphertext: Vec<u8>,
        /// The nonce it was encrypted with.
        nonce: Vec<u8>,
    },
    /// `env:VAR` or `file:/path`: resolved where the secret is used.
    Reference(String),
}

impl std::fmt::Debug for CredentialSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSecret::Encrypted { ciphertext, nonce } => f
                .debug_struct("Encrypted")
                .field("ciphertext_len", &ciphertext.len())
                .field("nonce_len", &nonce.len())
                .finish(),
            CredentialSecret::Reference(r) => f.debug_tuple("Reference").field(r).finish(),
        }
    }
}
