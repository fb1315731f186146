//! `patterns`: every matching line of the range goes through a pattern
//! miner per stream and level, and each pattern's lines are counted per
//! step. Loki mines at ingest and keeps the counts; Hearth mines at query
//! time, which needs no extra state and gives the same shape of answer.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hearth_storage::SeriesId;
use hearth_storage::logs::{HeadEntry, LogScan, LogsEngine, ScanSink};
use hearth_storage::postings::SeriesEntry;

use super::{ExecError, StreamLabelCache, process_row, required_substrings, storage_matchers};
use crate::logql::ast::LogQuery;
use crate::logql::eval::labels::LabelPairs;
use crate::logql::eval::pipeline::Pipeline;
use crate::logql::patterns::{ClusterId, PatternMiner};

/// Patterns seen fewer times over the range are noise, as Loki judges.
pub const MIN_PATTERN_LINES: u64 = 30;
/// Most patterns returned, the most frequent first.
pub const MAX_PATTERNS: usize = 300;
/// Finest bucket: Loki keeps pattern counts at ten-second resolution.
pub const MIN_STEP_NS: i64 = 10_000_000_000;

/// One pattern at one level with its counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternSeries {
    /// The pattern, `<_>` standing for what varies.
    pub pattern: String,
    /// The lines' `detected_level`, or `unknown`.
    pub level: String,
    /// `(bucket start in seconds, lines)`, ascending, with zero buckets
    /// between the first and the last.
    pub samples: Vec<(i64, u64)>,
}

/// What a pattern request reads.
#[derive(Clone, Copy, Debug)]
pub struct PatternParams {
    /// Inclusive start (ns).
    pub start_ns: i64,
    /// Exclusive end (ns).
    pub end_ns: i64,
    /// Bucket width (ns); raised to [`MIN_STEP_NS`].
    pub step_ns: i64,
}

type MinerKey = (SeriesId, String);

struct Sink<'a> {
    pipeline: &'a Pipeline,
    step_ns: i64,
    miners: HashMap<MinerKey, PatternMiner>,
    counts: HashMap<(MinerKey, ClusterId), BTreeMap<i64, u64>>,
    stream_labels: StreamLabelCache,
}

fn level_of(metadata: &[(String, String)]) -> String {
    metadata
        .iter()
        .find(|(n, _)| n == "detected_level")
        .map_or_else(|| "unknown".to_owned(), |(_, v)| v.to_lowercase())
}

impl ScanSink for Sink<'_> {
    fn rows(&mut self, stream: &Arc<SeriesEntry>, rows: Vec<HeadEntry>) {
        let labels = self.stream_labels.get(stream);
        let mut metadata = LabelPairs::new();
        for row in rows {
            let Some(out) = process_row(self.pipeline, &row, &labels, &mut metadata) else {
                continue;
            };
            let key = (stream.id, level_of(&metadata));
            let miner = self.miners.entry(key.clone()).or_default();
            let Some(cluster) = miner.train(&out.line) else {
                continue;
            };
            let bucket = row.ts_ns - row.ts_ns.rem_euclid(self.step_ns);
            *self
                .counts
                .entry((key, cluster))
                .or_default()
                .entry(bucket)
                .or_default() += 1;
        }
    }
}

/// Mines the patterns of the lines `query` matches in the range.
pub async fn run_patterns(
    engine: &LogsEngine,
    query: &LogQuery,
    params: PatternParams,
) -> Result<Vec<PatternSeries>, ExecError> {
    let pipeline = Pipeline::new(&query.pipeline)?;
    let matchers = storage_matchers(&query.matchers)?;
    let required = required_substrings(&query.pipeline);
    let scan = LogScan {
        matchers: &matchers,
        start_ns: params.start_ns,
        end_ns: params.end_ns,
        required: &required,
        backward: false,
    };
    let mut sink = Sink {
        pipeline: &pipeline,
        step_ns: params.step_ns.max(MIN_STEP_NS),
        miners: HashMap::new(),
        counts: HashMap::new(),
        stream_labels: StreamLabelCache::default(),
    };
    engine.scan(&scan, &mut sink).await?;
    Ok(summarise(sink))
}

/// Merges the clusters of every stream by pattern text and level, drops
/// the rare ones and keeps the most frequent.
fn summarise(sink: Sink<'_>) -> Vec<PatternSeries> {
    let mut merged: BTreeMap<(String, String), BTreeMap<i64, u64>> = BTreeMap::new();
    for (((stream, level), cluster), buckets) in sink.counts {
        let Some(pattern) = sink
            .miners
            .get(&(stream, level.clone()))
            .and_then(|m| m.pattern(cluster))
        else {
            continue;
        };
        let into = merged.entry((pattern, level)).or_default();
        for (bucket, n) in buckets {
            *into.entry(bucket).or_default() += n;
        }
    }
    let mut series: Vec<(u64, PatternSeries)> = merged
        .into_iter()
        .filter_map(|((pattern, level), buckets)| {
            let total: u64 = buckets.values().sum();
            (total >= MIN_PATTERN_LINES).then(|| {
                let samples = with_zero_buckets(&buckets, sink.step_ns);
                (
                    total,
                    PatternSeries {
                        pattern,
                        level,
                        samples,
                    },
                )
            })
        })
        .collect();
    series.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.pattern.cmp(&b.1.pattern))
            .then_with(|| a.1.level.cmp(&b.1.level))
    });
    series.truncate(MAX_PATTERNS);
    series.into_iter().map(|(_, s)| s).collect()
}

/// Counts per bucket in seconds, with empty buckets inside the span filled
/// with zeros so a sparkline dips instead of bridging the gap.
fn with_zero_buckets(buckets: &BTreeMap<i64, u64>, step_ns: i64) -> Vec<(i64, u64)> {
    let (Some((&first, _)), Some((&last, _))) =
        (buckets.first_key_value(), buckets.last_key_value())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut at = first;
    while at <= last {
        out.push((
            at.div_euclid(1_000_000_000),
            buckets.get(&at).copied().unwrap_or(0),
        ));
        at = at.saturating_add(step_ns);
        if at == i64::MAX {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_between_buckets_are_zero_filled_in_seconds() {
        let step = MIN_STEP_NS;
        let buckets: BTreeMap<i64, u64> = [(0, 2), (3 * step, 1)].into_iter().collect();
        assert_eq!(
            with_zero_buckets(&buckets, step),
            vec![(0, 2), (10, 0), (20, 0), (30, 1)]
        );
    }
}
