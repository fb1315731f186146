//! Metric queries: each range aggregation's samples are read with one scan
//! over the whole span the evaluator will ask for, then the evaluator runs
//! in memory over them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use hearth_storage::logs::{HeadEntry, LogScan, LogsEngine, ScanSink};
use hearth_storage::postings::SeriesEntry;

use super::{
    ExecError, ExecStats, metadata_pairs, required_substrings, storage_matchers, stream_label_pairs,
};
use crate::logql::ast::{LogRange, MetricExpr, RangeAggregation, RangeOp};
use crate::logql::eval::labels::LabelPairs;
use crate::logql::eval::metric::{
    ExtractedSeries, MetricError, MetricLimits, MetricQuery, MetricResult, SampleSource, evaluate,
};
use crate::logql::eval::pipeline::{InputEntry, SampleExtractor};

/// Every range aggregation of `expr`, in evaluation order.
fn range_aggregations<'a>(expr: &'a MetricExpr, out: &mut Vec<&'a RangeAggregation>) {
    match expr {
        MetricExpr::RangeAggregation(r) => out.push(r),
        MetricExpr::VectorAggregation(v) => range_aggregations(&v.expr, out),
        MetricExpr::Binary(b) => {
            range_aggregations(&b.lhs, out);
            range_aggregations(&b.rhs, out);
        }
        MetricExpr::Negate(e) => range_aggregations(e, out),
        MetricExpr::LabelReplace(l) => range_aggregations(&l.expr, out),
        MetricExpr::Literal(_) | MetricExpr::Vector(_) => {}
    }
}

/// Samples one metric query may hold before it is refused: every line of
/// the span is a sample until the evaluator folds them into windows.
pub const MAX_SAMPLES: usize = 20_000_000;

struct Extract<'a> {
    extractor: &'a SampleExtractor,
    series: HashMap<LabelPairs, Vec<(i64, f64)>>,
    stats: ExecStats,
    max_series: usize,
    samples: usize,
    too_many: bool,
    too_many_samples: bool,
}

impl ScanSink for Extract<'_> {
    fn rows(&mut self, stream: &Arc<SeriesEntry>, rows: Vec<HeadEntry>) {
        let labels = stream_label_pairs(stream);
        let mut metadata: Vec<(String, String)> = Vec::new();
        for row in rows {
            self.stats.lines_processed += 1;
            self.stats.bytes_processed += row.line.len() as u64;
            metadata_pairs(&row.metadata, &mut metadata);
            let Some((series, value)) = self.extractor.extract(InputEntry {
                ts_ns: row.ts_ns,
                line: &row.line,
                stream: &labels,
                structured_metadata: &metadata,
            }) else {
                continue;
            };
            self.samples += 1;
            if self.samples > MAX_SAMPLES {
                self.too_many_samples = true;
                return;
            }
            if let Some(samples) = self.series.get_mut(&series) {
                samples.push((row.ts_ns, value));
            } else if self.series.len() < self.max_series {
                self.series.insert(series, vec![(row.ts_ns, value)]);
            } else {
                self.too_many = true;
            }
        }
    }

    fn wants(&mut self, _min_ts: i64, _max_ts: i64) -> bool {
        !self.too_many && !self.too_many_samples
    }
}

/// Samples read ahead, keyed by the address of their `LogRange` in the
/// query's tree (the evaluator hands back references into the same tree).
struct Prefetched {
    ranges: RefCell<Vec<ReadAhead>>,
}

/// The address of a `LogRange`, its operation, and its samples until the
/// evaluator takes them.
type ReadAhead = (usize, RangeOp, Option<Vec<ExtractedSeries>>);

impl SampleSource for Prefetched {
    fn samples(
        &self,
        range: &LogRange,
        op: RangeOp,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Vec<ExtractedSeries>, MetricError> {
        let key = std::ptr::from_ref(range) as usize;
        let mut ranges = self.ranges.borrow_mut();
        let Some(slot) = ranges.iter_mut().find(|(k, o, _)| *k == key && *o == op) else {
            return Err(MetricError::Source(
                "range aggregation was not read ahead".into(),
            ));
        };
        let mut series = slot.2.take().unwrap_or_default();
        for s in &mut series {
            s.samples.retain(|(t, _)| *t > start_ns && *t <= end_ns);
        }
        series.retain(|s| !s.samples.is_empty());
        Ok(series)
    }
}

/// Runs a metric query.
pub async fn run_metric_query(
    engine: &LogsEngine,
    expr: &MetricExpr,
    q: MetricQuery,
    limits: MetricLimits,
) -> Result<(MetricResult, ExecStats), ExecError> {
    let mut aggs = Vec::new();
    range_aggregations(expr, &mut aggs);
    let mut stats = ExecStats::default();
    let mut prefetched = Vec::with_capacity(aggs.len());
    for agg in aggs {
        let range = &agg.range;
        let extractor = SampleExtractor::new(range, agg.op)?;
        let matchers = storage_matchers(&range.query.matchers)?;
        let required = required_substrings(&range.query.pipeline);
        // The evaluator asks for (start - range - offset, end - offset];
        // scans take [from, to).
        let lo = q
            .start_ns
            .saturating_sub(range.range_ns)
            .saturating_sub(range.offset_ns);
        let hi = q.end_ns.saturating_sub(range.offset_ns);
        let scan = LogScan {
            matchers: &matchers,
            start_ns: lo.saturating_add(1),
            end_ns: hi.saturating_add(1),
            required: &required,
            backward: false,
        };
        // Grouping happens above the source, so a query may read more
        // label sets than it returns; the margin keeps that legitimate
        // case working while still bounding memory.
        let mut sink = Extract {
            extractor: &extractor,
            series: HashMap::new(),
            stats: ExecStats::default(),
            max_series: limits.max_series.saturating_mul(20).max(10_000),
            samples: 0,
            too_many: false,
            too_many_samples: false,
        };
        let scanned = engine.scan(&scan, &mut sink).await?;
        if sink.too_many_samples {
            return Err(ExecError::Limit(format!(
                "the query would read more than {MAX_SAMPLES} log lines; narrow the selector or the time range, or use a larger step"
            )));
        }
        if sink.too_many {
            return Err(ExecError::Limit(format!(
                "maximum of series ({}) reached for a single query",
                sink.max_series
            )));
        }
        stats.add_scan(&scanned);
        stats.lines_processed += sink.stats.lines_processed;
        stats.bytes_processed += sink.stats.bytes_processed;
        let mut series: Vec<ExtractedSeries> = sink
            .series
            .into_iter()
            .map(|(labels, mut samples)| {
                samples.sort_by_key(|(t, _)| *t);
                ExtractedSeries { labels, samples }
            })
            .collect();
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        prefetched.push((std::ptr::from_ref(range) as usize, agg.op, Some(series)));
    }
    let source = Prefetched {
        ranges: RefCell::new(prefetched),
    };
    let result = evaluate(expr, &q, &source, &limits)?;
    Ok((result, stats))
}
