//! The audit log, newest first, filtered; `crate::server::audit` does the reading, which the
//! admin API's JSON and CSV exports share.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use tollgate_domain::AuditId;
use tollgate_domain::model::AuditEntry;

pub const AUDIT_PAGE: u32 = 50;

/// What a read of the audit log asks for; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Entries older than this (unix ms) ...
    #[serde(default)]
    pub before: Option<i64>,
    /// ... or as old with a smaller id: the last entry of the previous page.
    #[serde(default)]
    pub before_id: Option<AuditId>,
    /// Entries at or after this (unix ms).
    #[serde(default)]
    pub since: Option<i64>,
    /// Actions starting with this, such as `key.` or `team.member`.
    #[serde(default)]
    pub action: Option<String>,
    /// `key`, `team`, `user` ...
    #[serde(default)]
    pub object_type: Option<String>,
    #[serde(default)]
    pub object_id: Option<String>,
    /// Who made the change, as recorded: an email, or `master key`.
    #[serde(default)]
    pub actor: Option<String>,
    /// 1 to 1000; default 50.
    #[serde(default)]
    pub limit: Option<u32>,
}

#[server(prefix = "/rpc", endpoint = "list_audit", input = Json)]
pub async fn list_audit(filter: AuditFilter) -> Result<Vec<AuditEntry>, AppError> {
    crate::server::reply(
        async move {
            let (who, store) = crate::server::caller()?;
            crate::server::audit::list(store.as_ref(), &who, filter).await
        }
        .await,
    )
}
