//! Segment files: an 8-byte magic, then records framed as
//! `[u32 len LE][u32 crc32 LE][payload]`.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// First bytes of every segment file; a version bump changes the last byte.
pub const SEGMENT_MAGIC: &[u8; 8] = b"HRTHWAL1";

/// Upper bound on one record, so a corrupt length cannot make replay
/// allocate gigabytes.
pub(crate) const MAX_RECORD_BYTES: usize = 256 << 20;

/// Path of segment `seq` in `dir`.
pub fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}"))
}

/// Segment sequence numbers present in `dir`, ascending.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read dir", dir, e)),
    };
    let mut seqs: Vec<u64> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    seqs.sort_unstable();
    Ok(seqs)
}

/// What replay found and repaired.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records handed to the callback.
    pub records: usize,
    /// Segments read.
    pub segments: usize,
    /// Where a torn or corrupt tail was cut, if anywhere: (segment, offset).
    pub truncated_at: Option<(u64, u64)>,
    /// Segments after a corrupt one that were removed.
    pub removed_segments: Vec<u64>,
}

enum Frame {
    Record(Vec<u8>),
    End,
    Bad(&'static str),
}

fn read_frame(reader: &mut impl Read) -> std::io::Result<Frame> {
    let mut header = [0u8; 8];
    let mut filled = 0;
    while filled < header.len() {
        let n = reader.read(&mut header[filled..])?;
        if n == 0 {
            return Ok(if filled == 0 {
                Frame::End
            } else {
                Frame::Bad("torn record header")
            });
        }
        filled += n;
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_RECORD_BYTES {
        return Ok(Frame::Bad("record length out of range"));
    }
    let mut payload = vec![0u8; len];
    let mut got = 0;
    while got < len {
        let n = reader.read(&mut payload[got..])?;
        if n == 0 {
            return Ok(Frame::Bad("torn record payload"));
        }
        got += n;
    }
    if crc32fast::hash(&payload) != crc {
        return Ok(Frame::Bad("record checksum mismatch"));
    }
    Ok(Frame::Record(payload))
}

/// Replays every segment in `dir` with a number `>= from`, calling `apply`
/// for each intact record in order. The first bad record ends replay: its
/// segment is truncated there and later segments are removed, because
/// records after a gap cannot be trusted to be in order.
pub fn replay_dir(
    dir: &Path,
    from: u64,
    mut apply: impl FnMut(&[u8]) -> Result<()>,
) -> Result<ReplayReport> {
    let mut report = ReplayReport::default();
    let seqs: Vec<u64> = list_segments(dir)?
        .into_iter()
        .filter(|s| *s >= from)
        .collect();
    for (i, &seq) in seqs.iter().enumerate() {
        let path = segment_path(dir, seq);
        let file = File::open(&path).map_err(|e| Error::io("open", &path, e))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        report.segments += 1;
        let mut offset = 0u64;
        let mut magic = [0u8; 8];
        let bad = match reader.read_exact(&mut magic) {
            Ok(()) if &magic == SEGMENT_MAGIC => {
                offset = magic.len() as u64;
                loop {
                    match read_frame(&mut reader).map_err(|e| Error::io("read", &path, e))? {
                        Frame::Record(payload) => {
                            apply(&payload)?;
                            report.records += 1;
                            offset += 8 + payload.len() as u64;
                        }
                        Frame::End => break None,
                        Frame::Bad(why) => break Some(why),
                    }
                }
            }
            Ok(()) => Some("bad segment magic"),
            Err(_) => Some("torn segment header"),
        };
        if let Some(why) = bad {
            tracing::warn!(
                segment = seq,
                offset,
                reason = why,
                "WAL tail is torn or corrupt; truncating it"
            );
            truncate(&path, offset)?;
            report.truncated_at = Some((seq, offset));
            for &later in &seqs[i + 1..] {
                let later_path = segment_path(dir, later);
                std::fs::remove_file(&later_path)
                    .map_err(|e| Error::io("remove", &later_path, e))?;
                report.removed_segments.push(later);
            }
            break;
        }
    }
    Ok(report)
}

fn truncate(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io("open", path, e))?;
    // A segment cut before its magic is rewritten whole so the writer can
    // keep appending to a well-formed file.
    if len < SEGMENT_MAGIC.len() as u64 {
        file.set_len(0)
            .map_err(|e| Error::io("truncate", path, e))?;
        std::io::Write::write_all(&mut &file, SEGMENT_MAGIC)
            .map_err(|e| Error::io("write", path, e))?;
    } else {
        file.set_len(len)
            .map_err(|e| Error::io("truncate", path, e))?;
    }
    file.sync_all().map_err(|e| Error::io("fsync", path, e))
}

/// Frames `payload` into `out` as one record.
pub(crate) fn frame_into(out: &mut Vec<u8>, payload: &[u8]) {
    out.reserve(8 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}
