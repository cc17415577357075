//! Teams: their settings, members and self-service policy, for the portal's team pages, the
//! admin API and LiteLLM's `/team/new`. Admins create, edit and delete teams; a team's admins
//! manage its members and policy; its members read it. Each change is audited.

use super::audit::record_change;
use super::principal::Principal;
use crate::error::AppError;
use crate::server_fns::teams::TeamView;
use serde::{Deserialize, Serialize};
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::key_spec::{budget, budget_period, rate_limit};
use tollgate_domain::model::{RosterEntry, Team};
use tollgate_domain::policy::MemberPolicy;
use tollgate_domain::validate::{self, FieldError};
use tollgate_domain::{Action, Micros, Target, TeamId, Timestamp, UserId};
use tollgate_store::{NewTeam, Page, Store, TeamSettings};

/// A team's settings as asked for (LiteLLM calls the name `team_alias`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSpec {
    pub name: String,
    #[serde(default)]
    pub max_budget: Option<Micros>,
    #[serde(default)]
    pub budget_duration: Option<String>,
    #[serde(default)]
    pub rpm_limit: Option<i64>,
    #[serde(default)]
    pub tpm_limit: Option<i64>,
}

impl TeamSpec {
    /// Checks each field; the first problem names its field.
    pub fn check(self) -> Result<TeamSettings, FieldError> {
        let name = validate::name("name", &self.name)?;
        budget("max_budget", self.max_budget)?;
        budget_period("budget_duration", self.budget_duration.as_deref())?;
        rate_limit("rpm_limit", self.rpm_limit)?;
        rate_limit("tpm_limit", self.tpm_limit)?;
        Ok(TeamSettings {
            name,
            max_budget: self.max_budget,
            budget_duration: self.budget_duration,
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
        })
    }
}

async fn change(
    store: &dyn Store,
    who: &Principal,
    action: &str,
    id: TeamId,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    record_change(store, who, action, "team", id.to_string(), before, after).await
}

fn json<T: Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}

/// A team the actor may read, or `NotFound` (the same answer as a team that does not exist).
async fn readable(store: &dyn Store, who: &Principal, id: TeamId) -> Result<Team, AppError> {
    if !who.actor.allows(Action::ReadTeam, Target::Team(id)) {
        return Err(AppError::NotFound);
    }
    Ok(store.get_team(id).await?)
}

/// Creates a team (admins only). A name already taken is a `Conflict`.
pub async fn create_team(
    store: &dyn Store,
    who: &Principal,
    spec: TeamSpec,
    now: Timestamp,
) -> Result<Team, AppError> {
    who.actor.authorize(Action::CreateTeam, Target::Global)?;
    let settings = spec.check()?;
    let team = store
        .create_team(&NewTeam {
            id: TeamId::new(),
            settings,
            now,
        })
        .await?;
    store.bump_config_revision().await?;
    change(store, who, "team.create", team.id, None, json(&team)).await?;
    Ok(team)
}

/// The teams the actor may read, by name: every team for admins and viewers, their own for
/// anyone else.
pub async fn list_teams(store: &dyn Store, who: &Principal) -> Result<Vec<Team>, AppError> {
    if who.actor.allows(Action::ReadTeam, Target::Global) {
        let mut all = Vec::new();
        loop {
            let page = store
                .list_teams(&Page {
                    limit: 500,
                    offset: all.len() as u64,
                })
                .await?;
            let done = page.len() < 500;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }
    let mut mine = Vec::new();
    for (team, _) in &who.actor.teams {
        match store.get_team(*team).await {
            Ok(t) => mine.push(t),
            Err(tollgate_store::Error::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    mine.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(mine)
}

/// One team with its members, when the actor may read it.
pub async fn team_detail(
    store: &dyn Store,
    who: &Principal,
    id: TeamId,
) -> Result<TeamView, AppError> {
    let team = readable(store, who, id).await?;
    let members = store.team_roster(id).await?;
    Ok(TeamView {
        can_manage: who.actor.allows(Action::ManageTeam, Target::Team(id)),
        can_edit: who.actor.allows(Action::CreateTeam, Target::Global),
        team,
        members,
    })
}

/// Replaces a team's name, budget and limits (admins only: a team admin does not raise their
/// own team's budget).
pub async fn update_team(
    store: &dyn Store,
    who: &Principal,
    id: TeamId,
    spec: TeamSpec,
    now: Timestamp,
) -> Result<Team, AppError> {
    let before = readable(store, who, id).await?;
    who.actor.authorize(Action::CreateTeam, Target::Global)?;
    let settings = spec.check()?;
    let team = store.update_team(id, &settings, now).await?;
    store.bump_config_revision().await?;
    change(store, who, "team.update", id, json(&before), json(&team)).await?;
    Ok(team)
}

/// Deletes a team and its memberships (admins only); refused while it still has keys.
pub async fn delete_team(store: &dyn Store, who: &Principal, id: TeamId) -> Result<(), AppError> {
    let before = readable(store, who, id).await?;
    who.actor.authorize(Action::CreateTeam, Target::Global)?;
    store.delete_team(id).await?;
    store.bump_config_revision().await?;
    change(store, who, "team.delete", id, json(&before), None).await
}

/// Sets the team's self-service policy (its team admins and admins).
pub async fn set_policy(
    store: &dyn Store,
    who: &Principal,
    id: TeamId,
    policy: MemberPolicy,
    now: Timestamp,
) -> Result<Team, AppError> {
    let before = readable(store, who, id).await?;
    who.actor.authorize(Action::ManageTeam, Target::Team(id))?;
    let policy = policy.validate()?;
    let team = store.set_team_policy(id, &policy, now).await?;
    change(
        store,
        who,
        "team.policy",
        id,
        json(&before.policy),
        json(&team.policy),
    )
    .await?;
    Ok(team)
}

/// Adds an existing user, found by email, to the team (its team admins and admins).
pub async fn add_member(
    store: &dyn Store,
    who: &Principal,
    id: TeamId,
    email: &str,
    role: TeamRole,
    now: Timestamp,
) -> Result<RosterEntry, AppError> {
    readable(store, who, id).await?;
    who.actor.authorize(Action::ManageTeam, Target::Team(id))?;
    let email = validate::email(email)?;
    let user = match store.get_user_auth(&email).await {
        Ok(found) => found.user,
        Err(tollgate_store::Error::NotFound) => {
            return Err(AppError::invalid(
                "email",
                "no user has this email: an admin creates users first",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    store.add_team_member(id, user.id, role, now).await?;
    change(
        store,
        who,
        "team.member.add",
        id,
        None,
        Some(serde_json::json!({"user_id": user.id, "email": user.email, "role": role})),
    )
    .await?;
    Ok(RosterEntry {
        user,
        role,
        added_at: now,
    })
}

/// A member of the team, when the actor may manage the team; `NotFound` otherwise.
async fn managed_member(
    store: &dyn Store,
    who: &Principal,
    id: TeamId,
    user: UserId,
) -> Result<RosterEntry, AppError> {
    readable(store, who, id).await?;
    who.actor.authorize(Action::ManageTeam, Target::Team(id))?;
    if who.actor.user_id == Some(user) && who.actor.role != GlobalRole::Admin {
        return Err(AppError::Conflict(
            "you cannot change your own membership: ask another team admin".to_owned(),
        ));
    }
    store
        .team_roster(id)
        .await?
        .into_iter()
        .find(|m| m.user.id == user)
        .ok_or(AppError::NotFound)
}

/// Changes a member's role in the team.
pub async fn set_member_role(
    store: &dyn Store,
    who: &Principal,
    id: TeamId,
    user: UserId,
    role: TeamRole,
) -> Result<(), AppError> {
    let member = managed_member(store, who, id, user).await?;
    store.set_team_member_role(id, user, role).await?;
    change(
        store,
        who,
        "team.member.role",
        id,
        Some(serde_json::json!({"user_id": user, "email": member.user.email, "role": member.role})),
        Some(serde_json::json!({"user_id": user, "email": member.user.email, "role": role})),
    )
    .await
}

/// Removes a member from the team. Refused while they hold keys in it: those keys would keep
/// working for someone no longer in the team.
pub async fn remove_member(
    store: &dyn Store,
    who: &Principal,
    id: TeamId,
    user: UserId,
) -> Result<(), AppError> {
    let member = managed_member(store, who, id, user).await?;
    let held = store.count_member_keys(id, user).await?;
    if held > 0 {
        return Err(AppError::Conflict(format!(
            "{} still holds {held} key(s) in this team: delete them first",
            member.user.email
        )));
    }
    store.remove_team_member(id, user).await?;
    change(
        store,
        who,
        "team.member.remove",
        id,
        Some(serde_json::json!({"user_id": user, "email": member.user.email, "role": member.role})),
        None,
    )
    .await
}
