//! Virtual keys over HTTP against a real `tollgate serve`: `/api/v1/keys` as every role (and
//! signed out, and as a member of another team), bad input refused with the field named and
//! nothing stored, LiteLLM's `/key/*` endpoints in LiteLLM's shapes, and a key made, blocked
//! and deleted through them working and then refused at the gateway.

use super::harness::{MASTER, Served, ask, serve_with_stub};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::{Micros, TeamId, Timestamp, UserId};
use tollgate_store::{KeyQuery, NewTeam, NewUser};

pub(super) const PASSWORD: &str = "correct horse battery staple";

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Who {
    Master,
    Viewer,
    TeamAdmin,
    Member,
    /// A member of the other team.
    Outsider,
    SignedOut,
}

pub(super) const EVERYONE: [Who; 6] = [
    Who::Master,
    Who::Viewer,
    Who::TeamAdmin,
    Who::Member,
    Who::Outsider,
    Who::SignedOut,
];

pub(super) struct World {
    pub(super) s: Served,
    pub(super) team: TeamId,
    pub(super) other_team: TeamId,
    pub(super) member: UserId,
    clients: Vec<(Who, Client)>,
}

pub(super) async fn person(
    s: &Served,
    email: &str,
    role: GlobalRole,
    team: Option<(TeamId, TeamRole)>,
) -> UserId {
    let store = s.store.as_ref();
    let user = store
        .create_user(&NewUser {
            id: UserId::new(),
            email: email.to_owned(),
            name: email.to_owned(),
            role,
            password_hash: tollgate_app::server::passwords::hash_blocking(PASSWORD).unwrap(),
            must_change_password: false,
            now: Timestamp::now(),
        })
        .await
        .unwrap();
    if let Some((t, r)) = team {
        store
            .add_team_member(t, user.id, r, Timestamp::now())
            .await
            .unwrap();
    }
    user.id
}

pub(super) async fn signed_in(s: &Served, email: &str) -> Client {
    let browser = s.server.browser();
    let r = browser
        .post(format!("{}/rpc/sign_in", s.server.base))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{email} signs in");
    browser
}

pub(super) async fn world() -> World {
    world_with(&[]).await
}

/// [`world`] with extra environment for the server.
pub(super) async fn world_with(env: &[(&str, &str)]) -> World {
    let s = serve_with_stub(env).await;
    let store = s.store.as_ref();
    let new_team = |name: &str, budget: Option<Micros>| {
        let mut t = NewTeam::named(TeamId::new(), name, Timestamp::now());
        t.settings.max_budget = budget;
        t
    };
    let team = store
        .create_team(&new_team("Search", Some(Micros(10_000_000))))
        .await
        .unwrap()
        .id;
    let other_team = store.create_team(&new_team("Ads", None)).await.unwrap().id;
    person(&s, "viewer@example.com", GlobalRole::Viewer, None).await;
    person(
        &s,
        "lead@example.com",
        GlobalRole::User,
        Some((team, TeamRole::TeamAdmin)),
    )
    .await;
    let member = person(
        &s,
        "member@example.com",
        GlobalRole::User,
        Some((team, TeamRole::Member)),
    )
    .await;
    person(
        &s,
        "outsider@example.com",
        GlobalRole::User,
        Some((other_team, TeamRole::Member)),
    )
    .await;
    let mut clients = vec![(Who::Master, Client::new())];
    for (who, email) in [
        (Who::Viewer, "viewer@example.com"),
        (Who::TeamAdmin, "lead@example.com"),
        (Who::Member, "member@example.com"),
        (Who::Outsider, "outsider@example.com"),
    ] {
        clients.push((who, signed_in(&s, email).await));
    }
    clients.push((Who::SignedOut, s.server.browser()));
    World {
        s,
        team,
        other_team,
        member,
        clients,
    }
}

impl World {
    pub(super) async fn call(
        &self,
        who: Who,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let client = &self.clients.iter().find(|(w, _)| *w == who).unwrap().1;
        let mut req = client.request(method, format!("{}{path}", self.s.server.base));
        if who == Who::Master {
            req = req.bearer_auth(MASTER);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A key of the team owned by the member, made directly in the store.
    /// `POST /rpc/{name}` as `who`, the body set by `body`; the status.
    pub(super) async fn rpc(
        &self,
        who: Who,
        name: &str,
        body: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> StatusCode {
        let client = &self.clients.iter().find(|(w, _)| *w == who).unwrap().1;
        let mut req = client.post(format!("{}/rpc/{name}", self.s.server.base));
        if who == Who::Master {
            req = req.bearer_auth(MASTER);
        }
        body(req).send().await.unwrap().status()
    }

    /// A 4 MiB JSON body with `field` is refused before it is read: a 413, or the connection
    /// closed while still sending.
    pub(super) async fn refuses_oversized(&self, path: &str, field: &str) {
        let huge = json!({ field: "y".repeat(4 << 20) });
        match Client::new()
            .post(format!("{}{path}", self.s.server.base))
            .bearer_auth(MASTER)
            .json(&huge)
            .send()
            .await
        {
            Ok(r) => assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE),
            Err(e) => assert!(e.is_request(), "{e}"),
        }
    }

    pub(super) async fn members_key(&self) -> String {
        let (status, made) = self
            .call(
                Who::Master,
                Method::POST,
                "/api/v1/keys",
                Some(json!({"team_id": self.team, "user_id": self.member, "alias": "member's"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        made["data"]["id"].as_str().unwrap().to_owned()
    }

    async fn key_count(&self) -> usize {
        self.s
            .store
            .find_keys(&KeyQuery {
                limit: 1000,
                ..KeyQuery::default()
            })
            .await
            .unwrap()
            .len()
    }
}

pub(super) fn expect(who: Who, table: &[(Who, StatusCode)]) -> StatusCode {
    table
        .iter()
        .find(|(w, _)| *w == who)
        .map(|(_, s)| *s)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_exactly_its_rights_on_keys() {
    use StatusCode as S;
    let w = world().await;
    let create = json!({"team_id": w.team, "alias": "made by"});
    let created = [
        (Who::Master, S::CREATED),
        (Who::Viewer, S::FORBIDDEN),
        (Who::TeamAdmin, S::CREATED),
        (Who::Member, S::CREATED),
        (Who::Outsider, S::FORBIDDEN),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    let mut secrets = Vec::new();
    for who in EVERYONE {
        let before = w.key_count().await;
        let (status, body) = w
            .call(who, Method::POST, "/api/v1/keys", Some(create.clone()))
            .await;
        assert_eq!(status, expect(who, &created), "{who:?} creates: {body}");
        let made = usize::from(status == S::CREATED);
        assert_eq!(w.key_count().await, before + made, "{who:?}");
        if status == S::CREATED {
            let secret = body["secret"].as_str().unwrap();
            assert!(secret.starts_with("sk-tg-"));
            secrets.push(secret.to_owned());
            assert!(
                body["data"].get("key_hash").is_none(),
                "no hash in the answer"
            );
        }
        if who == Who::Member {
            assert_eq!(
                body["data"]["user_id"],
                w.member.to_string(),
                "a member's key is theirs"
            );
        }
    }

    // Reading, blocking and deleting the member's own key, one fresh key per caller.
    let read = [
        (Who::Master, S::OK),
        (Who::Viewer, S::OK),
        (Who::TeamAdmin, S::OK),
        (Who::Member, S::OK),
        (Who::Outsider, S::NOT_FOUND),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    let change = [
        (Who::Master, S::OK),
        (Who::Viewer, S::FORBIDDEN),
        (Who::TeamAdmin, S::OK),
        (Who::Member, S::OK),
        (Who::Outsider, S::NOT_FOUND),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    let delete = change.map(|(w, s)| (w, if s == S::OK { S::NO_CONTENT } else { s }));
    for who in EVERYONE {
        let id = w.members_key().await;
        let path = format!("/api/v1/keys/{id}");
        let (status, _) = w.call(who, Method::GET, &path, None).await;
        assert_eq!(status, expect(who, &read), "{who:?} reads");
        let (status, body) = w
            .call(who, Method::POST, &format!("{path}/block"), None)
            .await;
        assert_eq!(status, expect(who, &change), "{who:?} blocks: {body}");
        let stored = w.s.store.get_key(id.parse().unwrap()).await.unwrap();
        assert_eq!(stored.blocked, status == S::OK, "{who:?}");
        let (status, _) = w.call(who, Method::DELETE, &path, None).await;
        assert_eq!(status, expect(who, &delete), "{who:?} deletes");
        let gone = w.s.store.get_key(id.parse().unwrap()).await.is_err();
        assert_eq!(gone, status == S::NO_CONTENT, "{who:?}");
    }

    // Lists: everyone sees only what they may read.
    w.members_key().await;
    let other = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/keys",
            Some(json!({"team_id": w.other_team})),
        )
        .await;
    assert_eq!(other.0, S::CREATED);
    for who in EVERYONE {
        let (status, body) = w
            .call(who, Method::GET, "/api/v1/keys?limit=200", None)
            .await;
        if who == Who::SignedOut {
            assert_eq!(status, S::UNAUTHORIZED);
            continue;
        }
        assert_eq!(status, S::OK, "{who:?}: {body}");
        let keys = body["data"].as_array().unwrap();
        let teams: Vec<&str> = keys
            .iter()
            .map(|k| k["team_id"].as_str().unwrap_or(""))
            .collect();
        match who {
            Who::Master | Who::Viewer => {
                assert!(teams.contains(&w.other_team.to_string().as_str()))
            }
            Who::Outsider => assert!(keys.is_empty(), "{body}"),
            _ => assert!(
                keys.iter().all(|k| k["team_id"] == w.team.to_string()),
                "{who:?}: {body}"
            ),
        }
    }
    let (status, body) = w
        .call(
            Who::TeamAdmin,
            Method::GET,
            &format!("/api/v1/keys?team={}", w.team),
            None,
        )
        .await;
    assert_eq!(status, S::OK);
    assert!(
        body["data"].as_array().unwrap().len() >= 3,
        "the team admin reads the team's keys: {body}"
    );
    let (status, body) = w
        .call(
            Who::TeamAdmin,
            Method::GET,
            &format!("/api/v1/keys?team={}", w.other_team),
            None,
        )
        .await;
    assert_eq!(status, S::OK);
    assert_eq!(body["data"], json!([]), "another team's keys: none of them");
    let (status, _) = w
        .call(
            Who::Member,
            Method::GET,
            &format!("/api/v1/keys?user={}", UserId::new()),
            None,
        )
        .await;
    assert_eq!(status, S::FORBIDDEN, "another user's keys");

    // Direct objects: ids of another team lead nowhere.
    let before = w.key_count().await;
    for body in [
        json!({"team_id": w.other_team}),
        json!({"team_id": w.team, "user_id": UserId::new()}),
    ] {
        let (status, _) = w
            .call(
                Who::Member,
                Method::POST,
                "/api/v1/keys",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, S::FORBIDDEN, "{body}");
    }
    let other_id = other.1["data"]["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, format!("/api/v1/keys/{other_id}")),
        (Method::POST, format!("/api/v1/keys/{other_id}/block")),
        (Method::DELETE, format!("/api/v1/keys/{other_id}")),
    ] {
        let (status, _) = w.call(Who::TeamAdmin, method, &path, None).await;
        assert_eq!(status, S::NOT_FOUND, "{path}");
    }
    assert_eq!(w.key_count().await, before);
    assert!(
        !w.s.store
            .get_key(other_id.parse().unwrap())
            .await
            .unwrap()
            .blocked
    );

    // The audit log names who did what, never with a secret.
    let audit =
        w.s.store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 500,
                object_type: Some("key".into()),
                ..Default::default()
            })
            .await
            .unwrap();
    for action in ["key.create", "key.block", "key.delete"] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
    assert!(audit.iter().any(|e| e.actor_label == "member@example.com"));
    assert!(!secrets.is_empty());
    assert!(
        audit.iter().all(|e| {
            let text = format!("{:?}{:?}", e.before, e.after);
            secrets.iter().all(|secret| !text.contains(secret.as_str()))
        }),
        "no secret in the audit log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_key_input_is_refused_by_field_and_stores_nothing() {
    let w = world().await;
    let before = w.key_count().await;
    let refused: Vec<(Value, &str)> = vec![
        (json!({"max_budget": -1}), "max_budget"),
        (json!({"rpm_limit": -3}), "rpm_limit"),
        (json!({"tpm_limit": 2_000_000_000_i64}), "tpm_limit"),
        (json!({"budget_duration": "fortnight"}), "budget_duration"),
        (json!({"expires_at": 1000}), "expires_at"),
        (json!({"models": ["  "]}), "models"),
        (json!({"instances": ["DROP TABLE"]}), "instances"),
        (json!({"alias": "x".repeat(201)}), "alias"),
        (json!({"max_budgt": 5}), "max_budgt"),
        (json!({"team_id": "not-a-uuid"}), "team_id"),
        (json!({"team_id": TeamId::new()}), "team_id"),
        (json!({"user_id": UserId::new()}), "user_id"),
        (json!({"metadata": "not an object"}), "metadata"),
    ];
    for (body, field) in refused {
        let (status, answer) = w
            .call(
                Who::Master,
                Method::POST,
                "/api/v1/keys",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{body}: {message}");
    }
    // Not JSON at all, and a body over the limit.
    let client = Client::new();
    let url = format!("{}/api/v1/keys", w.s.server.base);
    let r = client
        .post(&url)
        .bearer_auth(MASTER)
        .header("content-type", "application/json")
        .body("{\"alias\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    w.refuses_oversized("/api/v1/keys", "alias").await;
    // A team admin's key stays within the team's budget of $10.
    let (status, answer) = w
        .call(
            Who::TeamAdmin,
            Method::POST,
            "/api/v1/keys",
            Some(json!({"team_id": w.team, "max_budget": 20_000_000})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeds the team's budget"),
        "{answer}"
    );
    assert_eq!(w.key_count().await, before, "nothing was stored");

    // Hostile text is kept verbatim and answered as JSON, never interpreted.
    // An invisible direction override would make a name read as something else: refused.
    let (status, answer) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/keys",
            Some(json!({"alias": "admin\u{202e}txt.exe"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("alias:"),
        "{answer}"
    );
    let hostile = "<script>alert(1)</script>'; DROP TABLE virtual_keys; -- \"é\"";
    let (status, made) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/keys",
            Some(json!({"alias": hostile, "metadata": {"note": hostile}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["data"]["id"].as_str().unwrap();
    let (_, read) = w
        .call(
            Who::Master,
            Method::GET,
            &format!("/api/v1/keys/{id}"),
            None,
        )
        .await;
    assert_eq!(read["data"]["alias"], hostile);
    let (_, found) = w
        .call(
            Who::Master,
            Method::GET,
            "/api/v1/keys?search=DROP%20TABLE",
            None,
        )
        .await;
    assert_eq!(found["data"][0]["id"], id, "{found}");
    assert_eq!(w.key_count().await, before + 1);
    let (status, _) = w
        .call(Who::Master, Method::GET, "/api/v1/keys?limit=0", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = w
        .call(Who::Master, Method::GET, "/api/v1/keys/not-an-id", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Waits until the gateway answers the key's request for `ping` with `status` (it hears of
/// changes through the change feed).
async fn answers(base: &str, key: &str, status: u16) {
    let mut last = 0;
    for _ in 0..50 {
        last = ask(base, key, "ping").await;
        if last == status {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the gateway still answers {last}, not {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litellm_key_endpoints_keep_scripts_working() {
    let w = world().await;
    let base = &w.s.server.base;
    // /key/generate with LiteLLM's field names, answered in its shape.
    let (status, made) = w
        .call(
            Who::Master,
            Method::POST,
            "/key/generate",
            Some(json!({
                "models": ["ping"],
                "max_budget": 12.5,
                "budget_duration": "30d",
                "rpm_limit": 100,
                "tpm_limit": 100000,
                "max_parallel_requests": 4,
                "duration": "7d",
                "key_alias": "litellm-script",
                "team_id": w.team,
                "metadata": {"owner": "ci"}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let secret = made["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sk-tg-"));
    assert_eq!(made["max_budget"], 12.5);
    assert_eq!(made["max_parallel_requests"], 4);
    assert_eq!(made["key_alias"], "litellm-script");
    assert_eq!(made["metadata"]["owner"], "ci");
    let token = made["token"].as_str().unwrap().to_owned();
    let expires = made["expires"].as_str().unwrap();
    assert!(expires.ends_with('Z'), "{expires}");

    // The key works at the gateway (once it has heard of it), for its model only.
    answers(base, &secret, 200).await;
    assert_eq!(ask(base, &secret, "claude-sonnet-4").await, 403);

    // /key/info by secret and by id; /key/list.
    for reference in [secret.as_str(), token.as_str()] {
        let (status, info) = w
            .call(
                Who::Master,
                Method::GET,
                &format!("/key/info?key={reference}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{info}");
        assert_eq!(info["info"]["token"], token);
        assert_eq!(info["info"]["rpm_limit"], 100);
    }
    let (_, listed) = w
        .call(
            Who::Master,
            Method::GET,
            &format!("/key/list?team_id={}", w.team),
            None,
        )
        .await;
    assert_eq!(listed["keys"], json!([token]), "{listed}");
    let (_, full) = w
        .call(
            Who::Master,
            Method::GET,
            "/key/list?return_full_object=true&size=5",
            None,
        )
        .await;
    assert_eq!(full["keys"][0]["key_alias"], "litellm-script", "{full}");

    // Blocked: the gateway refuses it; unblocked: it answers again.
    let (status, blocked) = w
        .call(
            Who::Master,
            Method::POST,
            "/key/block",
            Some(json!({"key": secret})),
        )
        .await;
    assert_eq!(
        (status, &blocked["blocked"]),
        (StatusCode::OK, &json!(true))
    );
    answers(base, &secret, 401).await;
    let (status, _) = w
        .call(
            Who::Master,
            Method::POST,
            "/key/unblock",
            Some(json!({"key": secret})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    answers(base, &secret, 200).await;

    // A member cannot delete a key that is not theirs; deleting one unknown key deletes none.
    let (status, _) = w
        .call(
            Who::Member,
            Method::POST,
            "/key/delete",
            Some(json!({"keys": [secret]})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = w
        .call(
            Who::Master,
            Method::POST,
            "/key/delete",
            Some(json!({"keys": [secret, "sk-tg-doesnotexist0000000000000000000000"]})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        w.s.store.get_key(token.parse().unwrap()).await.is_ok(),
        "nothing deleted"
    );
    let (status, deleted) = w
        .call(
            Who::Master,
            Method::POST,
            "/key/delete",
            Some(json!({"keys": [secret]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["deleted_keys"], json!([secret]));
    let (status, _) = w
        .call(
            Who::Master,
            Method::GET,
            &format!("/key/info?key={secret}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A LiteLLM field Tollgate does not have is refused by name, not ignored; bad money too.
    let before = w.key_count().await;
    for (body, named) in [
        (json!({"allowed_routes": ["/chat"]}), "allowed_routes"),
        (json!({"max_budget": -1.0}), "max_budget"),
        (json!({"duration": "forever"}), "duration"),
    ] {
        let (status, answer) = w
            .call(
                Who::Master,
                Method::POST,
                "/key/generate",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(named),
            "{answer}"
        );
    }
    assert_eq!(w.key_count().await, before);
    let (status, _) = w
        .call(
            Who::SignedOut,
            Method::POST,
            "/key/generate",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = w
        .call(Who::Viewer, Method::POST, "/key/generate", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Every route above is in the OpenAPI document.
    let (_, doc) = w
        .call(Who::SignedOut, Method::GET, "/api/v1/openapi.json", None)
        .await;
    for (path, method) in [
        ("/api/v1/keys", "get"),
        ("/api/v1/keys", "post"),
        ("/api/v1/keys/{id}", "get"),
        ("/api/v1/keys/{id}", "patch"),
        ("/api/v1/keys/{id}", "delete"),
        ("/api/v1/keys/{id}/block", "post"),
        ("/api/v1/keys/{id}/unblock", "post"),
        ("/key/generate", "post"),
        ("/key/info", "get"),
        ("/key/update", "post"),
        ("/team/new", "post"),
        ("/user/new", "post"),
        ("/key/list", "get"),
        ("/key/delete", "post"),
        ("/key/block", "post"),
        ("/key/unblock", "post"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_keeps_the_rules_and_a_stale_save_is_refused() {
    let w = world().await;
    let id = w.members_key().await;
    let path = format!("/api/v1/keys/{id}");
    let (_, read) = w.call(Who::Member, Method::GET, &path, None).await;
    let version = read["data"]["version"].as_i64().unwrap();

    // Two editors read the same version; the first save wins, the second is refused.
    let first = json!({"version": version, "alias": "renamed", "rpm_limit": 30});
    let (status, saved) = w.call(Who::Member, Method::PATCH, &path, Some(first)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["data"]["alias"], "renamed");
    assert_eq!(saved["data"]["rpm_limit"], 30);
    assert_eq!(saved["data"]["version"], version + 1);
    let second = json!({"version": version, "alias": "overwritten"});
    let (status, refused) = w
        .call(Who::TeamAdmin, Method::PATCH, &path, Some(second))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("changed since you opened it")
    );
    let (_, now) = w.call(Who::Master, Method::GET, &path, None).await;
    assert_eq!(now["data"]["alias"], "renamed", "the first save stands");

    // null clears a setting; the others keep theirs.
    let version = now["data"]["version"].as_i64().unwrap();
    let (status, cleared) = w
        .call(
            Who::Master,
            Method::PATCH,
            &path,
            Some(json!({"version": version, "rpm_limit": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["data"]["rpm_limit"], Value::Null);
    assert_eq!(cleared["data"]["alias"], "renamed");
    let version = cleared["data"]["version"].as_i64().unwrap();

    // Refused, with the field named and nothing changed.
    for (who, body, status, named) in [
        (
            Who::Master,
            json!({"alias": "no version"}),
            StatusCode::BAD_REQUEST,
            "version",
        ),
        (
            Who::Master,
            json!({"version": version, "team_id": w.other_team}),
            StatusCode::BAD_REQUEST,
            "team_id",
        ),
        (
            Who::Master,
            json!({"version": version, "user_id": null}),
            StatusCode::BAD_REQUEST,
            "user_id",
        ),
        (
            Who::Master,
            json!({"version": version, "max_budgt": 1}),
            StatusCode::BAD_REQUEST,
            "max_budgt",
        ),
        (
            Who::Master,
            json!({"version": version, "tpm_limit": -1}),
            StatusCode::BAD_REQUEST,
            "tpm_limit",
        ),
        (
            Who::Member,
            json!({"version": version, "max_budget": 20_000_000}),
            StatusCode::BAD_REQUEST,
            "max_budget",
        ),
        (
            Who::Viewer,
            json!({"version": version, "alias": "x"}),
            StatusCode::FORBIDDEN,
            "",
        ),
        (
            Who::Outsider,
            json!({"version": version, "alias": "x"}),
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            Who::SignedOut,
            json!({"version": version, "alias": "x"}),
            StatusCode::UNAUTHORIZED,
            "",
        ),
    ] {
        let (got, answer) = w.call(who, Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(got, status, "{who:?} {body}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(named),
            "{answer}"
        );
    }
    let (_, same) = w.call(Who::Master, Method::GET, &path, None).await;
    assert_eq!(same["data"], cleared["data"], "nothing changed");

    // LiteLLM's /key/update: its names, dollars, no version (the last save wins).
    let (status, updated) = w
        .call(
            Who::Master,
            Method::POST,
            "/key/update",
            Some(json!({"key": id, "key_alias": "via litellm", "max_budget": 2.5, "max_parallel_requests": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["key_alias"], "via litellm");
    assert_eq!(updated["max_budget"], 2.5);
    assert_eq!(updated["max_parallel_requests"], 2);
    let (status, answer) = w
        .call(
            Who::Master,
            Method::POST,
            "/key/update",
            Some(json!({"key": id, "allowed_routes": []})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowed_routes")
    );

    // Every edit is in the audit log with the value before and after.
    let audit =
        w.s.store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 50,
                action_prefix: Some("key.update".into()),
                ..Default::default()
            })
            .await
            .unwrap();
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|e| e.before.is_some() && e.after.is_some())
    );
    assert!(audit[0].after.as_deref().unwrap().contains("via litellm"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litellm_team_and_user_new_are_for_admins() {
    use StatusCode as S;
    let w = world().await;
    let team_body = json!({"team_alias": "Platform", "max_budget": 100, "budget_duration": "30d", "rpm_limit": 600});
    for (who, status) in [
        (Who::Viewer, S::FORBIDDEN),
        (Who::TeamAdmin, S::FORBIDDEN),
        (Who::Member, S::FORBIDDEN),
        (Who::SignedOut, S::UNAUTHORIZED),
    ] {
        let (got, _) = w
            .call(who, Method::POST, "/team/new", Some(team_body.clone()))
            .await;
        assert_eq!(got, status, "{who:?}");
    }
    let (status, team) = w
        .call(
            Who::Master,
            Method::POST,
            "/team/new",
            Some(team_body.clone()),
        )
        .await;
    assert_eq!(status, S::OK, "{team}");
    assert_eq!(
        (&team["team_alias"], &team["max_budget"], &team["rpm_limit"]),
        (&json!("Platform"), &json!(100.0), &json!(600))
    );
    let team_id: TeamId = team["team_id"].as_str().unwrap().parse().unwrap();
    let stored = w.s.store.get_team(team_id).await.unwrap();
    assert_eq!(
        (stored.max_budget, stored.budget_duration.as_deref()),
        (Some(Micros(100_000_000)), Some("30d"))
    );
    for (body, status, named) in [
        (team_body.clone(), S::CONFLICT, ""),
        (
            json!({"team_alias": "X", "members_with_roles": []}),
            S::BAD_REQUEST,
            "members_with_roles",
        ),
        (
            json!({"team_alias": "Y", "rpm_limit": -1}),
            S::BAD_REQUEST,
            "rpm_limit",
        ),
        (
            json!({"team_alias": "Z", "budget_duration": "soon"}),
            S::BAD_REQUEST,
            "budget_duration",
        ),
        (json!({"team_alias": "  "}), S::BAD_REQUEST, "team_alias"),
    ] {
        let (got, answer) = w
            .call(Who::Master, Method::POST, "/team/new", Some(body.clone()))
            .await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(named),
            "{answer}"
        );
    }
    assert_eq!(
        w.s.store
            .list_teams(&tollgate_store::Page::first(100))
            .await
            .unwrap()
            .len(),
        3,
        "Search, Ads, Platform"
    );

    // A user, a member of the new team, with a one-time password.
    let users_before = w.s.store.count_users().await.unwrap();
    for (body, named) in [
        (json!({"user_email": "not an email"}), "user_email"),
        (
            json!({"user_email": "a@example.com", "user_role": "root"}),
            "user_role",
        ),
        (
            json!({"user_email": "a@example.com", "team_id": TeamId::new()}),
            "team_id",
        ),
        (
            json!({"user_email": "a@example.com", "max_budget": 5}),
            "max_budget",
        ),
    ] {
        let (got, answer) = w
            .call(Who::Master, Method::POST, "/user/new", Some(body.clone()))
            .await;
        assert_eq!(got, S::BAD_REQUEST, "{body}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(named),
            "{answer}"
        );
    }
    let (got, _) = w
        .call(
            Who::TeamAdmin,
            Method::POST,
            "/user/new",
            Some(json!({"user_email": "b@example.com"})),
        )
        .await;
    assert_eq!(got, S::FORBIDDEN);
    assert_eq!(
        w.s.store.count_users().await.unwrap(),
        users_before,
        "nothing was stored"
    );
    let (status, made) = w
        .call(
            Who::Master,
            Method::POST,
            "/user/new",
            Some(json!({"user_email": "New.Person@Example.com", "team_id": team_id})),
        )
        .await;
    assert_eq!(status, S::OK, "{made}");
    assert_eq!(made["user_email"], "new.person@example.com");
    let password = made["one_time_password"].as_str().unwrap().to_owned();
    assert_eq!(password.len(), 20);
    let user_id: UserId = made["user_id"].as_str().unwrap().parse().unwrap();
    let members = w.s.store.list_team_members(team_id).await.unwrap();
    assert_eq!(
        members
            .iter()
            .map(|m| (m.user_id, m.role))
            .collect::<Vec<_>>(),
        vec![(user_id, TeamRole::Member)]
    );
    assert!(
        w.s.store
            .get_user(user_id)
            .await
            .unwrap()
            .must_change_password
    );
    let browser = w.s.server.browser();
    let signed = browser
        .post(format!("{}/rpc/sign_in", w.s.server.base))
        .form(&[
            ("email", "new.person@example.com"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), S::OK, "the one-time password signs in");
    let (got, _) = w
        .call(
            Who::Master,
            Method::POST,
            "/user/new",
            Some(json!({"user_email": "new.person@example.com"})),
        )
        .await;
    assert_eq!(got, S::CONFLICT, "the email is taken");

    let audit =
        w.s.store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap();
    assert!(audit.iter().any(|e| e.action == "team.create"));
    let created = audit.iter().find(|e| e.action == "user.create").unwrap();
    assert!(
        !created.after.as_deref().unwrap().contains(&password),
        "no password in the log"
    );
}

/// `GET /api/v1/keys?sort=`: each order pages with `next` like the default one, combined with
/// the other filters; an order that does not exist is a 400 naming it. `owner_email=` lists a
/// user's keys within the caller's rights.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_list_sorts_and_pages_through_the_api() {
    let w = world().await;
    for alias in ["sorted-c", "sorted-a", "sorted-b", "other"] {
        let (status, body) = w
            .call(
                Who::Master,
                Method::POST,
                "/api/v1/keys",
                Some(json!({"alias": alias})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let walk = |sort: &'static str| {
        let w = &w;
        async move {
            let mut names = Vec::new();
            let mut after = String::new();
            loop {
                let (status, body) = w
                    .call(
                        Who::Master,
                        Method::GET,
                        &format!("/api/v1/keys?search=sorted-&limit=2&sort={sort}{after}"),
                        None,
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{body}");
                names.extend(
                    body["data"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k["alias"].as_str().unwrap().to_owned()),
                );
                match body["next"].as_str() {
                    Some(next) => after = format!("&after={next}"),
                    None => break names,
                }
            }
        }
    };
    assert_eq!(walk("alias").await, ["sorted-a", "sorted-b", "sorted-c"]);
    assert_eq!(walk("newest").await, ["sorted-b", "sorted-a", "sorted-c"]);
    assert_eq!(walk("oldest").await, ["sorted-c", "sorted-a", "sorted-b"]);
    let (status, body) = w
        .call(Who::Master, Method::GET, "/api/v1/keys?sort=cheapest", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("sort"), "{body}");

    // By owner's email: that user's keys only, to whoever may read them.
    let members = w.members_key().await;
    let owned = |who: Who, query: String| {
        let w = &w;
        async move {
            let (status, body) = w
                .call(who, Method::GET, &format!("/api/v1/keys?{query}"), None)
                .await;
            let ids: Vec<String> = body["data"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|k| k["id"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (status, ids, body)
        }
    };
    let (status, ids, body) =
        owned(Who::Master, "owner_email=%20Member@Example.com".to_owned()).await;
    assert_eq!(
        (status, ids),
        (StatusCode::OK, vec![members.clone()]),
        "{body}"
    );
    let (status, ids, _) = owned(Who::Viewer, "owner_email=nobody@example.com".to_owned()).await;
    assert_eq!(
        (status, ids.len()),
        (StatusCode::OK, 0),
        "no such user: nothing"
    );
    let (status, _, body) = owned(Who::Master, "owner_email=not-an-email".to_owned()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("owner_email:"),
        "{body}"
    );
    // A team admin names the team; a member reads only their own; an outsider nothing.
    let (status, _, body) =
        owned(Who::TeamAdmin, "owner_email=member@example.com".to_owned()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.to_string().contains("choose one of your teams"),
        "{body}"
    );
    let team_query = format!("owner_email=member@example.com&team={}", w.team);
    let (status, ids, body) = owned(Who::TeamAdmin, team_query.clone()).await;
    assert_eq!(
        (status, ids),
        (StatusCode::OK, vec![members.clone()]),
        "{body}"
    );
    let (status, ids, _) = owned(Who::Member, "owner_email=member@example.com".to_owned()).await;
    assert_eq!((status, ids), (StatusCode::OK, vec![members.clone()]));
    // Someone else's address and one with no account answer alike (nothing tells which exists).
    for other in ["lead@example.com", "nobody@example.com"] {
        let (status, _, _) = owned(Who::Member, format!("owner_email={other}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{other}");
    }
    let (status, _, _) = owned(Who::Outsider, team_query).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
