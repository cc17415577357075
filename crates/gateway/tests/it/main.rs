//! The gateway's integration tests: the gateway in process over real HTTP and a real SQLite
//! store, in front of stub upstreams speaking the providers' wire formats.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;
mod stub;
mod support;

mod errors;
mod failover;
mod limits;
mod passthrough;
mod prompts;
mod routing;
mod strategies;
mod streaming;
mod surface;
mod translation;
