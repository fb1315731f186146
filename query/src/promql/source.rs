//! Where selectors get their samples, and working out before evaluation
//! which time range each selector needs, so all data is fetched up front.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int64Type, UInt64Type};
use datafusion::physical_plan::collect;
use datafusion::prelude::SessionContext;
use hearth_storage::postings::SeriesEntry;
use hearth_storage::{Matcher, MetricsEngine};

use super::ast::{At, Expr, Selector};
use super::error::EvalError;
use super::eval::EvalOptions;
use super::labels::LabelSet;
use crate::table::{SampleFilter, SampleScanExec};

/// One series' raw samples for a selector.
#[derive(Debug, Clone)]
pub struct RawSeries {
    /// Labels, metric name included.
    pub labels: LabelSet,
    /// Timestamps (ms), ascending.
    pub ts: Vec<i64>,
    /// Values, stale markers included.
    pub values: Vec<f64>,
}

/// Something selectors can read from.
pub trait SeriesSource {
    /// Series matching every matcher with their samples in `[mint, maxt]`.
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> impl Future<Output = Result<Vec<RawSeries>, EvalError>> + Send;
}

/// Selectors read through DataFusion: postings pick the series, then the
/// `samples` table's scan reads them in the time range.
impl SeriesSource for Arc<MetricsEngine> {
    async fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<RawSeries>, EvalError> {
        let mut entries = self.index().select(matchers, mint, maxt);
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        entries.sort_unstable_by_key(|e| e.id);
        // The same scan node the SQL `samples` table plans, built directly:
        // the ids and time range are already known, so there is nothing
        // for the logical planner to do.
        let filter = SampleFilter {
            ids: Some(entries.iter().map(|e| e.id).collect()),
            mint,
            maxt,
        };
        let df_err = |e: datafusion::error::DataFusionError| {
            EvalError::internal(format!("reading samples: {e}"))
        };
        let scan =
            SampleScanExec::new(Arc::clone(self), self.snapshot(), filter, None).map_err(df_err)?;
        let batches = collect(Arc::new(scan), SCAN_SESSION.task_ctx())
            .await
            .map_err(df_err)?;
        group_by_series(&entries, &batches)
    }
}

/// The DataFusion context selector scans execute in.
static SCAN_SESSION: LazyLock<SessionContext> = LazyLock::new(SessionContext::new);

/// Splits scan output (sorted by series, then time) into series.
fn group_by_series(
    entries: &[Arc<SeriesEntry>],
    batches: &[RecordBatch],
) -> Result<Vec<RawSeries>, EvalError> {
    let mut out: Vec<RawSeries> = Vec::with_capacity(entries.len());
    let mut current: Option<u64> = None;
    for batch in batches {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| EvalError::internal(format!("scan output lacks {name}")))
        };
        let ids = column("series_id")?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| EvalError::internal("series_id is not u64"))?
            .values();
        let ts = column("ts")?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| EvalError::internal("ts is not i64"))?
            .values();
        let values = column("value")?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| EvalError::internal("value is not f64"))?
            .values();
        for row in 0..ids.len() {
            let id = ids[row];
            if current != Some(id) {
                let Ok(i) = entries.binary_search_by_key(&id, |e| e.id) else {
                    return Err(EvalError::internal(format!(
                        "scan returned unknown series {id:016x}"
                    )));
                };
                out.push(RawSeries {
                    labels: LabelSet::from_sorted(entries[i].labels.clone()),
                    ts: Vec::new(),
                    values: Vec::new(),
                });
                current = Some(id);
            }
            if let Some(s) = out.last_mut() {
                s.ts.push(ts[row]);
                s.values.push(values[row]);
            }
        }
    }
    Ok(out)
}

/// The time bounds the query is evaluated over, for `@ start()`/`@ end()`.
#[derive(Debug, Clone, Copy)]
pub struct QueryBounds {
    /// First step (ms).
    pub start: i64,
    /// Last step (ms).
    pub end: i64,
    /// Step (ms); 0 for instant queries.
    pub step: i64,
}

impl QueryBounds {
    /// The evaluation time `at` pins a step at.
    pub fn resolve(&self, at: Option<At>, t: i64) -> i64 {
        match at {
            None => t,
            Some(At::Time(x)) => x,
            Some(At::Start) => self.start,
            Some(At::End) => self.end,
        }
    }
}

/// Inclusive `[mint, maxt]` each selector reads, indexed by selector id.
pub fn selector_ranges(
    expr: &Expr,
    bounds: QueryBounds,
    lookback_ms: i64,
    count: usize,
) -> Vec<Option<(i64, i64)>> {
    let mut out = vec![None; count];
    walk(
        expr,
        bounds.start,
        bounds.end,
        &bounds,
        lookback_ms,
        &mut out,
    );
    out
}

fn widen(out: &mut [Option<(i64, i64)>], id: usize, mint: i64, maxt: i64) {
    if let Some(slot) = out.get_mut(id) {
        *slot = Some(match *slot {
            None => (mint, maxt),
            Some((a, b)) => (a.min(mint), b.max(maxt)),
        });
    }
}

fn pinned(at: Option<At>, start: i64, end: i64, bounds: &QueryBounds) -> (i64, i64) {
    match at {
        None => (start, end),
        Some(_) => {
            let t = bounds.resolve(at, start);
            (t, t)
        }
    }
}

fn selector_span(s: &Selector, start: i64, end: i64, bounds: &QueryBounds) -> (i64, i64) {
    let (a, b) = pinned(s.at, start, end, bounds);
    (a.saturating_sub(s.offset_ms), b.saturating_sub(s.offset_ms))
}

fn walk(
    e: &Expr,
    start: i64,
    end: i64,
    bounds: &QueryBounds,
    lookback: i64,
    out: &mut [Option<(i64, i64)>],
) {
    match e {
        Expr::Number(_) | Expr::String(_) => {}
        Expr::Selector(s) => {
            let (a, b) = selector_span(s, start, end, bounds);
            widen(out, s.id, a.saturating_sub(lookback), b);
        }
        Expr::Range(r) => {
            let (a, b) = selector_span(&r.selector, start, end, bounds);
            widen(out, r.selector.id, a.saturating_sub(r.range_ms), b);
        }
        Expr::Subquery(sq) => {
            let (a, b) = pinned(sq.at, start, end, bounds);
            let a = a.saturating_sub(sq.offset_ms).saturating_sub(sq.range_ms);
            let b = b.saturating_sub(sq.offset_ms);
            walk(&sq.expr, a, b, bounds, lookback, out);
        }
        Expr::Call(c) => {
            for a in &c.args {
                walk(a, start, end, bounds, lookback, out);
            }
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk(p, start, end, bounds, lookback, out);
            }
            walk(&a.expr, start, end, bounds, lookback, out);
        }
        Expr::Binary(b) => {
            walk(&b.lhs, start, end, bounds, lookback, out);
            walk(&b.rhs, start, end, bounds, lookback, out);
        }
        Expr::Negate(inner) | Expr::Paren(inner) => {
            walk(inner, start, end, bounds, lookback, out);
        }
    }
}

/// Fetches every selector's series, indexed by selector id.
pub async fn preload<S: SeriesSource>(
    source: &S,
    expr: &Expr,
    ranges: &[Option<(i64, i64)>],
    options: &EvalOptions,
) -> Result<Vec<Vec<RawSeries>>, EvalError> {
    let mut selectors: Vec<Option<Selector>> = vec![None; ranges.len()];
    super::parse::visit_selectors(expr, &mut |s| {
        if let Some(slot) = selectors.get_mut(s.id) {
            *slot = Some(s.clone());
        }
    });
    let mut out = Vec::with_capacity(ranges.len());
    let mut total = 0usize;
    for (selector, range) in selectors.iter().zip(ranges) {
        let (Some(selector), Some((mint, maxt))) = (selector, range) else {
            out.push(Vec::new());
            continue;
        };
        let mut series = Vec::new();
        let mut seen = HashSet::new();
        for set in &selector.matcher_sets {
            for s in source.select(set, *mint, *maxt).await? {
                if seen.insert(s.labels.clone()) {
                    total += s.ts.len();
                    series.push(s);
                }
            }
        }
        if options.max_series_per_selector > 0 && series.len() > options.max_series_per_selector {
            return Err(EvalError::too_many_series(options.max_series_per_selector));
        }
        if total > options.max_samples {
            return Err(EvalError::too_many_samples());
        }
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        out.push(series);
    }
    Ok(out)
}
