//! Integration tests of the `tollgate` binary: real processes, real HTTP, SQLite and Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod analytics;
mod cli;
mod gateway;
mod harness;
mod instances;
mod keys;
mod limits;
mod portal;
mod routes;
mod rpc;
mod teams;
