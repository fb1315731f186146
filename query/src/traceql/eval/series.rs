//! Post-processing of finished series: threshold filters, `topk` /
//! `bottomk` per timestamp, and arithmetic between two queries' series
//! joined on equal labels (ignoring `__name__`; values compare by type
//! too, so `"200"` does not join `200`).

use std::collections::{BTreeMap, HashMap};

use super::super::ast::{BinOp, SecondStage};
use super::metrics::{Labels, Series};

pub(super) fn threshold(op: BinOp, v: f64, th: f64) -> bool {
    match op {
        BinOp::Eq => v == th,
        BinOp::Ne => v != th,
        BinOp::Lt => v < th,
        BinOp::Le => v <= th,
        BinOp::Gt => v > th,
        BinOp::Ge => v >= th,
        _ => false,
    }
}

/// Keep, at each timestamp, the points of the `n` highest (lowest) series.
pub(super) fn top_bottom(series: &mut Vec<Series>, stage: SecondStage) {
    let (n, top) = match stage {
        SecondStage::TopK(n) => (n, true),
        SecondStage::BottomK(n) => (n, false),
    };
    let n = usize::try_from(n).unwrap_or(0);
    let mut by_ts: BTreeMap<i64, Vec<(usize, f64)>> = BTreeMap::new();
    for (i, s) in series.iter().enumerate() {
        for (t, v) in &s.points {
            by_ts.entry(*t).or_default().push((i, *v));
        }
    }
    let mut keep: HashMap<(usize, i64), ()> = HashMap::new();
    for (t, mut vals) in by_ts {
        vals.retain(|(_, v)| !v.is_nan());
        vals.sort_by(|a, b| {
            let o = a.1.total_cmp(&b.1);
            (if top { o.reverse() } else { o }).then(a.0.cmp(&b.0))
        });
        for (i, _) in vals.into_iter().take(n) {
            keep.insert((i, t), ());
        }
    }
    for (i, s) in series.iter_mut().enumerate() {
        s.points.retain(|(t, _)| keep.contains_key(&(i, *t)));
    }
    series.retain(|s| !s.points.is_empty());
}

fn strip_name(labels: &Labels) -> Labels {
    labels
        .iter()
        .filter(|(k, _)| k != "__name__")
        .cloned()
        .collect()
}

/// Join series with equal labels (ignoring `__name__`) point by point.
pub(super) fn binary(op: BinOp, l: Vec<Series>, r: Vec<Series>) -> Vec<Series> {
    let right: HashMap<Labels, BTreeMap<i64, f64>> = r
        .into_iter()
        .map(|s| (strip_name(&s.labels), s.points.into_iter().collect()))
        .collect();
    let mut out = Vec::new();
    for s in l {
        let labels = strip_name(&s.labels);
        let Some(rp) = right.get(&labels) else {
            continue;
        };
        let points: Vec<(i64, f64)> = s
            .points
            .iter()
            .filter_map(|(t, a)| {
                let b = rp.get(t)?;
                Some((*t, apply(op, *a, *b)))
            })
            .collect();
        if !points.is_empty() {
            out.push(Series { labels, points });
        }
    }
    out
}

fn apply(op: BinOp, a: f64, b: f64) -> f64 {
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::Mod => a % b,
        BinOp::Pow => a.powf(b),
        _ => f64::NAN,
    }
}
