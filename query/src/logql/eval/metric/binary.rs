//! Binary operators with PromQL's semantics, except that `x/0` and `x%0`
//! give NaN as in Loki. Vector/vector operations match samples by their
//! label sets (or the `on`/`ignoring` subset); `group_left`/`group_right`
//! allow many-to-one matches.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::label_ops::{LabelCache, format_labels, key, set_label};
use super::{MetricError, Sample, Steps, Value};
use crate::logql::ast::{BinOp, BinaryExpr, GroupSide, VectorMatching};
use crate::logql::eval::labels::{LabelPairs, get};

pub(super) fn evaluate(b: &BinaryExpr, lhs: Value, rhs: Value) -> Result<Value, MetricError> {
    match (lhs, rhs) {
        (Value::Scalar(l), Value::Scalar(r)) => {
            if b.op.is_set() {
                return Err(set_on_scalar(b.op));
            }
            // Numbers have nothing to filter: comparisons always give 0/1.
            Ok(Value::Scalar(scalar_op(b.op, l, r)))
        }
        (Value::Vector(v), Value::Scalar(r)) => with_scalar(b, v, r, false).map(Value::Vector),
        (Value::Scalar(l), Value::Vector(v)) => with_scalar(b, v, l, true).map(Value::Vector),
        (Value::Vector(l), Value::Vector(r)) => {
            let matching = b.matching.as_ref();
            // Shared by all steps: a series' signature is computed once.
            let mut sigs = LabelCache::new(|labels: &LabelPairs| signature(labels, matching));
            let steps = l
                .into_iter()
                .zip(r)
                .map(|(l, r)| {
                    if b.op.is_set() {
                        Ok(set_op(b, &mut sigs, l, r))
                    } else {
                        match_vectors(b, &mut sigs, l, r)
                    }
                })
                .collect::<Result<Steps, _>>()?;
            Ok(Value::Vector(steps))
        }
    }
}

fn set_on_scalar(op: BinOp) -> MetricError {
    MetricError::Unsupported(format!(
        "set operator {} needs vectors on both sides",
        op.symbol()
    ))
}

fn arithmetic(op: BinOp, l: f64, r: f64) -> f64 {
    match op {
        BinOp::Add => l + r,
        BinOp::Sub => l - r,
        BinOp::Mul => l * r,
        BinOp::Div if r == 0.0 => f64::NAN,
        BinOp::Div => l / r,
        BinOp::Mod if r == 0.0 => f64::NAN,
        // Rust's `%` on floats truncates like Go's math.Mod.
        BinOp::Mod => l % r,
        BinOp::Pow => l.powf(r),
        _ => f64::NAN,
    }
}

fn compare(op: BinOp, l: f64, r: f64) -> bool {
    match op {
        BinOp::Eq => l == r,
        BinOp::Ne => l != r,
        BinOp::Gt => l > r,
        BinOp::Ge => l >= r,
        BinOp::Lt => l < r,
        BinOp::Le => l <= r,
        _ => false,
    }
}

fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn scalar_op(op: BinOp, l: f64, r: f64) -> f64 {
    if op.is_comparison() {
        bool_value(compare(op, l, r))
    } else {
        arithmetic(op, l, r)
    }
}

/// The value of `l op r` and whether the sample survives; a comparison
/// without `bool` keeps `keep_value` where it holds.
fn element(op: BinOp, return_bool: bool, l: f64, r: f64, keep_value: f64) -> Option<f64> {
    if !op.is_comparison() {
        return Some(arithmetic(op, l, r));
    }
    let holds = compare(op, l, r);
    if return_bool {
        Some(bool_value(holds))
    } else {
        holds.then_some(keep_value)
    }
}

/// Vector/scalar: applied to every sample, labels kept. A filtering
/// comparison keeps the vector's value even when the number is on the left.
fn with_scalar(
    b: &BinaryExpr,
    vector: Steps,
    scalar: f64,
    scalar_left: bool,
) -> Result<Steps, MetricError> {
    if b.op.is_set() {
        return Err(set_on_scalar(b.op));
    }
    Ok(vector
        .into_iter()
        .map(|step| {
            step.into_iter()
                .filter_map(|s| {
                    let (l, r) = if scalar_left {
                        (scalar, s.value)
                    } else {
                        (s.value, scalar)
                    };
                    element(b.op, b.return_bool, l, r, s.value).map(|value| Sample {
                        labels: s.labels,
                        value,
                    })
                })
                .collect()
        })
        .collect())
}

/// The label subset two samples are matched on.
fn signature(labels: &LabelPairs, matching: Option<&VectorMatching>) -> LabelPairs {
    match matching {
        None => labels.clone(),
        Some(m) => labels
            .iter()
            .filter(|(name, _)| m.labels.iter().any(|l| l == name) == m.on)
            .cloned()
            .collect(),
    }
}

/// `and`, `or`, `unless` (many-to-many by definition).
fn set_op<F: FnMut(&LabelPairs) -> LabelPairs>(
    b: &BinaryExpr,
    sigs: &mut LabelCache<F>,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
) -> Vec<Sample> {
    match b.op {
        BinOp::And | BinOp::Unless => {
            let right: HashSet<usize> = rhs.iter().map(|s| key(&sigs.get(&s.labels))).collect();
            let want = b.op == BinOp::And;
            lhs.into_iter()
                .filter(|s| right.contains(&key(&sigs.get(&s.labels))) == want)
                .collect()
        }
        _ => {
            let left: HashSet<usize> = lhs.iter().map(|s| key(&sigs.get(&s.labels))).collect();
            let mut out = lhs;
            out.extend(
                rhs.into_iter()
                    .filter(|s| !left.contains(&key(&sigs.get(&s.labels)))),
            );
            out
        }
    }
}

/// Arithmetic and comparisons between two vectors.
fn match_vectors<F: FnMut(&LabelPairs) -> LabelPairs>(
    b: &BinaryExpr,
    sigs: &mut LabelCache<F>,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
) -> Result<Vec<Sample>, MetricError> {
    let matching = b.matching.as_ref();
    let group = matching.and_then(|m| m.group.as_ref());
    // The "many" side is walked; the "one" side is looked up.
    let (many, one, one_is_left) = match group {
        Some(GroupSide::Right(_)) => (rhs, lhs, true),
        _ => (lhs, rhs, false),
    };
    let include: &[String] = match group {
        Some(GroupSide::Left(l) | GroupSide::Right(l)) => l,
        None => &[],
    };
    let mut lookup: HashMap<usize, &Sample> = HashMap::with_capacity(one.len());
    for s in &one {
        let sig = sigs.get(&s.labels);
        if lookup.insert(key(&sig), s).is_some() {
            let side = if one_is_left { "left" } else { "right" };
            return Err(MetricError::Invalid(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side",
                format_labels(&sig)
            )));
        }
    }
    let mut matched: HashSet<usize> = HashSet::new();
    let mut produced: HashSet<LabelPairs> = HashSet::new();
    let mut out = Vec::with_capacity(many.len());
    for s in &many {
        let sig = sigs.get(&s.labels);
        let Some(other) = lookup.get(&key(&sig)) else {
            continue;
        };
        if group.is_none() && !matched.insert(key(&sig)) {
            return Err(MetricError::Invalid(format!(
                "multiple matches for labels {}: many-to-one matching must be explicit (group_left/group_right)",
                format_labels(&sig)
            )));
        }
        let (l, r) = if one_is_left {
            (other.value, s.value)
        } else {
            (s.value, other.value)
        };
        let Some(value) = element(b.op, b.return_bool, l, r, l) else {
            continue;
        };
        let labels = result_labels(&s.labels, &other.labels, matching, include);
        if group.is_some() && !produced.insert(labels.clone()) {
            return Err(MetricError::Invalid(format!(
                "multiple matches for labels {}: grouping labels must ensure unique matches",
                format_labels(&labels)
            )));
        }
        out.push(Sample {
            labels: if labels == *s.labels {
                Arc::clone(&s.labels)
            } else {
                Arc::new(labels)
            },
            value,
        });
    }
    Ok(out)
}

/// PromQL's result labels: one-to-one matching keeps only the `on` labels
/// (or drops the `ignoring` ones); `group_x (a, b)` copies `a`, `b` from the
/// "one" side (removing them where that side lacks them).
fn result_labels(
    many: &LabelPairs,
    one: &LabelPairs,
    matching: Option<&VectorMatching>,
    include: &[String],
) -> LabelPairs {
    let mut labels = match matching {
        Some(m) if m.group.is_none() => signature(many, Some(m)),
        _ => many.clone(),
    };
    for name in include {
        set_label(&mut labels, name, get(one, name).unwrap_or(""));
    }
    labels
}
