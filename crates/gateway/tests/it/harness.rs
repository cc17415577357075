//! The gateway in process over a real SQLite store and real HTTP, with helpers to create keys
//! and routes through the store and to call the gateway.

mod routes;

pub use routes::{RouteBuilder, anthropic, azure, dep_ids, openai, openai_at, route};

use futures_util::StreamExt as _;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tollgate_domain::keys::{display_parts, generate_key, hash_secret};
use tollgate_domain::routing::Route;
use tollgate_domain::{CredentialId, KeyId, Timestamp};
use tollgate_gateway::balance::CooldownPolicy;
use tollgate_gateway::secrets::SecretKey;
use tollgate_gateway::usage::{CountingSink, UsageEvent, UsageSink};
use tollgate_gateway::{Gateway, GatewayConfig};
use tollgate_store::{ConnectOptions, NewCredential, NewKey, Store};

/// Small timeouts and cooldowns so failure tests are quick.
pub fn test_config() -> GatewayConfig {
    let mut c = GatewayConfig::new("default".into(), "pod-1".into());
    c.poll_interval = Duration::from_millis(200);
    c.cooldown = CooldownPolicy {
        failures: 2,
        open_for: Duration::from_millis(500),
    };
    c.default_timeout = Duration::from_secs(2);
    c.default_stream_idle_timeout = Duration::from_secs(2);
    c
}

/// The usage sink: the gateway's `CountingSink`, plus every event kept for closer looks.
#[derive(Default)]
pub struct Usage {
    pub counts: CountingSink,
    events: Mutex<Vec<UsageEvent>>,
}

impl UsageSink for Usage {
    fn record(&self, event: UsageEvent) {
        self.events.lock().unwrap().push(event.clone());
        self.counts.record(event);
    }
}

impl Usage {
    pub fn events(&self) -> Vec<UsageEvent> {
        self.events.lock().unwrap().clone()
    }

    pub fn count(&self) -> u64 {
        self.counts.events.load(Ordering::SeqCst)
    }

    pub fn prompt_tokens(&self) -> u64 {
        self.counts.prompt_tokens.load(Ordering::SeqCst)
    }

    pub fn completion_tokens(&self) -> u64 {
        self.counts.completion_tokens.load(Ordering::SeqCst)
    }

    /// The last event; panics when there is none.
    pub fn last(&self) -> UsageEvent {
        self.events().pop().expect("no usage event recorded")
    }
}

pub struct Harness {
    pub gw: Arc<Gateway>,
    pub store: Arc<dyn Store>,
    pub usage: Arc<Usage>,
    /// `http://127.0.0.1:PORT` of the gateway.
    pub base: String,
    pub http: reqwest::Client,
    secret_key: SecretKey,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A virtual key: its secret (to send) and its id (to change it in the store).
pub struct Key {
    pub secret: String,
    pub id: KeyId,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::with_config(test_config()).await
    }

    pub async fn with_config(config: GatewayConfig) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = tollgate_store::connect(&url, &ConnectOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let usage = Arc::new(Usage::default());
        Harness::build(config, store, usage.clone(), usage, dir).await
    }

    /// A gateway over `store` sending its usage events to `sink` (`usage` then stays empty).
    pub async fn build(
        config: GatewayConfig,
        store: Arc<dyn Store>,
        sink: Arc<dyn UsageSink>,
        usage: Arc<Usage>,
        dir: tempfile::TempDir,
    ) -> Harness {
        let secret_key = SecretKey::parse(&"ab".repeat(32)).unwrap();
        let gw = Gateway::start(config, store.clone(), Some(secret_key.clone()), &[], sink)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = tollgate_gateway::router(gw.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Harness {
            gw,
            store,
            usage,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            secret_key,
            server,
            _dir: dir,
        }
    }

    /// Bumps the configuration revision, as the portal's writes do, and waits until the
    /// gateway's change feed has applied it.
    ///
    /// This does not call `Gateway::reload` itself: a reload racing the feed's can leave the
    /// older snapshot in place (see `surface::an_explicit_reload_is_never_undone_by_an_older_one`).
    pub async fn apply(&self) {
        let revision = self.store.bump_config_revision().await.unwrap();
        assert!(
            eventually(Duration::from_secs(2), || self.gw.applied_revision()
                >= revision)
            .await,
            "the gateway did not apply revision {revision}"
        );
    }

    pub async fn key(&self) -> Key {
        self.key_with(|_| {}).await
    }

    pub async fn key_with(&self, f: impl FnOnce(&mut NewKey)) -> Key {
        let (secret, mut new) = new_key();
        f(&mut new);
        let created = self.store.create_key(&new).await.unwrap();
        self.apply().await;
        Key {
            secret,
            id: created.id,
        }
    }

    /// Stores the route (and the credentials of its deployments) and applies it.
    pub async fn add(&self, r: RouteBuilder) -> Route {
        let mut route = r.route;
        for (d, secret) in route.deployments.iter_mut().zip(r.secrets) {
            if let Some(secret) = secret {
                let c = self
                    .store
                    .create_credential(&NewCredential {
                        id: CredentialId::new(),
                        name: format!("cred-{}", d.id),
                        provider: d.provider.as_str().to_owned(),
                        secret: self.secret_key.seal(&secret),
                        now: Timestamp::now(),
                    })
                    .await
                    .unwrap();
                d.credential_id = Some(c.id);
            }
        }
        let created = self.store.create_route(&route).await.unwrap();
        self.apply().await;
        created
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST path` with `Authorization: Bearer key` and a JSON body.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn chat(&self, key: &str, body: &Value) -> reqwest::Response {
        self.post("/v1/chat/completions", key, body).await
    }

    /// A plain chat request for `model`, as sent: the whole response.
    pub async fn ask_raw(&self, key: &str, model: &str) -> reqwest::Response {
        self.chat(key, &hi(model)).await
    }

    /// A plain chat request for `model`; returns the status and the JSON body.
    pub async fn ask(&self, key: &str, model: &str) -> (u16, Value) {
        let r = self.ask_raw(key, model).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// The body of a plain chat request for `model`.
pub fn hi(model: &str) -> Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

/// A new team without budget or limits, under a unique name.
pub async fn team(store: &dyn Store) -> tollgate_domain::TeamId {
    let id = tollgate_domain::TeamId::new();
    store
        .create_team(&tollgate_store::NewTeam::named(
            id,
            format!("team-{id}"),
            Timestamp::now(),
        ))
        .await
        .unwrap()
        .id
}

/// A new key secret and the row that stores it, without restrictions.
pub fn new_key() -> (String, NewKey) {
    let secret = generate_key();
    let (key_prefix, key_suffix) = display_parts(&secret);
    let new = NewKey::new(
        KeyId::new(),
        hash_secret(&secret),
        key_prefix,
        key_suffix,
        Timestamp::now(),
    );
    (secret, new)
}

/// A loopback address nothing listens on: connecting to it fails at once.
pub async fn closed_port_base() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/v1")
}

/// Polls `cond` every 10 ms until it holds or `within` passes; returns whether it held.
pub async fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A streamed body as it arrives: each network chunk with the time it came.
pub async fn read_stream(r: reqwest::Response) -> Vec<(Instant, String)> {
    let mut out = Vec::new();
    let mut body = r.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        out.push((Instant::now(), String::from_utf8(chunk.to_vec()).unwrap()));
    }
    out
}

/// The `data:` payloads of an SSE body, in order.
pub fn sse_data(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.trim().to_owned())
        .collect()
}

/// The JSON `data:` payloads (everything but `[DONE]`).
pub fn sse_json(text: &str) -> Vec<Value> {
    sse_data(text)
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}
