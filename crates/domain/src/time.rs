//! Timestamps as UTC milliseconds since the Unix epoch, the same integer in both databases.
//!
//! Calendar arithmetic is done here (civil dates from day numbers) so the wasm portal and the
//! server format and bucket time identically without a time-zone database.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

pub const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
pub const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
pub const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

impl Timestamp {
    /// The current time, from the system clock (server side only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn now() -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_millis(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// The civil date and time in UTC.
    pub fn to_civil(self) -> Civil {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (ms_of_day / MS_PER_HOUR) as u32,
            minute: ((ms_of_day % MS_PER_HOUR) / MS_PER_MINUTE) as u32,
            second: ((ms_of_day % MS_PER_MINUTE) / MS_PER_SECOND) as u32,
        }
    }

    /// Midnight UTC of the day this instant falls in.
    pub fn start_of_day(self) -> Timestamp {
        Timestamp(self.0.div_euclid(MS_PER_DAY) * MS_PER_DAY)
    }

    /// `2026-11-22 03:35 UTC`
    pub fn display_minutes(self) -> String {
        let c = self.to_civil();
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            c.year, c.month, c.day, c.hour, c.minute
        )
    }
}

impl Timestamp {
    /// `2026-11-22`
    pub fn display_date(self) -> String {
        let c = self.to_civil();
        format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
    }

    /// Reads a time as people and scripts write it: milliseconds since the epoch (`1732240000000`),
    /// a UTC date (`2026-11-22`, meaning its midnight), or an RFC 3339 time in UTC
    /// (`2026-11-22T03:35Z`, `2026-11-22T03:35:46Z`; the `Z` may be left out). `None` otherwise.
    pub fn parse(input: &str) -> Option<Timestamp> {
        let s = input.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() > 8 {
            return s.parse::<i64>().ok().map(Timestamp);
        }
        let (date, time) = match s.split_once(['T', ' ']) {
            Some((d, t)) => (d, Some(t.strip_suffix('Z').unwrap_or(t))),
            None => (s, None),
        };
        let mut parts = date.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let number = |t: &str| -> Option<u32> {
            (t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok())?
        };
        let (year, month, day) = (i64::from(number(y)?), number(m)?, number(d)?);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let mut ms = days_from_civil(year, month, day) * MS_PER_DAY;
        if let Some(t) = time {
            let mut hms = t.split(':');
            let h = number(hms.next().filter(|x| x.len() == 2)?)?;
            let min = number(hms.next().filter(|x| x.len() == 2)?)?;
            let sec = match hms.next() {
                Some(x) if x.len() == 2 => number(x)?,
                Some(_) => return None,
                None => 0,
            };
            if hms.next().is_some() || h > 23 || min > 59 || sec > 59 {
                return None;
            }
            ms += i64::from(h) * MS_PER_HOUR
                + i64::from(min) * MS_PER_MINUTE
                + i64::from(sec) * MS_PER_SECOND;
        }
        Some(Timestamp(ms))
    }
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with seconds: `2026-11-22T03:35:46Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.to_civil();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

/// A UTC calendar date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01; the inverse of [`civil_from_days`].
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        // 2024-02-29T12:34:56Z, a leap day.
        assert_eq!(
            Timestamp(1_709_210_096_000).to_string(),
            "2024-02-29T12:34:56Z"
        );
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn civil_round_trips_over_four_centuries() {
        for days in (-200_000..200_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn parses_dates_times_and_milliseconds() {
        let t = Timestamp(1_709_210_096_000);
        assert_eq!(Timestamp::parse("2024-02-29T12:34:56Z"), Some(t));
        assert_eq!(Timestamp::parse("2024-02-29 12:34:56"), Some(t));
        assert_eq!(Timestamp::parse("1709210096000"), Some(t));
        assert_eq!(Timestamp::parse("2024-02-29"), Some(t.start_of_day()));
        assert_eq!(
            Timestamp::parse("2024-02-29T12:34Z"),
            Some(Timestamp(1_709_210_040_000))
        );
        assert_eq!(t.display_date(), "2024-02-29");
        for bad in [
            "",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-01",
            "24-01-01",
            "2024-01-01T24:00Z",
            "2024-01-01T12:60Z",
            "2024-01-01T1:00",
            "yesterday",
            "2024-01-01T12:00:00+02:00",
            "-5",
            "1e12",
            "2024-01-01-01",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn start_of_day_truncates_in_utc() {
        let t = Timestamp(1_709_210_096_000);
        assert_eq!(t.start_of_day().to_string(), "2024-02-29T00:00:00Z");
        assert_eq!(t.display_minutes(), "2024-02-29 12:34 UTC");
    }
}
