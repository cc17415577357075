//! Administrative subcommands: those that act on the database directly (`keys`, `teams`; the
//! LiteLLM import's conversion is `tollgate_app::server::import`, shared with the Routes page)
//! and `check-manifests`, which needs nothing but its files.

pub mod keys;
pub mod manifests;

use crate::config::{Config, redact_url};
use anyhow::Context as _;
use std::sync::Arc;
use tollgate_store::Store;

/// Connects and checks the schema is current; these commands never migrate on their own.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url();
    let store = tollgate_store::connect(&url, &crate::startup::connect_options(config))
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(&url)))?;
    let r = store.readiness().await?;
    if r.migrations_applied < r.migrations_expected {
        anyhow::bail!("the database is not migrated: run `tollgate migrate` first");
    }
    Ok(store)
}
