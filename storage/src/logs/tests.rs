use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::logs_model::{LogEntry, LogsWrite, StreamWrite};
use crate::matcher::{MatchOp, Matcher};
use crate::model::{Label, Labels};
use crate::postings::SeriesEntry;

const T0: i64 = 1_700_000_000_000_000_000;
const S: i64 = 1_000_000_000;

fn write(labels: &[(&str, &str)], entries: &[(i64, &[u8])]) -> LogsWrite {
    LogsWrite {
        streams: vec![StreamWrite {
            labels: Labels::from_pairs(labels.iter().copied()).unwrap(),
            entries: entries
                .iter()
                .map(|(ts, line)| LogEntry {
                    ts_ns: *ts,
                    line: Bytes::copy_from_slice(line),
                    structured_metadata: if line.starts_with(b"meta") {
                        vec![Label::new("trace_id", "abc")]
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
        }],
    }
}

#[derive(Default)]
struct Collect(Vec<(String, i64, Vec<u8>, Vec<Label>)>);

impl ScanSink for Collect {
    fn rows(&mut self, stream: &Arc<SeriesEntry>, rows: Vec<HeadEntry>) {
        let name = crate::postings::render(&stream.labels);
        for r in rows {
            self.0
                .push((name.clone(), r.ts_ns, r.line.to_vec(), r.metadata));
        }
    }
}

async fn scan(engine: &LogsEngine, app: &str, required: &[&str]) -> Vec<(i64, Vec<u8>)> {
    let matchers = [Matcher::new(MatchOp::Regex, "app", app).unwrap()];
    let required: Vec<Vec<Vec<u8>>> = required
        .iter()
        .map(|r| vec![r.as_bytes().to_vec()])
        .collect();
    let q = LogScan {
        matchers: &matchers,
        start_ns: T0,
        end_ns: T0 + 1000 * S,
        required: &required,
        backward: false,
    };
    let mut sink = Collect::default();
    engine.scan(&q, &mut sink).await.unwrap();
    let mut rows: Vec<(i64, Vec<u8>)> = sink
        .0
        .into_iter()
        .filter(|(_, _, line, _)| {
            required.iter().all(|alts| {
                alts.iter()
                    .any(|n| line.windows(n.len()).any(|w| w == &n[..]))
            })
        })
        .map(|(_, ts, line, _)| (ts, line))
        .collect();
    rows.sort();
    rows
}

async fn open(dir: &std::path::Path) -> Arc<LogsEngine> {
    let store = DataStore::local(&dir.join("data")).unwrap();
    LogsEngine::open(LogsOptions::new(dir), store, StorageMetrics::default())
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn entries_survive_flush_reopen_and_compaction_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let odd: &[u8] = b"multi\nline \x1b[31mred\x1b[0m \xff\xfe not utf8";
    let out = engine
        .append(write(
            &[("app", "a")],
            &[
                (T0 + S, b"GET /x 200"),
                (T0 + 3 * S, odd),
                (T0 + 2 * S, b"meta line"),
            ],
        ))
        .unwrap();
    assert_eq!(out.entries_written, 3);
    engine
        .append(write(
            &[("app", "b")],
            &[(T0 + 5 * S, b"POST /y 500 error")],
        ))
        .unwrap();
    let expected_a = vec![
        (T0 + S, b"GET /x 200".to_vec()),
        (T0 + 2 * S, b"meta line".to_vec()),
        (T0 + 3 * S, odd.to_vec()),
    ];
    assert_eq!(scan(&engine, "a", &[]).await, expected_a);
    engine.flush().await.unwrap();
    assert_eq!(scan(&engine, "a", &[]).await, expected_a);
    engine
        .append(write(
            &[("app", "a")],
            &[(T0 + 4 * S, b"second part error")],
        ))
        .unwrap();
    engine.flush().await.unwrap();
    assert_eq!(
        scan(&engine, "a|b", &["error"]).await,
        vec![
            (T0 + 4 * S, b"second part error".to_vec()),
            (T0 + 5 * S, b"POST /y 500 error".to_vec())
        ]
    );
    assert_eq!(engine.compact(true).await.unwrap(), 1);
    assert_eq!(engine.parts().len(), 1);
    engine
        .append(write(&[("app", "a")], &[(T0 + 6 * S, b"in the wal only")]))
        .unwrap();
    engine.close().unwrap();
    drop(engine);

    let engine = open(dir.path()).await;
    let mut all = expected_a.clone();
    all.push((T0 + 4 * S, b"second part error".to_vec()));
    all.push((T0 + 6 * S, b"in the wal only".to_vec()));
    assert_eq!(scan(&engine, "a", &[]).await, all);
    assert_eq!(
        scan(&engine, "a", &["not utf8"]).await,
        vec![(T0 + 3 * S, odd.to_vec())]
    );
    let matchers = [Matcher::new(MatchOp::Equal, "app", "a").unwrap()];
    let mut sink = Collect::default();
    let q = LogScan {
        matchers: &matchers,
        start_ns: T0,
        end_ns: T0 + 3 * S,
        required: &[],
        backward: true,
    };
    engine.scan(&q, &mut sink).await.unwrap();
    let meta: Vec<_> = sink.0.iter().map(|r| (r.1, r.3.clone())).collect();
    assert_eq!(
        meta,
        vec![
            (T0 + S, vec![]),
            (T0 + 2 * S, vec![Label::new("trace_id", "abc")])
        ]
    );
}

#[tokio::test]
async fn entries_too_far_behind_are_refused_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    engine
        .append(write(&[("app", "a")], &[(T0 + 7200 * S, b"new")]))
        .unwrap();
    let out = engine
        .append(write(
            &[("app", "a")],
            &[(T0, b"too old"), (T0 + 7000 * S, b"within the hour")],
        ))
        .unwrap();
    assert_eq!(out.entries_written, 1);
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].reason, "too_far_behind");
    assert!(
        out.rejected[0].detail.contains("entry too far behind"),
        "{}",
        out.rejected[0].detail
    );
    assert!(
        out.rejected[0].detail.ends_with("for stream: {app=\"a\"}"),
        "{}",
        out.rejected[0].detail
    );
}

#[tokio::test]
async fn retention_drops_old_days_and_their_streams() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    engine
        .append(write(&[("app", "old")], &[(T0, b"x")]))
        .unwrap();
    engine.flush().await.unwrap();
    let day_ms = T0 / 1_000_000;
    let dropped = engine
        .apply_retention(day_ms + 20 * 86_400_000)
        .await
        .unwrap();
    assert_eq!(dropped.len(), 1);
    assert!(engine.parts().is_empty());
    assert!(scan(&engine, "old", &[]).await.is_empty());
}

#[tokio::test]
async fn a_stream_repeated_in_one_write_is_checked_against_all_its_entries() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let mut w = write(&[("app", "a")], &[(T0 + 7200 * S, b"newest")]);
    let again = write(&[("app", "a")], &[(T0 + 10 * S, b"first copy")]);
    let third = write(&[("app", "a")], &[(T0 + 20 * S, b"third copy")]);
    w.streams.extend(again.streams);
    w.streams.extend(third.streams);
    let out = engine.append(w).unwrap();
    assert_eq!(out.entries_written, 1);
    assert_eq!(out.rejected.len(), 2);
}

#[tokio::test]
async fn a_resent_entry_is_returned_once() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    for _ in 0..3 {
        engine
            .append(write(
                &[("app", "a")],
                &[(T0 + S, b"same"), (T0 + S, b"other")],
            ))
            .unwrap();
    }
    assert_eq!(
        scan(&engine, "a", &[]).await,
        vec![(T0 + S, b"other".to_vec()), (T0 + S, b"same".to_vec())]
    );
    engine.flush().await.unwrap();
    assert_eq!(scan(&engine, "a", &[]).await.len(), 2);
}

#[tokio::test]
async fn flushed_parts_at_the_size_cap_are_rewritten_alone_at_the_merged_level() {
    // 1: each part is over the cap; 20: each is under it, but no two fit.
    for cap in [1, 20] {
        rewrite_lone_flushed_parts(cap).await;
    }
}

async fn rewrite_lone_flushed_parts(cap: u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = DataStore::local(&dir.path().join("data")).unwrap();
    let mut opts = LogsOptions::new(dir.path());
    opts.max_merged_raw_bytes = cap;
    let engine = LogsEngine::open(opts, store, StorageMetrics::default())
        .await
        .unwrap()
        .0;
    for (i, line) in [b"first part line" as &[u8], b"second part line"]
        .into_iter()
        .enumerate()
    {
        engine
            .append(write(&[("app", "a")], &[(T0 + i as i64 * S, line)]))
            .unwrap();
        engine.flush().await.unwrap();
    }
    assert!(engine.parts().iter().all(|p| p.level == 0));
    assert!(engine.parts().iter().all(|p| p.raw_bytes > cap / 2));
    assert_eq!(engine.compact(true).await.unwrap(), 2, "cap {cap}");
    let parts = engine.parts();
    assert_eq!(parts.len(), 2, "nothing was merged across the cap");
    assert!(parts.iter().all(|p| p.level == 1), "{parts:?}");
    assert_eq!(
        scan(&engine, "a", &["part"]).await,
        vec![
            (T0, b"first part line".to_vec()),
            (T0 + S, b"second part line".to_vec())
        ]
    );
    // Rewritten parts are not rewritten again.
    assert_eq!(engine.compact(true).await.unwrap(), 0);
}
