//! Routes with their deployments, canaries beside plain routes, and the re-sync of config routes.

use crate::harness::{T0, assert_safe, both};
use std::collections::BTreeMap;
use std::sync::Arc;
use tollgate_domain::routing::{Deployment, ProviderKind, Route, RouteSource, Strategy};
use tollgate_domain::{CredentialId, DeploymentId, Micros, RouteId, Timestamp};
use tollgate_store::{CredentialSecret, Error, NewCredential, Store};

fn route(model: &str, instance: Option<&str>) -> Route {
    Route {
        id: RouteId::new(),
        instance: instance.map(str::to_owned),
        model_name: model.to_owned(),
        alias_of: None,
        strategy: Strategy::Weighted,
        timeout_ms: None,
        stream_idle_timeout_ms: None,
        retries: 0,
        fallbacks: Vec::new(),
        header_match: BTreeMap::new(),
        source: RouteSource::Db,
        deployments: Vec::new(),
        created_at: T0,
        updated_at: T0,
    }
}

fn deployment(route: &Route, upstream: &str, created_ms: i64) -> Deployment {
    Deployment {
        id: DeploymentId::new(),
        route_id: route.id,
        provider: ProviderKind::Openai,
        upstream_model: upstream.to_owned(),
        api_base: None,
        api_version: None,
        credential_id: None,
        weight: 1,
        rpm_limit: None,
        tpm_limit: None,
        enabled: true,
        input_price_per_mtok: None,
        output_price_per_mtok: None,
        created_at: Timestamp(T0.0 + created_ms),
        updated_at: Timestamp(T0.0 + created_ms),
    }
}

/// A route with two deployments, every field set to something other than its default.
fn full_route(store_credential: Option<CredentialId>) -> Route {
    let mut r = route("claude-sonnet", Some("claude"));
    r.strategy = Strategy::LowestLatency;
    r.timeout_ms = Some(120_000);
    r.stream_idle_timeout_ms = Some(30_000);
    r.retries = 2;
    r.fallbacks = vec!["gpt-4o".to_owned(), "gpt-4o-mini".to_owned()];
    r.created_at = Timestamp(T0.0 + 5);
    r.updated_at = Timestamp(T0.0 + 6);
    let mut azure = deployment(&r, "gpt-4o-eu", 2);
    azure.provider = ProviderKind::Azure;
    azure.api_base = Some("https://eu.example.openai.azure.com".to_owned());
    azure.api_version = Some("2024-10-21".to_owned());
    azure.credential_id = store_credential;
    azure.weight = 3;
    azure.rpm_limit = Some(600);
    azure.tpm_limit = Some(90_000);
    azure.enabled = false;
    azure.input_price_per_mtok = Some(Micros(2_500_000));
    azure.output_price_per_mtok = Some(Micros(10_000_000));
    let mut anthropic = deployment(&r, "claude-sonnet-4-5", 1);
    anthropic.provider = ProviderKind::Anthropic;
    // Created first: listed first.
    r.deployments = vec![anthropic, azure];
    r
}

async fn credential(store: &dyn Store) -> CredentialId {
    let c = NewCredential {
        id: CredentialId::new(),
        name: "azure-eu".to_owned(),
        provider: "azure".to_owned(),
        secret: CredentialSecret::Reference("env:AZURE_KEY".to_owned()),
        now: T0,
    };
    store.create_credential(&c).await.unwrap().id
}

async fn create_and_read_back(store: Arc<dyn Store>) {
    let cred = credential(store.as_ref()).await;
    let r = full_route(Some(cred));
    let created = store.create_route(&r).await.unwrap();
    assert_eq!(created, r);
    assert_eq!(store.get_route(r.id).await.unwrap(), r);
    assert_eq!(store.list_routes().await.unwrap(), [r]);
    assert!(matches!(
        store.get_route(RouteId::new()).await,
        Err(Error::NotFound)
    ));
}

async fn deployments_are_stored_under_their_route(store: Arc<dyn Store>) {
    let mut r = route("gpt-4o", None);
    let mut d = deployment(&r, "gpt-4o", 0);
    d.route_id = RouteId::new();
    r.deployments = vec![d];
    let created = store.create_route(&r).await.unwrap();
    assert_eq!(created.deployments[0].route_id, r.id);
    assert_eq!(store.get_route(r.id).await.unwrap(), created);
}

async fn list_groups_deployments_by_route(store: Arc<dyn Store>) {
    // Deployments of several routes, created interleaved: each route gets its own, in order.
    let mut a = route("a-model", None);
    let mut b = route("b-model", Some("openai-eu"));
    let c = route("c-model", None);
    a.deployments = vec![deployment(&a, "a1", 1), deployment(&a, "a2", 3)];
    b.deployments = vec![
        deployment(&b, "b1", 2),
        deployment(&b, "b2", 4),
        deployment(&b, "b3", 5),
    ];
    for r in [&c, &b, &a] {
        store.create_route(r).await.unwrap();
    }
    let mut wildcard = route("anthropic/*", None);
    wildcard.deployments = vec![deployment(&wildcard, "", 0)];
    store.create_route(&wildcard).await.unwrap();

    let listed = store.list_routes().await.unwrap();
    assert_eq!(listed, [a, wildcard, b, c]);
}

async fn canary_beside_plain(store: Arc<dyn Store>) {
    let plain = route("gpt-4o", Some("openai-eu"));
    let mut canary = route("gpt-4o", Some("openai-eu"));
    canary.header_match = BTreeMap::from([("x-canary".to_owned(), "true".to_owned())]);
    store.create_route(&plain).await.unwrap();
    store.create_route(&canary).await.unwrap();
    // The same name on another instance, and on every instance, are other routes too.
    store
        .create_route(&route("gpt-4o", Some("claude")))
        .await
        .unwrap();
    store.create_route(&route("gpt-4o", None)).await.unwrap();
    assert_eq!(store.get_route(canary.id).await.unwrap(), canary);
    assert_eq!(store.list_routes().await.unwrap().len(), 4);

    // A header match is one value whatever order its keys were inserted in.
    let mut two = route("gpt-4o", Some("openai-eu"));
    two.header_match
        .insert("x-tier".to_owned(), "gold".to_owned());
    two.header_match
        .insert("x-canary".to_owned(), "true".to_owned());
    store.create_route(&two).await.unwrap();
    let mut again = route("gpt-4o", Some("openai-eu"));
    again
        .header_match
        .insert("x-canary".to_owned(), "true".to_owned());
    again
        .header_match
        .insert("x-tier".to_owned(), "gold".to_owned());
    let err = store.create_route(&again).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(store.get_route(two.id).await.unwrap(), two);
}

async fn duplicate_plain_route_is_a_conflict(store: Arc<dyn Store>) {
    let first = route("gpt-4o", None);
    store.create_route(&first).await.unwrap();
    let mut second = route("gpt-4o", None);
    second.deployments = vec![deployment(&second, "gpt-4o", 0)];
    let err = store.create_route(&second).await.unwrap_err();
    match &err {
        Error::Conflict(words) => assert!(words.contains("route"), "{words}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_safe(&err);
    // Nothing of the refused route was written.
    assert_eq!(store.list_routes().await.unwrap(), [first]);
    assert!(matches!(
        store.get_route(second.id).await,
        Err(Error::NotFound)
    ));
}

async fn a_failed_deployment_leaves_no_route(store: Arc<dyn Store>) {
    let mut r = route("gpt-4o", None);
    let mut d = deployment(&r, "gpt-4o", 0);
    d.credential_id = Some(CredentialId::new());
    r.deployments = vec![deployment(&r, "ok", 0), d];
    let err = store.create_route(&r).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    assert!(store.list_routes().await.unwrap().is_empty());
}

async fn delete_cascades_deployments(store: Arc<dyn Store>) {
    let cred = credential(store.as_ref()).await;
    let r = full_route(Some(cred));
    store.create_route(&r).await.unwrap();
    // The credential is in use while the route exists.
    assert!(matches!(
        store.delete_credential(cred).await,
        Err(Error::Conflict(_))
    ));
    store.delete_route(r.id).await.unwrap();
    assert!(matches!(store.get_route(r.id).await, Err(Error::NotFound)));
    assert!(matches!(
        store.delete_route(r.id).await,
        Err(Error::NotFound)
    ));
    // Its deployments went with it: the credential is free, and the ids can be used again.
    store.delete_credential(cred).await.unwrap();
    let mut again = full_route(None);
    again.deployments = r
        .deployments
        .iter()
        .map(|d| Deployment {
            route_id: again.id,
            credential_id: None,
            ..d.clone()
        })
        .collect();
    store.create_route(&again).await.unwrap();
    assert_eq!(store.list_routes().await.unwrap(), [again]);
}

async fn replace_config_routes_keeps_db_routes(store: Arc<dyn Store>) {
    let mut from_db = route("gpt-4o", None);
    from_db.deployments = vec![deployment(&from_db, "gpt-4o", 0)];
    store.create_route(&from_db).await.unwrap();

    let config = |model: &str| {
        let mut r = route(model, None);
        r.source = RouteSource::Config;
        r.deployments = vec![deployment(&r, model, 0)];
        r
    };
    let (a, b) = (config("a-model"), config("b-model"));
    store
        .replace_config_routes(&[a.clone(), b.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.list_routes().await.unwrap(),
        [a.clone(), b.clone(), from_db.clone()]
    );

    // The next start declares other routes: the old ones and their deployments go.
    let c = config("c-model");
    store
        .replace_config_routes(std::slice::from_ref(&c))
        .await
        .unwrap();
    assert_eq!(
        store.list_routes().await.unwrap(),
        [c.clone(), from_db.clone()]
    );
    assert!(matches!(store.get_route(a.id).await, Err(Error::NotFound)));

    // Rows are written as `config` whatever their `source` said.
    let mut d = route("d-model", None);
    d.source = RouteSource::Db;
    store.replace_config_routes(&[d.clone()]).await.unwrap();
    assert_eq!(
        store.get_route(d.id).await.unwrap().source,
        RouteSource::Config
    );

    // A config route that collides with a database route changes nothing.
    let clash = config("gpt-4o");
    let err = store
        .replace_config_routes(&[config("e-model"), clash])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let models: Vec<String> = store
        .list_routes()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.model_name)
        .collect();
    assert_eq!(models, ["d-model", "gpt-4o"]);

    store.replace_config_routes(&[]).await.unwrap();
    assert_eq!(store.list_routes().await.unwrap(), [from_db]);
}

async fn alias_and_header_match_round_trip(store: Arc<dyn Store>) {
    let mut alias = route("sonnet", Some("claude"));
    alias.alias_of = Some("claude-sonnet-4-5".to_owned());
    store.create_route(&alias).await.unwrap();
    assert_eq!(store.get_route(alias.id).await.unwrap(), alias);

    let mut odd = route("gpt-4o", None);
    odd.header_match = BTreeMap::from([
        ("x-b".to_owned(), "2".to_owned()),
        ("X-A".to_owned(), "quote \" and \\ and 山田".to_owned()),
        ("x-empty".to_owned(), String::new()),
    ]);
    store.create_route(&odd).await.unwrap();
    assert_eq!(store.get_route(odd.id).await.unwrap(), odd);
    assert_eq!(store.list_routes().await.unwrap(), [odd, alias]);
}

/// A database route is replaced whole, under its id; a refused replacement changes nothing; a
/// missing route and a config route are not found.
async fn replace_route_keeps_the_id_or_nothing(store: Arc<dyn Store>) {
    let mut first = route("gpt-4o", None);
    first.deployments = vec![
        deployment(&first, "gpt-4o", 0),
        deployment(&first, "gpt-4o-2024", 1),
    ];
    store.create_route(&first).await.unwrap();
    let mut other = route("claude", None);
    other.deployments = vec![deployment(&other, "claude", 0)];
    store.create_route(&other).await.unwrap();

    let mut changed = full_route(None);
    changed.id = first.id;
    changed.model_name = "gpt-4o".to_owned();
    changed.instance = None;
    let deployments: Vec<Deployment> = changed
        .deployments
        .iter()
        .map(|d| Deployment {
            route_id: first.id,
            ..d.clone()
        })
        .collect();
    changed.deployments = deployments;
    let replaced = store.replace_route(&changed).await.unwrap();
    assert_eq!(store.get_route(first.id).await.unwrap(), replaced);
    assert_eq!(replaced.retries, 2);
    assert_eq!(replaced.strategy, Strategy::LowestLatency);
    assert_eq!(replaced.deployments.len(), changed.deployments.len());
    assert!(replaced.deployments.iter().all(|d| d.route_id == first.id));
    assert_eq!(store.list_routes().await.unwrap().len(), 2);

    // Another route's model: a conflict, and the route stays as replaced.
    let mut clash = replaced.clone();
    clash.model_name = "claude".to_owned();
    let err = store.replace_route(&clash).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_safe(&err);
    assert_eq!(store.get_route(first.id).await.unwrap(), replaced);
    // A missing credential: nothing changes either.
    let mut dangling = replaced.clone();
    dangling.deployments[0].credential_id = Some(CredentialId::new());
    assert!(store.replace_route(&dangling).await.is_err());
    assert_eq!(store.get_route(first.id).await.unwrap(), replaced);

    assert!(matches!(
        store.replace_route(&route("nowhere", None)).await,
        Err(Error::NotFound)
    ));
    let mut config = route("from-config", None);
    config.source = RouteSource::Config;
    config.deployments = vec![deployment(&config, "m", 0)];
    store
        .replace_config_routes(&[config.clone()])
        .await
        .unwrap();
    config.retries = 5;
    assert!(matches!(
        store.replace_route(&config).await,
        Err(Error::NotFound)
    ));
}

both!(
    replace_route_keeps_the_id_or_nothing,
    create_and_read_back,
    deployments_are_stored_under_their_route,
    list_groups_deployments_by_route,
    canary_beside_plain,
    duplicate_plain_route_is_a_conflict,
    a_failed_deployment_leaves_no_route,
    delete_cascades_deployments,
    replace_config_routes_keeps_db_routes,
    alias_and_header_match_round_trip,
);
