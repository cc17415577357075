//! Prometheus metrics, rendered in the text exposition format at `GET /metrics`: requests by
//! route/deployment/status, latency, overhead and time-to-first-token histograms, tokens,
//! in-flight requests (an HPA can scale on it), circuit state, upstream errors by kind.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Upper bounds in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];
const OVERHEAD_BUCKETS: [f64; 10] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1,
];

#[derive(Clone, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.len() != bounds.len() {
            self.counts = vec![0; bounds.len()];
        }
        for (i, b) in bounds.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in bounds.iter().enumerate() {
            let c = self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// What one finished request contributes.
pub struct RequestSample<'a> {
    pub route: &'a str,
    pub deployment: &'a str,
    pub status: u16,
    pub latency: Duration,
    pub overhead: Duration,
    pub ttft: Option<Duration>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Default)]
struct Families {
    requests: BTreeMap<(String, String, u16), u64>,
    tokens: BTreeMap<(String, &'static str), u64>,
    upstream_errors: BTreeMap<(String, &'static str), u64>,
    latency: BTreeMap<String, Histogram>,
    ttft: BTreeMap<String, Histogram>,
    overhead: Histogram,
    refusals: BTreeMap<(&'static str, &'static str), u64>,
    soft_budget_alerts: BTreeMap<&'static str, u64>,
    /// Requests that used tokens of a model with no known price, by route.
    unpriced: BTreeMap<String, u64>,
}

#[derive(Default)]
pub struct Metrics {
    families: Mutex<Families>,
    in_flight: AtomicI64,
}

/// Escapes a label value (`\`, `"`, newline).
pub(crate) fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn enter(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub fn leave(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn record(&self, s: &RequestSample<'_>) {
        let Ok(mut f) = self.families.lock() else {
            return;
        };
        *f.requests
            .entry((s.route.to_owned(), s.deployment.to_owned(), s.status))
            .or_default() += 1;
        if s.prompt_tokens > 0 {
            *f.tokens.entry((s.route.to_owned(), "prompt")).or_default() += s.prompt_tokens;
        }
        if s.completion_tokens > 0 {
            *f.tokens
                .entry((s.route.to_owned(), "completion"))
                .or_default() += s.completion_tokens;
        }
        f.latency
            .entry(s.route.to_owned())
            .or_default()
            .observe(&LATENCY_BUCKETS, s.latency.as_secs_f64());
        if let Some(t) = s.ttft {
            f.ttft
                .entry(s.route.to_owned())
                .or_default()
                .observe(&LATENCY_BUCKETS, t.as_secs_f64());
        }
        f.overhead
            .observe(&OVERHEAD_BUCKETS, s.overhead.as_secs_f64());
    }

    pub fn upstream_error(&self, deployment: &str, kind: &'static str) {
        if let Ok(mut f) = self.families.lock() {
            *f.upstream_errors
                .entry((deployment.to_owned(), kind))
                .or_default() += 1;
        }
    }

    /// A request refused by a limit: scope (`key`, `team`, `user`) and kind (`requests`,
    /// `tokens`, `parallel`, `budget`, `unavailable`).
    pub fn limit_refusal(&self, scope: &'static str, kind: &'static str) {
        if let Ok(mut f) = self.families.lock() {
            *f.refusals.entry((scope, kind)).or_default() += 1;
        }
    }

    /// A request charged nothing because no price is known for its model.
    pub fn unpriced(&self, route: &str) {
        if let Ok(mut f) = self.families.lock() {
            *f.unpriced.entry(route.to_owned()).or_default() += 1;
        }
    }

    pub fn soft_budget_alert(&self, scope: &'static str) {
        if let Ok(mut f) = self.families.lock() {
            *f.soft_budget_alerts.entry(scope).or_default() += 1;
        }
    }

    /// The exposition text. `circuits` is (deployment, route, state 0 closed / 1 half-open / 2 open).
    pub fn render(&self, instance: &str, pod: &str, circuits: &[(String, String, u8)]) -> String {
        let mut out = String::with_capacity(4096);
        let base = format!("instance=\"{}\",pod=\"{}\"", esc(instance), esc(pod));
        let Ok(f) = self.families.lock() else {
            return out;
        };

        out.push_str("# HELP tollgate_requests_total Requests served, by route, deployment and HTTP status.\n# TYPE tollgate_requests_total counter\n");
        for ((route, dep, status), n) in &f.requests {
            let _ = writeln!(
                out,
                "tollgate_requests_total{{{base},route=\"{}\",deployment=\"{}\",status=\"{status}\"}} {n}",
                esc(route),
                esc(dep)
            );
        }
        out.push_str("# HELP tollgate_tokens_total Tokens, by route and direction.\n# TYPE tollgate_tokens_total counter\n");
        for ((route, dir), n) in &f.tokens {
            let _ = writeln!(
                out,
                "tollgate_tokens_total{{{base},route=\"{}\",direction=\"{dir}\"}} {n}",
                esc(route)
            );
        }
        out.push_str("# HELP tollgate_upstream_errors_total Failed upstream attempts, by deployment and kind.\n# TYPE tollgate_upstream_errors_total counter\n");
        for ((dep, kind), n) in &f.upstream_errors {
            let _ = writeln!(
                out,
                "tollgate_upstream_errors_total{{{base},deployment=\"{}\",kind=\"{kind}\"}} {n}",
                esc(dep)
            );
        }
        out.push_str("# HELP tollgate_request_duration_seconds Whole request time, by route.\n# TYPE tollgate_request_duration_seconds histogram\n");
        for (route, h) in &f.latency {
            h.render(
                &mut out,
                "tollgate_request_duration_seconds",
                &format!("{base},route=\"{}\"", esc(route)),
                &LATENCY_BUCKETS,
            );
        }
        out.push_str("# HELP tollgate_time_to_first_token_seconds Time to the first streamed chunk, by route.\n# TYPE tollgate_time_to_first_token_seconds histogram\n");
        for (route, h) in &f.ttft {
            h.render(
                &mut out,
                "tollgate_time_to_first_token_seconds",
                &format!("{base},route=\"{}\"", esc(route)),
                &LATENCY_BUCKETS,
            );
        }
        out.push_str("# HELP tollgate_overhead_seconds Time spent in Tollgate itself per request.\n# TYPE tollgate_overhead_seconds histogram\n");
        f.overhead.render(
            &mut out,
            "tollgate_overhead_seconds",
            &base,
            &OVERHEAD_BUCKETS,
        );
        out.push_str("# HELP tollgate_in_flight_requests Requests being served now.\n# TYPE tollgate_in_flight_requests gauge\n");
        let _ = writeln!(
            out,
            "tollgate_in_flight_requests{{{base}}} {}",
            self.in_flight()
        );
        out.push_str("# HELP tollgate_limit_refusals_total Requests refused by a rate limit or budget, by owner scope and kind.\n# TYPE tollgate_limit_refusals_total counter\n");
        for ((scope, kind), n) in &f.refusals {
            let _ = writeln!(
                out,
                "tollgate_limit_refusals_total{{{base},scope=\"{scope}\",kind=\"{kind}\"}} {n}"
            );
        }
        out.push_str("# HELP tollgate_soft_budget_alerts_total Soft budgets reached, by owner scope.\n# TYPE tollgate_soft_budget_alerts_total counter\n");
        for (scope, n) in &f.soft_budget_alerts {
            let _ = writeln!(
                out,
                "tollgate_soft_budget_alerts_total{{{base},scope=\"{scope}\"}} {n}"
            );
        }
        out.push_str("# HELP tollgate_unpriced_requests_total Requests that used tokens of a model with no known price (charged 0), by route.\n# TYPE tollgate_unpriced_requests_total counter\n");
        for (route, n) in &f.unpriced {
            let _ = writeln!(
                out,
                "tollgate_unpriced_requests_total{{{base},route=\"{}\"}} {n}",
                esc(route)
            );
        }
        out.push_str("# HELP tollgate_deployment_circuit_state 0 closed, 1 half-open, 2 open (cooling down).\n# TYPE tollgate_deployment_circuit_state gauge\n");
        for (dep, route, state) in circuits {
            let _ = writeln!(
                out,
                "tollgate_deployment_circuit_state{{{base},deployment=\"{}\",route=\"{}\"}} {state}",
                esc(dep),
                esc(route)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let m = Metrics::default();
        m.enter();
        for ms in [3, 30, 3000] {
            m.record(&RequestSample {
                route: "gpt-\"4o\"",
                deployment: "d1",
                status: 200,
                latency: Duration::from_millis(ms),
                overhead: Duration::from_micros(80),
                ttft: None,
                prompt_tokens: 10,
                completion_tokens: 5,
            });
        }
        m.upstream_error("d1", "timeout");
        let text = m.render("default", "pod-1", &[("d1".into(), "gpt-4o".into(), 2)]);
        assert!(text.contains(r#"tollgate_requests_total{instance="default",pod="pod-1",route="gpt-\"4o\"",deployment="d1",status="200"} 3"#), "{text}");
        assert!(text.contains(r#"direction="prompt"} 30"#));
        assert!(text.contains(r#"le="0.005"} 1"#), "cumulative: 3 ms only");
        assert!(
            text.contains(r#"le="5"} 3"#),
            "cumulative: all three by 5 s"
        );
        assert!(text.contains("tollgate_in_flight_requests{instance=\"default\",pod=\"pod-1\"} 1"));
        assert!(text.contains(r#"kind="timeout"} 1"#));
        assert!(text.contains(r#"tollgate_deployment_circuit_state{instance="default",pod="pod-1",deployment="d1",route="gpt-4o"} 2"#));
    }
}
