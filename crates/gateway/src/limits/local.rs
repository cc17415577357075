//! The limits in process: the same rules as the Redis scripts, under one lock, on this
//! process's clock. Used alone when no Redis is configured, and with every limit divided by
//! the replica count while a configured Redis is unreachable.

use super::{Check, Owner, RateKind, Refusal};
use std::collections::HashMap;
use std::sync::Mutex;
use tollgate_domain::Micros;
use tollgate_domain::budget::{BudgetUse, admits};
use uuid::Uuid;

/// The last 60 whole seconds, one bucket per second (slot = second % 60).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Buckets {
    secs: [i64; 60],
    counts: [i64; 60],
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets {
            secs: [i64::MIN; 60],
            counts: [0; 60],
        }
    }
}

impl Buckets {
    fn live(&self, now_sec: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.secs
            .iter()
            .zip(self.counts.iter())
            .filter(move |(s, c)| **s > now_sec - 60 && **s <= now_sec && **c > 0)
            .map(|(s, c)| (*s, *c))
    }

    pub(crate) fn sum(&self, now_sec: i64) -> i64 {
        self.live(now_sec).map(|(_, c)| c).sum()
    }

    pub(crate) fn add(&mut self, now_sec: i64, n: i64) {
        let slot = usize::try_from(now_sec.rem_euclid(60)).unwrap_or(0);
        if self.secs[slot] != now_sec {
            self.secs[slot] = now_sec;
            self.counts[slot] = 0;
        }
        self.counts[slot] += n;
    }

    /// Milliseconds until `need` units have left the window, oldest second first.
    pub(crate) fn retry_after_ms(&self, now_ms: i64, need: i64) -> i64 {
        let now_sec = now_ms.div_euclid(1000);
        let mut live: Vec<(i64, i64)> = self.live(now_sec).collect();
        live.sort_unstable();
        let mut freed = 0;
        for (s, c) in live {
            freed += c;
            if freed >= need {
                return (s + 60) * 1000 - now_ms;
            }
        }
        60_000
    }
}

#[derive(Default)]
struct State {
    rates: HashMap<(Owner, Uuid, RateKind), Buckets>,
    parallel: HashMap<(Owner, Uuid), i64>,
    /// Per owner: its current budget window and what is spent and reserved in it. A newer
    /// window replaces an older one (nothing of a past window is ever checked again).
    budgets: HashMap<(Owner, Uuid), (i64, BudgetUse)>,
}

impl State {
    /// The owner's use in `window`, starting a new window when the stored one is older.
    fn budget(&mut self, owner: Owner, id: Uuid, window: i64) -> Option<&mut BudgetUse> {
        let e = self
            .budgets
            .entry((owner, id))
            .or_insert((window, BudgetUse::default()));
        if window > e.0 {
            *e = (window, BudgetUse::default());
        }
        // A request settling after its window ended finds a newer one: nothing to adjust.
        (e.0 == window).then_some(&mut e.1)
    }
}

#[derive(Default)]
pub(crate) struct Local {
    state: Mutex<State>,
}

fn now_ms() -> i64 {
    tollgate_domain::Timestamp::now().0
}

/// `limit / divisor`, at least 1 (a limit of 0 stays 0: nothing is allowed).
fn share(limit: i64, divisor: u32) -> i64 {
    if limit <= 0 {
        limit
    } else {
        (limit / i64::from(divisor.max(1))).max(1)
    }
}

impl Local {
    pub(crate) fn admit(&self, checks: &[Check], divisor: u32) -> Result<(), Refusal> {
        self.admit_at(checks, divisor, now_ms())
    }

    pub(crate) fn admit_at(&self, checks: &[Check], divisor: u32, now: i64) -> Result<(), Refusal> {
        let sec = now.div_euclid(1000);
        let mut st = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // First every check, then every increment: a refusal moves nothing.
        for c in checks {
            if let Some(limit) = c.rpm.map(|l| share(l, divisor)) {
                let b = st
                    .rates
                    .entry((c.owner, c.id, RateKind::Requests))
                    .or_default();
                let sum = b.sum(sec);
                if sum + 1 > limit {
                    return Err(Refusal::Rate {
                        owner: c.owner,
                        kind: RateKind::Requests,
                        limit,
                        retry_after_ms: b.retry_after_ms(now, sum + 1 - limit),
                    });
                }
            }
            if let Some(limit) = c.tpm.map(|l| share(l, divisor)) {
                let b = st
                    .rates
                    .entry((c.owner, c.id, RateKind::Tokens))
                    .or_default();
                let sum = b.sum(sec);
                if sum >= limit {
                    return Err(Refusal::Rate {
                        owner: c.owner,
                        kind: RateKind::Tokens,
                        limit,
                        retry_after_ms: b.retry_after_ms(now, sum - limit + 1),
                    });
                }
            }
            if let Some(limit) = c.parallel.map(|l| share(l, divisor)) {
                let n = st.parallel.get(&(c.owner, c.id)).copied().unwrap_or(0);
                if n >= limit {
                    return Err(Refusal::Rate {
                        owner: c.owner,
                        kind: RateKind::Parallel,
                        limit,
                        retry_after_ms: 1000,
                    });
                }
            }
            if let Some(b) = &c.budget
                && let Some(used) = st.budget(c.owner, c.id, b.window)
            {
                // The database's figure includes other replicas' spend.
                used.spent = used.spent.max(b.seed);
                if !admits(b.max, *used) {
                    return Err(Refusal::Budget {
                        owner: c.owner,
                        max: b.max,
                        spent: used.spent,
                    });
                }
            }
        }
        for c in checks {
            if c.rpm.is_some() {
                st.rates
                    .entry((c.owner, c.id, RateKind::Requests))
                    .or_default()
                    .add(sec, 1);
            }
            if c.parallel.is_some() {
                *st.parallel.entry((c.owner, c.id)).or_default() += 1;
            }
            if let Some(b) = &c.budget
                && let Some(used) = st.budget(c.owner, c.id, b.window)
            {
                used.reserved = used.reserved.saturating_add(b.estimate);
            }
        }
        Ok(())
    }

    pub(crate) fn settle(&self, checks: &[Check], tokens: u64, cost: Micros) {
        let sec = now_ms().div_euclid(1000);
        let mut st = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        for c in checks {
            if c.tpm.is_some() && tokens > 0 {
                st.rates
                    .entry((c.owner, c.id, RateKind::Tokens))
                    .or_default()
                    .add(sec, tokens);
            }
            if c.parallel.is_some()
                && let Some(n) = st.parallel.get_mut(&(c.owner, c.id))
            {
                *n = (*n - 1).max(0);
            }
            if let Some(b) = &c.budget
                && let Some(used) = st.budget(c.owner, c.id, b.window)
            {
                used.reserved = Micros((used.reserved.0 - b.estimate.0).max(0));
                used.spent = used.spent.saturating_add(cost);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::limits::{BudgetCheck, Scope};

    fn check(rpm: Option<i64>, tpm: Option<i64>, parallel: Option<i64>) -> Check {
        Check {
            owner: Owner::Spend(Scope::Key),
            id: Uuid::nil(),
            rpm,
            tpm,
            parallel,
            budget: None,
        }
    }

    const T: i64 = 1_700_000_000_000;

    #[test]
    fn requests_per_minute_slide_by_the_second() {
        let l = Local::default();
        let c = [check(Some(3), None, None)];
        for i in 0..3 {
            l.admit_at(&c, 1, T + i * 10_000).unwrap();
        }
        // Fourth inside the minute: refused until the first second leaves the window.
        let Err(Refusal::Rate {
            kind,
            limit,
            retry_after_ms,
            ..
        }) = l.admit_at(&c, 1, T + 30_500)
        else {
            panic!("admitted a fourth request within a minute")
        };
        assert_eq!((kind, limit), (RateKind::Requests, 3));
        // The first request's second (T) leaves at T + 60 s: 29.5 s from T + 30.5 s.
        assert_eq!(retry_after_ms, 29_500);
        l.admit_at(&c, 1, T + 59_999).unwrap_err();
        l.admit_at(&c, 1, T + 60_000).unwrap();
    }

    #[test]
    fn a_refusal_moves_no_counter() {
        let l = Local::default();
        let key = check(Some(10), None, None);
        let team = Check {
            owner: Owner::Spend(Scope::Team),
            ..check(Some(1), None, None)
        };
        l.admit_at(&[key.clone(), team.clone()], 1, T).unwrap();
        // The team is full: the key's counter must not move either.
        for _ in 0..5 {
            l.admit_at(&[key.clone(), team.clone()], 1, T).unwrap_err();
        }
        for _ in 0..9 {
            l.admit_at(std::slice::from_ref(&key), 1, T).unwrap();
        }
        l.admit_at(std::slice::from_ref(&key), 1, T).unwrap_err();
    }

    #[test]
    fn tokens_count_when_settled() {
        let l = Local::default();
        let c = [check(None, Some(100), None)];
        l.admit_at(&c, 1, T).unwrap();
        l.settle(&c, 100, Micros::ZERO);
        // 100 of 100 used: refused while they are in the window.
        assert!(matches!(
            l.admit(&c, 1),
            Err(Refusal::Rate {
                kind: RateKind::Tokens,
                ..
            })
        ));
    }

    #[test]
    fn parallel_slots_come_back_on_settle() {
        let l = Local::default();
        let c = [check(None, None, Some(2))];
        l.admit_at(&c, 1, T).unwrap();
        l.admit_at(&c, 1, T).unwrap();
        l.admit_at(&c, 1, T).unwrap_err();
        l.settle(&c, 0, Micros::ZERO);
        l.admit_at(&c, 1, T).unwrap();
    }

    #[test]
    fn divided_limits_when_degraded() {
        let l = Local::default();
        let c = [check(Some(60), None, None)];
        // Three replicas: 20 each.
        for _ in 0..20 {
            l.admit_at(&c, 3, T).unwrap();
        }
        l.admit_at(&c, 3, T).unwrap_err();
        assert_eq!(share(1, 3), 1, "a small limit never rounds to zero");
        assert_eq!(share(0, 3), 0);
    }

    #[test]
    fn budget_reserves_then_settles() {
        let l = Local::default();
        let budget = |seed: i64| Check {
            budget: Some(BudgetCheck {
                max: Micros(1_000),
                window: 0,
                seed: Micros(seed),
                estimate: Micros(300),
            }),
            ..check(None, None, None)
        };
        // Spent 500 (from the database) + 300 reserved = 800 < 1000: admitted; the next
        // sees 500 + 600 >= 1000 and is refused while the first is in flight.
        l.admit_at(&[budget(500)], 1, T).unwrap();
        l.admit_at(&[budget(500)], 1, T).unwrap();
        let Err(Refusal::Budget { spent, .. }) = l.admit_at(&[budget(500)], 1, T) else {
            panic!("a third reservation fit in the budget")
        };
        assert_eq!(spent, Micros(500));
        // The two settle cheaper than estimated: 500 + 2 x 100 = 700, room again.
        l.settle(&[budget(500)], 0, Micros(100));
        l.settle(&[budget(500)], 0, Micros(100));
        l.admit_at(&[budget(500)], 1, T).unwrap();
        // A seed above what this process counted wins (another replica spent it).
        l.settle(&[budget(500)], 0, Micros(0));
        assert!(l.admit_at(&[budget(1_000)], 1, T).is_err());
    }

    #[test]
    fn a_new_window_starts_at_zero_and_a_late_settle_changes_nothing() {
        let l = Local::default();
        let in_window = |window: i64| Check {
            budget: Some(BudgetCheck {
                max: Micros(100),
                window,
                seed: Micros::ZERO,
                estimate: Micros(10),
            }),
            ..check(None, None, None)
        };
        l.admit_at(&[in_window(1)], 1, T).unwrap();
        l.settle(&[in_window(1)], 0, Micros(100));
        l.admit_at(&[in_window(1)], 1, T).unwrap_err();
        // The next window: spent starts again from the database's figure (0 here).
        l.admit_at(&[in_window(2)], 1, T).unwrap();
        // A request of window 1 settling now must not charge window 2.
        l.settle(&[in_window(1)], 0, Micros(95));
        l.settle(&[in_window(2)], 0, Micros(0));
        l.admit_at(&[in_window(2)], 1, T).unwrap();
    }
}
