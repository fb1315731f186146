//! Loki push: per-connection batches of snappy-compressed `PushRequest`s,
//! sent one at a time per connection with retries on 429/5xx.
//!
//! Streams are pinned to connections (`stream % connections`), so each
//! stream's entries reach the server in order even when requests overlap,
//! as Promtail and Alloy keep a stream on one batch queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use hearth_bench_push::{Endpoint, Outcome, PushCounters, post};
use hearth_ingest::proto::loki_push::{EntryAdapter, PushRequest, StreamAdapter, Timestamp};
use prost::Message;
use tokio::sync::mpsc;

/// One compressed request.
pub struct Body {
    pub data: Vec<u8>,
    pub lines: u64,
}

/// Entries waiting for one connection's next request.
pub struct Batcher {
    entries: Vec<Vec<EntryAdapter>>,
    bytes: usize,
    lines: u64,
}

impl Batcher {
    pub fn new(streams: usize) -> Self {
        Self {
            entries: (0..streams).map(|_| Vec::new()).collect(),
            bytes: 0,
            lines: 0,
        }
    }

    /// Raw line bytes batched so far.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn add(&mut self, stream: usize, ts_ns: i64, line: &[u8]) {
        let Some(list) = self.entries.get_mut(stream) else {
            return;
        };
        list.push(EntryAdapter {
            timestamp: Some(Timestamp {
                seconds: ts_ns.div_euclid(1_000_000_000),
                nanos: ts_ns.rem_euclid(1_000_000_000) as i32,
            }),
            line: line.to_vec(),
            structured_metadata: Vec::new(),
            parsed: Vec::new(),
        });
        self.bytes += line.len();
        self.lines += 1;
    }

    /// Encodes and compresses what is batched (`None` when empty) and
    /// starts a new batch. `labels[i]` is stream `i`'s label text.
    pub fn finish(
        &mut self,
        labels: &[String],
        encoder: &mut snap::raw::Encoder,
    ) -> Result<Option<Body>> {
        if self.lines == 0 {
            return Ok(None);
        }
        let streams = self
            .entries
            .iter_mut()
            .zip(labels)
            .filter(|(e, _)| !e.is_empty())
            .map(|(e, l)| StreamAdapter {
                labels: l.as_bytes().to_vec(),
                entries: std::mem::take(e),
                hash: 0,
            })
            .collect();
        let request = PushRequest {
            streams,
            format: Vec::new(),
        };
        let data = encoder
            .compress_vec(&request.encode_to_vec())
            .context("snappy")?;
        let lines = std::mem::take(&mut self.lines);
        self.bytes = 0;
        Ok(Some(Body { data, lines }))
    }
}

/// Counters shared by all senders.
#[derive(Default)]
pub struct Stats {
    pub push: PushCounters,
    pub lines_acked: AtomicU64,
    pub compressed_bytes: AtomicU64,
    pub errors_4xx: AtomicU64,
    pub lines_rejected_4xx: AtomicU64,
}

/// Where and how to send.
#[derive(Clone, Debug)]
pub struct Target {
    pub url: String,
    pub max_retry: Duration,
    pub dry_run: bool,
}

/// Sends the bodies from `rx` in order, one at a time.
pub async fn send_all(
    client: reqwest::Client,
    target: Target,
    stats: std::sync::Arc<Stats>,
    mut rx: mpsc::Receiver<Body>,
) {
    let endpoint = Endpoint {
        url: target.url.clone(),
        headers: vec![
            ("Content-Type", "application/x-protobuf"),
            ("User-Agent", "hearth-loggen/0.1"),
        ],
        max_retry: target.max_retry,
        backoff,
    };
    while let Some(body) = rx.recv().await {
        let (len, lines) = (body.data.len() as u64, body.lines);
        if target.dry_run {
            stats.push.requests.fetch_add(1, Ordering::Relaxed);
        } else {
            match post(&client, &endpoint, &stats.push, body.data.into()).await {
                Outcome::Accepted(_) => {}
                Outcome::Refused => {
                    // A 400 from Loki may mean only some entries were
                    // refused; the whole request is counted, and reported.
                    stats.errors_4xx.fetch_add(1, Ordering::Relaxed);
                    stats.lines_rejected_4xx.fetch_add(lines, Ordering::Relaxed);
                    continue;
                }
                Outcome::GaveUp => continue,
            }
        }
        stats.lines_acked.fetch_add(lines, Ordering::Relaxed);
        stats.compressed_bytes.fetch_add(len, Ordering::Relaxed);
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((50u64 << attempt.min(6)).min(2_000))
}
