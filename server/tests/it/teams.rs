//! Teams, users, the self-service policy, rotation and the audit export over HTTP against a real
//! `tollgate serve`: every endpoint as every role (and signed out, and as a member of another
//! team), ids of another team's objects, the policy holding members (and not team admins),
//! disabled users' sessions and keys, a rotated key's grace period at the gateway, and the CSV.

use super::harness::{ask, wait_for_key, wait_until};
use super::keys::{EVERYONE, PASSWORD, Who, expect, person, signed_in, world};
use reqwest::{Method, StatusCode as S};
use serde_json::{Value, json};
use tollgate_domain::authz::{GlobalRole, TeamRole};

/// Every teams, users and audit endpoint as each role: allowed or refused, and a refusal
/// changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_exactly_its_rights_on_teams_users_and_audit() {
    let w = world().await;
    let store = w.s.store.clone();
    let team = w.team;
    let path = format!("/api/v1/teams/{team}");

    // Lists: everyone signed in reads the teams they may, and no more.
    for who in EVERYONE {
        let (status, body) = w.call(who, Method::GET, "/api/v1/teams", None).await;
        if who == Who::SignedOut {
            assert_eq!(status, S::UNAUTHORIZED);
            continue;
        }
        assert_eq!(status, S::OK, "{who:?}: {body}");
        let names: Vec<&str> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        let want: &[&str] = match who {
            Who::Master | Who::Viewer => &["Ads", "Search"],
            Who::TeamAdmin | Who::Member => &["Search"],
            _ => &["Ads"],
        };
        assert_eq!(names, want, "{who:?}");
    }

    // Creating a team: admins only.
    let created = [
        (Who::Master, S::CREATED),
        (Who::Viewer, S::FORBIDDEN),
        (Who::TeamAdmin, S::FORBIDDEN),
        (Who::Member, S::FORBIDDEN),
        (Who::Outsider, S::FORBIDDEN),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    for who in EVERYONE {
        let name = format!("made by {who:?}");
        let (status, body) = w
            .call(
                who,
                Method::POST,
                "/api/v1/teams",
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(status, expect(who, &created), "{who:?}: {body}");
    }
    let teams = tollgate_app::server::teams::list_teams(
        store.as_ref(),
        &tollgate_app::server::Principal {
            actor: tollgate_domain::Actor::master(),
            user: None,
            label: "test".into(),
            session_token_hash: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(teams.len(), 3, "only the master key's team was made");

    // Reading one team, editing its settings, its policy.
    let read = [
        (Who::Master, S::OK),
        (Who::Viewer, S::OK),
        (Who::TeamAdmin, S::OK),
        (Who::Member, S::OK),
        (Who::Outsider, S::NOT_FOUND),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    let edit = [
        (Who::Master, S::OK),
        (Who::Viewer, S::FORBIDDEN),
        (Who::TeamAdmin, S::FORBIDDEN),
        (Who::Member, S::FORBIDDEN),
        (Who::Outsider, S::NOT_FOUND),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    let manage = [
        (Who::Master, S::OK),
        (Who::Viewer, S::FORBIDDEN),
        (Who::TeamAdmin, S::OK),
        (Who::Member, S::FORBIDDEN),
        (Who::Outsider, S::NOT_FOUND),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    for who in EVERYONE {
        let (status, body) = w.call(who, Method::GET, &path, None).await;
        assert_eq!(status, expect(who, &read), "{who:?} reads: {body}");
        if status == S::OK {
            let members: Vec<&str> = body["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["user"]["email"].as_str().unwrap())
                .collect();
            assert_eq!(members, ["lead@example.com", "member@example.com"]);
        }
        let before = store.get_team(team).await.unwrap();
        let rpm = 1000 + EVERYONE.iter().position(|x| *x == who).unwrap() as i64;
        let (status, body) = w
            .call(
                who,
                Method::PUT,
                &path,
                Some(json!({"name": "Search", "max_budget": 10_000_000, "rpm_limit": rpm})),
            )
            .await;
        assert_eq!(status, expect(who, &edit), "{who:?} edits: {body}");
        let after = store.get_team(team).await.unwrap();
        if status == S::OK {
            assert_eq!(after.rpm_limit, Some(rpm));
        } else {
            assert_eq!(after, before, "{who:?}'s refused edit changed nothing");
        }
        let (status, body) = w
            .call(
                who,
                Method::PUT,
                &format!("{path}/policy"),
                Some(json!({"max_keys": rpm})),
            )
            .await;
        assert_eq!(
            status,
            expect(who, &manage),
            "{who:?} sets the policy: {body}"
        );
        let policy = store.get_team(team).await.unwrap().policy;
        assert_eq!(
            policy.max_keys == Some(rpm as u32),
            status == S::OK,
            "{who:?}"
        );
    }

    // Members: added (an existing user, by email), role changed, removed; one user per caller.
    let add = manage.map(|(w, s)| (w, if s == S::OK { S::CREATED } else { s }));
    let remove = manage.map(|(w, s)| (w, if s == S::OK { S::NO_CONTENT } else { s }));
    for (i, who) in EVERYONE.into_iter().enumerate() {
        let email = format!("joiner{i}@example.com");
        let joiner = person(&w.s, &email, GlobalRole::User, None).await;
        let (status, body) = w
            .call(
                who,
                Method::POST,
                &format!("{path}/members"),
                Some(json!({"email": email, "role": "member"})),
            )
            .await;
        assert_eq!(status, expect(who, &add), "{who:?} adds: {body}");
        let member = |roster: &[tollgate_domain::model::RosterEntry]| {
            roster.iter().find(|m| m.user.id == joiner).map(|m| m.role)
        };
        let roster = store.team_roster(team).await.unwrap();
        assert_eq!(member(&roster).is_some(), status == S::CREATED, "{who:?}");
        if status != S::CREATED {
            store
                .add_team_member(
                    team,
                    joiner,
                    TeamRole::Member,
                    tollgate_domain::Timestamp::now(),
                )
                .await
                .unwrap();
        }
        let member_path = format!("{path}/members/{joiner}");
        let (status, _) = w
            .call(
                who,
                Method::PUT,
                &member_path,
                Some(json!({"role": "team_admin"})),
            )
            .await;
        let changed = member(&store.team_roster(team).await.unwrap()) == Some(TeamRole::TeamAdmin);
        assert_eq!(status, expect(who, &remove), "{who:?} changes a role");
        assert_eq!(changed, status == S::NO_CONTENT, "{who:?}");
        let (status, _) = w.call(who, Method::DELETE, &member_path, None).await;
        assert_eq!(status, expect(who, &remove), "{who:?} removes");
        let gone = member(&store.team_roster(team).await.unwrap()).is_none();
        assert_eq!(gone, status == S::NO_CONTENT, "{who:?}");
    }

    // Users: admins only change them; team admins may read the list (to invite).
    let admin_only = [
        (Who::Master, S::OK),
        (Who::Viewer, S::FORBIDDEN),
        (Who::TeamAdmin, S::FORBIDDEN),
        (Who::Member, S::FORBIDDEN),
        (Who::Outsider, S::FORBIDDEN),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    let list_users = [
        (Who::Master, S::OK),
        (Who::Viewer, S::OK),
        (Who::TeamAdmin, S::OK),
        (Who::Member, S::FORBIDDEN),
        (Who::Outsider, S::FORBIDDEN),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    for (i, who) in EVERYONE.into_iter().enumerate() {
        let (status, _) = w.call(who, Method::GET, "/api/v1/users", None).await;
        assert_eq!(status, expect(who, &list_users), "{who:?} lists users");
        let email = format!("new{i}@example.com");
        let (status, body) = w
            .call(
                who,
                Method::POST,
                "/api/v1/users",
                Some(json!({"email": email, "role": "viewer"})),
            )
            .await;
        let want = expect(who, &admin_only);
        let want = if want == S::OK { S::CREATED } else { want };
        assert_eq!(status, want, "{who:?} creates a user: {body}");
        let exists = store.get_user_auth(&email).await.is_ok();
        assert_eq!(exists, status == S::CREATED, "{who:?}");
        if status == S::CREATED {
            assert_eq!(body["one_time_password"].as_str().unwrap().len(), 20);
        }
        let target = person(
            &w.s,
            &format!("target{i}@example.com"),
            GlobalRole::User,
            None,
        )
        .await;
        let user_path = format!("/api/v1/users/{target}");
        let (status, _) = w
            .call(
                who,
                Method::PATCH,
                &user_path,
                Some(json!({"role": "admin"})),
            )
            .await;
        assert_eq!(status, expect(who, &admin_only), "{who:?} promotes");
        let role = store.get_user(target).await.unwrap().role;
        assert_eq!(role == GlobalRole::Admin, status == S::OK, "{who:?}");
        let (status, _) = w
            .call(who, Method::POST, &format!("{user_path}/password"), None)
            .await;
        assert_eq!(
            status,
            expect(who, &admin_only),
            "{who:?} resets a password"
        );
        let (status, _) = w.call(who, Method::DELETE, &user_path, None).await;
        let deleted = store.get_user(target).await.is_err();
        assert_eq!(deleted, status == S::NO_CONTENT, "{who:?} deletes a user");
    }

    // The audit log: admins and viewers.
    let audit = [
        (Who::Master, S::OK),
        (Who::Viewer, S::OK),
        (Who::TeamAdmin, S::FORBIDDEN),
        (Who::Member, S::FORBIDDEN),
        (Who::Outsider, S::FORBIDDEN),
        (Who::SignedOut, S::UNAUTHORIZED),
    ];
    for who in EVERYONE {
        for p in ["/api/v1/audit", "/api/v1/audit.csv"] {
            let (status, _) = w.call(who, Method::GET, p, None).await;
            assert_eq!(status, expect(who, &audit), "{who:?} reads {p}");
        }
    }
}

/// A team admin of one team naming another team's objects by id reaches nothing, and changes
/// nothing; ids that do not parse are 404s too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_of_another_team_reach_nothing() {
    let w = world().await;
    let store = w.s.store.clone();
    let ads = w.other_team;
    let outsider = store
        .get_user_auth("outsider@example.com")
        .await
        .unwrap()
        .user
        .id;
    let before = (
        store.get_team(ads).await.unwrap(),
        store.team_roster(ads).await.unwrap(),
    );
    let attempts: &[(Method, String, Option<Value>)] = &[
        (Method::GET, format!("/api/v1/teams/{ads}"), None),
        (
            Method::PUT,
            format!("/api/v1/teams/{ads}/policy"),
            Some(json!({"max_keys": 1})),
        ),
        (
            Method::POST,
            format!("/api/v1/teams/{ads}/members"),
            Some(json!({"email": "member@example.com", "role": "team_admin"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/teams/{ads}/members/{outsider}"),
            Some(json!({"role": "team_admin"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/teams/{ads}/members/{outsider}"),
            None,
        ),
        (Method::DELETE, format!("/api/v1/teams/{ads}"), None),
        (Method::GET, "/api/v1/teams/not-an-id".to_owned(), None),
        (
            Method::DELETE,
            format!("/api/v1/teams/{}/members/not-an-id", w.team),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = w
            .call(Who::TeamAdmin, method.clone(), path, body.clone())
            .await;
        assert_eq!(status, S::NOT_FOUND, "{method} {path}: {answer}");
    }
    let after = (
        store.get_team(ads).await.unwrap(),
        store.team_roster(ads).await.unwrap(),
    );
    assert_eq!(before, after);
    // Their own membership is not theirs to change.
    let lead = store
        .get_user_auth("lead@example.com")
        .await
        .unwrap()
        .user
        .id;
    let (status, body) = w
        .call(
            Who::TeamAdmin,
            Method::PUT,
            &format!("/api/v1/teams/{}/members/{lead}", w.team),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, S::CONFLICT, "{body}");
}

/// The policy holds a member's keys: what they leave open is filled in, what crosses a limit is
/// refused naming it, and nothing is stored; a team admin is held only to the team's limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_is_held_to_the_team_policy() {
    let w = world().await;
    let policy = json!({
        "models": ["ping", "anthropic/*"],
        "max_budget": 2_000_000,
        "max_rpm": 60,
        "max_keys": 2,
        "default_expiry_days": 7,
        "max_expiry_days": 30,
    });
    let (status, body) = w
        .call(
            Who::TeamAdmin,
            Method::PUT,
            &format!("/api/v1/teams/{}/policy", w.team),
            Some(policy),
        )
        .await;
    assert_eq!(status, S::OK, "{body}");
    let create = |extra: Value| {
        let mut b = json!({"team_id": w.team, "alias": "mine"});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let keys_before = w.s.store.count_member_keys(w.team, w.member).await.unwrap();
    let days = 24 * 3600 * 1000_i64;
    let far = tollgate_domain::Timestamp::now().plus_millis(31 * days);
    for (extra, field) in [
        (json!({"models": ["gpt-4o-mini"]}), "models"),
        (json!({"models": ["*"]}), "models"),
        (json!({"max_budget": 2_000_001}), "max_budget"),
        (json!({"rpm_limit": 61}), "rpm_limit"),
        (json!({"expires_at": far.0}), "expires_at"),
    ] {
        let (status, body) = w
            .call(
                Who::Member,
                Method::POST,
                "/api/v1/keys",
                Some(create(extra.clone())),
            )
            .await;
        assert_eq!(status, S::BAD_REQUEST, "{extra}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{field}:")),
            "{extra}: {message}"
        );
        assert!(message.contains("polic"), "names the policy: {message}");
    }
    assert_eq!(
        w.s.store.count_member_keys(w.team, w.member).await.unwrap(),
        keys_before,
        "refusals store nothing"
    );

    // Left open, a key gets the policy's limits.
    let (status, made) = w
        .call(
            Who::Member,
            Method::POST,
            "/api/v1/keys",
            Some(create(json!({}))),
        )
        .await;
    assert_eq!(status, S::CREATED, "{made}");
    let key = &made["data"];
    assert_eq!(key["allowed_models"], json!(["ping", "anthropic/*"]));
    assert_eq!(key["max_budget"], 2_000_000);
    assert_eq!(key["rpm_limit"], 60);
    let expires = key["expires_at"].as_i64().unwrap();
    let week = tollgate_domain::Timestamp::now().plus_millis(7 * days).0;
    assert!(
        (expires - week).abs() < 60_000,
        "a week from now: {expires} vs {week}"
    );
    // Found by how soon it expires, and not among the expired.
    for (days, found) in [("8", true), ("6", false), ("0", false)] {
        let (status, body) = w
            .call(
                Who::Member,
                Method::GET,
                &format!("/api/v1/keys?expires_within_days={days}"),
                None,
            )
            .await;
        assert_eq!(status, S::OK, "{body}");
        let ids: Vec<&Value> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| &k["id"])
            .collect();
        assert_eq!(
            ids.contains(&&key["id"]),
            found,
            "within {days} days: {body}"
        );
    }
    let (status, _) = w
        .call(
            Who::Member,
            Method::GET,
            "/api/v1/keys?expires_within_days=5000",
            None,
        )
        .await;
    assert_eq!(status, S::BAD_REQUEST);
    // The key works at the gateway, within its models, and not outside them.
    let secret = made["secret"].as_str().unwrap();
    let base = &w.s.server.base;
    wait_until("the member's key answers", || async {
        ask(base, secret, "ping").await == 200
    })
    .await;
    assert_eq!(ask(base, secret, "gpt-4o-mini").await, 403);

    // Within the limits exactly: allowed; then the third key is one too many.
    let (status, body) = w
        .call(
            Who::Member,
            Method::POST,
            "/api/v1/keys",
            Some(create(
                json!({"models": ["anthropic/claude-3"], "max_budget": 2_000_000, "rpm_limit": 60}),
            )),
        )
        .await;
    assert_eq!(status, S::CREATED, "{body}");
    let (status, body) = w
        .call(
            Who::Member,
            Method::POST,
            "/api/v1/keys",
            Some(create(json!({}))),
        )
        .await;
    assert_eq!(status, S::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("(2)"),
        "{body}"
    );

    // An edit of a member's key is held too, and a refused edit changes nothing.
    let id = key["id"].as_str().unwrap();
    let version = key["version"].as_i64().unwrap();
    let (status, body) = w
        .call(
            Who::Member,
            Method::PATCH,
            &format!("/api/v1/keys/{id}"),
            Some(json!({"version": version, "rpm_limit": 600})),
        )
        .await;
    assert_eq!(status, S::BAD_REQUEST, "{body}");
    let stored = w.s.store.get_key(id.parse().unwrap()).await.unwrap();
    assert_eq!(stored.rpm_limit, Some(60));

    // The team admin is held to the team's limits, not to the member policy.
    let (status, body) = w
        .call(
            Who::TeamAdmin,
            Method::POST,
            "/api/v1/keys",
            Some(create(json!({"models": ["gpt-4o-mini"], "rpm_limit": 600}))),
        )
        .await;
    assert_eq!(status, S::CREATED, "{body}");
    let (status, body) = w
        .call(
            Who::TeamAdmin,
            Method::POST,
            "/api/v1/keys",
            Some(create(json!({"max_budget": 10_000_001}))),
        )
        .await;
    assert_eq!(status, S::BAD_REQUEST, "over the team's own $10: {body}");

    // A bad policy is refused by field and leaves the old one.
    for (bad, field) in [
        (json!({"models": ["a*b"]}), "models"),
        (json!({"max_budget": -1}), "max_budget"),
        (json!({"max_rpm": 2_000_000_000_i64}), "max_rpm"),
        (
            json!({"default_expiry_days": 40, "max_expiry_days": 30}),
            "default_expiry_days",
        ),
        (json!({"max_expiry_days": 0}), "max_expiry_days"),
        (json!({"max_keys": "many"}), "max_keys"),
        (json!({"surprise": 1}), "surprise"),
    ] {
        let (status, body) = w
            .call(
                Who::TeamAdmin,
                Method::PUT,
                &format!("/api/v1/teams/{}/policy", w.team),
                Some(bad.clone()),
            )
            .await;
        assert!(
            status == S::BAD_REQUEST || status == S::UNPROCESSABLE_ENTITY,
            "{bad}: {status} {body}"
        );
        assert!(
            body.to_string().contains(field),
            "{bad} names {field}: {body}"
        );
    }
    let kept = w.s.store.get_team(w.team).await.unwrap().policy;
    assert_eq!(kept.max_keys, Some(2));

    // Three places more, eight creations at once: exactly three are made. The others are
    // refused by the policy's count (400), or, when they counted before a concurrent one
    // inserted, by the store's locked count (409); never one key too many.
    let (status, body) = w
        .call(
            Who::TeamAdmin,
            Method::PUT,
            &format!("/api/v1/teams/{}/policy", w.team),
            Some(json!({"max_keys": 5})),
        )
        .await;
    assert_eq!(status, S::OK, "{body}");
    let held = w.s.store.count_member_keys(w.team, w.member).await.unwrap();
    assert_eq!(held, 2);
    let attempts = (0..8).map(|_| {
        w.call(
            Who::Member,
            Method::POST,
            "/api/v1/keys",
            Some(create(json!({}))),
        )
    });
    let statuses: Vec<S> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|(status, body)| {
            assert!(
                [S::CREATED, S::BAD_REQUEST, S::CONFLICT].contains(&status),
                "{status} {body}"
            );
            status
        })
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == S::CREATED).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        w.s.store.count_member_keys(w.team, w.member).await.unwrap(),
        5
    );
}

/// Teams refuse bad settings by field, keep hostile names verbatim, and refuse duplicates and
/// deleting a team that still has keys; users likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_team_and_user_input_is_refused_and_stores_nothing() {
    let w = world().await;
    let store = w.s.store.clone();
    let teams_before = store.list_teams(&Default::default()).await.unwrap();
    for (bad, field) in [
        (json!({"name": "  "}), "name"),
        (json!({"name": "x".repeat(300)}), "name"),
        (json!({"name": "a\u{202e}b"}), "name"),
        (json!({"name": "ok", "max_budget": -5}), "max_budget"),
        (
            json!({"name": "ok", "budget_duration": "soon"}),
            "budget_duration",
        ),
        (json!({"name": "ok", "rpm_limit": -1}), "rpm_limit"),
        (
            json!({"name": "ok", "tpm_limit": 10_000_000_000_i64}),
            "tpm_limit",
        ),
        (json!({"name": "ok", "members": []}), "members"),
        (json!({"max_budget": 1}), "name"),
    ] {
        let (status, body) = w
            .call(
                Who::Master,
                Method::POST,
                "/api/v1/teams",
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, S::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body.to_string().contains(field),
            "{bad} names {field}: {body}"
        );
    }
    let (status, body) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": "Ads"})),
        )
        .await;
    assert_eq!(status, S::CONFLICT, "{body}");
    w.refuses_oversized("/api/v1/teams", "name").await;
    assert_eq!(
        store.list_teams(&Default::default()).await.unwrap(),
        teams_before
    );

    // Hostile text is a name like any other, stored and read back as typed.
    let hostile = "<script>alert(1)</script>'; DROP TABLE teams; --";
    let (status, made) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/teams",
            Some(json!({"name": hostile})),
        )
        .await;
    assert_eq!(status, S::CREATED, "{made}");
    assert_eq!(made["data"]["name"], hostile);

    // A team with keys is not deleted; without, it is (with its memberships).
    w.members_key().await;
    let (status, body) = w
        .call(
            Who::Master,
            Method::DELETE,
            &format!("/api/v1/teams/{}", w.team),
            None,
        )
        .await;
    assert_eq!(status, S::CONFLICT, "{body}");
    assert!(store.get_team(w.team).await.is_ok());
    let (status, _) = w
        .call(
            Who::Master,
            Method::DELETE,
            &format!("/api/v1/teams/{}", w.other_team),
            None,
        )
        .await;
    assert_eq!(status, S::NO_CONTENT);
    assert!(store.get_team(w.other_team).await.is_err());

    // A member holding keys is not removed (their keys would outlive their membership).
    let (status, body) = w
        .call(
            Who::TeamAdmin,
            Method::DELETE,
            &format!("/api/v1/teams/{}/members/{}", w.team, w.member),
            None,
        )
        .await;
    assert_eq!(status, S::CONFLICT, "{body}");
    assert!(body.to_string().contains("member@example.com"), "{body}");

    // Adding: an unknown email names the field, a member twice is a conflict.
    for (bad, want) in [
        (
            json!({"email": "nobody@example.com", "role": "member"}),
            S::BAD_REQUEST,
        ),
        (
            json!({"email": "member@example.com", "role": "member"}),
            S::CONFLICT,
        ),
        (
            json!({"email": "viewer@example.com", "role": "owner"}),
            S::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, body) = w
            .call(
                Who::TeamAdmin,
                Method::POST,
                &format!("/api/v1/teams/{}/members", w.team),
                Some(bad.clone()),
            )
            .await;
        assert!(
            status == want || (want == S::UNPROCESSABLE_ENTITY && status == S::BAD_REQUEST),
            "{bad}: {status} {body}"
        );
    }
    assert_eq!(store.team_roster(w.team).await.unwrap().len(), 2);

    // Users: bad emails and roles name the field; a taken email is a conflict; an admin does
    // not disable, demote or delete themselves (the master key has no account to lock out, so
    // the check is made with an admin's session).
    for (bad, field) in [
        (json!({"email": "not an email"}), "email"),
        (json!({"email": "a@example.com", "role": "root"}), "role"),
        (json!({"email": "a@example.com", "team": "x"}), "team"),
    ] {
        let (status, body) = w
            .call(
                Who::Master,
                Method::POST,
                "/api/v1/users",
                Some(bad.clone()),
            )
            .await;
        assert!(status.is_client_error(), "{bad}: {status}");
        assert!(
            body.to_string().contains(field),
            "{bad} names {field}: {body}"
        );
    }
    let (status, _) = w
        .call(
            Who::Master,
            Method::POST,
            "/api/v1/users",
            Some(json!({"email": "Member@Example.com"})),
        )
        .await;
    assert_eq!(status, S::CONFLICT);
    let boss = person(&w.s, "boss@example.com", GlobalRole::Admin, None).await;
    let admin = signed_in(&w.s, "boss@example.com").await;
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/users/{boss}"),
            Some(json!({"disabled": true})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{boss}"),
            Some(json!({"role": "user"})),
        ),
        (Method::DELETE, format!("/api/v1/users/{boss}"), None),
    ] {
        let mut req = admin.request(method.clone(), format!("{}{path}", w.s.server.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), S::CONFLICT, "{method} {path}");
    }
    let me = store.get_user(boss).await.unwrap();
    assert!(!me.disabled && me.role == GlobalRole::Admin);
    // A user who owns keys is not deleted.
    let (status, body) = w
        .call(
            Who::Master,
            Method::DELETE,
            &format!("/api/v1/users/{}", w.member),
            None,
        )
        .await;
    assert_eq!(status, S::CONFLICT, "{body}");
}

/// Disabling a user ends their sessions at once and their keys stop at the gateway; enabling
/// them lets the keys work again (sessions stay ended).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_is_signed_out_and_their_keys_stop() {
    let w = world().await;
    let base = w.s.server.base.clone();
    let (status, made) = w
        .call(
            Who::Member,
            Method::POST,
            "/api/v1/keys",
            Some(json!({"team_id": w.team})),
        )
        .await;
    assert_eq!(status, S::CREATED, "{made}");
    let secret = made["secret"].as_str().unwrap().to_owned();
    wait_for_key(&base, &secret).await;
    assert_eq!(ask(&base, &secret, "ping").await, 200);

    let path = format!("/api/v1/users/{}", w.member);
    let (status, body) = w
        .call(
            Who::Master,
            Method::PATCH,
            &path,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, S::OK, "{body}");
    assert_eq!(body["data"]["disabled"], true);
    let (status, _) = w.call(Who::Member, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, S::UNAUTHORIZED, "the member's session ended");
    wait_until("the disabled user's key is refused", || async {
        ask(&base, &secret, "ping").await == 401
    })
    .await;
    // A fresh sign-in is refused too.
    let r =
        w.s.server
            .browser()
            .post(format!("{base}/rpc/sign_in"))
            .form(&[("email", "member@example.com"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());

    let (status, _) = w
        .call(
            Who::Master,
            Method::PATCH,
            &path,
            Some(json!({"disabled": false})),
        )
        .await;
    assert_eq!(status, S::OK);
    wait_until("the enabled user's key works again", || async {
        ask(&base, &secret, "ping").await == 200
    })
    .await;
    let audit: Vec<String> =
        w.s.store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 10,
                object_type: Some("user".into()),
                object_id: Some(w.member.to_string()),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
    assert_eq!(audit, ["user.enable", "user.disable"]);
}

/// Rotation: the new secret works at once; the old one until the grace period ends, then not;
/// with no grace it stops at once. LiteLLM's `/key/regenerate` names the key by its secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_keeps_its_old_secret_for_the_grace_period() {
    let w = world().await;
    let base = w.s.server.base.clone();
    let (_, made) = w
        .call(
            Who::Member,
            Method::POST,
            "/api/v1/keys",
            Some(json!({"team_id": w.team, "alias": "rotating"})),
        )
        .await;
    let id = made["data"]["id"].as_str().unwrap().to_owned();
    let first = made["secret"].as_str().unwrap().to_owned();
    wait_for_key(&base, &first).await;

    let (status, rotated) = w
        .call(
            Who::Member,
            Method::POST,
            &format!("/api/v1/keys/{id}/rotate"),
            Some(json!({"grace_seconds": 3})),
        )
        .await;
    assert_eq!(status, S::OK, "{rotated}");
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(rotated["data"]["id"], id.as_str(), "the same key");
    assert!(rotated["data"]["previous_expires_at"].is_i64());
    wait_for_key(&base, &second).await;
    assert_eq!(ask(&base, &second, "ping").await, 200);
    assert_eq!(
        ask(&base, &first, "ping").await,
        200,
        "the old secret still works"
    );
    wait_until("the old secret stops after its grace period", || async {
        ask(&base, &first, "ping").await == 401
    })
    .await;
    assert_eq!(ask(&base, &second, "ping").await, 200);

    // LiteLLM's shape, no grace: the old secret stops at once.
    let (status, body) = w
        .call(
            Who::Master,
            Method::POST,
            "/key/regenerate",
            Some(json!({"key": second})),
        )
        .await;
    assert_eq!(status, S::OK, "{body}");
    let third = body["key"].as_str().unwrap().to_owned();
    assert_eq!(body["token"], id.as_str());
    wait_for_key(&base, &third).await;
    wait_until("the second secret is refused", || async {
        ask(&base, &second, "ping").await == 401
    })
    .await;

    // Refusals: a grace beyond 30 days, another team's key, bad bodies; nothing changes. (Spend
    // and last use are left out: the spend writer may still be flushing the requests above.)
    let key_now = || async {
        let mut k = w.s.store.get_key(id.parse().unwrap()).await.unwrap();
        k.spend = tollgate_domain::Micros::ZERO;
        k.last_used_at = None;
        k
    };
    let before = key_now().await;
    for (who, body, want) in [
        (
            Who::Member,
            json!({"grace_seconds": 31 * 24 * 3600}),
            S::BAD_REQUEST,
        ),
        (
            Who::Member,
            json!({"grace_seconds": -1}),
            S::UNPROCESSABLE_ENTITY,
        ),
        (Who::Member, json!({"grace": 1}), S::UNPROCESSABLE_ENTITY),
        (Who::Outsider, json!({}), S::NOT_FOUND),
        (Who::Viewer, json!({}), S::FORBIDDEN),
    ] {
        let (status, answer) = w
            .call(
                who,
                Method::POST,
                &format!("/api/v1/keys/{id}/rotate"),
                Some(body.clone()),
            )
            .await;
        assert!(
            status == want || (want == S::UNPROCESSABLE_ENTITY && status == S::BAD_REQUEST),
            "{who:?} {body}: {status} {answer}"
        );
    }
    assert_eq!(key_now().await, before);
    let actions: Vec<String> =
        w.s.store
            .list_audit(&tollgate_store::AuditQuery {
                limit: 10,
                action_prefix: Some("key.rotate".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.after.unwrap_or_default())
            .collect();
    assert_eq!(actions.len(), 2);
    for after in actions {
        for secret in [&first, &second, &third] {
            assert!(
                !after.contains(secret.as_str()),
                "no secret in the audit log"
            );
        }
    }
}

/// The CSV export: every matching entry, quoted, formulas defused; the filters apply; the JSON
/// pages continue where they stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_exports_as_csv() {
    let w = world().await;
    for i in 0..1203 {
        let (status, _) = w
            .call(
                Who::Master,
                Method::POST,
                "/api/v1/teams",
                Some(json!({"name": format!("=cmd|'/c calc'!A{i}, \"quoted\"")})),
            )
            .await;
        assert_eq!(status, S::CREATED);
    }
    let r = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/audit.csv?action=team.create",
            w.s.server.base
        ))
        .bearer_auth(super::harness::MASTER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), S::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = r.text().await.unwrap();
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("time,actor,action,object_type,object_id,before,after")
    );
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    // Two teams from the world's store calls are not audited; 1203 through the API are, across
    // two pages of 1000 and the rest.
    assert_eq!(rows.len(), 1203);
    assert!(
        rows.iter()
            .all(|r| r.contains(",master key,team.create,team,"))
    );
    // The name sits inside the JSON of `after` (its quotes escaped as `\"`); the CSV field is
    // quoted and every quote doubled. (A field starting with `=` is prefixed with `'`: the unit
    // test of `csv_field` covers that; no field here starts with one.)
    assert!(rows[0].contains("\\\"\"quoted\\\"\""), "{}", rows[0]);
    let ids: std::collections::HashSet<&str> =
        rows.iter().map(|r| r.split(',').nth(4).unwrap()).collect();
    assert_eq!(ids.len(), 1203, "no entry twice");

    // Filters that match nothing: a header only.
    let (status, body) = w
        .call(
            Who::Master,
            Method::GET,
            "/api/v1/audit.csv?actor=nobody",
            None,
        )
        .await;
    assert_eq!(status, S::OK);
    assert_eq!(
        body,
        Value::String("time,actor,action,object_type,object_id,before,after\r\n".into())
    );
    // Bad filters are refused before the download starts.
    for bad in [
        "limit=5",
        "since=yesterday",
        "colour=red",
        &format!("actor={}", "a".repeat(300)),
    ] {
        let (status, body) = w
            .call(
                Who::Master,
                Method::GET,
                &format!("/api/v1/audit.csv?{bad}"),
                None,
            )
            .await;
        assert_eq!(status, S::BAD_REQUEST, "{bad}: {body}");
    }
    // JSON pages: `next` continues, and together they are the same entries.
    let mut seen = 0;
    let mut next = String::new();
    loop {
        let (status, body) = w
            .call(
                Who::Viewer,
                Method::GET,
                &format!("/api/v1/audit?action=team.create&limit=500{next}"),
                None,
            )
            .await;
        assert_eq!(status, S::OK, "{body}");
        seen += body["data"].as_array().unwrap().len();
        match body["next"].as_object() {
            Some(n) => {
                next = format!(
                    "&before={}&before_id={}",
                    n["before"],
                    n["before_id"].as_str().unwrap()
                )
            }
            None => break,
        }
    }
    assert_eq!(seen, 1203);
}
