//! Model routes, upstream credentials and price overrides: what the Routes and Settings pages
//! and the admin API change. Admins change them; everyone signed in reads routes, credentials
//! (never their secrets) and prices. Every change bumps the configuration revision, which the
//! gateways reload through the change feed, and is audited (never with a secret).

use super::audit::record_change as audit;
use super::principal::Principal;
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tollgate_domain::key_spec::{instance_name, rate_limit};
use tollgate_domain::routing::{
    Credential, Deployment, Pattern, ProviderKind, Route, RouteSource, RouteTest, Strategy,
    validate_pattern,
};
use tollgate_domain::validate::FieldError;
use tollgate_domain::{Action, CredentialId, DeploymentId, Micros, RouteId, Target, Timestamp};
use tollgate_store::{CredentialSecret, ModelPrice, NewCredential, Store};

/// Encrypts a credential's secret for the database (`TOLLGATE_SECRET_KEY`). The server wires
/// the gateway's AES-GCM key in; without one, only references (`env:VAR`) can be stored.
pub trait Sealer: Send + Sync {
    fn seal(&self, secret: &str) -> CredentialSecret;
}

/// Sends one test request through a route. The server wires in the gateway's prober, which
/// sends it as a gateway of the route's instance (or, for a global route, of this process's
/// instance) would; the app crate itself sends nothing upstream.
pub trait RouteTester: Send + Sync {
    fn test<'a>(
        &'a self,
        routes: Vec<Route>,
        tested: &'a Route,
        model: &'a str,
    ) -> futures_util::future::BoxFuture<'a, RouteTest>;
}

/// A test request as asked for: the model name to request, which a wildcard route needs (an
/// exact route or an alias is requested by its own name when it is left empty).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestSpec {
    pub model: String,
}

/// The longest timeout a route may have: an hour.
pub const MAX_TIMEOUT_MS: i64 = 3_600_000;
pub const MAX_RETRIES: i64 = 10;
pub const MAX_DEPLOYMENTS: usize = 50;
pub const MAX_FALLBACKS: usize = 20;

fn one() -> i64 {
    1
}
fn yes() -> bool {
    true
}

/// A route as asked for (the admin API's body, the portal's form).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
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
    pub deployments: Vec<DeploymentSpec>,
}

/// One upstream of a route as asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSpec {
    pub provider: ProviderKind,
    /// Empty on a wildcard route: the matched suffix is sent.
    #[serde(default)]
    pub upstream_model: String,
    #[serde(default)]
    pub api_base: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub credential_id: Option<CredentialId>,
    #[serde(default = "one")]
    pub weight: i64,
    #[serde(default)]
    pub rpm_limit: Option<i64>,
    #[serde(default)]
    pub tpm_limit: Option<i64>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub input_price_per_mtok: Option<Micros>,
    #[serde(default)]
    pub output_price_per_mtok: Option<Micros>,
}

fn fail<T>(field: &str, message: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError::new(field, message))
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// A base URL: `http://` or `https://`, no spaces, at most 2048 bytes.
fn base_url(field: &str, s: &str) -> Result<(), FieldError> {
    let ok = (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() > "https://".len()
        && s.len() <= 2048
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        fail(field, format!("{:?} is not an http(s) URL", short(s)))
    }
}

/// An HTTP header name: letters, digits and `-`, at most 64.
fn header_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl RouteSpec {
    /// Checks every field; the first problem names its field (`deployments[1].api_base`).
    pub fn check(mut self) -> Result<RouteSpec, FieldError> {
        self.model_name = self.model_name.trim().to_owned();
        validate_pattern(&self.model_name).map_err(|e| FieldError::new("model_name", e))?;
        self.instance = self
            .instance
            .map(|i| i.trim().to_owned())
            .filter(|i| !i.is_empty());
        if let Some(i) = &self.instance {
            instance_name(i).map_err(|e| FieldError::new("instance", e))?;
        }
        self.alias_of = self
            .alias_of
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty());
        match (&self.alias_of, self.deployments.is_empty()) {
            (Some(a), true) => {
                validate_pattern(a).map_err(|e| FieldError::new("alias_of", e))?;
                if a.contains('*') {
                    return fail("alias_of", "an alias names one model, not a pattern");
                }
            }
            (Some(_), false) => {
                return fail("alias_of", "an alias has no deployments of its own");
            }
            (None, true) => {
                return fail("deployments", "a route needs a deployment, or alias_of");
            }
            (None, false) => {}
        }
        for (field, v) in [
            ("timeout_ms", self.timeout_ms),
            ("stream_idle_timeout_ms", self.stream_idle_timeout_ms),
        ] {
            if v.is_some_and(|ms| !(1..=MAX_TIMEOUT_MS).contains(&ms)) {
                return fail(field, format!("1 to {MAX_TIMEOUT_MS} milliseconds"));
            }
        }
        if !(0..=MAX_RETRIES).contains(&self.retries) {
            return fail("retries", format!("0 to {MAX_RETRIES}"));
        }
        if self.fallbacks.len() > MAX_FALLBACKS {
            return fail("fallbacks", format!("at most {MAX_FALLBACKS}"));
        }
        for f in &mut self.fallbacks {
            *f = f.trim().to_owned();
            validate_pattern(f).map_err(|e| FieldError::new("fallbacks", e))?;
            if f.contains('*') {
                return fail("fallbacks", "a fallback names a model, not a pattern");
            }
        }
        if self.header_match.len() > 8 {
            return fail("header_match", "at most 8 headers");
        }
        for (name, value) in &self.header_match {
            if !header_name(name) {
                return fail(
                    "header_match",
                    format!("{:?} is not a header name", short(name)),
                );
            }
            if value.len() > 256 || value.chars().any(char::is_control) {
                return fail(
                    "header_match",
                    "a value has at most 256 characters and no control characters",
                );
            }
        }
        if self.deployments.len() > MAX_DEPLOYMENTS {
            return fail("deployments", format!("at most {MAX_DEPLOYMENTS}"));
        }
        let wildcard = self.model_name.ends_with('*');
        for (i, d) in self.deployments.iter_mut().enumerate() {
            let field = |f: &str| format!("deployments[{i}].{f}");
            d.upstream_model = d.upstream_model.trim().to_owned();
            if d.upstream_model.is_empty() && !wildcard {
                return fail(&field("upstream_model"), "enter the upstream model's name");
            }
            if d.upstream_model.len() > 256
                || d.upstream_model
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control())
            {
                return fail(
                    &field("upstream_model"),
                    "at most 256 characters, no spaces or control characters",
                );
            }
            d.api_base = d
                .api_base
                .take()
                .map(|b| b.trim().to_owned())
                .filter(|b| !b.is_empty());
            if let Some(b) = &d.api_base {
                base_url(&field("api_base"), b)?;
            }
            if d.provider == ProviderKind::Azure && d.api_base.is_none() {
                return fail(&field("api_base"), "an Azure deployment needs its endpoint");
            }
            if d.api_version
                .as_ref()
                .is_some_and(|v| v.len() > 64 || v.chars().any(char::is_whitespace))
            {
                return fail(&field("api_version"), "at most 64 characters, no spaces");
            }
            if !(0..=1000).contains(&d.weight) {
                return fail(&field("weight"), "0 to 1000");
            }
            rate_limit(&field("rpm_limit"), d.rpm_limit)?;
            rate_limit(&field("tpm_limit"), d.tpm_limit)?;
            for (f, v) in [
                ("input_price_per_mtok", d.input_price_per_mtok),
                ("output_price_per_mtok", d.output_price_per_mtok),
            ] {
                if v.is_some_and(|m| m.0 < 0 || m.0 > 1_000_000_000_000) {
                    return fail(&field(f), "0 to $1,000,000 per million tokens");
                }
            }
        }
        Ok(self)
    }
}

/// Every route the actor may read: the database's, then `tollgate.toml`'s (read-only).
pub async fn list_routes(
    store: &dyn Store,
    who: &Principal,
    config_routes: &[Route],
) -> Result<Vec<Route>, AppError> {
    who.actor.authorize(Action::ReadRoutes, Target::Global)?;
    let mut routes = store.list_routes().await?;
    routes.extend(config_routes.iter().cloned());
    Ok(routes)
}

/// A checked spec as the route `id` (its deployments new), after checking that the
/// credentials it names exist.
async fn route_of(
    store: &dyn Store,
    spec: RouteSpec,
    id: RouteId,
    created_at: Timestamp,
    now: Timestamp,
) -> Result<Route, AppError> {
    let spec = spec.check()?;
    let credentials: Vec<CredentialId> = store
        .list_credentials()
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    for (i, d) in spec.deployments.iter().enumerate() {
        if let Some(c) = d.credential_id
            && !credentials.contains(&c)
        {
            return Err(AppError::invalid(
                &format!("deployments[{i}].credential_id"),
                "no such credential",
            ));
        }
    }
    Ok(Route {
        id,
        instance: spec.instance,
        model_name: spec.model_name,
        alias_of: spec.alias_of,
        strategy: spec.strategy,
        timeout_ms: spec.timeout_ms,
        stream_idle_timeout_ms: spec.stream_idle_timeout_ms,
        retries: spec.retries,
        fallbacks: spec.fallbacks,
        header_match: spec.header_match,
        source: RouteSource::Db,
        deployments: spec
            .deployments
            .into_iter()
            .map(|d| Deployment {
                id: DeploymentId::new(),
                route_id: id,
                provider: d.provider,
                upstream_model: d.upstream_model,
                api_base: d.api_base,
                api_version: d.api_version,
                credential_id: d.credential_id,
                weight: d.weight,
                rpm_limit: d.rpm_limit,
                tpm_limit: d.tpm_limit,
                enabled: d.enabled,
                input_price_per_mtok: d.input_price_per_mtok,
                output_price_per_mtok: d.output_price_per_mtok,
                created_at: now,
                updated_at: now,
            })
            .collect(),
        created_at,
        updated_at: now,
    })
}

/// Creates a route with its deployments (admins). Credentials named must exist.
pub async fn create_route(
    store: &dyn Store,
    who: &Principal,
    spec: RouteSpec,
    now: Timestamp,
) -> Result<Route, AppError> {
    who.actor.authorize(Action::ManageRoutes, Target::Global)?;
    let id = RouteId::new();
    let route = store
        .create_route(&route_of(store, spec, id, now, now).await?)
        .await?;
    store.bump_config_revision().await?;
    let json = serde_json::to_value(&route).ok();
    audit(
        store,
        who,
        "route.create",
        "route",
        id.to_string(),
        None,
        json,
    )
    .await?;
    Ok(route)
}

/// Replaces a database route with `spec` (admins), keeping its id: in one transaction, so a
/// refused change (a taken model name, a missing credential) leaves it as it was.
pub async fn update_route(
    store: &dyn Store,
    who: &Principal,
    id: RouteId,
    spec: RouteSpec,
    now: Timestamp,
) -> Result<Route, AppError> {
    who.actor.authorize(Action::ManageRoutes, Target::Global)?;
    let before = store.get_route(id).await?;
    let route = store
        .replace_route(&route_of(store, spec, id, before.created_at, now).await?)
        .await?;
    store.bump_config_revision().await?;
    let (b, a) = (
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&route).ok(),
    );
    audit(store, who, "route.update", "route", id.to_string(), b, a).await?;
    Ok(route)
}

/// Deletes a route of the database (admins); those of `tollgate.toml` are changed there.
pub async fn delete_route(store: &dyn Store, who: &Principal, id: RouteId) -> Result<(), AppError> {
    who.actor.authorize(Action::ManageRoutes, Target::Global)?;
    let before = store.get_route(id).await?;
    store.delete_route(id).await?;
    store.bump_config_revision().await?;
    let json = serde_json::to_value(&before).ok();
    audit(
        store,
        who,
        "route.delete",
        "route",
        id.to_string(),
        json,
        None,
    )
    .await
}

/// Credentials, never their secrets (everyone who reads routes).
pub async fn list_credentials(
    store: &dyn Store,
    who: &Principal,
) -> Result<Vec<Credential>, AppError> {
    who.actor.authorize(Action::ReadRoutes, Target::Global)?;
    Ok(store.list_credentials().await?)
}

/// A credential as asked for: exactly one of `secret` (encrypted with `TOLLGATE_SECRET_KEY`,
/// never shown again) and `reference` (`env:VAR` or `file:/path`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    pub name: String,
    pub provider: String,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
}

/// Creates a credential (admins). Its secret is sealed before it reaches the store and never
/// leaves it again except to the gateways.
pub async fn create_credential(
    store: &dyn Store,
    who: &Principal,
    sealer: Option<&dyn Sealer>,
    spec: CredentialSpec,
    now: Timestamp,
) -> Result<Credential, AppError> {
    who.actor
        .authorize(Action::ManageCredentials, Target::Global)?;
    let name = tollgate_domain::validate::name("name", &spec.name)?;
    let provider = spec.provider.trim();
    if ProviderKind::parse(provider).is_none() {
        return Err(AppError::invalid("provider", "openai, anthropic or azure"));
    }
    let set = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let secret = match (set(spec.secret), set(spec.reference)) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(AppError::invalid(
                "secret",
                "enter either the secret or a reference such as env:OPENAI_API_KEY",
            ));
        }
        (Some(s), None) => {
            if s.len() > 8192 || s.chars().any(char::is_control) {
                return Err(AppError::invalid(
                    "secret",
                    "at most 8 KiB, no control characters",
                ));
            }
            let Some(sealer) = sealer else {
                return Err(AppError::invalid(
                    "secret",
                    "TOLLGATE_SECRET_KEY is not set, so secrets cannot be stored encrypted: \
                     store a reference such as env:OPENAI_API_KEY instead",
                ));
            };
            sealer.seal(s.trim())
        }
        (None, Some(r)) => {
            let r = r.trim().to_owned();
            let ok = (r.starts_with("env:") && r.len() > 4 && r.len() <= 256)
                || (r.starts_with("file:/") && r.len() <= 1024);
            if !ok || r.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(AppError::invalid(
                    "reference",
                    "env:VARIABLE or file:/absolute/path",
                ));
            }
            CredentialSecret::Reference(r)
        }
    };
    let credential = store
        .create_credential(&NewCredential {
            id: CredentialId::new(),
            name,
            provider: provider.to_owned(),
            secret,
            now,
        })
        .await?;
    store.bump_config_revision().await?;
    let json = serde_json::to_value(&credential).ok();
    audit(
        store,
        who,
        "credential.create",
        "credential",
        credential.id.to_string(),
        None,
        json,
    )
    .await?;
    Ok(credential)
}

/// Deletes a credential (admins); refused while a deployment uses it.
pub async fn delete_credential(
    store: &dyn Store,
    who: &Principal,
    id: CredentialId,
) -> Result<(), AppError> {
    who.actor
        .authorize(Action::ManageCredentials, Target::Global)?;
    let before = store
        .list_credentials()
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(AppError::NotFound)?;
    store.delete_credential(id).await?;
    store.bump_config_revision().await?;
    let json = serde_json::to_value(&before).ok();
    audit(
        store,
        who,
        "credential.delete",
        "credential",
        id.to_string(),
        json,
        None,
    )
    .await
}

/// Price overrides by pattern (everyone who reads routes).
pub async fn list_prices(store: &dyn Store, who: &Principal) -> Result<Vec<ModelPrice>, AppError> {
    who.actor.authorize(Action::ReadRoutes, Target::Global)?;
    Ok(store.list_model_prices().await?)
}

/// A price override as asked for, in micro-dollars per million tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSpec {
    pub pattern: String,
    pub input_per_mtok: Micros,
    pub output_per_mtok: Micros,
    #[serde(default)]
    pub cached_input_per_mtok: Option<Micros>,
}

/// Sets the price of a model or pattern (admins); the gateways charge it from their next
/// reload.
pub async fn set_price(
    store: &dyn Store,
    who: &Principal,
    spec: PriceSpec,
    now: Timestamp,
) -> Result<ModelPrice, AppError> {
    who.actor
        .authorize(Action::ManageSettings, Target::Global)?;
    let pattern = spec.pattern.trim().to_owned();
    validate_pattern(&pattern).map_err(|e| FieldError::new("pattern", e))?;
    for (field, v) in [
        ("input_per_mtok", Some(spec.input_per_mtok)),
        ("output_per_mtok", Some(spec.output_per_mtok)),
        ("cached_input_per_mtok", spec.cached_input_per_mtok),
    ] {
        if v.is_some_and(|m| m.0 < 0 || m.0 > 1_000_000_000_000) {
            return Err(AppError::invalid(
                field,
                "0 to $1,000,000 per million tokens",
            ));
        }
    }
    let before = store
        .list_model_prices()
        .await?
        .into_iter()
        .find(|p| p.pattern == pattern);
    let price = ModelPrice {
        pattern,
        input_per_mtok: spec.input_per_mtok,
        output_per_mtok: spec.output_per_mtok,
        cached_input_per_mtok: spec.cached_input_per_mtok,
        updated_at: now,
    };
    store.upsert_model_price(&price).await?;
    store.bump_config_revision().await?;
    let json = |p: &ModelPrice| serde_json::to_value(p).ok();
    audit(
        store,
        who,
        "price.set",
        "price",
        price.pattern.clone(),
        before.as_ref().and_then(json),
        json(&price),
    )
    .await?;
    Ok(price)
}

/// Removes a price override (admins): the built-in price applies again.
pub async fn delete_price(
    store: &dyn Store,
    who: &Principal,
    pattern: &str,
) -> Result<(), AppError> {
    who.actor
        .authorize(Action::ManageSettings, Target::Global)?;
    store.delete_model_price(pattern).await?;
    store.bump_config_revision().await?;
    audit(
        store,
        who,
        "price.delete",
        "price",
        pattern.to_owned(),
        Some(serde_json::json!({ "pattern": pattern })),
        None,
    )
    .await
}

/// Sends one small request through a route and reports what each deployment did (admins: it
/// reaches a paid upstream with the route's secrets). Audited as `route.test`; it changes no
/// configuration, is charged to no key and counted by no limit.
pub async fn test_route(
    store: &dyn Store,
    who: &Principal,
    tester: &dyn RouteTester,
    config_routes: &[Route],
    id: RouteId,
    spec: TestSpec,
) -> Result<RouteTest, AppError> {
    who.actor.authorize(Action::ManageRoutes, Target::Global)?;
    let routes = list_routes(store, who, config_routes).await?;
    let route = routes
        .iter()
        .find(|r| r.id == id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let model = test_model(&route, &spec.model)?;
    let report = tester.test(routes, &route, &model).await;
    let summary = serde_json::json!({
        "model": report.model,
        "instance": report.instance,
        "ok": report.ok,
        "status": report.status,
        "latency_ms": report.latency_ms,
        "attempts": report.attempts.len(),
    });
    audit(
        store,
        who,
        "route.test",
        "route",
        id.to_string(),
        None,
        Some(summary),
    )
    .await?;
    Ok(report)
}

/// The model a test of `route` requests: `asked`, which the route must serve, or when it is
/// empty the route's own name (a wildcard route needs one named).
fn test_model(route: &Route, asked: &str) -> Result<String, AppError> {
    let asked = asked.trim();
    let pattern = Pattern::parse(&route.model_name);
    if asked.is_empty() {
        return match pattern {
            Pattern::Exact(name) => Ok(name.to_owned()),
            _ => Err(AppError::invalid(
                "model",
                format!(
                    "name a model that `{}` serves, to send it upstream",
                    short(&route.model_name)
                ),
            )),
        };
    }
    validate_pattern(asked).map_err(|e| FieldError::new("model", e))?;
    if asked.contains('*') || pattern.matches(asked).is_none() {
        return Err(AppError::invalid(
            "model",
            format!(
                "the route `{}` does not serve {:?}",
                short(&route.model_name),
                short(asked)
            ),
        ));
    }
    Ok(asked.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str) -> Route {
        Route {
            id: RouteId::new(),
            instance: None,
            model_name: name.to_owned(),
            alias_of: None,
            strategy: Strategy::Weighted,
            timeout_ms: None,
            stream_idle_timeout_ms: None,
            retries: 0,
            fallbacks: vec![],
            header_match: BTreeMap::new(),
            source: RouteSource::Db,
            deployments: vec![],
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn a_test_requests_a_model_the_route_serves() {
        let exact = route("gpt-4o");
        assert_eq!(test_model(&exact, "").unwrap(), "gpt-4o");
        assert_eq!(test_model(&exact, " gpt-4o ").unwrap(), "gpt-4o");
        assert!(test_model(&exact, "gpt-4o-mini").is_err());

        let wild = route("anthropic/*");
        assert!(test_model(&wild, "").is_err(), "a wildcard needs a name");
        assert_eq!(
            test_model(&wild, "anthropic/claude-x").unwrap(),
            "anthropic/claude-x"
        );
        for bad in [
            "anthropic/",
            "anthropic/*",
            "openai/gpt",
            "anthropic/a b",
            "x\u{0}",
        ] {
            assert!(test_model(&wild, bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(test_model(&route("*"), "any-model").unwrap(), "any-model");
        assert!(test_model(&route("*"), &"m".repeat(300)).is_err());
    }
}
