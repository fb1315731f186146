//! Binary operators: arithmetic, comparison (filtering or `bool`) and set
//! operators, between scalars and vectors, with `on`/`ignoring` and
//! `group_left`/`group_right` vector matching.
//! Semantics: <https://prometheus.io/docs/prometheus/latest/querying/operators/>.

use std::collections::{HashMap, HashSet};

use super::Evaluator;
use crate::promql::ast::{Binary, BinaryOp, Cardinality, Matching};
use crate::promql::error::EvalError;
use crate::promql::labels::{LabelSet, NAME};
use crate::promql::value::{Series, Value};

/// Applies `op`; the flag says whether a comparison holds (always true for
/// arithmetic).
pub fn apply(op: BinaryOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinaryOp::Add => (l + r, true),
        BinaryOp::Sub => (l - r, true),
        BinaryOp::Mul => (l * r, true),
        BinaryOp::Div => (l / r, true),
        BinaryOp::Mod => (l % r, true),
        BinaryOp::Pow => (l.powf(r), true),
        BinaryOp::Atan2 => (l.atan2(r), true),
        BinaryOp::Eq => (l, l == r),
        BinaryOp::Ne => (l, l != r),
        BinaryOp::Gt => (l, l > r),
        BinaryOp::Lt => (l, l < r),
        BinaryOp::Ge => (l, l >= r),
        BinaryOp::Le => (l, l <= r),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => (f64::NAN, false),
    }
}

fn is_arithmetic(op: BinaryOp) -> bool {
    !op.is_comparison() && !op.is_set()
}

fn signature(labels: &LabelSet, matching: &Option<Matching>) -> LabelSet {
    match matching {
        Some(Matching::On(names)) => labels.keep(names),
        Some(Matching::Ignoring(names)) => {
            let mut l = labels.drop(names);
            l.remove(NAME);
            l
        }
        None => labels.without_name(),
    }
}

fn result_labels(many: &LabelSet, one: &LabelSet, b: &Binary) -> LabelSet {
    let mut labels = many.clone();
    if b.card == Cardinality::OneToOne {
        labels = match &b.matching {
            Some(Matching::On(names)) => labels.keep(names),
            Some(Matching::Ignoring(names)) => labels.drop(names),
            None => labels,
        };
    }
    let include = match &b.card {
        Cardinality::ManyToOne(l) | Cardinality::OneToMany(l) => l.as_slice(),
        _ => &[],
    };
    for name in include {
        labels.set(name, one.get(name));
    }
    labels
}

impl Evaluator<'_> {
    pub(super) fn binary(&self, b: &Binary, steps: &[i64]) -> Result<Value, EvalError> {
        let lhs = self.eval(&b.lhs, steps)?;
        let rhs = self.eval(&b.rhs, steps)?;
        match (lhs, rhs) {
            (Value::Scalar(l), Value::Scalar(r)) => Ok(Value::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(&l, &r)| {
                        let (v, keep) = apply(b.op, l, r);
                        if b.op.is_comparison() {
                            if keep { 1.0 } else { 0.0 }
                        } else {
                            v
                        }
                    })
                    .collect(),
            )),
            (Value::Vector(v), Value::Scalar(s)) => {
                Ok(Value::Vector(self.vector_scalar(b, v, &s, false)))
            }
            (Value::Scalar(s), Value::Vector(v)) => {
                Ok(Value::Vector(self.vector_scalar(b, v, &s, true)))
            }
            (Value::Vector(l), Value::Vector(r)) => {
                if b.op.is_set() {
                    Ok(Value::Vector(set_op(b, l, r, steps.len())))
                } else {
                    self.vector_vector(b, l, r, steps.len()).map(Value::Vector)
                }
            }
            (l, r) => Err(EvalError::execution(format!(
                "binary expression must contain only scalar and instant vector types, got {} and {}",
                l.type_name(),
                r.type_name()
            ))),
        }
    }

    fn vector_scalar(&self, b: &Binary, v: Vec<Series>, s: &[f64], swap: bool) -> Vec<Series> {
        let drop = is_arithmetic(b.op) || b.return_bool;
        v.into_iter()
            .filter_map(|mut series| {
                for (p, &sv) in series.points.iter_mut().zip(s) {
                    let Some(x) = *p else { continue };
                    let (l, r) = if swap { (sv, x) } else { (x, sv) };
                    let (mut value, keep) = apply(b.op, l, r);
                    if b.op.is_comparison() && swap {
                        value = r;
                    }
                    *p = if b.return_bool {
                        Some(if keep { 1.0 } else { 0.0 })
                    } else if keep {
                        Some(value)
                    } else {
                        None
                    };
                }
                series.drop_name |= drop;
                (!series.is_empty()).then_some(series)
            })
            .collect()
    }

    fn vector_vector(
        &self,
        b: &Binary,
        lhs: Vec<Series>,
        rhs: Vec<Series>,
        n: usize,
    ) -> Result<Vec<Series>, EvalError> {
        // Work in the frame where the left side has many; for group_right
        // the sides swap, and so do the fill values, as in Prometheus.
        let swap = matches!(b.card, Cardinality::OneToMany(_));
        let (many, one) = if swap { (rhs, lhs) } else { (lhs, rhs) };
        let (fill_many, fill_one) = (b.fill_lhs, b.fill_rhs);
        let many_sigs: Vec<LabelSet> = many
            .iter()
            .map(|s| signature(&s.labels, &b.matching))
            .collect();
        let one_sigs: Vec<LabelSet> = one
            .iter()
            .map(|s| signature(&s.labels, &b.matching))
            .collect();
        let drop = is_arithmetic(b.op) || b.return_bool;
        let empty = LabelSet::default();

        let mut out: Vec<Series> = Vec::new();
        let mut out_index: HashMap<LabelSet, usize> = HashMap::new();
        let mut one_at: HashMap<&LabelSet, usize> = HashMap::new();
        let mut matched: HashMap<&LabelSet, HashSet<LabelSet>> = HashMap::new();
        let mut emit = |labels: LabelSet, drop_name: bool, step: usize, mv: f64, ov: f64| {
            let (l, r) = if swap { (ov, mv) } else { (mv, ov) };
            let (value, keep) = apply(b.op, l, r);
            let value = if b.return_bool {
                if keep { 1.0 } else { 0.0 }
            } else if keep {
                value
            } else {
                return;
            };
            let idx = *out_index.entry(labels.clone()).or_insert_with(|| {
                out.push(Series::empty(labels, drop_name, n));
                out.len() - 1
            });
            out[idx].points[step] = Some(value);
            out[idx].drop_name |= drop_name;
        };
        for step in 0..n {
            one_at.clear();
            for (i, s) in one.iter().enumerate() {
                if s.points[step].is_none() {
                    continue;
                }
                if let Some(&prev) = one_at.get(&one_sigs[i]) {
                    let side = if swap { "left" } else { "right" };
                    return Err(EvalError::execution(format!(
                        "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                        one_sigs[i], one[prev].labels, s.labels
                    )));
                }
                one_at.insert(&one_sigs[i], i);
            }
            matched.clear();
            for (i, s) in many.iter().enumerate() {
                let Some(mv) = s.points[step] else { continue };
                let (ov, one_labels) = match one_at.get(&many_sigs[i]) {
                    Some(&j) => match one[j].points[step] {
                        Some(v) => (v, &one[j].labels),
                        None => continue,
                    },
                    None => match fill_one {
                        Some(f) => (f, &empty),
                        None => continue,
                    },
                };
                let labels = result_labels(&s.labels, one_labels, b);
                let seen = matched.entry(&many_sigs[i]).or_default();
                if b.card == Cardinality::OneToOne {
                    if !seen.is_empty() {
                        return Err(EvalError::execution(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                        ));
                    }
                } else if seen.contains(&labels) {
                    return Err(EvalError::execution(
                        "multiple matches for labels: grouping labels must ensure unique matches",
                    ));
                }
                seen.insert(labels.clone());
                emit(labels, drop || s.drop_name, step, mv, ov);
            }
            if let Some(fill) = fill_many {
                // Match groups with no series on the many side get one
                // series carrying the group's labels.
                for (j, s) in one.iter().enumerate() {
                    let Some(ov) = s.points[step] else { continue };
                    if matched.contains_key(&one_sigs[j]) {
                        continue;
                    }
                    emit(one_sigs[j].clone(), false, step, fill, ov);
                }
            }
        }
        Ok(out)
    }
}

fn set_op(b: &Binary, lhs: Vec<Series>, rhs: Vec<Series>, n: usize) -> Vec<Series> {
    // Signatures as small ids, and per id the last step it was seen at, so
    // no per-step sets of label sets are built.
    let mut ids: HashMap<LabelSet, usize> = HashMap::new();
    let mut id_of = |series: &Series| {
        let next = ids.len();
        *ids.entry(signature(&series.labels, &b.matching))
            .or_insert(next)
    };
    let l_ids: Vec<usize> = lhs.iter().map(&mut id_of).collect();
    let r_ids: Vec<usize> = rhs.iter().map(&mut id_of).collect();
    let mut seen_at = vec![usize::MAX; ids.len()];
    match b.op {
        BinaryOp::And | BinaryOp::Unless => {
            let want = b.op == BinaryOp::And;
            let mut lhs = lhs;
            for step in 0..n {
                for (s, &id) in rhs.iter().zip(&r_ids) {
                    if s.points[step].is_some() {
                        seen_at[id] = step;
                    }
                }
                for (s, &id) in lhs.iter_mut().zip(&l_ids) {
                    if s.points[step].is_some() && (seen_at[id] == step) != want {
                        s.points[step] = None;
                    }
                }
            }
            lhs.retain(|s| !s.is_empty());
            lhs
        }
        _ => {
            let mut rhs = rhs;
            for step in 0..n {
                for (s, &id) in lhs.iter().zip(&l_ids) {
                    if s.points[step].is_some() {
                        seen_at[id] = step;
                    }
                }
                for (s, &id) in rhs.iter_mut().zip(&r_ids) {
                    if s.points[step].is_some() && seen_at[id] == step {
                        s.points[step] = None;
                    }
                }
            }
            let mut out = lhs;
            out.extend(rhs.into_iter().filter(|s| !s.is_empty()));
            out
        }
    }
}
