//! `kill -9` during sustained ingest (and during flushes), restart, and every
//! acknowledged sample must be there and every part readable. Bounded in
//! rounds and requests, not in time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use hearth_ingest::proto::remote_v1;

const ROUNDS: usize = 6;
const SERIES_PER_BATCH: usize = 50;
/// Each round's writer stops by itself after this many batches.
const MAX_BATCHES_PER_ROUND: usize = 400;

fn batch(round: usize, seq: usize, t0: i64) -> remote_v1::WriteRequest {
    let ts = t0 + (round * MAX_BATCHES_PER_ROUND + seq) as i64 * 1000;
    remote_v1::WriteRequest {
        timeseries: (0..SERIES_PER_BATCH)
            .map(|s| {
                series(
                    &[("__name__", "crash_test"), ("series", &s.to_string())],
                    &[(ts, (round * 1_000_000 + seq) as f64)],
                )
            })
            .collect(),
        metadata: Vec::new(),
    }
}

#[test]
fn kill_9_loses_no_acknowledged_sample() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let t0 = now - 3 * 3_600_000;
    let mut acked_total: Vec<i64> = Vec::new();

    for round in 0..ROUNDS {
        let h = Hearth::start(dir.path(), &[]);
        // Everything acknowledged in earlier rounds survived the crash.
        check(&h, &acked_total);

        let base = h.base.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let writer_stop = Arc::clone(&stop);
        let writer = std::thread::spawn(move || {
            let c = client();
            let mut acked = Vec::new();
            for seq in 0..MAX_BATCHES_PER_ROUND {
                if writer_stop.load(Ordering::Relaxed) {
                    break;
                }
                let req = batch(round, seq, t0);
                let body = snappy(&prost::Message::encode_to_vec(&req));
                let sent = c
                    .post(format!("{base}/api/v1/write"))
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .body(body)
                    .send();
                match sent {
                    Ok(r) if r.status() == 204 => {
                        acked.push(req.timeseries[0].samples[0].timestamp)
                    }
                    // The server died under us: this batch was never acknowledged.
                    _ => break,
                }
            }
            acked
        });

        // Let some writes land, force a flush in odd rounds so that the
        // crash also hits WAL segments already partly in parts.
        let target = 20 + round * 15;
        wait_for_count(&h, (acked_total.len() + target) * SERIES_PER_BATCH);
        if round % 2 == 1 {
            let _ = client().post(h.url("/api/v1/admin/flush")).send();
        }
        if round % 3 == 2 {
            // Crash during a compaction request.
            let c = client();
            let url = h.url("/api/v1/admin/compact");
            std::thread::spawn(move || {
                let _ = c.post(url).send();
            });
        }
        h.kill9();
        stop.store(true, Ordering::Relaxed);
        let acked = writer.join().unwrap();
        assert!(
            acked.len() >= target,
            "round {round}: only {} batches acknowledged",
            acked.len()
        );
        acked_total.extend(acked);
    }
    let h = Hearth::start(dir.path(), &[]);
    check(&h, &acked_total);
    // Parts and index agree after all the crashes: a compaction reads every part.
    h.post_form_json("/api/v1/admin/flush", &[]);
    h.post_form_json("/api/v1/admin/compact", &[]);
    check(&h, &acked_total);
}

fn wait_for_count(h: &Hearth, n: usize) {
    for _ in 0..10_000 {
        let rows = h.sql("SELECT count(*) AS n FROM samples WHERE value >= 0");
        if rows[0]["n"].as_u64().unwrap_or(0) as usize >= n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("ingest never reached {n} samples");
}

/// Every acknowledged timestamp has all its series; SQL reads every part.
fn check(h: &Hearth, acked: &[i64]) {
    let rows = h.sql(
        "SELECT ts, count(*) AS n FROM labeled_samples WHERE metric_name = 'crash_test' GROUP BY ts",
    );
    let present: std::collections::HashMap<i64, u64> = rows
        .iter()
        .map(|r| (r["ts"].as_i64().unwrap(), r["n"].as_u64().unwrap()))
        .collect();
    for ts in acked {
        assert_eq!(
            present.get(ts).copied(),
            Some(SERIES_PER_BATCH as u64),
            "acknowledged batch at {ts} is missing or partial; log:\n{}",
            h.log_text()
        );
    }
}
