//! Reads for charts that combine several rollup queries.

use crate::Result;
use crate::store::Store;
use tollgate_domain::analytics::{SpendQuery, SpendSeries, assemble, assemble_chart, group_totals};

/// The series of `query` for a chart of its `n` largest groups: every group with its totals,
/// points for the first `n`, the rest of each bucket as one more group ("Other"), the same
/// answer as [`assemble`] of every row then [`SpendSeries::fold_points_beyond`]`(n)`.
///
/// With many groups (7 days by the hour by a thousand keys is about 150,000 rows) it does not
/// read every group's points: it sums each group over the range (whole days from the daily
/// rollup, [`SpendQuery::totals_parts`]), then reads the points of the `n` largest and the
/// buckets' totals. With at most `n + 1` groups it reads every point, as that is no more.
/// `query` is not validated here.
pub async fn spend_chart(store: &dyn Store, query: &SpendQuery, n: usize) -> Result<SpendSeries> {
    let rollup = query.granularity.rollup();
    if query.group_by.is_none() {
        return Ok(assemble(query, &store.spend_rollup(rollup, query).await?));
    }
    let parts = query.totals_parts();
    let reads = parts
        .iter()
        .map(|(rollup, part)| store.spend_group_totals(*rollup, part));
    let ungrouped = SpendQuery {
        group_by: None,
        ..query.clone()
    };
    // Concurrent reads, each on its own pooled connection.
    let (totals, per_bucket) = futures_util::future::try_join(
        futures_util::future::try_join_all(reads),
        store.spend_rollup(rollup, &ungrouped),
    )
    .await?;
    let whole = group_totals(query, totals.into_iter().flatten());
    if whole.groups.len() <= n + 1 {
        let mut series = assemble(query, &store.spend_rollup(rollup, query).await?);
        series.fold_points_beyond(n);
        return Ok(series);
    }
    // The largest groups: `group_totals` orders them as `assemble` does.
    let top: Vec<String> = whole.groups.iter().take(n).map(|g| g.key.clone()).collect();
    let points = store.spend_rollup_of(rollup, query, &top).await?;
    Ok(assemble_chart(whole, &per_bucket, &points, n))
}
