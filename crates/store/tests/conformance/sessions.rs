//! Sessions: create, read with the user, end one, end all, clean up expired.

use crate::harness::{T0, assert_safe, both, user};
use std::sync::Arc;
use tollgate_domain::{SessionId, Timestamp, UserId};
use tollgate_store::{Error, NewSession, Store};

fn session(user_id: UserId, token_hash: &str, expires_at: Timestamp) -> NewSession {
    NewSession {
        id: SessionId::new(),
        user_id: Some(user_id),
        token_hash: token_hash.to_owned(),
        created_at: T0,
        expires_at,
        ip: Some("203.0.113.7".to_owned()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".to_owned()),
    }
}

async fn create_get_and_delete(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let new = session(ana.id, "h1", Timestamp(T0.0 + 1_000));
    store.create_session(&new).await.unwrap();

    let got = store.get_session("h1").await.unwrap();
    assert_eq!(got.session.id, new.id);
    assert_eq!(got.session.user_id, Some(ana.id));
    assert_eq!(got.session.created_at, T0);
    assert_eq!(got.session.expires_at, new.expires_at);
    assert_eq!(got.user, Some(ana));

    assert!(matches!(
        store.get_session("h2").await,
        Err(Error::NotFound)
    ));
    store.delete_session("h1").await.unwrap();
    assert!(matches!(
        store.get_session("h1").await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        store.delete_session("h1").await,
        Err(Error::NotFound)
    ));
}

async fn expired_and_disabled_sessions_are_still_returned(store: Arc<dyn Store>) {
    // The caller decides what an expired session or a disabled user means.
    let ana = user(store.as_ref(), "ana@example.com").await;
    store
        .create_session(&session(ana.id, "old", Timestamp(T0.0 - 1)))
        .await
        .unwrap();
    store.set_user_disabled(ana.id, true, T0).await.unwrap();
    let got = store.get_session("old").await.unwrap();
    assert!(got.user.unwrap().disabled);
    assert!(got.session.expires_at < T0);
}

async fn session_of_a_missing_user_is_not_found(store: Arc<dyn Store>) {
    let err = store
        .create_session(&session(UserId::new(), "h", T0))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

async fn duplicate_token_hash_is_a_conflict(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    store
        .create_session(&session(ana.id, "same", T0))
        .await
        .unwrap();
    let err = store
        .create_session(&session(ana.id, "same", T0))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_safe(&err);
}

async fn delete_all_of_a_user_and_expired(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let bo = user(store.as_ref(), "bo@example.com").await;
    let at = |ms: i64| Timestamp(T0.0 + ms);
    for (u, hash, expires) in [
        (&ana, "a1", at(10)),
        (&ana, "a2", at(20)),
        (&bo, "b1", at(5)),
        (&bo, "b2", at(10)),
        (&bo, "b3", at(30)),
    ] {
        store
            .create_session(&session(u.id, hash, expires))
            .await
            .unwrap();
    }

    // `expires_at <= now` is expired: b1 and b2 (at 5, 10) and a1 (at 10).
    assert_eq!(store.delete_expired_sessions(at(10)).await.unwrap(), 3);
    assert_eq!(store.delete_expired_sessions(at(10)).await.unwrap(), 0);
    assert!(store.get_session("a2").await.is_ok());
    assert!(store.get_session("b3").await.is_ok());

    assert_eq!(store.delete_user_sessions(ana.id).await.unwrap(), 1);
    assert_eq!(store.delete_user_sessions(ana.id).await.unwrap(), 0);
    assert!(matches!(
        store.get_session("a2").await,
        Err(Error::NotFound)
    ));
    assert!(store.get_session("b3").await.is_ok());
}

async fn a_master_key_session_has_no_user(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let master = NewSession {
        user_id: None,
        ..session(ana.id, "m", Timestamp(T0.0 + 1_000))
    };
    store.create_session(&master).await.unwrap();
    let got = store.get_session("m").await.unwrap();
    assert_eq!(got.session.user_id, None);
    assert_eq!(got.user, None);
    // Ending a user's sessions leaves the master key's alone.
    store.delete_user_sessions(ana.id).await.unwrap();
    assert!(store.get_session("m").await.is_ok());
}

both!(
    a_master_key_session_has_no_user,
    create_get_and_delete,
    expired_and_disabled_sessions_are_still_returned,
    session_of_a_missing_user_is_not_found,
    duplicate_token_hash_is_a_conflict,
    delete_all_of_a_user_and_expired,
);
