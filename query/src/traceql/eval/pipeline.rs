//! Pipeline stages over the spansets of one trace. Stages only narrow,
//! regroup or annotate spansets; none of them looks at spans outside its
//! input, which is why a storage pre-filter derived from the source
//! filter stays safe for the whole pipeline.

use std::collections::HashMap;

use super::super::ast::{AggFunc, Expr, Stage};
use super::super::model::{Trace, Value};
use super::spanset::{Regexes, Set, eval_expr, eval_field, literal_value, matches};
use super::value::{as_f64, truthy};

/// Run `stages` in order.
pub(crate) fn run(mut sets: Vec<Set>, stages: &[Stage], trace: &Trace, rx: &Regexes) -> Vec<Set> {
    for stage in stages {
        if sets.is_empty() {
            break;
        }
        sets = match stage {
            Stage::Filter(cond) => sets
                .into_iter()
                .filter_map(|s| {
                    let spans: Vec<usize> = s
                        .spans
                        .iter()
                        .copied()
                        .filter(|&i| matches(cond, trace, i, rx))
                        .collect();
                    (!spans.is_empty()).then(|| s.with_spans(spans))
                })
                .collect(),
            Stage::Scalar(e) => sets
                .into_iter()
                .filter(|s| truthy(&eval_scalar(e, s, trace, rx)))
                .collect(),
            Stage::By(fields) => sets
                .iter()
                .flat_map(|s| group_by(s, fields, trace, rx))
                .collect(),
            Stage::Coalesce => {
                let mut it = sets.into_iter();
                let first = it.next().unwrap_or_default();
                vec![it.fold(first, |acc, s| acc.union(&s))]
            }
            Stage::Select(fields) => {
                for s in &mut sets {
                    select(s, fields, trace, rx);
                }
                sets
            }
        };
    }
    sets
}

/// Split a set by the values of `fields`, keeping first-seen order.
fn group_by(set: &Set, fields: &[Expr], trace: &Trace, rx: &Regexes) -> Vec<Set> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(Vec<Value>, Vec<usize>)> = Vec::new();
    for &i in &set.spans {
        let key: Vec<Value> = fields.iter().map(|f| eval_field(f, trace, i, rx)).collect();
        let text = format!("{key:?}");
        match index.get(&text) {
            Some(&g) => groups[g].1.push(i),
            None => {
                index.insert(text, groups.len());
                groups.push((key, vec![i]));
            }
        }
    }
    groups
        .into_iter()
        .map(|(key, spans)| {
            let mut out = set.with_spans(spans);
            for (f, v) in fields.iter().zip(key) {
                let name = format!("by({f})");
                out.attrs.retain(|(k, _)| *k != name);
                out.attrs.push((name, v));
            }
            out
        })
        .collect()
}

fn select(set: &mut Set, fields: &[Expr], trace: &Trace, rx: &Regexes) {
    for &i in &set.spans {
        let entry = set.span_attrs.entry(i).or_default();
        for f in fields {
            let v = eval_field(f, trace, i, rx);
            if matches!(v, Value::Nil) {
                continue;
            }
            let name = f.to_string();
            entry.retain(|(k, _)| *k != name);
            entry.push((name, v));
        }
    }
}

/// Evaluate a pipeline condition (aggregates over the set).
pub(crate) fn eval_scalar(e: &Expr, set: &Set, trace: &Trace, rx: &Regexes) -> Value {
    eval_expr(e, rx, &|leaf| match leaf {
        Expr::Agg { func, arg } => aggregate(*func, arg.as_deref(), set, trace, rx),
        Expr::Lit(l) => literal_value(l),
        _ => Value::Nil,
    })
}

fn aggregate(func: AggFunc, arg: Option<&Expr>, set: &Set, trace: &Trace, rx: &Regexes) -> Value {
    let Some(arg) = arg else {
        return Value::Int(i64::try_from(set.spans.len()).unwrap_or(i64::MAX));
    };
    let values: Vec<Value> = set
        .spans
        .iter()
        .map(|&i| eval_field(arg, trace, i, rx))
        .filter(|v| as_f64(v).is_some())
        .collect();
    if values.is_empty() {
        return Value::Nil;
    }
    let all_dur = values.iter().all(|v| matches!(v, Value::Duration(_)));
    let all_int = values.iter().all(|v| matches!(v, Value::Int(_)));
    let nums = || values.iter().filter_map(as_f64);
    match func {
        AggFunc::Count => Value::Int(i64::try_from(values.len()).unwrap_or(i64::MAX)),
        AggFunc::Min | AggFunc::Max => {
            let mut best = &values[0];
            for v in &values[1..] {
                let (a, b) = (as_f64(v).unwrap_or(0.0), as_f64(best).unwrap_or(0.0));
                if (func == AggFunc::Min && a < b) || (func == AggFunc::Max && a > b) {
                    best = v;
                }
            }
            best.clone()
        }
        AggFunc::Sum => {
            if all_int || all_dur {
                let mut acc: i64 = 0;
                let mut exact = true;
                for v in &values {
                    if let Value::Int(i) | Value::Duration(i) = v {
                        match acc.checked_add(*i) {
                            Some(s) => acc = s,
                            None => exact = false,
                        }
                    }
                }
                if exact {
                    return if all_dur {
                        Value::Duration(acc)
                    } else {
                        Value::Int(acc)
                    };
                }
            }
            Value::Float(nums().sum())
        }
        AggFunc::Avg => {
            let mean = nums().sum::<f64>() / values.len() as f64;
            if all_dur {
                Value::Duration(mean.round() as i64)
            } else {
                Value::Float(mean)
            }
        }
    }
}
