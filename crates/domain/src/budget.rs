//! Budgets: the period a budget resets on, the window a moment falls in, and the admission rule.

use crate::money::Micros;
use crate::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND};
use std::fmt;
use std::str::FromStr;

mod window;

pub use window::{Window, seconds_until_reset, window};

/// The longest fixed period, in days (ten years).
pub const MAX_PERIOD_DAYS: i64 = 3650;
/// The longest calendar period, in months (ten years).
pub const MAX_PERIOD_MONTHS: u32 = 120;

/// A budget period as written in `budget_duration`: `30s`, `15m`, `12h`, `1d`, `7d`, `30d`,
/// `1mo`, `3mo` (LiteLLM's spellings). N >= 1, at most 3650 days or 120 months.
///
/// [`BudgetPeriod::parse`] never makes a length below one second; a value built by hand with a
/// length of zero or less is treated as no period at all by [`window`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetPeriod {
    /// Fixed length in milliseconds: `s`, `m`, `h`, `d`.
    Millis(i64),
    /// Calendar months in UTC: `mo`.
    Months(u32),
}

/// Units of a fixed period, largest first (the order [`fmt::Display`] tries them in).
const FIXED_UNITS: [(&str, i64); 4] = [
    ("d", MS_PER_DAY),
    ("h", MS_PER_HOUR),
    ("m", MS_PER_MINUTE),
    ("s", MS_PER_SECOND),
];

impl BudgetPeriod {
    /// Parses `<N><unit>` with unit `s`, `m`, `h`, `d` or `mo`: digits only (no sign, no
    /// decimals), lower case (`1M` would be ambiguous), surrounding whitespace ignored.
    pub fn parse(s: &str) -> Result<BudgetPeriod, BudgetError> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let unit_ms = match unit {
            "mo" => None,
            _ => Some(
                FIXED_UNITS
                    .iter()
                    .find(|(name, _)| *name == unit)
                    .map(|&(_, ms)| ms)
                    .ok_or(BudgetError::Malformed)?,
            ),
        };
        if digits.is_empty() {
            return Err(BudgetError::Malformed);
        }
        // Only ASCII digits remain, so the only possible failure is overflow.
        let n: u64 = digits.parse().map_err(|_| BudgetError::TooLong)?;
        if n == 0 {
            return Err(BudgetError::Zero);
        }
        match unit_ms {
            Some(ms) => {
                let n = i64::try_from(n).map_err(|_| BudgetError::TooLong)?;
                if n > MAX_PERIOD_DAYS * MS_PER_DAY / ms {
                    return Err(BudgetError::TooLong);
                }
                Ok(BudgetPeriod::Millis(n * ms))
            }
            None => match u32::try_from(n) {
                Ok(n) if n <= MAX_PERIOD_MONTHS => Ok(BudgetPeriod::Months(n)),
                _ => Err(BudgetError::TooLong),
            },
        }
    }
}

impl FromStr for BudgetPeriod {
    type Err = BudgetError;

    fn from_str(s: &str) -> Result<BudgetPeriod, BudgetError> {
        BudgetPeriod::parse(s)
    }
}

impl fmt::Display for BudgetPeriod {
    /// The canonical spelling: the largest unit that divides the length (`24h` shows as `1d`).
    /// A hand-built length that is not whole seconds shows as `1500ms`, which does not parse.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BudgetPeriod::Months(n) => write!(f, "{n}mo"),
            BudgetPeriod::Millis(ms) => {
                for (name, len) in FIXED_UNITS {
                    if ms > 0 && ms % len == 0 {
                        return write!(f, "{}{name}", ms / len);
                    }
                }
                write!(f, "{ms}ms")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("budget_duration must look like 30s, 15m, 12h, 7d or 1mo")]
    Malformed,
    #[error("budget_duration must be at least 1, as in 1d or 1mo")]
    Zero,
    #[error("budget_duration can be at most 3650 days (3650d) or 120 months (120mo)")]
    TooLong,
}

/// Spend state of one budget in one window, and the admission rule with reservations:
/// `reserved` is the estimated cost of requests still in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BudgetUse {
    pub spent: Micros,
    pub reserved: Micros,
}

/// Refuse when spent + reserved >= max (the budget is reached, counting in-flight estimates);
/// max <= 0 always refuses.
pub fn admits(max: Micros, used: BudgetUse) -> bool {
    // i128: `spent + reserved` must not wrap round to a small number and admit.
    max.0 > 0 && i128::from(used.spent.0) + i128::from(used.reserved.0) < i128::from(max.0)
}

/// A deliberately rough, upper-leaning estimate of a request's tokens, used only to reserve
/// budget before the upstream answers; the reservation is settled to the real cost after.
///
/// Returns (prompt tokens, completion tokens): the prompt is `ceil(bytes / 4)` of the request
/// body, whose JSON envelope (keys, roles, escapes) pads English text above its token count,
/// though scripts with several bytes per token can come out lower; the completion is
/// `max_tokens`, a true upper bound, or `default_completion` when the client set none.
pub fn estimate_tokens(
    prompt_bytes: usize,
    max_tokens: Option<u64>,
    default_completion: u64,
) -> (u64, u64) {
    let prompt = u64::try_from(prompt_bytes.div_ceil(4)).unwrap_or(u64::MAX);
    (prompt, max_tokens.unwrap_or(default_completion))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_litellm_spellings() {
        // Lengths worked out by hand: 30 x 1000; 15 x 60_000; 12 x 3_600_000; 86_400_000 a day.
        let cases = [
            ("30s", BudgetPeriod::Millis(30_000)),
            ("15m", BudgetPeriod::Millis(900_000)),
            ("12h", BudgetPeriod::Millis(43_200_000)),
            ("1d", BudgetPeriod::Millis(86_400_000)),
            ("7d", BudgetPeriod::Millis(604_800_000)),
            ("30d", BudgetPeriod::Millis(2_592_000_000)),
            ("1mo", BudgetPeriod::Months(1)),
            ("3mo", BudgetPeriod::Months(3)),
            (" 7d\n", BudgetPeriod::Millis(604_800_000)),
            ("007d", BudgetPeriod::Millis(604_800_000)),
        ];
        for (s, want) in cases {
            assert_eq!(BudgetPeriod::parse(s), Ok(want), "{s:?}");
            assert_eq!(s.parse::<BudgetPeriod>(), Ok(want), "{s:?}");
        }
    }

    #[test]
    fn bounds_are_ten_years() {
        // 3650 days = 87_600 hours = 5_256_000 minutes = 315_360_000 seconds.
        for ok in ["3650d", "87600h", "5256000m", "315360000s", "120mo"] {
            assert!(BudgetPeriod::parse(ok).is_ok(), "{ok}");
        }
        for long in ["3651d", "87601h", "5256001m", "315360001s", "121mo"] {
            assert_eq!(
                BudgetPeriod::parse(long),
                Err(BudgetError::TooLong),
                "{long}"
            );
        }
        for huge in [
            "99999999999999999999d",
            "9223372036854775807s",
            "4294967296mo",
        ] {
            assert_eq!(
                BudgetPeriod::parse(huge),
                Err(BudgetError::TooLong),
                "{huge}"
            );
        }
    }

    #[test]
    fn rejects_malformed_periods() {
        assert_eq!(BudgetPeriod::parse("0d"), Err(BudgetError::Zero));
        assert_eq!(BudgetPeriod::parse("0mo"), Err(BudgetError::Zero));
        assert_eq!(BudgetPeriod::parse("000s"), Err(BudgetError::Zero));
        let bad = [
            "", " ", "-1d", "+1d", "1y", "d", "mo", "1.5d", "1,5d", "1 d", "1D", "1MO", "1dd",
            "1mos", "1m0", "1", "d1", "1w", "1ms", "\u{661}d",
        ];
        for b in bad {
            assert_eq!(BudgetPeriod::parse(b), Err(BudgetError::Malformed), "{b:?}");
        }
        assert_eq!(
            BudgetError::Malformed.to_string(),
            "budget_duration must look like 30s, 15m, 12h, 7d or 1mo"
        );
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        for s in [
            "30s", "15m", "12h", "1d", "7d", "30d", "1mo", "3mo", "90m", "36h", "120mo",
        ] {
            assert_eq!(BudgetPeriod::parse(s).unwrap().to_string(), s);
        }
        // Other spellings of the same length come back in the largest whole unit.
        for (s, canonical) in [
            ("24h", "1d"),
            ("60s", "1m"),
            ("3600s", "1h"),
            ("1440m", "1d"),
        ] {
            assert_eq!(BudgetPeriod::parse(s).unwrap().to_string(), canonical);
        }
        assert_eq!(BudgetPeriod::Millis(1_500).to_string(), "1500ms");
        // Every second count up to a day survives display and parse.
        for secs in (1..=86_400).step_by(7) {
            let p = BudgetPeriod::Millis(secs * 1_000);
            assert_eq!(BudgetPeriod::parse(&p.to_string()), Ok(p), "{p}");
        }
    }

    #[test]
    fn admission_counts_reservations() {
        let use_ = |spent, reserved| BudgetUse {
            spent: Micros(spent),
            reserved: Micros(reserved),
        };
        assert!(admits(Micros(10), use_(4, 5))); // 9 < 10
        assert!(!admits(Micros(10), use_(5, 5))); // 10 reaches 10
        assert!(!admits(Micros(10), use_(10, 0)));
        assert!(!admits(Micros(10), use_(0, 10)));
        assert!(!admits(Micros(10), use_(11, 0)));
        assert!(admits(Micros(1), BudgetUse::default()));
        assert!(!admits(Micros(0), BudgetUse::default()));
        assert!(!admits(Micros(-1), use_(-5, 0)));
        // i64::MAX + 1 would wrap to i64::MIN in i64 and wrongly admit.
        assert!(!admits(Micros(i64::MAX), use_(i64::MAX, 1)));
        assert!(admits(Micros(i64::MAX), use_(i64::MAX - 1, 0)));
    }

    #[test]
    fn estimates_round_the_prompt_up() {
        assert_eq!(estimate_tokens(0, None, 256), (0, 256));
        assert_eq!(estimate_tokens(1, None, 256), (1, 256)); // 1/4 -> 1
        assert_eq!(estimate_tokens(4, Some(10), 256), (1, 10));
        assert_eq!(estimate_tokens(5, Some(0), 256), (2, 0)); // 5/4 -> 2
        assert_eq!(estimate_tokens(8, None, 0), (2, 0));
        assert_eq!(estimate_tokens(9, Some(u64::MAX), 1), (3, u64::MAX));
        // usize::MAX / 4 rounded up, without overflow.
        let big = estimate_tokens(usize::MAX, None, 1).0;
        assert_eq!(big, (usize::MAX / 4 + 1) as u64);
    }
}
