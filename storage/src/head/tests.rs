use std::sync::Arc;

use super::*;
use crate::model::{Labels, Sample};
use crate::postings::SeriesIndex;

fn entry(idx: &SeriesIndex, name: &str) -> Arc<SeriesEntry> {
    idx.get_or_insert(&Labels::from_pairs([("__name__", name)]).unwrap())
        .unwrap()
}

fn s(ts: i64, value: f64) -> Sample {
    Sample { ts, value }
}

#[test]
fn out_of_order_inserts_and_last_write_wins() {
    let idx = SeriesIndex::new();
    let e = entry(&idx, "a");
    let head = Head::new();
    head.append(&e, &[s(10, 1.0), s(30, 3.0)]);
    head.append(&e, &[s(20, 2.0), s(30, 33.0)]);
    let got = head.samples(e.id, 0, 100);
    assert_eq!(got, (vec![10, 20, 30], vec![1.0, 2.0, 33.0]));
    assert_eq!(head.sample_count(), 3);
    assert_eq!(head.time_range(), Some((10, 30)));
    assert_eq!((e.min_ts(), e.max_ts()), (10, 30));
}

#[test]
fn snapshot_is_sorted_by_series_and_bounded() {
    let idx = SeriesIndex::new();
    let head = Head::new();
    for name in ["a", "b", "c", "d"] {
        head.append(&entry(&idx, name), &[s(1, 1.0), s(5, 5.0)]);
    }
    let snap = head.snapshot(2, 10);
    assert_eq!(snap.len(), 4);
    assert!(snap.windows(2).all(|w| w[0].entry.id < w[1].entry.id));
    assert!(snap.iter().all(|s| s.ts == vec![5]));
}

#[test]
fn stale_marker_bits_survive() {
    let idx = SeriesIndex::new();
    let e = entry(&idx, "a");
    let head = Head::new();
    let stale = f64::from_bits(crate::model::STALE_NAN_BITS);
    head.append(&e, &[s(1, stale)]);
    assert_eq!(
        head.samples(e.id, 0, 2).1[0].to_bits(),
        crate::model::STALE_NAN_BITS
    );
}
