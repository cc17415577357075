//! Routes and deployments to store, as builders pointing at stubs.

use crate::stub::Stub;
use tollgate_domain::routing::{Deployment, ProviderKind, Route, RouteSource, Strategy};
use tollgate_domain::{DeploymentId, RouteId, Timestamp};

/// A route to store, with the plaintext upstream key of each deployment (if any).
pub struct RouteBuilder {
    pub route: Route,
    pub(super) secrets: Vec<Option<String>>,
}

pub fn route(model_name: &str) -> RouteBuilder {
    RouteBuilder {
        route: Route {
            id: RouteId::new(),
            instance: None,
            model_name: model_name.to_owned(),
            alias_of: None,
            strategy: Strategy::Weighted,
            timeout_ms: None,
            stream_idle_timeout_ms: None,
            retries: 0,
            fallbacks: vec![],
            header_match: Default::default(),
            source: RouteSource::Db,
            deployments: vec![],
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        },
        secrets: vec![],
    }
}

impl RouteBuilder {
    pub fn deploy(mut self, d: Dep) -> Self {
        let now = Timestamp::now();
        self.route.deployments.push(Deployment {
            id: DeploymentId::new(),
            route_id: self.route.id,
            provider: d.provider,
            upstream_model: d.upstream_model,
            api_base: Some(d.api_base),
            api_version: d.api_version,
            credential_id: None,
            weight: d.weight,
            rpm_limit: None,
            tpm_limit: None,
            enabled: true,
            input_price_per_mtok: None,
            output_price_per_mtok: None,
            created_at: now,
            updated_at: now,
        });
        self.secrets.push(d.api_key);
        self
    }

    /// Prices every deployment added so far (micro-dollars per million tokens).
    pub fn prices(mut self, input: i64, output: i64) -> Self {
        for d in &mut self.route.deployments {
            d.input_price_per_mtok = Some(tollgate_domain::Micros(input));
            d.output_price_per_mtok = Some(tollgate_domain::Micros(output));
        }
        self
    }

    /// The provider's quota of the last deployment added (requests / tokens per minute).
    pub fn cap(mut self, rpm: Option<i64>, tpm: Option<i64>) -> Self {
        if let Some(d) = self.route.deployments.last_mut() {
            d.rpm_limit = rpm;
            d.tpm_limit = tpm;
        }
        self
    }

    pub fn retries(mut self, n: i64) -> Self {
        self.route.retries = n;
        self
    }

    pub fn strategy(mut self, s: Strategy) -> Self {
        self.route.strategy = s;
        self
    }

    pub fn timeout_ms(mut self, ms: i64) -> Self {
        self.route.timeout_ms = Some(ms);
        self
    }

    pub fn fallbacks(mut self, names: &[&str]) -> Self {
        self.route.fallbacks = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.route
            .header_match
            .insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn instance(mut self, instance: &str) -> Self {
        self.route.instance = Some(instance.to_owned());
        self
    }

    pub fn alias_of(mut self, target: &str) -> Self {
        self.route.alias_of = Some(target.to_owned());
        self
    }
}

/// A deployment to add to a route.
pub struct Dep {
    provider: ProviderKind,
    api_base: String,
    upstream_model: String,
    api_version: Option<String>,
    weight: i64,
    api_key: Option<String>,
}

impl Dep {
    pub fn weight(mut self, w: i64) -> Self {
        self.weight = w;
        self
    }

    /// The upstream key, stored as an encrypted credential.
    pub fn key(mut self, secret: &str) -> Self {
        self.api_key = Some(secret.to_owned());
        self
    }

    pub fn api_version(mut self, v: &str) -> Self {
        self.api_version = Some(v.to_owned());
        self
    }
}

/// An OpenAI deployment on the stub (`api_base` = `http://127.0.0.1:PORT/v1`).
pub fn openai(stub: &Stub, upstream_model: &str) -> Dep {
    openai_at(&format!("{}/v1", stub.base()), upstream_model)
}

pub fn openai_at(api_base: &str, upstream_model: &str) -> Dep {
    Dep {
        provider: ProviderKind::Openai,
        api_base: api_base.to_owned(),
        upstream_model: upstream_model.to_owned(),
        api_version: None,
        weight: 1,
        api_key: None,
    }
}

pub fn anthropic(stub: &Stub, upstream_model: &str) -> Dep {
    Dep {
        provider: ProviderKind::Anthropic,
        ..openai_at(&stub.base(), upstream_model)
    }
}

pub fn azure(stub: &Stub, deployment: &str) -> Dep {
    Dep {
        provider: ProviderKind::Azure,
        ..openai_at(&stub.base(), deployment)
    }
}

/// The deployment ids of a stored route, in order.
pub fn dep_ids(r: &Route) -> Vec<String> {
    r.deployments.iter().map(|d| d.id.to_string()).collect()
}
