//! Logging: readable text by default, JSON for log collectors; `RUST_LOG` overrides the filter.

use crate::config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

pub fn init(cfg: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr, so command output on stdout (`keys create`, `import`) can be piped;
    // colours only on a terminal, so collected logs stay plain.
    let stderr = std::io::stderr();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&stderr))
        .with_writer(std::io::stderr);
    // A second init (tests) keeps the first subscriber.
    let _ = match cfg.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
