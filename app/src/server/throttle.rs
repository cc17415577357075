//! Sign-in throttling: failures per account and per client address slow the answer, then lock
//! the account or address out for a while. In memory: one portal process holds the counters.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the counters behave. Addresses get higher limits than accounts (offices share one NAT).
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub window: Duration,
    /// Failures before answers are slowed.
    pub slow_after: u32,
    /// Failures before further attempts are refused outright.
    pub lock_after: u32,
    pub lock_for: Duration,
}

pub const ACCOUNT: Policy = Policy {
    window: Duration::from_secs(15 * 60),
    slow_after: 3,
    lock_after: 8,
    lock_for: Duration::from_secs(15 * 60),
};

pub const ADDRESS: Policy = Policy {
    window: Duration::from_secs(15 * 60),
    slow_after: 10,
    lock_after: 40,
    lock_for: Duration::from_secs(15 * 60),
};

/// Entries kept before expired ones are swept, so a flood of distinct emails cannot grow memory.
const SWEEP_AT: usize = 10_000;
const MAX_DELAY: Duration = Duration::from_secs(4);

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: Instant,
    locked_until: Option<Instant>,
}

/// The verdict before checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead, after waiting this long.
    Proceed(Duration),
    /// Refuse; retry after this many seconds.
    Locked(u64),
}

#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Throttle {
    pub fn new() -> Throttle {
        Throttle::default()
    }

    /// The verdict for a set of (key, policy) pairs: the strictest wins.
    pub fn check(&self, keys: &[(&str, Policy)], now: Instant) -> Verdict {
        let Ok(map) = self.entries.lock() else {
            return Verdict::Proceed(Duration::ZERO);
        };
        let mut delay = Duration::ZERO;
        for (key, policy) in keys {
            let Some(e) = map.get(*key) else { continue };
            if let Some(until) = e.locked_until.filter(|u| *u > now) {
                return Verdict::Locked(until.duration_since(now).as_secs().max(1));
            }
            if now.duration_since(e.window_start) < policy.window && e.failures >= policy.slow_after
            {
                let extra = e.failures - policy.slow_after;
                let d = Duration::from_millis(500u64.saturating_mul(1 << extra.min(4)));
                delay = delay.max(d.min(MAX_DELAY));
            }
        }
        Verdict::Proceed(delay)
    }

    pub fn record_failure(&self, keys: &[(&str, Policy)], now: Instant) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        if map.len() >= SWEEP_AT {
            map.retain(|_, e| {
                e.locked_until.is_some_and(|u| u > now)
                    || now.duration_since(e.window_start) < ACCOUNT.window.max(ADDRESS.window)
            });
        }
        for (key, policy) in keys {
            let e = map.entry((*key).to_owned()).or_insert(Entry {
                failures: 0,
                window_start: now,
                locked_until: None,
            });
            if now.duration_since(e.window_start) >= policy.window {
                *e = Entry {
                    failures: 0,
                    window_start: now,
                    locked_until: None,
                };
            }
            e.failures += 1;
            if e.failures >= policy.lock_after {
                e.locked_until = Some(now + policy.lock_for);
            }
        }
    }

    /// A successful sign-in clears the account's counter (not the address's).
    pub fn record_success(&self, account_key: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(account_key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slows_then_locks_then_forgets() {
        let t = Throttle::new();
        let now = Instant::now();
        let keys = [("acct:ana@x.io", ACCOUNT)];
        assert_eq!(t.check(&keys, now), Verdict::Proceed(Duration::ZERO));
        for _ in 0..ACCOUNT.slow_after {
            t.record_failure(&keys, now);
        }
        assert_eq!(
            t.check(&keys, now),
            Verdict::Proceed(Duration::from_millis(500))
        );
        for _ in ACCOUNT.slow_after..ACCOUNT.lock_after {
            t.record_failure(&keys, now);
        }
        assert_eq!(t.check(&keys, now), Verdict::Locked(15 * 60));
        let later = now + ACCOUNT.lock_for + Duration::from_secs(1);
        assert_eq!(t.check(&keys, later), Verdict::Proceed(Duration::ZERO));
    }

    #[test]
    fn success_clears_the_account_but_not_the_address() {
        let t = Throttle::new();
        let now = Instant::now();
        let keys = [("acct:a@x.io", ACCOUNT), ("ip:10.0.0.1", ADDRESS)];
        for _ in 0..ADDRESS.lock_after {
            t.record_failure(&keys, now);
        }
        t.record_success("acct:a@x.io");
        assert!(matches!(t.check(&keys[..1], now), Verdict::Proceed(_)));
        assert!(matches!(t.check(&keys, now), Verdict::Locked(_)));
    }

    #[test]
    fn delay_is_capped() {
        let t = Throttle::new();
        let now = Instant::now();
        let keys = [("ip:1", ADDRESS)];
        for _ in 0..(ADDRESS.lock_after - 1) {
            t.record_failure(&keys, now);
        }
        assert_eq!(t.check(&keys, now), Verdict::Proceed(MAX_DELAY));
    }
}
