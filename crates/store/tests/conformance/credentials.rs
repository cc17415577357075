//! Upstream credentials: secrets round-trip through one call only, and never appear in lists.

use crate::harness::{T0, assert_safe, both};
use std::sync::Arc;
use tollgate_domain::routing::{Credential, Deployment, ProviderKind, Route};
use tollgate_domain::{CredentialId, DeploymentId, RouteId};
use tollgate_store::{CredentialSecret, Error, NewCredential, Store};

fn new_credential(name: &str, secret: CredentialSecret) -> NewCredential {
    NewCredential {
        id: CredentialId::new(),
        name: name.to_owned(),
        provider: "openai".to_owned(),
        secret,
        now: T0,
    }
}

/// Bytes that would be easy to spot if they leaked: every byte value, twice.
fn ciphertext() -> Vec<u8> {
    (0..=255u8).chain(0..=255u8).collect()
}

async fn encrypted_and_reference_round_trip(store: Arc<dyn Store>) {
    let encrypted = CredentialSecret::Encrypted {
        ciphertext: ciphertext(),
        nonce: vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff],
    };
    let enc = new_credential("openai-prod", encrypted.clone());
    let created = store.create_credential(&enc).await.unwrap();
    assert_eq!(
        created,
        Credential {
            id: enc.id,
            name: "openai-prod".to_owned(),
            provider: "openai".to_owned(),
            reference: None,
            created_at: T0,
            updated_at: T0,
        }
    );
    assert_eq!(
        store.get_credential_secret(enc.id).await.unwrap(),
        encrypted
    );

    let reference = CredentialSecret::Reference("env:ANTHROPIC_API_KEY".to_owned());
    let by_ref = new_credential("anthropic", reference.clone());
    let created_ref = store.create_credential(&by_ref).await.unwrap();
    assert_eq!(
        created_ref.reference.as_deref(),
        Some("env:ANTHROPIC_API_KEY")
    );
    assert_eq!(
        store.get_credential_secret(by_ref.id).await.unwrap(),
        reference
    );

    // By name; the reference is shown (it names a place, not a secret), the ciphertext is not.
    assert_eq!(
        store.list_credentials().await.unwrap(),
        [created_ref, created]
    );
    assert!(matches!(
        store.get_credential_secret(CredentialId::new()).await,
        Err(Error::NotFound)
    ));
}

async fn debug_shows_no_ciphertext(_store: Arc<dyn Store>) {
    let secret = CredentialSecret::Encrypted {
        ciphertext: b"SECRETBYTES".to_vec(),
        nonce: vec![7; 12],
    };
    let shown = format!("{secret:?}");
    assert!(!shown.contains("83, 69, 67"), "{shown}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(shown.contains("11"), "the length is shown: {shown}");
}

async fn duplicate_name_is_a_conflict(store: Arc<dyn Store>) {
    let first = store
        .create_credential(&new_credential(
            "openai",
            CredentialSecret::Reference("env:A".to_owned()),
        ))
        .await
        .unwrap();
    let err = store
        .create_credential(&new_credential(
            "openai",
            CredentialSecret::Reference("env:B".to_owned()),
        ))
        .await
        .unwrap_err();
    match &err {
        Error::Conflict(words) => assert!(words.contains("name"), "{words}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_safe(&err);
    assert_eq!(store.list_credentials().await.unwrap(), [first]);
}

async fn delete_while_used_is_a_conflict(store: Arc<dyn Store>) {
    let cred = store
        .create_credential(&new_credential(
            "openai",
            CredentialSecret::Reference("file:/run/secrets/openai".to_owned()),
        ))
        .await
        .unwrap();
    let route_id = RouteId::new();
    let route = Route {
        id: route_id,
        instance: None,
        model_name: "gpt-4o".to_owned(),
        alias_of: None,
        strategy: Default::default(),
        timeout_ms: None,
        stream_idle_timeout_ms: None,
        retries: 0,
        fallbacks: Vec::new(),
        header_match: Default::default(),
        source: Default::default(),
        deployments: vec![Deployment {
            id: DeploymentId::new(),
            route_id,
            provider: ProviderKind::Openai,
            upstream_model: "gpt-4o".to_owned(),
            api_base: None,
            api_version: None,
            credential_id: Some(cred.id),
            weight: 1,
            rpm_limit: None,
            tpm_limit: None,
            enabled: true,
            input_price_per_mtok: None,
            output_price_per_mtok: None,
            created_at: T0,
            updated_at: T0,
        }],
        created_at: T0,
        updated_at: T0,
    };
    store.create_route(&route).await.unwrap();

    let err = store.delete_credential(cred.id).await.unwrap_err();
    match &err {
        Error::Conflict(words) => assert!(words.contains("used by a deployment"), "{words}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_safe(&err);
    assert_eq!(
        store.list_credentials().await.unwrap(),
        std::slice::from_ref(&cred)
    );

    store.delete_route(route_id).await.unwrap();
    store.delete_credential(cred.id).await.unwrap();
    assert!(store.list_credentials().await.unwrap().is_empty());
    assert!(matches!(
        store.delete_credential(cred.id).await,
        Err(Error::NotFound)
    ));
}

both!(
    encrypted_and_reference_round_trip,
    debug_shows_no_ciphertext,
    duplicate_name_is_a_conflict,
    delete_while_used_is_a_conflict,
);
