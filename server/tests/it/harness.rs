//! Starts `tollgate` as a child process on a free port with a fresh data directory, and reads
//! its log for the bootstrap password.

use axum::body::Body;
use axum::response::IntoResponse as _;
use axum::routing::post;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tollgate");

pub struct Server {
    pub base: String,
    child: Child,
    log: Arc<Mutex<String>>,
    _data: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `tollgate` command with no inherited `TOLLGATE_*` settings.
pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("TOLLGATE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

/// Which database a test server uses.
pub enum Db {
    Sqlite,
    /// A fresh database on the test Postgres server.
    Postgres,
    /// A URL that cannot be reached.
    Unreachable,
    /// This database URL (shared by several processes).
    Url(String),
}

impl Server {
    pub fn start(db: Db, extra_env: &[(&str, &str)]) -> Server {
        Server::spawn("serve", db, extra_env, None)
    }

    /// Any mode (`serve`, `gateway`, `portal`), optionally run in `workdir` (for its tollgate.toml).
    pub fn spawn(
        mode: &str,
        db: Db,
        extra_env: &[(&str, &str)],
        workdir: Option<&std::path::Path>,
    ) -> Server {
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cmd = command(&[mode, "--listen", &format!("127.0.0.1:{port}")]);
        if let Some(dir) = workdir {
            cmd.current_dir(dir);
        }
        cmd.env("TOLLGATE_DATA_DIR", data.path());
        cmd.env("TOLLGATE_SITE_ROOT", data.path());
        match db {
            Db::Sqlite => {}
            Db::Postgres => {
                cmd.env("TOLLGATE_DATABASE_URL", fresh_postgres_database());
            }
            Db::Url(url) => {
                cmd.env("TOLLGATE_DATABASE_URL", url);
            }
            Db::Unreachable => {
                let dead = free_port();
                cmd.env(
                    "TOLLGATE_DATABASE_URL",
                    format!("postgres://postgres@127.0.0.1:{dead}/none"),
                );
            }
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn tollgate");
        let log = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        Server {
            base: format!("http://127.0.0.1:{port}"),
            child,
            log,
            _data: data,
        }
    }

    /// The process's data directory (SQLite file, spool).
    pub fn data_dir(&self) -> &std::path::Path {
        self._data.path()
    }

    /// The URL of the SQLite database in its data directory (`serve` without a database URL).
    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.data_dir().join("tollgate.db").display())
    }

    /// Sends SIGTERM, as Kubernetes does before it stops a pod.
    pub fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Waits for the process to exit; `None` if it is still running after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until `/health/readiness` answers 200.
    pub async fn ready(self) -> Server {
        self.wait_for_status("/health/readiness", 200).await;
        self
    }

    pub async fn wait_for_status(&self, path: &str, status: u16) -> reqwest::Response {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}{path}", self.base)).send().await
                && r.status().as_u16() == status
            {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never answered {status}; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The one-time password of the bootstrap admin, from the log.
    pub async fn bootstrap_password(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.log();
            if let Some(rest) = log.split("one-time password: ").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no bootstrap password in log:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A client that keeps cookies and sends a same-origin `Origin`, like the portal's pages.
    pub fn browser(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("origin", self.base.parse().unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates an empty database on `TEST_DATABASE_URL` (default: the local server) and returns its URL.
pub fn fresh_postgres_database() -> String {
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("tollgate_it_{}", uuid_like());
    let status = Command::new("psql")
        .args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql must be installed to create a test database");
    assert!(status.success(), "could not create {name} on {admin}");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    format!("{base}/{name}")
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}{}", std::process::id())
}

/// Usage the stub upstream reports for a plain answer.
pub const PROMPT_TOKENS: u64 = 10;
pub const COMPLETION_TOKENS: u64 = 10_000;

/// An OpenAI-compatible upstream on loopback (returns its base URL): plain answers `pong` with
/// a large, fixed usage and the requested model echoed, and streams of ten pieces 150 ms apart.
pub async fn stub_upstream() -> String {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(|axum::Json(body): axum::Json<Value>| async move {
            if body["stream"] == true {
                let events = futures_util::stream::unfold(0usize, |i| async move {
                    if i > 11 {
                        return None;
                    }
                    if i > 0 {
                        tokio::time::sleep(Duration::from_millis(150)).await;
                    }
                    let data = match i {
                        0..=9 => json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": format!("piece{i} ")}, "finish_reason": null}]}).to_string(),
                        10 => json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 10, "total_tokens": 15}}).to_string(),
                        _ => "[DONE]".to_owned(),
                    };
                    Some((Ok::<_, std::io::Error>(format!("data: {data}\n\n")), i + 1))
                });
                return axum::response::Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(Body::from_stream(events))
                    .unwrap();
            }
            axum::Json(json!({
                "id": "chatcmpl-stub", "object": "chat.completion", "created": 1, "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS, "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
            }))
            .into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/v1")
}

/// A `tollgate.toml` with a fast revision poll and spend flush, and one route `ping` to the
/// stub upstream asking for `upstream_model`.
pub fn write_config(dir: &std::path::Path, api_base: &str, upstream_model: &str) {
    let toml = format!(
        "[gateway]\npoll_interval_secs = 1\n\n[spend]\nflush_interval_ms = 200\n\n[[routes]]\nmodel_name = \"ping\"\n[[routes.deployments]]\nprovider = \"openai\"\nupstream_model = \"{upstream_model}\"\napi_base = \"{api_base}\"\n"
    );
    std::fs::write(dir.join("tollgate.toml"), toml).unwrap();
}

/// A fresh database on the test Postgres server, migrated by `tollgate migrate`; its URL.
pub fn migrated_postgres() -> String {
    let db = fresh_postgres_database();
    tollgate_on(&db, &["migrate"]);
    db
}

/// Runs `tollgate ARGS` on this database; fails on a non-zero exit; its standard output.
pub fn tollgate_on(db_url: &str, args: &[&str]) -> String {
    let out = command(args)
        .env("TOLLGATE_DATABASE_URL", db_url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tollgate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Polls `done` every 100 ms until it answers true; fails naming `what` after 20 s.
pub async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates a key with `tollgate keys create FLAGS` on this database; returns the secret.
pub fn create_key(db_url: &str, flags: &[&str]) -> String {
    let mut args = vec!["keys", "create"];
    args.extend_from_slice(flags);
    tollgate_on(db_url, &args)
        .lines()
        .find_map(|l| l.strip_prefix("key:"))
        .map(|k| k.trim().to_owned())
        .unwrap()
}

/// One chat request for `model`; returns the status.
pub async fn ask(base: &str, key: &str, model: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": model, "max_tokens": COMPLETION_TOKENS, "messages": [{"role": "user", "content": "ping"}]}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits until the gateway knows the key: a request for a model nobody serves answers 404
/// (after authentication, before any limit is charged).
pub async fn wait_for_key(base: &str, key: &str) {
    for _ in 0..100 {
        if ask(base, key, "no-such-model").await == 404 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} never learned the key");
}

/// The Redis the test command started (or `TEST_REDIS_URL`).
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The master key of [`serve_with_stub`]'s server.
pub const MASTER: &str = "sk-master-test-0123456789abcdef";

/// A `tollgate serve` on SQLite with [`MASTER`] (and `extra_env`), routing `gpt-4o` to a stub upstream, and a
/// store on its database for the test to arrange and check rows.
pub struct Served {
    pub server: Server,
    pub store: std::sync::Arc<dyn tollgate_store::Store>,
    _dir: tempfile::TempDir,
}

pub async fn serve_with_stub(extra_env: &[(&str, &str)]) -> Served {
    let api = stub_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &api, "gpt-4o");
    let server = Server::spawn(
        "serve",
        Db::Sqlite,
        &[
            &[
                ("TOLLGATE_MASTER_KEY", MASTER),
                ("KUBECONFIG", "/nonexistent/kubeconfig"),
            ],
            extra_env,
        ]
        .concat(),
        Some(dir.path()),
    )
    .ready()
    .await;
    let store = tollgate_store::connect(
        &server.sqlite_url(),
        &tollgate_store::ConnectOptions::default(),
    )
    .await
    .unwrap();
    Served {
        server,
        store,
        _dir: dir,
    }
}
