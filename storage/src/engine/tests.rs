use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::metrics::StorageMetrics;
use crate::model::*;
use crate::object_store::DataStore;
use crate::part::{DAY_MS, SampleRunReader};

const DAY: i64 = 20_000;

fn opts(dir: &std::path::Path) -> EngineOptions {
    let mut o = EngineOptions::new(dir);
    o.retention.max_age_ms = None;
    o
}

async fn open(dir: &std::path::Path) -> Arc<MetricsEngine> {
    open_with(opts(dir)).await
}

async fn open_with(o: EngineOptions) -> Arc<MetricsEngine> {
    let store = DataStore::local(&o.data_dir.join("parts")).unwrap();
    MetricsEngine::open(o, store, StorageMetrics::default())
        .await
        .unwrap()
        .0
}

fn write(series: &[(&str, &[(i64, f64)])]) -> MetricsWrite {
    MetricsWrite {
        series: series
            .iter()
            .map(|(name, samples)| SeriesWrite {
                labels: Labels::from_pairs([("__name__", *name), ("job", "t")]).unwrap(),
                samples: samples
                    .iter()
                    .map(|&(ts, value)| Sample { ts, value })
                    .collect(),
                exemplars: Vec::new(),
            })
            .collect(),
        metadata: Vec::new(),
    }
}

/// Every sample the engine holds, by series name, merged across sources
/// with the same precedence a query uses.
async fn contents(engine: &MetricsEngine) -> BTreeMap<String, Vec<(i64, u64)>> {
    let snap = engine.snapshot();
    let mut out: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    let name_of = |id| {
        engine
            .index()
            .get(id)
            .map(|e| e.metric_name().to_owned())
            .unwrap()
    };
    let mut parts = (*snap.parts).clone();
    parts.sort_by_key(|p| p.id);
    for p in &parts {
        let mut r = SampleRunReader::open(engine.store(), SIGNAL, p)
            .await
            .unwrap();
        while let Some(run) = r.next_run().await.unwrap() {
            let m = out.entry(name_of(run.id)).or_default();
            for (t, v) in run.ts.iter().zip(&run.values) {
                m.insert(*t, v.to_bits());
            }
        }
    }
    for h in &snap.heads {
        for s in h.snapshot(i64::MIN, i64::MAX) {
            let m = out.entry(s.entry.metric_name().to_owned()).or_default();
            for (t, v) in s.ts.iter().zip(&s.values) {
                m.insert(*t, v.to_bits());
            }
        }
    }
    out.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

#[tokio::test]
async fn wal_replay_restores_unflushed_samples() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let stale = f64::from_bits(STALE_NAN_BITS);
    engine
        .append(write(&[
            ("a", &[(1, 1.0), (2, stale)]),
            ("b", &[(1, f64::INFINITY)]),
        ]))
        .unwrap();
    let before = contents(&engine).await;
    engine.close().unwrap();
    drop(engine);
    let engine = open(dir.path()).await;
    assert_eq!(contents(&engine).await, before);
    assert_eq!(before["a"][1].1, STALE_NAN_BITS);
    assert_eq!(engine.index().len(), 2);
}

#[tokio::test]
async fn flush_then_restart_reads_parts_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let t0 = DAY * DAY_MS;
    engine
        .append(write(&[("a", &[(t0, 1.0), (t0 + 15_000, 2.0)])]))
        .unwrap();
    // Crosses midnight, so the flush writes one part per day.
    engine
        .append(write(&[(
            "b",
            &[(t0 + DAY_MS - 1, 3.0), (t0 + DAY_MS, 4.0)],
        )]))
        .unwrap();
    let report = engine.flush().await.unwrap();
    assert_eq!(report.parts.len(), 2);
    assert_eq!(report.samples, 4);
    engine
        .append(write(&[("a", &[(t0 + 30_000, 5.0)])]))
        .unwrap();
    let before = contents(&engine).await;
    drop(engine);

    let engine = open(dir.path()).await;
    assert_eq!(contents(&engine).await, before);
    let a = engine
        .index()
        .get(
            Labels::from_pairs([("__name__", "a"), ("job", "t")])
                .unwrap()
                .series_id(),
        )
        .unwrap();
    assert_eq!((a.min_ts(), a.max_ts()), (t0, t0 + 30_000));
    // WAL segments covered by the flush are gone.
    let segs = crate::wal::list_segments(&dir.path().join("wal")).unwrap();
    assert!(segs.len() <= 2, "{segs:?}");
}

#[tokio::test]
async fn compaction_merges_a_day_and_last_write_wins() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let t0 = DAY * DAY_MS;
    engine
        .append(write(&[
            ("a", &[(t0, 1.0), (t0 + 10, 2.0)]),
            ("b", &[(t0, 9.0)]),
        ]))
        .unwrap();
    engine.flush().await.unwrap();
    // Rewrites t0+10 (within the out-of-order window) and adds a sample.
    engine
        .append(write(&[("a", &[(t0 + 10, 20.0), (t0 + 20, 3.0)])]))
        .unwrap();
    engine.flush().await.unwrap();
    assert_eq!(engine.snapshot().parts.len(), 2);
    let before = contents(&engine).await;
    assert_eq!(
        before["a"],
        vec![
            (t0, 1f64.to_bits()),
            (t0 + 10, 20f64.to_bits()),
            (t0 + 20, 3f64.to_bits())
        ]
    );
    assert_eq!(engine.compact(true).await.unwrap(), 1);
    let parts = engine.snapshot().parts;
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].level, 1);
    assert_eq!(parts[0].rows, 4);
    assert_eq!(contents(&engine).await, before);
    // The inputs' files outlive them for queries that listed them before.
    let samples_files = || {
        walk(&dir.path().join("parts/metrics"))
            .iter()
            .filter(|f| f.ends_with("samples.parquet"))
            .count()
    };
    assert_eq!(samples_files(), 3);
    engine.maintain().await;
    assert_eq!(samples_files(), 3);
    drop(engine);
    let engine = open(dir.path()).await;
    assert_eq!(contents(&engine).await, before);
    // Reopening removes them.
    let files: Vec<_> = walk(&dir.path().join("parts/metrics"));
    assert_eq!(
        files
            .iter()
            .filter(|f| f.ends_with("samples.parquet"))
            .count(),
        1,
        "{files:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path().display().to_string());
        }
    }
    out
}

#[tokio::test]
async fn out_of_order_beyond_window_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.out_of_order_window_ms = 100;
    let engine = open_with(o).await;
    engine.append(write(&[("a", &[(1000, 1.0)])])).unwrap();
    let out = engine
        .append(write(&[("a", &[(950, 2.0), (800, 3.0), (1100, 4.0)])]))
        .unwrap();
    assert_eq!(out.samples_written, 2);
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].reason, "out_of_order");
    assert_eq!(out.rejected[0].samples, 1);
    assert_eq!(contents(&engine).await["a"].len(), 3);
}

#[tokio::test]
async fn over_budget_refuses_without_growing() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.head_memory_limit = 1;
    let engine = open_with(o).await;
    engine.append(write(&[("a", &[(1, 1.0)])])).unwrap();
    let err = engine.append(write(&[("a", &[(2, 1.0)])])).unwrap_err();
    assert!(matches!(err, crate::Error::OverBudget { .. }));
    engine.flush().await.unwrap();
    engine.append(write(&[("a", &[(2, 1.0)])])).unwrap();
}

#[tokio::test]
async fn retention_drops_old_days_and_their_series() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.retention.max_age_ms = Some(DAY_MS);
    let engine = open_with(o).await;
    engine
        .append(write(&[("old", &[(DAY * DAY_MS, 1.0)])]))
        .unwrap();
    engine
        .append(write(&[("new", &[((DAY + 2) * DAY_MS, 1.0)])]))
        .unwrap();
    engine.flush().await.unwrap();
    let dropped = engine
        .apply_retention((DAY + 2) * DAY_MS + 5)
        .await
        .unwrap();
    assert_eq!(dropped, vec![DAY]);
    assert_eq!(engine.snapshot().parts.len(), 1);
    assert_eq!(engine.index().len(), 1);
    assert_eq!(
        contents(&engine).await.keys().collect::<Vec<_>>(),
        vec!["new"]
    );
}

#[tokio::test]
async fn orphaned_part_files_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    engine
        .append(write(&[("a", &[(DAY * DAY_MS, 1.0)])]))
        .unwrap();
    engine.flush().await.unwrap();
    drop(engine);
    let orphan = dir
        .path()
        .join("parts/metrics/day=2024-10-04/p00000000000000ff");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("samples.parquet"), b"half a file").unwrap();
    let engine = open(dir.path()).await;
    assert!(!orphan.join("samples.parquet").exists());
    assert_eq!(contents(&engine).await["a"].len(), 1);
}

#[tokio::test]
async fn metadata_survives_flush_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let meta = MetricMetadata {
        metric_family_name: "a".into(),
        metric_type: MetricType::Counter,
        help: "things".into(),
        unit: "".into(),
    };
    engine
        .append(MetricsWrite {
            series: Vec::new(),
            metadata: vec![meta.clone(), meta.clone()],
        })
        .unwrap();
    assert_eq!(engine.metadata()["a"], vec![meta.clone()]);
    drop(engine);
    let engine = open(dir.path()).await;
    assert_eq!(engine.metadata()["a"], vec![meta.clone()]);
    engine.flush().await.unwrap();
    drop(engine);
    let engine = open(dir.path()).await;
    assert_eq!(engine.metadata()["a"], vec![meta]);
}

#[tokio::test]
async fn a_big_head_asks_for_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.head_flush_bytes = 4096;
    o.flush_interval = std::time::Duration::from_secs(3600);
    let engine = open_with(o).await;
    engine.append(write(&[("a", &[(1, 1.0)])])).unwrap();
    assert!(!engine.flush_due(), "a tiny head is not due yet");
    let samples: Vec<(i64, f64)> = (0..1000).map(|i| (i + 2, i as f64)).collect();
    engine.append(write(&[("a", &samples)])).unwrap();
    assert!(engine.flush_due());
    // The append left a wake-up for the upkeep loop; it completes at once.
    tokio::time::timeout(std::time::Duration::from_secs(30), engine.flush_wanted())
        .await
        .expect("append should have asked for a flush");
    engine.maintain().await;
    assert!(!engine.flush_due());
    assert_eq!(engine.snapshot().parts.len(), 1);
}

/// A flush that runs while a compaction merges must neither wait for it
/// nor lose or resurrect anything: both commit, and every sample stays,
/// newest value winning.
#[tokio::test]
async fn flush_during_compaction_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    for round in 0..4i64 {
        let samples: Vec<(i64, f64)> = (0..500).map(|i| (round * 500 + i, i as f64)).collect();
        engine
            .append(write(&[("a", &samples), ("b", &samples)]))
            .unwrap();
        engine.flush().await.unwrap();
    }
    // An overwrite of an already flushed sample, still in the head.
    engine.append(write(&[("a", &[(10, 99.0)])])).unwrap();
    let before = contents(&engine).await;
    let (compacted, flushed) = tokio::join!(engine.compact(true), engine.flush());
    compacted.unwrap();
    flushed.unwrap();
    assert_eq!(contents(&engine).await, before);
    engine.compact(true).await.unwrap();
    assert_eq!(contents(&engine).await, before);
    assert_eq!(engine.snapshot().parts.len(), 1);
    let a = &before["a"];
    assert!(a.contains(&(10, 99f64.to_bits())));
}
