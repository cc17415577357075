//! The local spool: batches the database could not take, as JSON lines under the data
//! directory, one file per batch, fsync'd before the batch is forgotten in memory. Replayed
//! oldest first when the database answers again; a file is deleted only after its batch is
//! committed, and the store skips request ids it already has, so a crash mid-replay never
//! counts a request twice.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tollgate_store::SpendRecord;

pub(crate) struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    bytes: AtomicU64,
    seq: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SpoolError {
    #[error("the spool is full ({0} bytes)")]
    Full(u64),
    #[error("spool I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl Spool {
    /// Opens (creating) the directory and counts what earlier runs left there.
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> std::io::Result<Spool> {
        std::fs::create_dir_all(dir)?;
        let spool = Spool {
            dir: dir.to_owned(),
            max_bytes,
            bytes: AtomicU64::new(0),
            seq: AtomicU64::new(0),
        };
        let total = spool
            .segments()?
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        spool.bytes.store(total, Ordering::Relaxed);
        Ok(spool)
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes() == 0
    }

    /// Segment files, oldest first (names sort by time, then sequence).
    pub(crate) fn segments(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Writes a batch durably (file and directory fsync'd). Refused whole when it would pass
    /// the size bound.
    pub(crate) fn append(&self, batch: &[SpendRecord]) -> Result<(), SpoolError> {
        let mut text = Vec::with_capacity(batch.len() * 400);
        for r in batch {
            // A SpendRecord always serializes; a failure would drop only that line.
            if serde_json::to_writer(&mut text, r).is_ok() {
                text.push(b'\n');
            }
        }
        let size = text.len() as u64;
        if self.bytes().saturating_add(size) > self.max_bytes {
            return Err(SpoolError::Full(self.max_bytes));
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{:016}-{:010}-{}.jsonl",
            tollgate_domain::Timestamp::now().0,
            seq,
            std::process::id()
        );
        let tmp = self.dir.join(format!("{name}.tmp"));
        let path = self.dir.join(name);
        {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
        }
        // Renamed only once complete: a crash mid-write leaves a `.tmp` that replay ignores.
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        self.bytes.fetch_add(size, Ordering::Relaxed);
        Ok(())
    }

    /// Reads one segment; lines that do not parse (never written by this code) are skipped
    /// and counted.
    pub(crate) fn read(path: &Path) -> std::io::Result<(Vec<SpendRecord>, usize)> {
        let text = std::fs::read_to_string(path)?;
        let mut out = Vec::new();
        let mut bad = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str(line) {
                Ok(r) => out.push(r),
                Err(_) => bad += 1,
            }
        }
        Ok((out, bad))
    }

    /// Deletes a replayed segment.
    pub(crate) fn remove(&self, path: &Path) -> std::io::Result<()> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        std::fs::remove_file(path)?;
        let _ = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(size))
            });
        Ok(())
    }
}
