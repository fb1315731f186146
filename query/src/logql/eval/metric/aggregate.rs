//! Vector aggregations (`sum by (a) (...)` and friends), with PromQL's
//! semantics: `by` keeps the listed labels, `without` drops them, no
//! grouping aggregates everything into `{}`. `topk`/`bottomk` select
//! samples and keep their labels.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use super::label_ops::{LabelCache, key, project};
use super::{MetricError, Sample, Steps};
use crate::logql::ast::{VectorAggregation, VectorOp};
use crate::logql::eval::labels::LabelPairs;

/// One vector per step of `agg` applied to `input`.
pub(super) fn evaluate(agg: &VectorAggregation, input: Steps) -> Result<Steps, MetricError> {
    match agg.op {
        VectorOp::Sort => Ok(sort(input, false)),
        VectorOp::SortDesc => Ok(sort(input, true)),
        VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk => select_k(agg, input),
        _ => Ok(combine(agg, input)),
    }
}

/// Running state of one group of a combining aggregation.
struct Acc {
    labels: Arc<LabelPairs>,
    count: f64,
    sum: f64,
    /// Welford mean, for stddev/stdvar.
    mean: f64,
    /// Welford sum of squared deviations.
    m2: f64,
    extreme: f64,
}

impl Acc {
    fn new(labels: Arc<LabelPairs>, first: f64) -> Self {
        Acc {
            labels,
            count: 0.0,
            sum: 0.0,
            mean: 0.0,
            m2: 0.0,
            extreme: first,
        }
    }

    fn add(&mut self, op: VectorOp, v: f64) {
        self.count += 1.0;
        match op {
            VectorOp::Sum | VectorOp::Avg => self.sum += v,
            VectorOp::Stddev | VectorOp::Stdvar => {
                let delta = v - self.mean;
                self.mean += delta / self.count;
                self.m2 += delta * (v - self.mean);
            }
            // A NaN is replaced by any later value, as in PromQL.
            VectorOp::Min if v < self.extreme || self.extreme.is_nan() => self.extreme = v,
            VectorOp::Max if v > self.extreme || self.extreme.is_nan() => self.extreme = v,
            _ => {}
        }
    }

    fn value(&self, op: VectorOp) -> f64 {
        match op {
            VectorOp::Sum => self.sum,
            VectorOp::Avg => self.sum / self.count,
            VectorOp::Count => self.count,
            VectorOp::Min | VectorOp::Max => self.extreme,
            VectorOp::Stdvar => self.m2 / self.count,
            VectorOp::Stddev => (self.m2 / self.count).sqrt(),
            _ => f64::NAN,
        }
    }
}

fn combine(agg: &VectorAggregation, input: Steps) -> Steps {
    let grouping = agg.grouping.as_ref();
    let mut cache = LabelCache::new(|labels: &LabelPairs| project(labels, grouping));
    input
        .into_iter()
        .map(|vector| {
            let mut index: HashMap<usize, usize> = HashMap::new();
            let mut groups: Vec<Acc> = Vec::new();
            for s in vector {
                let labels = cache.get(&s.labels);
                let i = *index.entry(key(&labels)).or_insert_with(|| {
                    groups.push(Acc::new(Arc::clone(&labels), s.value));
                    groups.len() - 1
                });
                groups[i].add(agg.op, s.value);
            }
            groups
                .into_iter()
                .map(|g| Sample {
                    value: g.value(agg.op),
                    labels: g.labels,
                })
                .collect()
        })
        .collect()
}

/// Ranks by value (descending for `topk`), ties by labels so results do not
/// depend on input order.
fn rank(a: &Sample, b: &Sample, descending: bool) -> Ordering {
    let by_value = a.value.total_cmp(&b.value);
    let by_value = if descending {
        by_value.reverse()
    } else {
        by_value
    };
    by_value.then_with(|| a.labels.cmp(&b.labels))
}

/// `topk`/`bottomk` per group. NaN is never selected. `approx_topk` is
/// answered exactly (it is Loki's sketch-based estimate of the same thing)
/// and, as in Loki, takes no grouping.
fn select_k(agg: &VectorAggregation, input: Steps) -> Result<Steps, MetricError> {
    let name = agg.op.name();
    let k = agg
        .param
        .ok_or_else(|| MetricError::Unsupported(format!("{name} needs a parameter k")))?;
    if k < 1 {
        return Err(MetricError::Invalid(format!(
            "invalid parameter {name}({k},: must be a positive integer"
        )));
    }
    if agg.op == VectorOp::ApproxTopk && agg.grouping.is_some() {
        return Err(MetricError::Unsupported(
            "grouping not allowed for approx_topk aggregation".into(),
        ));
    }
    let k = usize::try_from(k).unwrap_or(usize::MAX);
    let descending = agg.op != VectorOp::Bottomk;
    let grouping = agg.grouping.as_ref();
    let mut cache = LabelCache::new(|labels: &LabelPairs| project(labels, grouping));
    Ok(input
        .into_iter()
        .map(|vector| {
            let mut index: HashMap<usize, usize> = HashMap::new();
            let mut groups: Vec<Vec<Sample>> = Vec::new();
            for s in vector.into_iter().filter(|s| !s.value.is_nan()) {
                let g = key(&cache.get(&s.labels));
                let i = *index.entry(g).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[i].push(s);
            }
            groups
                .into_iter()
                .flat_map(|mut members| {
                    members.sort_by(|a, b| rank(a, b, descending));
                    members.truncate(k);
                    members
                })
                .collect()
        })
        .collect())
}

/// `sort`/`sort_desc`: orders each step's vector by value, NaN last either
/// way (as PromQL does). Only an instant query's output shows the order.
fn sort(input: Steps, descending: bool) -> Steps {
    input
        .into_iter()
        .map(|mut vector| {
            vector.sort_by(|a, b| match (a.value.is_nan(), b.value.is_nan()) {
                (true, true) => a.labels.cmp(&b.labels),
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => rank(a, b, descending),
            });
            vector
        })
        .collect()
}
