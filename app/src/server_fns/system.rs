//! The installation at a glance: storage, accounts, configuration revision, gateway heartbeats.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemOverview {
    pub backend: String,
    pub migrations_applied: usize,
    pub migrations_expected: usize,
    pub users: i64,
    pub config_revision: i64,
    pub gateway_nodes: Vec<GatewayNodeView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayNodeView {
    pub instance: String,
    pub pod: String,
    pub version: String,
    pub config_revision: i64,
    pub last_seen: tollgate_domain::Timestamp,
    pub in_flight: i64,
}

#[server(prefix = "/rpc", endpoint = "get_system_overview")]
pub async fn get_system_overview() -> Result<SystemOverview, AppError> {
    crate::server::reply(
        async move {
            use tollgate_domain::{Action, Target};
            let who = crate::server::principal()?;
            who.actor.authorize(Action::ReadDashboard, Target::Global)?;
            let store = crate::server::portal_state()?.store;
            let readiness = store.readiness().await?;
            let nodes = store.list_gateway_nodes().await?;
            Ok(SystemOverview {
                backend: readiness.backend.as_str().to_owned(),
                migrations_applied: readiness.migrations_applied,
                migrations_expected: readiness.migrations_expected,
                users: store.count_users().await?,
                config_revision: store.config_revision().await?,
                gateway_nodes: nodes
                    .into_iter()
                    .map(|n| GatewayNodeView {
                        instance: n.instance,
                        pod: n.pod,
                        version: n.version,
                        config_revision: n.config_revision,
                        last_seen: n.last_seen,
                        in_flight: n.in_flight,
                    })
                    .collect(),
            })
        }
        .await,
    )
}
