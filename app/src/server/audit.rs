//! Writing the audit log: one entry per change, naming who made it.

use super::principal::Principal;
use crate::error::AppError;
use tollgate_domain::model::AuditEntry;
use tollgate_domain::{AuditId, Timestamp};
use tollgate_store::Store;

/// What changed; `before`/`after` must already have secrets removed.
pub struct Change<'a> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub async fn record(
    store: &dyn Store,
    who: &Principal,
    change: Change<'_>,
) -> Result<(), AppError> {
    record_as(store, who.actor.user_id, &who.label, change).await
}

pub async fn record_as(
    store: &dyn Store,
    actor_user_id: Option<tollgate_domain::UserId>,
    actor_label: &str,
    change: Change<'_>,
) -> Result<(), AppError> {
    store
        .insert_audit(&AuditEntry {
            id: AuditId::new(),
            ts: Timestamp::now(),
            actor_user_id,
            actor_label: actor_label.to_owned(),
            action: change.action.to_owned(),
            object_type: change.object_type.to_owned(),
            object_id: change.object_id,
            before: change.before.map(|v| v.to_string()),
            after: change.after.map(|v| v.to_string()),
        })
        .await?;
    Ok(())
}
