//! Users for the Users page. Each function finds the principal and hands over to
//! `crate::server::people`, which the admin API shares.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tollgate_domain::UserId;
use tollgate_domain::model::User;

#[cfg(feature = "ssr")]
use crate::server::{caller, people, reply};

/// Users by email, a page at a time.
#[server(prefix = "/rpc", endpoint = "list_users")]
pub async fn list_users(offset: u64) -> Result<Vec<User>, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            people::list_users(
                store.as_ref(),
                &who,
                &tollgate_store::Page { limit: 100, offset },
            )
            .await
        }
        .await,
    )
}

/// The create form as typed (inputs named `form[email]` and so on).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserForm {
    pub email: String,
    pub name: String,
    /// `admin`, `viewer` or `user`.
    pub role: String,
}

/// A user with a one-time password to hand them (shown once; they choose their own at the
/// first sign-in): a user just made, or one whose password was reset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedUser {
    pub user: User,
    pub password: String,
}

#[cfg(feature = "ssr")]
fn global_role(v: &str) -> Result<tollgate_domain::authz::GlobalRole, AppError> {
    tollgate_domain::authz::GlobalRole::parse(v)
        .ok_or_else(|| AppError::invalid("role", "admin, viewer or user"))
}

#[server(prefix = "/rpc", endpoint = "create_user")]
pub async fn create_user(form: UserForm) -> Result<CreatedUser, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let role = global_role(&form.role)?;
            people::create_user(
                store.as_ref(),
                &who,
                &form.email,
                Some(&form.name),
                role,
                None,
                tollgate_domain::Timestamp::now(),
            )
            .await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "set_user_role")]
pub async fn set_user_role(id: UserId, role: String) -> Result<User, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let role = global_role(&role)?;
            people::set_role(store.as_ref(), &who, id, role).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "set_user_disabled")]
pub async fn set_user_disabled(id: UserId, disabled: bool) -> Result<User, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            people::set_disabled(store.as_ref(), &who, id, disabled).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "reset_user_password")]
pub async fn reset_user_password(id: UserId) -> Result<CreatedUser, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            people::reset_password(store.as_ref(), &who, id).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "delete_user")]
pub async fn delete_user(id: UserId) -> Result<(), AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            people::delete_user(store.as_ref(), &who, id).await
        }
        .await,
    )
}
