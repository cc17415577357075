//! Virtual keys over HTTP: `/api/v1/keys` (Tollgate's own shape) and LiteLLM's `/key/generate`,
//! `/key/info`, `/key/list`, `/key/delete`, `/key/block` and `/key/unblock` (its field names and
//! answer shapes, so scripts written for LiteLLM keep working). Both call
//! `tollgate_app::server::keys`, which holds the rules; the command line does too.

use super::{ApiError, body, path_id, principal, query};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_app::server::keys;
use tollgate_app::server::{PortalState, Principal};
use tollgate_domain::analytics::dollars_decimal;
use tollgate_domain::budget::BudgetPeriod;
use tollgate_domain::key_spec::KeySpec;
use tollgate_domain::key_spec::{KeyFilter, KeySort};
use tollgate_domain::model::VirtualKey;
use tollgate_domain::time::MS_PER_DAY;
use tollgate_domain::{KeyId, Micros, TeamId, Timestamp, UserId};

pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/api/v1/keys", get(list).post(create))
        .route("/api/v1/keys/{id}", get(info).patch(edit).delete(delete))
        .route("/api/v1/keys/{id}/block", post(block))
        .route("/api/v1/keys/{id}/unblock", post(unblock))
        .route("/api/v1/keys/{id}/rotate", post(rotate))
        .route("/key/generate", post(litellm_generate))
        .route("/key/info", get(litellm_info))
        .route("/key/list", get(litellm_list))
        .route("/key/update", post(litellm_update))
        .route("/key/delete", post(litellm_delete))
        .route("/key/block", post(litellm_block))
        .route("/key/unblock", post(litellm_unblock))
        .route("/key/regenerate", post(litellm_regenerate))
}

/// `GET /api/v1/keys` filters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    team: Option<TeamId>,
    user: Option<UserId>,
    blocked: Option<bool>,
    expires_within_days: Option<u32>,
    search: Option<String>,
    after: Option<KeyId>,
    limit: Option<u32>,
    #[serde(default)]
    sort: KeySort,
    owner_email: Option<String>,
}

async fn list(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let q = query(q)?;
    let page = keys::list_keys(
        state.store.as_ref(),
        &who,
        KeyFilter {
            team: q.team,
            user: q.user,
            blocked: q.blocked,
            expires_within_days: q.expires_within_days,
            search: q.search,
            after: q.after,
            limit: q.limit,
            sort: q.sort,
            owner_email: q.owner_email,
        },
    )
    .await?;
    Ok(Json(json!({ "data": page.keys, "next": page.next })))
}

async fn create(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<KeySpec>, JsonRejection>,
) -> Result<Response, ApiError> {
    let who = principal(p)?;
    let spec = body(b)?;
    let made = keys::create_key(state.store.as_ref(), &who, spec, Timestamp::now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "data": made.key, "secret": made.secret })),
    )
        .into_response())
}

async fn info(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let key = keys::get_key(state.store.as_ref(), &who, path_id::<KeyId>(&id)?).await?;
    Ok(Json(json!({ "data": key })))
}

/// `PATCH /api/v1/keys/{id}`: `version` (the one read) and the fields to change.
async fn edit(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
    b: Result<Json<serde_json::Map<String, Value>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let mut changes = body(b)?;
    let version = match changes.remove("version") {
        Some(Value::Number(n)) if n.is_i64() => n.as_i64(),
        _ => {
            return Err(ApiError::BadRequest(
                "version: send the key's `version` as you read it, so a save made since is not \
                 overwritten"
                    .into(),
            ));
        }
    };
    let key = keys::update_key(
        state.store.as_ref(),
        &who,
        path_id::<KeyId>(&id)?,
        changes,
        version,
        Timestamp::now(),
    )
    .await?;
    Ok(Json(json!({ "data": key })))
}

async fn delete(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = principal(p)?;
    keys::delete_key(state.store.as_ref(), &who, path_id::<KeyId>(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn block(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    switch(state, p, &id, true).await
}

async fn unblock(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    switch(state, p, &id, false).await
}

async fn switch(
    state: PortalState,
    p: Option<Extension<Principal>>,
    id: &str,
    blocked: bool,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let key = keys::set_blocked(state.store.as_ref(), &who, path_id::<KeyId>(id)?, blocked).await?;
    Ok(Json(json!({ "data": key })))
}

/// `POST /api/v1/keys/{id}/rotate`: `{"grace_seconds": n}` (optional, default 0).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    #[serde(default)]
    grace_seconds: u64,
}

async fn rotate(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    Path(id): Path<String>,
    b: Result<Json<RotateBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let b = body(b)?;
    let made = keys::rotate_key(
        state.store.as_ref(),
        &who,
        path_id::<KeyId>(&id)?,
        b.grace_seconds,
        Timestamp::now(),
    )
    .await?;
    Ok(Json(json!({ "data": made.key, "secret": made.secret })))
}

// LiteLLM's endpoints.

/// `/key/regenerate`: LiteLLM names the key by its secret (`key`); the old secret stops at once
/// unless `grace_period` (`30s`, `12h`, `1d` ...) says how long it keeps working.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiteLlmRegenerate {
    key: String,
    grace_period: Option<String>,
}

async fn litellm_regenerate(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<LiteLlmRegenerate>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let b = body(b)?;
    let grace_secs = match b.grace_period.as_deref() {
        None | Some("") => 0,
        Some(g) => match BudgetPeriod::parse(g) {
            Ok(BudgetPeriod::Millis(ms)) => u64::try_from(ms / 1000).unwrap_or(0),
            Ok(BudgetPeriod::Months(n)) => u64::from(n) * 30 * 24 * 3600,
            Err(e) => return Err(ApiError::BadRequest(format!("grace_period: {e}"))),
        },
    };
    let store = state.store.as_ref();
    let id = keys::resolve(store, &b.key).await?;
    let made = keys::rotate_key(store, &who, id, grace_secs, Timestamp::now())
        .await
        .map_err(|e| e.renamed(&[("grace_seconds", "grace_period")]))?;
    let mut answer = litellm_key(&made.key);
    answer["key"] = json!(made.secret);
    Ok(Json(answer))
}

/// `/key/generate` in LiteLLM's field names. Money is in dollars (a JSON number); `duration`
/// is how long the key lives (`30d`, `12h`, `1mo` = 30 days; none: forever). Fields LiteLLM has and Tollgate
/// does not are refused by name rather than ignored: a script relying on one would otherwise
/// get a key without the restriction it asked for.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiteLlmGenerate {
    key_alias: Option<String>,
    team_id: Option<TeamId>,
    user_id: Option<UserId>,
    models: Option<Vec<String>>,
    max_budget: Option<f64>,
    soft_budget: Option<f64>,
    budget_duration: Option<String>,
    rpm_limit: Option<i64>,
    tpm_limit: Option<i64>,
    max_parallel_requests: Option<i64>,
    duration: Option<String>,
    metadata: Option<serde_json::Map<String, Value>>,
}

/// Dollars as LiteLLM sends them (a JSON number) to micro-dollars.
pub(super) fn dollars(field: &str, v: Option<f64>) -> Result<Option<Micros>, ApiError> {
    v.map(|d| {
        if !d.is_finite() || d < 0.0 {
            return Err(ApiError::BadRequest(format!(
                "{field}: a non-negative number of dollars"
            )));
        }
        if d > 1e12 {
            return Err(ApiError::BadRequest(format!("{field}: too large")));
        }
        Ok(Micros((d * 1_000_000.0).round() as i64))
    })
    .transpose()
}

impl LiteLlmGenerate {
    fn spec(self, now: Timestamp) -> Result<KeySpec, ApiError> {
        let expires_at = match self.duration.as_deref() {
            None | Some("") => None,
            Some(d) => {
                let period = BudgetPeriod::parse(d)
                    .map_err(|e| ApiError::BadRequest(format!("duration: {e}")))?;
                // A month of a key's life is 30 days.
                Some(match period {
                    BudgetPeriod::Millis(ms) => now.plus_millis(ms),
                    BudgetPeriod::Months(n) => now.plus_millis(i64::from(n) * 30 * MS_PER_DAY),
                })
            }
        };
        Ok(KeySpec {
            alias: self.key_alias,
            team_id: self.team_id,
            user_id: self.user_id,
            models: self.models.filter(|m| !m.is_empty()),
            instances: None,
            max_budget: dollars("max_budget", self.max_budget)?,
            budget_duration: self.budget_duration,
            soft_budget: dollars("soft_budget", self.soft_budget)?,
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
            max_parallel: self.max_parallel_requests,
            expires_at,
            metadata: self.metadata,
            store_prompts: false,
        })
    }
}

/// A key in LiteLLM's shape (`/key/info`'s `info`, `/key/generate`'s answer without `key`).
fn litellm_key(k: &VirtualKey) -> Value {
    let money = |m: Option<Micros>| m.map(|m| m.0 as f64 / 1_000_000.0);
    let metadata: Value = k
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_else(|| json!({}));
    json!({
        "token": k.id,
        "key_name": k.masked(),
        "key_alias": k.alias,
        "team_id": k.team_id,
        "user_id": k.user_id,
        "models": k.allowed_models.clone().unwrap_or_default(),
        "max_budget": money(k.max_budget),
        "soft_budget": money(k.soft_budget),
        "budget_duration": k.budget_duration,
        "rpm_limit": k.rpm_limit,
        "tpm_limit": k.tpm_limit,
        "max_parallel_requests": k.max_parallel,
        "expires": k.expires_at.map(|t| t.to_string()),
        "blocked": k.blocked,
        "spend": k.spend.0 as f64 / 1_000_000.0,
        "spend_usd": dollars_decimal(k.spend),
        "metadata": metadata,
        "created_at": k.created_at.to_string(),
        "updated_at": k.updated_at.to_string(),
    })
}

async fn litellm_generate(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<LiteLlmGenerate>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let now = Timestamp::now();
    let spec = body(b)?.spec(now)?;
    let made = keys::create_key(state.store.as_ref(), &who, spec, now).await?;
    let mut answer = litellm_key(&made.key);
    answer["key"] = Value::String(made.secret);
    Ok(Json(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiteLlmInfo {
    /// The key's secret or id; LiteLLM's default is the caller's own key, which here is the
    /// master key or a session: it must be named.
    key: String,
}

async fn litellm_info(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    q: Result<Query<LiteLlmInfo>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let q = query(q)?;
    let store = state.store.as_ref();
    let id = keys::resolve(store, &q.key).await?;
    let key = keys::get_key(store, &who, id).await?;
    Ok(Json(json!({ "key": q.key, "info": litellm_key(&key) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiteLlmList {
    team_id: Option<TeamId>,
    user_id: Option<UserId>,
    key_alias: Option<String>,
    /// 1-based.
    page: Option<u32>,
    size: Option<u32>,
    /// Full key objects (`true`) or only their ids (LiteLLM's default).
    return_full_object: Option<bool>,
}

/// `/key/list`: LiteLLM pages by number. Keyset pages are walked to the one asked for (at
/// most 100 pages deep), so a deep page costs what the pages before it cost.
async fn litellm_list(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    q: Result<Query<LiteLlmList>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let q = query(q)?;
    let page = q.page.unwrap_or(1);
    let size = q.size.unwrap_or(10);
    if !(1..=100).contains(&page) {
        return Err(ApiError::BadRequest("page: 1 to 100".into()));
    }
    let mut filter = KeyFilter {
        team: q.team_id,
        user: q.user_id,
        search: q.key_alias,
        limit: Some(size),
        ..KeyFilter::default()
    };
    let mut current = keys::list_keys(state.store.as_ref(), &who, filter.clone()).await?;
    for _ in 1..page {
        match current.next {
            Some(after) => {
                filter.after = Some(after);
                current = keys::list_keys(state.store.as_ref(), &who, filter.clone()).await?;
            }
            None => {
                current.keys.clear();
                break;
            }
        }
    }
    let full = q.return_full_object.unwrap_or(false);
    let listed: Vec<Value> = current
        .keys
        .iter()
        .map(|k| if full { litellm_key(k) } else { json!(k.id) })
        .collect();
    Ok(Json(json!({
        "keys": listed,
        "current_page": page,
        "has_more": current.next.is_some(),
    })))
}

/// `/key/update`: the key (secret or id) and the fields to change, in LiteLLM's names (as
/// `/key/generate` takes them); the others keep their value. LiteLLM sends no version: the
/// last save wins, as there.
async fn litellm_update(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<serde_json::Map<String, Value>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let mut fields = body(b)?;
    let reference = match fields.remove("key") {
        Some(Value::String(k)) => k,
        _ => return Err(ApiError::BadRequest("key: the key's secret or id".into())),
    };
    let now = Timestamp::now();
    let mut changes = serde_json::Map::new();
    for (name, value) in fields {
        let (field, value) = match name.as_str() {
            "key_alias" => ("alias", value),
            "models" | "budget_duration" | "rpm_limit" | "tpm_limit" | "metadata" | "team_id"
            | "user_id" => (name.as_str(), value),
            "max_parallel_requests" => ("max_parallel", value),
            "max_budget" | "soft_budget" => {
                let dollars_given = match &value {
                    Value::Null => None,
                    Value::Number(n) => n.as_f64(),
                    _ => return Err(ApiError::BadRequest(format!("{name}: a number of dollars"))),
                };
                let micros = dollars(&name, dollars_given)?;
                (name.as_str(), json!(micros.map(|m| m.0)))
            }
            "duration" => {
                let expires = LiteLlmGenerate {
                    duration: value.as_str().map(str::to_owned),
                    ..LiteLlmGenerate::default()
                }
                .spec(now)?
                .expires_at;
                ("expires_at", json!(expires))
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "{other}: not a field Tollgate's keys have"
                )));
            }
        };
        changes.insert(field.to_owned(), value);
    }
    let store = state.store.as_ref();
    let id = keys::resolve(store, &reference).await?;
    let key = keys::update_key(store, &who, id, changes, None, now).await?;
    Ok(Json(litellm_key(&key)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiteLlmKeys {
    /// Secrets or ids.
    keys: Vec<String>,
}

/// `/key/delete`: every key named must exist and be the caller's to delete, or nothing is
/// deleted.
async fn litellm_delete(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<LiteLlmKeys>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let b = body(b)?;
    if b.keys.is_empty() || b.keys.len() > 100 {
        return Err(ApiError::BadRequest("keys: 1 to 100 keys".into()));
    }
    let store = state.store.as_ref();
    let mut ids = Vec::with_capacity(b.keys.len());
    for k in &b.keys {
        let id = keys::resolve(store, k).await?;
        keys::may_manage(store, &who, id).await?;
        ids.push(id);
    }
    for id in &ids {
        keys::delete_key(store, &who, *id).await?;
    }
    Ok(Json(json!({ "deleted_keys": b.keys })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiteLlmKey {
    key: String,
}

async fn litellm_switch(
    state: PortalState,
    p: Option<Extension<Principal>>,
    b: Result<Json<LiteLlmKey>, JsonRejection>,
    blocked: bool,
) -> Result<Json<Value>, ApiError> {
    let who = principal(p)?;
    let b = body(b)?;
    let store = state.store.as_ref();
    let id = keys::resolve(store, &b.key).await?;
    let key = keys::set_blocked(store, &who, id, blocked).await?;
    Ok(Json(litellm_key(&key)))
}

async fn litellm_block(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<LiteLlmKey>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    litellm_switch(state, p, b, true).await
}

async fn litellm_unblock(
    State(state): State<PortalState>,
    p: Option<Extension<Principal>>,
    b: Result<Json<LiteLlmKey>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    litellm_switch(state, p, b, false).await
}
