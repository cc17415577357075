//! Server functions, one module per resource. Each is thin: find the principal, authorize with
//! `tollgate_domain` rules, call the store, record the change. All live under `/rpc/`.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod instances;
pub mod keys;
pub mod settings;
pub mod system;
pub mod teams;
pub mod users;
