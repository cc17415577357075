//! Which budget window a moment falls in, in UTC, for fixed and calendar-month periods.

use super::BudgetPeriod;
use crate::time::{MS_PER_DAY, Timestamp, civil_from_days, days_from_civil};

/// A budget window [start, end) in UTC ms. A lifetime budget (no period) has start 0 and end None.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    pub start: Timestamp,
    pub end: Option<Timestamp>,
}

impl Window {
    pub const LIFETIME: Window = Window {
        start: Timestamp(0),
        end: None,
    };

    /// Whether `t` falls in [start, end); a lifetime window holds everything from `start` on.
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.start && self.end.is_none_or(|end| t < end)
    }
}

/// The window containing `now`. Fixed periods are aligned to UTC midnight of the anchor's day
/// (the anchor is when the budget's owner was created): start = anchor_day + floor((now -
/// anchor_day) / len) * len (also correct for now < anchor: floor division). Month periods are
/// calendar months in UTC: `1mo` is the calendar month containing now; `Nmo` are blocks of N
/// calendar months counted from the anchor's month.
///
/// A period of zero or negative length (only possible when built by hand) gives the lifetime
/// window, so a bad value can never make a budget reset more often. Arithmetic is done in i128
/// and clamped to the `i64` range, so extreme timestamps cannot overflow.
pub fn window(period: Option<BudgetPeriod>, anchor: Timestamp, now: Timestamp) -> Window {
    match period {
        Some(BudgetPeriod::Millis(len)) if len > 0 => fixed(len, anchor, now),
        Some(BudgetPeriod::Months(n)) if n > 0 => months(n, anchor, now),
        _ => Window::LIFETIME,
    }
}

/// Seconds until the window ends (for messages / retry hints), None for lifetime.
/// Rounded up, so a client that waits this long is in the next window; 0 once it has ended.
pub fn seconds_until_reset(w: &Window, now: Timestamp) -> Option<i64> {
    let end = w.end?;
    let ms = i128::from(end.0) - i128::from(now.0);
    let secs = if ms <= 0 { 0 } else { (ms + 999) / 1_000 };
    Some(i64::try_from(secs).unwrap_or(i64::MAX))
}

fn fixed(len: i64, anchor: Timestamp, now: Timestamp) -> Window {
    let len = i128::from(len);
    let day = i128::from(MS_PER_DAY);
    let anchor_day = i128::from(anchor.0).div_euclid(day) * day;
    let start = anchor_day + (i128::from(now.0) - anchor_day).div_euclid(len) * len;
    Window {
        start: clamp(start),
        end: Some(clamp(start + len)),
    }
}

fn months(n: u32, anchor: Timestamp, now: Timestamp) -> Window {
    let n = i64::from(n);
    let first = month_index(anchor);
    let start = first + (month_index(now) - first).div_euclid(n) * n;
    Window {
        start: clamp(month_start(start)),
        end: Some(clamp(month_start(start + n))),
    }
}

/// Months since year 0, January: `year * 12 + month - 1`.
fn month_index(t: Timestamp) -> i64 {
    let (year, month, _) = civil_from_days(t.0.div_euclid(MS_PER_DAY));
    year * 12 + i64::from(month) - 1
}

/// Midnight UTC on the first day of the month `index` counts.
fn month_start(index: i64) -> i128 {
    // `rem_euclid(12)` is 0..=11, so the month is 1..=12.
    let month = index.rem_euclid(12).unsigned_abs() as u32 + 1;
    let days = days_from_civil(index.div_euclid(12), month, 1);
    i128::from(days) * i128::from(MS_PER_DAY)
}

fn clamp(ms: i128) -> Timestamp {
    Timestamp(i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UTC instant from its calendar parts, through `days_from_civil` (tested in `time`).
    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64, ms: i64) -> Timestamp {
        Timestamp(days_from_civil(y, mo, d) * MS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1_000 + ms)
    }

    fn day(y: i64, mo: u32, d: u32) -> Timestamp {
        at(y, mo, d, 0, 0, 0, 0)
    }

    fn span(start: Timestamp, end: Timestamp) -> Window {
        Window {
            start,
            end: Some(end),
        }
    }

    const MONTH: Option<BudgetPeriod> = Some(BudgetPeriod::Months(1));
    const WEEK: Option<BudgetPeriod> = Some(BudgetPeriod::Millis(7 * MS_PER_DAY));
    const DAY: Option<BudgetPeriod> = Some(BudgetPeriod::Millis(MS_PER_DAY));

    #[test]
    fn the_helper_agrees_with_hand_computed_epoch_millis() {
        // 2024-02-29T12:34:56Z is 1_709_210_096_000 (see `time`); minus 45_296_000 ms
        // (12:34:56) is that midnight, plus 86_400_000 is 2024-03-01.
        assert_eq!(at(2024, 2, 29, 12, 34, 56, 0), Timestamp(1_709_210_096_000));
        assert_eq!(day(2024, 3, 1), Timestamp(1_709_251_200_000));
        assert_eq!(day(1970, 1, 2), Timestamp(86_400_000));
    }

    #[test]
    fn month_end_moves_to_the_next_month() {
        let anchor = day(2023, 6, 17);
        let jan = span(day(2024, 1, 1), day(2024, 2, 1));
        let feb = span(day(2024, 2, 1), day(2024, 3, 1));
        assert_eq!(window(MONTH, anchor, at(2024, 1, 31, 23, 59, 59, 999)), jan);
        assert_eq!(window(MONTH, anchor, day(2024, 2, 1)), feb);
        let w = window(MONTH, anchor, day(2024, 2, 1));
        assert_eq!(w.start.to_string(), "2024-02-01T00:00:00Z");
        assert_eq!(
            w.end.map(|e| e.to_string()).as_deref(),
            Some("2024-03-01T00:00:00Z")
        );
    }

    #[test]
    fn leap_february_has_29_days() {
        let anchor = day(2020, 1, 1);
        let feb = span(day(2024, 2, 1), day(2024, 3, 1));
        assert_eq!(window(MONTH, anchor, at(2024, 2, 29, 12, 0, 0, 0)), feb);
        assert_eq!(window(MONTH, anchor, at(2024, 2, 29, 23, 59, 59, 999)), feb);
        let march = window(MONTH, anchor, Timestamp(1_709_251_200_000)); // 2024-03-01T00:00:00.000
        assert_eq!(march.start, Timestamp(1_709_251_200_000));
        assert_eq!(march.start.to_string(), "2024-03-01T00:00:00Z");
        // 29 x 86_400_000 = 2_505_600_000; 28 x 86_400_000 = 2_419_200_000.
        assert_eq!(feb.end.map(|e| e.0 - feb.start.0), Some(2_505_600_000));
        let feb_2023 = window(MONTH, anchor, day(2023, 2, 14));
        assert_eq!(
            feb_2023.end.map(|e| e.0 - feb_2023.start.0),
            Some(2_419_200_000)
        );
        assert_eq!(feb_2023.end, Some(day(2023, 3, 1)));
    }

    #[test]
    fn year_end() {
        let anchor = day(2022, 5, 5);
        let last_ms = at(2024, 12, 31, 23, 59, 59, 999);
        assert_eq!(
            window(MONTH, anchor, last_ms),
            span(day(2024, 12, 1), day(2025, 1, 1))
        );
        assert_eq!(
            window(MONTH, anchor, day(2025, 1, 1)),
            span(day(2025, 1, 1), day(2025, 2, 1))
        );
        assert_eq!(
            window(DAY, anchor, last_ms),
            span(day(2024, 12, 31), day(2025, 1, 1))
        );
        assert_eq!(
            window(DAY, anchor, day(2025, 1, 1)),
            span(day(2025, 1, 1), day(2025, 1, 2))
        );
    }

    #[test]
    fn fixed_periods_align_to_the_anchor_day_midnight() {
        let anchor = at(2024, 1, 10, 15, 30, 0, 0); // a Wednesday, mid-afternoon
        let first = span(day(2024, 1, 10), day(2024, 1, 17));
        assert_eq!(window(WEEK, anchor, anchor), first);
        assert_eq!(
            window(WEEK, anchor, day(2024, 1, 10)),
            first,
            "before the anchor's time"
        );
        assert_eq!(
            window(WEEK, anchor, at(2024, 1, 16, 23, 59, 59, 999)),
            first
        );
        // Exactly at a boundary: the new window.
        let second = span(day(2024, 1, 17), day(2024, 1, 24));
        assert_eq!(window(WEEK, anchor, day(2024, 1, 17)), second);
        // Many weeks on: 2024-03-13 is 63 days = 9 weeks after 2024-01-10.
        assert_eq!(
            window(WEEK, anchor, at(2024, 3, 14, 8, 0, 0, 0)),
            span(day(2024, 3, 13), day(2024, 3, 20))
        );
        // 12h: windows at 00:00 and 12:00 of every day.
        let half_day = Some(BudgetPeriod::Millis(12 * 3_600_000));
        assert_eq!(
            window(
                half_day,
                at(2024, 5, 5, 20, 0, 0, 0),
                at(2024, 5, 6, 13, 0, 0, 0)
            ),
            span(at(2024, 5, 6, 12, 0, 0, 0), day(2024, 5, 7))
        );
        // 15m and 30s.
        let quarter = Some(BudgetPeriod::Millis(15 * 60_000));
        assert_eq!(
            window(quarter, anchor, at(2024, 2, 1, 10, 44, 59, 999)),
            span(at(2024, 2, 1, 10, 30, 0, 0), at(2024, 2, 1, 10, 45, 0, 0))
        );
        let half_minute = Some(BudgetPeriod::Millis(30_000));
        assert_eq!(
            window(half_minute, anchor, at(2024, 2, 1, 10, 44, 30, 0)),
            span(at(2024, 2, 1, 10, 44, 30, 0), at(2024, 2, 1, 10, 45, 0, 0))
        );
    }

    #[test]
    fn now_before_the_anchor_uses_floor_division() {
        let anchor = at(2024, 1, 10, 15, 30, 0, 0);
        assert_eq!(
            window(WEEK, anchor, at(2024, 1, 9, 23, 59, 59, 999)),
            span(day(2024, 1, 3), day(2024, 1, 10))
        );
        assert_eq!(
            window(WEEK, anchor, day(2024, 1, 3)),
            span(day(2024, 1, 3), day(2024, 1, 10))
        );
        // Truncating division would put this in the 01-03 window too.
        assert_eq!(
            window(WEEK, anchor, at(2024, 1, 2, 23, 59, 0, 0)),
            span(day(2023, 12, 27), day(2024, 1, 3))
        );
        // Before 1970 as well.
        assert_eq!(
            window(DAY, Timestamp(0), Timestamp(-1)),
            span(Timestamp(-86_400_000), Timestamp(0))
        );
    }

    #[test]
    fn one_month_ignores_the_anchor() {
        for anchor in [day(2020, 6, 17), day(2024, 3, 31), day(2030, 1, 1)] {
            assert_eq!(
                window(MONTH, anchor, at(2024, 3, 15, 9, 0, 0, 0)),
                span(day(2024, 3, 1), day(2024, 4, 1))
            );
        }
    }

    #[test]
    fn three_month_blocks_from_a_november_anchor_cross_the_year() {
        let q = Some(BudgetPeriod::Months(3));
        let anchor = at(2024, 11, 15, 8, 0, 0, 0);
        // Blocks: Nov-Jan, Feb-Apr, May-Jul, Aug-Oct.
        let first = span(day(2024, 11, 1), day(2025, 2, 1));
        assert_eq!(window(q, anchor, anchor), first);
        assert_eq!(
            window(q, anchor, day(2024, 11, 1)),
            first,
            "same month, before the anchor"
        );
        assert_eq!(window(q, anchor, at(2025, 1, 31, 23, 59, 59, 999)), first);
        assert_eq!(
            window(q, anchor, day(2025, 2, 1)),
            span(day(2025, 2, 1), day(2025, 5, 1))
        );
        assert_eq!(
            window(q, anchor, at(2025, 12, 24, 0, 0, 0, 0)),
            span(day(2025, 11, 1), day(2026, 2, 1))
        );
        // Before the anchor's month: the block before it.
        assert_eq!(
            window(q, anchor, at(2024, 10, 31, 23, 59, 59, 999)),
            span(day(2024, 8, 1), day(2024, 11, 1))
        );
    }

    #[test]
    fn every_window_contains_now_and_they_tile() {
        let anchor = at(2023, 11, 20, 15, 30, 0, 0);
        let periods = [
            BudgetPeriod::Millis(30_000),
            BudgetPeriod::Millis(7 * MS_PER_DAY),
            BudgetPeriod::Millis(30 * MS_PER_DAY),
            BudgetPeriod::Months(1),
            BudgetPeriod::Months(3),
            BudgetPeriod::Months(12),
        ];
        for period in periods {
            let p = Some(period);
            // Three years either side of 2024-01-01, in steps of about a third of a day.
            let mut t = day(2021, 1, 1).0;
            while t < day(2027, 1, 1).0 {
                let now = Timestamp(t);
                let w = window(p, anchor, now);
                assert!(w.contains(now), "{period} {now} {w:?}");
                let end = w.end.unwrap_or(Timestamp(i64::MIN));
                // The window's first and last millisecond give the same window; its end starts
                // the next one: no gaps, no overlaps.
                assert_eq!(window(p, anchor, w.start), w, "{period} {w:?}");
                assert_eq!(window(p, anchor, Timestamp(end.0 - 1)), w, "{period} {w:?}");
                assert_eq!(window(p, anchor, end).start, end, "{period} {w:?}");
                assert!(
                    !w.contains(end) && !w.contains(Timestamp(w.start.0 - 1)),
                    "{w:?}"
                );
                if let BudgetPeriod::Months(_) = period {
                    let c = w.start.to_civil();
                    assert_eq!((c.day, c.hour, c.minute, c.second), (1, 0, 0, 0), "{w:?}");
                }
                t += 28_800_017;
            }
        }
    }

    #[test]
    fn lifetime_and_degenerate_periods() {
        let now = day(2024, 1, 1);
        assert_eq!(window(None, now, now), Window::LIFETIME);
        assert_eq!(Window::LIFETIME.start, Timestamp(0));
        for p in [
            BudgetPeriod::Millis(0),
            BudgetPeriod::Millis(-5),
            BudgetPeriod::Months(0),
        ] {
            assert_eq!(window(Some(p), now, now), Window::LIFETIME, "{p:?}");
        }
        assert!(Window::LIFETIME.contains(now));
        assert!(!Window::LIFETIME.contains(Timestamp(-1)));
    }

    #[test]
    fn extreme_timestamps_clamp_instead_of_overflowing() {
        let periods = [
            BudgetPeriod::Millis(1_000),
            BudgetPeriod::Millis(3650 * MS_PER_DAY),
            BudgetPeriod::Months(1),
            BudgetPeriod::Months(120),
        ];
        let extremes = [Timestamp(i64::MIN), Timestamp(0), Timestamp(i64::MAX)];
        for period in periods {
            for anchor in extremes {
                for now in extremes {
                    let w = window(Some(period), anchor, now);
                    let end = w.end.unwrap_or(Timestamp(i64::MIN));
                    assert!(
                        w.start <= now && now <= end,
                        "{period} {anchor:?} {now:?} {w:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn seconds_until_reset_rounds_up() {
        let w = span(Timestamp(0), Timestamp(10_000));
        assert_eq!(seconds_until_reset(&w, Timestamp(0)), Some(10));
        assert_eq!(seconds_until_reset(&w, Timestamp(8_999)), Some(2)); // 1.001 s
        assert_eq!(seconds_until_reset(&w, Timestamp(9_000)), Some(1));
        assert_eq!(seconds_until_reset(&w, Timestamp(9_999)), Some(1)); // 1 ms
        assert_eq!(seconds_until_reset(&w, Timestamp(10_000)), Some(0));
        assert_eq!(seconds_until_reset(&w, Timestamp(20_000)), Some(0));
        assert_eq!(seconds_until_reset(&Window::LIFETIME, Timestamp(5)), None);
        let far = span(Timestamp(i64::MIN), Timestamp(i64::MAX));
        // (2^64 - 1) ms is about 1.8e16 s: fits.
        assert_eq!(
            seconds_until_reset(&far, Timestamp(i64::MIN)),
            Some(18_446_744_073_709_552)
        );
        // A real one: 7d window from the anchor test, 1h 30m before its end = 5400 s.
        let week = window(
            WEEK,
            at(2024, 1, 10, 15, 30, 0, 0),
            at(2024, 1, 16, 22, 30, 0, 0),
        );
        assert_eq!(
            seconds_until_reset(&week, at(2024, 1, 16, 22, 30, 0, 0)),
            Some(5_400)
        );
    }
}
