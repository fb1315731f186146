//! `compare({selection}, topN[, start, end])`: the spans the outer query
//! selects are split into a *selection* (those also matching the
//! selection filter, and starting in `[start, end)` when a window is
//! given) and a *baseline* (all the others), and every attribute value
//! found on them is counted per step, so Grafana's Traces Drilldown can
//! show which values are over-represented in the selection.
//!
//! Series, as Tempo labels them (label values typed as in `by()`:
//! `span.http.status_code` values are integers, the meta labels strings):
//! * `{__meta_type="baseline"|"selection", <attr>=<value>}`: spans of that
//!   side carrying the value, for the `topN` values of the attribute with
//!   the most spans over the whole range (ties broken by value);
//! * `{__meta_type="baseline_total"|"selection_total", <attr>=nil}`:
//!   spans of that side carrying the attribute at all, over every value
//!   ([`Label::Nil`], which Tempo sends as the string `"nil"`);
//! * `{__meta_error="__too_many_values__", <attr>=nil}`, without points,
//!   for an attribute with more than `topN` values on either side.
//!
//! Attributes are named as TraceQL writes them: `span.x`, `resource.x`,
//! `instrumentation.x`, and the intrinsics `name`, `status`,
//! `statusMessage`, `kind`, `rootName`, `rootServiceName`,
//! `instrumentation:name` and `instrumentation:version`. Left out, as in
//! Tempo, are durations and IDs, whose values are nearly all distinct and
//! so say nothing (Tempo drops trace and span IDs; Hearth also drops
//! `span:parentID`, which Tempo's newest block format happens to return),
//! the nested-set numbers, and event and link attributes. Missing (nil)
//! values are not counted. Tempo's grammar has no `by()` after
//! `compare()`, so validation refuses it.

use std::collections::{BTreeMap, HashMap};

use super::super::ast::{Expr, IntrinsicField, MetricsFunc, MetricsPipeline, SpansetExpr};
use super::super::model::{Attr, Trace, Value};
use super::metrics::{Grid, Label, Labels, Series};
use super::spanset::{Regexes, intrinsic, matches};

const META_TYPE: &str = "__meta_type";
const META_ERROR: &str = "__meta_error";
const TOO_MANY: &str = "__too_many_values__";

/// Intrinsics counted, with their label names (Tempo's bare spelling).
const INTRINSICS: &[(IntrinsicField, &str)] = &[
    (IntrinsicField::Name, "name"),
    (IntrinsicField::Status, "status"),
    (IntrinsicField::StatusMessage, "statusMessage"),
    (IntrinsicField::Kind, "kind"),
    (IntrinsicField::RootName, "rootName"),
    (IntrinsicField::RootService, "rootServiceName"),
    (IntrinsicField::InstrumentationName, "instrumentation:name"),
    (
        IntrinsicField::InstrumentationVersion,
        "instrumentation:version",
    ),
];

/// Span counts of one series: the sum decides `topN`, and only steps
/// with spans are stored, so a high-cardinality attribute costs memory
/// per span seen rather than per value and step.
#[derive(Debug, Default)]
struct Counts {
    sum: f64,
    steps: BTreeMap<usize, f64>,
}

impl Counts {
    fn add(&mut self, k: usize, n: f64) {
        self.sum += n;
        *self.steps.entry(k).or_insert(0.0) += n;
    }

    fn merge(&mut self, other: Counts) {
        for (k, n) in other.steps {
            self.add(k, n);
        }
    }

    fn points(&self, grid: Grid) -> Vec<(i64, f64)> {
        (0..grid.count)
            .map(|k| (grid.ts(k), self.steps.get(&k).copied().unwrap_or(0.0)))
            .collect()
    }
}

#[derive(Debug, Default)]
struct AttrCounts {
    total: Counts,
    values: HashMap<Label, Counts>,
}

/// One side (baseline or selection): attribute name to its counts.
type Side = BTreeMap<String, AttrCounts>;

/// The state of one `compare()` pipeline.
pub(super) struct Compare<'q> {
    selection: &'q Option<Expr>,
    /// `[start, end)` in unix ns.
    window: Option<(u64, u64)>,
    top_n: usize,
    baseline: Side,
    selected: Side,
}

impl<'q> Compare<'q> {
    /// The state for `p` if its function is `compare()`.
    pub(super) fn of(p: &'q MetricsPipeline) -> Option<Self> {
        let MetricsFunc::Compare {
            selection,
            top_n,
            start,
            end,
        } = &p.func
        else {
            return None;
        };
        // Validation admits only a plain filter here; anything else would
        // have been refused, so treating it as `{}` is never observed.
        let selection = match &**selection {
            SpansetExpr::Filter(cond) => cond,
            _ => &None,
        };
        // Tempo applies the window only when both bounds are set (0, 0
        // spells "no window").
        let window = match (start, end) {
            (Some(s), Some(e)) if *s > 0 && *e > 0 => Some((s.unsigned_abs(), e.unsigned_abs())),
            _ => None,
        };
        Some(Self {
            selection,
            window,
            top_n: usize::try_from(*top_n).unwrap_or(0),
            baseline: Side::new(),
            selected: Side::new(),
        })
    }

    /// Count span `i` of `trace`, which the outer query selected and
    /// which falls in step `k`.
    pub(super) fn record(&mut self, trace: &Trace, i: usize, k: usize, rx: &Regexes) {
        let Some(span) = trace.spans().get(i) else {
            return;
        };
        let in_window = self
            .window
            .is_none_or(|(s, e)| span.start_ns >= s && span.start_ns < e);
        let side = if in_window && matches(self.selection, trace, i, rx) {
            &mut self.selected
        } else {
            &mut self.baseline
        };
        let mut count = |name: String, v: Value| {
            if matches!(v, Value::Nil | Value::Duration(_)) {
                return;
            }
            let a = side.entry(name).or_default();
            a.total.add(k, 1.0);
            a.values.entry(Label::from(&v)).or_default().add(k, 1.0);
        };
        for (field, name) in INTRINSICS {
            count((*name).to_string(), intrinsic(trace, i, *field));
        }
        for_each_attr(&span.resource.attributes, |a| {
            count(format!("resource.{}", a.key), a.value.to_value());
        });
        for_each_attr(&span.scope.attributes, |a| {
            count(format!("instrumentation.{}", a.key), a.value.to_value());
        });
        for_each_attr(&span.attributes, |a| {
            count(format!("span.{}", a.key), a.value.to_value());
        });
    }

    /// Fold in the counts of the same `compare()` over other traces.
    pub(super) fn merge(&mut self, other: Compare<'q>) {
        merge_side(&mut self.baseline, other.baseline);
        merge_side(&mut self.selected, other.selected);
    }

    /// The finished series, values first, then totals, then errors.
    pub(super) fn finish(self, grid: Grid) -> Vec<Series> {
        let mut out = Vec::new();
        let mut too_many: Vec<&str> = Vec::new();
        for (side, kind) in [(&self.baseline, "baseline"), (&self.selected, "selection")] {
            for (name, a) in side {
                let mut values: Vec<(&Label, &Counts)> = a.values.iter().collect();
                values.sort_by(|x, y| y.1.sum.total_cmp(&x.1.sum).then_with(|| x.0.cmp(y.0)));
                for (value, counts) in values.iter().take(self.top_n) {
                    out.push(Series {
                        labels: labels(META_TYPE, kind, name, (*value).clone()),
                        points: counts.points(grid),
                    });
                }
                if values.len() > self.top_n && !too_many.contains(&name.as_str()) {
                    too_many.push(name);
                }
            }
        }
        for (side, kind) in [
            (&self.baseline, "baseline_total"),
            (&self.selected, "selection_total"),
        ] {
            for (name, a) in side {
                out.push(Series {
                    labels: labels(META_TYPE, kind, name, Label::Nil),
                    points: a.total.points(grid),
                });
            }
        }
        too_many.sort_unstable();
        for name in too_many {
            out.push(Series {
                labels: labels(META_ERROR, TOO_MANY, name, Label::Nil),
                points: Vec::new(),
            });
        }
        out
    }
}

fn labels(meta: &str, kind: &str, attr: &str, value: Label) -> Labels {
    vec![
        (meta.to_string(), Label::from(kind)),
        (attr.to_string(), value),
    ]
}

/// Each key once, its first value, as TraceQL reads a repeated key.
fn for_each_attr(attrs: &[Attr], mut f: impl FnMut(&Attr)) {
    for (j, a) in attrs.iter().enumerate() {
        if !attrs[..j].iter().any(|b| b.key == a.key) {
            f(a);
        }
    }
}

fn merge_side(into: &mut Side, from: Side) {
    for (name, a) in from {
        let mine = into.entry(name).or_default();
        mine.total.merge(a.total);
        for (value, counts) in a.values {
            mine.values.entry(value).or_default().merge(counts);
        }
    }
}
