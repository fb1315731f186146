//! What rules run against: a query language that answers instant queries
//! and a store that takes the series rules produce. PromQL runs over
//! Hearth's metrics store, LogQL metric queries over its logs store; what
//! either produces is written to the metrics store.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hearth_query::logql::ast::MetricExpr;
use hearth_query::logql::eval::metric::{MetricLimits, MetricQuery, MetricResult};
use hearth_query::logql::exec::run_metric_query;
use hearth_query::promql::ast::Expr;
use hearth_query::promql::{self, EvalOptions, Value};
use hearth_storage::logs::LogsCell;
use hearth_storage::{
    EngineCell, Label, Labels, MetricsWrite, STALE_NAN_BITS, Sample, SeriesWrite,
};

use crate::rulefmt::RuleExpr;

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
    async fn query(&self, expr: &RuleExpr, t_ms: i64) -> Result<Vec<RuleSample>, String>;
    /// Stores `samples` at `t_ms`.
    async fn write(&self, samples: Vec<OutputSample>, t_ms: i64) -> Result<(), String>;
}

/// PromQL over the metrics store and LogQL over the logs store.
#[derive(Debug, Clone)]
pub struct StoreBackend {
    engine: EngineCell,
    logs: LogsCell,
    lookback: Duration,
    timeout: Duration,
    max_samples: usize,
}

impl StoreBackend {
    /// A backend over `engine` (metrics) and `logs` with the query
    /// engine's limits; `timeout` bounds queries of either language.
    pub fn new(
        engine: EngineCell,
        logs: LogsCell,
        lookback: Duration,
        timeout: Duration,
        max_samples: usize,
    ) -> Self {
        Self {
            engine,
            logs,
            lookback,
            timeout,
            max_samples,
        }
    }

    async fn promql(&self, expr: &Expr, t_ms: i64) -> Result<Vec<RuleSample>, String> {
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

    async fn logql(&self, expr: &MetricExpr, t_ms: i64) -> Result<Vec<RuleSample>, String> {
        let engine = self
            .logs
            .get()
            .ok_or_else(|| "log storage is not ready yet".to_string())?;
        let t_ns = t_ms.saturating_mul(1_000_000);
        let instant = MetricQuery {
            start_ns: t_ns,
            end_ns: t_ns,
            step_ns: 1,
        };
        let run = run_metric_query(engine, expr, instant, MetricLimits::default());
        let (result, _) = tokio::time::timeout(self.timeout, run)
            .await
            .map_err(|_| format!("query timed out after {:?}", self.timeout))?
            .map_err(|e| e.to_string())?;
        logql_samples(result)
    }
}

/// A LogQL instant result as rule samples; a scalar is one sample without
/// labels, as a PromQL scalar is.
fn logql_samples(result: MetricResult) -> Result<Vec<RuleSample>, String> {
    match result {
        MetricResult::Vector(points) => Ok(points
            .into_iter()
            .map(|p| RuleSample {
                labels: p.labels.into_iter().collect(),
                value: p.value,
            })
            .collect()),
        MetricResult::Scalar(_, value) => Ok(vec![RuleSample {
            labels: BTreeMap::new(),
            value,
        }]),
        MetricResult::Matrix(_) => Err("rule result is not a vector or scalar: matrix".into()),
    }
}

#[async_trait]
impl RuleBackend for StoreBackend {
    async fn query(&self, expr: &RuleExpr, t_ms: i64) -> Result<Vec<RuleSample>, String> {
        match expr {
            RuleExpr::Promql(e) => self.promql(e, t_ms).await,
            RuleExpr::Logql(e) => self.logql(e, t_ms).await,
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

#[cfg(test)]
mod tests {
    use hearth_query::logql::eval::metric::{SeriesPoint, SeriesPoints};

    use super::*;

    #[test]
    fn logql_vectors_become_samples() {
        let result = MetricResult::Vector(vec![SeriesPoint {
            labels: vec![("app".into(), "a".into()), ("env".into(), "p".into())],
            ts_ns: 5,
            value: 3.0,
        }]);
        let got = logql_samples(result);
        assert_eq!(
            got,
            Ok(vec![RuleSample {
                labels: BTreeMap::from([
                    ("app".to_string(), "a".to_string()),
                    ("env".to_string(), "p".to_string()),
                ]),
                value: 3.0,
            }])
        );
    }

    #[test]
    fn a_logql_scalar_is_one_sample_without_labels() {
        let got = logql_samples(MetricResult::Scalar(5, 2.5));
        assert_eq!(
            got,
            Ok(vec![RuleSample {
                labels: BTreeMap::new(),
                value: 2.5,
            }])
        );
    }

    #[test]
    fn a_logql_matrix_is_refused() {
        let matrix = MetricResult::Matrix(vec![SeriesPoints {
            labels: Vec::new(),
            points: vec![(1, 1.0)],
        }]);
        assert_eq!(
            logql_samples(matrix),
            Err("rule result is not a vector or scalar: matrix".into())
        );
    }

    #[tokio::test]
    async fn each_language_needs_its_store_open() {
        let backend = StoreBackend::new(
            EngineCell::new(),
            LogsCell::new(),
            Duration::from_secs(300),
            Duration::from_secs(10),
            1000,
        );
        let promql = RuleExpr::parse(crate::rulefmt::Language::Promql, "up");
        let logql = RuleExpr::parse(
            crate::rulefmt::Language::Logql,
            r#"count_over_time({app="a"}[5m])"#,
        );
        let (Ok(promql), Ok(logql)) = (promql, logql) else {
            panic!("expressions parse");
        };
        assert_eq!(
            backend.query(&promql, 0).await,
            Err("storage is not ready yet".into())
        );
        assert_eq!(
            backend.query(&logql, 0).await,
            Err("log storage is not ready yet".into())
        );
    }
}
