use std::fs::OpenOptions;
use std::io::Write;

use proptest::prelude::*;

use super::*;
use crate::model::*;

fn write_of(n: usize) -> MetricsWrite {
    MetricsWrite {
        series: (0..n)
            .map(|i| SeriesWrite {
                labels: Labels::from_pairs([("__name__", "m"), ("i", &i.to_string())]).unwrap(),
                samples: vec![Sample {
                    ts: i as i64,
                    value: f64::from_bits(STALE_NAN_BITS),
                }],
                exemplars: vec![Exemplar {
                    labels: vec![Label::new("trace_id", "abc")],
                    ts: 5,
                    value: 1.5,
                }],
            })
            .collect(),
        metadata: vec![MetricMetadata {
            metric_family_name: "m".into(),
            metric_type: MetricType::Counter,
            help: "help".into(),
            unit: "".into(),
        }],
    }
}

fn payload(w: &MetricsWrite) -> Vec<u8> {
    let mut buf = Vec::new();
    encode_record(&WalRecord::Metrics(w.clone()), &mut buf);
    buf
}

fn replay_all(dir: &std::path::Path) -> (Vec<WalRecord>, ReplayReport) {
    let mut out = Vec::new();
    let report = replay_dir(dir, 0, |p| {
        out.push(decode_record(p).unwrap());
        Ok(())
    })
    .unwrap();
    (out, report)
}

fn same_bits(a: &WalRecord, b: &WalRecord) -> bool {
    let (WalRecord::Metrics(a), WalRecord::Metrics(b)) = (a, b) else {
        return a == b;
    };
    a.series.len() == b.series.len()
        && a.series.iter().zip(&b.series).all(|(x, y)| {
            x.labels == y.labels
                && x.samples.len() == y.samples.len()
                && x.samples
                    .iter()
                    .zip(&y.samples)
                    .all(|(s, t)| s.ts == t.ts && s.value.to_bits() == t.value.to_bits())
        })
        && a.metadata == b.metadata
}

#[test]
fn round_trip_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = WalWriter::open(dir.path(), FsyncPolicy::PerRequest).unwrap();
    let writes: Vec<_> = (1..5).map(write_of).collect();
    for (i, write) in writes.iter().enumerate() {
        w.append(&payload(write)).unwrap();
        if i == 1 {
            w.cut().unwrap();
        }
    }
    drop(w);
    let (got, report) = replay_all(dir.path());
    assert_eq!(report.segments, 2);
    assert_eq!(report.truncated_at, None);
    assert_eq!(got.len(), 4);
    for (g, w) in got.iter().zip(&writes) {
        assert!(same_bits(g, &WalRecord::Metrics(w.clone())));
    }
}

#[test]
fn torn_tail_is_truncated_and_writer_continues() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = WalWriter::open(dir.path(), FsyncPolicy::PerRequest).unwrap();
    w.append(&payload(&write_of(2))).unwrap();
    let seg = segment_path(dir.path(), w.current_segment());
    drop(w);
    let good_len = std::fs::metadata(&seg).unwrap().len();
    // Half a record: a crash in the middle of a write.
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    let mut framed = Vec::new();
    super::segment::frame_into(&mut framed, &payload(&write_of(3)));
    f.write_all(&framed[..framed.len() / 2]).unwrap();
    drop(f);

    let (got, report) = replay_all(dir.path());
    assert_eq!(got.len(), 1);
    assert_eq!(report.truncated_at, Some((1, good_len)));
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), good_len);

    let mut w = WalWriter::open(dir.path(), FsyncPolicy::PerRequest).unwrap();
    w.append(&payload(&write_of(1))).unwrap();
    drop(w);
    let (got, report) = replay_all(dir.path());
    assert_eq!(got.len(), 2);
    assert_eq!(report.truncated_at, None);
}

#[test]
fn corrupt_record_cuts_replay_and_drops_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = WalWriter::open(dir.path(), FsyncPolicy::PerRequest).unwrap();
    w.append(&payload(&write_of(1))).unwrap();
    w.append(&payload(&write_of(2))).unwrap();
    w.cut().unwrap();
    w.append(&payload(&write_of(3))).unwrap();
    drop(w);
    let seg = segment_path(dir.path(), 1);
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();

    let (got, report) = replay_all(dir.path());
    assert_eq!(got.len(), 1);
    assert_eq!(report.removed_segments, vec![2]);
    assert!(report.truncated_at.is_some());
}

#[test]
fn remove_before_keeps_newer_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = WalWriter::open(dir.path(), FsyncPolicy::default()).unwrap();
    w.cut().unwrap();
    let keep = w.cut().unwrap();
    w.remove_before(keep).unwrap();
    assert_eq!(list_segments(dir.path()).unwrap(), vec![keep]);
}

#[test]
fn decode_rejects_garbage_without_panicking() {
    assert!(decode_record(&[]).is_err());
    assert!(decode_record(&[9]).is_err());
    assert!(decode_record(&[1, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
}

proptest! {
    #[test]
    fn record_round_trip(
        series in prop::collection::vec(
            (prop::collection::btree_map("[a-z_]{1,8}", "[ -~]{1,12}", 1..5),
             prop::collection::vec((any::<i64>(), any::<u64>()), 0..20)),
            0..8),
        help in ".*",
    ) {
        let write = MetricsWrite {
            series: series.into_iter().map(|(labels, samples)| SeriesWrite {
                labels: Labels::new(labels.into_iter().map(|(n, v)| Label::new(n, v)).collect()).unwrap(),
                samples: samples.into_iter().map(|(ts, bits)| Sample { ts, value: f64::from_bits(bits) }).collect(),
                exemplars: Vec::new(),
            }).collect(),
            metadata: vec![MetricMetadata {
                metric_family_name: "x".into(),
                metric_type: MetricType::Gauge,
                help,
                unit: "seconds".into(),
            }],
        };
        let decoded = decode_record(&payload(&write)).unwrap();
        prop_assert!(same_bits(&decoded, &WalRecord::Metrics(write)));
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_record(&bytes);
    }
}

#[test]
fn logs_records_round_trip_byte_exact() {
    use crate::logs_model::{LogEntry, LogsWrite, StreamWrite};
    let write = LogsWrite {
        streams: vec![StreamWrite {
            labels: Labels::from_pairs([("app", "a")]).unwrap(),
            entries: vec![
                LogEntry {
                    ts_ns: -5,
                    line: bytes::Bytes::from_static(b"\xff\x00 multi\nline"),
                    structured_metadata: vec![crate::model::Label::new("trace_id", "t")],
                },
                LogEntry {
                    ts_ns: i64::MAX,
                    line: bytes::Bytes::new(),
                    structured_metadata: vec![],
                },
            ],
        }],
    };
    let record = WalRecord::Logs(write);
    let mut buf = Vec::new();
    crate::wal::encode_record(&record, &mut buf);
    assert_eq!(decode_record(&buf).unwrap(), record);
    for cut in 0..buf.len() {
        assert!(
            decode_record(&buf[..cut]).is_err(),
            "prefix of {cut} bytes decoded"
        );
    }
}

#[test]
fn traces_records_round_trip_sharing_resources_and_reject_any_prefix() {
    use crate::traces_model::{SpanRow, TracesWrite};
    let span = |i: u8, resource: &'static [u8]| SpanRow {
        trace_id: [i; 16],
        span_id: [i; 8],
        parent_span_id: [0; 8],
        start_ns: i64::from(i) - 3,
        duration_ns: i64::MAX,
        service_name: format!("svc{i}"),
        name: "ünïcode".into(),
        kind: -1,
        status_code: 2,
        span: bytes::Bytes::from(vec![i; usize::from(i)]),
        resource: bytes::Bytes::from_static(resource),
    };
    let write = TracesWrite {
        spans: vec![span(1, b"r1"), span(2, b""), span(3, b"r1"), span(0, b"")],
    };
    let record = WalRecord::Traces(write);
    let mut buf = Vec::new();
    crate::wal::encode_record(&record, &mut buf);
    assert_eq!(decode_record(&buf).unwrap(), record);
    let shared = buf.windows(2).filter(|w| w == b"r1").count();
    assert_eq!(shared, 1, "a resource repeated across spans is stored once");
    for cut in 0..buf.len() {
        assert!(
            decode_record(&buf[..cut]).is_err(),
            "prefix of {cut} bytes decoded"
        );
    }
}
