//! Users: create, read, change, delete.

use crate::harness::{T0, assert_safe, both, new_key, new_user, user};
use std::sync::Arc;
use tollgate_domain::authz::{GlobalRole, TeamRole};
use tollgate_domain::{SessionId, TeamId, Timestamp, UserId};
use tollgate_store::{Error, NewKey, NewSession, NewTeam, Page, Store};

async fn create_then_get(store: Arc<dyn Store>) {
    let mut new = new_user("ana@example.com");
    new.role = GlobalRole::Admin;
    new.must_change_password = true;
    let created = store.create_user(&new).await.unwrap();
    assert_eq!(created.id, new.id);
    assert_eq!(created.email, "ana@example.com");
    assert_eq!(created.role, GlobalRole::Admin);
    assert!(created.must_change_password);
    assert!(!created.disabled);
    assert_eq!((created.created_at, created.updated_at), (T0, T0));

    assert_eq!(store.get_user(new.id).await.unwrap(), created);
    let auth = store.get_user_auth("ana@example.com").await.unwrap();
    assert_eq!(auth.user, created);
    assert_eq!(auth.password_hash, new.password_hash);
}

async fn duplicate_email_is_a_conflict(store: Arc<dyn Store>) {
    user(store.as_ref(), "ana@example.com").await;
    let err = store
        .create_user(&new_user("ana@example.com"))
        .await
        .unwrap_err();
    match &err {
        Error::Conflict(words) => assert!(words.contains("email"), "{words}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_safe(&err);
    assert_eq!(store.count_users().await.unwrap(), 1);
}

async fn duplicate_id_is_a_conflict(store: Arc<dyn Store>) {
    let first = user(store.as_ref(), "ana@example.com").await;
    let mut again = new_user("bo@example.com");
    again.id = first.id;
    let err = store.create_user(&again).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_safe(&err);
}

async fn missing_users_are_not_found(store: Arc<dyn Store>) {
    let nobody = UserId::new();
    assert!(matches!(store.get_user(nobody).await, Err(Error::NotFound)));
    assert!(matches!(
        store.get_user_auth("nobody@example.com").await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.set_password(nobody, "h", false, T0).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.set_user_role(nobody, GlobalRole::Admin, T0).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.set_user_disabled(nobody, true, T0).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.delete_user(nobody).await,
        Err(Error::NotFound)
    ));
}

async fn count_and_list_in_email_order(store: Arc<dyn Store>) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    assert!(store.list_users(&Page::default()).await.unwrap().is_empty());
    for email in ["carla@x.io", "ana@x.io", "dev@x.io", "bo@x.io"] {
        user(store.as_ref(), email).await;
    }
    assert_eq!(store.count_users().await.unwrap(), 4);
    let emails = |users: Vec<tollgate_domain::model::User>| {
        users.into_iter().map(|u| u.email).collect::<Vec<_>>()
    };
    let all = store.list_users(&Page::default()).await.unwrap();
    assert_eq!(
        emails(all),
        ["ana@x.io", "bo@x.io", "carla@x.io", "dev@x.io"]
    );
    let second_page = store
        .list_users(&Page {
            limit: 2,
            offset: 2,
        })
        .await
        .unwrap();
    assert_eq!(emails(second_page), ["carla@x.io", "dev@x.io"]);
    let beyond = store
        .list_users(&Page {
            limit: 2,
            offset: u64::MAX,
        })
        .await
        .unwrap();
    assert!(beyond.is_empty());
}

async fn set_password_role_and_disabled(store: Arc<dyn Store>) {
    let u = user(store.as_ref(), "ana@example.com").await;
    let later = Timestamp(T0.0 + 60_000);

    store
        .set_password(u.id, "new-hash", true, later)
        .await
        .unwrap();
    let auth = store.get_user_auth(&u.email).await.unwrap();
    assert_eq!(auth.password_hash, "new-hash");
    assert!(auth.user.must_change_password);
    assert_eq!(auth.user.updated_at, later);
    assert_eq!(auth.user.created_at, T0);

    store
        .set_password(u.id, "newer-hash", false, later)
        .await
        .unwrap();
    assert!(!store.get_user(u.id).await.unwrap().must_change_password);

    store
        .set_user_role(u.id, GlobalRole::Viewer, later)
        .await
        .unwrap();
    assert_eq!(store.get_user(u.id).await.unwrap().role, GlobalRole::Viewer);

    store.set_user_disabled(u.id, true, later).await.unwrap();
    assert!(store.get_user(u.id).await.unwrap().disabled);
    store.set_user_disabled(u.id, false, later).await.unwrap();
    assert!(!store.get_user(u.id).await.unwrap().disabled);
}

async fn delete_user_cascades_sessions_and_memberships(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let bo = user(store.as_ref(), "bo@example.com").await;
    let team = NewTeam::named(TeamId::new(), "Platform".to_owned(), T0);
    store.create_team(&team).await.unwrap();
    for u in [&ana, &bo] {
        store
            .add_team_member(team.id, u.id, TeamRole::Member, T0)
            .await
            .unwrap();
        let session = NewSession {
            id: SessionId::new(),
            user_id: Some(u.id),
            token_hash: format!("hash-of-{}", u.email),
            created_at: T0,
            expires_at: Timestamp(T0.0 + 3_600_000),
            ip: None,
            user_agent: None,
        };
        store.create_session(&session).await.unwrap();
    }

    store.delete_user(ana.id).await.unwrap();

    assert!(matches!(store.get_user(ana.id).await, Err(Error::NotFound)));
    assert!(matches!(
        store.get_session("hash-of-ana@example.com").await,
        Err(Error::NotFound)
    ));
    assert!(store.memberships_of(ana.id).await.unwrap().is_empty());
    let members = store.list_team_members(team.id).await.unwrap();
    assert_eq!(
        members.iter().map(|m| m.user_id).collect::<Vec<_>>(),
        [bo.id]
    );
    assert!(store.get_session("hash-of-bo@example.com").await.is_ok());
    assert_eq!(store.count_users().await.unwrap(), 1);
    // The email is free again.
    user(store.as_ref(), "ana@example.com").await;
}

async fn deleting_a_user_who_owns_keys_is_a_conflict(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let key = store
        .create_key(&NewKey {
            user_id: Some(ana.id),
            ..new_key("hash")
        })
        .await
        .unwrap();
    let err = store.delete_user(ana.id).await.unwrap_err();
    match &err {
        Error::Conflict(words) => assert!(words.contains("keys"), "{words}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_safe(&err);
    assert_eq!(store.get_user(ana.id).await.unwrap(), ana);

    store.delete_key(key.id).await.unwrap();
    store.delete_user(ana.id).await.unwrap();
}

both!(
    create_then_get,
    duplicate_email_is_a_conflict,
    duplicate_id_is_a_conflict,
    missing_users_are_not_found,
    count_and_list_in_email_order,
    set_password_role_and_disabled,
    delete_user_cascades_sessions_and_memberships,
    deleting_a_user_who_owns_keys_is_a_conflict,
);
