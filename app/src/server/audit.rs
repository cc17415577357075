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

/// Records a change to one object: the common case of [`record`].
pub async fn record_change(
    store: &dyn Store,
    who: &Principal,
    action: &str,
    object_type: &str,
    object_id: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    record(
        store,
        who,
        Change {
            action,
            object_type,
            object_id: Some(object_id),
            before,
            after,
        },
    )
    .await
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

/// The most entries one read returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// Entries the actor may read (admins and viewers), newest first, filtered.
pub async fn list(
    store: &dyn Store,
    who: &Principal,
    filter: crate::server_fns::audit::AuditFilter,
) -> Result<Vec<AuditEntry>, AppError> {
    use tollgate_domain::{Action, Target};
    who.actor.authorize(Action::ReadAudit, Target::Global)?;
    let limit = filter.limit.unwrap_or(50);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(AppError::invalid("limit", format!("1 to {MAX_AUDIT_PAGE}")));
    }
    let text = |field: &str, v: Option<String>| -> Result<Option<String>, AppError> {
        match v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
            Some(s) if s.chars().count() > 254 => {
                Err(AppError::invalid(field, "at most 254 characters"))
            }
            other => Ok(other),
        }
    };
    Ok(store
        .list_audit(&tollgate_store::AuditQuery {
            limit,
            before: filter.before.map(Timestamp),
            before_id: filter.before_id,
            since: filter.since.map(Timestamp),
            action_prefix: text("action", filter.action)?,
            object_type: text("object_type", filter.object_type)?,
            object_id: text("object_id", filter.object_id)?,
            actor: text("actor", filter.actor)?,
        })
        .await?)
}

/// One CSV field: quoted when it holds a comma, quote or line break, and with a leading `'`
/// when it starts like a spreadsheet formula (`=`, `+`, `-`, `@`, tab, carriage return), so
/// opening the export never runs what someone typed into a name.
pub fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// The CSV header and one line per entry (RFC 4180, CRLF line ends).
pub const CSV_HEADER: &str = "time,actor,action,object_type,object_id,before,after\r\n";

pub fn csv_line(e: &AuditEntry) -> String {
    let fields = [
        e.ts.to_string(),
        e.actor_label.clone(),
        e.action.clone(),
        e.object_type.clone(),
        e.object_id.clone().unwrap_or_default(),
        e.before.clone().unwrap_or_default(),
        e.after.clone().unwrap_or_default(),
    ];
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field(""), "");
    }
}
