//! TraceQL metrics: folding the spans a query selects into time series.
//! Traces arrive one at a time (storage streams them), so the evaluator
//! keeps per-series accumulators indexed by step and only turns them into
//! points, applies threshold filters, `topk`/`bottomk` and arithmetic
//! between sub-queries in [`MetricsEvaluator::finish`].
//!
//! Time grid (range queries): start is aligned down and end up to a
//! multiple of `step`; the sample at timestamp `T` counts the spans whose
//! start time lies in `(T - step, T]`. This matches current Tempo, which
//! stamps each right-closed interval with its right edge, so the first
//! sample (at the aligned start) covers the step *before* it. Instant
//! queries use one interval `(start, end]` stamped `end`.
//!
//! Values: durations are reported in seconds (`avg_over_time(duration)`,
//! quantiles, histogram bucket bounds), as Tempo reports them. Histogram
//! and quantile use power-of-two buckets: a value `v > 0` falls in the
//! bucket `(2^(e-1), 2^e]` (nanoseconds for durations); quantiles
//! interpolate linearly inside the bucket, so they are approximate.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};

use super::super::ast::{Literal, MetricsExpr, MetricsFunc, MetricsPipeline, QueryBody};
use super::super::display::format_duration;
use super::super::error::EvalError;
use super::super::model::{Trace, Value};
use super::CompiledQuery;
use super::compare::Compare;
use super::series::{binary, threshold, top_bottom};
use super::spanset::{eval_field, eval_spanset};

/// Most samples per series a range query may ask for.
pub const MAX_POINTS: i64 = 100_000;

/// A label value, typed as Tempo types it on the wire, so that a string
/// `"200"` and an integer `200` make two series, as they do in Tempo.
/// Durations, statuses, kinds and arrays have no wire type of their own
/// and are carried as their TraceQL text. `Display` gives the value as
/// text (`200`, `true`, `0.5`, `nil`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    /// Strings, and values sent as their text (durations, `status`...).
    Str(String),
    /// Integers, an OTLP `intValue`.
    Int(i64),
    /// Floats, including quantiles (`p`) and bucket bounds (`__bucket`).
    Float(LabelFloat),
    /// Booleans.
    Bool(bool),
    /// A `by()` field the span lacks, or the attribute of a `compare()`
    /// total.
    Nil,
}

/// An `f64` under IEEE total order, so that float labels can key maps;
/// two floats are the same label only when bit-for-bit equal.
#[derive(Debug, Clone, Copy)]
pub struct LabelFloat(pub f64);

impl PartialEq for LabelFloat {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for LabelFloat {}

impl PartialOrd for LabelFloat {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LabelFloat {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl Hash for LabelFloat {
    // total_cmp is Equal exactly when the bits are, so this agrees with Eq.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Str(s) => f.write_str(s),
            Label::Int(i) => write!(f, "{i}"),
            Label::Float(x) => write!(f, "{}", x.0),
            Label::Bool(b) => write!(f, "{b}"),
            Label::Nil => f.write_str("nil"),
        }
    }
}

impl From<&Value> for Label {
    fn from(v: &Value) -> Self {
        match v {
            Value::Str(s) => Label::Str(s.clone()),
            Value::Int(i) => Label::Int(*i),
            Value::Float(f) => Label::Float(LabelFloat(*f)),
            Value::Bool(b) => Label::Bool(*b),
            Value::Duration(d) => Label::Str(format_duration(*d)),
            Value::Status(s) => Label::Str(s.keyword().to_string()),
            Value::Kind(k) => Label::Str(k.keyword().to_string()),
            Value::Nil => Label::Nil,
            Value::Array(items) => Label::Str(
                items
                    .iter()
                    .map(|v| Label::from(v).to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        }
    }
}

impl From<&str> for Label {
    fn from(s: &str) -> Self {
        Label::Str(s.to_string())
    }
}

impl From<i64> for Label {
    fn from(i: i64) -> Self {
        Label::Int(i)
    }
}

impl From<f64> for Label {
    fn from(f: f64) -> Self {
        Label::Float(LabelFloat(f))
    }
}

impl From<bool> for Label {
    fn from(b: bool) -> Self {
        Label::Bool(b)
    }
}

/// A series' labels: name and value, in order.
pub type Labels = Vec<(String, Label)>;

/// One output time series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Labels: the `by()` fields as written (`resource.service.name`) with
    /// their values ([`Label::Nil`] when missing), plus `p` (quantile) or
    /// `__bucket` (histogram upper bound), both floats. A series with no
    /// other label gets `__name__` = the function name (`rate`,
    /// `count_over_time`...). `compare()` series are labelled
    /// `__meta_type` and one attribute; see `eval::compare`.
    pub labels: Labels,
    /// `(timestamp in unix nanoseconds, value)`, ascending.
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Grid {
    first: i64,
    step: i64,
    pub(super) count: usize,
}

impl Grid {
    pub(super) fn ts(&self, k: usize) -> i64 {
        self.first + self.step * k as i64
    }

    /// The bucket whose interval `(T - step, T]` contains `t`.
    fn bucket(&self, t: i64) -> Option<usize> {
        let d = t.checked_sub(self.first)?;
        let k = if d <= 0 {
            if d > -self.step { 0 } else { return None }
        } else {
            (d - 1) / self.step + 1
        };
        usize::try_from(k).ok().filter(|&k| k < self.count)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Stat {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
}

/// Power-of-two bucket: (is a duration, exponent). `i32::MIN` holds
/// values <= 0.
type BucketKey = (bool, i32);

#[derive(Debug)]
enum Acc {
    Count(Vec<f64>),
    Stat(Vec<Stat>),
    Hist(BTreeMap<BucketKey, Vec<f64>>),
}

struct Leaf<'q> {
    p: &'q MetricsPipeline,
    groups: BTreeMap<Labels, Acc>,
    /// Set for `compare()`, whose series do not fit `groups`: one span
    /// counts towards every attribute it carries.
    compare: Option<Compare<'q>>,
}

/// Accumulates spans of many traces into the series of a metrics query.
pub struct MetricsEvaluator<'q> {
    query: &'q CompiledQuery,
    grid: Grid,
    leaves: Vec<Leaf<'q>>,
    /// Accumulator cells (one per step of each series or histogram
    /// bucket) allocated so far, against [`MAX_CELLS`].
    cells: usize,
    /// True once a series was left out for want of cells.
    series_limited: bool,
}

/// Accumulator cells one evaluation may allocate: `by()` over a
/// high-cardinality field (span ids, say) at a fine step would otherwise
/// take all memory. Series past it are left out and the answer says so.
pub const MAX_CELLS: usize = 4_000_000;

fn leaves_of<'q>(m: &'q MetricsExpr, out: &mut Vec<Leaf<'q>>) {
    match m {
        MetricsExpr::Pipeline(p) => out.push(Leaf {
            p,
            groups: BTreeMap::new(),
            compare: Compare::of(p),
        }),
        MetricsExpr::Binary { lhs, rhs, .. } => {
            leaves_of(lhs, out);
            leaves_of(rhs, out);
        }
    }
}

impl<'q> MetricsEvaluator<'q> {
    /// A range query over `[start_ns, end_ns]` with samples every `step_ns`.
    pub fn range(
        query: &'q CompiledQuery,
        start_ns: i64,
        end_ns: i64,
        step_ns: i64,
    ) -> Result<Self, EvalError> {
        if step_ns <= 0 {
            return Err(EvalError::InvalidRange("step must be positive".into()));
        }
        if end_ns < start_ns {
            return Err(EvalError::InvalidRange("end is before start".into()));
        }
        // i128 so that no input can overflow; the result is checked to
        // fit in i64 (including one step before the first sample).
        let step = i128::from(step_ns);
        let first = i128::from(start_ns).div_euclid(step) * step;
        let last = (i128::from(end_ns) + step - 1).div_euclid(step) * step;
        let count = (last - first) / step + 1;
        if count > i128::from(MAX_POINTS) {
            return Err(EvalError::InvalidRange(format!(
                "{count} steps exceed the limit of {MAX_POINTS}; use a larger step"
            )));
        }
        let (Ok(first), Ok(_), Ok(_)) = (
            i64::try_from(first),
            i64::try_from(last),
            i64::try_from(first - step),
        ) else {
            return Err(EvalError::InvalidRange("time range out of bounds".into()));
        };
        Self::with_grid(
            query,
            Grid {
                first,
                step: step_ns,
                count: usize::try_from(count).unwrap_or(0),
            },
        )
    }

    /// An instant query: one sample at `end_ns` covering `(start_ns, end_ns]`.
    pub fn instant(
        query: &'q CompiledQuery,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Self, EvalError> {
        if end_ns <= start_ns {
            return Err(EvalError::InvalidRange("end must be after start".into()));
        }
        let Some(step) = end_ns.checked_sub(start_ns) else {
            return Err(EvalError::InvalidRange("time range out of bounds".into()));
        };
        Self::with_grid(
            query,
            Grid {
                first: end_ns,
                step,
                count: 1,
            },
        )
    }

    fn with_grid(query: &'q CompiledQuery, grid: Grid) -> Result<Self, EvalError> {
        let QueryBody::Metrics(m) = &query.query().body else {
            return Err(EvalError::WrongKind("not a metrics query".into()));
        };
        let mut leaves = Vec::new();
        leaves_of(m, &mut leaves);
        Ok(Self {
            query,
            grid,
            leaves,
            cells: 0,
            series_limited: false,
        })
    }

    /// True when some series were left out because the answer would have
    /// needed more than [`MAX_CELLS`] accumulator cells.
    pub fn series_limited(&self) -> bool {
        self.series_limited
    }

    /// Spans whose start time (unix ns) lies in `(lo, hi]` can contribute;
    /// storage need not read others.
    pub fn span_window(&self) -> (i64, i64) {
        let g = self.grid;
        (g.first - g.step, g.ts(g.count.saturating_sub(1)))
    }

    /// The sample timestamps (unix ns).
    pub fn timestamps(&self) -> Vec<i64> {
        (0..self.grid.count).map(|k| self.grid.ts(k)).collect()
    }

    /// Add the matching spans of one trace.
    pub fn observe(&mut self, trace: &Trace) {
        let rx = self.query.regexes();
        let grid = self.grid;
        for leaf in &mut self.leaves {
            let mut spans: Vec<usize> = eval_spanset(&leaf.p.source, trace, rx)
                .into_iter()
                .flat_map(|s| s.spans)
                .collect();
            spans.sort_unstable();
            spans.dedup();
            for i in spans {
                let Some(span) = trace.spans().get(i) else {
                    continue;
                };
                let Some(k) = grid.bucket(i64::try_from(span.start_ns).unwrap_or(i64::MAX)) else {
                    continue;
                };
                if let Some(c) = &mut leaf.compare {
                    c.record(trace, i, k, rx);
                    continue;
                }
                let labels: Labels = leaf
                    .p
                    .by
                    .iter()
                    .map(|f| (f.to_string(), Label::from(&eval_field(f, trace, i, rx))))
                    .collect();
                let field = leaf.p.func.field().map(|f| eval_field(f, trace, i, rx));
                if !leaf.groups.contains_key(&labels) {
                    let cost = match new_acc(&leaf.p.func, 0) {
                        Acc::Hist(_) => 0,
                        _ => grid.count,
                    };
                    if self.cells.saturating_add(cost) > MAX_CELLS {
                        self.series_limited = true;
                        continue;
                    }
                    self.cells += cost;
                }
                let acc = leaf
                    .groups
                    .entry(labels)
                    .or_insert_with(|| new_acc(&leaf.p.func, grid.count));
                let mut budget = Budget {
                    cells: &mut self.cells,
                    limited: &mut self.series_limited,
                };
                record(acc, k, field.as_ref(), grid.count, &mut budget);
            }
        }
    }

    /// Fold in an evaluator of the same query and range that observed
    /// other traces (e.g. another storage block scanned in parallel).
    pub fn merge(&mut self, other: MetricsEvaluator<'q>) -> Result<(), EvalError> {
        if self.grid != other.grid || !std::ptr::eq(self.query, other.query) {
            return Err(EvalError::WrongKind(
                "can only merge evaluators of the same query and range".into(),
            ));
        }
        for (mine, theirs) in self.leaves.iter_mut().zip(other.leaves) {
            if let (Some(into), Some(from)) = (&mut mine.compare, theirs.compare) {
                into.merge(from);
            }
            for (labels, acc) in theirs.groups {
                match mine.groups.get_mut(&labels) {
                    Some(into) => merge_acc(into, acc),
                    None => {
                        mine.groups.insert(labels, acc);
                    }
                }
            }
        }
        Ok(())
    }

    /// The finished series.
    pub fn finish(self) -> Vec<Series> {
        let QueryBody::Metrics(m) = &self.query.query().body else {
            return Vec::new();
        };
        let mut leaves = self.leaves.into_iter();
        combine(m, &mut leaves, self.grid)
    }
}

fn new_acc(func: &MetricsFunc, n: usize) -> Acc {
    match func {
        MetricsFunc::Rate | MetricsFunc::CountOverTime => Acc::Count(vec![0.0; n]),
        MetricsFunc::QuantileOverTime(..) | MetricsFunc::HistogramOverTime(_) => {
            Acc::Hist(BTreeMap::new())
        }
        _ => Acc::Stat(vec![Stat::default(); n]),
    }
}

fn merge_acc(into: &mut Acc, from: Acc) {
    match (into, from) {
        (Acc::Count(a), Acc::Count(b)) => a.iter_mut().zip(b).for_each(|(x, y)| *x += y),
        (Acc::Stat(a), Acc::Stat(b)) => {
            for (x, y) in a.iter_mut().zip(b) {
                if y.n == 0 {
                    continue;
                }
                if x.n == 0 {
                    *x = y;
                    continue;
                }
                x.n += y.n;
                x.sum += y.sum;
                x.min = x.min.min(y.min);
                x.max = x.max.max(y.max);
            }
        }
        (Acc::Hist(a), Acc::Hist(b)) => {
            for (key, counts) in b {
                match a.get_mut(&key) {
                    Some(mine) => mine.iter_mut().zip(counts).for_each(|(x, y)| *x += y),
                    None => {
                        a.insert(key, counts);
                    }
                }
            }
        }
        _ => {}
    }
}

/// The evaluator's cell count, lent to [`record`] for histogram buckets.
struct Budget<'a> {
    cells: &'a mut usize,
    limited: &'a mut bool,
}

fn record(acc: &mut Acc, k: usize, field: Option<&Value>, n: usize, budget: &mut Budget<'_>) {
    match acc {
        Acc::Count(c) => c[k] += 1.0,
        Acc::Stat(s) => {
            let Some(v) = field.and_then(seconds) else {
                return;
            };
            let st = &mut s[k];
            if st.n == 0 {
                st.min = v;
                st.max = v;
            } else {
                st.min = st.min.min(v);
                st.max = st.max.max(v);
            }
            st.n += 1;
            st.sum += v;
        }
        Acc::Hist(h) => {
            let Some(key) = field.and_then(bucket_key) else {
                return;
            };
            if !h.contains_key(&key) {
                if budget.cells.saturating_add(n) > MAX_CELLS {
                    *budget.limited = true;
                    return;
                }
                *budget.cells += n;
            }
            h.entry(key).or_insert_with(|| vec![0.0; n])[k] += 1.0;
        }
    }
}

/// Numeric value in output units (durations in seconds).
fn seconds(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) if f.is_finite() => Some(*f),
        Value::Duration(ns) => Some(*ns as f64 / 1e9),
        _ => None,
    }
}

fn bucket_key(v: &Value) -> Option<BucketKey> {
    let (dur, x) = match v {
        Value::Duration(ns) => (true, *ns as f64),
        Value::Int(i) => (false, *i as f64),
        Value::Float(f) if f.is_finite() => (false, *f),
        _ => return None,
    };
    if x <= 0.0 {
        return Some((dur, i32::MIN));
    }
    let mut e = x.log2().ceil() as i32;
    if 2f64.powi(e) < x {
        e += 1;
    }
    Some((dur, e))
}

/// Upper bound of a bucket in output units.
fn bucket_upper(key: BucketKey) -> f64 {
    if key.1 == i32::MIN {
        return 0.0;
    }
    let v = 2f64.powi(key.1);
    if key.0 { v / 1e9 } else { v }
}

fn quantile(buckets: &[(BucketKey, f64)], q: f64) -> Option<f64> {
    let total: f64 = buckets.iter().map(|(_, c)| c).sum();
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut cum = 0.0;
    for &(key, c) in buckets.iter().filter(|(_, c)| *c > 0.0) {
        if cum + c >= rank {
            let upper = bucket_upper(key);
            let lower = if key.1 == i32::MIN { 0.0 } else { upper / 2.0 };
            let frac = ((rank - cum) / c).clamp(0.0, 1.0);
            return Some(lower + (upper - lower) * frac);
        }
        cum += c;
    }
    buckets.last().map(|(k, _)| bucket_upper(*k))
}

fn leaf_series(leaf: Leaf<'_>, grid: Grid) -> Vec<Series> {
    let Leaf { p, groups, compare } = leaf;
    let mut out = match compare {
        Some(c) => c.finish(grid),
        None => group_series(&p.func, groups, grid),
    };
    if let Some((op, lit)) = &p.filter {
        let th = match lit {
            Literal::Int(i) => *i as f64,
            Literal::Float(f) => *f,
            Literal::Duration(d) => *d as f64 / 1e9,
            _ => f64::NAN,
        };
        for s in &mut out {
            s.points.retain(|(_, v)| threshold(*op, *v, th));
        }
        out.retain(|s| !s.points.is_empty());
    }
    if let Some(second) = p.second {
        top_bottom(&mut out, second);
    }
    out
}

fn group_series(func: &MetricsFunc, groups: BTreeMap<Labels, Acc>, grid: Grid) -> Vec<Series> {
    let step_s = grid.step as f64 / 1e9;
    let mut out = Vec::new();
    let ts = |k: usize| grid.ts(k);
    for (labels, acc) in groups {
        match acc {
            Acc::Count(c) => {
                let rate = matches!(func, MetricsFunc::Rate);
                let points = c
                    .iter()
                    .enumerate()
                    .map(|(k, v)| (ts(k), if rate { v / step_s } else { *v }))
                    .collect();
                out.push(Series { labels, points });
            }
            Acc::Stat(s) => {
                let points = s
                    .iter()
                    .enumerate()
                    .filter(|(_, st)| st.n > 0)
                    .map(|(k, st)| {
                        let v = match func {
                            MetricsFunc::SumOverTime(_) => st.sum,
                            MetricsFunc::MinOverTime(_) => st.min,
                            MetricsFunc::MaxOverTime(_) => st.max,
                            _ => st.sum / st.n as f64,
                        };
                        (ts(k), v)
                    })
                    .collect();
                out.push(Series { labels, points });
            }
            Acc::Hist(h) => match func {
                MetricsFunc::QuantileOverTime(_, qs) => {
                    for q in qs {
                        let points = (0..grid.count)
                            .filter_map(|k| {
                                let b: Vec<(BucketKey, f64)> =
                                    h.iter().map(|(key, v)| (*key, v[k])).collect();
                                quantile(&b, *q).map(|v| (ts(k), v))
                            })
                            .collect();
                        let mut l = labels.clone();
                        l.push(("p".to_string(), Label::from(*q)));
                        out.push(Series { labels: l, points });
                    }
                }
                _ => {
                    for (key, counts) in h {
                        let mut l = labels.clone();
                        l.push(("__bucket".to_string(), Label::from(bucket_upper(key))));
                        let points = counts
                            .iter()
                            .enumerate()
                            .map(|(k, v)| (ts(k), *v))
                            .collect();
                        out.push(Series { labels: l, points });
                    }
                }
            },
        }
    }
    for s in &mut out {
        if s.labels.is_empty() {
            s.labels
                .push(("__name__".to_string(), Label::from(func.name())));
        }
    }
    out
}

fn combine<'a>(
    m: &MetricsExpr,
    leaves: &mut impl Iterator<Item = Leaf<'a>>,
    grid: Grid,
) -> Vec<Series> {
    match m {
        MetricsExpr::Pipeline(_) => leaves
            .next()
            .map(|l| leaf_series(l, grid))
            .unwrap_or_default(),
        MetricsExpr::Binary { op, lhs, rhs } => {
            let l = combine(lhs, leaves, grid);
            let r = combine(rhs, leaves, grid);
            binary(*op, l, r)
        }
    }
}
