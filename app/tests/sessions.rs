//! Sessions on a real SQLite store: who a cookie resolves to, and every way it stops resolving.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "ssr")]

use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use tollgate_app::error::AppError;
use tollgate_app::server::auth::{Auth, AuthConfig, CookieSecurity};
use tollgate_app::server::bootstrap::{Bootstrap, ensure_admin};
use tollgate_domain::keys::hash_secret;
use tollgate_domain::{SessionId, Timestamp};
use tollgate_store::{ConnectOptions, NewSession, Store};

const MASTER: &str = "sk-master-for-tests-0123456789";

async fn store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = tollgate_store::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

fn auth(store: &Arc<dyn Store>, master: Option<&str>) -> Auth {
    Auth::new(
        store.clone(),
        AuthConfig {
            session_ttl: Duration::from_secs(3600),
            cookie_security: CookieSecurity::Auto,
            master_key: master.map(|m| SecretString::from(m.to_owned())),
        },
    )
}

/// The bootstrap admin and their one-time password.
async fn admin(store: &Arc<dyn Store>) -> String {
    match ensure_admin(store.as_ref(), None, None).await.unwrap() {
        Bootstrap::OneTime { password, .. } => {
            secrecy::ExposeSecret::expose_secret(&password).to_owned()
        }
        _ => panic!("expected a one-time password"),
    }
}

#[tokio::test]
async fn a_session_resolves_until_the_user_is_disabled_or_deleted() {
    let (store, _dir) = store().await;
    let password = admin(&store).await;
    let auth = auth(&store, None);
    let signed = auth
        .sign_in("Admin@Localhost ", &password, None, Some("test"))
        .await
        .unwrap();
    assert!(signed.must_change_password);
    let who = auth
        .resolve_session(&signed.token)
        .await
        .expect("signed in");
    assert_eq!(who.label, "admin@localhost");
    let id = who.actor.user_id.unwrap();

    store
        .set_user_disabled(id, true, Timestamp::now())
        .await
        .unwrap();
    assert!(
        auth.resolve_session(&signed.token).await.is_none(),
        "disabled users are signed out"
    );
    store
        .set_user_disabled(id, false, Timestamp::now())
        .await
        .unwrap();
    assert!(auth.resolve_session(&signed.token).await.is_some());

    store.delete_user(id).await.unwrap();
    assert!(
        auth.resolve_session(&signed.token).await.is_none(),
        "deleted users are signed out"
    );
}

#[tokio::test]
async fn expired_and_forged_sessions_do_not_resolve() {
    let (store, _dir) = store().await;
    let password = admin(&store).await;
    let auth = auth(&store, None);
    let signed = auth
        .sign_in("admin@localhost", &password, None, None)
        .await
        .unwrap();
    let user = auth
        .resolve_session(&signed.token)
        .await
        .unwrap()
        .user
        .unwrap();

    let token = "an-expired-session-token";
    store
        .create_session(&NewSession {
            id: SessionId::new(),
            user_id: Some(user.id),
            token_hash: hash_secret(token),
            created_at: Timestamp(0),
            expires_at: Timestamp::now().plus_millis(-1),
            ip: None,
            user_agent: None,
        })
        .await
        .unwrap();
    assert!(auth.resolve_session(token).await.is_none());
    assert!(
        store.get_session(&hash_secret(token)).await.is_err(),
        "an expired session is removed when seen"
    );

    for forged in ["", "x", &"a".repeat(10_000), "'; DROP TABLE sessions; --"] {
        assert!(auth.resolve_session(forged).await.is_none(), "{forged:.20}");
    }
    assert!(
        auth.resolve_session(&signed.token).await.is_some(),
        "the real one still works"
    );
}

#[tokio::test]
async fn master_key_sessions_end_when_the_key_is_removed() {
    let (store, _dir) = store().await;
    let with_key = auth(&store, Some(MASTER));
    let signed = with_key
        .sign_in("master", MASTER, None, None)
        .await
        .unwrap();
    let who = with_key.resolve_session(&signed.token).await.unwrap();
    assert_eq!(who.label, "master key");
    assert!(who.user.is_none());

    let without_key = auth(&store, None);
    assert!(without_key.resolve_session(&signed.token).await.is_none());
    assert!(matches!(
        without_key.sign_in("master", MASTER, None, None).await,
        Err(AppError::BadCredentials)
    ));
    assert!(matches!(
        with_key.sign_in("master", "wrong", None, None).await,
        Err(AppError::BadCredentials)
    ));
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let (store, _dir) = store().await;
    let password = admin(&store).await;
    let auth = auth(&store, None);
    let first = auth
        .sign_in("admin@localhost", &password, None, None)
        .await
        .unwrap();
    let second = auth
        .sign_in("admin@localhost", &password, None, None)
        .await
        .unwrap();
    let who = auth.resolve_session(&first.token).await.unwrap();

    let mismatch = auth
        .change_password(&who, &password, "a new long passphrase", "another")
        .await;
    assert!(matches!(mismatch, Err(AppError::Invalid(ref f)) if f.field == "confirm_password"));
    let wrong = auth
        .change_password(
            &who,
            "not it",
            "a new long passphrase",
            "a new long passphrase",
        )
        .await;
    assert!(matches!(wrong, Err(AppError::Invalid(ref f)) if f.field == "current_password"));

    let fresh = auth
        .change_password(
            &who,
            &password,
            "a new long passphrase",
            "a new long passphrase",
        )
        .await
        .unwrap();
    assert!(auth.resolve_session(&first.token).await.is_none());
    assert!(auth.resolve_session(&second.token).await.is_none());
    let now = auth.resolve_session(&fresh.token).await.unwrap();
    assert!(!now.must_change_password());
}

#[tokio::test]
async fn bootstrap_runs_once_and_honours_the_configured_admin() {
    let (store, _dir) = store().await;
    let email = "Ops@Example.com";
    let password = SecretString::from("configured passphrase".to_owned());
    match ensure_admin(store.as_ref(), Some(email), Some(&password))
        .await
        .unwrap()
    {
        Bootstrap::FromConfig { email } => assert_eq!(email, "ops@example.com"),
        _ => panic!("expected the configured admin"),
    }
    assert!(matches!(
        ensure_admin(store.as_ref(), None, None).await.unwrap(),
        Bootstrap::NotNeeded
    ));
    assert_eq!(store.count_users().await.unwrap(), 1);

    let (empty, _d) = self::store().await;
    let weak = SecretString::from("short".to_owned());
    assert!(
        ensure_admin(empty.as_ref(), Some(email), Some(&weak))
            .await
            .is_err()
    );
    assert_eq!(
        empty.count_users().await.unwrap(),
        0,
        "nothing written for a weak password"
    );
}
