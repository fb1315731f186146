use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::traces_model::{SpanRow, TracesWrite};

const T0: i64 = 1_700_000_000_000_000_000;
const S: i64 = 1_000_000_000;

fn trace_id(n: u32) -> [u8; 16] {
    let mut id = [0xab; 16];
    // Spread ids over the whole range, as random ids are.
    id[..4].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_be_bytes());
    id[12..].copy_from_slice(&n.to_be_bytes());
    id
}

fn span(trace: u32, id: u8, start: i64) -> SpanRow {
    SpanRow {
        trace_id: trace_id(trace),
        span_id: [id; 8],
        parent_span_id: if id == 1 { [0; 8] } else { [1; 8] },
        start_ns: start,
        duration_ns: i64::from(id) * 1_000,
        service_name: if id.is_multiple_of(2) { "db" } else { "api" }.into(),
        name: format!("op{}", id % 3),
        kind: 2,
        status_code: i32::from(id.is_multiple_of(3)) * 2,
        span: Bytes::from(format!("span {trace}/{id} \u{0}\u{ff}").into_bytes()),
        resource: Bytes::from_static(b"resource: service.name=api"),
    }
}

fn write(spans: Vec<SpanRow>) -> TracesWrite {
    TracesWrite { spans }
}

async fn open(dir: &std::path::Path) -> Arc<TracesEngine> {
    open_with(dir, TracesOptions::new(dir)).await
}

async fn open_with(dir: &std::path::Path, opts: TracesOptions) -> Arc<TracesEngine> {
    let store = DataStore::local(&dir.join("data")).unwrap();
    TracesEngine::open(opts, store, StorageMetrics::default())
        .await
        .unwrap()
        .0
}

fn ids(spans: &[SpanRow]) -> Vec<(u8, i64)> {
    spans.iter().map(|s| (s.span_id[0], s.start_ns)).collect()
}

#[tokio::test]
async fn spans_read_back_from_head_then_parts_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let spans = vec![span(1, 2, T0 + 2 * S), span(1, 1, T0 + S), span(2, 1, T0)];
    let out = engine.append(write(spans.clone())).unwrap();
    assert_eq!(out.spans_written, 3);
    let from_head = engine.trace_by_id(trace_id(1), None).await.unwrap();
    assert_eq!(from_head, vec![spans[1].clone(), spans[0].clone()]);
    engine.flush().await.unwrap();
    assert_eq!(engine.parts().len(), 1);
    let lookup = engine.lookup_trace(trace_id(1), None).await.unwrap();
    assert_eq!(lookup.spans, from_head);
    assert_eq!(lookup.stats.parts_opened, 1);
    assert_eq!(lookup.stats.head_rows_read, 0);
    assert_eq!(
        engine.trace_by_id(trace_id(2), None).await.unwrap(),
        vec![spans[2].clone()]
    );
    assert!(
        engine
            .trace_by_id(trace_id(3), None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_trace_spread_over_head_and_two_parts_is_merged() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    engine.append(write(vec![span(7, 1, T0)])).unwrap();
    engine.flush().await.unwrap();
    engine
        .append(write(vec![span(7, 2, T0 + S), span(8, 1, T0)]))
        .unwrap();
    engine.flush().await.unwrap();
    engine.append(write(vec![span(7, 3, T0 + 2 * S)])).unwrap();
    assert_eq!(engine.parts().len(), 2);
    let lookup = engine.lookup_trace(trace_id(7), None).await.unwrap();
    assert_eq!(
        ids(&lookup.spans),
        vec![(1, T0), (2, T0 + S), (3, T0 + 2 * S)]
    );
    assert_eq!(lookup.stats.parts_opened, 2);
    assert_eq!(lookup.stats.head_rows_read, 1);
    let ranged = engine
        .trace_by_id(trace_id(7), Some((T0 + S, T0 + S)))
        .await
        .unwrap();
    assert_eq!(ids(&ranged), vec![(2, T0 + S)]);
}

#[tokio::test]
async fn a_trace_lookup_opens_only_the_part_that_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    for part in 0..6u32 {
        let spans: Vec<SpanRow> = (0..2_000u32)
            .flat_map(|t| {
                let trace = part * 10_000 + t;
                (1..=3).map(move |i| span(trace, i, T0 + i64::from(part) * S))
            })
            .collect();
        engine.append(write(spans)).unwrap();
        engine.flush().await.unwrap();
    }
    assert_eq!(engine.parts().len(), 6);
    let wanted = trace_id(3 * 10_000 + 1_234);
    let first = engine.lookup_trace(wanted, None).await.unwrap();
    assert_eq!(first.spans.len(), 3);
    assert_eq!(first.stats.parts_considered, 6);
    assert_eq!(first.stats.parts_opened, 1, "{:?}", first.stats);
    assert_eq!(first.stats.parts_pruned, 5);
    // Footers and bloom filters are cached: the second lookup fetches only
    // the page holding the trace in each of the 11 columns, plus the
    // dictionary pages of the 5 dictionary-encoded ones.
    let again = engine.lookup_trace(wanted, None).await.unwrap();
    assert_eq!(again.spans, first.spans);
    assert!(again.stats.rows_read <= 4 * 1024, "{:?}", again.stats);
    assert!(again.stats.requests <= 16, "{:?}", again.stats);
    let part_bytes = engine.parts()[3].bytes;
    assert!(again.stats.bytes_read * 2 < part_bytes, "{:?}", again.stats);
    // A time range skips parts without opening their footers.
    let ranged = engine
        .lookup_trace(wanted, Some((T0 + 3 * S, T0 + 3 * S)))
        .await
        .unwrap();
    assert_eq!(ranged.stats.parts_considered, 1);
    assert_eq!(ranged.spans.len(), 3);
}

#[tokio::test]
async fn a_resent_span_is_returned_once() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let batch = vec![span(1, 1, T0), span(1, 2, T0 + S)];
    engine.append(write(batch.clone())).unwrap();
    engine.append(write(batch.clone())).unwrap();
    assert_eq!(
        engine.trace_by_id(trace_id(1), None).await.unwrap().len(),
        2
    );
    let scan = engine
        .scan(T0, T0 + S, &SpanFilter::new(100))
        .await
        .unwrap();
    assert_eq!(scan.spans.len(), 2);
    engine.flush().await.unwrap();
    assert_eq!(engine.parts()[0].rows, 2);
    engine.append(write(batch.clone())).unwrap();
    engine.flush().await.unwrap();
    assert_eq!(
        engine.trace_by_id(trace_id(1), None).await.unwrap().len(),
        2
    );
    let scan = engine
        .scan(T0, T0 + S, &SpanFilter::new(100))
        .await
        .unwrap();
    assert_eq!(scan.spans.len(), 2);
    engine.compact(true).await.unwrap();
    assert_eq!(engine.parts().len(), 1);
    assert_eq!(engine.parts()[0].rows, 2);
}

#[tokio::test]
async fn acknowledged_spans_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    engine.append(write(vec![span(1, 1, T0)])).unwrap();
    engine.flush().await.unwrap();
    engine
        .append(write(vec![span(1, 2, T0 + S), span(2, 1, T0)]))
        .unwrap();
    // No close: what a kill leaves (the WAL is written, maybe not synced;
    // the page cache keeps it across a process crash).
    drop(engine);
    let engine = open(dir.path()).await;
    assert_eq!(
        ids(&engine.trace_by_id(trace_id(1), None).await.unwrap()),
        vec![(1, T0), (2, T0 + S)]
    );
    assert_eq!(
        engine.trace_by_id(trace_id(2), None).await.unwrap().len(),
        1
    );
    assert!(engine.head_bytes() > 0);
}

#[tokio::test]
async fn compaction_merges_parts_and_reads_stay_identical() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    for round in 0..3u8 {
        let spans = (0..50)
            .map(|t| span(t, round + 1, T0 + i64::from(t) * S))
            .collect();
        engine.append(write(spans)).unwrap();
        engine.flush().await.unwrap();
    }
    let before: Vec<Vec<SpanRow>> = {
        let mut all = Vec::new();
        for t in 0..50 {
            all.push(engine.trace_by_id(trace_id(t), None).await.unwrap());
        }
        all
    };
    let scan_before = engine
        .scan(T0, T0 + 100 * S, &SpanFilter::new(1000))
        .await
        .unwrap();
    assert_eq!(engine.compact(true).await.unwrap(), 1);
    assert_eq!(engine.parts().len(), 1);
    assert_eq!(engine.parts()[0].level, 1);
    for t in 0..50 {
        assert_eq!(
            engine.trace_by_id(trace_id(t), None).await.unwrap(),
            before[t as usize]
        );
    }
    let scan_after = engine
        .scan(T0, T0 + 100 * S, &SpanFilter::new(1000))
        .await
        .unwrap();
    let sorted = |mut v: Vec<SpanRow>| {
        super::head::sort_dedup(&mut v);
        v
    };
    assert_eq!(sorted(scan_after.spans), sorted(scan_before.spans));
    engine.close().unwrap();
    drop(engine);
    let engine = open(dir.path()).await;
    assert_eq!(
        engine.trace_by_id(trace_id(9), None).await.unwrap(),
        before[9]
    );
}

#[tokio::test]
async fn retention_drops_old_days() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    engine
        .append(write(vec![
            span(1, 1, T0),
            span(2, 1, T0 + 3 * crate::part::DAY_NS),
        ]))
        .unwrap();
    engine.flush().await.unwrap();
    assert_eq!(engine.parts().len(), 2);
    let now_ms = (T0 + 3 * crate::part::DAY_NS) / 1_000_000 + 15 * 86_400_000 - 86_400_000;
    let dropped = engine.apply_retention(now_ms).await.unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(engine.parts().len(), 1);
    assert!(
        engine
            .trace_by_id(trace_id(1), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        engine.trace_by_id(trace_id(2), None).await.unwrap().len(),
        1
    );
    assert_eq!(engine.services(Some((T0, T0 + S))), Vec::<String>::new());
}

#[tokio::test]
async fn bad_spans_are_rejected_one_by_one_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let mut no_trace = span(1, 1, T0);
    no_trace.trace_id = [0; 16];
    let mut no_id = span(1, 2, T0);
    no_id.span_id = [0; 8];
    let mut negative = span(1, 3, T0);
    negative.duration_ns = -5;
    let out = engine
        .append(write(vec![no_trace, span(1, 4, T0), no_id, negative]))
        .unwrap();
    assert_eq!(out.spans_written, 1);
    let reasons: Vec<&str> = out.rejected.iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        vec!["invalid_trace_id", "invalid_span_id", "negative_duration"]
    );
    assert!(
        out.rejected[2].detail.contains("0303030303030303"),
        "{}",
        out.rejected[2].detail
    );
    assert_eq!(
        ids(&engine.trace_by_id(trace_id(1), None).await.unwrap()),
        vec![(4, T0)]
    );
}

#[tokio::test]
async fn scans_filter_by_service_name_duration_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let spans: Vec<SpanRow> = (0..20)
        .flat_map(|t| (1..=6).map(move |i| span(t, i, T0 + i64::from(t) * S)))
        .collect();
    engine.append(write(spans[..60].to_vec())).unwrap();
    engine.flush().await.unwrap();
    engine.append(write(spans[60..].to_vec())).unwrap();
    for flushed in [false, true] {
        if flushed {
            engine.flush().await.unwrap();
        }
        let mut f = SpanFilter::new(1000);
        f.service_names = Some(vec!["db".into()]);
        let got = engine.scan(T0 + 5 * S, T0 + 14 * S, &f).await.unwrap();
        assert_eq!(got.spans.len(), 10 * 3, "{:?}", got.stats);
        assert!(got.spans.iter().all(|s| s.service_name == "db"));
        assert!(!got.stats.truncated);

        f.span_names = Some(vec!["op0".into()]);
        f.min_duration_ns = Some(4_000);
        let got = engine.scan(T0, T0 + 100 * S, &f).await.unwrap();
        assert_eq!(got.spans.len(), 20, "span 6 of each trace only");
        assert!(got.spans.iter().all(|s| s.span_id == [6; 8]));

        let mut few = SpanFilter::new(7);
        few.min_duration_ns = Some(1);
        let got = engine.scan(T0, T0 + 100 * S, &few).await.unwrap();
        assert_eq!(got.spans.len(), 7);
        assert!(got.stats.truncated);
    }
    // A part with no matching service is not opened.
    let mut f = SpanFilter::new(10);
    f.service_names = Some(vec!["nobody".into()]);
    let got = engine.scan(T0, T0 + 100 * S, &f).await.unwrap();
    assert!(got.spans.is_empty());
    assert_eq!(got.stats.parts_opened, 0);
    assert_eq!(got.stats.parts_pruned, 2);
}

#[tokio::test]
async fn services_and_span_names_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    engine
        .append(write(vec![span(1, 1, T0), span(1, 2, T0 + 10 * S)]))
        .unwrap();
    engine.flush().await.unwrap();
    engine.append(write(vec![span(2, 3, T0 + 20 * S)])).unwrap();
    let check = |engine: &TracesEngine| {
        assert_eq!(engine.services(None), vec!["api", "db"]);
        assert_eq!(engine.services(Some((T0 + 5 * S, T0 + 15 * S))), vec!["db"]);
        assert_eq!(engine.span_names(None, None), vec!["op0", "op1", "op2"]);
        assert_eq!(engine.span_names(Some("api"), None), vec!["op0", "op1"]);
        assert_eq!(
            engine.span_names(Some("api"), Some((T0 + 15 * S, T0 + 25 * S))),
            vec!["op0"]
        );
    };
    check(&engine);
    engine.close().unwrap();
    drop(engine);
    let engine = open(dir.path()).await;
    check(&engine);
    engine.flush().await.unwrap();
    check(&engine);
}

#[tokio::test]
async fn appends_are_refused_over_budget_and_after_close() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = TracesOptions::new(dir.path());
    opts.head_memory_limit = 1;
    let engine = open_with(dir.path(), opts).await;
    engine.append(write(vec![span(1, 1, T0)])).unwrap();
    assert!(engine.flush_due());
    let err = engine.append(write(vec![span(1, 2, T0)])).unwrap_err();
    assert!(matches!(err, crate::Error::OverBudget { .. }), "{err}");
    engine.flush().await.unwrap();
    engine.append(write(vec![span(1, 2, T0)])).unwrap();
    engine.close().unwrap();
    let err = engine.append(write(vec![span(1, 3, T0)])).unwrap_err();
    assert!(matches!(err, crate::Error::ShuttingDown), "{err}");
}

fn arb_span() -> impl Strategy<Value = SpanRow> {
    (
        (any::<[u8; 16]>(), any::<[u8; 8]>(), any::<[u8; 8]>()),
        (T0 - 2 * crate::part::DAY_NS..T0, 0..i64::MAX),
        ("[a-z]{0,3}", ".{0,8}", any::<i32>(), any::<i32>()),
        (
            proptest::collection::vec(any::<u8>(), 0..64),
            prop::sample::select(vec![&b""[..], &b"r1"[..], &b"\x00\xffr2"[..]]),
        ),
    )
        .prop_map(
            |((t, s, p), (start, dur), (svc, name, kind, status), (blob, res))| SpanRow {
                trace_id: if t == [0; 16] { [1; 16] } else { t },
                span_id: if s == [0; 8] { [1; 8] } else { s },
                parent_span_id: p,
                start_ns: start,
                duration_ns: dur,
                service_name: svc,
                name,
                kind,
                status_code: status,
                span: Bytes::from(blob),
                resource: Bytes::from_static(res),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn random_spans_flushed_read_back_byte_identical(
        spans in proptest::collection::vec(arb_span(), 1..60)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let engine = open(dir.path()).await;
            engine.append(write(spans.clone())).unwrap();
            engine.flush().await.unwrap();
            let mut expected = spans.clone();
            super::head::sort_dedup(&mut expected);
            let mut got = Vec::new();
            let mut traces: Vec<[u8; 16]> = expected.iter().map(|s| s.trace_id).collect();
            traces.dedup();
            for t in traces {
                got.extend(engine.trace_by_id(t, None).await.unwrap());
            }
            super::head::sort_dedup(&mut got);
            assert_eq!(got, expected);
            let all = engine
                .scan(i64::MIN, i64::MAX, &SpanFilter::new(usize::MAX - 1))
                .await
                .unwrap();
            let mut scanned = all.spans;
            super::head::sort_dedup(&mut scanned);
            assert_eq!(scanned, expected);
        });
    }
}

/// DESIGN's bar for trace lookups: a million spans in a few dozen parts,
/// and a lookup still reads a handful of pages. Slow in a debug build, so
/// run on demand: `cargo nextest run -p hearth-storage --run-ignored only`.
#[tokio::test]
#[ignore]
async fn a_million_spans_in_32_parts_cost_a_lookup_a_handful_of_pages() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path()).await;
    let (parts, traces_per_part, spans_per_trace) = (32u32, 3_125u32, 10u8);
    for part in 0..parts {
        let spans: Vec<SpanRow> = (0..traces_per_part)
            .flat_map(|t| {
                let trace = part * 1_000_000 + t;
                (1..=spans_per_trace).map(move |i| {
                    let mut s = span(trace, i, T0 + i64::from(part) * S + i64::from(i));
                    s.span = Bytes::from(vec![i; 200]);
                    s
                })
            })
            .collect();
        engine.append(write(spans)).unwrap();
        engine.flush().await.unwrap();
    }
    let total: u64 = engine.parts().iter().map(|p| p.rows).sum();
    assert_eq!(total, 1_000_000);
    let wanted = trace_id(17 * 1_000_000 + 2_000);
    let cold = engine.lookup_trace(wanted, None).await.unwrap();
    let warm = engine.lookup_trace(wanted, None).await.unwrap();
    eprintln!("cold: {:?}\nwarm: {:?}", cold.stats, warm.stats);
    assert_eq!(warm.spans.len(), usize::from(spans_per_trace));
    assert_eq!(warm.stats.parts_opened, 1, "{:?}", warm.stats);
    // A page per column (two where the trace straddles a page boundary)
    // plus five dictionary pages.
    assert!(warm.stats.requests <= 2 * 11 + 5, "{:?}", warm.stats);
}
