//! Kubernetes for Tollgate: cached watches of the namespace, instance discovery, the health model
//! (Argo CD's states and rules) and diagnoses such as a Service whose endpoints span instances.
//!
//! Everything that judges is a pure function of plain inputs ([`Objects`], heartbeats, traffic):
//! [`report::build`] for a live view, [`manifests::check`] for rendered YAML. Only [`watch`] and
//! [`connect`] touch the network, and pages read the watches' caches, never the API server.

pub mod connect;
pub mod diagnose;
pub mod fixtures;
pub mod health;
pub mod manifests;
pub mod objects;
pub mod report;
pub mod selector;
pub mod watch;

pub use connect::{Cluster, Enabled, Settings};
pub use objects::Objects;
pub use report::{Access, KindState, ReportSettings};
pub use report::{Heartbeat, TrafficSample};
pub use tollgate_domain::instances::*;
pub use watch::Watches;

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No kubeconfig or in-cluster ServiceAccount could be loaded, or the client not built.
    #[error("no Kubernetes cluster configured: {0}")]
    NoCluster(String),
    /// A manifest file could not be parsed.
    #[error("{0}")]
    Manifest(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The label that names a gateway instance (`app.kubernetes.io/instance`).
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
