//! The spend pipeline: every usage event becomes a spend log row. Events queue in memory and
//! a single writer task flushes them at least every second (or as soon as a batch is full), in
//! one transaction per batch (rows, key/team/user spend, window counters, daily rollup).
//!
//! While the database fails, batches go to the [`spool`] instead, and are replayed when it
//! answers again. When the spool reaches its bound, batches are dropped, and that is loud: an
//! error log, `tollgate_spend_dropped_total`, and readiness detail.

pub(crate) mod spool;

use crate::usage::{UsageEvent, UsageSink};
use spool::{Spool, SpoolError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tollgate_domain::Timestamp;
use tollgate_store::{SpendRecord, SpendWrite, Store};

#[derive(Clone, Debug)]
pub struct SpendConfig {
    /// Where the spool lives (under the data directory).
    pub spool_dir: PathBuf,
    /// The spool's size bound.
    pub spool_max_bytes: u64,
    /// Longest time an event waits in memory.
    pub flush_interval: Duration,
    /// A batch this large is flushed at once.
    pub batch_size: usize,
}

impl SpendConfig {
    pub fn new(spool_dir: PathBuf) -> SpendConfig {
        SpendConfig {
            spool_dir,
            spool_max_bytes: 1 << 30,
            flush_interval: Duration::from_secs(1),
            batch_size: 2000,
        }
    }
}

/// Counters for metrics and readiness.
#[derive(Default)]
pub struct SpendStats {
    /// Rows committed to the database (replays included, duplicates not).
    pub written: AtomicU64,
    /// Events written to the spool.
    pub spooled: AtomicU64,
    /// Events replayed from the spool.
    pub replayed: AtomicU64,
    /// Events lost because the spool was full or unwritable.
    pub dropped: AtomicU64,
    /// Failed database writes.
    pub write_errors: AtomicU64,
    /// Age of the oldest event of the last committed batch, at commit (ms).
    pub last_flush_lag_ms: AtomicI64,
}

/// Called with what each committed batch did (soft-budget alerts read the window changes).
pub type OnWritten = Box<dyn Fn(&SpendWrite) + Send + Sync>;

pub struct SpendWriter {
    store: Arc<dyn Store>,
    config: SpendConfig,
    queue: Mutex<Vec<SpendRecord>>,
    wake: Notify,
    spool: Arc<Spool>,
    db_ok: AtomicBool,
    spool_full: AtomicBool,
    closing: AtomicBool,
    /// Held while a batch is taken and written: `close` waits for the writer task's batch in
    /// flight instead of racing it (a process must not exit with a batch half-written).
    flushing: tokio::sync::Mutex<()>,
    pub stats: SpendStats,
    on_written: Mutex<Option<OnWritten>>,
}

/// What readiness says about the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendStatus {
    pub database_ok: bool,
    pub queued: usize,
    pub spool_bytes: u64,
    pub spool_max_bytes: u64,
    pub spool_full: bool,
    pub dropped: u64,
}

impl SpendWriter {
    /// Opens the spool and starts the writer task.
    pub fn start(store: Arc<dyn Store>, config: SpendConfig) -> std::io::Result<Arc<SpendWriter>> {
        let spool = Spool::open(&config.spool_dir, config.spool_max_bytes)?;
        if !spool.is_empty() {
            tracing::warn!(
                bytes = spool.bytes(),
                dir = %config.spool_dir.display(),
                "spend spool holds events from an earlier run; replaying"
            );
        }
        let writer = Arc::new(SpendWriter {
            store,
            queue: Mutex::new(Vec::with_capacity(config.batch_size)),
            wake: Notify::new(),
            spool: Arc::new(spool),
            db_ok: AtomicBool::new(true),
            spool_full: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            flushing: tokio::sync::Mutex::new(()),
            stats: SpendStats::default(),
            on_written: Mutex::new(None),
            config,
        });
        tokio::spawn(run(writer.clone()));
        Ok(writer)
    }

    pub fn set_on_written(&self, f: OnWritten) {
        if let Ok(mut slot) = self.on_written.lock() {
            *slot = Some(f);
        }
    }

    /// Queues one record; never blocks on I/O.
    pub fn push(&self, record: SpendRecord) {
        let len = match self.queue.lock() {
            Ok(mut q) => {
                q.push(record);
                q.len()
            }
            Err(p) => {
                let mut q = p.into_inner();
                q.push(record);
                q.len()
            }
        };
        if len >= self.config.batch_size {
            self.wake.notify_one();
        }
    }

    pub fn status(&self) -> SpendStatus {
        SpendStatus {
            database_ok: self.db_ok.load(Ordering::Relaxed),
            queued: self.queue.lock().map(|q| q.len()).unwrap_or(0),
            spool_bytes: self.spool.bytes(),
            spool_max_bytes: self.spool.max_bytes(),
            spool_full: self.spool_full.load(Ordering::Relaxed),
            dropped: self.stats.dropped.load(Ordering::Relaxed),
        }
    }

    /// Flushes everything queued (to the database, or the spool), for shutdown: waits for the
    /// batch the writer task may be writing, then writes the rest. Events pushed after it
    /// returns are written by the next call.
    pub async fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        let _flushing = self.flushing.lock().await;
        loop {
            let batch = self.take();
            if batch.is_empty() {
                break;
            }
            self.flush(batch).await;
        }
    }

    /// The very end of a process, after its runtime is gone: writes what was queued since
    /// [`SpendWriter::close`] to the spool, synchronously, for the next start to replay. That
    /// is the accounting of streams still running when the shutdown grace ran out, which runs
    /// as the runtime drops them. Returns how many events were spooled.
    pub fn spool_leftovers(&self) -> usize {
        let batch = self.take();
        let n = batch.len();
        if n == 0 || !self.spooled(n, self.spool.append(&batch)) {
            return 0;
        }
        n
    }

    fn take(&self) -> Vec<SpendRecord> {
        match self.queue.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }

    /// One batch: to the database when it is believed up, else (or on failure) to the spool.
    async fn flush(&self, batch: Vec<SpendRecord>) {
        // With the spool full the batch would be dropped: try the database even while it is
        // believed down, rather than wait for the next replay probe.
        if self.db_ok.load(Ordering::Relaxed) || self.spool_full.load(Ordering::Relaxed) {
            match self.write(&batch).await {
                Ok(()) => {
                    self.db_ok.store(true, Ordering::Relaxed);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, events = batch.len(), "spend write failed; spooling");
                    self.db_ok.store(false, Ordering::Relaxed);
                }
            }
        }
        self.to_spool(batch).await;
    }

    async fn write(&self, batch: &[SpendRecord]) -> Result<(), tollgate_store::Error> {
        let oldest = batch.iter().map(|r| r.ts.0).min().unwrap_or(0);
        for chunk in batch.chunks(self.config.batch_size.max(1)) {
            match self.store.record_spend(chunk, Timestamp::now()).await {
                Ok(done) => {
                    self.stats
                        .written
                        .fetch_add(done.inserted, Ordering::Relaxed);
                    if let Ok(cb) = self.on_written.lock()
                        && let Some(cb) = cb.as_ref()
                    {
                        cb(&done);
                    }
                }
                Err(e) => {
                    self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        self.stats
            .last_flush_lag_ms
            .store(Timestamp::now().0 - oldest, Ordering::Relaxed);
        Ok(())
    }

    async fn to_spool(&self, batch: Vec<SpendRecord>) {
        let n = batch.len();
        let spool = self.spool.clone();
        match tokio::task::spawn_blocking(move || spool.append(&batch)).await {
            Ok(result) => {
                self.spooled(n, result);
            }
            Err(e) => {
                self.stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
                tracing::error!(error = %e, events = n, "SPEND EVENTS DROPPED: spool task failed");
            }
        }
    }

    /// Counts the outcome of appending `n` events to the spool, loudly when they are lost, and
    /// keeps `spool_full` up to date; true when they were spooled.
    fn spooled(&self, n: usize, result: Result<(), SpoolError>) -> bool {
        let n64 = n as u64;
        match result {
            Ok(()) => {
                self.stats.spooled.fetch_add(n64, Ordering::Relaxed);
                self.spool_full.store(false, Ordering::Relaxed);
                true
            }
            Err(SpoolError::Full(max)) => {
                self.stats.dropped.fetch_add(n64, Ordering::Relaxed);
                self.spool_full.store(true, Ordering::Relaxed);
                tracing::error!(
                    events = n,
                    max_bytes = max,
                    "SPEND EVENTS DROPPED: the database is unavailable and the spool is full"
                );
                false
            }
            Err(e) => {
                self.stats.dropped.fetch_add(n64, Ordering::Relaxed);
                tracing::error!(error = %e, events = n, "SPEND EVENTS DROPPED: cannot write the spool");
                false
            }
        }
    }

    /// Replays spool segments oldest first until one fails.
    async fn replay(&self) {
        let spool = self.spool.clone();
        let Ok(Ok(segments)) = tokio::task::spawn_blocking(move || spool.segments()).await else {
            return;
        };
        for path in segments {
            let p = path.clone();
            let Ok(Ok((records, bad))) = tokio::task::spawn_blocking(move || Spool::read(&p)).await
            else {
                return;
            };
            if bad > 0 {
                tracing::error!(file = %path.display(), lines = bad, "unreadable spool lines skipped");
            }
            match self.write(&records).await {
                Ok(()) => {
                    self.db_ok.store(true, Ordering::Relaxed);
                    // The spool has room again; the next append says so if it fills up anew.
                    self.spool_full.store(false, Ordering::Relaxed);
                    self.stats
                        .replayed
                        .fetch_add(records.len() as u64, Ordering::Relaxed);
                    let spool = self.spool.clone();
                    let p = path.clone();
                    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || spool.remove(&p)).await
                    {
                        // Replayed again later: skipped by request id.
                        tracing::warn!(error = %e, "cannot delete a replayed spool file");
                        return;
                    }
                    tracing::info!(events = records.len(), "spool segment replayed");
                }
                Err(_) => {
                    self.db_ok.store(false, Ordering::Relaxed);
                    return;
                }
            }
        }
    }
}

async fn run(writer: Arc<SpendWriter>) {
    let mut last_probe = Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(writer.config.flush_interval) => {}
            () = writer.wake.notified() => {}
        }
        let _flushing = writer.flushing.lock().await;
        if writer.closing.load(Ordering::Relaxed) {
            return;
        }
        let batch = writer.take();
        if !batch.is_empty() {
            writer.flush(batch).await;
        }
        // With the database believed down, try the spool every 2 s: its first segment is the
        // probe, and success flips the writer back to direct writes.
        if !writer.spool.is_empty()
            && (writer.db_ok.load(Ordering::Relaxed)
                || last_probe.elapsed() >= Duration::from_secs(2))
        {
            last_probe = Instant::now();
            writer.replay().await;
        }
    }
}

impl UsageSink for SpendWriter {
    fn record(&self, e: UsageEvent) {
        self.push(e.record);
    }

    fn spend_writer(&self) -> Option<&SpendWriter> {
        Some(self)
    }
}
