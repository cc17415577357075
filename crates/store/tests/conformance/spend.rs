//! The spend pipeline's batch write: idempotent by request id, counters and rollups equal to
//! the rows written, window counters with their before/after, retention, limits and prices.

use crate::harness::{T0, both, new_key, team, user};
use std::sync::Arc;
use tollgate_domain::time::MS_PER_DAY;
use tollgate_domain::{KeyId, Micros, TeamId, Timestamp, UserId};
use tollgate_store::{Error, Limits, ModelPrice, NewKey, Scope, SpendRecord, SpendTotals, Store};

fn record(n: u64, key: Option<KeyId>, team: Option<TeamId>, user: Option<UserId>) -> SpendRecord {
    SpendRecord {
        request_id: format!("req-{n}"),
        ts: Timestamp(T0.0 + (n as i64) * 1000),
        key_id: key,
        team_id: team,
        user_id: user,
        instance: if n.is_multiple_of(3) {
            "claude"
        } else {
            "default"
        }
        .to_owned(),
        pod: "pod-a".to_owned(),
        route_model: if n.is_multiple_of(2) {
            "gpt-4o"
        } else {
            "claude-sonnet-4"
        }
        .to_owned(),
        upstream_model: Some("gpt-4o-2024-08-06".to_owned()),
        provider: Some("openai".to_owned()),
        deployment_id: Some(uuid::Uuid::now_v7()),
        prompt_tokens: 100 + n as i64,
        completion_tokens: 10 + (n as i64 % 7),
        cached_tokens: 0,
        cost: Micros(1_000 + n as i64),
        latency_ms: Some(12),
        ttft_ms: None,
        status: if n % 10 == 9 { 502 } else { 200 },
        error_kind: (n % 10 == 9).then(|| "upstream_5xx".to_owned()),
        unpriced: false,
        tried: Vec::new(),
        bodies: None,
        key_window: 0,
        team_window: T0.start_of_day().0,
        user_window: 0,
    }
}

async fn owners(store: &dyn Store) -> (KeyId, TeamId, UserId) {
    let ana = user(store, "ana@example.com").await;
    let team = team(store, "Platform").await;
    let key = store
        .create_key(&NewKey {
            team_id: Some(team),
            user_id: Some(ana.id),
            ..new_key("hash-spend")
        })
        .await
        .unwrap();
    (key.id, team, ana.id)
}

/// What the log holds must equal what the rollup holds, and both what was sent.
fn totals(records: &[SpendRecord]) -> SpendTotals {
    let mut t = SpendTotals::default();
    for r in records {
        t.requests += 1;
        t.prompt_tokens += r.prompt_tokens;
        t.completion_tokens += r.completion_tokens;
        t.cost += r.cost.0;
        t.errors += i64::from(r.status >= 400);
    }
    t
}

async fn batch_counts_once(store: Arc<dyn Store>) {
    let (key, team, user) = owners(store.as_ref()).await;
    let batch: Vec<SpendRecord> = (0..2500)
        .map(|n| record(n, Some(key), Some(team), Some(user)))
        .collect();
    let now = Timestamp(T0.0 + 10_000_000);
    let first = store.record_spend(&batch, now).await.unwrap();
    assert_eq!(first.inserted, 2500);
    let expected = totals(&batch);
    let (logs, rollup) = store.spend_totals().await.unwrap();
    assert_eq!(logs, expected);
    assert_eq!(rollup, expected);

    // The same batch again (a spool replayed after a crash), plus ten new rows: only the new
    // ones count, in the log, the rollup and every counter.
    let mut again = batch.clone();
    let extra: Vec<SpendRecord> = (2500..2510)
        .map(|n| record(n, Some(key), Some(team), Some(user)))
        .collect();
    again.extend(extra.iter().cloned());
    let second = store.record_spend(&again, now).await.unwrap();
    assert_eq!(second.inserted, 10);
    let all: Vec<SpendRecord> = batch.iter().chain(extra.iter()).cloned().collect();
    let expected = totals(&all);
    let (logs, rollup) = store.spend_totals().await.unwrap();
    assert_eq!(logs, expected);
    assert_eq!(rollup, expected);

    let k = store.get_key(key).await.unwrap();
    assert_eq!(k.spend, Micros(expected.cost));
    assert_eq!(k.last_used_at, Some(all.last().unwrap().ts));
    assert_eq!(
        store.get_team(team).await.unwrap().spend,
        Micros(expected.cost)
    );

    // The window counters moved by exactly the new rows' cost, before -> after.
    let extra_cost: i64 = extra.iter().map(|r| r.cost.0).sum();
    let team_change = second
        .windows
        .iter()
        .find(|w| w.scope == Scope::Team)
        .unwrap();
    assert_eq!(team_change.id, team.0);
    assert_eq!(team_change.window_start, T0.start_of_day().0);
    assert_eq!(team_change.after.0 - team_change.before.0, extra_cost);
    assert_eq!(team_change.after, Micros(expected.cost));
    let windows = store
        .list_spend_windows(Timestamp(now.0 - 1), Timestamp(T0.0 - 40 * MS_PER_DAY))
        .await
        .unwrap();
    assert_eq!(windows.len(), 3, "{windows:?}");
    for w in &windows {
        assert_eq!(w.spend, Micros(expected.cost), "{:?}", w.scope);
    }
    // Nothing changed after `now`; an old window start filters out the team's day window.
    assert!(
        store
            .list_spend_windows(now, Timestamp(0))
            .await
            .unwrap()
            .is_empty()
    );
    let lifetime_only = store
        .list_spend_windows(Timestamp(0), Timestamp(T0.0 + MS_PER_DAY))
        .await
        .unwrap();
    assert_eq!(lifetime_only.len(), 2);
    assert!(lifetime_only.iter().all(|w| w.window_start == 0));
}

async fn repeated_ids_in_one_batch(store: Arc<dyn Store>) {
    let mut a = record(1, None, None, None);
    let b = record(1, None, None, None);
    a.cost = Micros(7);
    let out = store.record_spend(&[a, b], T0).await.unwrap();
    assert_eq!(out.inserted, 1);
    let (logs, rollup) = store.spend_totals().await.unwrap();
    assert_eq!((logs.requests, logs.cost), (1, 7));
    assert_eq!((rollup.requests, rollup.cost), (1, 7));
    assert!(
        store
            .record_spend(&[], T0)
            .await
            .unwrap()
            .windows
            .is_empty()
    );
}

async fn rollup_groups_by_day_model_and_instance(store: Arc<dyn Store>) {
    let (key, team, user) = owners(store.as_ref()).await;
    // Two days apart, 1 ms either side of midnight.
    let midnight = Timestamp(T0.start_of_day().0 + MS_PER_DAY);
    let mut late = record(1, Some(key), Some(team), Some(user));
    late.ts = Timestamp(midnight.0 - 1);
    let mut early = record(3, Some(key), None, None);
    early.ts = midnight;
    store
        .record_spend(&[late.clone(), early.clone()], T0)
        .await
        .unwrap();
    let (logs, rollup) = store.spend_totals().await.unwrap();
    assert_eq!(logs, rollup);
    assert_eq!(logs.requests, 2);
    // The team got only its own row.
    assert_eq!(store.get_team(team).await.unwrap().spend, late.cost);
}

async fn retention_deletes_old_logs_only(store: Arc<dyn Store>) {
    let batch: Vec<SpendRecord> = (0..25).map(|n| record(n, None, None, None)).collect();
    store.record_spend(&batch, T0).await.unwrap();
    let cutoff = batch[20].ts; // rows 0..=19 are older
    let mut deleted = 0;
    loop {
        let n = store.delete_spend_logs_before(cutoff, 7).await.unwrap();
        assert!(n <= 7);
        if n == 0 {
            break;
        }
        deleted += n;
    }
    assert_eq!(deleted, 20);
    let (logs, rollup) = store.spend_totals().await.unwrap();
    assert_eq!(logs.requests, 5);
    assert_eq!(rollup.requests, 25, "rollups stay");
}

/// Postgres keeps the log in one partition per month (migration 0006): a batch spanning months
/// it has never seen is written whole, retention drops only the months that end before its
/// cut-off, and the row deletes finish the rest. SQLite drops nothing and deletes rows.
async fn retention_drops_whole_months(store: Arc<dyn Store>) {
    use tollgate_domain::time::days_from_civil;
    let at = |y, m, d| Timestamp(days_from_civil(y, m, d) * MS_PER_DAY + 3_600_000);
    let days = [
        at(2026, 1, 15),
        at(2026, 2, 10),
        at(2026, 2, 20),
        at(2030, 7, 4),
    ];
    let batch: Vec<SpendRecord> = days
        .iter()
        .enumerate()
        .map(|(n, ts)| SpendRecord {
            ts: *ts,
            ..record(n as u64, None, None, None)
        })
        .collect();
    let write = store.record_spend(&batch, T0).await.unwrap();
    assert_eq!(write.inserted, 4, "every month of the batch is written");
    assert_eq!(store.get_spend_log("req-3").await.unwrap().ts, days[3]);

    let cutoff = at(2026, 2, 15);
    let dropped = store.drop_spend_log_partitions(cutoff).await.unwrap();
    match store.backend() {
        tollgate_store::Backend::Postgres => {
            assert_eq!(
                dropped,
                ["spend_logs_p202601"],
                "February holds a newer row"
            );
        }
        tollgate_store::Backend::Sqlite => assert!(dropped.is_empty()),
    }
    let mut deleted = 0;
    loop {
        let n = store.delete_spend_logs_before(cutoff, 10).await.unwrap();
        if n == 0 {
            break;
        }
        deleted += n;
    }
    let expect_deleted = match store.backend() {
        tollgate_store::Backend::Postgres => 1,
        tollgate_store::Backend::Sqlite => 2,
    };
    assert_eq!(deleted, expect_deleted);
    for gone in ["req-0", "req-1"] {
        assert!(matches!(
            store.get_spend_log(gone).await,
            Err(Error::NotFound)
        ));
    }
    let (logs, rollup) = store.spend_totals().await.unwrap();
    assert_eq!((logs.requests, rollup.requests), (2, 4), "rollups stay");
    // A replay of a kept row is still the same row.
    let again = store.record_spend(&batch[2..], T0).await.unwrap();
    assert_eq!(again.inserted, 0);
    // Nothing newer than the cut-off is dropped, however late the cut-off.
    let dropped = store
        .drop_spend_log_partitions(at(2030, 7, 31))
        .await
        .unwrap();
    if store.backend() == tollgate_store::Backend::Postgres {
        assert!(
            dropped.iter().all(|p| p.as_str() < "spend_logs_p203007"),
            "{dropped:?}"
        );
        assert!(
            dropped.contains(&"spend_logs_p202602".to_owned()),
            "{dropped:?}"
        );
    }
    assert_eq!(store.get_spend_log("req-3").await.unwrap().ts, days[3]);
}

/// Prompt storage is off until a key or team turns it on; bodies are written with their row
/// only (a replay changes nothing), read by the detail only, kept verbatim however hostile, and
/// removed by retention with the log.
async fn prompt_bodies_are_opt_in_and_kept_with_their_row(store: Arc<dyn Store>) {
    use tollgate_domain::analytics::{LogQuery, StoredBodies};
    let (key, team, _) = owners(store.as_ref()).await;
    let before = store.get_key(key).await.unwrap();
    assert!(!before.store_prompts, "off by default");
    let on = store
        .set_key_store_prompts(key, true, T0.plus_millis(1))
        .await
        .unwrap();
    assert!(on.store_prompts);
    assert_eq!(on.version, before.version + 1);
    let cached = store.list_active_keys().await.unwrap();
    assert!(
        cached
            .iter()
            .any(|k| k.key.id == key && k.key.store_prompts)
    );
    assert!(matches!(
        store.set_key_store_prompts(KeyId::new(), true, T0).await,
        Err(Error::NotFound)
    ));

    assert!(store.teams_storing_prompts().await.unwrap().is_empty());
    store.set_team_store_prompts(team, true, T0).await.unwrap();
    assert_eq!(store.teams_storing_prompts().await.unwrap(), [team]);
    store.set_team_store_prompts(team, false, T0).await.unwrap();
    assert!(store.teams_storing_prompts().await.unwrap().is_empty());
    assert!(matches!(
        store.set_team_store_prompts(TeamId::new(), true, T0).await,
        Err(Error::NotFound)
    ));

    let hostile = StoredBodies {
        prompt: "{\"messages\":[{\"content\":\"<script>alert(1)</script>'; DROP TABLE spend_logs; --\"}]}"
            .to_owned(),
        completion: "data: {\"x\":\"\u{202e}evil\u{FFFD}\"}\n\n".to_owned(),
        truncated: true,
    };
    let mut with = record(1, Some(key), None, None);
    with.bodies = Some(hostile.clone());
    let without = record(2, Some(key), None, None);
    store
        .record_spend(&[with.clone(), without.clone()], T0)
        .await
        .unwrap();
    assert_eq!(
        store.get_spend_log("req-1").await.unwrap().bodies,
        Some(hostile.clone())
    );
    assert_eq!(store.get_spend_log("req-2").await.unwrap().bodies, None);
    // A replay with other bodies neither adds nor replaces.
    let mut replay = with.clone();
    replay.bodies = Some(StoredBodies {
        prompt: "other".to_owned(),
        completion: String::new(),
        truncated: false,
    });
    assert_eq!(store.record_spend(&[replay], T0).await.unwrap().inserted, 0);
    assert_eq!(
        store.get_spend_log("req-1").await.unwrap().bodies,
        Some(hostile)
    );
    // Pages of the log never carry them.
    let page = store.list_spend_logs(&LogQuery::default()).await.unwrap();
    assert_eq!(page.entries.len(), 2);
    assert!(page.entries.iter().all(|e| e.bodies.is_none()));
    // Retention takes them with their rows.
    let cutoff = without.ts;
    while store.delete_spend_logs_before(cutoff, 10).await.unwrap() > 0 {}
    assert!(matches!(
        store.get_spend_log("req-1").await,
        Err(Error::NotFound)
    ));
    assert_eq!(store.get_spend_log("req-2").await.unwrap().bodies, None);
}

async fn traffic_per_pod_since(store: Arc<dyn Store>) {
    let mut batch: Vec<SpendRecord> = (0..9).map(|n| record(n, None, None, None)).collect();
    batch[4].pod = "pod-b".to_owned();
    // Refused as not this instance's (counted), and a failure of another kind (not counted).
    batch[5].error_kind = Some("instance_not_allowed".to_owned());
    batch[7].error_kind = Some("model_not_found".to_owned());
    batch[8].error_kind = Some("timeout".to_owned());
    store.record_spend(&batch, T0).await.unwrap();
    // Rows 0..=8 are 1 s apart from T0; since row 2: rows 2..=8. Instance `claude` is n % 3 == 0
    // (3, 6), row 4 is on pod-b, even rows ask for gpt-4o and odd ones for claude-sonnet-4.
    let t = store.pod_traffic(batch[2].ts).await.unwrap();
    let cells: Vec<(&str, &str, &str, i64, i64)> = t
        .iter()
        .map(|x| {
            (
                x.instance.as_str(),
                x.pod.as_str(),
                x.model.as_str(),
                x.requests,
                x.misdirected,
            )
        })
        .collect();
    assert_eq!(
        cells,
        vec![
            ("claude", "pod-a", "claude-sonnet-4", 1, 0),
            ("claude", "pod-a", "gpt-4o", 1, 0),
            ("default", "pod-a", "claude-sonnet-4", 2, 2),
            ("default", "pod-a", "gpt-4o", 2, 0),
            ("default", "pod-b", "gpt-4o", 1, 0),
        ]
    );
    assert_eq!(t[2].cost, Micros(1_005 + 1_007));
    assert!(
        store
            .pod_traffic(Timestamp(T0.0 + 60_000))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn limits_of_teams_users_and_keys(store: Arc<dyn Store>) {
    let (key, team, user) = owners(store.as_ref()).await;
    assert!(store.list_limit_holders().await.unwrap().is_empty());
    let team_limits = Limits {
        max_budget: Some(Micros(5_000_000)),
        budget_duration: Some("1mo".to_owned()),
        soft_budget: Some(Micros(4_000_000)),
        rpm_limit: Some(600),
        tpm_limit: Some(100_000),
        max_parallel: Some(8),
    };
    store
        .set_limits(Scope::Team, team.0, &team_limits, T0)
        .await
        .unwrap();
    let user_limits = Limits {
        max_budget: Some(Micros(1_000_000)),
        budget_duration: Some("7d".to_owned()),
        ..Limits::default()
    };
    store
        .set_limits(Scope::User, user.0, &user_limits, T0)
        .await
        .unwrap();
    // A user cannot have rate limits: refused, and what was stored stays.
    let err = store
        .set_limits(
            Scope::User,
            user.0,
            &Limits {
                rpm_limit: Some(1),
                ..Limits::default()
            },
            T0,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let holders = store.list_limit_holders().await.unwrap();
    assert_eq!(holders.len(), 2);
    let t = holders.iter().find(|h| h.scope == Scope::Team).unwrap();
    assert_eq!((t.id, &t.limits, t.created_at), (team.0, &team_limits, T0));
    let u = holders.iter().find(|h| h.scope == Scope::User).unwrap();
    assert_eq!((u.id, &u.limits), (user.0, &user_limits));

    let key_limits = Limits {
        rpm_limit: Some(60),
        max_parallel: Some(2),
        ..Limits::default()
    };
    let later = Timestamp(T0.0 + 5);
    store
        .set_limits(Scope::Key, key.0, &key_limits, later)
        .await
        .unwrap();
    let k = store.get_key(key).await.unwrap();
    assert_eq!(
        (k.rpm_limit, k.max_parallel, k.tpm_limit),
        (Some(60), Some(2), None)
    );
    assert_eq!((k.version, k.updated_at), (1, later));
    let missing = store
        .set_limits(Scope::Team, uuid::Uuid::now_v7(), &team_limits, T0)
        .await;
    assert!(matches!(missing, Err(Error::NotFound)));
}

async fn price_overrides(store: Arc<dyn Store>) {
    assert!(store.list_model_prices().await.unwrap().is_empty());
    let mut p = ModelPrice {
        pattern: "gpt-4o*".to_owned(),
        input_per_mtok: Micros(2_500_000),
        output_per_mtok: Micros(10_000_000),
        cached_input_per_mtok: Some(Micros(1_250_000)),
        updated_at: T0,
    };
    store.upsert_model_price(&p).await.unwrap();
    p.input_per_mtok = Micros(2_000_000);
    p.cached_input_per_mtok = None;
    store.upsert_model_price(&p).await.unwrap();
    assert_eq!(store.list_model_prices().await.unwrap(), vec![p.clone()]);
    store.delete_model_price("gpt-4o*").await.unwrap();
    assert!(matches!(
        store.delete_model_price("gpt-4o*").await,
        Err(Error::NotFound)
    ));
}

/// Budgets at or over a share of their maximum, by owner kind, in recent or lifetime windows.
async fn budgets_near_their_limit(store: Arc<dyn Store>) {
    let (key, team, user) = owners(store.as_ref()).await;
    let dollars = |d: i64| Some(Micros(d * 1_000_000));
    let set = |scope, id, max_budget, budget_duration: Option<&str>| {
        let store = store.clone();
        let limits = Limits {
            max_budget,
            budget_duration: budget_duration.map(str::to_owned),
            ..Limits::default()
        };
        async move { store.set_limits(scope, id, &limits, T0).await.unwrap() }
    };
    set(Scope::Key, key.0, dollars(1), None).await;
    set(Scope::Team, team.0, dollars(10), Some("30d")).await;
    set(Scope::User, user.0, dollars(2), Some("1d")).await;
    let window = T0.start_of_day().0;
    let spend = |n: u64, cost: i64| SpendRecord {
        cost: Micros(cost),
        key_window: 0,
        team_window: window,
        user_window: window,
        ..record(n, Some(key), Some(team), Some(user))
    };
    store.record_spend(&[spend(1, 850_000)], T0).await.unwrap();
    let near = store
        .budgets_near_limit(80, Timestamp(window))
        .await
        .unwrap();
    // The key: $0.85 of $1 (lifetime). The team ($0.85 of $10) and user ($0.85 of $2) are not.
    assert_eq!(near.len(), 1, "{near:?}");
    assert_eq!(near[0].scope, Scope::Key);
    assert_eq!(near[0].id, key.0);
    assert_eq!(near[0].team_id, Some(team.0));
    assert_eq!(near[0].spend, Micros(850_000));
    assert_eq!(near[0].max_budget, Micros(1_000_000));
    assert_eq!(near[0].window_start, 0);
    assert!(!near[0].label.is_empty());

    store.record_spend(&[spend(2, 800_000)], T0).await.unwrap();
    let mut near = store
        .budgets_near_limit(80, Timestamp(window))
        .await
        .unwrap();
    near.sort_by_key(|b| b.scope);
    let scopes: Vec<Scope> = near.iter().map(|b| b.scope).collect();
    assert_eq!(scopes, vec![Scope::Key, Scope::User], "{near:?}");
    let u = &near[1];
    assert_eq!((u.spend, u.window_start), (Micros(1_650_000), window));
    assert_eq!(u.label, "ana@example.com");
    assert_eq!(u.team_id, None);
    assert_eq!(u.budget_duration.as_deref(), Some("1d"));
    // A window that started before the bound is not read; the lifetime one always is.
    let later = store
        .budgets_near_limit(80, Timestamp(window + 1))
        .await
        .unwrap();
    let scopes: Vec<Scope> = later.iter().map(|b| b.scope).collect();
    assert_eq!(scopes, vec![Scope::Key]);
    // A share nobody reaches.
    assert!(
        store
            .budgets_near_limit(200, Timestamp(0))
            .await
            .unwrap()
            .is_empty()
    );
}

both!(
    batch_counts_once,
    repeated_ids_in_one_batch,
    rollup_groups_by_day_model_and_instance,
    retention_deletes_old_logs_only,
    retention_drops_whole_months,
    prompt_bodies_are_opt_in_and_kept_with_their_row,
    traffic_per_pod_since,
    limits_of_teams_users_and_keys,
    price_overrides,
    budgets_near_their_limit,
);
