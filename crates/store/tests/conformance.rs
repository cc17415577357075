#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The conformance suite: every test runs against SQLite and Postgres.
//!
//! `both!(name, ...)` turns each `async fn name(store: Arc<dyn Store>)` into `name::sqlite` (a
//! fresh temporary file) and `name::postgres` (a fresh database on `TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). The Postgres variants fail, never skip, when
//! the server cannot be reached.

#[path = "conformance/harness.rs"]
mod harness;

#[path = "conformance/analytics.rs"]
mod analytics;
#[path = "conformance/audit.rs"]
mod audit;
#[path = "conformance/changes.rs"]
mod changes;
#[path = "conformance/connect.rs"]
mod connect;
#[path = "conformance/credentials.rs"]
mod credentials;
#[path = "conformance/gateway.rs"]
mod gateway;
#[path = "conformance/hostile.rs"]
mod hostile;
#[path = "conformance/keys.rs"]
mod keys;
#[path = "conformance/request_log.rs"]
mod request_log;
#[path = "conformance/routes.rs"]
mod routes;
#[path = "conformance/sessions.rs"]
mod sessions;
#[path = "conformance/spend.rs"]
mod spend;
#[path = "conformance/teams.rs"]
mod teams;
#[path = "conformance/users.rs"]
mod users;
