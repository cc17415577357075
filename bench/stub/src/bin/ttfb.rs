//! Sequential latency client: time to first body byte and to the last one, for a direct target
//! and a gateway target in alternation, so both see the same machine noise.
//!
//! ```text
//! ttfb --direct URL [--gateway URL --key KEY] [--body JSON] [-n 2000] [--warmup 200]
//! ```
//!
//! One keep-alive connection per target, one request at a time, alternating direct, gateway,
//! direct, ... Prints one `key=value` line per target and one `added` line: the gateway's
//! percentiles minus the direct ones, and the median of the paired differences.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::Uri;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

const DEFAULT_BODY: &str =
    r#"{"model":"bench-model","messages":[{"role":"user","content":"Say hello."}]}"#;

struct Args {
    direct: Uri,
    gateway: Option<Uri>,
    key: Option<String>,
    body: String,
    n: usize,
    warmup: usize,
}

/// One target: where it is, its open connection, and what was measured.
struct Target {
    name: &'static str,
    uri: Uri,
    key: Option<String>,
    sender: Option<SendRequest<Full<Bytes>>>,
    ttfb: Vec<Duration>,
    total: Vec<Duration>,
    /// `x-tollgate-overhead-ms` as the gateway reported it, when present.
    reported: Vec<f64>,
    errors: usize,
}

struct Sample {
    ttfb: Duration,
    total: Duration,
    reported: Option<f64>,
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("ttfb: {msg}");
            eprintln!(
                "usage: ttfb --direct URL [--gateway URL --key KEY] [--body JSON] [-n N] [--warmup N]"
            );
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ttfb: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    std::process::exit(runtime.block_on(run(args)));
}

fn parse_args() -> Result<Args, String> {
    let mut direct = None;
    let mut gateway = None;
    let mut key = None;
    let mut body = DEFAULT_BODY.to_string();
    let mut n = 2000;
    let mut warmup = 200;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--direct" => direct = Some(value.parse::<Uri>().map_err(|e| bad(&e))?),
            "--gateway" => gateway = Some(value.parse::<Uri>().map_err(|e| bad(&e))?),
            "--key" => key = Some(value),
            "--body" => body = value,
            "-n" => n = value.parse().map_err(|e| bad(&e))?,
            "--warmup" => warmup = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let direct = direct.ok_or("--direct is required")?;
    if n == 0 {
        return Err("-n must be at least 1".into());
    }
    Ok(Args {
        direct,
        gateway,
        key,
        body,
        n,
        warmup,
    })
}

async fn run(args: Args) -> i32 {
    let mut targets = vec![Target::new("direct", args.direct, None)];
    if let Some(uri) = args.gateway {
        targets.push(Target::new("gateway", uri, args.key));
    }
    let body = Bytes::from(args.body);
    for i in 0..args.warmup + args.n {
        let record = i >= args.warmup;
        for t in targets.iter_mut() {
            match t.once(body.clone()).await {
                Ok(s) if record => {
                    t.ttfb.push(s.ttfb);
                    t.total.push(s.total);
                    t.reported.extend(s.reported);
                }
                Ok(_) => {}
                Err(e) => {
                    t.errors += 1;
                    if t.errors <= 3 {
                        eprintln!("ttfb: {}: {e}", t.name);
                    }
                }
            }
        }
    }
    for t in &targets {
        t.print();
    }
    if let [direct, gateway] = &targets[..] {
        print_added(direct, gateway);
    }
    if targets.iter().any(|t| t.errors > 0) {
        1
    } else {
        0
    }
}

impl Target {
    fn new(name: &'static str, uri: Uri, key: Option<String>) -> Target {
        Target {
            name,
            uri,
            key,
            sender: None,
            ttfb: Vec::new(),
            total: Vec::new(),
            reported: Vec::new(),
            errors: 0,
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let host = self.uri.host().ok_or("URL without host")?;
        let port = self.uri.port_u16().unwrap_or(80);
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// One request on the kept-alive connection (reconnecting if it was closed).
    async fn once(&mut self, body: Bytes) -> Result<Sample, String> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        let path = self.uri.path_and_query().map_or("/", |p| p.as_str());
        let host = self.uri.authority().map_or("localhost", |a| a.as_str());
        let mut req = Request::post(path)
            .header(HOST, host)
            .header(CONTENT_TYPE, "application/json");
        if let Some(key) = &self.key {
            req = req.header(AUTHORIZATION, format!("Bearer {key}"));
        }
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        sender.ready().await.map_err(|e| e.to_string())?;
        let start = Instant::now();
        let response = sender
            .send_request(req)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status();
        let reported = response
            .headers()
            .get("x-tollgate-overhead-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<f64>().ok());
        let mut body = response.into_body();
        let mut ttfb = None;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("body: {e}"))?;
            if ttfb.is_none() && frame.data_ref().is_some_and(|d| !d.is_empty()) {
                ttfb = Some(start.elapsed());
            }
        }
        let total = start.elapsed();
        self.sender = Some(sender);
        if !status.is_success() {
            return Err(format!("status {status}"));
        }
        Ok(Sample {
            ttfb: ttfb.unwrap_or(total),
            total,
            reported,
        })
    }

    fn print(&self) {
        let mut line = format!(
            "target={} n={} errors={} ttfb_p50_ms={:.3} ttfb_p99_ms={:.3} total_p50_ms={:.3} total_p99_ms={:.3}",
            self.name,
            self.ttfb.len(),
            self.errors,
            ms(percentile(&self.ttfb, 0.50)),
            ms(percentile(&self.ttfb, 0.99)),
            ms(percentile(&self.total, 0.50)),
            ms(percentile(&self.total, 0.99)),
        );
        if !self.reported.is_empty() {
            let mut r = self.reported.clone();
            r.sort_by(f64::total_cmp);
            let p = |q: f64| r[rank(r.len(), q)];
            line.push_str(&format!(
                " reported_overhead_p50_ms={:.3} reported_overhead_p99_ms={:.3}",
                p(0.50),
                p(0.99)
            ));
        }
        println!("{line}");
    }
}

fn print_added(direct: &Target, gateway: &Target) {
    let diff = |a: &[Duration], b: &[Duration], q: f64| ms(percentile(b, q)) - ms(percentile(a, q));
    // Paired: request i through the gateway minus request i direct, taken back to back.
    let paired = |a: &[Duration], b: &[Duration]| {
        let mut d: Vec<f64> = a.iter().zip(b).map(|(x, y)| ms(*y) - ms(*x)).collect();
        d.sort_by(f64::total_cmp);
        if d.is_empty() {
            f64::NAN
        } else {
            d[rank(d.len(), 0.5)]
        }
    };
    println!(
        "target=added ttfb_p50_ms={:.3} ttfb_p99_ms={:.3} total_p50_ms={:.3} total_p99_ms={:.3} paired_ttfb_median_ms={:.3} paired_total_median_ms={:.3}",
        diff(&direct.ttfb, &gateway.ttfb, 0.50),
        diff(&direct.ttfb, &gateway.ttfb, 0.99),
        diff(&direct.total, &gateway.total, 0.50),
        diff(&direct.total, &gateway.total, 0.99),
        paired(&direct.ttfb, &gateway.ttfb),
        paired(&direct.total, &gateway.total),
    );
}

/// Nearest-rank index of quantile `q` in a sorted list of `n`.
fn rank(n: usize, q: f64) -> usize {
    let r = (q * n as f64).ceil() as usize;
    r.clamp(1, n.max(1)) - 1
}

fn percentile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut s = samples.to_vec();
    s.sort_unstable();
    s[rank(s.len(), q)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
