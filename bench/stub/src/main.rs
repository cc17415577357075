//! A stub OpenAI upstream built for speed: fixed answers to `POST .../chat/completions`, no
//! parsing beyond looking for `"stream":true`, so that the benchmark measures the gateway and
//! not the upstream.
//!
//! ```text
//! stub [--listen 127.0.0.1:18081] [--chunks 10] [--chunk-delay-ms 0] [--workers 1]
//! ```
//!
//! `GET /stats` answers `{"requests":N}` (chat completions served), so a run can check that
//! the gateway really forwarded every request it answered.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;

/// The non-streaming answer: 282 bytes, with usage.
const COMPLETION: &str = concat!(
    r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"#,
    r#""model":"bench-upstream","choices":[{"index":0,"message":{"role":"assistant","#,
    r#""content":"Hello from the bench stub."},"finish_reason":"stop"}],"#,
    r#""usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#
);

struct Config {
    listen: SocketAddr,
    chunks: usize,
    chunk_delay: Duration,
    workers: usize,
}

struct Stub {
    chunk_delay: Duration,
    /// The SSE events of one streamed answer, built once.
    events: Vec<Bytes>,
    requests: AtomicU64,
}

fn main() {
    let config = match parse_args() {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("stub: {msg}");
            eprintln!(
                "usage: stub [--listen ADDR] [--chunks N] [--chunk-delay-ms MS] [--workers N]"
            );
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stub: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(serve(config)) {
        eprintln!("stub: {e}");
        std::process::exit(1);
    }
}

fn parse_args() -> Result<Config, String> {
    let mut config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 18081)),
        chunks: 10,
        chunk_delay: Duration::ZERO,
        workers: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--listen" => config.listen = value.parse().map_err(|e| bad(&e))?,
            "--chunks" => config.chunks = value.parse().map_err(|e| bad(&e))?,
            "--chunk-delay-ms" => {
                config.chunk_delay = Duration::from_millis(value.parse().map_err(|e| bad(&e))?)
            }
            "--workers" => config.workers = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(config)
}

async fn serve(config: Config) -> std::io::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    let stub = Arc::new(Stub {
        chunk_delay: config.chunk_delay,
        events: sse_events(config.chunks),
        requests: AtomicU64::new(0),
    });
    eprintln!(
        "stub: listening on {} ({} chunks, {:?} apart)",
        config.listen, config.chunks, config.chunk_delay
    );
    loop {
        let (tcp, _) = listener.accept().await?;
        // Small writes must leave at once: the benchmark measures time to first chunk.
        tcp.set_nodelay(true)?;
        let stub = stub.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(stub.clone(), req));
            // A client hanging up mid-answer is normal under load; nothing to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

type StubBody = http_body_util::Either<Full<Bytes>, Events>;

async fn answer(stub: Arc<Stub>, req: Request<Incoming>) -> Result<Response<StubBody>, Infallible> {
    let path = req.uri().path();
    if req.method() == Method::GET && path == "/stats" {
        let n = stub.requests.load(Ordering::Relaxed);
        return Ok(json(StatusCode::OK, format!(r#"{{"requests":{n}}}"#)));
    }
    if req.method() != Method::POST || !path.ends_with("/chat/completions") {
        return Ok(json(
            StatusCode::NOT_FOUND,
            r#"{"error":{"message":"not found"}}"#.into(),
        ));
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(json(StatusCode::BAD_REQUEST, "{}".into())),
    };
    stub.requests.fetch_add(1, Ordering::Relaxed);
    if !wants_stream(&body) {
        return Ok(json(StatusCode::OK, COMPLETION.into()));
    }
    let events = Events {
        queue: stub.events.iter().cloned().collect(),
        delay: stub.chunk_delay,
        sleep: None,
    };
    let response = Response::builder()
        .header(CONTENT_TYPE, "text/event-stream")
        .header(CACHE_CONTROL, "no-cache")
        .body(http_body_util::Either::Right(events));
    Ok(response.unwrap_or_else(|_| json(StatusCode::INTERNAL_SERVER_ERROR, "{}".into())))
}

fn json(status: StatusCode, body: String) -> Response<StubBody> {
    let mut response = Response::new(http_body_util::Either::Left(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// `"stream":true` anywhere in the body, with or without a space after the colon.
fn wants_stream(body: &[u8]) -> bool {
    let key = b"\"stream\"";
    body.windows(key.len()).enumerate().any(|(i, w)| {
        w == key && {
            let rest = &body[i + key.len()..];
            let rest = rest.iter().skip_while(|b| b.is_ascii_whitespace());
            let mut rest = rest.skip_while(|b| **b == b':' || b.is_ascii_whitespace());
            rest.next() == Some(&b't')
        }
    })
}

/// One streamed answer: a role chunk, `chunks` content chunks (the last one with
/// `finish_reason`), a usage chunk and `data: [DONE]`.
fn sse_events(chunks: usize) -> Vec<Bytes> {
    let head = r#"{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-upstream","#;
    let mut events = Vec::with_capacity(chunks + 3);
    events.push(format!(
        r#"data: {head}"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},"finish_reason":null}}]}}"#
    ));
    for i in 0..chunks {
        let finish = if i + 1 == chunks { r#""stop""# } else { "null" };
        events.push(format!(
            r#"data: {head}"choices":[{{"index":0,"delta":{{"content":"tok{i} "}},"finish_reason":{finish}}}]}}"#
        ));
    }
    events.push(format!(
        r#"data: {head}"choices":[],"usage":{{"prompt_tokens":12,"completion_tokens":{chunks},"total_tokens":{}}}}}"#,
        12 + chunks
    ));
    events.push("data: [DONE]".to_string());
    events
        .into_iter()
        .map(|e| Bytes::from(format!("{e}\n\n")))
        .collect()
}

/// The SSE body: one frame per event, each after `delay` (none by default). No size hint, so
/// it goes out chunked, as real providers send it.
struct Events {
    queue: VecDeque<Bytes>,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for Events {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if !self.delay.is_zero() {
            let delay = self.delay;
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        Poll::Ready(self.queue.pop_front().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_flag_is_found_with_or_without_spaces() {
        assert!(wants_stream(br#"{"model":"m","stream":true}"#));
        assert!(wants_stream(br#"{"model":"m", "stream" : true}"#));
        assert!(!wants_stream(br#"{"model":"m","stream":false}"#));
        assert!(!wants_stream(br#"{"model":"m"}"#));
    }

    #[test]
    fn completion_is_about_300_bytes() {
        assert!(
            (250..350).contains(&COMPLETION.len()),
            "{}",
            COMPLETION.len()
        );
    }
}
