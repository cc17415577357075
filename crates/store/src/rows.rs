//! Reading rows into domain types, once for both backends.
//!
//! The backends differ only in how a uuid column is stored (Postgres `uuid`, SQLite `TEXT`);
//! [`DbRow`] hides that, so every mapper below is written once.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::model::{AuditEntry, Team, TeamMember, User, VirtualKey};
use tollgate_domain::routing::{
    Credential, Deployment, ProviderKind, Route, RouteSource, Strategy,
};
use tollgate_domain::{Micros, Timestamp};
use uuid::Uuid;

use crate::types::{CredentialSecret, GatewayNode, Session};

/// Typed column access shared by `SqliteRow` and `PgRow`.
pub(crate) trait DbRow {
    /// A non-null uuid column.
    fn uuid(&self, col: &str) -> Result<Uuid>;
    /// A nullable uuid column.
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>>;
    /// A non-null text column.
    fn text(&self, col: &str) -> Result<String>;
    /// A nullable text column.
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    /// A non-null integer column.
    fn int(&self, col: &str) -> Result<i64>;
    /// A nullable integer column.
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    /// A non-null boolean column.
    fn flag(&self, col: &str) -> Result<bool>;
    /// A nullable byte-string column.
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>>;
    /// A nullable JSON column (`jsonb` on Postgres, `TEXT` on SQLite).
    fn opt_json<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<Option<T>>;

    /// A non-null timestamp column.
    fn ts(&self, col: &str) -> Result<Timestamp> {
        self.int(col).map(Timestamp)
    }
}

/// Implements [`DbRow`] for a driver's row type; `$uuid` reads a non-null uuid column as `Uuid`.
macro_rules! impl_db_row {
    ($row:ty, uuid: $uuid:ty, $to_uuid:expr) => {
        impl $crate::rows::DbRow for $row {
            fn uuid(&self, col: &str) -> $crate::Result<uuid::Uuid> {
                let v: $uuid = sqlx::Row::try_get(self, col).map_err($crate::Error::db)?;
                $to_uuid(v)
            }
            fn opt_uuid(&self, col: &str) -> $crate::Result<Option<uuid::Uuid>> {
                let v: Option<$uuid> = sqlx::Row::try_get(self, col).map_err($crate::Error::db)?;
                v.map($to_uuid).transpose()
            }
            fn text(&self, col: &str) -> $crate::Result<String> {
                sqlx::Row::try_get(self, col).map_err($crate::Error::db)
            }
            fn opt_text(&self, col: &str) -> $crate::Result<Option<String>> {
                sqlx::Row::try_get(self, col).map_err($crate::Error::db)
            }
            fn int(&self, col: &str) -> $crate::Result<i64> {
                sqlx::Row::try_get(self, col).map_err($crate::Error::db)
            }
            fn opt_int(&self, col: &str) -> $crate::Result<Option<i64>> {
                sqlx::Row::try_get(self, col).map_err($crate::Error::db)
            }
            fn flag(&self, col: &str) -> $crate::Result<bool> {
                sqlx::Row::try_get(self, col).map_err($crate::Error::db)
            }
            fn opt_bytes(&self, col: &str) -> $crate::Result<Option<Vec<u8>>> {
                sqlx::Row::try_get(self, col).map_err($crate::Error::db)
            }
            fn opt_json<T: serde::de::DeserializeOwned>(
                &self,
                col: &str,
            ) -> $crate::Result<Option<T>> {
                let v: Option<sqlx::types::Json<T>> =
                    sqlx::Row::try_get(self, col).map_err($crate::Error::db)?;
                Ok(v.map(|j| j.0))
            }
        }
    };
}
pub(crate) use impl_db_row;

/// A uuid stored as text (SQLite).
pub(crate) fn parse_uuid(s: String) -> Result<Uuid> {
    Uuid::parse_str(&s).map_err(|_| Error::Internal("a stored id is not a uuid".to_owned()))
}

/// The columns [`user`] reads, for `concat!` into queries.
macro_rules! user_cols {
    () => {
        "id, email, name, role, disabled, must_change_password, created_at, updated_at"
    };
}
pub(crate) use user_cols;

/// The same columns qualified with the `u.` alias, for joins.
macro_rules! user_cols_u {
    () => {
        "u.id, u.email, u.name, u.role, u.disabled, u.must_change_password, u.created_at, \
         u.updated_at"
    };
}
pub(crate) use user_cols_u;

pub(crate) fn user(r: &impl DbRow) -> Result<User> {
    let role = r.text("role")?;
    Ok(User {
        id: r.uuid("id")?.into(),
        email: r.text("email")?,
        name: r.text("name")?,
        role: GlobalRole::parse(&role).ok_or_else(|| unknown("users.role", &role))?,
        disabled: r.flag("disabled")?,
        must_change_password: r.flag("must_change_password")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// Session columns, aliased so they can sit next to the user's in one row.
macro_rules! session_cols_s {
    () => {
        "s.id AS session_id, s.user_id AS session_user_id, \
         s.created_at AS session_created_at, s.expires_at AS session_expires_at"
    };
}
pub(crate) use session_cols_s;

pub(crate) fn session(r: &impl DbRow) -> Result<Session> {
    Ok(Session {
        id: r.uuid("session_id")?.into(),
        user_id: r.opt_uuid("session_user_id")?.map(Into::into),
        created_at: r.ts("session_created_at")?,
        expires_at: r.ts("session_expires_at")?,
    })
}

macro_rules! team_cols {
    () => {
        "id, name, max_budget, budget_duration, rpm_limit, tpm_limit, spend, created_at, \
         updated_at, member_policy"
    };
}
pub(crate) use team_cols;

pub(crate) fn team(r: &impl DbRow) -> Result<Team> {
    Ok(Team {
        id: r.uuid("id")?.into(),
        name: r.text("name")?,
        max_budget: r.opt_int("max_budget")?.map(Micros),
        budget_duration: r.opt_text("budget_duration")?,
        rpm_limit: r.opt_int("rpm_limit")?,
        tpm_limit: r.opt_int("tpm_limit")?,
        spend: Micros(r.int("spend")?),
        policy: match r.opt_text("member_policy")? {
            None => Default::default(),
            Some(json) => {
                serde_json::from_str(&json).map_err(|_| unknown("teams.member_policy", &json))?
            }
        },
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn team_member(r: &impl DbRow) -> Result<TeamMember> {
    let role = r.text("role")?;
    Ok(TeamMember {
        team_id: r.uuid("team_id")?.into(),
        user_id: r.uuid("user_id")?.into(),
        role: TeamRole::parse(&role).ok_or_else(|| unknown("team_members.role", &role))?,
        added_at: r.ts("added_at")?,
    })
}

/// A team member with their account, from `team_roster`'s join.
pub(crate) fn roster_entry(r: &impl DbRow) -> Result<tollgate_domain::model::RosterEntry> {
    let role = r.text("member_role")?;
    Ok(tollgate_domain::model::RosterEntry {
        user: user(r)?,
        role: TeamRole::parse(&role).ok_or_else(|| unknown("team_members.role", &role))?,
        added_at: r.ts("added_at")?,
    })
}

macro_rules! audit_cols {
    () => {
        "id, ts, actor_user_id, actor_label, action, object_type, object_id, before, after"
    };
}
pub(crate) use audit_cols;

pub(crate) fn audit_entry(r: &impl DbRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.uuid("id")?.into(),
        ts: r.ts("ts")?,
        actor_user_id: r.opt_uuid("actor_user_id")?.map(Into::into),
        actor_label: r.text("actor_label")?,
        action: r.text("action")?,
        object_type: r.text("object_type")?,
        object_id: r.opt_text("object_id")?,
        before: r.opt_text("before")?,
        after: r.opt_text("after")?,
    })
}

macro_rules! node_cols {
    () => {
        "instance, pod, version, config_revision, started_at, last_seen, in_flight"
    };
}
pub(crate) use node_cols;

pub(crate) fn gateway_node(r: &impl DbRow) -> Result<GatewayNode> {
    Ok(GatewayNode {
        instance: r.text("instance")?,
        pod: r.text("pod")?,
        version: r.text("version")?,
        config_revision: r.int("config_revision")?,
        started_at: r.ts("started_at")?,
        last_seen: r.ts("last_seen")?,
        in_flight: r.int("in_flight")?,
    })
}

macro_rules! key_cols {
    () => {
        "id, key_prefix, key_suffix, alias, team_id, user_id, allowed_models, \
         allowed_instances, max_budget, budget_duration, soft_budget, rpm_limit, tpm_limit, \
         max_parallel, expires_at, blocked, metadata, spend, version, created_at, updated_at, \
         last_used_at, store_prompts, previous_key_expires_at"
    };
}
pub(crate) use key_cols;

pub(crate) fn key(r: &impl DbRow) -> Result<VirtualKey> {
    Ok(VirtualKey {
        id: r.uuid("id")?.into(),
        key_prefix: r.text("key_prefix")?,
        key_suffix: r.text("key_suffix")?,
        alias: r.opt_text("alias")?,
        team_id: r.opt_uuid("team_id")?.map(Into::into),
        user_id: r.opt_uuid("user_id")?.map(Into::into),
        allowed_models: r.opt_json("allowed_models")?,
        allowed_instances: r.opt_json("allowed_instances")?,
        max_budget: r.opt_int("max_budget")?.map(Micros),
        budget_duration: r.opt_text("budget_duration")?,
        soft_budget: r.opt_int("soft_budget")?.map(Micros),
        rpm_limit: r.opt_int("rpm_limit")?,
        tpm_limit: r.opt_int("tpm_limit")?,
        max_parallel: r.opt_int("max_parallel")?,
        expires_at: r.opt_int("expires_at")?.map(Timestamp),
        blocked: r.flag("blocked")?,
        metadata: r.opt_text("metadata")?,
        spend: Micros(r.int("spend")?),
        version: r.int("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        last_used_at: r.opt_int("last_used_at")?.map(Timestamp),
        store_prompts: r.flag("store_prompts")?,
        previous_expires_at: r.opt_int("previous_key_expires_at")?.map(Timestamp),
    })
}

macro_rules! route_cols {
    () => {
        "id, instance, model_name, alias_of, strategy, timeout_ms, stream_idle_timeout_ms, \
         retries, fallbacks, header_match, source, created_at, updated_at"
    };
}
pub(crate) use route_cols;

/// A route without its deployments (read apart and added by the caller).
pub(crate) fn route(r: &impl DbRow) -> Result<Route> {
    let strategy = r.text("strategy")?;
    let source = r.text("source")?;
    let header_match = r.text("header_match")?;
    Ok(Route {
        id: r.uuid("id")?.into(),
        instance: r.opt_text("instance")?,
        model_name: r.text("model_name")?,
        alias_of: r.opt_text("alias_of")?,
        strategy: Strategy::parse(&strategy)
            .ok_or_else(|| unknown("routes.strategy", &strategy))?,
        timeout_ms: r.opt_int("timeout_ms")?,
        stream_idle_timeout_ms: r.opt_int("stream_idle_timeout_ms")?,
        retries: r.int("retries")?,
        fallbacks: r.opt_json("fallbacks")?.unwrap_or_default(),
        header_match: serde_json::from_str::<BTreeMap<String, String>>(&header_match)
            .map_err(|_| unknown("routes.header_match", &header_match))?,
        source: parse_source(&source).ok_or_else(|| unknown("routes.source", &source))?,
        deployments: Vec::new(),
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// `header_match` as stored: compact JSON with keys in byte order (a `BTreeMap`'s), so equal
/// maps are equal text and the unique index on routes can compare them.
pub(crate) fn header_match_text(m: &BTreeMap<String, String>) -> Result<String> {
    serde_json::to_string(m).map_err(|e| Error::Internal(format!("header_match: {e}")))
}

/// How [`RouteSource`] is spelled in `routes.source`.
pub(crate) fn source_str(s: RouteSource) -> &'static str {
    match s {
        RouteSource::Db => "db",
        RouteSource::Config => "config",
    }
}

fn parse_source(s: &str) -> Option<RouteSource> {
    [RouteSource::Db, RouteSource::Config]
        .into_iter()
        .find(|x| source_str(*x) == s)
}

macro_rules! deployment_cols {
    () => {
        "id, route_id, provider, upstream_model, api_base, api_version, credential_id, weight, \
         rpm_limit, tpm_limit, enabled, input_price_per_mtok, output_price_per_mtok, \
         created_at, updated_at"
    };
}
pub(crate) use deployment_cols;

pub(crate) fn deployment(r: &impl DbRow) -> Result<Deployment> {
    let provider = r.text("provider")?;
    Ok(Deployment {
        id: r.uuid("id")?.into(),
        route_id: r.uuid("route_id")?.into(),
        provider: ProviderKind::parse(&provider)
            .ok_or_else(|| unknown("deployments.provider", &provider))?,
        upstream_model: r.text("upstream_model")?,
        api_base: r.opt_text("api_base")?,
        api_version: r.opt_text("api_version")?,
        credential_id: r.opt_uuid("credential_id")?.map(Into::into),
        weight: r.int("weight")?,
        rpm_limit: r.opt_int("rpm_limit")?,
        tpm_limit: r.opt_int("tpm_limit")?,
        enabled: r.flag("enabled")?,
        input_price_per_mtok: r.opt_int("input_price_per_mtok")?.map(Micros),
        output_price_per_mtok: r.opt_int("output_price_per_mtok")?.map(Micros),
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// Credential columns without the encrypted secret: listing never reads it.
macro_rules! credential_cols {
    () => {
        "id, name, provider, secret_ref, created_at, updated_at"
    };
}
pub(crate) use credential_cols;

pub(crate) fn credential(r: &impl DbRow) -> Result<Credential> {
    Ok(Credential {
        id: r.uuid("id")?.into(),
        name: r.text("name")?,
        provider: r.text("provider")?,
        reference: r.opt_text("secret_ref")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn credential_secret(r: &impl DbRow) -> Result<CredentialSecret> {
    match (
        r.opt_bytes("secret_ciphertext")?,
        r.opt_bytes("secret_nonce")?,
        r.opt_text("secret_ref")?,
    ) {
        (Some(ciphertext), Some(nonce), None) => {
            Ok(CredentialSecret::Encrypted { ciphertext, nonce })
        }
        (None, None, Some(reference)) => Ok(CredentialSecret::Reference(reference)),
        // The table's CHECK constraint rules this out.
        _ => Err(Error::Internal(
            "a credential has neither or both kinds of secret".to_owned(),
        )),
    }
}

/// A stored enum value this build does not know (a newer build wrote it, or a manual edit).
fn unknown(column: &str, value: &str) -> Error {
    tracing::debug!(column, value, "unknown value in an enum column");
    Error::Internal(format!("unknown value in {column}"))
}
