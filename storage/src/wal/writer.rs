//! Appends records to the newest segment and fsyncs by policy.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::segment::{MAX_RECORD_BYTES, SEGMENT_MAGIC, frame_into, list_segments, segment_path};
use crate::error::{Error, Result};
use crate::object_store::sync_dir;

/// When the WAL is fsynced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Group commit: at most this long between fsyncs of written data.
    Interval(Duration),
    /// Fsync before acknowledging each request.
    PerRequest,
}

impl Default for FsyncPolicy {
    fn default() -> Self {
        Self::Interval(Duration::from_secs(1))
    }
}

/// Segment size after which the writer starts a new one.
const SEGMENT_TARGET_BYTES: u64 = 128 << 20;

/// The single appender of a WAL directory. Not thread-safe by itself: the
/// engine serialises appends.
#[derive(Debug)]
pub struct WalWriter {
    dir: PathBuf,
    seq: u64,
    file: File,
    size: u64,
    dirty: bool,
    policy: FsyncPolicy,
    frame_buf: Vec<u8>,
    /// Set when a failed write left a partial frame that could not be cut
    /// off: replay stops at a torn frame, so a record appended after it
    /// would be lost on restart although acknowledged. Appends fail until
    /// the cut succeeds.
    torn: bool,
    /// Bytes appended since open, for self-metrics.
    pub bytes_written: u64,
    /// Fsyncs done since open, for self-metrics.
    pub fsyncs: u64,
}

impl WalWriter {
    /// Opens `dir` for appending to a fresh segment numbered after every
    /// existing one (replay must have run first).
    pub fn open(dir: &Path, policy: FsyncPolicy) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        let next = list_segments(dir)?.last().map_or(1, |s| s + 1);
        let (file, size) = create_segment(dir, next)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            seq: next,
            file,
            size,
            dirty: false,
            policy,
            frame_buf: Vec::new(),
            torn: false,
            bytes_written: 0,
            fsyncs: 0,
        })
    }

    /// Number of the segment being written.
    pub fn current_segment(&self) -> u64 {
        self.seq
    }

    /// Appends one record; returns once it is written (and fsynced under
    /// [`FsyncPolicy::PerRequest`]).
    pub fn append(&mut self, payload: &[u8]) -> Result<()> {
        if payload.len() > super::segment::MAX_RECORD_BYTES {
            return Err(Error::io(
                "append",
                segment_path(&self.dir, self.seq),
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "record of {} bytes exceeds {MAX_RECORD_BYTES}",
                        payload.len()
                    ),
                ),
            ));
        }
        if self.size >= SEGMENT_TARGET_BYTES {
            self.cut()?;
        }
        if self.torn {
            self.cut_torn_frame()?;
        }
        self.frame_buf.clear();
        frame_into(&mut self.frame_buf, payload);
        if let Err(e) = self.file.write_all(&self.frame_buf) {
            // Part of the frame may be on disk (a full disk, say). Cut it
            // off now, or refuse appends until that works.
            self.torn = true;
            let _ = self.cut_torn_frame();
            return Err(Error::io("append", segment_path(&self.dir, self.seq), e));
        }
        self.size += self.frame_buf.len() as u64;
        self.bytes_written += self.frame_buf.len() as u64;
        self.dirty = true;
        if self.policy == FsyncPolicy::PerRequest {
            self.sync()?;
        }
        Ok(())
    }

    /// Shrinks the segment back to its last whole frame.
    fn cut_torn_frame(&mut self) -> Result<()> {
        self.file
            .set_len(self.size)
            .map_err(|e| Error::io("truncate", segment_path(&self.dir, self.seq), e))?;
        self.torn = false;
        Ok(())
    }

    /// Fsyncs written data, if any is unsynced.
    pub fn sync(&mut self) -> Result<()> {
        if self.dirty {
            self.file
                .sync_data()
                .map_err(|e| Error::io("fsync", segment_path(&self.dir, self.seq), e))?;
            self.dirty = false;
            self.fsyncs += 1;
        }
        Ok(())
    }

    /// Closes the current segment (synced) and starts the next; returns the
    /// new segment's number. Everything appended before the cut lives in
    /// segments below that number.
    pub fn cut(&mut self) -> Result<u64> {
        self.sync()?;
        let (file, size) = create_segment(&self.dir, self.seq + 1)?;
        self.seq += 1;
        self.file = file;
        self.size = size;
        Ok(self.seq)
    }

    /// Removes segments numbered below `before`.
    pub fn remove_before(&self, before: u64) -> Result<()> {
        for seq in list_segments(&self.dir)?
            .into_iter()
            .filter(|s| *s < before)
        {
            let path = segment_path(&self.dir, seq);
            std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        }
        Ok(())
    }
}

fn create_segment(dir: &Path, seq: u64) -> Result<(File, u64)> {
    let path = segment_path(dir, seq);
    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io("create", &path, e))?;
    file.write_all(SEGMENT_MAGIC)
        .map_err(|e| Error::io("write", &path, e))?;
    file.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
    sync_dir(dir)?;
    Ok((file, SEGMENT_MAGIC.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::segment::replay_dir;

    #[test]
    fn a_torn_frame_from_a_failed_write_is_cut_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::open(dir.path(), FsyncPolicy::PerRequest).unwrap();
        w.append(b"first").unwrap();
        // What a write that failed half-way leaves behind.
        let mut raw = OpenOptions::new()
            .append(true)
            .open(segment_path(dir.path(), w.current_segment()))
            .unwrap();
        raw.write_all(&[0x55; 7]).unwrap();
        w.torn = true;
        w.append(b"second").unwrap();
        drop(w);
        let mut got = Vec::new();
        let report = replay_dir(dir.path(), 0, |p| {
            got.push(p.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![b"first".to_vec(), b"second".to_vec()]);
        assert_eq!(report.truncated_at, None);
    }
}
