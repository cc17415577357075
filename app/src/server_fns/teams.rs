//! Teams for the Teams pages. Each function finds the principal and hands over to
//! `crate::server::teams`, which the admin API shares.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tollgate_domain::model::{RosterEntry, Team};
use tollgate_domain::{TeamId, UserId};

#[cfg(feature = "ssr")]
use crate::server::{caller, reply, teams};

/// A team's settings as typed (inputs named `form[name]` and so on); empty means "not set".
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TeamForm {
    pub name: String,
    pub max_budget: String,
    pub budget_duration: String,
    pub rpm_limit: String,
    pub tpm_limit: String,
}

/// A team's self-service policy as typed (inputs named `policy[models]` and so on).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyForm {
    pub models: String,
    pub max_budget: String,
    pub max_rpm: String,
    pub max_tpm: String,
    pub max_parallel: String,
    pub max_keys: String,
    pub default_expiry_days: String,
    pub max_expiry_days: String,
}

#[cfg(feature = "ssr")]
fn team_spec(f: TeamForm) -> Result<teams::TeamSpec, AppError> {
    use crate::server::forms::{dollars, set, whole};
    Ok(teams::TeamSpec {
        name: f.name,
        max_budget: dollars("max_budget", &f.max_budget)?,
        budget_duration: set(&f.budget_duration).map(str::to_owned),
        rpm_limit: whole("rpm_limit", &f.rpm_limit)?,
        tpm_limit: whole("tpm_limit", &f.tpm_limit)?,
    })
}

#[cfg(feature = "ssr")]
fn policy(f: PolicyForm) -> Result<tollgate_domain::policy::MemberPolicy, AppError> {
    use crate::server::forms::{dollars, list, whole};
    Ok(tollgate_domain::policy::MemberPolicy {
        models: list(&f.models),
        max_budget: dollars("max_budget", &f.max_budget)?,
        max_rpm: whole("max_rpm", &f.max_rpm)?,
        max_tpm: whole("max_tpm", &f.max_tpm)?,
        max_parallel: whole("max_parallel", &f.max_parallel)?,
        max_keys: whole("max_keys", &f.max_keys)?,
        default_expiry_days: whole("default_expiry_days", &f.default_expiry_days)?,
        max_expiry_days: whole("max_expiry_days", &f.max_expiry_days)?,
    })
}

#[cfg(feature = "ssr")]
fn team_role(v: &str) -> Result<tollgate_domain::authz::TeamRole, AppError> {
    tollgate_domain::authz::TeamRole::parse(v)
        .ok_or_else(|| AppError::invalid("role", "team_admin or member"))
}

#[server(prefix = "/rpc", endpoint = "list_teams")]
pub async fn list_teams() -> Result<Vec<Team>, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            teams::list_teams(store.as_ref(), &who).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "get_team")]
pub async fn get_team(id: TeamId) -> Result<TeamView, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            teams::team_detail(store.as_ref(), &who, id).await
        }
        .await,
    )
}

/// A team as its page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamView {
    pub team: Team,
    pub members: Vec<RosterEntry>,
    /// The reader may change its members and policy.
    pub can_manage: bool,
    /// The reader may change its budget and limits, or delete it.
    pub can_edit: bool,
}

#[server(prefix = "/rpc", endpoint = "create_team")]
pub async fn create_team(form: TeamForm) -> Result<Team, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let spec = team_spec(form)?;
            teams::create_team(
                store.as_ref(),
                &who,
                spec,
                tollgate_domain::Timestamp::now(),
            )
            .await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "update_team")]
pub async fn update_team(id: TeamId, form: TeamForm) -> Result<Team, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let spec = team_spec(form)?;
            teams::update_team(
                store.as_ref(),
                &who,
                id,
                spec,
                tollgate_domain::Timestamp::now(),
            )
            .await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "delete_team")]
pub async fn delete_team(id: TeamId) -> Result<(), AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            teams::delete_team(store.as_ref(), &who, id).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "set_team_policy")]
pub async fn set_team_policy(id: TeamId, policy: PolicyForm) -> Result<Team, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let p = self::policy(policy)?;
            teams::set_policy(
                store.as_ref(),
                &who,
                id,
                p,
                tollgate_domain::Timestamp::now(),
            )
            .await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "add_team_member")]
pub async fn add_team_member(
    team: TeamId,
    email: String,
    role: String,
) -> Result<RosterEntry, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let role = team_role(&role)?;
            teams::add_member(
                store.as_ref(),
                &who,
                team,
                &email,
                role,
                tollgate_domain::Timestamp::now(),
            )
            .await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "set_team_member_role")]
pub async fn set_team_member_role(
    team: TeamId,
    user: UserId,
    role: String,
) -> Result<(), AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let role = team_role(&role)?;
            teams::set_member_role(store.as_ref(), &who, team, user, role).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "remove_team_member")]
pub async fn remove_team_member(team: TeamId, user: UserId) -> Result<(), AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            teams::remove_member(store.as_ref(), &who, team, user).await
        }
        .await,
    )
}
