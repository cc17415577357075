//! Teams and users made by admins (LiteLLM's `/team/new` and `/user/new` for now; the portal's
//! team and user pages will call the same functions). Each change is audited.

use super::audit::{Change, record};
use super::passwords;
use super::principal::Principal;
use crate::error::AppError;
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::budget::BudgetPeriod;
use tollgate_domain::key_spec::{MAX_KEY_BUDGET, MAX_RATE_LIMIT};
use tollgate_domain::keys::random_base62;
use tollgate_domain::model::{Team, User};
use tollgate_domain::validate::{self, FieldError};
use tollgate_domain::{Action, Micros, Target, TeamId, Timestamp, UserId};
use tollgate_store::{NewTeam, NewUser, Store};

/// A new team's settings.
pub struct TeamSpec {
    pub name: String,
    pub max_budget: Option<Micros>,
    pub budget_duration: Option<String>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
}

fn check_limit(field: &str, v: Option<i64>) -> Result<(), FieldError> {
    match v {
        Some(n) if !(0..=MAX_RATE_LIMIT).contains(&n) => {
            Err(FieldError::new(field, format!("0 to {MAX_RATE_LIMIT}")))
        }
        _ => Ok(()),
    }
}

/// Creates a team (admins only). A name already taken is a `Conflict`.
pub async fn create_team(
    store: &dyn Store,
    who: &Principal,
    spec: TeamSpec,
    now: Timestamp,
) -> Result<Team, AppError> {
    who.actor.authorize(Action::CreateTeam, Target::Global)?;
    let name = validate::name("team_alias", &spec.name)?;
    if spec
        .max_budget
        .is_some_and(|b| b.0 < 0 || b > MAX_KEY_BUDGET)
    {
        return Err(AppError::invalid("max_budget", "0 to a billion dollars"));
    }
    if let Some(d) = &spec.budget_duration {
        BudgetPeriod::parse(d).map_err(|e| AppError::invalid("budget_duration", e.to_string()))?;
    }
    check_limit("rpm_limit", spec.rpm_limit)?;
    check_limit("tpm_limit", spec.tpm_limit)?;
    let team = store
        .create_team(&NewTeam {
            id: TeamId::new(),
            name,
            max_budget: spec.max_budget,
            budget_duration: spec.budget_duration,
            rpm_limit: spec.rpm_limit,
            tpm_limit: spec.tpm_limit,
            now,
        })
        .await?;
    store.bump_config_revision().await?;
    record(
        store,
        who,
        Change {
            action: "team.create",
            object_type: "team",
            object_id: Some(team.id.to_string()),
            before: None,
            after: Some(serde_json::to_value(&team).unwrap_or_default()),
        },
    )
    .await?;
    Ok(team)
}

/// A user made with a one-time password (returned once; they must choose their own at the
/// first sign-in), optionally a member of a team.
pub struct CreatedUser {
    pub user: User,
    pub password: String,
}

/// Creates a user (admins only). An email already taken is a `Conflict`; a team that does not
/// exist is refused before anything is written.
pub async fn create_user(
    store: &dyn Store,
    who: &Principal,
    email: &str,
    name: Option<&str>,
    role: GlobalRole,
    team: Option<(TeamId, TeamRole)>,
    now: Timestamp,
) -> Result<CreatedUser, AppError> {
    who.actor.authorize(Action::ManageUsers, Target::Global)?;
    let email = validate::email(email).map_err(|e| FieldError::new("user_email", e.message))?;
    let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => validate::name("user_alias", n)?,
        None => email.clone(),
    };
    if let Some((team_id, _)) = team
        && let Err(tollgate_store::Error::NotFound) = store.get_team(team_id).await
    {
        return Err(AppError::invalid("team_id", "no such team"));
    }
    let password = random_base62(20);
    let user = store
        .create_user(&NewUser {
            id: UserId::new(),
            email,
            name,
            role,
            password_hash: passwords::hash(password.clone()).await?,
            must_change_password: true,
            now,
        })
        .await?;
    if let Some((team_id, team_role)) = team {
        store
            .add_team_member(team_id, user.id, team_role, now)
            .await?;
    }
    record(
        store,
        who,
        Change {
            action: "user.create",
            object_type: "user",
            object_id: Some(user.id.to_string()),
            before: None,
            after: Some(serde_json::json!({
                "email": user.email,
                "role": user.role,
                "team": team.map(|(t, r)| serde_json::json!({"team_id": t, "role": r})),
                "one_time_password": true,
            })),
        },
    )
    .await?;
    Ok(CreatedUser { user, password })
}
