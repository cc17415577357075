//! Routes, credentials and price overrides over HTTP against a real `tollgate serve`: every
//! endpoint as every role, bad input refused by field with nothing stored, a route made through
//! the API answering at the gateway (with a sealed credential sent upstream), config routes
//! listed read-only, and a price override charged.

use super::analytics::wait_for_requests;
use super::harness::{ask, wait_until};
use super::keys::{EVERYONE, Who, expect, world_with};
use reqwest::{Client, Method, StatusCode as S};
use serde_json::{Value, json};

/// The secret key that seals credentials in these tests (32 bytes as hex).
const SECRET_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_exactly_its_rights_on_routes_credentials_and_prices() {
    let w = world_with(&[("TOLLGATE_SECRET_KEY", SECRET_KEY)]).await;
    let read = [
        (Who::Master, S::OK),
        (Who::Viewer, S::OK),
        (Who::TeamAdmin, S::OK),
        (Who::Member, S::OK),
        (Who::Outsider, S::OK),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    let write = [
        (Who::Master, S::CREATED),
        (Who::Viewer, S::FORBIDDEN),
        (Who::TeamAdmin, S::FORBIDDEN),
        (Who::Member, S::FORBIDDEN),
        (Who::Outsider, S::FORBIDDEN),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    let removed = write.map(|(w, s)| (w, if s == S::CREATED { S::NO_CONTENT } else { s }));
    let priced = write.map(|(w, s)| (w, if s == S::CREATED { S::OK } else { s }));
    for (i, who) in EVERYONE.into_iter().enumerate() {
        for path in ["/api/v1/routes", "/api/v1/credentials", "/api/v1/prices"] {
            let (status, _) = w.call(who, Method::GET, path, None).await;
            assert_eq!(status, expect(who, &read), "{who:?} reads {path}");
        }
        let model = format!("m{i}");
        let (status, body) = w
            .call(
                who,
                Method::POST,
                "/api/v1/routes",
                Some(json!({"model_name": model, "deployments": [{"provider": "openai", "upstream_model": "gpt-4o"}]})),
            )
            .await;
        assert_eq!(
            status,
            expect(who, &write),
            "{who:?} creates a route: {body}"
        );
        let routes = w.s.store.list_routes().await.unwrap();
        assert_eq!(
            routes.iter().any(|r| r.model_name == model),
            status == S::CREATED
        );
        let (status, body) = w
            .call(
                who,
                Method::POST,
                "/api/v1/credentials",
                Some(json!({"name": format!("c{i}"), "provider": "openai", "secret": "sk-upstream-secret"})),
            )
            .await;
        assert_eq!(
            status,
            expect(who, &write),
            "{who:?} adds a credential: {body}"
        );
        let (status, _) = w
            .call(
                who,
                Method::PUT,
                "/api/v1/prices",
                Some(json!({"pattern": model, "input_per_mtok": 1_000_000, "output_per_mtok": 2_000_000})),
            )
            .await;
        assert_eq!(status, expect(who, &priced), "{who:?} sets a price");
        // Deleting: a route, a credential and a price the master key made for this caller.
        let victim = format!("del{i}");
        let (_, route) = w
            .call(
                Who::Master,
                Method::POST,
                "/api/v1/routes",
                Some(json!({"model_name": victim, "deployments": [{"provider": "openai", "upstream_model": "m"}]})),
            )
            .await;
        let (_, cred) = w
            .call(
                Who::Master,
                Method::POST,
                "/api/v1/credentials",
                Some(json!({"name": victim, "provider": "openai", "reference": "env:X"})),
            )
            .await;
        w.call(
            Who::Master,
            Method::PUT,
            "/api/v1/prices",
            Some(json!({"pattern": victim, "input_per_mtok": 1, "output_per_mtok": 1})),
        )
        .await;
        for path in [
            format!("/api/v1/routes/{}", route["data"]["id"].as_str().unwrap()),
            format!(
                "/api/v1/credentials/{}",
                cred["data"]["id"].as_str().unwrap()
            ),
            format!("/api/v1/prices/{victim}"),
        ] {
            let (status, _) = w.call(who, Method::DELETE, &path, None).await;
            assert_eq!(status, expect(who, &removed), "{who:?} deletes {path}");
        }
        let gone =
            !w.s.store
                .list_routes()
                .await
                .unwrap()
                .iter()
                .any(|r| r.model_name == victim);
        assert_eq!(gone, expect(who, &removed) == S::NO_CONTENT, "{who:?}");
    }
    // No answer, list or audit entry holds a secret.
    let (_, creds) = w
        .call(Who::Viewer, Method::GET, "/api/v1/credentials", None)
        .await;
    assert!(!creds.to_string().contains("sk-upstream-secret"), "{creds}");
    assert_eq!(
        creds["data"][0]["reference"],
        Value::Null,
        "stored encrypted"
    );
    let audit =
        w.s.store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
    assert!(audit.iter().any(|e| e.action == "credential.create"));
    for e in audit {
        assert!(
            !format!("{:?}{:?}", e.before, e.after).contains("sk-upstream-secret"),
            "{e:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_made_through_the_api_serves_with_its_sealed_credential_and_price() {
    let w = world_with(&[("TOLLGATE_SECRET_KEY", SECRET_KEY)]).await;
    let base = w.s.server.base.clone();
    // The stub upstream is the config route's: its base, read from the config route listed.
    let (status, listed) = w
        .call(Who::Member, Method::GET, "/api/v1/routes", None)
        .await;
    assert_eq!(status, S::OK);
    let config = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model_name"] == "ping")
        .cloned()
        .unwrap();
    assert_eq!(
        config["source"], "config",
        "tollgate.toml's route, read-only"
    );
    let api_base = config["deployments"][0]["api_base"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, cred) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/credentials",
            Some(json!({"name": "stub", "provider": "openai", "secret": "sk-upstream-secret"})),
        )
        .await;
    assert_eq!(status, S::CREATED, "{cred}");
    let (status, route) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/routes",
            Some(json!({
                "model_name": "db-model",
                "retries": 1,
                "deployments": [{"provider": "openai", "upstream_model": "gpt-4o", "api_base": api_base, "credential_id": cred["data"]["id"]}],
            })),
        )
        .await;
    assert_eq!(status, S::CREATED, "{route}");
    let (status, _) = w
        .call(
            Who::Master,
            Method::PUT,
            "/api/v1/prices",
            Some(json!({"pattern": "db-model", "input_per_mtok": 1_000_000, "output_per_mtok": 2_000_000})),
        )
        .await;
    assert_eq!(status, S::OK);
    // A deployment price on the route would win; the upstream model's table price comes first,
    // so the override is set on the upstream model too.
    let (status, _) = w
        .call(
            Who::Master,
            Method::PUT,
            "/api/v1/prices",
            Some(json!({"pattern": "gpt-4o", "input_per_mtok": 1_000_000, "output_per_mtok": 2_000_000})),
        )
        .await;
    assert_eq!(status, S::OK);

    let (_, made) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/keys",
            Some(json!({"alias": "routes"})),
        )
        .await;
    let key = made["secret"].as_str().unwrap().to_owned();
    wait_until("the new route answers", || async {
        ask(&base, &key, "db-model").await == 200
    })
    .await;
    // 10 prompt tokens at $1/M and 10,000 completion tokens at $2/M: $0.02001.
    let body = wait_for_requests(&w.s.server, "model=db-model", 1).await;
    assert_eq!(body["totals"]["cost_micros"], 20_010, "{body:#}");

    // The credential is in use: it cannot be deleted; the route can, and then the model is gone.
    let (status, body) = w
        .call(
            Who::Master,
            Method::DELETE,
            &format!(
                "/api/v1/credentials/{}",
                cred["data"]["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, S::CONFLICT, "{body}");
    let (status, _) = w
        .call(
            Who::Master,
            Method::DELETE,
            &format!("/api/v1/routes/{}", route["data"]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, S::NO_CONTENT);
    wait_until("the deleted route is gone", || async {
        ask(&base, &key, "db-model").await == 404
    })
    .await;
    // A config route is not the API's to delete.
    let (status, _) = w
        .call(
            Who::Master,
            Method::DELETE,
            &format!("/api/v1/routes/{}", config["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, S::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_routes_credentials_and_prices_are_refused_by_field() {
    // No secret key: secrets cannot be sealed, references still work.
    let w = super::keys::world().await;
    let store = w.s.store.clone();
    let dep = json!({"provider": "openai", "upstream_model": "gpt-4o"});
    for (bad, field) in [
        (
            json!({"model_name": "a*b", "deployments": [dep]}),
            "model_name",
        ),
        (
            json!({"model_name": " ", "deployments": [dep]}),
            "model_name",
        ),
        (json!({"model_name": "x"}), "deployments"),
        (
            json!({"model_name": "x", "instance": "Prod EU", "deployments": [dep]}),
            "instance",
        ),
        (
            json!({"model_name": "x", "retries": 11, "deployments": [dep]}),
            "retries",
        ),
        (
            json!({"model_name": "x", "timeout_ms": 0, "deployments": [dep]}),
            "timeout_ms",
        ),
        (
            json!({"model_name": "x", "fallbacks": ["y*"], "deployments": [dep]}),
            "fallbacks",
        ),
        (
            json!({"model_name": "x", "header_match": {"bad header": "1"}, "deployments": [dep]}),
            "header_match",
        ),
        (
            json!({"model_name": "x", "alias_of": "y", "deployments": [dep]}),
            "alias_of",
        ),
        (
            json!({"model_name": "x", "strategy": "random", "deployments": [dep]}),
            "strategy",
        ),
        (
            json!({"model_name": "x", "deployments": [{"provider": "openai"}]}),
            "deployments[0].upstream_model",
        ),
        (
            json!({"model_name": "x", "deployments": [{"provider": "azure", "upstream_model": "m"}]}),
            "deployments[0].api_base",
        ),
        (
            json!({"model_name": "x", "deployments": [{"provider": "openai", "upstream_model": "m", "api_base": "javascript:alert(1)"}]}),
            "deployments[0].api_base",
        ),
        (
            json!({"model_name": "x", "deployments": [{"provider": "openai", "upstream_model": "m", "weight": -1}]}),
            "deployments[0].weight",
        ),
        (
            json!({"model_name": "x", "deployments": [{"provider": "openai", "upstream_model": "m", "credential_id": "01a25122-d448-72ec-8046-6490ba12b93a"}]}),
            "deployments[0].credential_id",
        ),
        (
            json!({"model_name": "x", "deployments": [{"provider": "cohere", "upstream_model": "m"}]}),
            "provider",
        ),
        (
            json!({"model_name": "x", "deployments": [dep], "surprise": true}),
            "surprise",
        ),
    ] {
        let (status, body) = w
            .call(
                Who::Master,
                Method::POST,
                "/api/v1/routes",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, S::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body.to_string().contains(field),
            "{bad} names {field}: {body}"
        );
    }
    assert!(
        store.list_routes().await.unwrap().is_empty(),
        "nothing stored"
    );
    // A route twice for the same instance and headers is a conflict.
    let ok = json!({"model_name": "x", "deployments": [dep]});
    let (status, _) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/routes",
            Some(ok.clone()),
        )
        .await;
    assert_eq!(status, S::CREATED);
    let (status, body) = w
        .call(Who::Master, Method::POST, "/api/v1/routes", Some(ok))
        .await;
    assert_eq!(status, S::CONFLICT, "{body}");
    w.refuses_oversized("/api/v1/routes", "model_name").await;

    // Editing: the whole route is replaced under its id; refusals change nothing.
    let id = store.list_routes().await.unwrap()[0].id;
    let (status, _) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/routes",
            Some(json!({"model_name": "y", "deployments": [dep]})),
        )
        .await;
    assert_eq!(status, S::CREATED);
    let path = format!("/api/v1/routes/{id}");
    let before = store.get_route(id).await.unwrap();
    for (who, body, want) in [
        (
            Who::Viewer,
            json!({"model_name": "x", "retries": 2, "deployments": [dep]}),
            S::FORBIDDEN,
        ),
        (
            Who::TeamAdmin,
            json!({"model_name": "x", "retries": 2, "deployments": [dep]}),
            S::FORBIDDEN,
        ),
        (
            Who::SignedOut,
            json!({"model_name": "x", "retries": 2, "deployments": [dep]}),
            S::UNAUTHORIZED,
        ),
        (
            Who::Master,
            json!({"model_name": "y", "deployments": [dep]}),
            S::CONFLICT,
        ),
        (
            Who::Master,
            json!({"model_name": "x", "retries": 99, "deployments": [dep]}),
            S::BAD_REQUEST,
        ),
        (Who::Master, json!({"model_name": "x"}), S::BAD_REQUEST),
    ] {
        let (status, answer) = w.call(who, Method::PUT, &path, Some(body.clone())).await;
        assert_eq!(status, want, "{who:?} {body}: {answer}");
        assert_eq!(store.get_route(id).await.unwrap(), before, "unchanged");
    }
    let (status, edited) = w
        .call(
            Who::Master,
            Method::PUT,
            &path,
            Some(json!({"model_name": "x", "retries": 2, "strategy": "least_busy", "deployments": [dep, {"provider": "anthropic", "upstream_model": "claude"}]})),
        )
        .await;
    assert_eq!(status, S::OK, "{edited}");
    let after = store.get_route(id).await.unwrap();
    assert_eq!((after.retries, after.deployments.len()), (2, 2));
    assert_eq!(after.created_at, before.created_at);
    let (status, _) = w
        .call(
            Who::Master,
            Method::PUT,
            &format!("/api/v1/routes/{}", tollgate_domain::RouteId::new()),
            Some(json!({"model_name": "z", "deployments": [dep]})),
        )
        .await;
    assert_eq!(status, S::NOT_FOUND);

    for (bad, field) in [
        (
            json!({"name": "c", "provider": "openai", "secret": "sk-x"}),
            "TOLLGATE_SECRET_KEY",
        ),
        (json!({"name": "c", "provider": "openai"}), "secret"),
        (
            json!({"name": "c", "provider": "openai", "reference": "OPENAI_API_KEY"}),
            "reference",
        ),
        (
            json!({"name": "c", "provider": "openai", "reference": "env:A", "secret": "s"}),
            "secret",
        ),
        (
            json!({"name": "c", "provider": "nope", "reference": "env:A"}),
            "provider",
        ),
        (
            json!({"name": " ", "provider": "openai", "reference": "env:A"}),
            "name",
        ),
    ] {
        let (status, body) = w
            .call(
                Who::Master,
                Method::POST,
                "/api/v1/credentials",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, S::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body.to_string().contains(field),
            "{bad} names {field}: {body}"
        );
    }
    assert!(store.list_credentials().await.unwrap().is_empty());
    let (status, made) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/credentials",
            Some(json!({"name": "<b>env</b>", "provider": "anthropic", "reference": "env:ANTHROPIC_API_KEY"})),
        )
        .await;
    assert_eq!(status, S::CREATED, "{made}");
    assert_eq!(made["data"]["reference"], "env:ANTHROPIC_API_KEY");

    for (bad, field) in [
        (
            json!({"pattern": "a*b", "input_per_mtok": 1, "output_per_mtok": 1}),
            "pattern",
        ),
        (
            json!({"pattern": "m", "input_per_mtok": -1, "output_per_mtok": 1}),
            "input_per_mtok",
        ),
        (
            json!({"pattern": "m", "input_per_mtok": 1}),
            "output_per_mtok",
        ),
    ] {
        let (status, body) = w
            .call(
                Who::Master,
                Method::PUT,
                "/api/v1/prices",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, S::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body.to_string().contains(field),
            "{bad} names {field}: {body}"
        );
    }
    assert!(store.list_model_prices().await.unwrap().is_empty());
    let (status, _) = w
        .call(
            Who::Master,
            Method::DELETE,
            "/api/v1/prices/nothing-here",
            None,
        )
        .await;
    assert_eq!(status, S::NOT_FOUND);
}

/// Every route of the admin API added with the portal issue is in the OpenAPI document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_new_route() {
    let w = super::keys::world().await;
    let (_, doc) = w
        .call(Who::SignedOut, Method::GET, "/api/v1/openapi.json", None)
        .await;
    for (path, method) in [
        ("/api/v1/keys/{id}/rotate", "post"),
        ("/key/regenerate", "post"),
        ("/api/v1/teams", "get"),
        ("/api/v1/teams", "post"),
        ("/api/v1/teams/{id}", "get"),
        ("/api/v1/teams/{id}", "put"),
        ("/api/v1/teams/{id}", "delete"),
        ("/api/v1/teams/{id}/policy", "put"),
        ("/api/v1/teams/{id}/members", "post"),
        ("/api/v1/teams/{id}/members/{user}", "put"),
        ("/api/v1/teams/{id}/members/{user}", "delete"),
        ("/api/v1/users", "get"),
        ("/api/v1/users", "post"),
        ("/api/v1/users/{id}", "patch"),
        ("/api/v1/users/{id}", "delete"),
        ("/api/v1/users/{id}/password", "post"),
        ("/api/v1/audit", "get"),
        ("/api/v1/audit.csv", "get"),
        ("/api/v1/routes", "get"),
        ("/api/v1/routes", "post"),
        ("/api/v1/routes/{id}", "delete"),
        ("/api/v1/routes/{id}", "put"),
        ("/api/v1/routes/{id}/test", "post"),
        ("/api/v1/credentials", "get"),
        ("/api/v1/credentials", "post"),
        ("/api/v1/credentials/{id}", "delete"),
        ("/api/v1/prices", "get"),
        ("/api/v1/prices", "put"),
        ("/api/v1/prices/{pattern}", "delete"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
}

/// A LiteLLM config pasted in the portal: previewed without writing, refused by field when it is
/// not one, and applied (credential references and routes), audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_litellm_config_is_previewed_then_applied() {
    let w = super::keys::world().await;
    let config = "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: os.environ/OPENAI_API_KEY\n  - model_name: titan\n    litellm_params:\n      model: bedrock/amazon.titan\nrouter_settings:\n  num_retries: 2\n";
    let form = |config: &str, instance: &str| {
        vec![
            ("config", config.to_owned()),
            ("instance", instance.to_owned()),
        ]
    };
    let call = |name: &'static str, form: Vec<(&'static str, String)>| {
        let base = w.s.server.base.clone();
        async move {
            let r = Client::new()
                .post(format!("{base}/rpc/{name}"))
                .bearer_auth(super::harness::MASTER)
                .form(&form)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, preview) = call("preview_litellm_import", form(config, "")).await;
    assert_eq!(status, S::OK, "{preview}");
    assert_eq!(preview["routes"].as_array().unwrap().len(), 1);
    assert_eq!(preview["routes"][0]["retries"], 2);
    assert_eq!(preview["credentials"], json!(["env:OPENAI_API_KEY"]));
    assert!(
        preview["not_converted"].to_string().contains("bedrock"),
        "{preview}"
    );
    assert!(
        w.s.store.list_routes().await.unwrap().is_empty(),
        "a preview writes nothing"
    );
    for (bad, field, said) in [
        (form("model_list: [", ""), "config", "not a LiteLLM config"),
        (form("just text", ""), "config", "not a LiteLLM config"),
        (form(config, "Prod EU"), "instance", "not an instance name"),
        (
            form(&"a".repeat(600 * 1024), ""),
            "config",
            "at most 512 KiB",
        ),
    ] {
        let (status, body) = call("apply_litellm_import", bad).await;
        assert_eq!(status, S::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["Invalid"]["field"], field, "{body}");
        assert!(body.to_string().contains(said), "{said}: {body}");
    }
    assert!(w.s.store.list_routes().await.unwrap().is_empty());
    let (status, report) = call("apply_litellm_import", form(config, "")).await;
    assert_eq!(status, S::OK, "{report}");
    assert_eq!(
        report,
        json!([
            "credential env:OPENAI_API_KEY created",
            "route gpt-4o created with 1 deployment(s)"
        ])
    );
    let routes = w.s.store.list_routes().await.unwrap();
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].retries, 2);
    let audit =
        w.s.store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 5,
                action_prefix: Some("routes.import".into()),
                ..Default::default()
            })
            .await
            .unwrap();
    assert_eq!(audit.len(), 1);
}

/// What the test upstream saw: each request's path, `Authorization` and body.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Value)>>>;

/// An OpenAI-compatible upstream for route tests: `/ok` answers, `/down` fails with 503,
/// `/refuse` refuses with the provider's own 400; every request is recorded.
async fn test_upstream() -> (String, Seen) {
    use axum::extract::{Path, State};
    use axum::response::IntoResponse;
    let seen: Seen = Default::default();
    let app = axum::Router::new()
        .route(
            "/{kind}/v1/chat/completions",
            axum::routing::post(
                |State(seen): State<Seen>,
                 Path(kind): Path<String>,
                 headers: http::HeaderMap,
                 axum::Json(body): axum::Json<Value>| async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock().unwrap().push((kind.clone(), auth, body.clone()));
                    match kind.as_str() {
                        "down" => (http::StatusCode::SERVICE_UNAVAILABLE, "overloaded").into_response(),
                        "refuse" => (
                            http::StatusCode::BAD_REQUEST,
                            axum::Json(json!({"error": {"message": "max_tokens is too small for this <b>model</b>", "type": "invalid_request_error"}})),
                        )
                            .into_response(),
                        _ => axum::Json(json!({
                            "id": "t", "object": "chat.completion", "created": 1, "model": body["model"],
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong <script>alert(1)</script>"}, "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}
                        }))
                        .into_response(),
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_test_goes_through_retries_and_fallbacks_and_charges_nothing() {
    let w = world_with(&[("TOLLGATE_SECRET_KEY", SECRET_KEY)]).await;
    let (up, seen) = test_upstream().await;
    let make = |body: Value| {
        let w = &w;
        async move {
            let (status, made) = w
                .call(Who::Master, Method::POST, "/api/v1/routes", Some(body))
                .await;
            assert_eq!(status, S::CREATED, "{made}");
            made["data"]["id"].as_str().unwrap().to_owned()
        }
    };
    // A test of the route `id` by the master key with `body`.
    let test = |id: String, body: Value| {
        let w = &w;
        async move {
            w.call(
                Who::Master,
                Method::POST,
                &format!("/api/v1/routes/{id}/test"),
                Some(body),
            )
            .await
        }
    };
    let (_, cred) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/credentials",
            Some(json!({"name": "up", "provider": "openai", "secret": "sk-upstream-secret"})),
        )
        .await;
    make(json!({
        "model_name": "backup",
        "deployments": [{"provider": "openai", "upstream_model": "backup-model", "api_base": format!("{up}/ok/v1"), "credential_id": cred["data"]["id"]}],
    }))
    .await;
    // The failing deployment always comes first (all the weight); the disabled one is skipped.
    let tested = make(json!({
        "model_name": "tested",
        "retries": 0,
        "fallbacks": ["backup"],
        "deployments": [
            {"provider": "openai", "upstream_model": "first", "api_base": format!("{up}/down/v1"), "weight": 1000},
            {"provider": "openai", "upstream_model": "second", "api_base": format!("{up}/ok/v1"), "weight": 0},
            {"provider": "openai", "upstream_model": "off", "api_base": format!("{up}/ok/v1"), "enabled": false},
        ],
    }))
    .await;
    let path = format!("/api/v1/routes/{tested}/test");

    // Only admins test a route (it reaches a paid upstream); a refusal sends nothing.
    for who in EVERYONE {
        let (status, body) = w.call(who, Method::POST, &path, Some(json!({}))).await;
        let want = match who {
            Who::Master => S::OK,
            Who::SignedOut => S::UNAUTHORIZED,
            _ => S::FORBIDDEN,
        };
        assert_eq!(status, want, "{who:?}: {body}");
        // The master key goes first and sends two requests; nobody after it sends any.
        assert_eq!(seen.lock().unwrap().len(), 2, "{who:?}");
        if who != Who::Master {
            continue;
        }
        let r = &body["data"];
        assert_eq!(r["ok"], true, "{r:#}");
        assert_eq!(r["status"], 200);
        assert_eq!(r["model"], "tested");
        // Shown as text by the page, stored as the upstream sent it.
        assert_eq!(r["reply"], "pong <script>alert(1)</script>");
        assert_eq!(
            (r["prompt_tokens"].as_u64(), r["completion_tokens"].as_u64()),
            (Some(12), Some(2))
        );
        let outcomes: Vec<(&str, &str)> = r["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["route"].as_str().unwrap(), a["outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("tested", "skipped"),
                ("tested", "upstream_5xx"),
                ("backup", "ok")
            ],
            "retries 0: the second deployment is not tried, the fallback is"
        );
        assert_eq!(r["attempts"][0]["detail"], "disabled");
        assert!(r["attempts"][2]["latency_ms"].as_f64().unwrap() > 0.0);
        assert!(
            r["latency_ms"].as_f64().unwrap() >= r["attempts"][2]["latency_ms"].as_f64().unwrap()
        );
    }
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].0, "down");
        assert_eq!(seen[0].2["model"], "first");
        // The fallback's sealed credential reached its upstream, and a test asks for little.
        assert_eq!(
            (seen[1].0.as_str(), seen[1].1.as_str()),
            ("ok", "Bearer sk-upstream-secret")
        );
        assert_eq!(seen[1].2["model"], "backup-model");
        assert_eq!(seen[1].2["max_tokens"], 16);
    }
    // Charged to no key, and audited as the master key's test.
    let logs =
        w.s.store
            .list_spend_logs(&tollgate_domain::analytics::LogQuery::default())
            .await
            .unwrap();
    assert!(logs.entries.is_empty(), "{:?}", logs.entries);
    let audit =
        w.s.store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
    let tests: Vec<_> = audit.iter().filter(|e| e.action == "route.test").collect();
    assert_eq!(tests.len(), 1, "{audit:?}");
    assert_eq!(tests[0].object_id.as_deref(), Some(tested.as_str()));
    let after: Value = serde_json::from_str(tests[0].after.as_deref().unwrap()).unwrap();
    assert_eq!(after["ok"], true);

    // The upstream's own refusal is the answer (not retried), its message shown.
    let refusing = make(json!({
        "model_name": "refusing",
        "retries": 3,
        "deployments": [
            {"provider": "openai", "upstream_model": "a", "api_base": format!("{up}/refuse/v1")},
            {"provider": "openai", "upstream_model": "b", "api_base": format!("{up}/refuse/v1")},
        ],
    }))
    .await;
    let (status, body) = test(refusing.clone(), json!({})).await;
    assert_eq!(status, S::OK, "{body}");
    let r = &body["data"];
    assert_eq!(
        (r["ok"].as_bool(), r["status"].as_u64()),
        (Some(false), Some(400)),
        "{r:#}"
    );
    assert_eq!(r["error"], "max_tokens is too small for this <b>model</b>");
    assert_eq!(r["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(r["attempts"][0]["outcome"], "upstream_4xx");

    // Every deployment failing: the gateway's status for the last failure, each attempt listed.
    let down = make(json!({
        "model_name": "down",
        "retries": 1,
        "deployments": [
            {"provider": "openai", "upstream_model": "a", "api_base": format!("{up}/down/v1")},
            {"provider": "openai", "upstream_model": "b", "api_base": "http://127.0.0.1:9/v1"},
        ],
    }))
    .await;
    let (_, body) = test(down.clone(), json!({})).await;
    let r = &body["data"];
    assert_eq!(r["ok"], false, "{r:#}");
    assert_eq!(r["status"], 502);
    let mut kinds: Vec<&str> = r["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["connect", "upstream_5xx"]);
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .starts_with("the upstream failed after 2 attempt(s)"),
        "{r:#}"
    );

    // A wildcard route is tested with a model it serves; the matched suffix goes upstream.
    let wild = make(json!({
        "model_name": "acme/*",
        "deployments": [{"provider": "openai", "api_base": format!("{up}/ok/v1")}],
    }))
    .await;
    let before = seen.lock().unwrap().len();
    for (bad, why) in [
        (json!({}), "name a model"),
        (json!({"model": "other/x"}), "does not serve"),
        (json!({"model": "acme/*"}), "does not serve"),
        (json!({"model": "acme/a b"}), "no spaces"),
        (json!({"model": "x".repeat(300)}), "256"),
    ] {
        let (status, body) = test(wild.clone(), bad.clone()).await;
        assert_eq!(status, S::BAD_REQUEST, "{bad}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("model: ") && message.contains(why),
            "{bad}: {body}"
        );
    }
    // Bodies that are not a test's: an unknown field, a model that is not text.
    for (bad, why) in [
        (json!({"model": "acme/x", "prompt": "hi"}), "prompt"),
        (json!({"model": 5}), "model"),
    ] {
        let (status, body) = test(wild.clone(), bad.clone()).await;
        assert_eq!(status, S::BAD_REQUEST, "{bad}: {body}");
        assert!(body.to_string().contains(why), "{bad}: {body}");
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        before,
        "refused tests send nothing"
    );
    let (status, body) = test(wild.clone(), json!({"model": "acme/widget-1"})).await;
    assert_eq!(
        (status, body["data"]["ok"].as_bool()),
        (S::OK, Some(true)),
        "{body}"
    );
    assert_eq!(seen.lock().unwrap().last().unwrap().2["model"], "widget-1");

    // tollgate.toml's route is tested too (read-only is about editing, not testing).
    let (_, listed) = w
        .call(Who::Master, Method::GET, "/api/v1/routes", None)
        .await;
    let config = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model_name"] == "ping")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = test(config.clone(), json!({})).await;
    assert_eq!(
        (status, body["data"]["reply"].as_str()),
        (S::OK, Some("pong")),
        "{body}"
    );

    // Ids that name nothing or do not parse; bodies that are not JSON or too large.
    for p in [
        format!("/api/v1/routes/{}/test", tollgate_domain::RouteId::new()),
        "/api/v1/routes/not-an-id/test".to_owned(),
    ] {
        let (status, _) = w.call(Who::Master, Method::POST, &p, Some(json!({}))).await;
        assert_eq!(status, S::NOT_FOUND, "{p}");
    }
    let r = Client::new()
        .post(format!("{}{path}", w.s.server.base))
        .bearer_auth(super::harness::MASTER)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), S::BAD_REQUEST);
    w.refuses_oversized(&path, "model").await;
    let tests =
        w.s.store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "route.test")
            .count();
    assert_eq!(tests, 5, "one entry per test sent, none for a refused one");
}
