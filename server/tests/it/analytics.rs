//! `/api/v1/spend` and `/api/v1/logs` against a real `tollgate serve`: traffic through the
//! gateway appears in the rollups and the log; bad parameters are clear 400s; people outside
//! the admin roles read their own team only, and another team's ids lead nowhere.

use super::harness::{
    COMPLETION_TOKENS, MASTER, PROMPT_TOKENS, Server, ask, create_key, serve_with_stub,
    wait_for_key,
};
use reqwest::StatusCode;
use serde_json::Value;
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::pricing::{PriceTable, cost};
use tollgate_domain::{TeamId, Timestamp, UserId};
use tollgate_store::{NewTeam, NewUser, Store};

fn one_cost() -> i64 {
    let (price, _) = PriceTable::builtin().lookup("gpt-4o").unwrap();
    cost(&price, PROMPT_TOKENS, COMPLETION_TOKENS, 0).0
}

async fn get(s: &Server, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", s.base))
        .bearer_auth(MASTER)
        .send()
        .await
        .unwrap()
}

/// Polls `/api/v1/spend` (master key) until the model's request count reaches `n`.
pub(super) async fn wait_for_requests(s: &Server, query: &str, n: i64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let body: Value = get(s, &format!("/api/v1/spend?{query}"))
            .await
            .json()
            .await
            .unwrap();
        if body["totals"]["requests"].as_i64() >= Some(n) {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "{body:#}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn team(store: &dyn Store, name: &str) -> TeamId {
    let t = store
        .create_team(&NewTeam::named(
            TeamId::new(),
            name.to_owned(),
            Timestamp::now(),
        ))
        .await
        .unwrap();
    t.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_shows_in_spend_and_logs_and_bad_parameters_are_400s() {
    let s = serve_with_stub(&[]).await;
    let key = create_key(&s.server.sqlite_url(), &["--alias", "analytics-test"]);
    wait_for_key(&s.server.base, &key).await;
    for _ in 0..5 {
        assert_eq!(ask(&s.server.base, &key, "ping").await, 200);
    }
    // `wait_for_key`'s probes (404s for an unknown model) are logged too, at no cost.
    let body = wait_for_requests(&s.server, "group_by=model&model=ping", 5).await;
    assert_eq!(body["totals"]["requests"], 5, "{body:#}");
    assert_eq!(body["totals"]["cost_micros"], 5 * one_cost());
    assert_eq!(body["totals"]["prompt_tokens"], 5 * PROMPT_TOKENS as i64);
    assert_eq!(body["groups"][0]["key"], "ping");
    assert_eq!(body["granularity"], "day", "30 days by default, in days");

    let by_key: Value = get(
        &s.server,
        "/api/v1/spend?group_by=key&granularity=hour&from=",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(by_key["error"]["type"], "invalid_request_error", "{by_key}");
    let today = Timestamp::now().start_of_day().display_date();
    let by_key: Value = get(
        &s.server,
        &format!("/api/v1/spend?group_by=key&granularity=hour&from={today}"),
    )
    .await
    .json()
    .await
    .unwrap();
    let labels: Vec<&str> = by_key["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["label"].as_str())
        .collect();
    assert!(labels.contains(&"analytics-test"), "{by_key:#}");

    let csv = get(&s.server, "/api/v1/spend?group_by=model&format=csv").await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("bucket,group,label,requests,errors,prompt_tokens,completion_tokens,cost_usd")
    );
    assert!(
        text.lines().any(|l| l.contains(",ping,ping,5,0,")),
        "{text}"
    );

    for (query, field) in [
        ("from=yesterday", "from"),
        ("granularity=minute", "granularity"),
        (
            "granularity=hour&from=2026-01-01&to=2026-02-01",
            "granularity",
        ),
        ("group_by=color", "group_by"),
        ("team=not-an-id", "team"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("format=xml", "format"),
        ("unknown=1", "unknown"),
        ("model=%00", "model"),
    ] {
        let r = get(&s.server, &format!("/api/v1/spend?{query}")).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = r.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{query}: {message}");
    }
    let anonymous = reqwest::get(format!("{}/api/v1/spend", s.server.base))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // The log, two rows a page, walked to the end: every request once, newest first.
    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut after = String::new();
    loop {
        let page: Value = get(
            &s.server,
            &format!("/api/v1/logs?model=ping&limit=2{after}"),
        )
        .await
        .json()
        .await
        .unwrap();
        for e in page["data"].as_array().unwrap() {
            seen.push((
                e["ts"].as_i64().unwrap(),
                e["request_id"].as_str().unwrap().to_owned(),
            ));
            assert_eq!(e["key_label"], "analytics-test");
        }
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");
    let detail: Value = get(&s.server, &format!("/api/v1/logs/{}", seen[0].1))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["data"]["route_model"], "ping");
    assert_eq!(detail["data"]["cost"], one_cost());
    assert_eq!(
        get(&s.server, "/api/v1/logs/no-such-request")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    for query in [
        "after=garbage",
        "limit=0",
        "limit=501",
        "status=teapot",
        "min_latency_ms=-1",
    ] {
        let r = get(&s.server, &format!("/api/v1/logs?{query}")).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    // The spend log rows are intact after all of that.
    let (logs, rollup) = s.store.spend_totals().await.unwrap();
    assert_eq!(logs, rollup);

    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", s.server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/api/v1/spend", "/api/v1/logs", "/api/v1/logs/{request_id}"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_read_their_own_team_only() {
    let s = serve_with_stub(&[]).await;
    let store = s.store.as_ref();
    let (mine, theirs) = (team(store, "Search").await, team(store, "Ads").await);
    let password = "correct horse battery staple";
    let member = store
        .create_user(&NewUser {
            id: UserId::new(),
            email: "member@example.com".to_owned(),
            name: "Member".to_owned(),
            role: GlobalRole::User,
            password_hash: tollgate_app::server::passwords::hash_blocking(password).unwrap(),
            must_change_password: false,
            now: Timestamp::now(),
        })
        .await
        .unwrap();
    store
        .add_team_member(mine, member.id, TeamRole::Member, Timestamp::now())
        .await
        .unwrap();
    let db = s.server.sqlite_url();
    // Their team's key stores prompts; it is the team's, not the member's own.
    let my_key = create_key(&db, &["--team", &mine.to_string(), "--store-prompts"]);
    let their_key = create_key(&db, &["--team", &theirs.to_string()]);
    wait_for_key(&s.server.base, &my_key).await;
    wait_for_key(&s.server.base, &their_key).await;
    for _ in 0..2 {
        assert_eq!(ask(&s.server.base, &my_key, "ping").await, 200);
    }
    for _ in 0..3 {
        assert_eq!(ask(&s.server.base, &their_key, "ping").await, 200);
    }
    wait_for_requests(&s.server, "model=ping", 5).await;

    let browser = s.server.browser();
    let signed = browser
        .post(format!("{}/rpc/sign_in", s.server.base))
        .form(&[("email", "member@example.com"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::OK);
    let as_member = |path: String| {
        let b = browser.clone();
        async move { b.get(path).send().await.unwrap() }
    };
    let base = &s.server.base;

    let spend: Value = as_member(format!("{base}/api/v1/spend?model=ping"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(spend["team"], mine.to_string(), "{spend:#}");
    assert_eq!(
        spend["totals"]["requests"], 2,
        "their own team's requests only"
    );
    let by_team: Value = as_member(format!("{base}/api/v1/spend?group_by=team"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        by_team["groups"].as_array().unwrap().len(),
        1,
        "{by_team:#}"
    );
    assert_eq!(by_team["groups"][0]["label"], "Search");
    assert_eq!(
        as_member(format!("{base}/api/v1/spend?team={theirs}"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_member(format!("{base}/api/v1/logs?team={theirs}"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Their own log holds only their team's requests; another team's request id is a 404.
    let logs: Value = as_member(format!("{base}/api/v1/logs?model=ping"))
        .await
        .json()
        .await
        .unwrap();
    let entries = logs["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{logs:#}");
    assert!(entries.iter().all(|e| e["team_id"] == mine.to_string()));
    let all: Value = get(&s.server, &format!("/api/v1/logs?team={theirs}"))
        .await
        .json()
        .await
        .unwrap();
    let other_id = all["data"][0]["request_id"].as_str().unwrap();
    assert_eq!(
        as_member(format!("{base}/api/v1/logs/{other_id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let own_id = entries[0]["request_id"].as_str().unwrap();
    let own = as_member(format!("{base}/api/v1/logs/{own_id}")).await;
    assert_eq!(own.status(), StatusCode::OK);
    // A member reads the team's spend, not the conversations of a key that is not theirs.
    let own: Value = own.json().await.unwrap();
    assert_eq!(own["data"]["bodies"], Value::Null, "{own:#}");
    assert_eq!(own["data"]["bodies_withheld"], true);
    assert!(
        entries.iter().all(|e| e["bodies"].is_null()),
        "pages carry no bodies"
    );
    let as_admin: Value = get(&s.server, &format!("/api/v1/logs/{own_id}"))
        .await
        .json()
        .await
        .unwrap();
    let prompt = as_admin["data"]["bodies"]["prompt"].as_str().unwrap();
    assert!(prompt.contains("\"ping\""), "{as_admin:#}");
    assert!(
        as_admin["data"]["bodies"]["completion"]
            .as_str()
            .unwrap()
            .contains("chat.completion")
    );
    assert_eq!(as_admin["data"]["bodies_withheld"], false);
    let their_detail: Value = get(&s.server, &format!("/api/v1/logs/{other_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        their_detail["data"]["bodies"],
        Value::Null,
        "off by default"
    );
    assert_eq!(their_detail["data"]["bodies_withheld"], false);
}
