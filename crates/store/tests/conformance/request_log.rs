//! The request log: keyset pages newest first that return every row once, filters that return
//! exactly the matching rows, hostile filter values that match nothing and break nothing.

use crate::analytics::bare;
use crate::harness::{T0, both};
use std::collections::HashSet;
use std::sync::Arc;
use tollgate_domain::analytics::{LogCursor, LogEntry, LogQuery, StatusFilter};
use tollgate_domain::{KeyId, Micros, TeamId, Timestamp, UserId};
use tollgate_store::{Error, SpendRecord, Store};
use uuid::Uuid;

const ROWS: usize = 120;

/// 120 requests, three to a millisecond, whose ids do not sort like their order of writing.
fn records(keys: &[KeyId; 2], teams: &[TeamId; 2]) -> Vec<SpendRecord> {
    let statuses = [200, 200, 429, 500, 201, 404];
    (0..ROWS)
        .map(|n| {
            let id = (n * 37) % ROWS;
            let mut r = bare(
                format!("{id:03}-req"),
                Timestamp(T0.0 + (n / 3) as i64 * 1000),
            );
            r.key_id = [Some(keys[0]), Some(keys[1]), None][n % 3];
            r.team_id = [Some(teams[0]), None, Some(teams[1]), None][n % 4];
            r.user_id = (n % 5 == 0).then(UserId::new);
            r.route_model = ["gpt-4o", "claude-sonnet-4"][n % 2].to_owned();
            r.instance = ["default", "claude", "openai-eu"][n % 3 / 2 + n % 2].to_owned();
            r.pod = format!("pod-{}", n % 4);
            r.status = statuses[n % statuses.len()];
            r.error_kind = (r.status >= 400).then(|| "upstream".to_owned());
            r.latency_ms = (n % 7 != 0).then_some((n as i64 * 97) % 3_000);
            r.ttft_ms = (n % 2 == 0).then_some(n as i64);
            r.upstream_model = Some(format!("{}-2025", r.route_model));
            r.provider = Some("openai".to_owned());
            r.deployment_id = (n % 6 == 0).then(Uuid::now_v7);
            // Retries and fallbacks: none, one, or two deployments before the answering one.
            r.tried = (0..n % 3)
                .map(|_| Uuid::now_v7())
                .chain(r.deployment_id)
                .collect();
            r.prompt_tokens = n as i64;
            r.completion_tokens = 2 * n as i64;
            r.cached_tokens = n as i64 / 2;
            r.cost = Micros(n as i64 * 11);
            r.unpriced = n % 9 == 0;
            r
        })
        .collect()
}

/// Every field of the entry is the record's.
fn assert_same(e: &LogEntry, r: &SpendRecord) {
    assert_eq!(
        (
            &e.request_id,
            e.ts,
            e.key_id,
            e.team_id,
            e.user_id,
            &e.instance,
            &e.pod,
            &e.route_model,
            &e.upstream_model,
            &e.provider,
            e.deployment_id.map(|d| d.0),
        ),
        (
            &r.request_id,
            r.ts,
            r.key_id,
            r.team_id,
            r.user_id,
            &r.instance,
            &r.pod,
            &r.route_model,
            &r.upstream_model,
            &r.provider,
            r.deployment_id,
        )
    );
    assert_eq!(
        (
            e.prompt_tokens,
            e.completion_tokens,
            e.cached_tokens,
            e.cost,
            e.latency_ms,
            e.ttft_ms,
            e.status,
            &e.error_kind,
            e.unpriced,
        ),
        (
            r.prompt_tokens,
            r.completion_tokens,
            r.cached_tokens,
            r.cost,
            r.latency_ms,
            r.ttft_ms,
            r.status,
            &r.error_kind,
            r.unpriced,
        )
    );
    let tried: Vec<Uuid> = e.tried.iter().map(|d| d.0).collect();
    assert_eq!(tried, r.tried);
}

/// Every page of a query, following `next`; checks each page's size.
async fn walk(store: &dyn Store, mut q: LogQuery) -> Vec<LogEntry> {
    let mut out = Vec::new();
    for _ in 0..=ROWS {
        let page = store.list_spend_logs(&q).await.unwrap();
        assert!(page.entries.len() <= q.limit as usize);
        out.extend(page.entries.iter().cloned());
        match page.next {
            Some(next) => {
                assert_eq!(
                    page.entries.len(),
                    q.limit as usize,
                    "a short page has no next"
                );
                assert_eq!(
                    Some(&next),
                    page.entries.last().map(LogEntry::cursor).as_ref()
                );
                q.after = Some(next);
            }
            None => return out,
        }
    }
    panic!("pagination did not end");
}

/// The ids the log must return, newest first.
fn newest_first<'a>(rows: impl Iterator<Item = &'a SpendRecord>) -> Vec<String> {
    let mut rows: Vec<&SpendRecord> = rows.collect();
    rows.sort_by(|a, b| (b.ts, &b.request_id).cmp(&(a.ts, &a.request_id)));
    rows.into_iter().map(|r| r.request_id.clone()).collect()
}

fn ids(entries: &[LogEntry]) -> Vec<String> {
    entries.iter().map(|e| e.request_id.clone()).collect()
}

async fn pages_return_every_row_once(store: Arc<dyn Store>) {
    let keys = [KeyId::new(), KeyId::new()];
    let teams = [TeamId::new(), TeamId::new()];
    let rows = records(&keys, &teams);
    store.record_spend(&rows, T0).await.unwrap();

    let all = walk(
        store.as_ref(),
        LogQuery {
            limit: 25,
            ..LogQuery::default()
        },
    )
    .await;
    assert_eq!(all.len(), ROWS);
    let unique: HashSet<&str> = all.iter().map(|e| e.request_id.as_str()).collect();
    assert_eq!(unique.len(), ROWS);
    for pair in all.windows(2) {
        assert!(
            (pair[0].ts, &pair[0].request_id) > (pair[1].ts, &pair[1].request_id),
            "{} then {}",
            pair[0].request_id,
            pair[1].request_id
        );
    }
    assert_eq!(ids(&all), newest_first(rows.iter()));
    for e in &all {
        let r = rows.iter().find(|r| r.request_id == e.request_id).unwrap();
        assert_same(e, r);
        assert_eq!(e.key_label, None, "the keys were never created");
    }
    // A page size that divides the rows exactly ends with a page that has no `next`.
    let exact = walk(
        store.as_ref(),
        LogQuery {
            limit: 40,
            ..LogQuery::default()
        },
    )
    .await;
    assert_eq!(exact.len(), ROWS);
}

async fn filters_return_exactly_the_matches(store: Arc<dyn Store>) {
    let keys = [KeyId::new(), KeyId::new()];
    let teams = [TeamId::new(), TeamId::new()];
    let rows = records(&keys, &teams);
    store.record_spend(&rows, T0).await.unwrap();
    let base = LogQuery {
        limit: 500,
        ..LogQuery::default()
    };
    let from = rows[30].ts;
    let to = rows[90].ts;
    type Check = (LogQuery, Box<dyn Fn(&SpendRecord) -> bool>);
    let checks: Vec<Check> = vec![
        (
            LogQuery {
                key: Some(keys[0]),
                ..base.clone()
            },
            Box::new(move |r| r.key_id == Some(keys[0])),
        ),
        (
            LogQuery {
                team: Some(teams[1]),
                ..base.clone()
            },
            Box::new(move |r| r.team_id == Some(teams[1])),
        ),
        (
            LogQuery {
                model: Some("claude-sonnet-4".to_owned()),
                ..base.clone()
            },
            Box::new(|r| r.route_model == "claude-sonnet-4"),
        ),
        (
            LogQuery {
                instance: Some("openai-eu".to_owned()),
                ..base.clone()
            },
            Box::new(|r| r.instance == "openai-eu"),
        ),
        (
            LogQuery {
                pod: Some("pod-3".to_owned()),
                ..base.clone()
            },
            Box::new(|r| r.pod == "pod-3"),
        ),
        (
            LogQuery {
                status: Some(StatusFilter::Success),
                ..base.clone()
            },
            Box::new(|r| r.status < 400),
        ),
        (
            LogQuery {
                status: Some(StatusFilter::Error),
                ..base.clone()
            },
            Box::new(|r| r.status >= 400),
        ),
        (
            LogQuery {
                status: Some(StatusFilter::Code(429)),
                ..base.clone()
            },
            Box::new(|r| r.status == 429),
        ),
        (
            LogQuery {
                status: Some(StatusFilter::Code(201)),
                ..base.clone()
            },
            Box::new(|r| r.status == 201),
        ),
        (
            LogQuery {
                min_latency_ms: Some(1_500),
                ..base.clone()
            },
            Box::new(|r| r.latency_ms.is_some_and(|l| l >= 1_500)),
        ),
        (
            LogQuery {
                from: Some(from),
                to: Some(to),
                ..base.clone()
            },
            Box::new(move |r| r.ts >= from && r.ts < to),
        ),
        (
            LogQuery {
                key: Some(keys[0]),
                status: Some(StatusFilter::Error),
                to: Some(to),
                ..base.clone()
            },
            Box::new(move |r| r.key_id == Some(keys[0]) && r.status >= 400 && r.ts < to),
        ),
    ];
    for (q, keep) in &checks {
        let want = newest_first(rows.iter().filter(|r| keep(r)));
        assert!(
            !want.is_empty() && want.len() < ROWS,
            "{q:?} selects too much"
        );
        let page = store.list_spend_logs(q).await.unwrap();
        assert_eq!(ids(&page.entries), want, "{q:?}");
        assert_eq!(page.next, None);
        // The same rows through small pages: the cursor composes with every filter.
        let paged = walk(
            store.as_ref(),
            LogQuery {
                limit: 4,
                ..q.clone()
            },
        )
        .await;
        assert_eq!(ids(&paged), want, "{q:?} by pages");
    }
}

async fn hostile_filters_match_nothing(store: Arc<dyn Store>) {
    let rows = records(
        &[KeyId::new(), KeyId::new()],
        &[TeamId::new(), TeamId::new()],
    );
    store.record_spend(&rows, T0).await.unwrap();
    let base = LogQuery {
        limit: 500,
        ..LogQuery::default()
    };
    for evil in [
        "x' OR '1'='1",
        "%",
        "_",
        "*",
        "'; DROP TABLE spend_logs; --",
        "gpt-4o' --",
        "$1",
    ] {
        for q in [
            LogQuery {
                model: Some(evil.to_owned()),
                ..base.clone()
            },
            LogQuery {
                instance: Some(evil.to_owned()),
                ..base.clone()
            },
            LogQuery {
                pod: Some(evil.to_owned()),
                ..base.clone()
            },
        ] {
            let page = store.list_spend_logs(&q).await.unwrap();
            assert!(page.entries.is_empty(), "{q:?}");
        }
        assert!(matches!(
            store.get_spend_log(evil).await,
            Err(Error::NotFound)
        ));
        // A cursor's id is compared, never run: older than (newest ts + 1, anything) is all.
        let q = LogQuery {
            after: Some(LogCursor {
                ts: Timestamp(rows[ROWS - 1].ts.0 + 1),
                request_id: evil.to_owned(),
            }),
            ..base.clone()
        };
        assert_eq!(store.list_spend_logs(&q).await.unwrap().entries.len(), ROWS);
    }
    // Everything is still there.
    assert_eq!(
        store.list_spend_logs(&base).await.unwrap().entries.len(),
        ROWS
    );
    let (logs, rollup) = store.spend_totals().await.unwrap();
    assert_eq!((logs.requests, rollup.requests), (ROWS as i64, ROWS as i64));
}

async fn one_request_by_id(store: Arc<dyn Store>) {
    let rows = records(
        &[KeyId::new(), KeyId::new()],
        &[TeamId::new(), TeamId::new()],
    );
    store.record_spend(&rows, T0).await.unwrap();
    for r in [&rows[0], &rows[57], &rows[ROWS - 1]] {
        let e = store.get_spend_log(&r.request_id).await.unwrap();
        assert_same(&e, r);
    }
    assert!(matches!(
        store.get_spend_log("no-such-request").await,
        Err(Error::NotFound)
    ));
    // Retention removes it from the log (the rollups keep it).
    store
        .delete_spend_logs_before(Timestamp(rows[0].ts.0 + 1), 10)
        .await
        .unwrap();
    assert!(matches!(
        store.get_spend_log(&rows[0].request_id).await,
        Err(Error::NotFound)
    ));
}

both!(
    pages_return_every_row_once,
    filters_return_exactly_the_matches,
    hostile_filters_match_nothing,
    one_request_by_id
);
