//! What the request path reads: every usable key by hash and the route table, loaded together
//! from the store (plus routes declared in `tollgate.toml`) and swapped in whole.

use crate::balance::DeploymentState;
use crate::routes::{DeploymentEntry, RouteEntry, RouteTable};
use crate::secrets::{self, SecretKey};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tollgate_domain::model::VirtualKey;
use tollgate_domain::pricing::{Price, PriceTable};
use tollgate_domain::routing::{Deployment, ProviderKind, Route, RouteSource, Strategy};
use tollgate_domain::{CredentialId, DeploymentId, RouteId, Timestamp};
use tollgate_store::{LimitHolder, Scope, Store};
use uuid::Uuid;

/// One consistent view of keys and routes at a configuration revision.
pub struct Snapshot {
    pub revision: i64,
    pub keys: HashMap<String, Arc<VirtualKey>>,
    /// The same keys by id (soft-budget alerts look them up).
    pub keys_by_id: HashMap<Uuid, Arc<VirtualKey>>,
    pub routes: RouteTable,
    /// Teams and users with a budget or limit.
    pub holders: HashMap<(Scope, Uuid), LimitHolder>,
    /// Built-in prices with the admins' overrides.
    pub prices: PriceTable,
}

impl Snapshot {
    pub fn empty() -> Snapshot {
        Snapshot {
            revision: -1,
            keys: HashMap::new(),
            keys_by_id: HashMap::new(),
            routes: RouteTable::default(),
            holders: HashMap::new(),
            prices: PriceTable::builtin(),
        }
    }
}

/// A route declared in `tollgate.toml` (`[[routes]]`), served read-only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRoute {
    pub model_name: String,
    #[serde(default)]
    pub instance: Option<String>,
    #[serde(default)]
    pub alias_of: Option<String>,
    #[serde(default)]
    pub strategy: Strategy,
    #[serde(default)]
    pub timeout_ms: Option<i64>,
    #[serde(default)]
    pub stream_idle_timeout_ms: Option<i64>,
    #[serde(default)]
    pub retries: i64,
    #[serde(default)]
    pub fallbacks: Vec<String>,
    #[serde(default)]
    pub header_match: BTreeMap<String, String>,
    #[serde(default)]
    pub deployments: Vec<ConfigDeployment>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigDeployment {
    pub provider: ProviderKind,
    /// Empty on a wildcard route: forward the matched suffix.
    #[serde(default)]
    pub upstream_model: String,
    #[serde(default)]
    pub api_base: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    /// A reference only (`env:VAR` or `file:/path`): secrets do not belong in a config file.
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default = "one")]
    pub weight: i64,
    #[serde(default)]
    pub rpm_limit: Option<i64>,
    #[serde(default)]
    pub tpm_limit: Option<i64>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn one() -> i64 {
    1
}
fn yes() -> bool {
    true
}

impl ConfigRoute {
    /// Checks what the types cannot: patterns, references, weights.
    pub fn validate(&self) -> Result<(), String> {
        let at = |m: &str| format!("routes[{}]: {m}", self.model_name);
        tollgate_domain::routing::validate_pattern(&self.model_name).map_err(at)?;
        if self.alias_of.is_none() && self.deployments.is_empty() {
            return Err(at("a route needs at least one deployment, or alias_of"));
        }
        for d in &self.deployments {
            if let Some(k) = &d.api_key
                && !(k.starts_with("env:") || k.starts_with("file:"))
            {
                return Err(at(
                    "api_key must be a reference such as env:OPENAI_API_KEY, not the key itself",
                ));
            }
            if d.weight < 0 {
                return Err(at("weight cannot be negative"));
            }
            if d.provider == ProviderKind::Azure && d.api_base.is_none() {
                return Err(at("an azure deployment needs api_base"));
            }
        }
        Ok(())
    }
}

/// The routes of `tollgate.toml` as routes (with fresh ids, source `Config`), and each
/// deployment's key reference: what the gateways serve and the portal shows read-only.
pub fn config_routes(
    config: &[ConfigRoute],
    now: Timestamp,
) -> (Vec<Route>, HashMap<DeploymentId, String>) {
    let mut routes = Vec::new();
    let mut refs = HashMap::new();
    for c in config {
        let route_id = RouteId::new();
        let deployments = c
            .deployments
            .iter()
            .map(|d| {
                let id = DeploymentId::new();
                if let Some(r) = &d.api_key {
                    refs.insert(id, r.clone());
                }
                Deployment {
                    id,
                    route_id,
                    provider: d.provider,
                    upstream_model: d.upstream_model.clone(),
                    api_base: d.api_base.clone(),
                    api_version: d.api_version.clone(),
                    credential_id: None,
                    weight: d.weight,
                    rpm_limit: d.rpm_limit,
                    tpm_limit: d.tpm_limit,
                    enabled: d.enabled,
                    input_price_per_mtok: None,
                    output_price_per_mtok: None,
                    created_at: now,
                    updated_at: now,
                }
            })
            .collect();
        routes.push(Route {
            id: route_id,
            instance: c.instance.clone(),
            model_name: c.model_name.clone(),
            alias_of: c.alias_of.clone(),
            strategy: c.strategy,
            timeout_ms: c.timeout_ms,
            stream_idle_timeout_ms: c.stream_idle_timeout_ms,
            retries: c.retries,
            fallbacks: c.fallbacks.clone(),
            header_match: c.header_match.clone(),
            source: RouteSource::Config,
            deployments,
            created_at: now,
            updated_at: now,
        });
    }
    (routes, refs)
}

/// Deployments' upstream secrets, each credential read and opened once.
pub(crate) struct Secrets<'a> {
    store: &'a dyn Store,
    key: Option<&'a SecretKey>,
    /// Each config deployment's key reference (`env:VAR`, `file:/path`).
    config_refs: &'a HashMap<DeploymentId, String>,
    by_credential: HashMap<CredentialId, Result<secrecy::SecretString, String>>,
}

impl<'a> Secrets<'a> {
    pub(crate) fn new(
        store: &'a dyn Store,
        key: Option<&'a SecretKey>,
        config_refs: &'a HashMap<DeploymentId, String>,
    ) -> Secrets<'a> {
        Secrets {
            store,
            key,
            config_refs,
            by_credential: HashMap::new(),
        }
    }

    /// The deployment's secret (`None` when it needs none), or why it cannot be had.
    async fn of(&mut self, d: &Deployment) -> Result<Option<secrecy::SecretString>, String> {
        match (d.credential_id, self.config_refs.get(&d.id)) {
            (Some(cid), _) => {
                if let Some(known) = self.by_credential.get(&cid) {
                    return known.clone().map(Some);
                }
                let r = match self.store.get_credential_secret(cid).await {
                    Ok(s) => secrets::resolve(&s, self.key).map_err(|e| e.to_string()),
                    Err(e) => Err(format!("credential unavailable: {e}")),
                };
                self.by_credential.insert(cid, r.clone());
                r.map(Some)
            }
            (None, Some(reference)) => secrets::resolve_reference(reference)
                .map(Some)
                .map_err(|e| e.to_string()),
            (None, None) => Ok(None),
        }
    }
}

/// A route ready to serve: each deployment with its secret (or why it has none, which skips
/// it), its price, and its live state from `state`.
pub(crate) async fn route_entry(
    route: Route,
    secrets: &mut Secrets<'_>,
    prices: &PriceTable,
    state: impl Fn(DeploymentId) -> Arc<DeploymentState>,
) -> RouteEntry {
    let mut deployments = Vec::with_capacity(route.deployments.len());
    for d in &route.deployments {
        let (api_key, credential_error) = match secrets.of(d).await {
            Ok(k) => (k, None),
            Err(e) => {
                tracing::warn!(deployment = %d.id, route = %route.model_name, "deployment skipped: {e}");
                (None, Some(e))
            }
        };
        let (price, price_per_request) = crate::charge::resolve_price(prices, d, &route.model_name);
        deployments.push(Arc::new(DeploymentEntry {
            deployment: d.clone(),
            api_key,
            credential_error,
            state: state(d.id),
            price,
            price_per_request,
        }));
    }
    RouteEntry { route, deployments }
}

/// Builds snapshots; keeps deployment state across reloads.
pub struct Loader {
    store: Arc<dyn Store>,
    instance: String,
    secret_key: Option<SecretKey>,
    /// Config routes with stable ids, and each config deployment's key reference.
    config_routes: Vec<Route>,
    config_refs: HashMap<DeploymentId, String>,
    states: Mutex<HashMap<DeploymentId, Arc<DeploymentState>>>,
}

impl Loader {
    pub fn new(
        store: Arc<dyn Store>,
        instance: String,
        secret_key: Option<SecretKey>,
        config: &[ConfigRoute],
    ) -> Loader {
        let (config_routes, config_refs) = config_routes(config, Timestamp::now());
        Loader {
            store,
            instance,
            secret_key,
            config_routes,
            config_refs,
            states: Mutex::new(HashMap::new()),
        }
    }

    /// Reads the revision first, then the data: a change made meanwhile bumps the revision
    /// again, so the next check reloads.
    pub async fn load(&self) -> Result<Snapshot, tollgate_store::Error> {
        let revision = self.store.config_revision().await?;
        let keys = self.store.list_active_keys().await?;
        let mut routes = self.store.list_routes().await?;
        routes.extend(self.config_routes.iter().cloned());

        let prices = PriceTable::new(self.store.list_model_prices().await?.into_iter().map(|p| {
            (
                p.pattern,
                Price {
                    input_per_mtok: p.input_per_mtok,
                    output_per_mtok: p.output_per_mtok,
                    cached_input_per_mtok: p.cached_input_per_mtok,
                },
            )
        }));
        let mut secrets = Secrets::new(
            self.store.as_ref(),
            self.secret_key.as_ref(),
            &self.config_refs,
        );
        let mut entries = Vec::with_capacity(routes.len());
        for route in routes {
            if route
                .instance
                .as_deref()
                .is_some_and(|i| i != self.instance)
            {
                continue;
            }
            entries.push(route_entry(route, &mut secrets, &prices, |id| self.state_of(id)).await);
        }
        let holders = self
            .store
            .list_limit_holders()
            .await?
            .into_iter()
            .map(|h| ((h.scope, h.id), h))
            .collect();
        // A key stores prompts when it or its team does: resolved here, once per load.
        let prompt_teams: std::collections::HashSet<Uuid> = self
            .store
            .teams_storing_prompts()
            .await?
            .into_iter()
            .map(|t| t.0)
            .collect();
        let mut keys_by_id = HashMap::with_capacity(keys.len());
        let mut by_hash = HashMap::with_capacity(keys.len());
        for mut k in keys {
            k.key.store_prompts |= k.key.team_id.is_some_and(|t| prompt_teams.contains(&t.0));
            let key = Arc::new(k.key);
            keys_by_id.insert(key.id.0, key.clone());
            // A rotated key's previous secret is the same key, expiring at the grace period's
            // end (or the key's own expiry, if sooner).
            if let (Some(hash), Some(until)) = (k.previous_key_hash, key.previous_expires_at) {
                let mut old = (*key).clone();
                old.expires_at = Some(old.expires_at.map_or(until, |e| e.min(until)));
                by_hash.insert(hash, Arc::new(old));
            }
            by_hash.insert(k.key_hash, key);
        }
        let keys = by_hash;
        Ok(Snapshot {
            revision,
            keys,
            keys_by_id,
            routes: RouteTable::build(entries, &self.instance),
            holders,
            prices,
        })
    }

    fn state_of(&self, id: DeploymentId) -> Arc<DeploymentState> {
        match self.states.lock() {
            Ok(mut m) => m.entry(id).or_default().clone(),
            Err(_) => Arc::new(DeploymentState::default()),
        }
    }

    /// Live state of every deployment seen, for metrics.
    pub fn states(&self) -> Vec<(DeploymentId, Arc<DeploymentState>)> {
        self.states
            .lock()
            .map(|m| m.iter().map(|(k, v)| (*k, v.clone())).collect())
            .unwrap_or_default()
    }
}
