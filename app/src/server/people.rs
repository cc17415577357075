//! Users, managed by admins: created with a one-time password, given a role, disabled (their
//! sessions end at once and the gateways stop their keys at the next change-feed reload),
//! deleted. The portal's Users page, the admin API and LiteLLM's `/user/new` share these.
//! Each change is audited, never with a password.

use super::audit::{Change, record, record_change};
use super::passwords;
use super::principal::Principal;
use crate::error::AppError;
use crate::server_fns::users::CreatedUser;
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::keys::random_base62;
use tollgate_domain::model::User;
use tollgate_domain::validate;
use tollgate_domain::{Action, Target, TeamId, Timestamp, UserId};
use tollgate_store::{NewUser, Store};

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
    let email = validate::email(email)?;
    let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => validate::name("name", n)?,
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

/// The user another admin acts on: never oneself (an admin who disabled, demoted or deleted
/// themselves could lock everyone out).
async fn other_user(store: &dyn Store, who: &Principal, id: UserId) -> Result<User, AppError> {
    who.actor.authorize(Action::ManageUsers, Target::User(id))?;
    if who.actor.user_id == Some(id) {
        return Err(AppError::Conflict(
            "you cannot change your own account here: ask another admin".to_owned(),
        ));
    }
    Ok(store.get_user(id).await?)
}

fn summary(u: &User) -> serde_json::Value {
    serde_json::json!({"email": u.email, "name": u.name, "role": u.role, "disabled": u.disabled})
}

async fn audit_user(
    store: &dyn Store,
    who: &Principal,
    action: &str,
    before: &User,
    after: Option<&User>,
) -> Result<(), AppError> {
    let (id, before, after) = (
        before.id.to_string(),
        Some(summary(before)),
        after.map(summary),
    );
    record_change(store, who, action, "user", id, before, after).await
}

/// Sets a user's installation-wide role.
pub async fn set_role(
    store: &dyn Store,
    who: &Principal,
    id: UserId,
    role: GlobalRole,
) -> Result<User, AppError> {
    let before = other_user(store, who, id).await?;
    let now = Timestamp::now();
    store.set_user_role(id, role, now).await?;
    let after = store.get_user(id).await?;
    audit_user(store, who, "user.role", &before, Some(&after)).await?;
    Ok(after)
}

/// Disables or enables a user. Disabling ends their sessions at once and bumps the
/// configuration revision, so the gateways drop their keys at the next reload.
pub async fn set_disabled(
    store: &dyn Store,
    who: &Principal,
    id: UserId,
    disabled: bool,
) -> Result<User, AppError> {
    let before = other_user(store, who, id).await?;
    store
        .set_user_disabled(id, disabled, Timestamp::now())
        .await?;
    if disabled {
        store.delete_user_sessions(id).await?;
    }
    store.bump_config_revision().await?;
    let after = store.get_user(id).await?;
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    audit_user(store, who, action, &before, Some(&after)).await?;
    Ok(after)
}

/// Gives a user a new one-time password (returned once), ending their sessions.
pub async fn reset_password(
    store: &dyn Store,
    who: &Principal,
    id: UserId,
) -> Result<CreatedUser, AppError> {
    let user = other_user(store, who, id).await?;
    let password = random_base62(20);
    store
        .set_password(
            id,
            &passwords::hash(password.clone()).await?,
            true,
            Timestamp::now(),
        )
        .await?;
    store.delete_user_sessions(id).await?;
    audit_user(store, who, "user.password_reset", &user, Some(&user)).await?;
    Ok(CreatedUser { user, password })
}

/// Users by email, a page at a time: admins and viewers, and team admins (who invite them).
pub async fn list_users(
    store: &dyn Store,
    who: &Principal,
    page: &tollgate_store::Page,
) -> Result<Vec<User>, AppError> {
    who.actor.authorize(Action::ReadUsers, Target::Global)?;
    if !(1..=1000).contains(&page.limit) {
        return Err(AppError::invalid("limit", "1 to 1000"));
    }
    Ok(store.list_users(page).await?)
}

/// Deletes a user; refused while they still own keys.
pub async fn delete_user(store: &dyn Store, who: &Principal, id: UserId) -> Result<(), AppError> {
    let before = other_user(store, who, id).await?;
    store.delete_user(id).await?;
    store.bump_config_revision().await?;
    audit_user(store, who, "user.delete", &before, None).await
}
