//! The request path: authenticate the key, read the body, authorize the model and instance,
//! resolve the route, then try deployments (retries on another deployment, then fallbacks)
//! until one answers. Streams are handed to the relay after their first chunk arrives, so a
//! failure before the first byte can still be retried and none after it is.

use crate::error::GatewayError;
use crate::limits::{Owner, RateKind, Refusal, Scope, Ticket};
use crate::providers::{self, ClientRequest, Endpoint, Target};
use crate::relay::{self, Accounting, GatewayInFlight};
use crate::routes::{DeploymentEntry, Resolved};
use crate::snapshot::Snapshot;
use crate::usage::Outcome;
use crate::{Gateway, balance, charge};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use secrecy::ExposeSecret as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tollgate_domain::analytics::error_kind;
use tollgate_domain::keys::hash_secret;
use tollgate_domain::model::VirtualKey;
use tollgate_domain::routing::model_allowed;
use tollgate_domain::{Micros, Timestamp};

/// What is known about a request as it goes.
pub(crate) struct Ctx {
    /// One snapshot for the whole request, accounting included: the key, routes and prices
    /// come from the same revision.
    pub snapshot: Arc<Snapshot>,
    /// Echoed in `x-request-id`: the caller's when it sent a sane one.
    pub request_id: String,
    /// The spend log's unique id (UUID v7, never the caller's: a repeated caller id must not
    /// make a request vanish from accounting as a duplicate).
    pub log_id: String,
    /// Request body size, for token estimates when the upstream reports no usage.
    pub body_len: usize,
    /// What the limits gave this request (its owners' ticket, the answering deployment's);
    /// settled by the accounting, or released at zero cost when the request ends without it.
    pub tickets: Arc<std::sync::Mutex<Vec<Ticket>>>,
    pub started: Instant,
    pub key: Option<Arc<VirtualKey>>,
    pub route_model: String,
    /// Held until the response is complete; a stream takes it over until it ends.
    pub in_flight: std::sync::Mutex<Option<GatewayInFlight>>,
    /// The deployments sent to so far, in order (the spend log's `tried`).
    pub tried: Vec<uuid::Uuid>,
    /// The request body (at most the configured cap), when its key or team stores prompts.
    pub prompt: Option<Bytes>,
}

impl Ctx {
    pub(crate) fn keep(&self, ticket: Ticket) {
        if let Ok(mut t) = self.tickets.lock() {
            t.push(ticket);
        }
    }
}

/// Serves one proxied request end to end and adds the headers every response carries.
pub(crate) async fn serve(
    gw: Arc<Gateway>,
    endpoint: Endpoint,
    headers: HeaderMap,
    body: Result<Bytes, GatewayError>,
) -> Response {
    let log_id = uuid::Uuid::now_v7().to_string();
    let mut ctx = Ctx {
        snapshot: gw.snapshot(),
        request_id: request_id(&headers).unwrap_or_else(|| log_id.clone()),
        log_id,
        body_len: 0,
        tickets: Arc::new(std::sync::Mutex::new(Vec::new())),
        started: Instant::now(),
        key: None,
        route_model: String::new(),
        in_flight: std::sync::Mutex::new(Some(GatewayInFlight::enter(gw.clone()))),
        tried: Vec::new(),
        prompt: None,
    };
    let mut response = match run(&gw, endpoint, &headers, body, &mut ctx).await {
        Ok(r) => r,
        Err(e) => {
            relay::record_refusal(&gw, &ctx, &e);
            e.into_response_for(endpoint.client_dialect())
        }
    };
    let h = response.headers_mut();
    put(h, "x-request-id", &ctx.request_id);
    put(h, "x-tollgate-instance", &gw.config.instance);
    put(h, "x-tollgate-pod", &gw.config.pod);
    response
}

fn put(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// The caller's `x-request-id` when it is sane.
fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
}

/// The virtual key from `Authorization: Bearer` or `x-api-key`, checked against the snapshot.
pub(crate) fn authenticate(
    snapshot: &Snapshot,
    headers: &HeaderMap,
    database_ok: bool,
) -> Result<Arc<VirtualKey>, GatewayError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .ok_or(GatewayError::Unauthenticated(
            "missing API key: send `Authorization: Bearer sk-tg-...`",
        ))?;
    let Some(key) = snapshot.keys.get(&hash_secret(presented)).cloned() else {
        // A key created while the database is down may exist: say so instead of "invalid".
        return Err(if database_ok {
            GatewayError::Unauthenticated("invalid API key")
        } else {
            GatewayError::Unavailable {
                message: "this API key is not in the gateway's cache and the database is \
                          unreachable, so it cannot be verified; retry shortly"
                    .to_owned(),
                code: "database_unavailable",
            }
        });
    };
    if key.blocked {
        return Err(GatewayError::Unauthenticated("this API key is blocked"));
    }
    if key.is_expired(Timestamp::now()) {
        return Err(GatewayError::Unauthenticated("this API key has expired"));
    }
    Ok(key)
}

async fn run(
    gw: &Arc<Gateway>,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: Result<Bytes, GatewayError>,
    ctx: &mut Ctx,
) -> Result<Response, GatewayError> {
    let snapshot = ctx.snapshot.clone();
    let key = authenticate(&snapshot, headers, gw.database_ok())?;
    ctx.key = Some(key.clone());
    let body = body?;
    ctx.body_len = body.len();
    if key.store_prompts {
        // A copy of the part kept (one byte more tells it was cut), not the whole body.
        let keep = body
            .len()
            .min(gw.config.store_prompts_max_bytes.saturating_add(1));
        ctx.prompt = Some(Bytes::copy_from_slice(&body[..keep]));
    }
    let json: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&body).map_err(|e| {
            GatewayError::bad_request(format!("the body is not a JSON object: {e}"), None)
        })?;
    let model = json
        .get("model")
        .and_then(|m| m.as_str())
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GatewayError::bad_request("`model` is required", Some("model")))?
        .to_owned();
    ctx.route_model = model.clone();
    if !model_allowed(key.allowed_models.as_deref(), &model) {
        return Err(GatewayError::Forbidden {
            message: format!("this key may not use the model `{model}`"),
            code: "model_not_allowed",
        });
    }
    if let Some(instances) = &key.allowed_instances
        && !instances.iter().any(|i| *i == gw.config.instance)
    {
        return Err(GatewayError::Forbidden {
            message: format!(
                "this key may not use the gateway instance `{}`",
                gw.config.instance
            ),
            code: error_kind::INSTANCE_NOT_ALLOWED,
        });
    }

    let first = snapshot
        .routes
        .resolve(&model, headers)
        .ok_or_else(|| GatewayError::ModelNotFound(model.clone()))?;
    admit(gw, &snapshot, &key, &first, &json, ctx).await?;
    let client_req = ClientRequest {
        endpoint,
        body: &json,
        headers,
    };
    let fallbacks: Vec<Resolved<'_>> = first
        .entry
        .route
        .fallbacks
        .iter()
        .filter_map(|f| snapshot.routes.resolve(f, headers))
        .collect();

    let mut last: Option<Failure> = None;
    // The soonest a deployment skipped for its rate cap frees up, in ms.
    let mut capped: Option<i64> = None;
    for resolved in std::iter::once(first).chain(fallbacks) {
        let mut picker = Picker::new(&resolved);
        while let Some((dep, probe)) = picker.next() {
            // If this future is dropped mid-attempt (the client left), the probe slot comes back.
            let probe = balance::ProbeGuard::new(dep.state.clone(), probe);
            // A deployment at its rate cap is skipped (not tried, not a failure).
            let cap = match deployment_cap(gw, &dep, ctx).await {
                Ok(cap) => cap,
                Err(retry_ms) => {
                    capped = Some(capped.map_or(retry_ms, |c| c.min(retry_ms)));
                    continue;
                }
            };
            picker.attempts += 1;
            ctx.tried.push(dep.deployment.id.0);
            match attempt(gw, &client_req, &resolved, &dep, ctx).await {
                Ok(response) => {
                    probe.settled();
                    if let Some(t) = cap {
                        ctx.keep(t);
                    }
                    return Ok(response);
                }
                Err(Attempt::Final(response)) => {
                    if let Some(t) = cap {
                        ctx.keep(t);
                    }
                    return Ok(response);
                }
                Err(Attempt::Retry(f)) => {
                    tracing::debug!(deployment = %dep.deployment.id, kind = f.kind, "attempt failed");
                    dep.state.on_failure(&gw.config.cooldown, Instant::now());
                    probe.settled();
                    gw.metrics
                        .upstream_error(&dep.deployment.id.to_string(), f.kind);
                    last = Some(f);
                }
            }
        }
    }
    if let (None, Some(retry_ms)) = (&last, capped) {
        let retry_after_secs = u64::try_from(retry_ms.max(1)).unwrap_or(1).div_ceil(1000);
        gw.metrics.limit_refusal("deployment", "requests");
        return Err(GatewayError::RateLimited {
            message: format!(
                "every deployment of `{model}` is at its rate cap; retry in {retry_after_secs} s"
            ),
            what: "requests",
            limit: 0,
            retry_after_secs,
        });
    }
    let tried: Vec<String> = ctx.tried.iter().map(uuid::Uuid::to_string).collect();
    Err(match last {
        None => GatewayError::Upstream {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!("every deployment of `{model}` is disabled or cooling down"),
            tried,
            retry_after: None,
        },
        Some(f) => GatewayError::Upstream {
            status: failure_status(f.kind),
            message: format!(
                "the upstream failed after {} attempt(s); last error: {}",
                tried.len(),
                f.detail
            ),
            tried,
            retry_after: f.retry_after,
        },
    })
}

/// Rate limits and budgets of the key, its team and its user; a request that passes holds a
/// ticket until it is accounted.
async fn admit(
    gw: &Arc<Gateway>,
    snapshot: &Snapshot,
    key: &VirtualKey,
    route: &Resolved<'_>,
    json: &serde_json::Map<String, serde_json::Value>,
    ctx: &Ctx,
) -> Result<(), GatewayError> {
    let estimate = if charge::has_budget(snapshot, key) {
        // Priced as the route's first deployment would charge it.
        let dep = route.entry.deployments.first();
        charge::estimate(
            snapshot,
            dep.map(|d| (d.as_ref(), d.upstream_model(route.suffix.as_deref()))),
            json,
            ctx.body_len,
            gw.config.default_completion_tokens,
        )
    } else {
        Micros::ZERO
    };
    let checks = charge::checks(snapshot, key, Timestamp::now(), estimate, &|s, id, w| {
        gw.window_spend(s, id, w)
    });
    if checks.is_empty() {
        return Ok(());
    }
    match gw.limiter.admit(&ctx.log_id, checks).await {
        Ok(ticket) => {
            ctx.keep(ticket);
            Ok(())
        }
        Err(refusal) => Err(refused(gw, refusal)),
    }
}

/// Takes a request slot under a deployment's own `rpm_limit`/`tpm_limit` (the provider's quota
/// for it), shared by every replica like the other limits. `Err(ms until free)` when it is full.
async fn deployment_cap(
    gw: &Arc<Gateway>,
    dep: &DeploymentEntry,
    ctx: &Ctx,
) -> Result<Option<Ticket>, i64> {
    let d = &dep.deployment;
    if d.rpm_limit.is_none() && d.tpm_limit.is_none() {
        return Ok(None);
    }
    let check = crate::limits::Check {
        owner: Owner::Deployment,
        id: d.id.0,
        rpm: d.rpm_limit,
        tpm: d.tpm_limit,
        parallel: None,
        budget: None,
    };
    match gw
        .limiter
        .admit(&format!("{}:{}", ctx.log_id, d.id), vec![check])
        .await
    {
        Ok(t) => Ok(Some(t)),
        Err(Refusal::Rate { retry_after_ms, .. }) => Err(retry_after_ms),
        Err(_) => Err(1000),
    }
}

fn refused(gw: &Gateway, refusal: Refusal) -> GatewayError {
    let whose = |o: Owner| match o {
        Owner::Spend(Scope::Key) => "this key",
        Owner::Spend(Scope::Team) => "this key's team",
        Owner::Spend(Scope::User) => "this key's user",
        Owner::Deployment => "the deployment",
    };
    match refusal {
        Refusal::Rate {
            owner,
            kind,
            limit,
            retry_after_ms,
        } => {
            let (what, unit) = match kind {
                RateKind::Requests => ("requests", "requests per minute"),
                RateKind::Tokens => ("tokens", "tokens per minute"),
                RateKind::Parallel => ("parallel", "requests in flight at once"),
            };
            gw.metrics.limit_refusal(owner.as_str(), what);
            let retry_after_secs = u64::try_from(retry_after_ms.max(1))
                .unwrap_or(1)
                .div_ceil(1000);
            GatewayError::RateLimited {
                message: format!(
                    "{} has reached its limit of {limit} {unit}; retry in {retry_after_secs} s",
                    whose(owner)
                ),
                what,
                limit,
                retry_after_secs,
            }
        }
        Refusal::Budget { owner, max, spent } => {
            gw.metrics.limit_refusal(owner.as_str(), "budget");
            GatewayError::BudgetExceeded(format!(
                "{} has spent {spent} of its budget of {max} for the current period",
                whose(owner)
            ))
        }
        Refusal::Unavailable => {
            gw.metrics.limit_refusal("-", "unavailable");
            GatewayError::Unavailable {
                message: "rate limits cannot be checked: Redis is unreachable and the \
                          configured policy is to refuse; retry shortly"
                    .to_owned(),
                code: "limits_unavailable",
            }
        }
    }
}

/// Why an attempt failed in a way another deployment might not.
pub(crate) struct Failure {
    pub kind: &'static str,
    pub detail: String,
    /// The upstream's `Retry-After`, relayed when its 429 is the final answer.
    pub retry_after: Option<String>,
}

enum Attempt {
    /// Try the next deployment.
    Retry(Failure),
    /// Answer the client with this (the upstream's own 4xx, or a request it cannot take).
    Final(Response),
}

fn retry(kind: &'static str, detail: impl Into<String>) -> Attempt {
    Attempt::Retry(Failure {
        kind,
        detail: detail.into(),
        retry_after: None,
    })
}

async fn attempt(
    gw: &Arc<Gateway>,
    client_req: &ClientRequest<'_>,
    resolved: &Resolved<'_>,
    dep: &Arc<DeploymentEntry>,
    ctx: &Ctx,
) -> Result<Response, Attempt> {
    let route = &resolved.entry.route;
    let d = &dep.deployment;
    let provider = providers::provider(d.provider);
    let target = Target {
        provider: d.provider,
        upstream_model: dep.upstream_model(resolved.suffix.as_deref()),
        api_base: d.api_base.as_deref(),
        api_version: d.api_version.as_deref(),
        api_key: dep.api_key.as_ref().map(|k| k.expose_secret()),
    };
    let upstream = provider
        .build_request(client_req, &target)
        .map_err(|e| match e {
            providers::ProviderError::BadRequest { message, param } => Attempt::Final(
                GatewayError::BadRequest {
                    message,
                    param,
                    code: "unsupported_by_provider",
                }
                .into_response_for(client_req.endpoint.client_dialect()),
            ),
            providers::ProviderError::BadUpstream(m) => retry("request", m),
        })?;
    let timeout = route.timeout_ms.map_or(gw.config.default_timeout, ms);
    // Each attempt gets the route's whole timeout: a retry after a timeout must have time to answer.
    let deadline = Instant::now() + timeout;
    let in_flight = dep.state.start();
    let sent_at = Instant::now();
    let response = send(gw.client(), upstream, deadline)
        .await
        .map_err(Attempt::Retry)?;
    let status = response.status();
    let acct = Accounting::new(
        gw.clone(),
        ctx,
        route.model_name.clone(),
        dep.clone(),
        target.upstream_model.to_owned(),
        sent_at,
        in_flight,
    );
    if !status.is_success() {
        // The upstream's own verdict on the request: passed through, not retried.
        let body = tokio::time::timeout_at(deadline.into(), response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        dep.state.on_neutral();
        let converted = provider.convert_error(client_req.endpoint, status.as_u16(), &body);
        return Err(Attempt::Final(acct.finish_plain(
            status,
            converted,
            Outcome::Error,
            Some("upstream_4xx"),
            Default::default(),
            Instant::now(),
        )));
    }

    if client_req.is_stream() {
        let converter =
            provider.stream_converter(client_req.endpoint, client_req.wants_stream_usage());
        let idle = route
            .stream_idle_timeout_ms
            .map_or(gw.config.default_stream_idle_timeout, ms);
        let mut stream: relay::UpstreamStream = Box::pin(response.bytes_stream());
        return match relay::first_output(&mut stream, converter, deadline).await {
            Ok((first, converter)) => {
                dep.state.on_success(sent_at.elapsed());
                let in_flight = ctx.in_flight.lock().ok().and_then(|mut g| g.take());
                Ok(acct.stream(status, stream, converter, first, idle, in_flight))
            }
            Err(f) => Err(Attempt::Retry(f)),
        };
    }

    let body = read_body(response, deadline, None)
        .await
        .map_err(Attempt::Retry)?;
    let upstream_done = Instant::now();
    match provider.convert_response(client_req.endpoint, &body) {
        Ok((converted, usage)) => {
            dep.state.on_success(upstream_done - sent_at);
            Ok(acct.finish_plain(status, converted, Outcome::Ok, None, usage, upstream_done))
        }
        Err(e) => Err(retry("bad_response", e.to_string())),
    }
}

/// Sends one upstream request, due by `deadline`, and sorts out the answers another deployment
/// might not give: no connection, a timeout, a 429, a refused credential, a 5xx.
pub(crate) async fn send(
    client: &reqwest::Client,
    upstream: providers::UpstreamRequest,
    deadline: Instant,
) -> Result<reqwest::Response, Failure> {
    let fail = |kind: &'static str, detail: String| Failure {
        kind,
        detail,
        retry_after: None,
    };
    let mut request = client.post(&upstream.url).body(upstream.body);
    for (name, value) in upstream.headers {
        request = request.header(name, value);
    }
    let response = match tokio::time::timeout_at(deadline.into(), request.send()).await {
        Err(_) => {
            return Err(fail(
                "timeout",
                "no response before the route's timeout".into(),
            ));
        }
        Ok(Err(e)) if e.is_connect() => {
            return Err(fail("connect", "could not connect to the upstream".into()));
        }
        Ok(Err(e)) if e.is_timeout() => {
            return Err(fail("timeout", "the upstream connection timed out".into()));
        }
        Ok(Err(_)) => return Err(fail("request", "the upstream request failed".into())),
        Ok(Ok(r)) => r,
    };
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        return Err(Failure {
            kind: "upstream_429",
            detail: "the upstream is rate limiting (429)".into(),
            retry_after,
        });
    }
    // The deployment's credential was refused: a configuration problem of that deployment,
    // never reported as if the caller's own key were wrong.
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(fail(
            "upstream_auth",
            format!("the upstream refused this deployment's credential ({status})"),
        ));
    }
    if status.is_server_error() {
        return Err(fail(
            "upstream_5xx",
            format!("the upstream answered {status}"),
        ));
    }
    Ok(response)
}

/// An upstream's whole body, due by `deadline`; with a `cap`, a larger one is a `bad_response`.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    deadline: Instant,
    cap: Option<usize>,
) -> Result<Bytes, Failure> {
    let fail = |kind: &'static str, detail: String| Failure {
        kind,
        detail,
        retry_after: None,
    };
    let read = async {
        let Some(cap) = cap else {
            return response.bytes().await.map_err(|_| None);
        };
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| None)? {
            if body.len() + chunk.len() > cap {
                return Err(Some(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    match tokio::time::timeout_at(deadline.into(), read).await {
        Err(_) => Err(fail(
            "timeout",
            "the upstream body did not arrive before the route's timeout".into(),
        )),
        Ok(Err(None)) => Err(fail(
            "read",
            "the upstream connection broke while sending the body".into(),
        )),
        Ok(Err(Some(cap))) => Err(fail(
            "bad_response",
            format!("the upstream's answer is larger than {} KiB", cap / 1024),
        )),
        Ok(Ok(b)) => Ok(b),
    }
}

/// The status a client gets when every attempt failed and `kind` was the last failure: a rate
/// limit stays a rate limit, so clients back off; a timeout is a 504.
pub(crate) fn failure_status(kind: &str) -> StatusCode {
    match kind {
        "timeout" => StatusCode::GATEWAY_TIMEOUT,
        "upstream_429" => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// Picks the deployments of one route to try, in turn, by its strategy: each at most once,
/// only enabled ones with a usable credential, and no more attempts than the first and the
/// route's retries (the caller counts in `attempts` what it tried; a deployment skipped without
/// a try, such as one at its rate cap, is not counted).
pub(crate) struct Picker<'r, 'a> {
    resolved: &'r Resolved<'a>,
    excluded: Vec<tollgate_domain::DeploymentId>,
    pub attempts: i64,
}

impl<'r, 'a> Picker<'r, 'a> {
    pub(crate) fn new(resolved: &'r Resolved<'a>) -> Picker<'r, 'a> {
        Picker {
            resolved,
            excluded: Vec::new(),
            attempts: 0,
        }
    }

    /// The next deployment and whether it is a half-open probe (see [`balance::pick`]); `None`
    /// when the attempts are used up or no deployment is left that is not cooling down.
    pub(crate) fn next(&mut self) -> Option<(Arc<DeploymentEntry>, bool)> {
        let route = &self.resolved.entry.route;
        if self.attempts > route.retries.max(0) {
            return None;
        }
        let candidates: Vec<&Arc<DeploymentEntry>> = self
            .resolved
            .entry
            .deployments
            .iter()
            .filter(|d| {
                d.deployment.enabled
                    && d.credential_error.is_none()
                    && !self.excluded.contains(&d.deployment.id)
            })
            .collect();
        let (dep, probe) = balance::pick(route.strategy, &candidates, Instant::now())?;
        self.excluded.push(dep.deployment.id);
        Some((Arc::clone(dep), probe))
    }
}

pub(crate) fn ms(v: i64) -> Duration {
    Duration::from_millis(u64::try_from(v).unwrap_or(0))
}

/// A JSON response with the `x-tollgate-deployment` and overhead headers.
pub(crate) fn json_response(
    status: StatusCode,
    body: Bytes,
    deployment: &str,
    overhead: Duration,
) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    put(h, "x-tollgate-deployment", deployment);
    put(
        h,
        "x-tollgate-overhead-ms",
        &format!("{:.3}", overhead.as_secs_f64() * 1000.0),
    );
    r
}
