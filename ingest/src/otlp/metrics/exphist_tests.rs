#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Exponential histograms as classic buckets.

use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogramDataPoint, exponential_histogram_data_point::Buckets,
};

use super::exphist::classic_buckets;
use super::tests::{SEC, exp_histogram, render, request, svc};
use super::{TranslateOptions, translate};

#[test]
fn exponential_histogram_becomes_classic_buckets() {
    let p = ExponentialHistogramDataPoint {
        time_unix_nano: SEC,
        count: 8,
        sum: Some(20.0),
        scale: 0,
        zero_count: 1,
        positive: Some(Buckets {
            offset: 0,
            bucket_counts: vec![1, 2, 3],
        }),
        negative: Some(Buckets {
            offset: 0,
            bucket_counts: vec![1],
        }),
        ..Default::default()
    };
    let t = translate(
        &request(svc(), vec![exp_histogram("op.duration", vec![p])]),
        &TranslateOptions::default(),
    );
    let n = "op_duration_seconds";
    assert_eq!(
        render(&t),
        [
            format!(r#"{n}_bucket{{job="svc", le="+Inf"}} @1000 = 8"#),
            format!(r#"{n}_bucket{{job="svc", le="-1"}} @1000 = 1"#),
            format!(r#"{n}_bucket{{job="svc", le="2"}} @1000 = 3"#),
            format!(r#"{n}_bucket{{job="svc", le="4"}} @1000 = 5"#),
            format!(r#"{n}_bucket{{job="svc", le="8"}} @1000 = 8"#),
            format!(r#"{n}_count{{job="svc"}} @1000 = 8"#),
            format!(r#"{n}_sum{{job="svc"}} @1000 = 20"#),
        ]
    );
}

#[test]
fn fine_exponential_histogram_is_downscaled() {
    let p = ExponentialHistogramDataPoint {
        time_unix_nano: SEC,
        count: 1000,
        scale: 20,
        positive: Some(Buckets {
            offset: -500,
            bucket_counts: vec![1; 1000],
        }),
        ..Default::default()
    };
    let t = translate(
        &request(svc(), vec![exp_histogram("x", vec![p])]),
        &TranslateOptions::default(),
    );
    let mut buckets: Vec<(f64, f64)> = t
        .write
        .series
        .iter()
        .filter(|s| s.labels.metric_name() == "x_seconds_bucket")
        .map(|s| {
            let le = s.labels.get("le").unwrap();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, s.samples[0].value)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.len() <= 161, "{} buckets", buckets.len());
    assert!(buckets.len() > 100, "{} buckets", buckets.len());
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1));
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, 1000.0)));
    // 2^(-500/2^20) is just below 1: the lowest upper bound straddles 1.
    assert!(
        buckets[0].0 > 0.999 && buckets[0].0 < 1.001,
        "{:?}",
        buckets[0]
    );
}

#[test]
fn zero_and_negative_buckets_and_huge_bounds() {
    let point = |scale, zero_count, zero_threshold, pos: Option<Buckets>, neg: Option<Buckets>| {
        let count = zero_count
            + [&pos, &neg]
                .iter()
                .filter_map(|b| b.as_ref())
                .flat_map(|b| &b.bucket_counts)
                .sum::<u64>();
        ExponentialHistogramDataPoint {
            time_unix_nano: SEC,
            count,
            scale,
            zero_count,
            zero_threshold,
            positive: pos,
            negative: neg,
            ..Default::default()
        }
    };
    let buckets = |offset, bucket_counts: Vec<u64>| {
        Some(Buckets {
            offset,
            bucket_counts,
        })
    };
    // Only zeros: one bucket at the zero threshold.
    let only_zero = point(0, 3, 0.5, None, None);
    assert_eq!(classic_buckets(&only_zero), Ok(vec![(0.5, 3)]));
    // Negative values only: bounds -4 (values in [-8,-4)) and -2, then zeros.
    let negative = point(0, 1, 0.0, None, buckets(1, vec![1, 2]));
    assert_eq!(
        classic_buckets(&negative),
        Ok(vec![(-4.0, 2), (-2.0, 3), (0.0, 4)])
    );
    // Scale -10: base 2^1024. Bucket -1 ends at 2^0 = 1; bucket 0 would end
    // at 2^1024, past f64, so its count is left to the +Inf bucket.
    let coarse = point(-10, 0, 0.0, buckets(-1, vec![1, 1]), None);
    assert_eq!(classic_buckets(&coarse), Ok(vec![(1.0, 1)]));
    // Count that disagrees with the buckets is refused.
    let mut wrong = point(0, 0, 0.0, buckets(0, vec![1]), None);
    wrong.count = 2;
    assert!(classic_buckets(&wrong).is_err());
    let mut nan_threshold = point(0, 1, 0.0, None, None);
    nan_threshold.zero_threshold = f64::NAN;
    assert!(classic_buckets(&nan_threshold).is_err());
}
