//! Hostile and unusual strings are data: they round-trip unchanged and break nothing.

use crate::harness::{T0, assert_safe, both, new_user};
use std::sync::Arc;
use tollgate_domain::model::AuditEntry;
use tollgate_domain::{AuditId, SessionId, TeamId, Timestamp};
use tollgate_store::{AuditQuery, Error, GatewayNode, NewSession, NewTeam, Page, Store};

fn hostile() -> Vec<String> {
    vec![
        "'; DROP TABLE users; --".to_owned(),
        "\"); DELETE FROM sessions; --".to_owned(),
        "<script>alert(document.cookie)</script>".to_owned(),
        "Robert'); DROP TABLE teams;--".to_owned(),
        "$1 $2 ? ?1 :name @x \\ \\' %_%".to_owned(),
        "Zoë 山田 — مرحبا \u{202E}evil \u{1F600}\u{200D}\u{1F680} e\u{301}".to_owned(),
        "line\nbreak\ttab\r\u{7f}".to_owned(),
        "x".repeat(1024 * 1024),
    ]
}

/// The same string cut to fit a unique index: Postgres refuses index entries over a few KB,
/// and the fields that are indexed (emails, names, token hashes) are validated far shorter.
fn indexed(s: &str) -> String {
    s.chars().take(200).collect()
}

async fn users_and_sessions_round_trip(store: Arc<dyn Store>) {
    for (i, s) in hostile().into_iter().enumerate() {
        let mut new = new_user(&format!("{}@{i}", indexed(&s)));
        new.name = s.clone();
        new.password_hash = s.clone();
        let created = store.create_user(&new).await.unwrap();
        assert_eq!(store.get_user(new.id).await.unwrap(), created);
        let auth = store.get_user_auth(&new.email).await.unwrap();
        assert_eq!(
            (auth.user.name.as_str(), auth.password_hash.as_str()),
            (s.as_str(), s.as_str())
        );

        let session = NewSession {
            id: SessionId::new(),
            user_id: Some(new.id),
            token_hash: format!("{}#{i}", indexed(&s)),
            created_at: T0,
            expires_at: T0,
            ip: Some(s.clone()),
            user_agent: Some(s.clone()),
        };
        store.create_session(&session).await.unwrap();
        assert_eq!(
            store
                .get_session(&session.token_hash)
                .await
                .unwrap()
                .user
                .unwrap()
                .name,
            s
        );
        store.set_password(new.id, &s, false, T0).await.unwrap();
    }
    let n = hostile().len();
    assert_eq!(
        store.count_users().await.unwrap(),
        i64::try_from(n).unwrap()
    );
    assert_eq!(store.list_users(&Page::default()).await.unwrap().len(), n);
    // A lookup by a hostile email finds nothing rather than everything.
    assert!(matches!(
        store.get_user_auth("' OR '1'='1").await,
        Err(Error::NotFound)
    ));
}

async fn teams_audit_and_nodes_round_trip(store: Arc<dyn Store>) {
    for (i, s) in hostile().into_iter().enumerate() {
        let mut team = NewTeam::named(TeamId::new(), format!("{}{i}", indexed(&s)), T0);
        team.settings.budget_duration = Some(s.clone());
        let created = store.create_team(&team).await.unwrap();
        assert_eq!(store.get_team(team.id).await.unwrap(), created);

        let entry = AuditEntry {
            id: AuditId::new(),
            ts: Timestamp(T0.0 + i64::try_from(i).unwrap()),
            actor_user_id: None,
            actor_label: s.clone(),
            action: s.clone(),
            object_type: s.clone(),
            object_id: Some(s.clone()),
            before: Some(s.clone()),
            after: Some(format!("{{\"v\":{s:?}}}")),
        };
        store.insert_audit(&entry).await.unwrap();
        let q = AuditQuery {
            limit: 1,
            action_prefix: Some(s.clone()),
            object_type: Some(s.clone()),
            object_id: Some(s.clone()),
            actor: Some(s.clone()),
            since: Some(entry.ts),
            before: None,
            before_id: None,
        };
        assert_eq!(store.list_audit(&q).await.unwrap(), [entry]);

        let node = GatewayNode {
            instance: indexed(&s),
            pod: format!("{}{i}", indexed(&s)),
            version: s.clone(),
            config_revision: 0,
            started_at: T0,
            last_seen: T0,
            in_flight: 0,
        };
        store.upsert_gateway_node(&node).await.unwrap();
        assert!(store.list_gateway_nodes().await.unwrap().contains(&node));
    }
    assert_eq!(
        store.list_teams(&Page::default()).await.unwrap().len(),
        hostile().len()
    );
    assert_eq!(store.count_users().await.unwrap(), 0);
}

async fn nul_bytes_are_refused_or_kept_never_leaked(store: Arc<dyn Store>) {
    // Postgres text cannot hold NUL; SQLite can. Either way the error says nothing inside.
    let mut new = new_user("nul@example.com");
    new.name = "a\0b".to_owned();
    match store.create_user(&new).await {
        Ok(created) => assert_eq!(store.get_user(new.id).await.unwrap(), created),
        Err(e) => assert_safe(&e),
    }
}

both!(
    users_and_sessions_round_trip,
    teams_audit_and_nodes_round_trip,
    nul_bytes_are_refused_or_kept_never_leaked,
);
