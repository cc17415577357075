//! Choosing a deployment: the route's strategy over the deployments that are enabled, not yet
//! tried for this request, and not cooling down. Each deployment carries live state that survives
//! configuration reloads: requests in flight, an EWMA of latency, and a circuit breaker
//! (closed -> open after N consecutive failures -> half-open after T, probed by one request).

use rand::Rng;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tollgate_domain::routing::Strategy;

/// When a deployment is skipped.
#[derive(Clone, Copy, Debug)]
pub struct CooldownPolicy {
    /// Consecutive failures that open the circuit.
    pub failures: u32,
    /// How long it stays open before one probe request is let through.
    pub open_for: Duration,
}

impl Default for CooldownPolicy {
    fn default() -> Self {
        CooldownPolicy {
            failures: 3,
            open_for: Duration::from_secs(30),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Circuit {
    Closed { consecutive_failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// Circuit state as metrics show it: 0 closed, 1 half-open, 2 open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CircuitState {
    Closed,
    HalfOpen,
    Open,
}

/// Live state of one deployment.
#[derive(Debug)]
pub struct DeploymentState {
    in_flight: AtomicI64,
    /// Latency EWMA in microseconds; 0 = no sample yet.
    ewma_us: AtomicU64,
    circuit: Mutex<Circuit>,
}

impl Default for DeploymentState {
    fn default() -> Self {
        DeploymentState {
            in_flight: AtomicI64::new(0),
            ewma_us: AtomicU64::new(0),
            circuit: Mutex::new(Circuit::Closed {
                consecutive_failures: 0,
            }),
        }
    }
}

/// Weight of a new latency sample in the average.
const EWMA_ALPHA: f64 = 0.3;

impl DeploymentState {
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn ewma(&self) -> Option<Duration> {
        match self.ewma_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    pub fn circuit_state(&self, now: Instant) -> CircuitState {
        match self.circuit.lock().map(|c| *c) {
            Ok(Circuit::Closed { .. }) => CircuitState::Closed,
            Ok(Circuit::Open { until }) if now >= until => CircuitState::HalfOpen,
            Ok(Circuit::Open { .. }) => CircuitState::Open,
            Ok(Circuit::HalfOpen { .. }) | Err(_) => CircuitState::HalfOpen,
        }
    }

    /// Whether a request could be sent now (read-only).
    fn available(&self, now: Instant) -> bool {
        match self.circuit.lock().map(|c| *c) {
            Ok(Circuit::Closed { .. }) => true,
            Ok(Circuit::Open { until }) => now >= until,
            Ok(Circuit::HalfOpen { probing }) => !probing,
            Err(_) => true,
        }
    }

    /// Claims the right to send a request: `Some(true)` when it is the one probe of a half-open
    /// circuit (an expired open circuit becomes half-open), `Some(false)` for a closed one.
    fn acquire(&self, now: Instant) -> Option<bool> {
        let Ok(mut c) = self.circuit.lock() else {
            return Some(false);
        };
        match *c {
            Circuit::Closed { .. } => Some(false),
            Circuit::Open { until } if now >= until => {
                *c = Circuit::HalfOpen { probing: true };
                Some(true)
            }
            Circuit::Open { .. } => None,
            Circuit::HalfOpen { probing: false } => {
                *c = Circuit::HalfOpen { probing: true };
                Some(true)
            }
            Circuit::HalfOpen { probing: true } => None,
        }
    }

    /// Counts a request in flight until the guard drops (owned, so it can live in a stream).
    pub fn start(self: &std::sync::Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// A success closes the circuit and feeds the latency average (time to first token for streams).
    pub fn on_success(&self, latency: Duration) {
        if let Ok(mut c) = self.circuit.lock() {
            *c = Circuit::Closed {
                consecutive_failures: 0,
            };
        }
        let sample = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let old = self.ewma_us.load(Ordering::Relaxed);
        let new = if old == 0 {
            sample
        } else {
            (EWMA_ALPHA * sample as f64 + (1.0 - EWMA_ALPHA) * old as f64) as u64
        };
        self.ewma_us.store(new.max(1), Ordering::Relaxed);
    }

    /// A retryable failure; opens the circuit after `policy.failures` in a row, or at once when
    /// the failure was a half-open probe.
    pub fn on_failure(&self, policy: &CooldownPolicy, now: Instant) {
        let Ok(mut c) = self.circuit.lock() else {
            return;
        };
        *c = match *c {
            Circuit::Closed {
                consecutive_failures,
            } if consecutive_failures + 1 < policy.failures => Circuit::Closed {
                consecutive_failures: consecutive_failures + 1,
            },
            _ => Circuit::Open {
                until: now + policy.open_for,
            },
        };
    }

    /// A request that ended without telling us about the deployment's health (client went
    /// away, upstream 4xx): a half-open probe slot is given back.
    pub fn on_neutral(&self) {
        if let Ok(mut c) = self.circuit.lock()
            && *c == (Circuit::HalfOpen { probing: true })
        {
            *c = Circuit::HalfOpen { probing: false };
        }
    }
}

/// Gives a half-open probe slot back if its request ends without a verdict (the client went away
/// mid-attempt, or the request was refused before reaching the upstream). Disarmed once settled.
pub struct ProbeGuard {
    state: std::sync::Arc<DeploymentState>,
    armed: bool,
}

impl ProbeGuard {
    pub fn new(state: std::sync::Arc<DeploymentState>, probe: bool) -> ProbeGuard {
        ProbeGuard {
            state,
            armed: probe,
        }
    }

    pub fn settled(mut self) {
        self.armed = false;
    }
}

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        if self.armed {
            self.state.on_neutral();
        }
    }
}

/// Decrements the deployment's in-flight count when dropped.
pub struct InFlight(std::sync::Arc<DeploymentState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Something that can be chosen: its weight and live state.
pub trait Candidate {
    fn weight(&self) -> u64;
    fn state(&self) -> &DeploymentState;
}

impl<T: Candidate> Candidate for std::sync::Arc<T> {
    fn weight(&self) -> u64 {
        T::weight(self)
    }
    fn state(&self) -> &DeploymentState {
        T::state(self)
    }
}

/// Picks one of `candidates` (already filtered for enabled and not-yet-tried) by `strategy`,
/// skipping open circuits, and claims it; says whether it is a half-open probe, which the
/// caller must settle (success, failure, or [`DeploymentState::on_neutral`], as [`ProbeGuard`]
/// does). `None` when every one is cooling down.
pub fn pick<'a, C: Candidate>(
    strategy: Strategy,
    candidates: &[&'a C],
    now: Instant,
) -> Option<(&'a C, bool)> {
    let mut pool: Vec<&C> = candidates
        .iter()
        .copied()
        .filter(|c| c.state().available(now))
        .collect();
    let mut rng = rand::rng();
    while !pool.is_empty() {
        let i = match strategy {
            Strategy::Weighted => {
                let total: u64 = pool.iter().map(|c| c.weight()).sum();
                if total == 0 {
                    rng.random_range(0..pool.len())
                } else {
                    let mut roll = rng.random_range(0..total);
                    pool.iter()
                        .position(|c| {
                            let w = c.weight();
                            if roll < w {
                                true
                            } else {
                                roll -= w;
                                false
                            }
                        })
                        .unwrap_or(0)
                }
            }
            Strategy::LeastBusy => argmin(&pool, |c| c.state().in_flight() as f64, &mut rng),
            // No sample yet counts as fastest, so a new deployment gets explored.
            Strategy::LowestLatency => argmin(
                &pool,
                |c| c.state().ewma().map_or(0.0, |d| d.as_secs_f64()),
                &mut rng,
            ),
        };
        let chosen = pool.swap_remove(i);
        if let Some(probe) = chosen.state().acquire(now) {
            return Some((chosen, probe));
        }
    }
    None
}

/// Index of the smallest score; ties broken at random.
fn argmin<C>(pool: &[&C], score: impl Fn(&C) -> f64, rng: &mut impl Rng) -> usize {
    let best = pool.iter().map(|c| score(c)).fold(f64::INFINITY, f64::min);
    let ties: Vec<usize> = (0..pool.len())
        .filter(|&i| score(pool[i]) <= best)
        .collect();
    let i = rng.random_range(0..ties.len().max(1));
    ties.get(i).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct D {
        w: u64,
        s: std::sync::Arc<DeploymentState>,
    }
    impl Candidate for D {
        fn weight(&self) -> u64 {
            self.w
        }
        fn state(&self) -> &DeploymentState {
            &self.s
        }
    }
    fn d(w: u64) -> D {
        D {
            w,
            s: std::sync::Arc::new(DeploymentState::default()),
        }
    }

    #[test]
    fn weighted_follows_the_weights() {
        let (a, b) = (d(3), d(1));
        let now = Instant::now();
        let mut a_count = 0;
        for _ in 0..4000 {
            if std::ptr::eq(pick(Strategy::Weighted, &[&a, &b], now).unwrap().0, &a) {
                a_count += 1;
            }
        }
        // Expect 3000; a 6-sigma band is about +-165.
        assert!((2800..3200).contains(&a_count), "{a_count}");
    }

    #[test]
    fn least_busy_and_lowest_latency_choose_the_obvious_one() {
        let (a, b) = (d(1), d(1));
        let _busy = a.s.start();
        let now = Instant::now();
        for _ in 0..20 {
            assert!(std::ptr::eq(
                pick(Strategy::LeastBusy, &[&a, &b], now).unwrap().0,
                &b
            ));
        }
        a.s.on_success(Duration::from_millis(5));
        b.s.on_success(Duration::from_millis(50));
        for _ in 0..20 {
            assert!(std::ptr::eq(
                pick(Strategy::LowestLatency, &[&a, &b], now).unwrap().0,
                &a
            ));
        }
    }

    #[test]
    fn circuit_opens_then_half_opens_for_one_probe_then_closes() {
        let policy = CooldownPolicy {
            failures: 2,
            open_for: Duration::from_secs(10),
        };
        let a = d(1);
        let t0 = Instant::now();
        a.s.on_failure(&policy, t0);
        assert_eq!(a.s.circuit_state(t0), CircuitState::Closed);
        a.s.on_failure(&policy, t0);
        assert_eq!(a.s.circuit_state(t0), CircuitState::Open);
        assert!(
            pick(Strategy::Weighted, &[&a], t0).is_none(),
            "open: skipped"
        );

        let t1 = t0 + Duration::from_secs(11);
        assert_eq!(
            pick(Strategy::Weighted, &[&a], t1).map(|p| p.1),
            Some(true),
            "the probe"
        );
        assert!(
            pick(Strategy::Weighted, &[&a], t1).is_none(),
            "only one probe at a time"
        );
        a.s.on_failure(&policy, t1);
        assert_eq!(
            a.s.circuit_state(t1),
            CircuitState::Open,
            "a failed probe reopens"
        );

        let t2 = t1 + Duration::from_secs(11);
        assert!(pick(Strategy::Weighted, &[&a], t2).is_some());
        a.s.on_success(Duration::from_millis(1));
        assert_eq!(a.s.circuit_state(t2), CircuitState::Closed);
        assert!(pick(Strategy::Weighted, &[&a], t2).is_some());
    }

    #[test]
    fn an_unsettled_probe_gives_its_slot_back() {
        let policy = CooldownPolicy {
            failures: 1,
            open_for: Duration::from_secs(1),
        };
        let a = d(1);
        let t0 = Instant::now();
        a.s.on_failure(&policy, t0);
        let t1 = t0 + Duration::from_secs(2);
        let (_, probe) = pick(Strategy::Weighted, &[&a], t1).unwrap();
        assert!(probe);
        drop(ProbeGuard::new(a.s.clone(), probe));
        assert!(
            pick(Strategy::Weighted, &[&a], t1).is_some(),
            "the slot came back"
        );
    }

    #[test]
    fn in_flight_counts_down_on_drop() {
        let a = d(1);
        {
            let _x = a.s.start();
            let _y = a.s.start();
            assert_eq!(a.s.in_flight(), 2);
        }
        assert_eq!(a.s.in_flight(), 0);
    }
}
