//! Users: the list (management arrives with the portal issue).

use crate::error::AppError;
use leptos::prelude::*;
use tollgate_domain::model::User;

/// Users by email, a page at a time.
#[server(prefix = "/rpc", endpoint = "list_users")]
pub async fn list_users(offset: u64) -> Result<Vec<User>, AppError> {
    crate::server::reply(
        async move {
            use tollgate_domain::{Action, Target};
            let who = crate::server::principal()?;
            who.actor.authorize(Action::ReadUsers, Target::Global)?;
            let store = crate::server::portal_state()?.store;
            Ok(store
                .list_users(&tollgate_store::Page { limit: 100, offset })
                .await?)
        }
        .await,
    )
}
