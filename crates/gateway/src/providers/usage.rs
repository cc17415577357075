//! Token usage as each provider reports it, and conversions between the two shapes.
//!
//! `Usage::prompt_tokens` counts every input token, cached or not (OpenAI's convention).
//! Anthropic reports uncached input, cache reads and cache writes apart; they are summed.

use super::Usage;
use serde::Deserialize;
use serde_json::{Value, json};

/// OpenAI's `usage` object (chat, completions, embeddings).
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OpenAiUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PromptDetails {
    pub cached_tokens: u64,
}

impl From<OpenAiUsage> for Usage {
    fn from(u: OpenAiUsage) -> Usage {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            cached_tokens: u.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
        }
    }
}

/// Anthropic's `usage` object. Fields are optional because stream events report some of them.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AnthropicUsage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Later reports (e.g. `message_delta`) replace what earlier ones said (`message_start`).
    pub fn merge(&mut self, later: AnthropicUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_read_input_tokens = later
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
        self.cache_creation_input_tokens = later
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
    }
}

impl From<AnthropicUsage> for Usage {
    fn from(u: AnthropicUsage) -> Usage {
        let cached = u.cache_read_input_tokens.unwrap_or(0);
        Usage {
            prompt_tokens: u.input_tokens.unwrap_or(0)
                + cached
                + u.cache_creation_input_tokens.unwrap_or(0),
            completion_tokens: u.output_tokens.unwrap_or(0),
            cached_tokens: cached,
        }
    }
}

/// `usage` for an OpenAI chat response or chunk.
pub(crate) fn openai_json(u: Usage) -> Value {
    json!({
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_tokens},
    })
}

/// `usage` for an Anthropic message (input excludes cache reads there).
pub(crate) fn anthropic_json(u: Usage) -> Value {
    json!({
        "input_tokens": u.prompt_tokens.saturating_sub(u.cached_tokens),
        "output_tokens": u.completion_tokens,
        "cache_read_input_tokens": u.cached_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_usage_sums_cache_reads_and_writes() {
        let u: AnthropicUsage = serde_json::from_str(
            r#"{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":7}"#,
        )
        .unwrap();
        assert_eq!(
            Usage::from(u),
            Usage {
                prompt_tokens: 115,
                completion_tokens: 7,
                cached_tokens: 100
            }
        );
    }

    #[test]
    fn later_reports_win() {
        let mut u: AnthropicUsage =
            serde_json::from_str(r#"{"input_tokens":25,"output_tokens":1}"#).unwrap();
        u.merge(serde_json::from_str(r#"{"output_tokens":15}"#).unwrap());
        assert_eq!(u.input_tokens, Some(25));
        assert_eq!(u.output_tokens, Some(15));
    }

    #[test]
    fn anthropic_json_excludes_cached_from_input() {
        let v = anthropic_json(Usage {
            prompt_tokens: 120,
            completion_tokens: 3,
            cached_tokens: 100,
        });
        assert_eq!(v["input_tokens"], 20);
        assert_eq!(v["cache_read_input_tokens"], 100);
    }
}
