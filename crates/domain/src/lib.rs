//! Pure types and rules of Tollgate, shared by the wasm portal and every server crate.
//!
//! Nothing here does I/O: no tokio, sqlx or axum. Ids and secrets are generated only
//! with the `gen` feature, which needs an OS random source.

pub mod analytics;
pub mod authz;
pub mod budget;
pub mod ids;
pub mod instances;
pub mod key_spec;
pub mod keys;
pub mod model;
pub mod money;
pub mod policy;
pub mod pricing;
pub mod routing;
pub mod time;
pub mod validate;

pub use authz::{Action, Actor, Denied, Target};
pub use ids::{AuditId, CredentialId, DeploymentId, KeyId, RouteId, SessionId, TeamId, UserId};
pub use money::Micros;
pub use time::Timestamp;
