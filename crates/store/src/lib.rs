//! The database of Tollgate: the [`Store`] trait and its two backends, SQLite (a local file, the
//! single-node default) and Postgres (shared by a cluster), chosen by the URL's scheme.
//!
//! The store writes rows as given: ids (UUID v7) and timestamps are made above it. Both
//! backends run the same SQL where they can and pass one conformance suite
//! (`tests/conformance.rs`). Migrations live in `migrations/{sqlite,postgres}` at the workspace
//! root, with the same file names, and are embedded in the binary.
//!
//! Every configuration change bumps a revision, and [`Store::subscribe_changes`] hears of it:
//! through `LISTEN/NOTIFY` from any process on Postgres, in process on SQLite.

#![warn(missing_docs)]

mod analytics;
mod changes;
mod error;
mod ops;
mod postgres;
mod rows;
mod spend_types;
mod sqlite;
mod store;
mod types;

pub use analytics::spend_chart;
pub use error::{Error, Result};
pub use spend_types::{
    BudgetStanding, LimitHolder, Limits, ModelPrice, PodTraffic, Scope, SpendRecord, SpendTotals,
    SpendWrite, WindowChange, WindowSpend,
};
pub use store::Store;
pub use types::{
    AuditQuery, Backend, ConnectOptions, CredentialSecret, GatewayNode, KeyQuery, KeyRecord,
    KeySecret, KeySettings, NewCredential, NewKey, NewSession, NewTeam, NewUser, Page, Readiness,
    Session, SessionWithUser, TeamSettings, UserAuth,
};

use std::sync::Arc;

/// Opens a store: `sqlite:path/to/file.db` (created if missing) or `postgres://...`.
///
/// Postgres fails at once when the server refuses connections (or after
/// `opts.acquire_timeout` when it does not answer). Migrations are not run: call
/// [`Store::migrate`].
pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Arc<dyn Store>> {
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") => Ok(Arc::new(sqlite::SqliteStore::connect(url, opts).await?)),
        Some("postgres" | "postgresql") => {
            Ok(Arc::new(postgres::PgStore::connect(url, opts).await?))
        }
        // The URL is not repeated: it may hold a password.
        _ => Err(Error::Config(
            "the database URL must start with sqlite:, postgres: or postgresql:".to_owned(),
        )),
    }
}
