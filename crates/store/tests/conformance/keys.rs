//! Virtual keys: the hash kept apart, JSON allow-lists, blocking and the gateway's cache.

use crate::harness::{T0, assert_safe, both, new_key, team, user};
use std::sync::Arc;
use tollgate_domain::{KeyId, Micros, TeamId, Timestamp, UserId};
use tollgate_store::{Error, KeyQuery, KeySettings, NewKey, Store};

async fn create_get_and_list(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let platform = team(store.as_ref(), "Platform").await;
    let full = NewKey {
        alias: Some("ci".to_owned()),
        team_id: Some(platform),
        user_id: Some(ana.id),
        allowed_models: Some(vec!["gpt-4o".to_owned(), "anthropic/*".to_owned()]),
        allowed_instances: Some(vec!["claude".to_owned()]),
        max_budget: Some(Micros(50_000_000)),
        budget_duration: Some("30d".to_owned()),
        soft_budget: Some(Micros(40_000_000)),
        rpm_limit: Some(60),
        tpm_limit: Some(100_000),
        max_parallel: Some(4),
        expires_at: Some(Timestamp(T0.0 + 86_400_000)),
        metadata: Some(r#"{ "ticket": "OPS-1",  "b": [1, 2] }"#.to_owned()),
        ..new_key("hash-full")
    };
    let created = store.create_key(&full).await.unwrap();
    assert_eq!(created.id, full.id);
    assert_eq!(created.allowed_models, full.allowed_models);
    assert_eq!(created.allowed_instances, full.allowed_instances);
    assert_eq!(created.expires_at, full.expires_at);
    assert_eq!(created.metadata, full.metadata, "metadata is kept verbatim");
    assert_eq!(
        (created.spend, created.version, created.blocked),
        (Micros::ZERO, 0, false)
    );
    assert_eq!((created.created_at, created.updated_at), (T0, T0));
    assert_eq!(created.last_used_at, None);
    assert_eq!(store.get_key(full.id).await.unwrap(), created);

    let later = Timestamp(T0.0 + 1);
    let bare = store
        .create_key(&NewKey {
            now: later,
            ..new_key("hash-bare")
        })
        .await
        .unwrap();
    assert_eq!(store.get_key(bare.id).await.unwrap(), bare);
    assert_eq!((bare.team_id, &bare.allowed_models), (None, &None));

    // Newest first.
    assert_eq!(
        all_keys(store.as_ref()).await,
        [bare.clone(), created.clone()]
    );
    assert_eq!(
        store
            .find_keys(&KeyQuery {
                limit: 1,
                after: Some(bare.id),
                ..KeyQuery::default()
            })
            .await
            .unwrap(),
        std::slice::from_ref(&created)
    );
    assert!(matches!(
        store.get_key(KeyId::new()).await,
        Err(Error::NotFound)
    ));
}

async fn empty_allow_list_is_not_none(store: Arc<dyn Store>) {
    let nothing = store
        .create_key(&NewKey {
            allowed_models: Some(Vec::new()),
            allowed_instances: Some(Vec::new()),
            ..new_key("hash-nothing")
        })
        .await
        .unwrap();
    let read = store.get_key(nothing.id).await.unwrap();
    assert_eq!(read.allowed_models, Some(Vec::new()));
    assert_eq!(read.allowed_instances, Some(Vec::new()));

    let anything = store.create_key(&new_key("hash-anything")).await.unwrap();
    let read = store.get_key(anything.id).await.unwrap();
    assert_eq!((read.allowed_models, read.allowed_instances), (None, None));

    let odd = vec!["a\"b".to_owned(), "]".to_owned(), "山田/*".to_owned()];
    let key = store
        .create_key(&NewKey {
            allowed_models: Some(odd.clone()),
            ..new_key("hash-odd")
        })
        .await
        .unwrap();
    assert_eq!(
        store.get_key(key.id).await.unwrap().allowed_models,
        Some(odd)
    );
}

/// Every key, newest first.
async fn all_keys(store: &dyn Store) -> Vec<tollgate_domain::model::VirtualKey> {
    store
        .find_keys(&KeyQuery {
            limit: 1000,
            ..KeyQuery::default()
        })
        .await
        .unwrap()
}

async fn duplicate_hash_is_a_conflict(store: Arc<dyn Store>) {
    let first = store.create_key(&new_key("same-hash")).await.unwrap();
    let err = store.create_key(&new_key("same-hash")).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_safe(&err);
    assert_eq!(all_keys(store.as_ref()).await, [first]);
}

async fn missing_owner_is_not_found(store: Arc<dyn Store>) {
    let no_team = store
        .create_key(&NewKey {
            team_id: Some(TeamId::new()),
            ..new_key("hash-1")
        })
        .await;
    assert!(matches!(no_team, Err(Error::NotFound)), "{no_team:?}");
    let no_user = store
        .create_key(&NewKey {
            user_id: Some(UserId::new()),
            ..new_key("hash-2")
        })
        .await;
    assert!(matches!(no_user, Err(Error::NotFound)), "{no_user:?}");
    assert!(all_keys(store.as_ref()).await.is_empty());
}

async fn block_unblock_and_the_active_list(store: Arc<dyn Store>) {
    let expired = store
        .create_key(&NewKey {
            expires_at: Some(Timestamp(T0.0 - 1)),
            ..new_key("hash-expired")
        })
        .await
        .unwrap();
    let key = store
        .create_key(&NewKey {
            now: Timestamp(T0.0 + 1),
            ..new_key("hash-live")
        })
        .await
        .unwrap();

    let active = store.list_active_keys().await.unwrap();
    let summary: Vec<(KeyId, &str)> = active
        .iter()
        .map(|r| (r.key.id, r.key_hash.as_str()))
        .collect();
    assert_eq!(
        summary,
        [(expired.id, "hash-expired"), (key.id, "hash-live")],
        "expired keys are listed: the gateway checks expiry"
    );
    assert_eq!(active[1].key, key);

    let later = Timestamp(T0.0 + 10);
    let blocked = store.set_key_blocked(key.id, true, later).await.unwrap();
    assert!(blocked.blocked);
    assert_eq!((blocked.version, blocked.updated_at), (1, later));
    assert_eq!(blocked.created_at, key.created_at);
    assert_eq!(store.get_key(key.id).await.unwrap(), blocked);
    let active: Vec<KeyId> = store
        .list_active_keys()
        .await
        .unwrap()
        .iter()
        .map(|r| r.key.id)
        .collect();
    assert_eq!(active, [expired.id]);

    let unblocked = store
        .set_key_blocked(key.id, false, Timestamp(T0.0 + 20))
        .await
        .unwrap();
    assert!(!unblocked.blocked);
    assert_eq!(unblocked.version, 2);
    assert_eq!(store.list_active_keys().await.unwrap().len(), 2);

    assert!(matches!(
        store.set_key_blocked(KeyId::new(), true, later).await,
        Err(Error::NotFound)
    ));
}

async fn delete(store: Arc<dyn Store>) {
    let key = store.create_key(&new_key("hash")).await.unwrap();
    store.delete_key(key.id).await.unwrap();
    assert!(matches!(store.get_key(key.id).await, Err(Error::NotFound)));
    assert!(matches!(
        store.delete_key(key.id).await,
        Err(Error::NotFound)
    ));
    assert!(store.list_active_keys().await.unwrap().is_empty());
    // The hash is free again.
    store.create_key(&new_key("hash")).await.unwrap();
}

/// The key list's filters and keyset pages; the search matches `%` and `_` as themselves.
async fn find_keys_filters_and_pages(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let (search, ads) = (
        team(store.as_ref(), "Search").await,
        team(store.as_ref(), "Ads").await,
    );
    let mut ids = Vec::new();
    for i in 0..7 {
        let k = NewKey {
            alias: Some(format!("key {i}{}", if i == 3 { " 100%_off" } else { "" })),
            team_id: Some(if i % 2 == 0 { search } else { ads }),
            user_id: (i < 2).then_some(ana.id),
            key_prefix: format!("sk-tg-pre{i}"),
            key_suffix: format!("su{i}"),
            ..new_key(&format!("find-{i}"))
        };
        ids.push(store.create_key(&k).await.unwrap().id);
    }
    store.set_key_blocked(ids[4], true, T0).await.unwrap();
    let find = |q: KeyQuery| {
        let store = store.clone();
        async move {
            store
                .find_keys(&KeyQuery { limit: 100, ..q })
                .await
                .unwrap()
                .into_iter()
                .map(|k| k.id)
                .collect::<Vec<_>>()
        }
    };
    let newest_first: Vec<KeyId> = ids.iter().rev().copied().collect();
    assert_eq!(find(KeyQuery::default()).await, newest_first);
    let team_keys = find(KeyQuery {
        team: Some(search),
        ..KeyQuery::default()
    })
    .await;
    assert_eq!(team_keys, vec![ids[6], ids[4], ids[2], ids[0]]);
    assert_eq!(
        find(KeyQuery {
            user: Some(ana.id),
            ..KeyQuery::default()
        })
        .await,
        vec![ids[1], ids[0]]
    );
    assert_eq!(
        find(KeyQuery {
            blocked: Some(true),
            ..KeyQuery::default()
        })
        .await,
        vec![ids[4]]
    );
    let search_for = |text: &str| KeyQuery {
        search: Some(text.to_owned()),
        ..KeyQuery::default()
    };
    assert_eq!(find(search_for("100%_off")).await, vec![ids[3]]);
    assert!(
        find(search_for("%")).await == vec![ids[3]],
        "% is itself, not a wildcard"
    );
    assert!(find(search_for("_")).await == vec![ids[3]]);
    // A backslash is itself too (Postgres's LIKE escape character), and case matters.
    assert!(find(search_for("100%\\")).await.is_empty());
    assert!(find(search_for("\\%")).await.is_empty());
    assert!(
        find(search_for("100%_OFF")).await.is_empty(),
        "case-sensitive"
    );
    assert_eq!(
        find(search_for("sk-tg-pre5")).await,
        vec![ids[5]],
        "by display prefix"
    );
    assert_eq!(
        find(search_for("su2")).await,
        vec![ids[2]],
        "by display suffix"
    );
    assert!(
        find(search_for("'; DROP TABLE virtual_keys; --"))
            .await
            .is_empty()
    );
    assert_eq!(find(KeyQuery::default()).await.len(), 7, "nothing dropped");
    // Pages of 3: each continues strictly after the last id of the one before.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .find_keys(&KeyQuery {
                limit: 3,
                after,
                ..KeyQuery::default()
            })
            .await
            .unwrap();
        seen.extend(page.iter().map(|k| k.id));
        match page.last() {
            Some(last) if page.len() == 3 => after = Some(last.id),
            _ => break,
        }
    }
    assert_eq!(seen, newest_first);
    // By the hash of its secret.
    assert_eq!(store.get_key_by_hash("find-5").await.unwrap().id, ids[5]);
    assert!(matches!(
        store.get_key_by_hash("nope").await,
        Err(Error::NotFound)
    ));
}

/// Every key order sorts by its value, then by id in the same direction, with NULLs where
/// `KeySort` says; pages of any size continue after the last key's id in that order.
async fn find_keys_sorts_and_pages_in_every_order(store: Arc<dyn Store>) {
    use tollgate_domain::key_spec::KeySort;
    let ads = team(store.as_ref(), "Ads").await;
    let day = 86_400_000;
    // Ties on purpose: two "a" names, two equal expiries, keys never used, spend 0.
    let shapes: [(Option<&str>, Option<i64>); 7] = [
        (Some("b"), Some(3 * day)),
        (None, None),
        (Some("a"), Some(day)),
        (Some("c"), None),
        (Some("a"), Some(day)),
        (None, Some(-day)),
        (Some("a b"), Some(2 * day)),
    ];
    let mut ids = Vec::new();
    for (i, (alias, expires)) in shapes.iter().enumerate() {
        let k = NewKey {
            alias: alias.map(str::to_owned),
            expires_at: expires.map(|e| Timestamp(T0.0 + e)),
            team_id: (i % 2 == 0).then_some(ads),
            ..new_key(&format!("sort-{i}"))
        };
        ids.push(store.create_key(&k).await.unwrap().id);
    }
    // Spend and last use for some: two at the same cost, one used later than the others.
    let used = [(0, 500, 10), (2, 500, 30), (3, 900, 20), (6, 100, 20)];
    let batch: Vec<tollgate_store::SpendRecord> = used
        .iter()
        .map(|&(i, cost, at)| tollgate_store::SpendRecord {
            key_id: Some(ids[i]),
            cost: Micros(cost),
            ..tollgate_store::SpendRecord::new(
                format!("r{i}"),
                Timestamp(T0.0 + at),
                "default",
                "p",
                "m",
            )
        })
        .collect();
    store.record_spend(&batch, T0).await.unwrap();
    let all = store
        .find_keys(&KeyQuery {
            limit: 100,
            ..KeyQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert!(all.iter().any(|k| k.last_used_at.is_some()) && all.iter().any(|k| k.spend.0 == 900));
    for sort in KeySort::ALL {
        for team in [None, Some(ads)] {
            // The order the spec gives, from the stored values.
            let mut want: Vec<&tollgate_domain::model::VirtualKey> = all
                .iter()
                .filter(|k| team.is_none() || k.team_id == team)
                .collect();
            let by = |k: &tollgate_domain::model::VirtualKey| -> (i64, String) {
                match sort {
                    KeySort::Newest | KeySort::Oldest => (0, String::new()),
                    KeySort::Spend => (k.spend.0, String::new()),
                    KeySort::LastUsed => (k.last_used_at.map_or(-1, |t| t.0), String::new()),
                    KeySort::Alias => (0, k.alias.clone().unwrap_or_default()),
                    KeySort::Expires => (k.expires_at.map_or(i64::MAX, |t| t.0), String::new()),
                }
            };
            want.sort_by_key(|k| (by(k), k.id.0));
            if matches!(sort, KeySort::Newest | KeySort::Spend | KeySort::LastUsed) {
                want.reverse();
            }
            let want: Vec<KeyId> = want.iter().map(|k| k.id).collect();
            for size in [1, 2, 3, 100] {
                let mut got = Vec::new();
                let mut after = None;
                loop {
                    let page = store
                        .find_keys(&KeyQuery {
                            limit: size,
                            after,
                            team,
                            sort,
                            ..KeyQuery::default()
                        })
                        .await
                        .unwrap();
                    got.extend(page.iter().map(|k| k.id));
                    match page.last() {
                        Some(last) if page.len() == size as usize => after = Some(last.id),
                        _ => break,
                    }
                    assert!(got.len() <= 7, "{sort:?}: pages repeat");
                }
                assert_eq!(got, want, "{sort:?}, team {team:?}, pages of {size}");
            }
        }
    }
    // A cursor that names no key ends the list rather than starting it again.
    let gone = store
        .find_keys(&KeyQuery {
            limit: 100,
            after: Some(KeyId::new()),
            sort: KeySort::Spend,
            ..KeyQuery::default()
        })
        .await
        .unwrap();
    assert!(gone.is_empty());
}

/// An edit replaces the settings only while the version is the one read.
async fn update_key_checks_the_version(store: Arc<dyn Store>) {
    let platform = team(store.as_ref(), "Platform").await;
    let made = store
        .create_key(&NewKey {
            alias: Some("before".to_owned()),
            team_id: Some(platform),
            rpm_limit: Some(10),
            ..new_key("edit-1")
        })
        .await
        .unwrap();
    let settings = KeySettings {
        alias: Some("after".to_owned()),
        allowed_models: Some(vec!["gpt-4o".to_owned()]),
        max_budget: Some(Micros(7_000_000)),
        budget_duration: Some("7d".to_owned()),
        rpm_limit: None,
        metadata: Some(r#"{"ticket":"OPS-2"}"#.to_owned()),
        store_prompts: true,
        ..KeySettings::default()
    };
    let later = Timestamp(T0.0 + 1_000);
    let edited = store
        .update_key(made.id, &settings, made.version, later)
        .await
        .unwrap();
    assert_eq!(edited.version, made.version + 1);
    assert_eq!(edited.alias.as_deref(), Some("after"));
    assert_eq!(edited.allowed_models, settings.allowed_models);
    assert_eq!(
        (edited.max_budget, edited.rpm_limit),
        (Some(Micros(7_000_000)), None)
    );
    assert_eq!(edited.metadata, settings.metadata);
    assert!(edited.store_prompts);
    assert_eq!((edited.team_id, edited.updated_at), (Some(platform), later));
    assert_eq!(store.get_key(made.id).await.unwrap(), edited);
    // A second save from the same read is refused and changes nothing.
    let stale = KeySettings {
        alias: Some("lost".to_owned()),
        ..KeySettings::default()
    };
    let e = store
        .update_key(made.id, &stale, made.version, later)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Conflict(m) if m.contains("changed since")),
        "{e:?}"
    );
    assert_eq!(store.get_key(made.id).await.unwrap(), edited);
    assert!(matches!(
        store.update_key(KeyId::new(), &stale, 0, later).await,
        Err(Error::NotFound)
    ));
}

/// A rotation replaces the hash and keeps the replaced one for the grace period; a second
/// rotation replaces the first's previous hash; none keeps no previous hash.
async fn rotation_keeps_the_previous_hash_for_the_grace_period(store: Arc<dyn Store>) {
    let made = store.create_key(&new_key("hash-1")).await.unwrap();
    let until = Timestamp(T0.0 + 60_000);
    let secret = |h: &str| tollgate_store::KeySecret {
        hash: h.to_owned(),
        prefix: format!("sk-tg-{h}"),
        suffix: "zzzz".to_owned(),
    };
    let rotated = store
        .rotate_key(made.id, &secret("hash-2"), Some(until), T0)
        .await
        .unwrap();
    assert_eq!(rotated.id, made.id);
    assert_eq!(rotated.version, made.version + 1);
    assert_eq!(rotated.previous_expires_at, Some(until));
    assert_eq!(rotated.key_prefix, "sk-tg-hash-2");
    assert_eq!(store.get_key_by_hash("hash-2").await.unwrap().id, made.id);
    assert!(matches!(
        store.get_key_by_hash("hash-1").await,
        Err(Error::NotFound)
    ));
    let active = |hash: &'static str| {
        let store = store.clone();
        async move {
            store
                .list_active_keys()
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.key_hash == hash)
                .map(|r| r.previous_key_hash)
        }
    };
    assert_eq!(active("hash-2").await, Some(Some("hash-1".to_owned())));
    store
        .rotate_key(made.id, &secret("hash-3"), Some(until), T0)
        .await
        .unwrap();
    assert_eq!(active("hash-3").await, Some(Some("hash-2".to_owned())));
    let last = store
        .rotate_key(made.id, &secret("hash-4"), None, T0)
        .await
        .unwrap();
    assert_eq!(last.previous_expires_at, None);
    assert_eq!(active("hash-4").await, Some(None));
    // A secret already in use is a conflict and changes nothing; a missing key is not found.
    let other = store.create_key(&new_key("hash-other")).await.unwrap();
    let err = store
        .rotate_key(other.id, &secret("hash-4"), None, T0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(store.get_key(other.id).await.unwrap(), other);
    assert!(matches!(
        store
            .rotate_key(KeyId::new(), &secret("hash-5"), None, T0)
            .await,
        Err(Error::NotFound)
    ));
}

/// The gateways' list leaves out the keys of disabled users, and has them again once enabled.
async fn disabled_owners_keys_are_not_active(store: Arc<dyn Store>) {
    let ana = user(store.as_ref(), "ana@example.com").await;
    let mut k = new_key("ana-hash");
    k.user_id = Some(ana.id);
    store.create_key(&k).await.unwrap();
    store.create_key(&new_key("ownerless")).await.unwrap();
    let hashes = || async {
        let mut h: Vec<String> = store
            .list_active_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.key_hash)
            .collect();
        h.sort();
        h
    };
    assert_eq!(hashes().await, ["ana-hash", "ownerless"]);
    store.set_user_disabled(ana.id, true, T0).await.unwrap();
    assert_eq!(hashes().await, ["ownerless"]);
    store.set_user_disabled(ana.id, false, T0).await.unwrap();
    assert_eq!(hashes().await, ["ana-hash", "ownerless"]);
}

both!(
    rotation_keeps_the_previous_hash_for_the_grace_period,
    disabled_owners_keys_are_not_active,
    update_key_checks_the_version,
    find_keys_filters_and_pages,
    find_keys_sorts_and_pages_in_every_order,
    create_get_and_list,
    empty_allow_list_is_not_none,
    duplicate_hash_is_a_conflict,
    missing_owner_is_not_found,
    block_unblock_and_the_active_list,
    delete,
);
