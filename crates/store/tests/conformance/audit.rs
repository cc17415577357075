//! The audit log: append, then read newest first with filters.

use crate::harness::{T0, both};
use std::sync::Arc;
use tollgate_domain::model::AuditEntry;
use tollgate_domain::{AuditId, Timestamp, UserId};
use tollgate_store::{AuditQuery, Error, Store};

fn entry(ms: i64, action: &str, object_type: &str) -> AuditEntry {
    AuditEntry {
        id: AuditId::new(),
        ts: Timestamp(T0.0 + ms),
        actor_user_id: None,
        actor_label: "master key".to_owned(),
        action: action.to_owned(),
        object_type: object_type.to_owned(),
        object_id: None,
        before: None,
        after: None,
    }
}

fn actions(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

fn query(limit: u32) -> AuditQuery {
    AuditQuery {
        limit,
        ..AuditQuery::default()
    }
}

async fn round_trips_every_field(store: Arc<dyn Store>) {
    let full = AuditEntry {
        actor_user_id: Some(UserId::new()),
        actor_label: "ana@example.com".to_owned(),
        object_id: Some("0190f0d2-8a4b-7c3d-9e8f-0123456789ab".to_owned()),
        before: Some(r#"{"role":"user"}"#.to_owned()),
        after: Some(r#"{ "role" : "admin",  "b": 1, "a": 2 }"#.to_owned()),
        ..entry(0, "user.update", "user")
    };
    store.insert_audit(&full).await.unwrap();
    let bare = entry(1, "system.start", "system");
    store.insert_audit(&bare).await.unwrap();
    // JSON text is kept verbatim: spacing and key order included.
    assert_eq!(
        store.list_audit(&query(10)).await.unwrap(),
        [bare.clone(), full.clone()]
    );

    let err = store.insert_audit(&full).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

async fn newest_first_with_limit_and_before(store: Arc<dyn Store>) {
    for (ms, action) in [(10, "b"), (30, "d"), (0, "a"), (20, "c")] {
        store
            .insert_audit(&entry(ms, action, "user"))
            .await
            .unwrap();
    }
    assert_eq!(
        actions(&store.list_audit(&query(10)).await.unwrap()),
        ["d", "c", "b", "a"]
    );
    assert_eq!(
        actions(&store.list_audit(&query(2)).await.unwrap()),
        ["d", "c"]
    );
    assert!(store.list_audit(&query(0)).await.unwrap().is_empty());
    let before = AuditQuery {
        before: Some(Timestamp(T0.0 + 20)),
        ..query(10)
    };
    assert_eq!(
        actions(&store.list_audit(&before).await.unwrap()),
        ["b", "a"]
    );
    let before_all = AuditQuery {
        before: Some(T0),
        ..query(10)
    };
    assert!(store.list_audit(&before_all).await.unwrap().is_empty());
}

async fn filters_by_action_prefix_and_object_type(store: Arc<dyn Store>) {
    for (ms, action, object_type) in [
        (0, "user.create", "user"),
        (1, "user.update", "user"),
        (2, "team.create", "team"),
        (3, "team.member_add", "user"),
        (4, "user_x.odd", "user"),
        (5, "session.sign_in", "session"),
    ] {
        store
            .insert_audit(&entry(ms, action, object_type))
            .await
            .unwrap();
    }
    let by_prefix = |p: &str| AuditQuery {
        action_prefix: Some(p.to_owned()),
        ..query(10)
    };
    assert_eq!(
        actions(&store.list_audit(&by_prefix("user.")).await.unwrap()),
        ["user.update", "user.create"]
    );
    // `_` and `%` are plain characters, and the match is case-sensitive.
    assert_eq!(
        actions(&store.list_audit(&by_prefix("user_")).await.unwrap()),
        ["user_x.odd"]
    );
    assert!(store.list_audit(&by_prefix("%")).await.unwrap().is_empty());
    assert!(
        store
            .list_audit(&by_prefix("USER."))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.list_audit(&by_prefix("")).await.unwrap().len(), 6);

    let by_type = AuditQuery {
        object_type: Some("team".to_owned()),
        ..query(10)
    };
    assert_eq!(
        actions(&store.list_audit(&by_type).await.unwrap()),
        ["team.create"]
    );

    let combined = AuditQuery {
        action_prefix: Some("team.".to_owned()),
        object_type: Some("user".to_owned()),
        before: Some(Timestamp(T0.0 + 4)),
        limit: 10,
        ..AuditQuery::default()
    };
    assert_eq!(
        actions(&store.list_audit(&combined).await.unwrap()),
        ["team.member_add"]
    );
}

async fn filters_by_actor_object_and_time(store: Arc<dyn Store>) {
    let by = |ms: i64, actor: &str, object: &str| AuditEntry {
        actor_label: actor.to_owned(),
        object_id: Some(object.to_owned()),
        ..entry(ms, &format!("{actor}:{object}:{ms}"), "key")
    };
    for e in [
        by(0, "ana@example.com", "k1"),
        by(10, "bo@example.com", "k1"),
        by(20, "ana@example.com", "k2"),
        by(30, "ana@example.com", "k1"),
    ] {
        store.insert_audit(&e).await.unwrap();
    }
    let q = |actor: Option<&str>, object: Option<&str>, since: Option<i64>| AuditQuery {
        actor: actor.map(str::to_owned),
        object_id: object.map(str::to_owned),
        since: since.map(|ms| Timestamp(T0.0 + ms)),
        ..query(10)
    };
    assert_eq!(
        actions(
            &store
                .list_audit(&q(Some("ana@example.com"), None, None))
                .await
                .unwrap()
        ),
        [
            "ana@example.com:k1:30",
            "ana@example.com:k2:20",
            "ana@example.com:k1:0"
        ]
    );
    assert_eq!(
        actions(
            &store
                .list_audit(&q(None, Some("k1"), Some(10)))
                .await
                .unwrap()
        ),
        ["ana@example.com:k1:30", "bo@example.com:k1:10"]
    );
    // Pages by (time, id): entries of one millisecond are neither lost nor repeated.
    let same_ms: Vec<AuditEntry> = (0..5).map(|_| by(40, "cy@example.com", "k3")).collect();
    for e in &same_ms {
        store.insert_audit(e).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut page = AuditQuery {
        actor: Some("cy@example.com".to_owned()),
        ..query(2)
    };
    loop {
        let got = store.list_audit(&page).await.unwrap();
        let Some(last) = got.last() else { break };
        page.before = Some(last.ts);
        page.before_id = Some(last.id);
        seen.extend(got.iter().map(|e| e.id));
    }
    let mut want: Vec<_> = same_ms.iter().map(|e| e.id).collect();
    want.sort_by_key(|id| std::cmp::Reverse(id.0));
    assert_eq!(seen, want);
    // Exact matches: a prefix of a label or an id finds nothing, nor does a pattern.
    for (actor, object) in [(Some("ana"), None), (Some("%"), None), (None, Some("k"))] {
        assert!(
            store
                .list_audit(&q(actor, object, None))
                .await
                .unwrap()
                .is_empty()
        );
    }
}

both!(
    round_trips_every_field,
    newest_first_with_limit_and_before,
    filters_by_action_prefix_and_object_type,
    filters_by_actor_object_and_time,
);
