//! Every server function of the portal called as each role (the master key, a viewer, a team
//! admin, a member, a member of another team, and signed out), as the browser calls them
//! (`POST /rpc/<name>`, form-encoded or JSON): the status each must answer, and each call on a
//! fresh object so one caller's change cannot decide the next one's answer.

use super::harness::MASTER;
use super::keys::{EVERYONE, Who, World, person, world};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tollgate_domain::Timestamp;
use tollgate_domain::authz::{GlobalRole, TeamRole};

/// What an argument is made of, fresh for every call where it names an object.
#[derive(Clone, Copy)]
enum Arg {
    Lit(&'static str),
    /// The team the team admin and the member belong to.
    Team,
    /// A new team with the team admin and the member in it (for deleting).
    FreshTeam,
    /// A new key of the member in the team.
    MemberKey,
    /// A new user in no team.
    NewUser,
    /// The email of a new user in no team.
    NewUserEmail,
    /// A new user who is a member of the team.
    Joiner,
    /// A new database route, credential, or price override.
    Route,
    /// A new route whose only upstream refuses connections (a test of it fails at once).
    DeadRoute,
    Credential,
    Price,
    /// The request id of a request made with a new key of the team, once it is logged.
    MemberRequest,
    /// A name no one has used.
    Unique,
    UniqueEmail,
}

/// A LiteLLM config with one route.
const LITELLM: &str = "model_list:\n  - model_name: imported\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: os.environ/OPENAI_API_KEY\n";

/// A route as the Routes page's editor sends it.
const ROUTE_SPEC: &str = r#"{"model_name": "edited-by-rpc", "deployments": [{"provider": "openai", "upstream_model": "m"}]}"#;

/// Statuses in [`EVERYONE`]'s order: master, viewer, team admin, member, outsider, signed out.
type Row = (&'static str, Vec<(&'static str, Arg)>, [u16; 6]);

const ALL_READ: [u16; 6] = [200, 200, 200, 200, 200, 401];
const ADMINS: [u16; 6] = [200, 403, 403, 403, 403, 401];
const TEAM_MANAGERS: [u16; 6] = [200, 403, 200, 403, 404, 401];
const KEY_OWNERS: [u16; 6] = [200, 403, 200, 200, 404, 401];

fn table() -> Vec<Row> {
    use Arg::*;
    vec![
        ("get_me", vec![], ALL_READ),
        ("get_system_overview", vec![], ALL_READ),
        ("get_spend_options", vec![], ALL_READ),
        ("get_instances", vec![], ALL_READ),
        ("get_instance", vec![("name", Lit("default"))], ALL_READ),
        (
            "get_request",
            vec![("request_id", MemberRequest)],
            // Another team's request is not found, like a missing one.
            [200, 200, 200, 200, 404, 401],
        ),
        // A wrong password never signs anyone in (each a new email, so no account is slowed).
        (
            "sign_in",
            vec![
                ("email", UniqueEmail),
                ("password", Lit("not the password")),
            ],
            [401; 6],
        ),
        (
            "change_password",
            vec![
                ("current_password", Lit("not the password")),
                ("new_password", Lit("a new long password")),
                ("confirm_password", Lit("a new long password")),
            ],
            // A field message for each signed-in caller (the master key has no password);
            // nobody's password changes.
            [422, 422, 422, 422, 422, 401],
        ),
        ("list_teams", vec![], ALL_READ),
        (
            "get_team",
            vec![("id", Team)],
            [200, 200, 200, 200, 404, 401],
        ),
        ("create_team", vec![("form[name]", Unique)], ADMINS),
        (
            "update_team",
            vec![("id", Team), ("form[name]", Lit("Search"))],
            [200, 403, 403, 403, 404, 401],
        ),
        (
            "delete_team",
            vec![("id", FreshTeam)],
            [200, 403, 403, 403, 404, 401],
        ),
        (
            "set_team_policy",
            vec![("id", Team), ("policy[max_keys]", Lit("5"))],
            TEAM_MANAGERS,
        ),
        (
            "add_team_member",
            vec![
                ("team", Team),
                ("email", NewUserEmail),
                ("role", Lit("member")),
            ],
            TEAM_MANAGERS,
        ),
        (
            "set_team_member_role",
            vec![
                ("team", Team),
                ("user", Joiner),
                ("role", Lit("team_admin")),
            ],
            TEAM_MANAGERS,
        ),
        (
            "remove_team_member",
            vec![("team", Team), ("user", Joiner)],
            TEAM_MANAGERS,
        ),
        (
            "list_users",
            vec![("offset", Lit("0"))],
            [200, 200, 200, 403, 403, 401],
        ),
        (
            "create_user",
            vec![("form[email]", UniqueEmail), ("form[role]", Lit("user"))],
            ADMINS,
        ),
        (
            "set_user_role",
            vec![("id", NewUser), ("role", Lit("viewer"))],
            ADMINS,
        ),
        (
            "set_user_disabled",
            vec![("id", NewUser), ("disabled", Lit("true"))],
            ADMINS,
        ),
        ("reset_user_password", vec![("id", NewUser)], ADMINS),
        ("delete_user", vec![("id", NewUser)], ADMINS),
        (
            "create_key",
            vec![("form[team]", Team)],
            [200, 403, 200, 200, 403, 401],
        ),
        (
            "set_key_blocked",
            vec![("id", MemberKey), ("blocked", Lit("true"))],
            KEY_OWNERS,
        ),
        (
            "rotate_key",
            vec![("id", MemberKey), ("grace_seconds", Lit("0"))],
            KEY_OWNERS,
        ),
        ("delete_key", vec![("id", MemberKey)], KEY_OWNERS),
        (
            "update_key",
            vec![
                ("id", MemberKey),
                ("version", Lit("0")),
                ("form[alias]", Lit("renamed")),
            ],
            KEY_OWNERS,
        ),
        ("list_routes", vec![], ALL_READ),
        (
            "create_route",
            vec![
                ("form[model_name]", Unique),
                ("form[provider]", Lit("openai")),
                ("form[upstream_model]", Lit("m")),
            ],
            ADMINS,
        ),
        ("delete_route", vec![("id", Route)], ADMINS),
        (
            "update_route",
            vec![("id", Route), ("spec", Lit(ROUTE_SPEC))],
            ADMINS,
        ),
        (
            "test_route",
            vec![("id", DeadRoute), ("model", Lit(""))],
            ADMINS,
        ),
        ("get_settings", vec![], ALL_READ),
        (
            "create_credential",
            vec![
                ("form[name]", Unique),
                ("form[provider]", Lit("openai")),
                ("form[reference]", Lit("env:X")),
            ],
            ADMINS,
        ),
        ("delete_credential", vec![("id", Credential)], ADMINS),
        (
            "set_price",
            vec![
                ("form[pattern]", Unique),
                ("form[input]", Lit("1")),
                ("form[output]", Lit("2")),
            ],
            ADMINS,
        ),
        ("delete_price", vec![("pattern", Price)], ADMINS),
        (
            "preview_litellm_import",
            vec![("config", Lit(LITELLM)), ("instance", Lit(""))],
            ADMINS,
        ),
        (
            "apply_litellm_import",
            vec![("config", Lit(LITELLM)), ("instance", Lit(""))],
            ADMINS,
        ),
    ]
}

/// Server functions that take JSON: `(name, body, statuses)`.
fn json_table() -> Vec<(&'static str, Value, [u16; 6])> {
    vec![
        ("list_keys", json!({"filter": {}}), ALL_READ),
        (
            "list_audit",
            json!({"filter": {}}),
            [200, 200, 403, 403, 403, 401],
        ),
        ("get_dashboard", json!({"team": null}), ALL_READ),
        (
            "get_spend",
            json!({"query": tollgate_domain::analytics::SpendQuery {
                from: Timestamp::now().plus_millis(-3_600_000),
                to: Timestamp::now(),
                granularity: tollgate_domain::analytics::Granularity::Hour,
                group_by: None,
                filters: Default::default(),
            }}),
            ALL_READ,
        ),
        (
            "get_request_log",
            json!({"query": tollgate_domain::analytics::LogQuery::default()}),
            ALL_READ,
        ),
    ]
}

struct Caller {
    n: std::sync::atomic::AtomicUsize,
}

impl Caller {
    fn next(&self) -> usize {
        self.n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    async fn value(&self, w: &World, arg: Arg) -> String {
        let n = self.next();
        let master = |path: &str, body: Value| {
            let url = format!("{}{path}", w.s.server.base);
            async move {
                let r = Client::new()
                    .post(url)
                    .bearer_auth(MASTER)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                r.json::<Value>().await.unwrap()
            }
        };
        let store = w.s.store.as_ref();
        match arg {
            Arg::Lit(s) => s.to_owned(),
            Arg::Team => w.team.to_string(),
            Arg::FreshTeam => {
                let team = master("/api/v1/teams", json!({"name": format!("fresh {n}")})).await;
                let id: tollgate_domain::TeamId =
                    team["data"]["id"].as_str().unwrap().parse().unwrap();
                for (email, role) in [
                    ("lead@example.com", TeamRole::TeamAdmin),
                    ("member@example.com", TeamRole::Member),
                ] {
                    let user = store.get_user_auth(email).await.unwrap().user.id;
                    store
                        .add_team_member(id, user, role, Timestamp::now())
                        .await
                        .unwrap();
                }
                id.to_string()
            }
            Arg::MemberKey => w.members_key().await,
            Arg::NewUser => {
                person(&w.s, &format!("new{n}@example.com"), GlobalRole::User, None)
                    .await
                    .to_string()
            }
            Arg::NewUserEmail => {
                let email = format!("invitee{n}@example.com");
                person(&w.s, &email, GlobalRole::User, None).await;
                email
            }
            Arg::Joiner => person(
                &w.s,
                &format!("joiner{n}@example.com"),
                GlobalRole::User,
                Some((w.team, TeamRole::Member)),
            )
            .await
            .to_string(),
            Arg::Route => master(
                "/api/v1/routes",
                json!({"model_name": format!("route{n}"), "deployments": [{"provider": "openai", "upstream_model": "m"}]}),
            )
            .await["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            Arg::DeadRoute => master(
                "/api/v1/routes",
                json!({"model_name": format!("dead{n}"), "deployments": [{"provider": "openai", "upstream_model": "m", "api_base": "http://127.0.0.1:9/v1"}]}),
            )
            .await["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            Arg::Credential => master(
                "/api/v1/credentials",
                json!({"name": format!("cred{n}"), "provider": "openai", "reference": "env:X"}),
            )
            .await["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            Arg::Price => {
                let pattern = format!("price{n}");
                let r = Client::new()
                    .put(format!("{}/api/v1/prices", w.s.server.base))
                    .bearer_auth(MASTER)
                    .json(&json!({"pattern": pattern, "input_per_mtok": 1, "output_per_mtok": 1}))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                pattern
            }
            Arg::MemberRequest => {
                let made = master(
                    "/api/v1/keys",
                    // The team's key, owned by nobody: the member's keys stay within the
                    // policy the table sets.
                    json!({"team_id": w.team, "alias": format!("req{n}")}),
                )
                .await;
                let key: tollgate_domain::KeyId = made["data"]["id"].as_str().unwrap().parse().unwrap();
                let secret = made["secret"].as_str().unwrap();
                super::harness::wait_for_key(&w.s.server.base, secret).await;
                assert_eq!(super::harness::ask(&w.s.server.base, secret, "ping").await, 200);
                let query = tollgate_domain::analytics::LogQuery {
                    key: Some(key),
                    ..Default::default()
                };
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                loop {
                    let page = store.list_spend_logs(&query).await.unwrap();
                    if let Some(e) = page.entries.iter().find(|e| e.status == 200) {
                        break e.request_id.clone();
                    }
                    assert!(std::time::Instant::now() < deadline, "the request was never logged");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            Arg::Unique => format!("unique-{n}"),
            Arg::UniqueEmail => format!("unique{n}@example.com"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_function_answers_each_role_as_the_rules_say() {
    let w = world().await;
    let caller = Caller {
        n: std::sync::atomic::AtomicUsize::new(0),
    };
    let mut wrong = Vec::new();
    for (name, args, want) in table() {
        for (i, who) in EVERYONE.into_iter().enumerate() {
            let mut form = Vec::new();
            for (field, arg) in &args {
                form.push((field.to_string(), caller.value(&w, *arg).await));
            }
            let status = w.rpc(who, name, |req| req.form(&form)).await;
            if status != StatusCode::from_u16(want[i]).unwrap() {
                wrong.push(format!("{name} as {who:?}: {status}, want {}", want[i]));
            }
        }
    }
    for (name, body, want) in json_table() {
        for (i, who) in EVERYONE.into_iter().enumerate() {
            let status = w.rpc(who, name, |req| req.json(&body)).await;
            if status != StatusCode::from_u16(want[i]).unwrap() {
                wrong.push(format!("{name} as {who:?}: {status}, want {}", want[i]));
            }
        }
    }
    // Last, as it ends the sessions: signing out answers everyone (twice is no error), and the
    // session is gone afterwards; the master key is no session.
    for who in EVERYONE {
        let status = w.rpc(who, "sign_out", |req| req.form(&[("", "")])).await;
        if status != StatusCode::OK {
            wrong.push(format!("sign_out as {who:?}: {status}, want 200"));
        }
        let after = w.rpc(who, "get_me", |req| req.form(&[("", "")])).await;
        let want = if who == Who::Master {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        if after != want {
            wrong.push(format!(
                "get_me after sign_out as {who:?}: {after}, want {want}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Arguments that cannot be read are the caller's fault (400), never a server error, and
/// change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_arguments_are_400s() {
    let w = world().await;
    let key = w.members_key().await;
    let before = w.s.store.get_key(key.parse().unwrap()).await.unwrap();
    for (name, form) in [
        ("delete_key", vec![("id", "not-a-uuid")]),
        ("set_key_blocked", vec![("id", key.as_str())]),
        (
            "set_key_blocked",
            vec![("id", key.as_str()), ("blocked", "maybe")],
        ),
        (
            "rotate_key",
            vec![("id", key.as_str()), ("grace_seconds", "-1")],
        ),
        ("get_team", vec![]),
        ("list_users", vec![("offset", "many")]),
    ] {
        let status = w.rpc(Who::Master, name, |req| req.form(&form)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name} {form:?}");
    }
    let status = w
        .rpc(Who::Master, "list_keys", |req| {
            req.header("content-type", "application/json")
                .body("{\"filter\": ")
        })
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "broken JSON");
    assert_eq!(
        w.s.store.get_key(key.parse().unwrap()).await.unwrap(),
        before
    );
}

/// Every server function of the app is in the matrix above: a new one left out fails here.
#[test]
fn the_matrix_names_every_server_function() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src/server_fns");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in text.split("endpoint = \"").skip(1) {
            names.push(part.split('"').next().unwrap().to_owned());
        }
    }
    assert!(names.len() > 40, "found {names:?}");
    let covered: Vec<&str> = table()
        .iter()
        .map(|(n, _, _)| *n)
        .chain(json_table().iter().map(|(n, _, _)| *n))
        .chain(["sign_out"])
        .collect();
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !covered.contains(&n.as_str()))
        .collect();
    assert!(missing.is_empty(), "not in the role matrix: {missing:?}");
}
