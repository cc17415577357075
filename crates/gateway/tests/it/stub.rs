//! A stub LLM provider on loopback speaking OpenAI, Anthropic and Azure wire formats, with a
//! configurable behaviour; it counts its calls, keeps the last request and notices when a
//! client leaves in the middle of a stream.

mod bodies;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bodies::{anthropic_events, anthropic_message, openai_chat, openai_completion, openai_events};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the stub does with the next requests.
#[derive(Clone, Debug)]
pub struct Behaviour {
    /// Status to answer; anything but 200 is sent in the provider's error shape.
    pub status: u16,
    /// Wait before the response head.
    pub delay: Duration,
    /// Wait between two stream events (the first one goes at once).
    pub chunk_gap: Duration,
    /// Break the connection after this many stream events.
    pub drop_after: Option<usize>,
    /// Text pieces of the answer (one stream delta each).
    pub text: Vec<String>,
    /// Answer with a `get_weather` tool call after the text.
    pub tool_call: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The upstream key to demand, in the provider's header; `None`: any.
    pub api_key: Option<String>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            status: 200,
            delay: Duration::ZERO,
            chunk_gap: Duration::ZERO,
            drop_after: None,
            text: vec!["Hello".into(), ", ".into(), "world".into()],
            tool_call: false,
            prompt_tokens: 11,
            completion_tokens: 7,
            api_key: None,
        }
    }
}

/// One request as the stub received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct State {
    behaviour: Mutex<Behaviour>,
    calls: AtomicUsize,
    in_flight: AtomicI64,
    last: Mutex<Option<Recorded>>,
    cancelled: AtomicBool,
}

pub struct Stub {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stub {
    pub async fn start() -> Stub {
        let state = Arc::new(State::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone())
            // Real providers take large prompts; axum's 2 MiB default would answer 413.
            .layer(axum::extract::DefaultBodyLimit::disable());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Stub { addr, state, task }
    }

    /// A stub already configured.
    pub async fn with(f: impl FnOnce(&mut Behaviour)) -> Stub {
        let stub = Stub::start().await;
        stub.set(f);
        stub
    }

    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.state.behaviour.lock().unwrap());
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    pub fn in_flight(&self) -> i64 {
        self.state.in_flight.load(Ordering::SeqCst)
    }

    /// The last request received; panics when there was none.
    pub fn last(&self) -> Recorded {
        self.state
            .last
            .lock()
            .unwrap()
            .clone()
            .expect("the stub received no request")
    }

    /// Whether a client went away before a response (or stream) was complete.
    pub fn cancelled(&self) -> bool {
        self.state.cancelled.load(Ordering::SeqCst)
    }
}

/// Counts a request in flight; when dropped before `finished`, the client went away.
struct Guard {
    state: Arc<State>,
    finished: bool,
}

impl Guard {
    fn new(state: &Arc<State>) -> Guard {
        state.in_flight.fetch_add(1, Ordering::SeqCst);
        Guard {
            state: state.clone(),
            finished: false,
        }
    }

    /// The response was complete (or broken on purpose): no client left early.
    fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            self.state.cancelled.store(true, Ordering::SeqCst);
        }
        self.state.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    Chat,
    Completions,
    Embeddings,
    Messages,
    Azure,
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.calls.fetch_add(1, Ordering::SeqCst);
    let mut guard = Guard::new(&state);
    let path = uri.path().to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    *state.last.lock().unwrap() = Some(Recorded {
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        headers: headers.clone(),
        body: body.clone(),
    });
    let b = state.behaviour.lock().unwrap().clone();
    let wire = match path.as_str() {
        "/v1/chat/completions" => Wire::Chat,
        "/v1/completions" => Wire::Completions,
        "/v1/embeddings" => Wire::Embeddings,
        "/v1/messages" => Wire::Messages,
        p if p.starts_with("/openai/deployments/") && p.ends_with("/chat/completions") => {
            Wire::Azure
        }
        _ => {
            guard.finish();
            return (StatusCode::NOT_FOUND, "no such stub path").into_response();
        }
    };
    tokio::time::sleep(b.delay).await;
    let refusal = check_auth(wire, &headers, &b);
    let status = refusal.map_or(b.status, |(s, _)| s);
    if status != 200 {
        guard.finish();
        let message = refusal.map_or("stub says no", |(_, m)| m);
        return error(wire, status, message);
    }
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    if body["stream"] == json!(true) {
        let events = match wire {
            Wire::Messages => anthropic_events(&b, &model),
            _ => openai_events(
                &b,
                &model,
                body["stream_options"]["include_usage"] == json!(true),
            ),
        };
        return sse(events, b.chunk_gap, b.drop_after, guard);
    }
    guard.finish();
    let answer = match wire {
        Wire::Chat | Wire::Azure => openai_chat(&b, &model),
        Wire::Completions => openai_completion(&b, &model),
        Wire::Embeddings => json!({
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5]}],
            "model": model,
            "usage": {"prompt_tokens": b.prompt_tokens, "total_tokens": b.prompt_tokens},
        }),
        Wire::Messages => anthropic_message(&b, &model),
    };
    axum::Json(answer).into_response()
}

/// `Some((status, message))` when the request lacks what the real provider demands.
fn check_auth(wire: Wire, headers: &HeaderMap, b: &Behaviour) -> Option<(u16, &'static str)> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if wire == Wire::Messages && get("anthropic-version").is_none() {
        return Some((400, "anthropic-version header is required"));
    }
    let want = b.api_key.as_deref()?;
    let ok = match wire {
        Wire::Messages => get("x-api-key") == Some(want),
        Wire::Azure => get("api-key") == Some(want),
        _ => get("authorization") == Some(&format!("Bearer {want}")),
    };
    (!ok).then_some((401, "invalid upstream key"))
}

fn error(wire: Wire, status: u16, message: &str) -> Response {
    let body = if wire == Wire::Messages {
        let kind = match status {
            400 => "invalid_request_error",
            401 => "authentication_error",
            429 => "rate_limit_error",
            _ => "api_error",
        };
        json!({"type": "error", "error": {"type": kind, "message": message}})
    } else {
        let kind = if status >= 500 {
            "server_error"
        } else {
            "invalid_request_error"
        };
        json!({"error": {"message": message, "type": kind, "param": null, "code": "stub_error"}})
    };
    let status = StatusCode::from_u16(status).unwrap();
    (status, axum::Json(body)).into_response()
}

struct Streaming {
    events: VecDeque<Bytes>,
    sent: usize,
    gap: Duration,
    drop_after: Option<usize>,
    guard: Guard,
}

fn sse(events: Vec<Bytes>, gap: Duration, drop_after: Option<usize>, guard: Guard) -> Response {
    let state = Streaming {
        events: events.into(),
        sent: 0,
        gap,
        drop_after,
        guard,
    };
    let body = futures_util::stream::unfold(state, |mut s| async move {
        if s.drop_after == Some(s.sent) {
            // A deliberate break, not a client leaving.
            s.guard.finish();
            return Some((Err(std::io::Error::other("stub drops the connection")), s));
        }
        let Some(next) = s.events.pop_front() else {
            s.guard.finish();
            return None;
        };
        if s.sent > 0 {
            tokio::time::sleep(s.gap).await;
        }
        s.sent += 1;
        Some((Ok(next), s))
    });
    let mut r = Response::new(Body::from_stream(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/event-stream"),
    );
    r
}
