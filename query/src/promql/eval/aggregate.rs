//! Aggregation operators, per step and per group.
//! Semantics: <https://prometheus.io/docs/prometheus/latest/querying/operators/#aggregation-operators>.

use std::collections::HashMap;

use super::Evaluator;
use crate::promql::ast::{Aggregate, AggregateOp, Grouping};
use crate::promql::error::EvalError;
use crate::promql::functions::stats::{KahanSum, MeanAcc, quantile};
use crate::promql::labels::{LabelSet, NAME};
use crate::promql::value::{Series, Value, format_float};

struct Group {
    labels: LabelSet,
    drop_name: bool,
    members: Vec<usize>,
}

fn group_labels(labels: &LabelSet, grouping: &Option<Grouping>) -> LabelSet {
    match grouping {
        None => LabelSet::default(),
        Some(Grouping::By(names)) => labels.keep(names),
        Some(Grouping::Without(names)) => {
            let mut l = labels.drop(names);
            l.remove(NAME);
            l
        }
    }
}

/// Orders for `topk` (descending) and `bottomk` (ascending); NaN sorts last.
fn rank_order(top: bool, a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if top => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Prometheus' label-set hash as a fraction of u64's range (`limit_ratio`).
fn hash_ratio(labels: &LabelSet) -> f64 {
    let mut bytes = Vec::new();
    for (n, v) in labels.pairs() {
        bytes.extend_from_slice(n.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(v.as_bytes());
        bytes.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&bytes, 0) as f64 / u64::MAX as f64
}

impl Evaluator<'_> {
    pub(super) fn aggregate(&self, a: &Aggregate, steps: &[i64]) -> Result<Value, EvalError> {
        let n = steps.len();
        let param = match (&a.param, a.op) {
            (Some(p), AggregateOp::CountValues) => {
                let label = self.eval_string(p)?;
                if label.is_empty() || !is_valid_label_name(&label) {
                    return Err(EvalError::execution(format!(
                        "invalid label name {label:?}"
                    )));
                }
                Param::Label(label)
            }
            (Some(p), _) => Param::Scalar(self.eval_scalar(p, steps)?),
            (None, _) => Param::None,
        };
        let input = self.eval_vector(&a.expr, steps)?;

        let mut groups: Vec<Group> = Vec::new();
        let mut index: HashMap<LabelSet, usize> = HashMap::new();
        for (i, s) in input.iter().enumerate() {
            let key = group_labels(&s.labels, &a.grouping);
            let g = *index.entry(key.clone()).or_insert_with(|| {
                groups.push(Group {
                    labels: key,
                    drop_name: false,
                    members: Vec::new(),
                });
                groups.len() - 1
            });
            groups[g].members.push(i);
            if s.drop_name && groups[g].labels.has(NAME) {
                groups[g].drop_name = true;
            }
        }

        match a.op {
            AggregateOp::Topk
            | AggregateOp::Bottomk
            | AggregateOp::Limitk
            | AggregateOp::LimitRatio => {
                let Param::Scalar(param) = param else {
                    return Err(EvalError::execution("parameter required"));
                };
                self.select_members(a.op, &param, &input, &groups, n)
            }
            AggregateOp::CountValues => {
                let Param::Label(label) = param else {
                    return Err(EvalError::execution("count_values needs a label name"));
                };
                let mut out: Vec<Series> = Vec::new();
                let mut at: HashMap<LabelSet, usize> = HashMap::new();
                for g in &groups {
                    for step in 0..n {
                        for &m in &g.members {
                            let Some(v) = input[m].points[step] else {
                                continue;
                            };
                            let mut labels = g.labels.clone();
                            labels.set(&label, &format_float(v));
                            let idx = *at.entry(labels.clone()).or_insert_with(|| {
                                out.push(Series::empty(labels, false, n));
                                out.len() - 1
                            });
                            let p = &mut out[idx].points[step];
                            *p = Some(p.unwrap_or(0.0) + 1.0);
                        }
                    }
                }
                Ok(Value::Vector(out))
            }
            op => {
                let q = match param {
                    Param::Scalar(q) => q,
                    _ => Vec::new(),
                };
                if op == AggregateOp::Quantile
                    && q.iter().any(|&q| q.is_nan() || !(0.0..=1.0).contains(&q))
                {
                    self.warn(format!(
                        "PromQL warning: quantile value should be between 0 and 1, got {}",
                        q.iter()
                            .find(|q| q.is_nan() || !(0.0..=1.0).contains(*q))
                            .copied()
                            .unwrap_or(f64::NAN)
                    ));
                }
                let mut out = Vec::with_capacity(groups.len());
                let mut values = Vec::new();
                for g in &groups {
                    let mut series = Series::empty(g.labels.clone(), g.drop_name, n);
                    for (step, slot) in series.points.iter_mut().enumerate() {
                        values.clear();
                        values.extend(g.members.iter().filter_map(|&m| input[m].points[step]));
                        if values.is_empty() {
                            continue;
                        }
                        *slot = Some(fold(op, &values, q.get(step).copied()));
                    }
                    out.push(series);
                }
                Ok(Value::Vector(out))
            }
        }
    }

    fn select_members(
        &self,
        op: AggregateOp,
        param: &[f64],
        input: &[Series],
        groups: &[Group],
        n: usize,
    ) -> Result<Value, EvalError> {
        let mut out: Vec<Option<Series>> = vec![None; input.len()];
        let mut order: Vec<usize> = Vec::new();
        let mut ranked: Vec<(usize, f64)> = Vec::new();
        for step in 0..n {
            let p = param.get(step).copied().unwrap_or(f64::NAN);
            let p = if op == AggregateOp::LimitRatio {
                if p.is_nan() {
                    return Err(EvalError::execution(format!(
                        "Ratio value {p} is out of range [-1, 1]"
                    )));
                }
                let capped = p.clamp(-1.0, 1.0);
                if capped != p {
                    self.warn(format!(
                        "PromQL warning: ratio value should be between -1 and 1, got {p}, capping to {capped}"
                    ));
                }
                capped
            } else {
                p
            };
            if op == AggregateOp::LimitRatio {
            } else if p.is_nan() || p.abs() >= 9.2e18 {
                return Err(EvalError::execution(format!(
                    "Scalar value {p} overflows int64"
                )));
            }
            for g in groups {
                ranked.clear();
                ranked.extend(
                    g.members
                        .iter()
                        .filter_map(|&m| input[m].points[step].map(|v| (m, v))),
                );
                match op {
                    AggregateOp::Topk | AggregateOp::Bottomk => {
                        let k = p as i64;
                        if k < 1 {
                            continue;
                        }
                        let top = op == AggregateOp::Topk;
                        ranked.sort_by(|a, b| rank_order(top, a.1, b.1));
                        ranked.truncate(usize::try_from(k).unwrap_or(usize::MAX));
                    }
                    AggregateOp::Limitk => {
                        let k = p as i64;
                        if k < 1 {
                            continue;
                        }
                        ranked.truncate(usize::try_from(k).unwrap_or(usize::MAX));
                    }
                    _ => {
                        ranked.retain(|&(m, _)| {
                            let offset = hash_ratio(&input[m].labels);
                            (p >= 0.0 && offset < p) || (p < 0.0 && offset >= 1.0 + p)
                        });
                    }
                }
                for &(m, v) in &ranked {
                    let slot = out[m].get_or_insert_with(|| {
                        order.push(m);
                        Series::empty(input[m].labels.clone(), input[m].drop_name, n)
                    });
                    slot.points[step] = Some(v);
                }
            }
        }
        Ok(Value::Vector(
            order.into_iter().filter_map(|m| out[m].take()).collect(),
        ))
    }
}

enum Param {
    None,
    Scalar(Vec<f64>),
    Label(String),
}

/// Whether `name` is a valid label name (UTF-8 names are allowed in
/// Prometheus 3, so only emptiness is rejected).
fn is_valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

/// One group's value at one step.
fn fold(op: AggregateOp, values: &[f64], q: Option<f64>) -> f64 {
    match op {
        AggregateOp::Sum => {
            let mut k = KahanSum::default();
            values.iter().for_each(|&v| k.add(v));
            k.value()
        }
        AggregateOp::Avg => {
            let mut m = MeanAcc::default();
            values.iter().for_each(|&v| m.add(v));
            m.value()
        }
        AggregateOp::Count => values.len() as f64,
        AggregateOp::Group => 1.0,
        AggregateOp::Min => {
            values[1..].iter().fold(
                values[0],
                |acc, &v| {
                    if acc > v || acc.is_nan() { v } else { acc }
                },
            )
        }
        AggregateOp::Max => {
            values[1..].iter().fold(
                values[0],
                |acc, &v| {
                    if acc < v || acc.is_nan() { v } else { acc }
                },
            )
        }
        AggregateOp::Stddev | AggregateOp::Stdvar => {
            let (mut count, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
            for &v in values {
                count += 1.0;
                let delta = v - mean;
                mean += delta / count;
                m2 += delta * (v - mean);
            }
            let var = m2 / count;
            if op == AggregateOp::Stddev {
                var.sqrt()
            } else {
                var
            }
        }
        AggregateOp::Quantile => {
            let mut sorted = values.to_vec();
            quantile(q.unwrap_or(f64::NAN), &mut sorted)
        }
        AggregateOp::Topk
        | AggregateOp::Bottomk
        | AggregateOp::Limitk
        | AggregateOp::LimitRatio
        | AggregateOp::CountValues => f64::NAN,
    }
}
