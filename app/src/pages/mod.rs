//! One module per page; components end in `Page`.

pub mod account;
pub mod audit;
pub mod dashboard;
pub mod instance;
pub mod instances;
pub mod keys;
pub mod log_detail;
pub mod logs;
pub mod not_found;
pub mod routes;
pub mod settings;
pub mod signin;
pub mod spend;
pub mod teams;
pub mod users;
