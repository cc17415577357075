//! Routes, credentials and price overrides for the Routes and Settings pages; the rules are
//! `crate::server::routes`'s, which the admin API shares.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use tollgate_domain::pricing::ModelPrice;
use tollgate_domain::routing::{Credential, Route, RouteTest};
use tollgate_domain::{CredentialId, RouteId};
#[cfg(feature = "ssr")]
use tollgate_domain::{Micros, Timestamp};

#[cfg(feature = "ssr")]
use crate::server::{caller, portal_state, reply, routes};

/// Routes (the database's, then `tollgate.toml`'s) and the credentials they may name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoutesView {
    pub routes: Vec<Route>,
    pub credentials: Vec<Credential>,
    /// The reader may change routes.
    pub can_manage: bool,
}

#[server(prefix = "/rpc", endpoint = "list_routes")]
pub async fn list_routes() -> Result<RoutesView, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let state = portal_state()?;
            use tollgate_domain::{Action, Target};
            Ok(RoutesView {
                routes: routes::list_routes(store.as_ref(), &who, &state.config_routes).await?,
                credentials: routes::list_credentials(store.as_ref(), &who).await?,
                can_manage: who.actor.allows(Action::ManageRoutes, Target::Global),
            })
        }
        .await,
    )
}

/// The route form as typed: one deployment (more through the admin API). Inputs are named
/// `form[model_name]` and so on; empty means "not set".
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteForm {
    pub model_name: String,
    pub instance: String,
    pub strategy: String,
    pub timeout_ms: String,
    pub retries: String,
    pub fallbacks: String,
    pub provider: String,
    pub upstream_model: String,
    pub api_base: String,
    pub credential: String,
}

#[cfg(feature = "ssr")]
fn route_spec(f: RouteForm) -> Result<routes::RouteSpec, AppError> {
    use crate::server::forms::{id, list, set, whole};
    use tollgate_domain::routing::{ProviderKind, Strategy};
    let strategy = match set(&f.strategy) {
        None => Strategy::default(),
        Some(s) => Strategy::parse(s).ok_or_else(|| {
            AppError::invalid("strategy", "weighted, least_busy or lowest_latency")
        })?,
    };
    let provider = ProviderKind::parse(f.provider.trim())
        .ok_or_else(|| AppError::invalid("provider", "choose a provider"))?;
    Ok(routes::RouteSpec {
        model_name: f.model_name,
        instance: set(&f.instance).map(str::to_owned),
        alias_of: None,
        strategy,
        timeout_ms: whole("timeout_ms", &f.timeout_ms)?,
        stream_idle_timeout_ms: None,
        retries: whole("retries", &f.retries)?.unwrap_or(0),
        fallbacks: list(&f.fallbacks).unwrap_or_default(),
        header_match: Default::default(),
        deployments: vec![routes::DeploymentSpec {
            provider,
            upstream_model: f.upstream_model,
            api_base: set(&f.api_base).map(str::to_owned),
            api_version: None,
            credential_id: id("credential_id", &f.credential, "no such credential")?,
            weight: 1,
            rpm_limit: None,
            tpm_limit: None,
            enabled: true,
            input_price_per_mtok: None,
            output_price_per_mtok: None,
        }],
    })
}

#[server(prefix = "/rpc", endpoint = "create_route")]
pub async fn create_route(form: RouteForm) -> Result<Route, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let spec = route_spec(form)?;
            routes::create_route(store.as_ref(), &who, spec, Timestamp::now()).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "delete_route")]
pub async fn delete_route(id: RouteId) -> Result<(), AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            routes::delete_route(store.as_ref(), &who, id).await
        }
        .await,
    )
}

/// Sends one test request through a route, for the Routes page's Test button. `model` may be
/// empty for an exact route or an alias.
#[server(prefix = "/rpc", endpoint = "test_route")]
pub async fn test_route(id: RouteId, model: String) -> Result<RouteTest, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let state = portal_state()?;
            routes::test_route(
                store.as_ref(),
                &who,
                state.tester.as_ref(),
                &state.config_routes,
                id,
                routes::TestSpec { model },
            )
            .await
        }
        .await,
    )
}

/// Credentials and price overrides, for the Settings page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    pub credentials: Vec<Credential>,
    pub prices: Vec<ModelPrice>,
    /// Secrets can be stored encrypted (`TOLLGATE_SECRET_KEY` is set).
    pub can_seal: bool,
    pub can_manage: bool,
}

#[server(prefix = "/rpc", endpoint = "get_settings")]
pub async fn get_settings() -> Result<SettingsView, AppError> {
    reply(
        async move {
            use tollgate_domain::{Action, Target};
            let (who, store) = caller()?;
            let state = portal_state()?;
            Ok(SettingsView {
                credentials: routes::list_credentials(store.as_ref(), &who).await?,
                prices: routes::list_prices(store.as_ref(), &who).await?,
                can_seal: state.sealer.is_some(),
                can_manage: who.actor.allows(Action::ManageSettings, Target::Global),
            })
        }
        .await,
    )
}

/// The credential form as typed (inputs `form[name]` ...): a secret or a reference.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CredentialForm {
    pub name: String,
    pub provider: String,
    pub secret: String,
    pub reference: String,
}

#[server(prefix = "/rpc", endpoint = "create_credential")]
pub async fn create_credential(form: CredentialForm) -> Result<Credential, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let state = portal_state()?;
            let spec = routes::CredentialSpec {
                name: form.name,
                provider: form.provider,
                secret: Some(form.secret),
                reference: Some(form.reference),
            };
            routes::create_credential(
                store.as_ref(),
                &who,
                state.sealer.as_deref(),
                spec,
                Timestamp::now(),
            )
            .await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "delete_credential")]
pub async fn delete_credential(id: CredentialId) -> Result<(), AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            routes::delete_credential(store.as_ref(), &who, id).await
        }
        .await,
    )
}

/// The price form as typed, in dollars per million tokens.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PriceForm {
    pub pattern: String,
    pub input: String,
    pub output: String,
    pub cached_input: String,
}

#[server(prefix = "/rpc", endpoint = "set_price")]
pub async fn set_price(form: PriceForm) -> Result<ModelPrice, AppError> {
    reply(
        async move {
            use crate::server::forms::dollars;
            let (who, store) = caller()?;
            let required = |field: &str, v: &str| -> Result<Micros, AppError> {
                dollars(field, v)?.ok_or_else(|| AppError::invalid(field, "enter a price"))
            };
            let spec = routes::PriceSpec {
                pattern: form.pattern,
                input_per_mtok: required("input_per_mtok", &form.input)?,
                output_per_mtok: required("output_per_mtok", &form.output)?,
                cached_input_per_mtok: dollars("cached_input_per_mtok", &form.cached_input)?,
            };
            routes::set_price(store.as_ref(), &who, spec, Timestamp::now()).await
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "delete_price")]
pub async fn delete_price(pattern: String) -> Result<(), AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            routes::delete_price(store.as_ref(), &who, &pattern).await
        }
        .await,
    )
}

/// What importing a LiteLLM config would create, before anything is written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub routes: Vec<Route>,
    /// Credential references it would add (`env:VAR`), unless one of that name exists.
    pub credentials: Vec<String>,
    pub not_converted: Vec<String>,
}

#[server(prefix = "/rpc", endpoint = "preview_litellm_import")]
pub async fn preview_litellm_import(
    config: String,
    instance: String,
) -> Result<ImportPreview, AppError> {
    reply(
        async move {
            let (who, _) = caller()?;
            let plan = crate::server::import::plan_for(&who, &config, &instance, Timestamp::now())?;
            Ok(ImportPreview {
                routes: plan.routes,
                credentials: plan
                    .credentials
                    .into_iter()
                    .map(|(_, name, _)| name)
                    .collect(),
                not_converted: plan.not_converted,
            })
        }
        .await,
    )
}

#[server(prefix = "/rpc", endpoint = "apply_litellm_import")]
pub async fn apply_litellm_import(
    config: String,
    instance: String,
) -> Result<Vec<String>, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            crate::server::import::import(store.as_ref(), &who, &config, &instance).await
        }
        .await,
    )
}

/// Replaces a database route with the JSON of a route spec (the admin API's `PUT` body), as the
/// Routes page's editor sends it.
#[server(prefix = "/rpc", endpoint = "update_route")]
pub async fn update_route(id: RouteId, spec: String) -> Result<Route, AppError> {
    reply(
        async move {
            let (who, store) = caller()?;
            let spec: routes::RouteSpec = serde_json::from_str(&spec)
                .map_err(|e| AppError::invalid("spec", e.to_string()))?;
            routes::update_route(store.as_ref(), &who, id, spec, Timestamp::now()).await
        }
        .await,
    )
}
