//! The audit log, newest first.

use crate::error::AppError;
use leptos::prelude::*;
use tollgate_domain::model::AuditEntry;

pub const AUDIT_PAGE: u32 = 50;

/// A page of entries older than `before` (unix ms), or the newest page.
#[server(prefix = "/rpc", endpoint = "list_audit")]
pub async fn list_audit(before: Option<i64>) -> Result<Vec<AuditEntry>, AppError> {
    crate::server::reply(
        async move {
            use tollgate_domain::{Action, Target, Timestamp};
            let who = crate::server::principal()?;
            who.actor.authorize(Action::ReadAudit, Target::Global)?;
            let store = crate::server::portal_state()?.store;
            let query = tollgate_store::AuditQuery {
                limit: AUDIT_PAGE,
                before: before.map(Timestamp),
                action_prefix: None,
                object_type: None,
            };
            Ok(store.list_audit(&query).await?)
        }
        .await,
    )
}
