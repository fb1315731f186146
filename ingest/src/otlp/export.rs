//! What an OTLP export does once its message is decoded, whichever
//! transport brought it: convert, store, and say what was refused. The
//! answer is shaped by the spec's rules, so transports only translate it:
//! refusals a sender should retry are [`ExportError::Unavailable`] (HTTP 503
//! or gRPC UNAVAILABLE; never a plain 500, which exporters drop), bad data
//! is [`ExportError::Invalid`], and a request stored in part is a success
//! with a partial-success count and message.

use std::fmt::Write as _;
use std::sync::Arc;

use hearth_storage::logs::LogsCell;
use hearth_storage::{EngineCell, Error as StorageError, TracesCell};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use parking_lot::Mutex;

use super::limits::OtlpLimits;
use super::logs::{OtlpLogsOptions, decode_logs};
use super::metrics::{TranslateOptions, translate};
use super::spanmetrics::SpanMetricsGenerator;
use super::traces::{decode_traces, span_count};
use crate::loki_push::Limits as LogLimits;
use crate::metrics::IngestMetrics;

/// Problems listed in a partial-success message; the rest are counted.
const LISTED_PROBLEMS: usize = 10;

/// Everything the OTLP receivers need, shared by the HTTP and gRPC
/// transports.
#[derive(Clone, Debug)]
pub struct OtlpIngest {
    /// The metrics engine, once replay is done.
    pub metrics_engine: EngineCell,
    /// The logs engine, once replay is done.
    pub logs_engine: LogsCell,
    /// The traces engine, once replay is done.
    pub traces_engine: TracesCell,
    /// Span metrics and service graph, derived from spans into the metrics
    /// store; `None` when switched off.
    pub span_metrics: Option<Arc<Mutex<SpanMetricsGenerator>>>,
    /// Request limits.
    pub limits: OtlpLimits,
    /// Loki push's limits, which OTLP logs obey too.
    pub log_limits: Arc<LogLimits>,
    /// How log records become streams.
    pub logs: Arc<OtlpLogsOptions>,
    /// How metrics become Prometheus series.
    pub metrics: Arc<TranslateOptions>,
    /// Counters.
    pub counters: IngestMetrics,
}

/// A stored export: what was refused (0 when everything was kept).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Spans, data points or log records refused.
    pub rejected: i64,
    /// Why, for people; empty when nothing was refused.
    pub message: String,
}

/// An export refused as a whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The data is bad; retrying will not help.
    #[error("{0}")]
    Invalid(String),
    /// Storage cannot take it now (replaying, over budget, shutting down,
    /// failing); the sender should retry later.
    #[error("{0}")]
    Unavailable(String),
}

fn storage_refusal(signal: &str, e: StorageError) -> ExportError {
    match e {
        StorageError::OverBudget { .. } | StorageError::ShuttingDown => {
            ExportError::Unavailable(e.to_string())
        }
        other => {
            tracing::error!(error = %other, signal, "OTLP export could not be stored");
            ExportError::Unavailable(format!("storage error: {other}"))
        }
    }
}

fn join_error(e: tokio::task::JoinError) -> ExportError {
    ExportError::Unavailable(format!("export task failed: {e}"))
}

/// Builds the partial-success message from the listed problems.
fn summary(kind: &str, rejected: usize, problems: &[String]) -> String {
    let mut msg = format!("{rejected} {kind} were refused:");
    for p in problems.iter().take(LISTED_PROBLEMS) {
        let _ = write!(msg, "\n{p}");
    }
    if problems.len() > LISTED_PROBLEMS {
        let _ = write!(msg, "\n... and {} more", problems.len() - LISTED_PROBLEMS);
    }
    msg
}

impl OtlpIngest {
    /// Stores OTLP log records in the logs store.
    pub async fn export_logs(
        &self,
        req: ExportLogsServiceRequest,
    ) -> Result<Accepted, ExportError> {
        const SIGNAL: &str = "logs";
        let Some(engine) = self.logs_engine.get().cloned() else {
            return Err(ExportError::Unavailable(
                "storage is replaying its write-ahead log".into(),
            ));
        };
        let (opts, limits) = (Arc::clone(&self.logs), Arc::clone(&self.log_limits));
        let now_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        let decoded =
            tokio::task::spawn_blocking(move || decode_logs(&req, &opts, &limits, now_ns))
                .await
                .map_err(join_error)?
                .map_err(ExportError::Invalid)?;
        let mut problems: Vec<String> = Vec::new();
        let mut lost = 0usize;
        for r in &decoded.rejected {
            self.counters.rejected(SIGNAL, r.reason.as_str(), r.entries);
            lost += r.entries;
            problems.push(r.to_string());
        }
        let write = decoded.write;
        if !write.is_empty() {
            let outcome = tokio::task::spawn_blocking(move || engine.append(write))
                .await
                .map_err(join_error)?
                .map_err(|e| storage_refusal(SIGNAL, e))?;
            self.counters.ingested(SIGNAL, outcome.entries_written);
            self.counters
                .log_bytes_ingested
                .inc_by(outcome.bytes_written as u64);
            for r in &outcome.rejected {
                self.counters.rejected(SIGNAL, r.reason, r.entries);
                lost += r.entries;
                problems.push(r.detail.clone());
            }
        }
        Ok(accepted("log records", lost, &problems))
    }

    /// Stores OTLP metrics in the metrics store under Prometheus' names.
    pub async fn export_metrics(
        &self,
        req: ExportMetricsServiceRequest,
    ) -> Result<Accepted, ExportError> {
        const SIGNAL: &str = "metrics";
        let Some(engine) = self.metrics_engine.get().cloned() else {
            return Err(ExportError::Unavailable(
                "storage is replaying its write-ahead log".into(),
            ));
        };
        let opts = Arc::clone(&self.metrics);
        let translated = tokio::task::spawn_blocking(move || translate(&req, &opts))
            .await
            .map_err(join_error)?;
        let mut problems = translated.errors;
        let mut lost = usize::try_from(translated.rejected_points).unwrap_or(usize::MAX);
        if lost > 0 {
            self.counters.rejected(SIGNAL, "otlp_translation", lost);
        }
        let write = translated.write;
        if !write.series.is_empty() || !write.metadata.is_empty() {
            let outcome = tokio::task::spawn_blocking(move || engine.append(write))
                .await
                .map_err(join_error)?
                .map_err(|e| storage_refusal(SIGNAL, e))?;
            self.counters.ingested(SIGNAL, outcome.samples_written);
            self.counters
                .exemplars_ingested
                .inc_by(outcome.exemplars_written as u64);
            for r in &outcome.rejected {
                self.counters.rejected(SIGNAL, r.reason, r.samples);
                lost += r.samples;
                problems.push(format!("{}: {}", r.series, r.detail));
            }
        }
        Ok(accepted("data points", lost, &problems))
    }

    /// Stores OTLP spans in the traces store, and the span metrics and
    /// service-graph series they imply in the metrics store.
    pub async fn export_traces(
        &self,
        req: ExportTraceServiceRequest,
    ) -> Result<Accepted, ExportError> {
        const SIGNAL: &str = "traces";
        let spans = span_count(&req);
        if spans > self.limits.max_spans_per_request {
            return Err(ExportError::Invalid(format!(
                "request has {spans} spans, more than the limit of {}",
                self.limits.max_spans_per_request
            )));
        }
        let Some(engine) = self.traces_engine.get().cloned() else {
            return Err(ExportError::Unavailable(
                "storage is replaying its write-ahead log".into(),
            ));
        };
        let limits = self.limits;
        let generator = self.span_metrics.clone();
        let now_ms = chrono::Utc::now().timestamp_millis();
        let (decoded, derived) = tokio::task::spawn_blocking(move || {
            let derived = generator.map(|g| g.lock().observe(&req, now_ms));
            (decode_traces(req, &limits), derived)
        })
        .await
        .map_err(join_error)?;
        let mut problems = decoded.problems;
        let mut lost = decoded.rejected;
        if lost > 0 {
            self.counters.rejected(SIGNAL, "invalid_span", lost);
        }
        let write = decoded.write;
        if !write.spans.is_empty() {
            let outcome = tokio::task::spawn_blocking(move || engine.append(write))
                .await
                .map_err(join_error)?
                .map_err(|e| storage_refusal(SIGNAL, e))?;
            self.counters.ingested(SIGNAL, outcome.spans_written);
            for r in &outcome.rejected {
                self.counters.rejected(SIGNAL, "invalid_span", 1);
                lost += 1;
                problems.push(r.detail.clone());
            }
        }
        // Derived series are best effort: the spans are stored, so a full
        // metrics head must not make the exporter send them again.
        if let Some(write) = derived.filter(|w| !w.series.is_empty())
            && let Some(metrics) = self.metrics_engine.get().cloned()
        {
            match tokio::task::spawn_blocking(move || metrics.append(write)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "span metrics could not be stored"),
                Err(e) => tracing::warn!(error = %e, "span metrics task failed"),
            }
        }
        Ok(accepted("spans", lost, &problems))
    }
}

fn accepted(kind: &str, lost: usize, problems: &[String]) -> Accepted {
    if lost == 0 && problems.is_empty() {
        return Accepted::default();
    }
    Accepted {
        rejected: i64::try_from(lost).unwrap_or(i64::MAX),
        message: summary(kind, lost, problems),
    }
}
