//! Gateway instances: the health report from the Kubernetes caches and the heartbeats.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tollgate_domain::instances::{ClusterReport, InstanceReport, KubernetesStatus};

/// A model route as the instance page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRow {
    pub model_name: String,
    pub strategy: String,
    pub deployments: usize,
    /// The route serves every instance, not this one only.
    pub all_instances: bool,
    pub alias_of: Option<String>,
}

/// Requests and spend of one pod over the last hour (from the spend log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodTrafficRow {
    pub pod: String,
    pub requests: i64,
    pub spend: tollgate_domain::Micros,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceDetail {
    pub kubernetes: KubernetesStatus,
    pub generated_at: tollgate_domain::Timestamp,
    pub instance: InstanceReport,
    pub routes: Vec<RouteRow>,
    /// Requests and spend per pod of this instance over the last hour.
    pub traffic: Vec<PodTrafficRow>,
}

#[server(prefix = "/rpc", endpoint = "get_instances")]
pub async fn get_instances() -> Result<ClusterReport, AppError> {
    crate::server::reply(
        async move {
            use tollgate_domain::{Action, Target};
            let who = crate::server::principal()?;
            who.actor.authorize(Action::ReadInstances, Target::Global)?;
            let state = crate::server::portal_state()?;
            Ok(state.cluster.report(state.store.as_ref()).await?)
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "get_instance")]
pub async fn get_instance(name: String) -> Result<InstanceDetail, AppError> {
    crate::server::reply(
        async move {
            use tollgate_domain::{Action, Target};
            let who = crate::server::principal()?;
            who.actor.authorize(Action::ReadInstances, Target::Global)?;
            let state = crate::server::portal_state()?;
            let report = state.cluster.report(state.store.as_ref()).await?;
            let instance = report.instance(&name).cloned().ok_or(AppError::NotFound)?;
            let routes = if who
                .actor
                .authorize(Action::ReadRoutes, Target::Global)
                .is_ok()
            {
                state
                    .store
                    .list_routes()
                    .await?
                    .into_iter()
                    .filter(|r| r.instance.as_deref().is_none_or(|i| i == name))
                    .map(|r| RouteRow {
                        all_instances: r.instance.is_none(),
                        strategy: r.strategy.as_str().to_owned(),
                        deployments: r.deployments.len(),
                        alias_of: r.alias_of,
                        model_name: r.model_name,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            // The log is by (instance, pod, model): one row per pod here, in pod order.
            let mut traffic: Vec<PodTrafficRow> = Vec::new();
            for t in state.cluster.traffic(state.store.as_ref()).await {
                if t.instance != name {
                    continue;
                }
                match traffic.last_mut() {
                    Some(row) if row.pod == t.pod => {
                        row.requests += t.requests;
                        row.spend = tollgate_domain::Micros(row.spend.0 + t.cost.0);
                    }
                    _ => traffic.push(PodTrafficRow {
                        pod: t.pod,
                        requests: t.requests,
                        spend: t.cost,
                    }),
                }
            }
            Ok(InstanceDetail {
                traffic,
                kubernetes: report.kubernetes,
                generated_at: report.generated_at,
                instance,
                routes,
            })
        }
        .await,
    )
}
