//! Reading the portal's forms as typed: every input arrives as text, empty meaning "not set".
//! Each reader names the field of a value that does not parse; the rules on the values are the
//! domain's.

use crate::error::AppError;
use tollgate_domain::{Micros, Timestamp};

/// The trimmed value, or `None` when empty.
pub fn set(v: &str) -> Option<&str> {
    Some(v.trim()).filter(|v| !v.is_empty())
}

/// A whole number.
pub fn whole<T: std::str::FromStr>(field: &str, v: &str) -> Result<Option<T>, AppError> {
    set(v)
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| AppError::invalid(field, "a whole number"))
        })
        .transpose()
}

/// Dollars, such as `25` or `12.50`.
pub fn dollars(field: &str, v: &str) -> Result<Option<Micros>, AppError> {
    set(v)
        .map(|d| {
            Micros::from_dollars_str(d)
                .map_err(|e| AppError::invalid(field, format!("dollars such as 25 or 12.50 ({e})")))
        })
        .transpose()
}

/// A date such as `2027-01-31` (the start of that day, UTC).
pub fn date(field: &str, v: &str) -> Result<Option<Timestamp>, AppError> {
    set(v)
        .map(|d| {
            Timestamp::parse(d).ok_or_else(|| AppError::invalid(field, "a date such as 2027-01-31"))
        })
        .transpose()
}

/// A comma-separated list; `None` when it names nothing.
pub fn list(v: &str) -> Option<Vec<String>> {
    let items: Vec<String> = v
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    (!items.is_empty()).then_some(items)
}

/// An id.
pub fn id<T: std::str::FromStr>(
    field: &str,
    v: &str,
    missing: &str,
) -> Result<Option<T>, AppError> {
    set(v)
        .map(|t| t.parse().map_err(|_| AppError::invalid(field, missing)))
        .transpose()
}
