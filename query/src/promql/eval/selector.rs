//! Instant vector selectors: the newest sample within the lookback window
//! `(t - lookback, t]`, unless it is a stale marker.

use hearth_storage::STALE_NAN_BITS;

use super::Evaluator;
use crate::promql::ast::Selector;
use crate::promql::value::Series;

/// Whether `v` is Prometheus' stale marker.
pub fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

impl Evaluator<'_> {
    /// Evaluates a selector at each step. With `timestamps`, the value is
    /// the chosen sample's time in seconds (what `timestamp()` reports).
    pub(super) fn instant_selector(
        &self,
        s: &Selector,
        steps: &[i64],
        timestamps: bool,
    ) -> Vec<Series> {
        let lookback = self.options.lookback_ms;
        let mut out = Vec::new();
        for raw in self.data.get(s.id).map(Vec::as_slice).unwrap_or_default() {
            let mut points = vec![None; steps.len()];
            let mut any = false;
            for (slot, &step) in points.iter_mut().zip(steps) {
                let t = self.bounds.resolve(s.at, step).saturating_sub(s.offset_ms);
                let idx = raw.ts.partition_point(|&x| x <= t);
                if idx == 0 {
                    continue;
                }
                let j = idx - 1;
                if raw.ts[j] <= t.saturating_sub(lookback) || is_stale(raw.values[j]) {
                    continue;
                }
                *slot = Some(if timestamps {
                    raw.ts[j] as f64 / 1000.0
                } else {
                    raw.values[j]
                });
                any = true;
            }
            if any {
                out.push(Series {
                    labels: raw.labels.clone(),
                    drop_name: false,
                    points,
                });
            }
        }
        out
    }
}
