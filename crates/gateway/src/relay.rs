//! After the upstream answers: accounting (one usage event and one metrics sample per request,
//! emitted when the response ends, even when the client went away) and the stream relay, which
//! forwards converted chunks as they arrive and never buffers a whole stream.

use crate::Gateway;
use crate::balance::InFlight;
use crate::charge;
use crate::error::GatewayError;
use crate::limits::Ticket;
use crate::metrics::RequestSample;
use crate::providers::{StreamConverter, Usage};
use crate::proxy::{Ctx, Failure, json_response};
use crate::routes::DeploymentEntry;
use crate::snapshot::Snapshot;
use crate::usage::{Outcome, UsageEvent};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::{FutureExt as _, StreamExt as _};
use http::{HeaderValue, StatusCode, header};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tollgate_domain::Timestamp;
use tollgate_domain::analytics::{StoredBodies, error_kind};
use tollgate_domain::model::VirtualKey;
use tollgate_store::SpendRecord;

pub(crate) type UpstreamStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// Everything needed to account for a request that reached a deployment.
pub(crate) struct Accounting {
    gw: Arc<Gateway>,
    snapshot: Arc<Snapshot>,
    log_id: String,
    body_len: usize,
    tickets: Arc<std::sync::Mutex<Vec<Ticket>>>,
    started: Instant,
    key: Option<Arc<VirtualKey>>,
    requested_model: String,
    route_name: String,
    dep: Arc<DeploymentEntry>,
    upstream_model: String,
    sent_at: Instant,
    /// The deployments sent to, this one last.
    tried: Vec<uuid::Uuid>,
    /// The request body kept for a key or team that stores prompts.
    prompt: Option<Bytes>,
    _in_flight: InFlight,
}

/// Counts a request in `tollgate_in_flight_requests` from its arrival until it is answered, or,
/// for a stream, until the stream ends.
pub(crate) struct GatewayInFlight(Arc<Gateway>);

impl GatewayInFlight {
    pub(crate) fn enter(gw: Arc<Gateway>) -> GatewayInFlight {
        gw.metrics.enter();
        GatewayInFlight(gw)
    }
}

impl Drop for GatewayInFlight {
    fn drop(&mut self) {
        self.0.metrics.leave();
    }
}

impl Accounting {
    pub(crate) fn new(
        gw: Arc<Gateway>,
        ctx: &Ctx,
        route_name: String,
        dep: Arc<DeploymentEntry>,
        upstream_model: String,
        sent_at: Instant,
        in_flight: InFlight,
    ) -> Accounting {
        Accounting {
            gw,
            snapshot: ctx.snapshot.clone(),
            log_id: ctx.log_id.clone(),
            body_len: ctx.body_len,
            tickets: ctx.tickets.clone(),
            started: ctx.started,
            key: ctx.key.clone(),
            requested_model: ctx.route_model.clone(),
            route_name,
            dep,
            upstream_model,
            sent_at,
            tried: ctx.tried.clone(),
            prompt: ctx.prompt.clone(),
            _in_flight: in_flight,
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "two callers, each passing what it measured; a struct would only rename them"
    )]
    /// Accounts the request once; what it moves out (the deployments tried, the prompt) is
    /// not needed after.
    fn emit(
        &mut self,
        status: u16,
        outcome: Outcome,
        error_kind: Option<&'static str>,
        usage: Usage,
        ttft: Option<Duration>,
        overhead: Duration,
        completion: &[u8],
    ) {
        let latency = self.started.elapsed();
        let deployment = self.dep.deployment.id.to_string();
        self.gw.metrics.record(&RequestSample {
            route: &self.route_name,
            deployment: &deployment,
            status,
            latency,
            overhead,
            ttft,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
        });
        let price = charge::price(&self.snapshot, &self.dep, &self.upstream_model);
        let (cost, unpriced) = charge::cost(
            price,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cached_tokens,
        );
        let tickets = self
            .tickets
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for ticket in tickets {
            ticket.settle(usage.prompt_tokens + usage.completion_tokens, cost);
        }
        let mut event = base_event(
            &self.gw,
            &self.snapshot,
            &self.log_id,
            self.key.as_deref(),
            &self.requested_model,
            latency,
            status,
            outcome,
            error_kind,
        );
        let r = &mut event.record;
        r.upstream_model = Some(self.upstream_model.clone());
        r.provider = Some(self.dep.deployment.provider.as_str().to_owned());
        r.deployment_id = Some(self.dep.deployment.id.0);
        r.prompt_tokens = tokens(usage.prompt_tokens);
        r.completion_tokens = tokens(usage.completion_tokens);
        r.cached_tokens = tokens(usage.cached_tokens);
        r.ttft_ms = ttft.map(millis);
        r.cost = cost;
        r.unpriced = unpriced;
        r.tried = std::mem::take(&mut self.tried);
        r.bodies = stored_bodies(&self.gw, self.prompt.take().as_deref(), completion);
        if unpriced {
            self.gw.metrics.unpriced(&self.route_name);
        }
        event.stream = ttft.is_some();
        self.gw.usage.record(event);
    }

    /// A whole (non-streamed) answer: accounted now.
    pub(crate) fn finish_plain(
        mut self,
        status: StatusCode,
        body: Bytes,
        outcome: Outcome,
        error_kind: Option<&'static str>,
        usage: Usage,
        upstream_done: Instant,
    ) -> Response {
        let overhead = (self.sent_at - self.started) + upstream_done.elapsed();
        self.emit(
            status.as_u16(),
            outcome,
            error_kind,
            usage,
            None,
            overhead,
            &body,
        );
        json_response(status, body, &self.dep.deployment.id.to_string(), overhead)
    }

    /// A streamed answer: the response starts with `first`; accounting happens when the stream ends.
    pub(crate) fn stream(
        self,
        status: StatusCode,
        upstream: UpstreamStream,
        converter: Box<dyn StreamConverter>,
        first: Bytes,
        idle: Duration,
        in_flight: Option<GatewayInFlight>,
    ) -> Response {
        let ttft = self.started.elapsed();
        let overhead = self.sent_at - self.started;
        let deployment = self.dep.deployment.id.to_string();
        let captured = self.prompt.is_some().then(bytes::BytesMut::new);
        let relay = Relay {
            upstream,
            converter,
            idle,
            captured,
            pending: Some(first),
            done: false,
            outcome: Outcome::ClientClosed,
            error_kind: None,
            ttft,
            overhead,
            status: status.as_u16(),
            acct: self,
            _in_flight: in_flight,
        };
        let body = futures_util::stream::unfold(relay, |mut r| async move {
            let next = r.next_chunk().await?;
            Some((Ok::<Bytes, std::io::Error>(next), r))
        });
        let mut response = Response::new(Body::from_stream(body));
        *response.status_mut() = status;
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if let Ok(v) = HeaderValue::from_str(&deployment) {
            h.insert("x-tollgate-deployment", v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("{:.3}", overhead.as_secs_f64() * 1000.0)) {
            h.insert("x-tollgate-overhead-ms", v);
        }
        response
    }
}

/// Reads upstream chunks until content starts (text or a tool call; a role chunk alone is held
/// back), so a failure before any content is still retryable and none after it is.
pub(crate) async fn first_output(
    stream: &mut UpstreamStream,
    mut converter: Box<dyn StreamConverter>,
    deadline: Instant,
) -> Result<(Bytes, Box<dyn StreamConverter>), Failure> {
    let mut held = bytes::BytesMut::new();
    loop {
        match tokio::time::timeout_at(deadline.into(), stream.next()).await {
            Err(_) => {
                return Err(Failure {
                    kind: "timeout",
                    detail: "no stream content before the route's timeout".into(),
                    retry_after: None,
                });
            }
            Ok(Some(Err(_))) => {
                return Err(Failure {
                    kind: "read",
                    detail: "the upstream stream broke before any content".into(),
                    retry_after: None,
                });
            }
            Ok(None) => {
                held.extend_from_slice(&converter.finish());
                return if held.is_empty() {
                    Err(Failure {
                        kind: "bad_response",
                        detail: "the upstream closed the stream without data".into(),
                        retry_after: None,
                    })
                } else {
                    Ok((held.freeze(), converter))
                };
            }
            Ok(Some(Ok(chunk))) => match converter.push(&chunk) {
                Ok(out) => {
                    held.extend_from_slice(&out);
                    if converter.started() && !held.is_empty() {
                        return Ok((held.freeze(), converter));
                    }
                }
                Err(e) => {
                    return Err(Failure {
                        kind: "bad_response",
                        detail: e.to_string(),
                        retry_after: None,
                    });
                }
            },
        }
    }
}

/// The state of one relayed stream; dropping it (end of stream, or the client went away, which
/// also drops the upstream connection) records the request.
struct Relay {
    upstream: UpstreamStream,
    converter: Box<dyn StreamConverter>,
    idle: Duration,
    /// What the client was sent, up to the cap and one byte, for a key that stores prompts.
    captured: Option<bytes::BytesMut>,
    pending: Option<Bytes>,
    done: bool,
    outcome: Outcome,
    error_kind: Option<&'static str>,
    ttft: Duration,
    overhead: Duration,
    status: u16,
    acct: Accounting,
    _in_flight: Option<GatewayInFlight>,
}

impl Relay {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        let chunk = self.read_chunk().await?;
        if let Some(kept) = &mut self.captured {
            let room = (self.acct.gw.config.store_prompts_max_bytes + 1).saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        Some(chunk)
    }

    async fn read_chunk(&mut self) -> Option<Bytes> {
        if let Some(first) = self.pending.take() {
            return Some(first);
        }
        let mut out = bytes::BytesMut::new();
        while !self.done {
            let item = if out.is_empty() {
                match tokio::time::timeout(self.idle, self.upstream.next()).await {
                    Err(_) => {
                        self.fail("stream_idle_timeout");
                        break;
                    }
                    Ok(item) => item,
                }
            } else {
                // What has already arrived goes out in one write instead of one per event;
                // nothing is ever held back waiting for more.
                match self.upstream.next().now_or_never() {
                    Some(item) => item,
                    None => break,
                }
            };
            match item {
                Some(Err(_)) => self.fail("stream_interrupted"),
                None => {
                    self.done = true;
                    self.outcome = Outcome::Ok;
                    out.extend_from_slice(&self.converter.finish());
                }
                Some(Ok(chunk)) => match self.converter.push(&chunk) {
                    Ok(bytes) => out.extend_from_slice(&bytes),
                    Err(_) => self.fail("bad_response"),
                },
            }
        }
        (!out.is_empty()).then(|| out.freeze())
    }

    /// Ends the stream after a failure mid-way: the client has had bytes, so no retry.
    fn fail(&mut self, kind: &'static str) {
        self.done = true;
        self.outcome = Outcome::Error;
        self.error_kind = Some(kind);
        self.acct
            .gw
            .metrics
            .upstream_error(&self.acct.dep.deployment.id.to_string(), kind);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let mut usage = self.converter.usage();
        // Ended before the upstream's usage report (the client left, or the stream broke):
        // charged for what was produced, estimated at about one token per upstream event and
        // a prompt of about four bytes per token.
        if self.outcome != Outcome::Ok {
            if usage.completion_tokens == 0 {
                usage.completion_tokens = self.converter.events();
            }
            if usage.prompt_tokens == 0 {
                usage.prompt_tokens =
                    tollgate_domain::budget::estimate_tokens(self.acct.body_len, Some(0), 0).0;
            }
        }
        let status = match self.outcome {
            Outcome::Ok => self.status,
            // nginx's "client closed request": the client left before the end.
            Outcome::ClientClosed => 499,
            Outcome::Error => 502,
        };
        let completion = self.captured.take().unwrap_or_default();
        self.acct.emit(
            status,
            self.outcome,
            self.error_kind,
            usage,
            Some(self.ttft),
            self.overhead,
            &completion,
        );
    }
}

/// A request refused before any upstream call (auth, validation, routing, all attempts failed).
pub(crate) fn record_refusal(gw: &Arc<Gateway>, ctx: &Ctx, e: &GatewayError) {
    let status = e.status_code().as_u16();
    gw.metrics.record(&RequestSample {
        // Never the requested model name: clients choose it, and labels must stay bounded.
        route: "-",
        deployment: "-",
        status,
        latency: ctx.started.elapsed(),
        overhead: ctx.started.elapsed(),
        ttft: None,
        prompt_tokens: 0,
        completion_tokens: 0,
    });
    // Only requests with a valid key are accounted: garbage traffic must not fill spend logs.
    let Some(key) = &ctx.key else { return };
    let kind = match e {
        GatewayError::Forbidden { code, .. } => *code,
        GatewayError::BadRequest { .. } | GatewayError::TooLarge(_) => "invalid_request",
        GatewayError::ModelNotFound(_) => error_kind::MODEL_NOT_FOUND,
        GatewayError::Upstream { status, .. } if *status == StatusCode::GATEWAY_TIMEOUT => {
            "timeout"
        }
        GatewayError::Upstream { .. } => "upstream_failed",
        _ => "internal",
    };
    let mut event = base_event(
        gw,
        &ctx.snapshot,
        &ctx.log_id,
        Some(key),
        &ctx.route_model,
        ctx.started.elapsed(),
        status,
        Outcome::Error,
        Some(kind),
    );
    // Every attempt failed (or none was possible): the log keeps which were tried.
    event.record.tried.clone_from(&ctx.tried);
    // Refused: the prompt is kept, there is no answer to keep.
    event.record.bodies = stored_bodies(gw, ctx.prompt.as_deref(), &[]);
    gw.usage.record(event);
}

/// The bodies to store, when the request's key or team keeps them (`prompt` is then set).
fn stored_bodies(gw: &Gateway, prompt: Option<&[u8]>, completion: &[u8]) -> Option<StoredBodies> {
    prompt.map(|p| StoredBodies::capture(p, completion, gw.config.store_prompts_max_bytes))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The fields every usage event has; what reached a deployment adds its own.
#[expect(
    clippy::too_many_arguments,
    reason = "one plain constructor beats a builder for two callers"
)]
fn base_event(
    gw: &Gateway,
    snapshot: &Snapshot,
    request_id: &str,
    key: Option<&VirtualKey>,
    route_model: &str,
    latency: Duration,
    status: u16,
    outcome: Outcome,
    error_kind: Option<&'static str>,
) -> UsageEvent {
    let ts = Timestamp::now();
    let (key_window, team_window, user_window) =
        key.map_or((0, 0, 0), |k| charge::windows(snapshot, k, ts));
    UsageEvent {
        record: SpendRecord {
            key_id: key.map(|k| k.id),
            team_id: key.and_then(|k| k.team_id),
            user_id: key.and_then(|k| k.user_id),
            latency_ms: Some(millis(latency)),
            status: i32::from(status),
            error_kind: error_kind.map(str::to_owned),
            key_window,
            team_window,
            user_window,
            ..SpendRecord::new(
                request_id,
                ts,
                gw.config.instance.clone(),
                gw.config.pod.clone(),
                route_model,
            )
        },
        outcome,
        stream: false,
    }
}
