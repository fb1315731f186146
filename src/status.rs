//! `/api/v1/status/config`, `/api/v1/status/runtimeinfo` and
//! `/api/v1/status/storage`: what the UI's Status page shows about this
//! process. The first two have Prometheus' shapes; the storage report is
//! Hearth's own (per signal and UTC day, from the manifests).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hearth_query::ApiError;
use hearth_query::http::envelope::Success;
use hearth_storage::part::PartMeta;
use serde::Serialize;

use crate::admin::Engines;
use crate::alerting::Alerting;
use crate::config::Config;

/// What the status endpoints read.
#[derive(Clone)]
pub struct StatusState {
    /// The engines, for their parts and heads.
    pub engines: Engines,
    /// The configuration in force.
    pub config: Arc<Config>,
    /// When the process started.
    pub started: SystemTime,
    /// For the outcome of the last configuration reload.
    pub alerting: Arc<Alerting>,
}

/// The status routes.
pub fn routes(state: StatusState) -> Router {
    Router::new()
        .route("/api/v1/status/config", get(config))
        .route("/api/v1/status/runtimeinfo", get(runtime_info))
        .route("/api/v1/status/storage", get(storage))
        .with_state(state)
}

fn seconds(d: Option<Duration>) -> Option<u64> {
    d.map(|d| d.as_secs())
}

/// The settings people ask about, as YAML in Prometheus' `{yaml: …}` shape.
async fn config(State(s): State<StatusState>) -> Result<Response, ApiError> {
    let c = &s.config;
    let settings = serde_json::json!({
        "data_dir": c.data_dir.display().to_string(),
        "http_addr": c.http_addr.to_string(),
        "otlp_grpc_addr": c.otlp_grpc_addr.to_string(),
        "otlp_http_addr": c.otlp_http_addr.to_string(),
        "memory_limit_bytes": c.memory_limit,
        "retention_seconds": {
            "metrics": seconds(c.retention),
            "logs": seconds(c.logs_retention.or(c.retention)),
            "traces": seconds(c.traces_retention.or(c.retention)),
        },
        "retention_size_bytes": c.retention_size,
        "wal_fsync": format!("{:?}", c.wal_fsync),
        "out_of_order_window_seconds": c.out_of_order_window.as_secs(),
        "logs_out_of_order_window_seconds": c.logs_out_of_order_window.as_secs(),
        "flush_interval_seconds": c.flush_interval.as_secs(),
        "head_flush_size_bytes": c.head_flush_size,
        "compaction_fan_in": c.compaction_fan_in,
        "log_level": c.log_level,
    });
    let yaml = serde_norway::to_string(&settings)
        .map_err(|e| ApiError::internal(format!("cannot render the configuration: {e}")))?;
    Ok(Success::new(serde_json::json!({ "yaml": yaml })).into_response())
}

fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn runtime_info(State(s): State<StatusState>) -> Response {
    let reload = s.alerting.last_reload();
    let retention = match (s.config.retention, s.config.retention_size) {
        (None, None) => "unlimited".to_owned(),
        (age, size) => [
            age.map(|d| format!("{}s", d.as_secs())),
            size.map(|b| format!("{b}B")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" or "),
    };
    Success::new(serde_json::json!({
        "startTime": rfc3339(s.started),
        "CWD": std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default(),
        "reloadConfigSuccess": reload.success,
        "lastConfigTime": rfc3339(reload.loaded_at),
        "storageRetention": retention,
        "serverTime": rfc3339(SystemTime::now()),
    }))
    .into_response()
}

#[derive(Serialize, Default)]
struct DayUsage {
    day: String,
    parts: usize,
    rows: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct SignalUsage {
    signal: &'static str,
    /// What `rows` counts for this signal.
    rows_are: &'static str,
    retention_seconds: Option<u64>,
    head_bytes: usize,
    parts: usize,
    rows: u64,
    bytes: u64,
    days: Vec<DayUsage>,
}

fn usage(
    signal: &'static str,
    rows_are: &'static str,
    retention: Option<Duration>,
    head_bytes: usize,
    parts: &[PartMeta],
) -> SignalUsage {
    let mut days: BTreeMap<i64, DayUsage> = BTreeMap::new();
    for p in parts {
        let d = days.entry(p.day).or_default();
        d.parts += 1;
        d.rows += p.rows;
        d.bytes += p.bytes;
    }
    let days: Vec<DayUsage> = days
        .into_iter()
        .rev()
        .map(|(day, mut u)| {
            u.day = day
                .checked_mul(86_400)
                .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| day.to_string());
            u
        })
        .collect();
    SignalUsage {
        signal,
        rows_are,
        retention_seconds: seconds(retention),
        head_bytes,
        parts: parts.len(),
        rows: days.iter().map(|d| d.rows).sum(),
        bytes: days.iter().map(|d| d.bytes).sum(),
        days,
    }
}

async fn storage(State(s): State<StatusState>) -> Result<Response, ApiError> {
    let metrics = s.engines.metrics.get().ok_or_else(ApiError::not_ready)?;
    let logs = s.engines.logs.get().ok_or_else(ApiError::not_ready)?;
    let traces = s.engines.traces.get().ok_or_else(ApiError::not_ready)?;
    let c = &s.config;
    let signals = [
        usage(
            "metrics",
            "samples",
            c.retention,
            metrics.head_bytes(),
            &metrics.snapshot().parts,
        ),
        usage(
            "logs",
            "entries",
            c.logs_retention.or(c.retention),
            logs.head_bytes(),
            &logs.parts(),
        ),
        usage(
            "traces",
            "spans",
            c.traces_retention.or(c.retention),
            traces.head_bytes(),
            &traces.parts(),
        ),
    ];
    Ok(Success::new(serde_json::json!({
        "data_dir": c.data_dir.display().to_string(),
        "retention_size_bytes": c.retention_size,
        "signals": signals,
    }))
    .into_response())
}
