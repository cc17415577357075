//! Spend analytics behind the dashboard, the spend page, the request log and `/api/v1/spend`
//! and `/api/v1/logs`: who may see which team's numbers, and the rollup reads. Server functions
//! and the REST API both call these, so the two can never disagree on what someone may see.

use crate::error::AppError;
use tollgate_domain::analytics::{
    BudgetAlert, BudgetOwner, CHART_GROUPS, DASHBOARD_BUDGETS, DASHBOARD_TOP, Dashboard,
    Granularity, GroupBy, LogEntry, LogPage, LogQuery, NEAR_LIMIT_PERCENT, Rollup, SpendFilters,
    SpendMetrics, SpendQuery, SpendSeries, assemble,
};
use tollgate_domain::time::MS_PER_DAY;
use tollgate_domain::{Action, Actor, Target, TeamId, Timestamp};
use tollgate_store::{Scope, Store};

/// The team an actor's spend questions are limited to. People who read everything (admins,
/// viewers, the master key) get what they asked for (`None`: every team). Everyone else reads
/// one team they belong to: the one asked for, else their first; a team that is not theirs is
/// refused, so changing an id in a request never reaches another team's numbers.
pub fn spend_scope(actor: &Actor, asked: Option<TeamId>) -> Result<Option<TeamId>, AppError> {
    if actor.allows(Action::ReadSpend, Target::Global) {
        return Ok(asked);
    }
    let team = match asked {
        Some(t) => t,
        None => actor
            .teams
            .first()
            .map(|(t, _)| *t)
            .ok_or(AppError::Forbidden)?,
    };
    actor.authorize(Action::ReadSpend, Target::Team(team))?;
    Ok(Some(team))
}

/// The query limited to what the actor may see, and checked.
fn scoped(actor: &Actor, mut query: SpendQuery) -> Result<SpendQuery, AppError> {
    query.filters.team = spend_scope(actor, query.filters.team)?;
    query.validate()?;
    Ok(query)
}

/// Spend over time, limited to what the actor may see: every point of every group.
pub async fn spend_series(
    store: &dyn Store,
    actor: &Actor,
    query: SpendQuery,
) -> Result<SpendSeries, AppError> {
    let query = scoped(actor, query)?;
    let rows = store
        .spend_rollup(query.granularity.rollup(), &query)
        .await?;
    Ok(assemble(&query, &rows))
}

/// Spend over time for a chart, limited to what the actor may see: every group with its
/// totals, points for the [`CHART_GROUPS`] largest and "Other" ([`tollgate_store::spend_chart`]).
pub async fn spend_chart(
    store: &dyn Store,
    actor: &Actor,
    query: SpendQuery,
) -> Result<SpendSeries, AppError> {
    let query = scoped(actor, query)?;
    Ok(tollgate_store::spend_chart(store, &query, CHART_GROUPS).await?)
}

/// A page of the request log, limited to what the actor may see.
pub async fn request_log(
    store: &dyn Store,
    actor: &Actor,
    mut query: LogQuery,
) -> Result<LogPage, AppError> {
    query.team = spend_scope(actor, query.team)?;
    query.validate()?;
    Ok(store.list_spend_logs(&query).await?)
}

/// One request of the log. A request of a team the actor cannot read is `NotFound`, the same
/// answer as an id that does not exist, so ids cannot be probed. Its stored prompt and
/// completion, when there are any, only for those who may read the key itself: a member reads
/// the team's spend, not a teammate's conversations.
pub async fn request_detail(
    store: &dyn Store,
    actor: &Actor,
    request_id: &str,
) -> Result<LogEntry, AppError> {
    if request_id.is_empty() || request_id.len() > 128 {
        return Err(AppError::NotFound);
    }
    let entry = store.get_spend_log(request_id).await?;
    let visible = actor.allows(Action::ReadSpend, Target::Global)
        || entry
            .team_id
            .is_some_and(|t| actor.allows(Action::ReadSpend, Target::Team(t)));
    if !visible {
        return Err(AppError::NotFound);
    }
    let mut entry = entry;
    let key = Target::Key {
        team: entry.team_id,
        owner: entry.user_id,
    };
    if entry.bodies.is_some() && !actor.allows(Action::ReadKeys, key) {
        entry.bodies = None;
        entry.bodies_withheld = true;
    }
    Ok(entry)
}

/// The dashboard's numbers: today, this month, the last 30 days, and the top five per
/// dimension this month, and the budgets near their limit. The reads run concurrently; none
/// scans the raw log.
pub async fn dashboard(
    store: &dyn Store,
    actor: &Actor,
    team: Option<TeamId>,
    now: Timestamp,
) -> Result<Dashboard, AppError> {
    let team = spend_scope(actor, team)?;
    let today = now.start_of_day();
    let tomorrow = today.plus_millis(MS_PER_DAY);
    let thirty_days_ago = today.plus_millis(-29 * MS_PER_DAY);
    let month_start = Granularity::Month.bucket_start(now);
    let filters = SpendFilters {
        team,
        ..SpendFilters::default()
    };
    let days = SpendQuery {
        from: month_start.min(thirty_days_ago),
        to: tomorrow,
        granularity: Granularity::Day,
        group_by: None,
        filters: filters.clone(),
    };
    let tops: Vec<SpendQuery> = DASHBOARD_TOP
        .into_iter()
        .filter(|g| team.is_none() || *g != GroupBy::Team)
        .map(|group_by| SpendQuery {
            from: month_start,
            to: tomorrow,
            granularity: Granularity::Day,
            group_by: Some(group_by),
            filters: filters.clone(),
        })
        .collect();
    // Independent reads: concurrently, each on its own pooled connection. The tops need only
    // each group's total over the month: one row per group, not one per day and group.
    let top_reads = futures_util::future::try_join_all(
        tops.iter()
            .map(|q| store.spend_group_totals(Rollup::Daily, q)),
    );
    let (rows, top_rows, near_limit) = tokio::try_join!(
        async { Ok::<_, AppError>(store.spend_rollup(Rollup::Daily, &days).await?) },
        async { Ok::<_, AppError>(top_reads.await?) },
        budgets_near_limit(store, team, now),
    )?;
    let series = assemble(&days, &rows);
    let mut month = SpendMetrics::default();
    let mut daily = Vec::with_capacity(30);
    for (bucket, metrics) in series.buckets.iter().zip(&series.per_bucket) {
        if *bucket >= month_start {
            month.merge(metrics);
        }
        if *bucket >= thirty_days_ago {
            daily.push((*bucket, *metrics));
        }
    }
    let today_metrics = daily.last().map(|(_, m)| *m).unwrap_or_default();
    let top = tops
        .iter()
        .zip(top_rows)
        .filter_map(|(q, rows)| {
            let mut groups = assemble(q, &rows).groups;
            groups.truncate(5);
            q.group_by.map(|g| (g, groups))
        })
        .collect();
    Ok(Dashboard {
        now,
        team,
        today: today_metrics,
        month,
        month_start,
        daily,
        top,
        near_limit,
    })
}

/// Budgets at or over [`NEAR_LIMIT_PERCENT`] in their current window, fullest first; with a
/// team scope, that team's own budget and its keys' only. The store returns recent windows at
/// or over the share; the current one is computed here from each owner's period.
pub async fn budgets_near_limit(
    store: &dyn Store,
    team: Option<TeamId>,
    now: Timestamp,
) -> Result<Vec<BudgetAlert>, AppError> {
    use tollgate_domain::budget::{BudgetPeriod, window};
    // No period is longer than a year plus a month: older windows cannot be current.
    let oldest = now.plus_millis(-400 * MS_PER_DAY);
    let mut out: Vec<BudgetAlert> = store
        .budgets_near_limit(NEAR_LIMIT_PERCENT, oldest)
        .await?
        .into_iter()
        .filter(|b| team.is_none_or(|t| b.team_id == Some(t.0)))
        .filter_map(|b| {
            // A period that no longer parses is shown as lifetime rather than hidden.
            let period = b
                .budget_duration
                .as_deref()
                .and_then(|d| BudgetPeriod::parse(d).ok());
            let current = window(period, b.created_at, now);
            (current.start.0 == b.window_start).then(|| BudgetAlert {
                owner: match b.scope {
                    Scope::Key => BudgetOwner::Key,
                    Scope::Team => BudgetOwner::Team,
                    Scope::User => BudgetOwner::User,
                },
                id: b.id.to_string(),
                label: b.label,
                spend: b.spend,
                max_budget: b.max_budget,
                resets: current.end,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.share()
            .total_cmp(&a.share())
            .then_with(|| a.label.cmp(&b.label))
    });
    out.truncate(DASHBOARD_BUDGETS);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_domain::authz::{GlobalRole, TeamRole};
    use tollgate_domain::{TeamId, UserId};
    use uuid::Uuid;

    fn actor(role: GlobalRole, teams: &[(u128, TeamRole)]) -> Actor {
        Actor {
            user_id: Some(UserId(Uuid::from_u128(1))),
            role,
            teams: teams
                .iter()
                .map(|(t, r)| (TeamId(Uuid::from_u128(*t)), *r))
                .collect(),
        }
    }

    #[test]
    fn scope_keeps_non_admins_inside_their_teams() {
        let mine = TeamId(Uuid::from_u128(10));
        let other = TeamId(Uuid::from_u128(11));
        for role in [GlobalRole::Admin, GlobalRole::Viewer] {
            let a = actor(role, &[]);
            assert_eq!(spend_scope(&a, None), Ok(None));
            assert_eq!(spend_scope(&a, Some(other)), Ok(Some(other)));
        }
        assert_eq!(spend_scope(&Actor::master(), None), Ok(None));
        for role in [TeamRole::Member, TeamRole::TeamAdmin] {
            let a = actor(GlobalRole::User, &[(10, role)]);
            assert_eq!(
                spend_scope(&a, None),
                Ok(Some(mine)),
                "defaults to their team"
            );
            assert_eq!(spend_scope(&a, Some(mine)), Ok(Some(mine)));
            assert_eq!(spend_scope(&a, Some(other)), Err(AppError::Forbidden));
        }
        let loner = actor(GlobalRole::User, &[]);
        assert_eq!(spend_scope(&loner, None), Err(AppError::Forbidden));
    }
}
