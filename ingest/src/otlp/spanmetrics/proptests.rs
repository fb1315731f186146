//! Random span batches: the generator never panics and every series it
//! writes is well formed.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};
use proptest::prelude::*;

use super::tests::{NOW, req, series, span, with_attrs};
use super::*;

fn arb_span() -> impl Strategy<Value = (usize, Span)> {
    let kinds = prop_oneof![
        Just(SpanKind::Server),
        Just(SpanKind::Client),
        Just(SpanKind::Producer),
        Just(SpanKind::Consumer),
        Just(SpanKind::Internal),
        Just(SpanKind::Unspecified),
    ];
    let attrs = proptest::collection::vec(
        (
            prop_oneof![
                Just("peer.service"),
                Just("db.system"),
                Just("server.address"),
                Just("x")
            ],
            prop_oneof![Just(""), Just("p"), Just("q")],
        ),
        0..3,
    );
    (
        0usize..3,
        kinds,
        0u8..3,
        0u8..4,
        0u8..4,
        0i64..40_000,
        0u64..20_000,
        0i32..4,
        attrs,
        prop_oneof![Just("GET /"), Just("q"), Just("")],
    )
        .prop_map(
            |(svc, kind, trace, id, parent, end_off, dur, status, attrs, name)| {
                let mut s = span(name, kind, trace, id, parent, NOW + end_off, 0);
                s.start_time_unix_nano = s.end_time_unix_nano.saturating_sub(dur * 1_000_000);
                if status < 3 {
                    s.status = Some(Status {
                        code: status,
                        message: "m".into(),
                    });
                }
                if id == 0 {
                    s.span_id.clear();
                }
                (svc, with_attrs(s, &attrs))
            },
        )
}

proptest! {
    #[test]
    fn random_batches_keep_series_sound(
        batches in proptest::collection::vec((0i64..15_000, proptest::collection::vec(arb_span(), 0..12)), 1..8),
        max_series in 0usize..200,
        max_pending in 0usize..4,
    ) {
        let mut g = SpanMetricsGenerator::new(SpanMetricsOptions {
            max_series,
            max_pending_edges: max_pending,
            messaging_system_latency_histogram: true,
            ..Default::default()
        });
        let services = ["a", "b", ""];
        let mut now = NOW;
        let mut last: BTreeMap<String, (i64, f64)> = BTreeMap::new();
        for (step, spans) in batches {
            now += step;
            let mut groups: Vec<(&str, Vec<Span>)> = services.iter().map(|s| (*s, Vec::new())).collect();
            for (svc, s) in spans {
                groups[svc].1.push(s);
            }
            let w = g.observe(&req(groups), now);
            let got = series(&w);
            for s in &w.series {
                prop_assert!(!s.labels.metric_name().is_empty());
                prop_assert!(s.labels.as_slice().iter().all(|l| !l.name.is_empty() && !l.value.is_empty()));
                prop_assert!(s.samples.windows(2).all(|p| p[0].ts < p[1].ts));
            }
            // Every histogram: buckets cumulative in `le` order, +Inf = _count.
            for (key, samples) in &got {
                let Some(rest) = key.strip_suffix('}') else { continue };
                let Some((name, labels)) = rest.split_once('{') else { continue };
                let Some(family) = name.strip_suffix("_count") else { continue };
                let count = samples.last().map(|s| s.1).unwrap_or(-1.0);
                let mut buckets: Vec<(f64, f64)> = got
                    .iter()
                    .filter_map(|(k, v)| {
                        let inner = k.strip_prefix(&format!("{family}_bucket{{"))?.strip_suffix('}')?;
                        let mut le = None;
                        let others: Vec<&str> = inner
                            .split(", ")
                            .filter(|p| match p.strip_prefix("le=") {
                                Some(x) => { le = Some(x.trim_matches('"')); false }
                                None => true,
                            })
                            .collect();
                        (others.join(", ") == labels).then_some(())?;
                        let le = le?;
                        let bound = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
                        Some((bound, v.last()?.1))
                    })
                    .collect();
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                prop_assert!(!buckets.is_empty(), "{family} has no buckets");
                prop_assert!(buckets.windows(2).all(|p| p[0].1 <= p[1].1), "{key}: {buckets:?}");
                prop_assert_eq!(buckets.last().map(|b| (b.0, b.1)), Some((f64::INFINITY, count)));
            }
            // Counters only grow while their series lives (forgetting needs
            // 15 idle minutes, which these runs never reach).
            for (k, v) in got {
                let Some(&cur) = v.last() else { continue };
                if let Some(&(ts, prev)) = last.get(&k) {
                    prop_assert!(cur.0 > ts && cur.1 >= prev, "{k}: {prev} -> {cur:?}");
                }
                last.insert(k, cur);
            }
            let st = g.stats();
            prop_assert!(st.active_series <= max_series);
            prop_assert!(st.pending_edges <= max_pending);
        }
    }
}
