//! The `tollgate` binary's library: CLI, configuration, start-up, HTTP composition and
//! background tasks. `main.rs` only parses arguments and calls [`cli::run`].

pub mod cli;
pub mod commands;
pub mod config;
pub mod heartbeat;
pub mod retention;
pub mod startup;
pub mod telemetry;
pub mod web;
