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

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_domain::{Micros, Timestamp};

    fn record(n: u32) -> SpendRecord {
        SpendRecord {
            prompt_tokens: 3,
            completion_tokens: 5,
            cost: Micros(7),
            latency_ms: Some(12),
            ..SpendRecord::new(
                format!("req-{n}"),
                Timestamp(1_700_000_000_000 + i64::from(n)),
                "default",
                "pod",
                "m",
            )
        }
    }

    #[test]
    fn batches_round_trip_oldest_first_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert!(spool.is_empty());
        spool.append(&[record(1), record(2)]).unwrap();
        spool.append(&[record(3)]).unwrap();
        let segments = spool.segments().unwrap();
        assert_eq!(segments.len(), 2);
        let (first, bad) = Spool::read(&segments[0]).unwrap();
        assert_eq!(bad, 0);
        assert_eq!(first, vec![record(1), record(2)]);
        // A restarted process finds and counts what is left.
        let reopened = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(reopened.bytes(), spool.bytes());
        reopened.remove(&segments[0]).unwrap();
        assert_eq!(reopened.segments().unwrap(), vec![segments[1].clone()]);
        assert!(!reopened.is_empty());
        reopened.remove(&segments[1]).unwrap();
        assert!(reopened.is_empty());
    }

    #[test]
    fn a_half_written_tmp_file_is_never_replayed_and_garbage_lines_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        // What a crash between write and rename leaves behind.
        std::fs::write(
            dir.path().join("0000000000000001-0000000000-1.jsonl.tmp"),
            b"{\"half",
        )
        .unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert!(spool.is_empty(), "the .tmp file is not counted");
        assert!(spool.segments().unwrap().is_empty());
        let path = dir.path().join("0000000000000002-0000000000-1.jsonl");
        let good = serde_json::to_string(&record(9)).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n\n")).unwrap();
        let (records, bad) = Spool::read(&path).unwrap();
        assert_eq!(records, vec![record(9)]);
        assert_eq!(bad, 1);
    }

    #[test]
    fn a_batch_past_the_bound_is_refused_whole_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let one = serde_json::to_vec(&record(1)).unwrap().len() as u64 + 1;
        let spool = Spool::open(dir.path(), one * 2).unwrap();
        spool.append(&[record(1)]).unwrap();
        let err = spool.append(&[record(2), record(3)]).unwrap_err();
        assert!(
            matches!(err, SpoolError::Full(max) if max == one * 2),
            "{err}"
        );
        assert_eq!(
            spool.segments().unwrap().len(),
            1,
            "nothing of the refused batch"
        );
        assert_eq!(spool.bytes(), one);
        // A batch that fits still goes in.
        spool.append(&[record(4)]).unwrap();
        assert_eq!(spool.segments().unwrap().len(), 2);
    }
}
