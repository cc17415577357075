//! Virtual keys for the portal's Keys page. Each function finds the principal and hands over to
//! `crate::server::keys`, which the admin API and LiteLLM's `/key/*` endpoints share.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use tollgate_domain::KeyId;
use tollgate_domain::key_spec::{CreatedKey, KeyFilter, KeyPage};
use tollgate_domain::model::VirtualKey;

#[server(prefix = "/rpc", endpoint = "list_keys", input = Json)]
pub async fn list_keys(filter: KeyFilter) -> Result<KeyPage, AppError> {
    crate::server::reply(
        async move {
            let who = crate::server::principal()?;
            let store = crate::server::portal_state()?.store;
            crate::server::keys::list_keys(store.as_ref(), &who, filter).await
        }
        .await,
    )
}

/// The portal's create form as typed (inputs named `form[alias]` and so on): empty means "not
/// set". Money is in dollars, the expiry a date (`2027-01-31`: the key stops at the start of that
/// day, UTC), models comma-separated.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyForm {
    pub alias: String,
    pub team: String,
    pub models: String,
    pub max_budget: String,
    pub budget_duration: String,
    pub rpm_limit: String,
    pub tpm_limit: String,
    pub expires: String,
    /// Instance names, comma-separated.
    pub instances: String,
    /// A JSON object.
    pub metadata: String,
}

#[server(prefix = "/rpc", endpoint = "create_key")]
pub async fn create_key(form: KeyForm) -> Result<CreatedKey, AppError> {
    crate::server::reply(
        async move {
            let spec = crate::server::keys::spec_from_form(form)?;
            let who = crate::server::principal()?;
            let store = crate::server::portal_state()?.store;
            crate::server::keys::create_key(
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

#[server(prefix = "/rpc", endpoint = "set_key_blocked")]
pub async fn set_key_blocked(id: KeyId, blocked: bool) -> Result<VirtualKey, AppError> {
    crate::server::reply(
        async move {
            let who = crate::server::principal()?;
            let store = crate::server::portal_state()?.store;
            crate::server::keys::set_blocked(store.as_ref(), &who, id, blocked).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "delete_key")]
pub async fn delete_key(id: KeyId) -> Result<(), AppError> {
    crate::server::reply(
        async move {
            let who = crate::server::principal()?;
            let store = crate::server::portal_state()?.store;
            crate::server::keys::delete_key(store.as_ref(), &who, id).await
        }
        .await,
    )
}

/// A new secret for a key (shown once); the previous one keeps working for `grace_seconds`.
#[server(prefix = "/rpc", endpoint = "rotate_key")]
pub async fn rotate_key(id: KeyId, grace_seconds: u64) -> Result<CreatedKey, AppError> {
    crate::server::reply(
        async move {
            let (who, store) = crate::server::caller()?;
            crate::server::keys::rotate_key(
                store.as_ref(),
                &who,
                id,
                grace_seconds,
                tollgate_domain::Timestamp::now(),
            )
            .await
        }
        .await,
    )
}

/// Saves the edit form of a key read at `version`: the form's fields replace the key's (empty
/// clears one), the others keep their value, and a save made by someone else since is refused
/// ("changed since you opened it").
#[server(prefix = "/rpc", endpoint = "update_key")]
pub async fn update_key(id: KeyId, version: i64, form: KeyForm) -> Result<VirtualKey, AppError> {
    crate::server::reply(
        async move {
            use crate::server::keys::{changes_from_form, update_key_with};
            let (who, store) = crate::server::caller()?;
            update_key_with(
                store.as_ref(),
                &who,
                id,
                |before| changes_from_form(form, before),
                Some(version),
                tollgate_domain::Timestamp::now(),
            )
            .await
        }
        .await,
    )
}
