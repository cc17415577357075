//! Money as integer micro-dollars: no float drift in budgets or spend.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in millionths of a US dollar.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Micros(pub i64);

impl Micros {
    pub const ZERO: Micros = Micros(0);
    pub const PER_DOLLAR: i64 = 1_000_000;

    pub fn from_dollars_str(s: &str) -> Result<Micros, MoneyError> {
        parse_dollars(s)
    }

    pub fn saturating_add(self, other: Micros) -> Micros {
        Micros(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Micros {
    /// `$12.34` for whole cents, more digits only when the amount needs them (`$0.000150`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let dollars = abs / 1_000_000;
        let frac = abs % 1_000_000;
        if frac.is_multiple_of(10_000) {
            write!(f, "{sign}${dollars}.{:02}", frac / 10_000)
        } else {
            let digits = format!("{frac:06}");
            write!(f, "{sign}${dollars}.{}", digits.trim_end_matches('0'))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("enter an amount in dollars, such as 25 or 12.50")]
    Malformed,
    #[error("amounts have at most 6 decimal places")]
    TooPrecise,
    #[error("the amount is too large")]
    TooLarge,
}

/// Parses `12`, `12.5`, `$12.50`, `0.000001`; no exponent, no thousands separators.
fn parse_dollars(input: &str) -> Result<Micros, MoneyError> {
    let s = input.trim();
    let s = s.strip_prefix('$').unwrap_or(s);
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return Err(MoneyError::Malformed);
    }
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return Err(MoneyError::Malformed);
    }
    if frac.len() > 6 {
        return Err(MoneyError::TooPrecise);
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| MoneyError::TooLarge)?
    };
    let frac_micros: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}")
            .parse()
            .map_err(|_| MoneyError::Malformed)?
    };
    let total = whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(frac_micros))
        .ok_or(MoneyError::TooLarge)?;
    Ok(Micros(if negative { -total } else { total }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dollar_amounts() {
        assert_eq!(Micros::from_dollars_str("12").unwrap(), Micros(12_000_000));
        assert_eq!(
            Micros::from_dollars_str("$12.5").unwrap(),
            Micros(12_500_000)
        );
        assert_eq!(Micros::from_dollars_str("0.000001").unwrap(), Micros(1));
        assert_eq!(Micros::from_dollars_str(".25").unwrap(), Micros(250_000));
        assert_eq!(Micros::from_dollars_str("-3").unwrap(), Micros(-3_000_000));
    }

    #[test]
    fn rejects_malformed_amounts() {
        for bad in ["", ".", "abc", "1e5", "1,000", "1.2.3", "$", " - "] {
            assert_eq!(
                Micros::from_dollars_str(bad),
                Err(MoneyError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            Micros::from_dollars_str("0.0000001"),
            Err(MoneyError::TooPrecise)
        );
        assert_eq!(
            Micros::from_dollars_str("99999999999999999999"),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            Micros::from_dollars_str("9223372036855"),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn displays_cents_or_more_digits() {
        assert_eq!(Micros(12_500_000).to_string(), "$12.50");
        assert_eq!(Micros(0).to_string(), "$0.00");
        assert_eq!(Micros(150).to_string(), "$0.00015");
        assert_eq!(Micros(-1_010_000).to_string(), "-$1.01");
    }
}
