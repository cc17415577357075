//! Reading rows into domain types, once for both backends.
//!
//! The backends differ only in how a uuid column is stored (Postgres `uuid`, SQLite `TEXT`);
//! [`DbRow`] hides that, so every mapper below is written once.

use crate::error::{Error, Result};
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::model::{AuditEntry, Team, TeamMember, User};
use tollgate_domain::{Micros, Timestamp};
use uuid::Uuid;

use crate::types::{GatewayNode, Session};

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
         updated_at"
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

/// A stored enum value this build does not know (a newer build wrote it, or a manual edit).
fn unknown(column: &str, value: &str) -> Error {
    tracing::debug!(column, value, "unknown value in an enum column");
    Error::Internal(format!("unknown value in {column}"))
}
