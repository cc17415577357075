//! The route table of one gateway instance: routes for this instance or for all, indexed for the
//! lookup order exact name -> longest prefix wildcard -> `*`, with aliases and header matching.

use crate::balance::{Candidate, DeploymentState};
use http::HeaderMap;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Arc;
use tollgate_domain::routing::{Deployment, Pattern, Route};

/// A deployment ready to call: its row, its resolved secret and its live state.
pub struct DeploymentEntry {
    pub deployment: Deployment,
    pub api_key: Option<SecretString>,
    /// Why the credential could not be resolved; such a deployment is skipped.
    pub credential_error: Option<String>,
    pub state: Arc<DeploymentState>,
    /// Its price, resolved when the snapshot is built (see `charge::resolve_price`).
    pub price: Option<tollgate_domain::pricing::Price>,
    /// A wildcard deployment without prices of its own: the model it forwards is known only
    /// per request, so its price is looked up then (`price` is the route's fallback).
    pub price_per_request: bool,
}

impl Candidate for DeploymentEntry {
    fn weight(&self) -> u64 {
        u64::try_from(self.deployment.weight).unwrap_or(0)
    }
    fn state(&self) -> &DeploymentState {
        &self.state
    }
}

impl DeploymentEntry {
    /// The model name sent upstream: the deployment's own, or for a wildcard route the part of
    /// the requested name the wildcard matched.
    pub fn upstream_model<'a>(&'a self, matched_suffix: Option<&'a str>) -> &'a str {
        let own = self.deployment.upstream_model.as_str();
        match matched_suffix {
            Some(suffix) if own.is_empty() || own == "*" => suffix,
            _ => own,
        }
    }
}

pub struct RouteEntry {
    pub route: Route,
    pub deployments: Vec<Arc<DeploymentEntry>>,
}

impl RouteEntry {
    fn headers_match(&self, headers: &HeaderMap) -> bool {
        self.route.header_match.iter().all(|(name, want)| {
            headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v == want)
        })
    }

    /// Instance-specific routes beat global ones; more header conditions beat fewer.
    fn rank(&self) -> (bool, usize) {
        (self.route.instance.is_some(), self.route.header_match.len())
    }
}

/// A resolved request: the route, and the suffix a wildcard matched (for the upstream model).
pub struct Resolved<'a> {
    pub entry: &'a Arc<RouteEntry>,
    pub suffix: Option<String>,
}

#[derive(Default)]
pub struct RouteTable {
    exact: HashMap<String, Vec<Arc<RouteEntry>>>,
    /// (prefix without `*`, routes), longest prefix first.
    prefixes: Vec<(String, Vec<Arc<RouteEntry>>)>,
    any: Vec<Arc<RouteEntry>>,
}

/// How many aliases may chain before the lookup gives up (a loop is a configuration error).
const MAX_ALIAS_DEPTH: usize = 4;

impl RouteTable {
    /// Builds the table from the routes that serve `instance`.
    pub fn build(routes: Vec<RouteEntry>, instance: &str) -> RouteTable {
        let mut table = RouteTable::default();
        let mut prefixes: HashMap<String, Vec<Arc<RouteEntry>>> = HashMap::new();
        for entry in routes {
            if entry
                .route
                .instance
                .as_deref()
                .is_some_and(|i| i != instance)
            {
                continue;
            }
            let name = entry.route.model_name.clone();
            let entry = Arc::new(entry);
            match Pattern::parse(&name) {
                Pattern::Exact(e) => table.exact.entry(e.to_owned()).or_default().push(entry),
                Pattern::Prefix(p) => prefixes.entry(p.to_owned()).or_default().push(entry),
                Pattern::Any => table.any.push(entry),
            }
        }
        let sort = |v: &mut Vec<Arc<RouteEntry>>| v.sort_by_key(|e| std::cmp::Reverse(e.rank()));
        table.exact.values_mut().for_each(sort);
        table.any.sort_by_key(|e| std::cmp::Reverse(e.rank()));
        table.prefixes = prefixes.into_iter().collect();
        table.prefixes.iter_mut().for_each(|(_, v)| sort(v));
        table
            .prefixes
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        table
    }

    /// The route for `model`, following aliases.
    pub fn resolve(&self, model: &str, headers: &HeaderMap) -> Option<Resolved<'_>> {
        let mut name = model.to_owned();
        for _ in 0..MAX_ALIAS_DEPTH {
            let found = self.lookup(&name, headers)?;
            match &found.entry.route.alias_of {
                Some(target) => name = target.clone(),
                None => return Some(found),
            }
        }
        None
    }

    fn lookup(&self, model: &str, headers: &HeaderMap) -> Option<Resolved<'_>> {
        let first = |bucket: &'_ [Arc<RouteEntry>]| -> Option<usize> {
            bucket.iter().position(|e| e.headers_match(headers))
        };
        if let Some(bucket) = self.exact.get(model)
            && let Some(i) = first(bucket)
        {
            return bucket.get(i).map(|entry| Resolved {
                entry,
                suffix: None,
            });
        }
        for (prefix, bucket) in &self.prefixes {
            if let Some(rest) = model
                .strip_prefix(prefix.as_str())
                .filter(|r| !r.is_empty())
                && let Some(i) = first(bucket)
            {
                return bucket.get(i).map(|entry| Resolved {
                    entry,
                    suffix: Some(rest.to_owned()),
                });
            }
        }
        first(&self.any)
            .and_then(|i| self.any.get(i))
            .map(|entry| Resolved {
                entry,
                suffix: Some(model.to_owned()),
            })
    }

    /// Exact model names (and aliases) this instance serves, for `GET /v1/models`.
    pub fn model_names(&self) -> impl Iterator<Item = &str> {
        self.exact.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tollgate_domain::routing::{RouteSource, Strategy};
    use tollgate_domain::{RouteId, Timestamp};

    fn route(
        name: &str,
        instance: Option<&str>,
        headers: &[(&str, &str)],
        alias_of: Option<&str>,
    ) -> RouteEntry {
        RouteEntry {
            route: Route {
                id: RouteId::new(),
                instance: instance.map(str::to_owned),
                model_name: name.to_owned(),
                alias_of: alias_of.map(str::to_owned),
                strategy: Strategy::Weighted,
                timeout_ms: None,
                stream_idle_timeout_ms: None,
                retries: 0,
                fallbacks: vec![],
                header_match: headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<BTreeMap<_, _>>(),
                source: RouteSource::Db,
                deployments: vec![],
                created_at: Timestamp(0),
                updated_at: Timestamp(0),
            },
            deployments: vec![],
        }
    }

    fn table() -> RouteTable {
        RouteTable::build(
            vec![
                route("gpt-4o", None, &[], None),
                route("gpt-4o", Some("eu"), &[], None),
                route("gpt-4o", None, &[("x-canary", "true")], None),
                route("anthropic/*", None, &[], None),
                route("anthropic/claude-*", None, &[], None),
                route("*", None, &[], None),
                route("fast", None, &[], Some("gpt-4o")),
                route("loop-a", None, &[], Some("loop-b")),
                route("loop-b", None, &[], Some("loop-a")),
                route("other-only", Some("us"), &[], None),
            ],
            "default",
        )
    }

    fn resolve(
        t: &RouteTable,
        model: &str,
        headers: &HeaderMap,
    ) -> Option<(String, Option<String>, usize)> {
        t.resolve(model, headers).map(|r| {
            (
                r.entry.route.model_name.clone(),
                r.suffix,
                r.entry.route.header_match.len(),
            )
        })
    }

    #[test]
    fn precedence_is_exact_then_longest_prefix_then_any() {
        let t = table();
        let h = HeaderMap::new();
        assert_eq!(resolve(&t, "gpt-4o", &h), Some(("gpt-4o".into(), None, 0)));
        assert_eq!(
            resolve(&t, "anthropic/claude-3", &h),
            Some(("anthropic/claude-*".into(), Some("3".into()), 0))
        );
        assert_eq!(
            resolve(&t, "anthropic/other", &h),
            Some(("anthropic/*".into(), Some("other".into()), 0))
        );
        assert_eq!(
            resolve(&t, "mistral-large", &h),
            Some(("*".into(), Some("mistral-large".into()), 0))
        );
        assert_eq!(
            resolve(&t, "other-only", &h).map(|r| r.0),
            Some("*".into()),
            "another instance's route is invisible"
        );
    }

    #[test]
    fn header_matched_routes_take_canary_traffic() {
        let t = table();
        let mut h = HeaderMap::new();
        h.insert("x-canary", "true".parse().unwrap());
        assert_eq!(resolve(&t, "gpt-4o", &h).map(|r| r.2), Some(1));
        h.insert("x-canary", "false".parse().unwrap());
        assert_eq!(resolve(&t, "gpt-4o", &h).map(|r| r.2), Some(0));
    }

    #[test]
    fn aliases_follow_and_loops_end() {
        let t = table();
        let h = HeaderMap::new();
        assert_eq!(resolve(&t, "fast", &h).map(|r| r.0), Some("gpt-4o".into()));
        assert!(t.resolve("loop-a", &h).is_none());
    }

    #[test]
    fn instance_routes_beat_global_ones() {
        let t = RouteTable::build(
            vec![
                route("gpt-4o", None, &[], None),
                route("gpt-4o", Some("eu"), &[], None),
            ],
            "eu",
        );
        let r = t.resolve("gpt-4o", &HeaderMap::new()).unwrap();
        assert_eq!(r.entry.route.instance.as_deref(), Some("eu"));
    }
}
