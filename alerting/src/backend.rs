//! What rules run against: a query language that answers instant queries
//! and a store that takes the series rules produce. PromQL over Hearth's
//! own metrics store is the one here; LogQL rules plug in beside it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hearth_query::promql::ast::Expr;
use hearth_query::promql::{self, EvalOptions, Value};
use hearth_storage::{
    EngineCell, Label, Labels, MetricsWrite, STALE_NAN_BITS, Sample, SeriesWrite,
};

/// One series of a rule's query result.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSample {
    /// Labels, `__name__` included when the query kept it.
    pub labels: BTreeMap<String, String>,
    /// The value at the evaluation time.
    pub value: f64,
}

/// A series a rule writes: its labels and one value at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSample {
    /// Labels, `__name__` included.
    pub labels: BTreeMap<String, String>,
    /// The value; a stale marker when the series ended.
    pub value: f64,
}

impl OutputSample {
    /// Prometheus' stale marker for a series a rule stopped producing.
    pub fn stale(labels: BTreeMap<String, String>) -> Self {
        Self {
            labels,
            value: f64::from_bits(STALE_NAN_BITS),
        }
    }
}

/// Queries for rules and storage for their results.
#[async_trait]
pub trait RuleBackend: Send + Sync + Debug {
    /// Evaluates `expr` at `t_ms`.
    async fn query(&self, expr: &Expr, t_ms: i64) -> Result<Vec<RuleSample>, String>;
    /// Stores `samples` at `t_ms`.
    async fn write(&self, samples: Vec<OutputSample>, t_ms: i64) -> Result<(), String>;
}

/// PromQL over the metrics store.
#[derive(Debug, Clone)]
pub struct StoreBackend {
    engine: EngineCell,
    lookback: Duration,
    timeout: Duration,
    max_samples: usize,
}

impl StoreBackend {
    /// A backend over `engine` with the query engine's limits.
    pub fn new(
        engine: EngineCell,
        lookback: Duration,
        timeout: Duration,
        max_samples: usize,
    ) -> Self {
        Self {
            engine,
            lookback,
            timeout,
            max_samples,
        }
    }
}

#[async_trait]
impl RuleBackend for StoreBackend {
    async fn query(&self, expr: &Expr, t_ms: i64) -> Result<Vec<RuleSample>, String> {
        let engine = self
            .engine
            .get()
            .ok_or_else(|| "storage is not ready yet".to_string())?;
        let options = EvalOptions {
            lookback_ms: i64::try_from(self.lookback.as_millis()).unwrap_or(i64::MAX),
            max_samples: self.max_samples,
            deadline: Some(Instant::now() + self.timeout),
            ..EvalOptions::default()
        };
        let evaluated = promql::instant(engine, expr, t_ms, &options)
            .await
            .map_err(|e| e.message)?;
        match evaluated.value {
            Value::Vector(series) => Ok(series
                .into_iter()
                .filter_map(|s| {
                    let value = s.points.first().copied().flatten()?;
                    let labels = s
                        .labels
                        .pairs()
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect();
                    Some(RuleSample { labels, value })
                })
                .collect()),
            Value::Scalar(values) => Ok(values
                .first()
                .map(|v| RuleSample {
                    labels: BTreeMap::new(),
                    value: *v,
                })
                .into_iter()
                .collect()),
            other => Err(format!(
                "rule result is not a vector or scalar: {}",
                other.type_name()
            )),
        }
    }

    async fn write(&self, samples: Vec<OutputSample>, t_ms: i64) -> Result<(), String> {
        if samples.is_empty() {
            return Ok(());
        }
        let engine = Arc::clone(
            self.engine
                .get()
                .ok_or_else(|| "storage is not ready yet".to_string())?,
        );
        let mut write = MetricsWrite::default();
        for sample in samples {
            let labels = Labels::new(
                sample
                    .labels
                    .into_iter()
                    .map(|(n, v)| Label::new(n, v))
                    .collect(),
            )
            .map_err(|e| e.to_string())?;
            write.series.push(SeriesWrite {
                labels,
                samples: vec![Sample {
                    ts: t_ms,
                    value: sample.value,
                }],
                exemplars: Vec::new(),
            });
        }
        let outcome = tokio::task::spawn_blocking(move || engine.append(write))
            .await
            .map_err(|e| format!("write task failed: {e}"))?
            .map_err(|e| e.to_string())?;
        // Out-of-order rejections of a re-evaluated slot are expected after
        // a restart and are not the rule's fault; anything else is.
        let mut problems = outcome
            .rejected
            .iter()
            .filter(|r| r.reason != "out_of_order");
        match problems.next() {
            Some(r) => Err(format!(
                "{} series not stored, e.g. {}: {}",
                1 + problems.count(),
                r.series,
                r.detail
            )),
            None => Ok(()),
        }
    }
}
