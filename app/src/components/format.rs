//! Numbers for people (thousands separators, dollars with cents, milliseconds and seconds) and
//! the small URL helpers the analytics pages build their links with.

use crate::error::AppError;
use tollgate_domain::Micros;

/// `1234567` as `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Dollars with cents and thousands separators: `$1,234.56`; small amounts keep the digits
/// they need (`$0.00015`), so a cheap request never reads as free.
pub fn money(m: Micros) -> String {
    let text = m.to_string();
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text.as_str()),
    };
    let rest = rest.strip_prefix('$').unwrap_or(rest);
    let (whole, frac) = rest.split_once('.').unwrap_or((rest, "00"));
    let whole = whole
        .parse::<i64>()
        .map(thousands)
        .unwrap_or_else(|_| whole.to_owned());
    format!("{sign}${whole}.{frac}")
}

/// An amount as a form field holds it: `12.50`, no `$` and no separators, so it reads back
/// as the same amount.
pub fn dollars_input(m: Micros) -> String {
    let text = m.to_string();
    text.replacen('$', "", 1)
}

/// A latency: `—` when unknown, `420 ms`, `1.25 s`, `12.5 s`, `2.1 min`.
pub fn duration_ms(ms: Option<i64>) -> String {
    match ms {
        None => "—".to_owned(),
        Some(ms) if ms < 1_000 => format!("{ms} ms"),
        Some(ms) if ms < 10_000 => format!("{:.2} s", ms as f64 / 1_000.0),
        Some(ms) if ms < 60_000 => format!("{:.1} s", ms as f64 / 1_000.0),
        Some(ms) => format!("{:.1} min", ms as f64 / 60_000.0),
    }
}

/// A share from 0 to 1 as a percentage: `—` when there is nothing to divide, `0%`, `<0.1%`,
/// `2.5%`, `100%`.
pub fn percent(rate: Option<f64>) -> String {
    match rate {
        None => "—".to_owned(),
        Some(r) if r <= 0.0 => "0%".to_owned(),
        Some(r) if r < 0.001 => "<0.1%".to_owned(),
        Some(r) if r >= 1.0 => "100%".to_owned(),
        Some(r) => format!("{:.1}%", r * 100.0),
    }
}

/// A compact number for axis ticks: `950`, `1.2k`, `12k`, `3.4M`, `0.5`.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    if a >= 1e9 {
        format!("{}B", trim(format!("{:.1}", v / 1e9)))
    } else if a >= 1e6 {
        format!("{}M", trim(format!("{:.1}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.0}", v / 1e3)))
    } else if a >= 1e3 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a >= 1.0 || a == 0.0 {
        trim(format!("{v:.0}"))
    } else {
        trim(format!("{v:.2}"))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so any value (a model
/// name with `/`, a CSV body with commas and line breaks) is safe in a query or a `data:` URL.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&...` from pairs, leaving out empty values; just `path` when none remain.
pub fn link(path: &str, pairs: &[(&str, String)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// A server function's error as a sentence that names the field it is about.
pub fn error_text(e: &AppError) -> String {
    match e {
        AppError::Invalid(f) => {
            let mut field = f.field.replace('_', " ");
            if let Some(first) = field.get(..1) {
                field = format!("{}{}", first.to_uppercase(), &field[1..]);
            }
            let message = f.message.trim_end_matches('.');
            if message.to_lowercase().starts_with(&field.to_lowercase()) {
                format!("{message}.")
            } else {
                format!("{field}: {message}.")
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(money(Micros(1_234_560_000)), "$1,234.56");
        assert_eq!(money(Micros(150)), "$0.00015");
        assert_eq!(money(Micros(0)), "$0.00");
        assert_eq!(money(Micros(-2_500_000)), "-$2.50");
        assert_eq!(duration_ms(None), "—");
        assert_eq!(duration_ms(Some(420)), "420 ms");
        assert_eq!(duration_ms(Some(1_250)), "1.25 s");
        assert_eq!(percent(Some(0.025)), "2.5%");
        assert_eq!(percent(None), "—");
        assert_eq!(compact(1_200.0), "1.2k");
        assert_eq!(compact(25_000.0), "25k");
        assert_eq!(compact(3_400_000.0), "3.4M");
        assert_eq!(compact(0.0), "0");
    }

    #[test]
    fn encodes_urls() {
        assert_eq!(url_encode("openai/gpt-4o mini"), "openai%2Fgpt-4o%20mini");
        assert_eq!(url_encode("a,b\r\n"), "a%2Cb%0D%0A");
        assert_eq!(
            link(
                "/spend",
                &[("range", "month".into()), ("model", String::new())]
            ),
            "/spend?range=month"
        );
        assert_eq!(link("/logs", &[]), "/logs");
        let e = AppError::invalid("to", "must be after `from`");
        assert_eq!(error_text(&e), "To: must be after `from`.");
    }
}
