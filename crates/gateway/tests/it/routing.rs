//! Which route serves a model name: exact, longest wildcard, `*`, aliases, header matches,
//! and routes of other instances.

use crate::harness::{Harness, anthropic, dep_ids, openai, route};
use crate::stub::Stub;
use serde_json::json;

#[tokio::test]
async fn exact_then_longest_wildcard_then_any() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    let exact = h
        .add(route("gpt-4o").deploy(openai(&stub, "gpt-4o-2024-08-06")))
        .await;
    let short = h.add(route("openai/*").deploy(openai(&stub, ""))).await;
    let long = h.add(route("openai/gpt-*").deploy(openai(&stub, ""))).await;
    let any = h.add(route("*").deploy(openai(&stub, ""))).await;
    let key = h.key().await;

    let cases = [
        ("gpt-4o", &exact, "gpt-4o-2024-08-06"),
        ("openai/gpt-5", &long, "5"),
        ("openai/o3", &short, "o3"),
        ("mistral-large", &any, "mistral-large"),
    ];
    for (model, want, upstream_model) in cases {
        let r = h
            .chat(&key.secret, &json!({"model": model, "messages": []}))
            .await;
        assert_eq!(r.status(), 200, "{model}: {:?}", stub.calls());
        assert_eq!(
            r.headers()["x-tollgate-deployment"].to_str().unwrap(),
            dep_ids(want)[0],
            "{model} is served by the route {}",
            want.model_name
        );
        assert_eq!(
            stub.last().body["model"],
            upstream_model,
            "the upstream model for {model}"
        );
    }
}

#[tokio::test]
async fn a_wildcard_forwards_the_matched_suffix_to_anthropic() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    h.add(route("anthropic/*").deploy(anthropic(&stub, "")))
        .await;
    let key = h.key().await;
    let r = h
        .post(
            "/v1/messages",
            &key.secret,
            &json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 10,
                "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let seen = stub.last();
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.body["model"], "claude-sonnet-4-5");
}

#[tokio::test]
async fn an_alias_is_served_by_its_target() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    let target = h
        .add(route("gpt-4o").deploy(openai(&stub, "gpt-4o-up")))
        .await;
    h.add(route("fast").alias_of("gpt-4o")).await;
    let key = h.key().await;
    let r = h
        .chat(&key.secret, &json!({"model": "fast", "messages": []}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-tollgate-deployment"].to_str().unwrap(),
        dep_ids(&target)[0]
    );
    assert_eq!(stub.last().body["model"], "gpt-4o-up");
}

#[tokio::test]
async fn a_header_matched_route_takes_canary_traffic_only() {
    let h = Harness::start().await;
    let stable = Stub::start().await;
    let canary = Stub::start().await;
    h.add(route("gpt-4o").deploy(openai(&stable, "stable")))
        .await;
    h.add(
        route("gpt-4o")
            .header("x-canary", "true")
            .deploy(openai(&canary, "canary")),
    )
    .await;
    let key = h.key().await;
    let body = json!({"model": "gpt-4o", "messages": []});
    for (header, want) in [
        (Some("true"), "canary"),
        (Some("false"), "stable"),
        (None, "stable"),
    ] {
        let mut req = h
            .http
            .post(h.url("/v1/chat/completions"))
            .bearer_auth(&key.secret)
            .json(&body);
        if let Some(v) = header {
            req = req.header("x-canary", v);
        }
        assert_eq!(req.send().await.unwrap().status(), 200);
        let seen = if want == "canary" { &canary } else { &stable };
        assert_eq!(seen.last().body["model"], want, "x-canary: {header:?}");
    }
    assert_eq!((stable.calls(), canary.calls()), (2, 1));
}

#[tokio::test]
async fn routes_of_other_instances_are_not_served() {
    let h = Harness::start().await;
    let stub = Stub::start().await;
    h.add(route("eu-only").instance("eu").deploy(openai(&stub, "m")))
        .await;
    let mine = h
        .add(
            route("shared")
                .instance("default")
                .deploy(openai(&stub, "mine")),
        )
        .await;
    h.add(route("shared").deploy(openai(&stub, "global"))).await;
    let key = h.key().await;

    let (status, body) = h.ask(&key.secret, "eu-only").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "model_not_found");
    assert_eq!(stub.calls(), 0);

    let r = h
        .chat(&key.secret, &json!({"model": "shared", "messages": []}))
        .await;
    assert_eq!(
        r.headers()["x-tollgate-deployment"].to_str().unwrap(),
        dep_ids(&mine)[0],
        "this instance's own route beats the global one"
    );
}
