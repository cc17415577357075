//! `/api/v1/spend` and `/api/v1/logs`: the spend page's and the request log's data for
//! automation, authorized exactly like the pages (the shared `tollgate_app::server::analytics`).

use super::{ApiError, principal, query};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_app::server::{PortalState, Principal, analytics};
use tollgate_domain::Timestamp;
use tollgate_domain::analytics::param as parse;
use tollgate_domain::analytics::{
    GroupBy, LogQuery, SpendFilters, SpendMetrics, SpendQuery, SpendSeries, csv_line,
    dollars_decimal,
};
use tollgate_domain::time::MS_PER_DAY;

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/api/v1/spend", get(get_spend))
        .route("/api/v1/logs", get(list_logs))
        .route("/api/v1/logs/{request_id}", get(get_log))
}

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

/// The same filters as the spend page.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpendParams {
    from: Option<String>,
    to: Option<String>,
    granularity: Option<String>,
    group_by: Option<String>,
    key: Option<String>,
    team: Option<String>,
    user: Option<String>,
    model: Option<String>,
    provider: Option<String>,
    instance: Option<String>,
    deployment: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

impl SpendParams {
    /// Defaults: the 30 days up to now, the granularity that suits the range, no grouping.
    fn query(&self, now: Timestamp) -> Result<SpendQuery, ApiError> {
        let to = parse::time("to", self.to.as_deref())?.unwrap_or(now);
        let from =
            parse::time("from", self.from.as_deref())?.unwrap_or(to.plus_millis(-30 * MS_PER_DAY));
        Ok(SpendQuery {
            from,
            to,
            granularity: parse::granularity(self.granularity.as_deref())?
                .unwrap_or_else(|| SpendQuery::default_granularity(from, to)),
            group_by: parse::group_by(self.group_by.as_deref())?,
            filters: SpendFilters {
                key: parse::id("key", self.key.as_deref())?,
                team: parse::id("team", self.team.as_deref())?,
                user: parse::id("user", self.user.as_deref())?,
                model: self.model.clone(),
                provider: self.provider.clone(),
                instance: self.instance.clone(),
                deployment: parse::id("deployment", self.deployment.as_deref())?,
            },
        })
    }
}

fn metrics_json(m: &SpendMetrics) -> Value {
    json!({
        "requests": m.requests,
        "errors": m.errors,
        "prompt_tokens": m.prompt_tokens,
        "completion_tokens": m.completion_tokens,
        "cost_micros": m.cost.0,
        "cost_usd": dollars_decimal(m.cost),
        "p50_latency_ms": m.latency.quantile(0.5),
        "p95_latency_ms": m.latency.quantile(0.95),
        "p99_latency_ms": m.latency.quantile(0.99),
    })
}

fn series_json(s: &SpendSeries) -> Value {
    let q = &s.query;
    let points: Vec<Value> = s
        .points
        .iter()
        .map(|p| {
            let mut v = metrics_json(&p.metrics);
            v["bucket"] = json!(p.bucket.to_string());
            v["group"] = json!(s.groups.get(p.group).map(|g| g.key.as_str()));
            v
        })
        .collect();
    json!({
        "from": q.from.to_string(),
        "to": q.to.to_string(),
        "granularity": q.granularity.as_str(),
        "group_by": q.group_by.map(GroupBy::as_str),
        "team": q.filters.team,
        "buckets": s.buckets.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "groups": s.groups.iter().map(|g| {
            let mut v = metrics_json(&g.totals);
            v["key"] = json!(g.key);
            v["label"] = json!(g.label);
            v
        }).collect::<Vec<_>>(),
        "series": points,
        "totals": metrics_json(&s.totals),
    })
}

/// One line per bucket and group, oldest first: what a spreadsheet wants.
fn series_csv(s: &SpendSeries) -> String {
    let mut out = csv_line([
        "bucket",
        "group",
        "label",
        "requests",
        "errors",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
    ]);
    for p in &s.points {
        let (key, label) = s
            .groups
            .get(p.group)
            .map_or(("", ""), |g| (g.key.as_str(), g.label.as_str()));
        let m = &p.metrics;
        out.push_str(&csv_line([
            p.bucket.to_string(),
            key.to_owned(),
            label.to_owned(),
            m.requests.to_string(),
            m.errors.to_string(),
            m.prompt_tokens.to_string(),
            m.completion_tokens.to_string(),
            dollars_decimal(m.cost),
        ]));
    }
    out
}

async fn get_spend(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    params: QueryResult<SpendParams>,
) -> Result<Response, ApiError> {
    let p = principal(p)?;
    let params = query(params)?;
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "format: expected json or csv".to_owned(),
            ));
        }
    };
    let query = params.query(Timestamp::now())?;
    let series = analytics::spend_series(state.store.as_ref(), &p.actor, query).await?;
    if csv {
        let name = format!(
            "attachment; filename=\"tollgate-spend-{}-{}.csv\"",
            series.query.from.display_date(),
            series.query.to.display_date()
        );
        Ok((
            [
                (
                    http::header::CONTENT_TYPE,
                    "text/csv; charset=utf-8".to_owned(),
                ),
                (http::header::CONTENT_DISPOSITION, name),
            ],
            series_csv(&series),
        )
            .into_response())
    } else {
        Ok(Json(series_json(&series)).into_response())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogParams {
    from: Option<String>,
    to: Option<String>,
    key: Option<String>,
    team: Option<String>,
    model: Option<String>,
    instance: Option<String>,
    pod: Option<String>,
    /// `success`, `error` or one status code.
    status: Option<String>,
    min_latency_ms: Option<i64>,
    /// The `next` of the previous page.
    after: Option<String>,
    limit: Option<u32>,
}

impl LogParams {
    fn query(&self) -> Result<LogQuery, ApiError> {
        Ok(LogQuery {
            from: parse::time("from", self.from.as_deref())?,
            to: parse::time("to", self.to.as_deref())?,
            key: parse::id("key", self.key.as_deref())?,
            team: parse::id("team", self.team.as_deref())?,
            model: self.model.clone(),
            instance: self.instance.clone(),
            pod: self.pod.clone(),
            status: parse::status(self.status.as_deref())?,
            min_latency_ms: self.min_latency_ms,
            after: parse::cursor(self.after.as_deref())?,
            limit: self.limit.unwrap_or(100),
        })
    }
}

async fn list_logs(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    params: QueryResult<LogParams>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(p)?;
    let params = query(params)?;
    let page = analytics::request_log(state.store.as_ref(), &p.actor, params.query()?).await?;
    Ok(Json(json!({
        "data": page.entries,
        "next": page.next.map(|c| c.encode()),
    })))
}

async fn get_log(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(request_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(p)?;
    let entry = analytics::request_detail(state.store.as_ref(), &p.actor, &request_id).await?;
    Ok(Json(json!({ "data": entry })))
}
