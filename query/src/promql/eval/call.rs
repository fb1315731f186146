//! Function calls: argument evaluation and dispatch to `functions/`.

use std::collections::HashMap;

use regex::Regex;

use super::Evaluator;
use super::range::{RangeArg, Window};
use crate::promql::ast::{Call, Expr};
use crate::promql::error::EvalError;
use crate::promql::functions::histogram::{Bucket, Repairs, bucket_fraction, bucket_quantile};
use crate::promql::functions::math::{go_max, go_min, round, unary};
use crate::promql::functions::over_time::{
    OverTime, double_exponential_smoothing, quantile_over_time,
};
use crate::promql::functions::{date::date_fn, rate};
use crate::promql::labels::{LabelSet, NAME};
use crate::promql::value::{Series, Value};
use hearth_storage::{MatchOp, Matcher};

/// Labels `absent()` reports: the equality matchers of the selector, minus
/// any label constrained more than once or by another kind of matcher.
fn absent_labels(expr: &Expr) -> LabelSet {
    let matchers: &[Matcher] = match expr.unparen() {
        Expr::Selector(s) => s
            .matcher_sets
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default(),
        Expr::Range(r) => r
            .selector
            .matcher_sets
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default(),
        _ => &[],
    };
    let mut labels = LabelSet::default();
    let mut seen = std::collections::HashSet::new();
    for m in matchers {
        if m.name == NAME {
            continue;
        }
        if m.op == MatchOp::Equal && seen.insert(m.name.as_str()) {
            labels.set(&m.name, &m.value);
        } else {
            labels.remove(&m.name);
        }
    }
    labels
}

/// Series name for annotations.
fn metric_name(labels: &LabelSet) -> &str {
    labels.get(NAME)
}

impl Evaluator<'_> {
    fn arg<'e>(&self, c: &'e Call, i: usize) -> Result<&'e Expr, EvalError> {
        c.args.get(i).ok_or_else(|| {
            EvalError::execution(format!("missing argument {} to function {}", i + 1, c.name))
        })
    }

    /// Applies `f` to every window of every series.
    fn map_windows(
        &self,
        arg: &RangeArg,
        steps: &[i64],
        keep_name: bool,
        mut f: impl FnMut(&Window<'_>, usize, i64) -> Option<f64>,
    ) -> Vec<Series> {
        let mut out = Vec::with_capacity(arg.series.len());
        for s in &arg.series {
            let mut series =
                Series::empty(s.labels.clone(), s.drop_name || !keep_name, steps.len());
            for (i, &t) in steps.iter().enumerate() {
                let w = arg.window(&self.bounds, s, t);
                if w.ts.is_empty() {
                    continue;
                }
                series.points[i] = f(&w, i, t);
            }
            if !series.is_empty() {
                out.push(series);
            }
        }
        out
    }

    /// Applies `f` to every point of a vector argument, dropping the name.
    fn map_points(
        &self,
        input: Vec<Series>,
        mut f: impl FnMut(f64, usize) -> Option<f64>,
    ) -> Vec<Series> {
        input
            .into_iter()
            .filter_map(|mut s| {
                s.drop_name = true;
                for (i, p) in s.points.iter_mut().enumerate() {
                    *p = p.and_then(|v| f(v, i));
                }
                (!s.is_empty()).then_some(s)
            })
            .collect()
    }

    fn counter_info(&self, out: &[Series]) {
        for s in out {
            let name = metric_name(&s.labels);
            if !name.is_empty()
                && !["_total", "_sum", "_count", "_bucket"]
                    .iter()
                    .any(|suffix| name.ends_with(suffix))
            {
                self.info(format!(
                    "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"
                ));
            }
        }
    }

    pub(super) fn call(&self, c: &Call, steps: &[i64]) -> Result<Value, EvalError> {
        let name = c.name.as_str();
        let n = steps.len();
        match name {
            "time" => Ok(Value::Scalar(
                steps.iter().map(|&t| t as f64 / 1000.0).collect(),
            )),
            "pi" => Ok(Value::Scalar(vec![std::f64::consts::PI; n])),
            "step" => Ok(Value::Scalar(vec![self.bounds.step as f64 / 1000.0; n])),
            "range" => Ok(Value::Scalar(vec![
                (self.bounds.end - self.bounds.start)
                    as f64
                    / 1000.0;
                n
            ])),
            "start" => Ok(Value::Scalar(vec![self.bounds.start as f64 / 1000.0; n])),
            "end" => Ok(Value::Scalar(vec![self.bounds.end as f64 / 1000.0; n])),
            "min_of" | "max_of" => {
                let a = self.eval_scalar(self.arg(c, 0)?, steps)?;
                let b = self.eval_scalar(self.arg(c, 1)?, steps)?;
                let f = if name == "min_of" { go_min } else { go_max };
                Ok(Value::Scalar(
                    a.iter().zip(&b).map(|(&a, &b)| f(a, b)).collect(),
                ))
            }
            "vector" => {
                let v = self.eval_scalar(self.arg(c, 0)?, steps)?;
                Ok(Value::Vector(vec![Series {
                    labels: LabelSet::default(),
                    drop_name: false,
                    points: v.into_iter().map(Some).collect(),
                }]))
            }
            "scalar" => {
                let v = self.eval_vector(self.arg(c, 0)?, steps)?;
                Ok(Value::Scalar(
                    (0..n)
                        .map(|i| {
                            let mut present = v.iter().filter_map(|s| s.points[i]);
                            match (present.next(), present.next()) {
                                (Some(x), None) => x,
                                _ => f64::NAN,
                            }
                        })
                        .collect(),
                ))
            }
            "timestamp" => {
                let arg = self.arg(c, 0)?;
                let mut out = match arg.unparen() {
                    Expr::Selector(s) => self.instant_selector(s, steps, true),
                    other => {
                        let v = self.eval_vector(other, steps)?;
                        v.into_iter()
                            .map(|mut s| {
                                for (p, &t) in s.points.iter_mut().zip(steps) {
                                    if p.is_some() {
                                        *p = Some(t as f64 / 1000.0);
                                    }
                                }
                                s
                            })
                            .collect()
                    }
                };
                out.iter_mut().for_each(|s| s.drop_name = true);
                Ok(Value::Vector(out))
            }
            "absent" => {
                let arg = self.arg(c, 0)?;
                let v = self.eval_vector(arg, steps)?;
                let mut series = Series::empty(absent_labels(arg), false, n);
                for (i, p) in series.points.iter_mut().enumerate() {
                    if v.iter().all(|s| s.points[i].is_none()) {
                        *p = Some(1.0);
                    }
                }
                Ok(Value::Vector(vec![series]))
            }
            "absent_over_time" => {
                let arg_expr = self.arg(c, 0)?;
                let arg = self.range_arg(arg_expr, steps)?;
                let mut series = Series::empty(absent_labels(arg_expr), false, n);
                for (i, &t) in steps.iter().enumerate() {
                    let any = arg
                        .series
                        .iter()
                        .any(|s| !arg.window(&self.bounds, s, t).ts.is_empty());
                    if !any {
                        series.points[i] = Some(1.0);
                    }
                }
                Ok(Value::Vector(vec![series]))
            }
            "label_replace" => self.label_replace(c, steps),
            "label_join" => self.label_join(c, steps),
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc"
                if self.bounds.step > 0 =>
            {
                self.warn(
                    "PromQL warning: sort is ineffective for range queries since results are always ordered by labels"
                        .into(),
                );
                Ok(Value::Vector(self.eval_vector(self.arg(c, 0)?, steps)?))
            }
            "sort" | "sort_desc" => {
                let mut v = self.eval_vector(self.arg(c, 0)?, steps)?;
                if n == 1 {
                    let desc = name == "sort_desc";
                    v.sort_by(|a, b| {
                        let (x, y) = (
                            a.points[0].unwrap_or(f64::NAN),
                            b.points[0].unwrap_or(f64::NAN),
                        );
                        match (x.is_nan(), y.is_nan()) {
                            (true, true) => std::cmp::Ordering::Equal,
                            (true, false) => std::cmp::Ordering::Greater,
                            (false, true) => std::cmp::Ordering::Less,
                            _ if desc => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
                            _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                        }
                    });
                }
                Ok(Value::Vector(v))
            }
            "sort_by_label" | "sort_by_label_desc" => {
                let mut v = self.eval_vector(self.arg(c, 0)?, steps)?;
                let mut names = Vec::new();
                for a in &c.args[1..] {
                    names.push(self.eval_string(a)?);
                }
                let desc = name == "sort_by_label_desc";
                v.sort_by(|a, b| {
                    let mut ord = std::cmp::Ordering::Equal;
                    for l in &names {
                        ord = natural_cmp(a.labels.get(l), b.labels.get(l));
                        if ord.is_ne() {
                            break;
                        }
                    }
                    if ord.is_eq() {
                        ord = a.labels.cmp(&b.labels);
                    }
                    if desc { ord.reverse() } else { ord }
                });
                Ok(Value::Vector(v))
            }
            "clamp" | "clamp_min" | "clamp_max" => {
                let v = self.eval_vector(self.arg(c, 0)?, steps)?;
                let a = self.eval_scalar(self.arg(c, 1)?, steps)?;
                let b = if name == "clamp" {
                    self.eval_scalar(self.arg(c, 2)?, steps)?
                } else {
                    Vec::new()
                };
                Ok(Value::Vector(self.map_points(v, |x, i| match name {
                    "clamp" => {
                        let (lo, hi) = (a[i], b[i]);
                        if hi < lo {
                            None
                        } else {
                            Some(go_max(lo, go_min(hi, x)))
                        }
                    }
                    "clamp_min" => Some(go_max(a[i], x)),
                    _ => Some(go_min(a[i], x)),
                })))
            }
            "round" => {
                let v = self.eval_vector(self.arg(c, 0)?, steps)?;
                let to = match c.args.get(1) {
                    Some(e) => self.eval_scalar(e, steps)?,
                    None => vec![1.0; n],
                };
                Ok(Value::Vector(
                    self.map_points(v, |x, i| Some(round(x, to[i]))),
                ))
            }
            "histogram_quantile" | "histogram_fraction" | "histogram_quantiles" => {
                self.histogram(c, steps)
            }
            "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => {
                // Only native histograms have these; float series are ignored.
                let _ = self.eval_vector(self.arg(c, 0)?, steps)?;
                Ok(Value::Vector(Vec::new()))
            }
            "rate" | "increase" | "delta" => {
                let arg = self.range_arg(self.arg(c, 0)?, steps)?;
                let (counter, per_second) = match name {
                    "rate" => (true, true),
                    "increase" => (true, false),
                    _ => (false, false),
                };
                let out = self.map_windows(&arg, steps, false, |w, _, _| {
                    rate::extrapolated(w, counter, per_second)
                });
                if counter {
                    self.counter_info(&out);
                }
                Ok(Value::Vector(out))
            }
            "irate" | "idelta" => {
                let arg = self.range_arg(self.arg(c, 0)?, steps)?;
                let per_second = name == "irate";
                let out =
                    self.map_windows(&arg, steps, false, |w, _, _| rate::instant(w, per_second));
                if per_second {
                    self.counter_info(&out);
                }
                Ok(Value::Vector(out))
            }
            "deriv" | "changes" | "resets" => {
                let arg = self.range_arg(self.arg(c, 0)?, steps)?;
                let f = match name {
                    "deriv" => rate::deriv,
                    "changes" => rate::changes,
                    _ => rate::resets,
                };
                Ok(Value::Vector(self.map_windows(
                    &arg,
                    steps,
                    false,
                    |w, _, _| f(w),
                )))
            }
            "predict_linear" => {
                let arg = self.range_arg(self.arg(c, 0)?, steps)?;
                let d = self.eval_scalar(self.arg(c, 1)?, steps)?;
                Ok(Value::Vector(self.map_windows(
                    &arg,
                    steps,
                    false,
                    |w, i, t| rate::predict_linear(w, t, d[i]),
                )))
            }
            "quantile_over_time" => {
                let q = self.eval_scalar(self.arg(c, 0)?, steps)?;
                let arg = self.range_arg(self.arg(c, 1)?, steps)?;
                if let Some(bad) = q.iter().find(|q| q.is_nan() || !(0.0..=1.0).contains(*q)) {
                    self.warn(format!(
                        "PromQL warning: quantile value should be between 0 and 1, got {bad}"
                    ));
                }
                Ok(Value::Vector(self.map_windows(
                    &arg,
                    steps,
                    false,
                    |w, i, _| quantile_over_time(q[i], w),
                )))
            }
            "double_exponential_smoothing" | "holt_winters" => {
                let arg = self.range_arg(self.arg(c, 0)?, steps)?;
                let sf = self.eval_scalar(self.arg(c, 1)?, steps)?;
                let tf = self.eval_scalar(self.arg(c, 2)?, steps)?;
                for (&s, &t) in sf.iter().zip(&tf) {
                    if !(s > 0.0 && s < 1.0) {
                        return Err(EvalError::execution(format!(
                            "invalid smoothing factor. Expected: 0 < sf < 1, got: {s:.6}"
                        )));
                    }
                    if !(t > 0.0 && t < 1.0) {
                        return Err(EvalError::execution(format!(
                            "invalid trend factor. Expected: 0 < tf < 1, got: {t:.6}"
                        )));
                    }
                }
                Ok(Value::Vector(self.map_windows(
                    &arg,
                    steps,
                    false,
                    |w, i, _| double_exponential_smoothing(w, sf[i], tf[i]),
                )))
            }
            _ => {
                if let Some(kind) = OverTime::from_name(name) {
                    let arg = self.range_arg(self.arg(c, 0)?, steps)?;
                    return Ok(Value::Vector(self.map_windows(
                        &arg,
                        steps,
                        kind.keeps_name(),
                        |w, _, _| kind.apply(w),
                    )));
                }
                if let Some(f) = unary(name) {
                    let v = self.eval_vector(self.arg(c, 0)?, steps)?;
                    return Ok(Value::Vector(self.map_points(v, |x, _| Some(f(x)))));
                }
                if let Some(f) = date_fn(name) {
                    let v = match c.args.first() {
                        Some(e) => self.eval_vector(e, steps)?,
                        None => vec![Series {
                            labels: LabelSet::default(),
                            drop_name: false,
                            points: steps.iter().map(|&t| Some(t as f64 / 1000.0)).collect(),
                        }],
                    };
                    return Ok(Value::Vector(self.map_points(v, |x, _| f(x))));
                }
                Err(EvalError::execution(format!(
                    "function {name:?} is not supported"
                )))
            }
        }
    }

    fn label_replace(&self, c: &Call, steps: &[i64]) -> Result<Value, EvalError> {
        let v = self.eval_vector(self.arg(c, 0)?, steps)?;
        let dst = self.eval_string(self.arg(c, 1)?)?;
        let replacement = self.eval_string(self.arg(c, 2)?)?;
        let src = self.eval_string(self.arg(c, 3)?)?;
        let pattern = self.eval_string(self.arg(c, 4)?)?;
        let re = Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| {
            EvalError::execution(format!(
                "invalid regular expression in label_replace(): {e}"
            ))
        })?;
        if !valid_label_name(&dst) {
            return Err(EvalError::execution(format!(
                "invalid destination label name in label_replace(): {dst}"
            )));
        }
        let out = v
            .into_iter()
            .map(|mut s| {
                let value = s.labels.get(&src).to_owned();
                if let Some(caps) = re.captures(&value) {
                    let mut expanded = String::new();
                    caps.expand(&replacement, &mut expanded);
                    s.labels.set(&dst, &expanded);
                    if dst == NAME {
                        s.drop_name = false;
                    }
                }
                s
            })
            .collect();
        Ok(Value::Vector(out))
    }

    fn label_join(&self, c: &Call, steps: &[i64]) -> Result<Value, EvalError> {
        let v = self.eval_vector(self.arg(c, 0)?, steps)?;
        let dst = self.eval_string(self.arg(c, 1)?)?;
        let sep = self.eval_string(self.arg(c, 2)?)?;
        let mut srcs = Vec::new();
        for a in c.args.iter().skip(3) {
            srcs.push(self.eval_string(a)?);
        }
        if !valid_label_name(&dst) {
            return Err(EvalError::execution(format!(
                "invalid destination label name in label_join(): {dst}"
            )));
        }
        let out = v
            .into_iter()
            .map(|mut s| {
                let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n)).collect();
                let joined = joined.join(&sep);
                s.labels.set(&dst, &joined);
                if dst == NAME {
                    s.drop_name = false;
                }
                s
            })
            .collect();
        Ok(Value::Vector(out))
    }

    fn histogram(&self, c: &Call, steps: &[i64]) -> Result<Value, EvalError> {
        let n = steps.len();
        let fraction = c.name == "histogram_fraction";
        // Each output: the quantiles to compute (one list per step) and, for
        // `histogram_quantiles`, the label naming the quantile.
        let mut quantiles: Vec<QuantileOutput> = Vec::new();
        let (lower, upper, input) = if fraction {
            let lower = self.eval_scalar(self.arg(c, 0)?, steps)?;
            let upper = self.eval_scalar(self.arg(c, 1)?, steps)?;
            quantiles.push((Vec::new(), None));
            (lower, upper, self.eval_vector(self.arg(c, 2)?, steps)?)
        } else if c.name == "histogram_quantiles" {
            let input = self.eval_vector(self.arg(c, 0)?, steps)?;
            let label = self.eval_string(self.arg(c, 1)?)?;
            for e in c.args.iter().skip(2) {
                let q = self.eval_scalar(e, steps)?;
                let text = quantile_label(q.first().copied().unwrap_or(f64::NAN));
                quantiles.push((q, Some((label.clone(), text))));
            }
            (Vec::new(), Vec::new(), input)
        } else {
            let q = self.eval_scalar(self.arg(c, 0)?, steps)?;
            quantiles.push((q, None));
            (
                Vec::new(),
                Vec::new(),
                self.eval_vector(self.arg(c, 1)?, steps)?,
            )
        };
        for (q, _) in &quantiles {
            if let Some(bad) = q.iter().find(|q| q.is_nan() || !(0.0..=1.0).contains(*q)) {
                self.warn(format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {bad}"
                ));
            }
        }
        let mut groups: Vec<(LabelSet, Vec<(f64, usize)>)> = Vec::new();
        let mut index: HashMap<LabelSet, usize> = HashMap::new();
        for (i, s) in input.iter().enumerate() {
            let le = s.labels.get("le");
            let Some(upper) = parse_le(le) else {
                self.warn(format!(
                    "PromQL warning: bucket label \"le\" is missing or has a malformed value of {le:?} for metric name {:?}",
                    metric_name(&s.labels)
                ));
                continue;
            };
            let mut key = s.labels.clone();
            key.remove("le");
            let g = *index.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push((upper, i));
        }
        let mut out = Vec::with_capacity(groups.len() * quantiles.len());
        for (labels, members) in &groups {
            for (q, extra) in &quantiles {
                let mut labels = labels.clone();
                if let Some((name, value)) = extra {
                    labels.set(name, value);
                }
                let mut series = Series::empty(labels, true, n);
                for step in 0..n {
                    let buckets: Vec<Bucket> = members
                        .iter()
                        .filter_map(|&(upper, i)| {
                            input[i].points[step].map(|count| Bucket { upper, count })
                        })
                        .collect();
                    if buckets.is_empty() {
                        continue;
                    }
                    let mut repairs = Repairs::default();
                    let value = if fraction {
                        bucket_fraction(lower[step], upper[step], buckets, &mut repairs)
                    } else {
                        bucket_quantile(q[step], buckets, &mut repairs)
                    };
                    if repairs.forced_monotonic {
                        self.info(format!(
                        "PromQL info: input to {} needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                        c.name,
                        metric_name(&series.labels)
                    ));
                    }
                    series.points[step] = Some(value);
                }
                out.push(series);
            }
        }
        Ok(Value::Vector(out))
    }
}

/// Label names may be any UTF-8 (Prometheus 3) but not empty; invalid
/// bytes in a string literal arrive as U+FFFD and are refused.
fn valid_label_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('\u{FFFD}')
}

/// Quantiles to compute (one per step) and, for `histogram_quantiles`,
/// the label and value naming them.
type QuantileOutput = (Vec<f64>, Option<(String, String)>);

/// How `histogram_quantiles` writes a quantile into its label: like Go's
/// `%g` but keeping one decimal for whole numbers (`0.0`, `0.25`, `1.0`).
fn quantile_label(q: f64) -> String {
    if q.is_nan() {
        "NaN".into()
    } else if q.is_infinite() {
        if q > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if q.fract() == 0.0 {
        format!("{q:.1}")
    } else {
        format!("{q}")
    }
}

/// Parses an `le` label as Go's `strconv.ParseFloat` would.
fn parse_le(le: &str) -> Option<f64> {
    if le.is_empty() {
        return None;
    }
    le.parse::<f64>().ok()
}

/// Natural ordering: digit runs compare as numbers.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                let ta = na.iter().skip_while(|&&c| c == b'0').count();
                let tb = nb.iter().skip_while(|&&c| c == b'0').count();
                let ord = ta.cmp(&tb).then_with(|| na[da - ta..].cmp(&nb[db - tb..]));
                if ord.is_ne() {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;
    use std::cmp::Ordering;

    #[test]
    fn natural_order_compares_numbers() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("a10", "a10"), Ordering::Equal);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
    }
}
