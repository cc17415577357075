//! Spend analytics: the dashboard, the spend page, the request log. Each function finds the
//! principal and hands over to `crate::server::analytics`, which the REST API shares.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use tollgate_domain::TeamId;
use tollgate_domain::analytics::{Dashboard, LogEntry, LogPage, LogQuery, SpendQuery, SpendSeries};

/// What the spend page's filters can offer this person.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendOptions {
    /// They read every team's spend (admins, viewers); otherwise only `teams`.
    pub all_teams: bool,
    /// Teams they may pick, by name.
    pub teams: Vec<(TeamId, String)>,
    /// Model names of the routes, and instance names from routes and heartbeats, sorted.
    pub models: Vec<String>,
    pub instances: Vec<String>,
}

#[server(prefix = "/rpc", endpoint = "get_spend", input = Json)]
pub async fn get_spend(query: SpendQuery) -> Result<SpendSeries, AppError> {
    crate::server::reply(
        async move {
            let who = crate::server::principal()?;
            let store = crate::server::portal_state()?.store;
            // The page charts the largest groups and "Other"; its table reads `groups`, whole.
            crate::server::analytics::spend_chart(store.as_ref(), &who.actor, query).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "get_request_log", input = Json)]
pub async fn get_request_log(query: LogQuery) -> Result<LogPage, AppError> {
    crate::server::reply(
        async move {
            let who = crate::server::principal()?;
            let store = crate::server::portal_state()?.store;
            crate::server::analytics::request_log(store.as_ref(), &who.actor, query).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "get_request")]
pub async fn get_request(request_id: String) -> Result<LogEntry, AppError> {
    crate::server::reply(
        async move {
            let who = crate::server::principal()?;
            let store = crate::server::portal_state()?.store;
            crate::server::analytics::request_detail(store.as_ref(), &who.actor, &request_id).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "get_dashboard", input = Json)]
pub async fn get_dashboard(team: Option<TeamId>) -> Result<Dashboard, AppError> {
    crate::server::reply(
        async move {
            let who = crate::server::principal()?;
            let store = crate::server::portal_state()?.store;
            crate::server::analytics::dashboard(
                store.as_ref(),
                &who.actor,
                team,
                tollgate_domain::Timestamp::now(),
            )
            .await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "get_spend_options")]
pub async fn get_spend_options() -> Result<SpendOptions, AppError> {
    crate::server::reply(
        async move {
            use std::collections::BTreeSet;
            use tollgate_domain::{Action, Target};
            let who = crate::server::principal()?;
            let store = crate::server::portal_state()?.store;
            let all_teams = who.actor.allows(Action::ReadSpend, Target::Global);
            let mut teams = Vec::new();
            if all_teams {
                for t in store
                    .list_teams(&tollgate_store::Page {
                        limit: 1000,
                        offset: 0,
                    })
                    .await?
                {
                    teams.push((t.id, t.name));
                }
            } else {
                for (id, _) in &who.actor.teams {
                    if let Ok(t) = store.get_team(*id).await {
                        teams.push((t.id, t.name));
                    }
                }
            }
            let routes = store.list_routes().await?;
            let models: BTreeSet<String> = routes.iter().map(|r| r.model_name.clone()).collect();
            let mut instances: BTreeSet<String> =
                routes.iter().filter_map(|r| r.instance.clone()).collect();
            instances.extend(
                store
                    .list_gateway_nodes()
                    .await?
                    .into_iter()
                    .map(|n| n.instance),
            );
            Ok(SpendOptions {
                all_teams,
                teams,
                models: models.into_iter().collect(),
                instances: instances.into_iter().collect(),
            })
        }
        .await,
    )
}
