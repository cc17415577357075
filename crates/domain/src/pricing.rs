//! Model prices and the cost of a request: built-in list prices, admin overrides, lookup by name.
//!
//! A price pattern is an exact model name or a prefix ending in `*`. Unlike a route pattern
//! ([`crate::routing::Pattern`]), a price prefix also matches the bare prefix (`gpt-4o*` prices
//! `gpt-4o` itself), so one entry covers a model, its aliases and its dated snapshots.

use crate::money::Micros;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod builtin;

pub use builtin::{BUILTIN_PRICES_AS_OF, builtin_prices};

/// An admin price override (micro-dollars per million tokens).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// An exact model name, or a prefix ending in `*`.
    pub pattern: String,
    /// Input tokens.
    pub input_per_mtok: Micros,
    /// Output tokens.
    pub output_per_mtok: Micros,
    /// Cached input tokens; `None`: the input price.
    pub cached_input_per_mtok: Option<Micros>,
    /// When it was set.
    pub updated_at: Timestamp,
}

/// Micro-dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_mtok: Micros,
    pub output_per_mtok: Micros,
    /// Prompt tokens read from the provider's cache; `None` bills them at the input price.
    pub cached_input_per_mtok: Option<Micros>,
}

/// Where a price came from (for display and the `unpriced` flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// [`builtin_prices`].
    Builtin,
    /// An override an admin entered.
    Admin,
    /// A deployment's own price fields; set by the caller, never by [`PriceTable`].
    Deployment,
}

/// The longest admin-entered pattern accepted.
pub const MAX_PATTERN_LEN: usize = 200;

/// Prices by pattern. `Default` is the empty table, in which every model is unpriced.
#[derive(Clone, Debug, Default)]
pub struct PriceTable {
    /// Pattern -> price; a `BTreeMap` so listings come out sorted.
    entries: BTreeMap<String, (Price, PriceSource)>,
}

impl PriceTable {
    /// Built-in prices overlaid by admin overrides (same pattern replaces; new patterns add).
    /// Patterns are taken as given: check them with [`validate_pattern`] when they are entered.
    pub fn new(overrides: impl IntoIterator<Item = (String, Price)>) -> PriceTable {
        let mut table = PriceTable::builtin();
        for (pattern, price) in overrides {
            table.entries.insert(pattern, (price, PriceSource::Admin));
        }
        table
    }

    pub fn builtin() -> PriceTable {
        let entries = builtin_prices()
            .iter()
            .map(|&(pattern, price)| (pattern.to_owned(), (price, PriceSource::Builtin)))
            .collect();
        PriceTable { entries }
    }

    /// Exact name first; else the longest matching `prefix*` pattern; a provider prefix such as
    /// `openai/`, `anthropic/`, `azure/`, `gemini/`, `deepseek/`, `mistral/` (anything up to the
    /// first `/`) is also tried stripped. None when unknown.
    ///
    /// In order: an exact match of the full name, an exact match of the stripped name, then the
    /// longest prefix. A prefix matched against the stripped name counts as long as it would be
    /// with the provider prefix in front (`gpt-4o*` on `openai/gpt-4o` ranks as
    /// `openai/gpt-4o*`), so an admin's `openai/*` prices only the `openai/` models nothing more
    /// specific prices; on a tie the pattern written for the full name wins.
    pub fn lookup(&self, model: &str) -> Option<(Price, PriceSource)> {
        let stripped = model
            .split_once('/')
            .map(|(provider, rest)| (provider.len() + 1, rest))
            .filter(|(_, rest)| !rest.is_empty());
        // (name to match, length of the provider prefix removed from it)
        let names = std::iter::once((0, model)).chain(stripped);

        for (_, name) in names.clone() {
            if let Some(&found) = self.entries.get(name) {
                return Some(found);
            }
        }

        let mut best: Option<(usize, Price, PriceSource)> = None;
        for (removed, name) in names {
            for (pattern, &(price, source)) in &self.entries {
                if let Some(prefix) = pattern.strip_suffix('*')
                    && name.starts_with(prefix)
                    && best.is_none_or(|(rank, ..)| removed + prefix.len() > rank)
                {
                    best = Some((removed + prefix.len(), price, source));
                }
            }
        }
        best.map(|(_, price, source)| (price, source))
    }

    /// Every pattern with its price and source, sorted by pattern (for listing in the portal).
    pub fn entries(&self) -> impl Iterator<Item = (&str, Price, PriceSource)> {
        self.entries
            .iter()
            .map(|(pattern, &(price, source))| (pattern.as_str(), price, source))
    }
}

/// Cost of a request in micro-dollars: uncached prompt tokens at the input price, cached tokens
/// at the cached price (input price when none), completion tokens at the output price; computed
/// in i128, divided once by 1_000_000, rounded half up; saturating at i64::MAX. `cached_tokens`
/// greater than `prompt_tokens` is clamped.
pub fn cost(
    price: &Price,
    prompt_tokens: u64,
    completion_tokens: u64,
    cached_tokens: u64,
) -> Micros {
    let cached = cached_tokens.min(prompt_tokens);
    let uncached = prompt_tokens - cached;
    let cached_price = price.cached_input_per_mtok.unwrap_or(price.input_per_mtok);
    // u64 x i64 fits in i128, but the sum of three such products may not: saturate.
    let term =
        |tokens: u64, per_mtok: Micros| i128::from(tokens).saturating_mul(i128::from(per_mtok.0));
    let total = term(uncached, price.input_per_mtok)
        .saturating_add(term(cached, cached_price))
        .saturating_add(term(completion_tokens, price.output_per_mtok));
    // Floor division of (total + half): half up, also for a (nonsensical) negative price.
    let rounded = total.saturating_add(500_000).div_euclid(1_000_000);
    Micros(i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX }))
}

/// Validation for admin-entered patterns: non-empty, <= 200 chars, printable ASCII without
/// whitespace, at most one `*` and only at the end. `*` alone prices every otherwise unknown model.
pub fn validate_pattern(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("enter a model name or a pattern such as `gpt-4o*`".to_owned());
    }
    if !p.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a model pattern uses printable ASCII characters and no spaces".to_owned());
    }
    if p.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "a model pattern has at most {MAX_PATTERN_LEN} characters"
        ));
    }
    match p.find('*') {
        Some(i) if i + 1 != p.len() => {
            Err("`*` may appear once, at the end of a pattern, as in `gpt-4o*`".to_owned())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A price whose three figures are distinct, so a wrong match shows.
    fn price(input: i64) -> Price {
        Price {
            input_per_mtok: Micros(input),
            output_per_mtok: Micros(input * 2),
            cached_input_per_mtok: None,
        }
    }

    fn admin(pairs: &[(&str, Price)]) -> PriceTable {
        PriceTable::new(pairs.iter().map(|&(p, price)| (p.to_owned(), price)))
    }

    // Made-up model names, so the cases do not depend on the built-in list.
    const A: i64 = 1;
    const B: i64 = 2;
    const C: i64 = 3;
    const D: i64 = 4;
    const E: i64 = 5;

    fn acme() -> Vec<(&'static str, Price)> {
        vec![
            ("acme-1*", price(A)),
            ("acme-1-mini*", price(B)),
            ("acme-1-mini-2025", price(C)),
            ("acme/*", price(D)),
        ]
    }

    fn found(t: &PriceTable, model: &str) -> Option<i64> {
        t.lookup(model).map(|(p, _)| p.input_per_mtok.0)
    }

    #[test]
    fn exact_name_beats_any_prefix() {
        let t = admin(&acme());
        assert_eq!(found(&t, "acme-1-mini-2025"), Some(C));
        // One character more and it is only a prefix match again.
        assert_eq!(found(&t, "acme-1-mini-20251"), Some(B));
    }

    #[test]
    fn longest_prefix_wins_and_a_prefix_matches_itself() {
        let t = admin(&acme());
        assert_eq!(found(&t, "acme-1-mini-2026"), Some(B));
        assert_eq!(found(&t, "acme-1-mini"), Some(B));
        assert_eq!(found(&t, "acme-1-large"), Some(A));
        assert_eq!(found(&t, "acme-1"), Some(A));
        assert_eq!(found(&t, "acme-"), None, "shorter than every pattern");
        // The order overrides arrive in does not matter.
        let mut reversed = acme();
        reversed.reverse();
        let r = admin(&reversed);
        for m in ["acme-1-mini-2026", "acme-1-large", "acme-1-mini-2025"] {
            assert_eq!(found(&r, m), found(&t, m), "{m}");
        }
    }

    #[test]
    fn provider_prefix_is_also_tried_stripped() {
        let t = admin(&acme());
        // Exact on the stripped name beats the full name's `acme/*`.
        assert_eq!(found(&t, "azure/acme-1-mini-2025"), Some(C));
        assert_eq!(found(&t, "acme/acme-1-mini-2025"), Some(C));
        // `acme-1-mini*` on the stripped name ranks as `acme/acme-1-mini*` (16), beating `acme/*` (5).
        assert_eq!(found(&t, "acme/acme-1-mini-x"), Some(B));
        // Nothing more specific: the provider-wide pattern applies.
        assert_eq!(found(&t, "acme/other"), Some(D));
        // Only the first segment is stripped.
        assert_eq!(found(&t, "router/azure/acme-1-mini-2025"), None);
        assert_eq!(found(&t, "openai/"), None);
        assert_eq!(found(&t, "/"), None);
    }

    #[test]
    fn on_a_tie_the_full_name_pattern_wins() {
        let mut pairs = acme();
        pairs.push(("acme/acme-1*", price(E)));
        let t = admin(&pairs);
        // `acme/acme-1*` (11) against `acme-1*` on the stripped name (5 + 6 = 11).
        assert_eq!(found(&t, "acme/acme-1-x"), Some(E));
        // A longer stripped match still wins: `acme-1-mini*` ranks 16.
        assert_eq!(found(&t, "acme/acme-1-mini-x"), Some(B));
    }

    #[test]
    fn unknown_models_are_unpriced() {
        let t = PriceTable::builtin();
        for m in [
            "no-such-model",
            "",
            "acme-1",
            "openai/no-such-model",
            "gpt-",
        ] {
            assert_eq!(t.lookup(m), None, "{m:?}");
        }
        assert_eq!(PriceTable::default().lookup("gpt-4o"), None);
        assert_eq!(PriceTable::default().entries().count(), 0);
    }

    #[test]
    fn a_catch_all_prices_only_what_nothing_else_prices() {
        let t = admin(&[("*", price(E))]);
        assert_eq!(found(&t, "no-such-model"), Some(E));
        assert_eq!(
            t.lookup("openai/gpt-4o").map(|(_, s)| s),
            Some(PriceSource::Builtin)
        );
    }

    #[test]
    fn overrides_replace_or_add() {
        let builtin_count = builtin_prices().len();
        let replaced = admin(&[("gpt-4o*", price(E))]);
        assert_eq!(replaced.entries().count(), builtin_count);
        assert_eq!(
            replaced.lookup("gpt-4o-2024-08-06"),
            Some((price(E), PriceSource::Admin))
        );
        // The longer built-in pattern still wins for the mini model.
        assert_eq!(
            replaced.lookup("gpt-4o-mini").map(|(_, s)| s),
            Some(PriceSource::Builtin)
        );
        let added = admin(&acme());
        assert_eq!(added.entries().count(), builtin_count + 4);
        assert_eq!(added.lookup("acme-1"), Some((price(A), PriceSource::Admin)));
    }

    #[test]
    fn entries_are_sorted_and_carry_their_source() {
        let t = admin(&acme());
        let patterns: Vec<&str> = t.entries().map(|(p, ..)| p).collect();
        let mut sorted = patterns.clone();
        sorted.sort_unstable();
        assert_eq!(patterns, sorted);
        let sources: Vec<PriceSource> = t
            .entries()
            .filter(|(p, ..)| p.starts_with("acme"))
            .map(|(_, _, s)| s)
            .collect();
        assert_eq!(sources, vec![PriceSource::Admin; 4]);
        assert!(
            t.entries()
                .filter(|(p, ..)| !p.starts_with("acme"))
                .all(|(_, _, s)| s == PriceSource::Builtin)
        );
    }

    /// $2.50 in, $10.00 out, $1.25 cached, per million tokens.
    const P: Price = Price {
        input_per_mtok: Micros(2_500_000),
        output_per_mtok: Micros(10_000_000),
        cached_input_per_mtok: Some(Micros(1_250_000)),
    };

    #[test]
    fn cost_of_prompt_and_completion() {
        // 1000 x $2.50/M = $0.0025; 500 x $10/M = $0.005; total $0.0075 = 7_500 micros.
        assert_eq!(cost(&P, 1_000, 500, 0), Micros(7_500));
        assert_eq!(cost(&P, 0, 0, 0), Micros(0));
        // 1M completion tokens alone cost exactly the output price.
        assert_eq!(cost(&P, 0, 1_000_000, 0), Micros(10_000_000));
    }

    #[test]
    fn cached_tokens_use_the_cached_price() {
        // 600 x $2.50/M = 1_500 micros; 400 x $1.25/M = 500 micros.
        assert_eq!(cost(&P, 1_000, 0, 400), Micros(2_000));
        // No cached price: all 1000 at $3/M = 3_000 micros.
        let no_cache = Price {
            input_per_mtok: Micros(3_000_000),
            output_per_mtok: Micros(15_000_000),
            cached_input_per_mtok: None,
        };
        assert_eq!(cost(&no_cache, 1_000, 0, 400), Micros(3_000));
        // More cached than prompt tokens: clamped, so 100 x $1.25/M = 125 micros.
        assert_eq!(cost(&P, 100, 0, 500), Micros(125));
    }

    #[test]
    fn rounds_half_up_once() {
        // One micro-dollar per million tokens: N tokens cost N / 1_000_000 micros.
        let one = Price {
            input_per_mtok: Micros(1),
            output_per_mtok: Micros(1),
            cached_input_per_mtok: None,
        };
        assert_eq!(cost(&one, 499_999, 0, 0), Micros(0)); // 0.499999
        assert_eq!(cost(&one, 500_000, 0, 0), Micros(1)); // 0.5 rounds up
        assert_eq!(cost(&one, 999_999, 0, 0), Micros(1)); // 0.999999
        assert_eq!(cost(&one, 1_499_999, 0, 0), Micros(1)); // 1.499999
        assert_eq!(cost(&one, 1_500_000, 0, 0), Micros(2)); // 1.5 rounds up
        // 0.3 + 0.3 = 0.6 -> 1; rounding each part first would give 0.
        assert_eq!(cost(&one, 300_000, 300_000, 0), Micros(1));
    }

    #[test]
    fn large_numbers_saturate() {
        let dollar = Price {
            input_per_mtok: Micros(1_000_000),
            output_per_mtok: Micros(1_000_000),
            cached_input_per_mtok: None,
        };
        // $1 per million tokens is one micro per token: exact up to i64::MAX ...
        let max = i64::MAX.unsigned_abs();
        assert_eq!(cost(&dollar, max, 0, 0), Micros(i64::MAX));
        assert_eq!(cost(&dollar, max - 1, 0, 0), Micros(i64::MAX - 1));
        // ... and saturating beyond it.
        assert_eq!(cost(&dollar, max, 1, 0), Micros(i64::MAX));
        let huge = Price {
            input_per_mtok: Micros(i64::MAX),
            output_per_mtok: Micros(i64::MAX),
            cached_input_per_mtok: Some(Micros(i64::MAX)),
        };
        // Each product is close to i128::MAX; their sum would overflow i128.
        assert_eq!(
            cost(&huge, u64::MAX, u64::MAX, u64::MAX / 2),
            Micros(i64::MAX)
        );
    }

    #[test]
    fn pattern_validation() {
        for ok in ["gpt-4o", "gpt-4o*", "*", "openai/*", "a:b@c_1.2"] {
            assert_eq!(validate_pattern(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(validate_pattern(&"a".repeat(200)), Ok(()));
        let bad = [
            String::new(),
            "a".repeat(201),
            "gpt 4o".to_owned(),
            "gpt-4o\t".to_owned(),
            " gpt-4o".to_owned(),
            "gpt-\u{f6}".to_owned(),
            "gpt\u{7f}".to_owned(),
            "a*b".to_owned(),
            "*a".to_owned(),
            "**".to_owned(),
            "a**".to_owned(),
        ];
        for b in bad {
            assert!(validate_pattern(&b).is_err(), "{b:?}");
        }
    }

    #[test]
    fn serde_shapes() {
        let json = serde_json::to_string(&PriceSource::Deployment).unwrap();
        assert_eq!(json, "\"deployment\"");
        let p: Price = serde_json::from_str(
            r#"{"input_per_mtok":2500000,"output_per_mtok":10000000,"cached_input_per_mtok":1250000}"#,
        )
        .unwrap();
        assert_eq!(p, P);
        let unknown =
            r#"{"input_per_mtok":1,"output_per_mtok":1,"cached_input_per_mtok":null,"x":1}"#;
        assert!(serde_json::from_str::<Price>(unknown).is_err());
    }
}
