//! Entities the portal shows and the store keeps. Secrets and hashes are never part of these.

use crate::authz::{GlobalRole, TeamRole};
use crate::ids::{AuditId, TeamId, UserId};
use crate::money::Micros;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: GlobalRole,
    pub disabled: bool,
    /// Set for a bootstrap or temporary password: the user must choose a new one first.
    pub must_change_password: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub max_budget: Option<Micros>,
    /// `1d`, `7d`, `30d`, `1mo`; `None` means the budget never resets.
    pub budget_duration: Option<String>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    pub spend: Micros,
    /// What members may give the keys they make themselves.
    #[serde(default)]
    pub policy: crate::policy::MemberPolicy,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub team_id: TeamId,
    pub user_id: UserId,
    pub role: TeamRole,
    pub added_at: Timestamp,
}

/// A team member with their account, as a team's page lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    pub user: User,
    pub role: TeamRole,
    pub added_at: Timestamp,
}

/// One change anyone made. `before`/`after` are JSON text with secrets already redacted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: AuditId,
    pub ts: Timestamp,
    pub actor_user_id: Option<UserId>,
    /// Who, as shown: an email, or `master key`, or `system`.
    pub actor_label: String,
    /// `user.create`, `session.sign_in`, `team.update` ...
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A virtual key as stored: everything but the secret (only its hash exists, held apart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualKey {
    pub id: crate::ids::KeyId,
    /// `sk-tg-abcd`
    pub key_prefix: String,
    /// `wxyz`
    pub key_suffix: String,
    pub alias: Option<String>,
    pub team_id: Option<TeamId>,
    pub user_id: Option<UserId>,
    /// Model names or patterns; `None`: no restriction of its own.
    pub allowed_models: Option<Vec<String>>,
    /// Instance names; `None`: every instance.
    pub allowed_instances: Option<Vec<String>>,
    pub max_budget: Option<Micros>,
    pub budget_duration: Option<String>,
    pub soft_budget: Option<Micros>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    pub max_parallel: Option<i64>,
    pub expires_at: Option<Timestamp>,
    pub blocked: bool,
    /// JSON object text.
    pub metadata: Option<String>,
    pub spend: Micros,
    /// Optimistic concurrency: bumped by every update.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// Its requests' prompts and completions are kept in the request log (off by default).
    #[serde(default)]
    pub store_prompts: bool,
    /// After a rotation with a grace period: until when the previous secret still works.
    #[serde(default)]
    pub previous_expires_at: Option<Timestamp>,
}

impl VirtualKey {
    /// `sk-tg-abcd...wxyz`
    pub fn masked(&self) -> String {
        crate::keys::masked(&self.key_prefix, &self.key_suffix)
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    /// `blocked`, `expired` or `active`, as lists show it.
    pub fn state(&self, now: Timestamp) -> &'static str {
        if self.blocked {
            "blocked"
        } else if self.is_expired(now) {
            "expired"
        } else {
            "active"
        }
    }
}
