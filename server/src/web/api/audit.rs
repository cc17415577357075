//! The audit log over HTTP: `/api/v1/audit` (JSON pages) and `/api/v1/audit.csv` (every entry
//! the filters match, newest first, streamed a page at a time). Admins and viewers.

use super::{ApiError, principal, query};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Value, json};
use tollgate_app::server::audit::{CSV_HEADER, MAX_AUDIT_PAGE, csv_line, list};
use tollgate_app::server::{PortalState, Principal};
use tollgate_app::server_fns::audit::AuditFilter;

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/api/v1/audit", get(json_page))
        .route("/api/v1/audit.csv", get(csv))
}

async fn json_page(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    q: Result<Query<AuditFilter>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let filter = query(q)?;
    let limit = filter.limit.unwrap_or(50) as usize;
    let entries = list(state.store.as_ref(), &who, filter).await?;
    // A full page may have more after it: `next` holds the filter values that continue it.
    let next = entries
        .last()
        .filter(|_| entries.len() == limit)
        .map(|e| json!({ "before": e.ts.0, "before_id": e.id }));
    Ok(Json(json!({ "data": entries, "next": next })))
}

/// The CSV export. The first page is read before answering, so a refusal or a bad filter is a
/// JSON error with its status, not a broken download; later pages follow as they are read.
async fn csv(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    q: Result<Query<AuditFilter>, QueryRejection>,
) -> Result<Response, ApiError> {
    let who = principal(p)?;
    let mut filter = query(q)?;
    if filter.limit.is_some() || filter.before.is_some() || filter.before_id.is_some() {
        return Err(ApiError::BadRequest(
            "the CSV export holds every matching entry: filter by action, object_type, \
             object_id, actor and since"
                .into(),
        ));
    }
    filter.limit = Some(MAX_AUDIT_PAGE);
    let store = state.store.clone();
    let first = list(store.as_ref(), &who, filter.clone()).await?;
    let pages = futures_util::stream::unfold(
        (Some(first), filter, store, who, true),
        |(page, mut filter, store, who, header)| async move {
            let page = match page {
                Some(p) => p,
                None => match list(store.as_ref(), &who, filter.clone()).await {
                    Ok(p) => p,
                    Err(e) => {
                        // The status was sent with the first page: the file ends here, short,
                        // and the reason is logged.
                        tracing::error!(error = %e, "audit export stopped early");
                        return None;
                    }
                },
            };
            if page.is_empty() && !header {
                return None;
            }
            let mut chunk = String::new();
            if header {
                chunk.push_str(CSV_HEADER);
            }
            for e in &page {
                chunk.push_str(&csv_line(e));
            }
            let full = page.len() >= MAX_AUDIT_PAGE as usize;
            let last = page.last().map(|e| (e.ts.0, e.id));
            let next = match (full, last) {
                (true, Some((ts, id))) => {
                    filter.before = Some(ts);
                    filter.before_id = Some(id);
                    None
                }
                // The last page: stop after this chunk.
                _ => Some(Vec::new()),
            };
            Some((
                Ok::<_, std::convert::Infallible>(chunk),
                (next, filter, store, who, false),
            ))
        },
    );
    Ok((
        [
            (http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"tollgate-audit.csv\"",
            ),
        ],
        Body::from_stream(pages),
    )
        .into_response())
}
