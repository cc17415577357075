//! Retention of raw spend logs, hourly: on Postgres, the months that end before the cut-off are
//! dropped whole (one partition each); then the rows older than the cut-off that remain (the
//! cut-off's own month, or every row on SQLite) are deleted in small batches (short
//! transactions on a busy table). The rollups stay.

use std::sync::Arc;
use std::time::Duration;
use tollgate_domain::Timestamp;
use tollgate_domain::time::MS_PER_DAY;
use tollgate_store::Store;

const BATCH: u32 = 5_000;

pub async fn run(store: Arc<dyn Store>, days: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let cutoff = Timestamp(Timestamp::now().0 - i64::from(days) * MS_PER_DAY);
        match sweep(store.as_ref(), cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, days, "old spend log rows deleted"),
            Err(e) => tracing::warn!(error = %e, "spend log retention failed; retrying in an hour"),
        }
    }
}

/// Removes every spend log row older than `cutoff`: whole months first, then a batch of rows at
/// a time. Returns how many rows were deleted one by one (a dropped month is logged by name).
pub async fn sweep(store: &dyn Store, cutoff: Timestamp) -> Result<u64, tollgate_store::Error> {
    for partition in store.drop_spend_log_partitions(cutoff).await? {
        tracing::info!(%partition, "spend log month dropped by retention");
    }
    let mut total = 0;
    loop {
        let n = store.delete_spend_logs_before(cutoff, BATCH).await?;
        total += n;
        if n < u64::from(BATCH) {
            return Ok(total);
        }
        // Let other writers in between batches.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
