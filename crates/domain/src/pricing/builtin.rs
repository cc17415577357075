//! The built-in list prices: a starting point that admins override, not a source of truth.
//!
//! Figures are the providers' public list prices per million text tokens, standard (not batch,
//! not priority) tier, as known on [`BUILTIN_PRICES_AS_OF`]. Providers change prices and add
//! models often: review this list against their price pages before relying on it, and override
//! any figure that differs (an admin override replaces the built-in entry with the same pattern).
//!
//! A family pattern such as `gpt-5*` also catches point releases not listed here (`gpt-5.1`) at
//! the family's price; more specific patterns win (`gpt-5-mini*` over `gpt-5*`). Audio, image
//! and realtime-audio tokens, cache writes and storage are not modelled; only text tokens are.

use super::Price;
use crate::money::Micros;

/// The date the built-in figures were taken from the providers' public price pages.
///
/// Month precision, because the figures are from memory of those pages as of late 2025, not
/// from a dated copy of them: admins override them and they must be reviewed.
pub const BUILTIN_PRICES_AS_OF: &str = "2025-11";

/// Built-in list prices: (model name or pattern, price). Patterns end in `*` (prefix match).
pub fn builtin_prices() -> &'static [(&'static str, Price)] {
    BUILTIN
}

/// Input, output and cached-input prices in micro-dollars per million tokens
/// (`2_500_000` is $2.50 per million tokens).
const fn p(input: i64, output: i64, cached_input: Option<i64>) -> Price {
    Price {
        input_per_mtok: Micros(input),
        output_per_mtok: Micros(output),
        cached_input_per_mtok: match cached_input {
            Some(c) => Some(Micros(c)),
            None => None,
        },
    }
}

static BUILTIN: &[(&str, Price)] = &[
    // OpenAI. Dated snapshots are `name-YYYY-MM-DD`; a snapshot priced differently from its
    // family is listed by its exact name.
    ("gpt-5*", p(1_250_000, 10_000_000, Some(125_000))),
    ("gpt-5-mini*", p(250_000, 2_000_000, Some(25_000))),
    ("gpt-5-nano*", p(50_000, 400_000, Some(5_000))),
    ("gpt-5-pro*", p(15_000_000, 120_000_000, None)),
    ("gpt-4.1*", p(2_000_000, 8_000_000, Some(500_000))),
    ("gpt-4.1-mini*", p(400_000, 1_600_000, Some(100_000))),
    ("gpt-4.1-nano*", p(100_000, 400_000, Some(25_000))),
    (
        "gpt-4.5-preview*",
        p(75_000_000, 150_000_000, Some(37_500_000)),
    ),
    ("gpt-4o*", p(2_500_000, 10_000_000, Some(1_250_000))),
    ("gpt-4o-2024-05-13", p(5_000_000, 15_000_000, None)),
    (
        "gpt-4o-realtime-preview*",
        p(5_000_000, 20_000_000, Some(2_500_000)),
    ),
    ("gpt-4o-mini*", p(150_000, 600_000, Some(75_000))),
    (
        "gpt-4o-mini-realtime-preview*",
        p(600_000, 2_400_000, Some(300_000)),
    ),
    ("chatgpt-4o-latest", p(5_000_000, 15_000_000, None)),
    ("o1*", p(15_000_000, 60_000_000, Some(7_500_000))),
    ("o1-mini*", p(1_100_000, 4_400_000, Some(550_000))),
    ("o1-pro*", p(150_000_000, 600_000_000, None)),
    // o3 after OpenAI's June 2025 price cut (it launched at $10 / $40).
    ("o3*", p(2_000_000, 8_000_000, Some(500_000))),
    ("o3-mini*", p(1_100_000, 4_400_000, Some(550_000))),
    ("o3-pro*", p(20_000_000, 80_000_000, None)),
    (
        "o3-deep-research*",
        p(10_000_000, 40_000_000, Some(2_500_000)),
    ),
    ("o4-mini*", p(1_100_000, 4_400_000, Some(275_000))),
    (
        "o4-mini-deep-research*",
        p(2_000_000, 8_000_000, Some(500_000)),
    ),
    ("gpt-4-turbo*", p(10_000_000, 30_000_000, None)),
    ("gpt-4-0125-preview", p(10_000_000, 30_000_000, None)),
    ("gpt-4-1106-preview", p(10_000_000, 30_000_000, None)),
    ("gpt-4", p(30_000_000, 60_000_000, None)),
    ("gpt-4-0613", p(30_000_000, 60_000_000, None)),
    ("gpt-4-32k*", p(60_000_000, 120_000_000, None)),
    // The current `gpt-3.5-turbo` (0125); older snapshots were dearer.
    ("gpt-3.5-turbo*", p(500_000, 1_500_000, None)),
    ("gpt-3.5-turbo-instruct*", p(1_500_000, 2_000_000, None)),
    ("text-embedding-3-small", p(20_000, 0, None)),
    ("text-embedding-3-large", p(130_000, 0, None)),
    ("text-embedding-ada-002", p(100_000, 0, None)),
    // Anthropic. Cached input is the cache-read price (0.1x input); cache writes are not
    // modelled. Sonnet 4 and 4.5 with prompts over 200K tokens bill a higher tier; base tier here.
    ("claude-opus-4*", p(15_000_000, 75_000_000, Some(1_500_000))),
    ("claude-opus-4-5*", p(5_000_000, 25_000_000, Some(500_000))),
    ("claude-sonnet-4*", p(3_000_000, 15_000_000, Some(300_000))),
    ("claude-haiku-4-5*", p(1_000_000, 5_000_000, Some(100_000))),
    (
        "claude-3-7-sonnet*",
        p(3_000_000, 15_000_000, Some(300_000)),
    ),
    (
        "claude-3-5-sonnet*",
        p(3_000_000, 15_000_000, Some(300_000)),
    ),
    ("claude-3-5-haiku*", p(800_000, 4_000_000, Some(80_000))),
    ("claude-3-opus*", p(15_000_000, 75_000_000, Some(1_500_000))),
    ("claude-3-sonnet*", p(3_000_000, 15_000_000, None)),
    ("claude-3-haiku*", p(250_000, 1_250_000, Some(30_000))),
    // Google Gemini, paid tier. Pro models bill prompts over 200K tokens (128K for 1.5) at a
    // higher tier: the base tier is used here. Cached input is the context-caching price.
    // The 2.5 Flash preview snapshots (2025-04/05) were priced differently from the GA model.
    ("gemini-3-pro*", p(2_000_000, 12_000_000, Some(200_000))),
    ("gemini-2.5-pro*", p(1_250_000, 10_000_000, Some(125_000))),
    ("gemini-2.5-flash*", p(300_000, 2_500_000, Some(30_000))),
    ("gemini-2.5-flash-lite*", p(100_000, 400_000, Some(10_000))),
    ("gemini-2.0-flash*", p(100_000, 400_000, Some(25_000))),
    ("gemini-2.0-flash-lite*", p(75_000, 300_000, None)),
    ("gemini-1.5-pro*", p(1_250_000, 5_000_000, Some(312_500))),
    ("gemini-1.5-flash*", p(75_000, 300_000, Some(18_750))),
    ("gemini-1.5-flash-8b*", p(37_500, 150_000, Some(10_000))),
    // DeepSeek (V3.2 prices from September 2025; both names serve the same model). Cached input
    // is the cache-hit price.
    ("deepseek-chat", p(280_000, 420_000, Some(28_000))),
    ("deepseek-reasoner", p(280_000, 420_000, Some(28_000))),
    // Mistral. No cached-input price.
    ("mistral-large*", p(2_000_000, 6_000_000, None)),
    ("mistral-medium*", p(400_000, 2_000_000, None)),
    ("mistral-small*", p(100_000, 300_000, None)),
    ("magistral-medium*", p(2_000_000, 5_000_000, None)),
    ("magistral-small*", p(500_000, 1_500_000, None)),
    ("codestral*", p(300_000, 900_000, None)),
    ("codestral-embed*", p(150_000, 0, None)),
    ("devstral-medium*", p(400_000, 2_000_000, None)),
    ("devstral-small*", p(100_000, 300_000, None)),
    ("ministral-8b*", p(100_000, 100_000, None)),
    ("ministral-3b*", p(40_000, 40_000, None)),
    ("pixtral-large*", p(2_000_000, 6_000_000, None)),
    ("pixtral-12b*", p(150_000, 150_000, None)),
    ("open-mistral-nemo*", p(150_000, 150_000, None)),
    ("mistral-embed", p(100_000, 0, None)),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{PriceSource, PriceTable, cost, validate_pattern};
    use std::collections::BTreeSet;

    #[test]
    fn every_pattern_is_valid_and_unique() {
        let mut seen = BTreeSet::new();
        for (pattern, _) in builtin_prices() {
            assert_eq!(validate_pattern(pattern), Ok(()), "{pattern}");
            assert!(seen.insert(*pattern), "{pattern} is listed twice");
        }
        assert!(
            seen.len() > 50,
            "the list is unexpectedly short: {}",
            seen.len()
        );
    }

    #[test]
    fn every_price_is_sane() {
        for (pattern, price) in builtin_prices() {
            assert!(price.input_per_mtok.0 > 0, "{pattern}");
            assert!(price.output_per_mtok.0 >= 0, "{pattern}");
            if let Some(cached) = price.cached_input_per_mtok {
                assert!(cached.0 > 0 && cached < price.input_per_mtok, "{pattern}");
            }
        }
    }

    #[test]
    fn every_entry_is_reachable() {
        // Each entry prices its own stem and a dated snapshot of it; a duplicate or a shadowing
        // pattern would make one of these resolve elsewhere.
        let t = PriceTable::builtin();
        for &(pattern, price) in builtin_prices() {
            let stem = pattern.trim_end_matches('*');
            assert_eq!(
                t.lookup(stem),
                Some((price, PriceSource::Builtin)),
                "{pattern}"
            );
            if pattern.ends_with('*') {
                let dated = format!("{stem}-2099-12-31");
                assert_eq!(t.lookup(&dated).map(|(p, _)| p), Some(price), "{dated}");
            }
        }
    }

    #[test]
    fn as_of_is_a_year_and_month() {
        let (y, m) = BUILTIN_PRICES_AS_OF.split_once('-').unwrap_or(("", ""));
        assert_eq!(y.len(), 4);
        assert!(y.bytes().all(|b| b.is_ascii_digit()));
        let m: u32 = m.parse().unwrap();
        assert!((1..=12).contains(&m));
    }

    /// The input and output list prices of real snapshot names, in dollars per million tokens as
    /// written on the providers' pages; each checks that the longest pattern wins.
    #[test]
    fn snapshots_resolve_to_their_own_model() {
        let cases = [
            ("gpt-4o-2024-08-06", "2.50", "10"),
            ("gpt-4o-2024-05-13", "5", "15"),
            ("gpt-4o-mini-2024-07-18", "0.15", "0.60"),
            ("openai/gpt-4o-mini", "0.15", "0.60"),
            ("gpt-4.1-nano-2025-04-14", "0.10", "0.40"),
            ("gpt-4.1-mini-2025-04-14", "0.40", "1.60"),
            ("gpt-5-mini-2025-08-07", "0.25", "2"),
            ("gpt-5-2025-08-07", "1.25", "10"),
            ("o1-mini-2024-09-12", "1.10", "4.40"),
            ("o1-2024-12-17", "15", "60"),
            ("o3-mini-2025-01-31", "1.10", "4.40"),
            ("o3-2025-04-16", "2", "8"),
            ("gpt-3.5-turbo-0125", "0.50", "1.50"),
            ("gpt-4-turbo-2024-04-09", "10", "30"),
            ("claude-3-5-sonnet-20241022", "3", "15"),
            ("anthropic/claude-3-5-haiku-20241022", "0.80", "4"),
            ("claude-3-haiku-20240307", "0.25", "1.25"),
            ("claude-opus-4-1-20250805", "15", "75"),
            ("claude-opus-4-5-20251101", "5", "25"),
            ("claude-sonnet-4-20250514", "3", "15"),
            ("gemini/gemini-2.5-flash-lite", "0.10", "0.40"),
            ("gemini-2.5-flash", "0.30", "2.50"),
            ("gemini-1.5-flash-8b-001", "0.0375", "0.15"),
            ("gemini-2.0-flash-lite-001", "0.075", "0.30"),
            ("deepseek/deepseek-chat", "0.28", "0.42"),
            ("mistral/mistral-large-2411", "2", "6"),
            ("codestral-2501", "0.30", "0.90"),
        ];
        let t = PriceTable::builtin();
        for (model, input, output) in cases {
            let (price, _) = t.lookup(model).unwrap();
            // One million tokens cost exactly the per-million price.
            let dollars = |s| Micros::from_dollars_str(s).unwrap();
            assert_eq!(
                cost(&price, 1_000_000, 0, 0),
                dollars(input),
                "{model} input"
            );
            assert_eq!(
                cost(&price, 0, 1_000_000, 0),
                dollars(output),
                "{model} output"
            );
        }
    }
}
