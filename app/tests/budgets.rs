//! The dashboard's budgets near their limit, on a real SQLite store: only each owner's current
//! window counts, fullest first, and a team's people see their team's budgets only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(feature = "ssr")]

use std::sync::Arc;
use tollgate_app::server::analytics::budgets_near_limit;
use tollgate_domain::analytics::BudgetOwner;
use tollgate_domain::time::MS_PER_DAY;
use tollgate_domain::{KeyId, Micros, TeamId, Timestamp};
use tollgate_store::{ConnectOptions, NewKey, NewTeam, SpendRecord, Store};

async fn store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = tollgate_store::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

async fn team(store: &dyn Store, name: &str, now: Timestamp) -> TeamId {
    store
        .create_team(&NewTeam::named(TeamId::new(), name.to_owned(), now))
        .await
        .unwrap()
        .id
}

/// A key of `team` with a budget of $1 over `period`.
async fn key(
    store: &dyn Store,
    alias: &str,
    team: TeamId,
    period: Option<&str>,
    now: Timestamp,
) -> KeyId {
    let id = KeyId::new();
    store
        .create_key(&NewKey {
            alias: Some(alias.to_owned()),
            team_id: Some(team),
            max_budget: Some(Micros(1_000_000)),
            budget_duration: period.map(str::to_owned),
            ..NewKey::new(
                id,
                format!("hash-{alias}"),
                "sk-tg-ab".to_owned(),
                "wxyz".to_owned(),
                now,
            )
        })
        .await
        .unwrap();
    id
}

fn spend(n: u32, key: KeyId, team: TeamId, cost: i64, key_window: i64) -> SpendRecord {
    SpendRecord {
        key_id: Some(key),
        team_id: Some(team),
        cost: Micros(cost),
        key_window,
        ..SpendRecord::new(
            format!("req-{n}"),
            Timestamp(key_window.max(1)),
            "default",
            "pod",
            "m",
        )
    }
}

#[tokio::test]
async fn only_current_windows_fullest_first_and_scoped_to_the_team() {
    let (store, _dir) = store().await;
    let now = Timestamp::now();
    let today = now.start_of_day().0;
    let (a, b) = (
        team(store.as_ref(), "alpha", now).await,
        team(store.as_ref(), "beta", now).await,
    );
    // A lifetime budget 90% spent, a daily one 95% spent today and fully spent yesterday, and
    // a daily one spent only yesterday (its current window is empty).
    let lifetime = key(store.as_ref(), "lifetime", a, None, now).await;
    let daily = key(store.as_ref(), "daily", b, Some("1d"), now).await;
    let yesterday_only = key(store.as_ref(), "yesterday", b, Some("1d"), now).await;
    let yesterday = today - MS_PER_DAY;
    store
        .record_spend(
            &[
                spend(1, lifetime, a, 900_000, 0),
                spend(2, daily, b, 950_000, today),
                spend(3, daily, b, 1_000_000, yesterday),
                spend(4, yesterday_only, b, 1_000_000, yesterday),
            ],
            now,
        )
        .await
        .unwrap();

    let all = budgets_near_limit(store.as_ref(), None, now).await.unwrap();
    let shown: Vec<(&str, Micros)> = all.iter().map(|b| (b.label.as_str(), b.spend)).collect();
    assert_eq!(
        shown,
        vec![("daily", Micros(950_000)), ("lifetime", Micros(900_000))]
    );
    assert!(all.iter().all(|b| b.owner == BudgetOwner::Key));
    assert_eq!(all[0].resets, Some(Timestamp(today + MS_PER_DAY)));
    assert_eq!(all[1].resets, None);

    let alpha = budgets_near_limit(store.as_ref(), Some(a), now)
        .await
        .unwrap();
    assert_eq!(alpha.len(), 1);
    assert_eq!(alpha[0].id, lifetime.0.to_string());
    let beta = budgets_near_limit(store.as_ref(), Some(b), now)
        .await
        .unwrap();
    assert_eq!(beta.len(), 1);
    assert_eq!(beta[0].id, daily.0.to_string());
}
