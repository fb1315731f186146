//! Configuration, built in two phases: [`RawConfig`] is the YAML file as
//! written (every key optional, unknown keys rejected), [`Config`] is the
//! validated result after flags and `HEARTH_*` variables are applied.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::units::{parse_bytes, parse_duration};

/// A duration written as `15d`, `1h30m`, `500ms` or a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", self.0.as_millis()))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 30s, 5m, 1h30m or 15d")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                parse_duration(v).map(HumanDuration).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<HumanDuration, E> {
                Ok(HumanDuration(Duration::from_secs(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<HumanDuration, E> {
                parse_duration(&v.to_string())
                    .map(HumanDuration)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A byte size written as `2GiB`, `512MB` or a plain number of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as 512MB, 2GiB or a number of bytes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse_bytes(v).map(ByteSize).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// The configuration file as written. Every key is optional.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where the WAL, parts and manifests live. Default `./data`.
    pub data_dir: Option<PathBuf>,
    /// HTTP listener for every API, the UI and `/metrics`. Default `0.0.0.0:9700`.
    pub http_addr: Option<String>,
    /// OTLP gRPC listener. Default `0.0.0.0:4317`.
    pub otlp_grpc_addr: Option<String>,
    /// OTLP/HTTP listener. Default `0.0.0.0:4318`.
    pub otlp_http_addr: Option<String>,
    /// Drop data older than this. Default `15d`; `0` keeps data forever.
    pub retention: Option<HumanDuration>,
    /// Drop the oldest days while data takes more than this. Default: no limit.
    pub retention_size: Option<ByteSize>,
    /// Memory budget shared by heads, caches and queries. Default `2GiB`.
    pub memory_limit: Option<ByteSize>,
    /// Log level filter (`error`, `warn`, `info`, `debug`, `trace`, or a
    /// `tracing` filter directive). Default `info`; `RUST_LOG` overrides it.
    pub log_level: Option<String>,
    /// `text` (default) or `json`.
    pub log_format: Option<LogFormat>,
    /// Storage engine settings.
    #[serde(default)]
    pub storage: RawStorage,
    /// Remote-write limits.
    #[serde(default)]
    pub remote_write: RawRemoteWrite,
    /// Loki push limits and logs storage settings.
    #[serde(default)]
    pub logs: RawLogs,
    /// PromQL engine settings.
    #[serde(default)]
    pub query: RawQuery,
    /// OTLP receiver settings.
    #[serde(default)]
    pub otlp: RawOtlp,
    /// Traces storage and the metrics derived from spans.
    #[serde(default)]
    pub traces: RawTraces,
    /// Prometheus rule files to load (globs in the file name allowed);
    /// `--rules` adds more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_files: Vec<String>,
    /// Rule evaluation settings.
    #[serde(default)]
    pub alerting: RawAlerting,
    /// Where alerts go: Alertmanager's `route`, `receivers` and
    /// `inhibit_rules`, with webhook, ntfy and Alertmanager receivers.
    #[serde(default)]
    pub notifications: hearth_alerting::notify::NotificationsConfig,
}

/// `alerting:` section.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawAlerting {
    /// Interval of rule groups that set none (Prometheus'
    /// `global.evaluation_interval`). Default `1m`.
    pub evaluation_interval: Option<HumanDuration>,
    /// How often a still-firing alert is handed to the notifier again.
    /// Default `1m`.
    pub resend_delay: Option<HumanDuration>,
    /// The URL users reach Hearth at, for links in notifications. Default
    /// `http://<hostname>:<http port>`.
    pub external_url: Option<String>,
    /// Labels added to every alert sent (Prometheus' `external_labels`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub external_labels: std::collections::BTreeMap<String, String>,
}

/// `query:` section.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawQuery {
    /// How far back an instant selector looks for a sample. Default `5m`.
    pub lookback_delta: Option<HumanDuration>,
    /// Longest a query may run; a request's `timeout` can only shorten it.
    /// Default `2m`.
    pub timeout: Option<HumanDuration>,
    /// Most samples one query may load. Default 50000000.
    pub max_samples: Option<usize>,
    /// Most series one selector may select; 0 means no limit. Default 0.
    pub max_series_per_selector: Option<usize>,
    /// Step of subqueries written without one. Default `1m`.
    pub default_subquery_step: Option<HumanDuration>,
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `storage:` section.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawStorage {
    /// `per_request`, or the longest time between WAL fsyncs (group commit).
    /// Default `1s`.
    pub wal_fsync: Option<String>,
    /// How far behind a series' newest sample a sample is still accepted.
    /// Default `10m`.
    pub out_of_order_window: Option<HumanDuration>,
    /// Flush the in-memory head to Parquet at least this often. Default `30m`.
    pub flush_interval: Option<HumanDuration>,
    /// Flush the head as soon as it holds about this much. Default `64MiB`.
    pub head_flush_size: Option<ByteSize>,
    /// Merge parts of the current day once this many share a level. Default 4.
    pub compaction_fan_in: Option<usize>,
}

/// `remote_write:` section.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRemoteWrite {
    /// Largest compressed request body. Default `32MiB`.
    pub max_body_size: Option<ByteSize>,
    /// Largest decompressed request. Default `128MiB`.
    pub max_decompressed_size: Option<ByteSize>,
    /// Most series in one request. Default 100000.
    pub max_series_per_request: Option<usize>,
    /// Most labels on one series. Default 64.
    pub max_labels_per_series: Option<usize>,
    /// Longest label name in bytes. Default 1024.
    pub max_label_name_length: Option<usize>,
    /// Longest label value in bytes. Default 4096.
    pub max_label_value_length: Option<usize>,
}

/// `logs:` section: Loki push limits and logs storage.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawLogs {
    /// Longest line. Default `256KiB` (Loki's `max_line_size`).
    pub max_line_size: Option<ByteSize>,
    /// Most labels on one stream. Default 15.
    pub max_labels_per_stream: Option<usize>,
    /// Entries older than this when they arrive are refused. Default `7d`
    /// (Loki's `reject_old_samples_max_age`); `0s` accepts any age.
    pub reject_older_than: Option<HumanDuration>,
    /// How far behind a stream's newest entry an entry may arrive.
    /// Default `1h`.
    pub out_of_order_window: Option<HumanDuration>,
    /// How long log data is kept. Default: the storage retention.
    pub retention: Option<HumanDuration>,
    /// Attach a `detected_level` to every entry as structured metadata.
    /// Default `true` (Loki's `discover_log_levels`).
    pub discover_log_levels: Option<bool>,
}

/// `otlp:` section.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawOtlp {
    /// Largest request body, before and after gzip. Default `64MiB`.
    pub max_request_size: Option<ByteSize>,
    /// Resource attributes of OTLP logs that become stream labels (dots
    /// become `_`); the rest become structured metadata. Default: Loki's
    /// list (`service.name`, `k8s.namespace.name`, `k8s.pod.name`, …).
    pub log_stream_labels: Option<Vec<String>>,
    /// Resource attributes copied onto every metric series of their
    /// resource (Prometheus' `otlp.promote_resource_attributes`). Default
    /// none: they stay on `target_info`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promote_resource_attributes: Vec<String>,
    /// Add `otel_scope_name`/`otel_scope_version` labels to metric series
    /// (Prometheus' `otlp.promote_scope_metadata`). Default `false`.
    pub promote_scope_metadata: Option<bool>,
}

/// `traces:` section.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawTraces {
    /// How long spans are kept. Default: the storage retention.
    pub retention: Option<HumanDuration>,
    /// Derive Tempo's span metrics (`traces_spanmetrics_*`) from spans at
    /// ingest. Default `true`.
    pub span_metrics: Option<bool>,
    /// Derive Tempo's service-graph series (`traces_service_graph_*`) from
    /// client/server span pairs at ingest. Default `true`.
    pub service_graph: Option<bool>,
}

/// Values given on the command line or in `HEARTH_*` variables; they win
/// over the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--http-addr`
    pub http_addr: Option<String>,
    /// `--otlp-grpc-addr`
    pub otlp_grpc_addr: Option<String>,
    /// `--otlp-http-addr`
    pub otlp_http_addr: Option<String>,
    /// `--retention`
    pub retention: Option<String>,
    /// `--retention-size`
    pub retention_size: Option<String>,
    /// `--memory-limit`
    pub memory_limit: Option<String>,
    /// `--rules`, added to the file's `rule_files`.
    pub rules: Vec<String>,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// HTTP listener.
    pub http_addr: SocketAddr,
    /// OTLP gRPC listener.
    pub otlp_grpc_addr: SocketAddr,
    /// OTLP/HTTP listener.
    pub otlp_http_addr: SocketAddr,
    /// Retention by age; `None` keeps data forever.
    pub retention: Option<Duration>,
    /// Retention by size.
    pub retention_size: Option<u64>,
    /// Memory budget.
    pub memory_limit: u64,
    /// Log filter.
    pub log_level: String,
    /// Log format.
    pub log_format: LogFormat,
    /// WAL fsync policy.
    pub wal_fsync: hearth_storage::wal::FsyncPolicy,
    /// Out-of-order window.
    pub out_of_order_window: Duration,
    /// Head flush interval.
    pub flush_interval: Duration,
    /// Head size that triggers a flush.
    pub head_flush_size: u64,
    /// Compaction fan-in.
    pub compaction_fan_in: usize,
    /// Remote-write limits.
    pub remote_write: hearth_ingest::prom_remote_write::Limits,
    /// Loki push limits.
    pub loki_push: hearth_ingest::loki_push::Limits,
    /// Oldest acceptable log entry age; `None` accepts any.
    pub logs_max_entry_age: Option<Duration>,
    /// How far in the future a log entry may be.
    pub logs_max_entry_future: Duration,
    /// Logs out-of-order window.
    pub logs_out_of_order_window: Duration,
    /// Logs retention (falls back to `retention`).
    pub logs_retention: Option<Duration>,
    /// Traces retention (falls back to `retention`).
    pub traces_retention: Option<Duration>,
    /// Span metrics and service graph generation; both off means none.
    pub span_metrics: hearth_ingest::otlp::spanmetrics::SpanMetricsOptions,
    /// PromQL engine settings.
    pub promql: hearth_query::http::query::PromqlSettings,
    /// OTLP request limits.
    pub otlp_limits: hearth_ingest::otlp::OtlpLimits,
    /// How OTLP log records become streams.
    pub otlp_logs: hearth_ingest::otlp::OtlpLogsOptions,
    /// How OTLP metrics become series.
    pub otlp_metrics: hearth_ingest::otlp::metrics::TranslateOptions,
    /// Rule file globs: the file's, then the command line's.
    pub rule_files: Vec<String>,
    /// Rule evaluation settings.
    pub alerting: AlertingSettings,
    /// The notification tree, validated.
    pub notifications: hearth_alerting::notify::NotificationsConfig,
    /// The file this came from, re-read on reload.
    pub config_file: Option<PathBuf>,
    /// Start of the manual test clock, when one is used.
    pub test_clock: Option<i64>,
}

/// Validated `alerting:` settings.
#[derive(Clone, Debug)]
pub struct AlertingSettings {
    /// Default group interval.
    pub evaluation_interval: Duration,
    /// Resend delay of firing alerts.
    pub resend_delay: Duration,
    /// Hearth's external URL, without a trailing slash.
    pub external_url: String,
    /// Labels added to alerts.
    pub external_labels: std::collections::BTreeMap<String, String>,
}

/// A configuration problem, with where it is when it comes from a file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid YAML or has a bad key or value.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A value (from any source) is invalid.
    #[error("{key}: {message}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl RawConfig {
    /// Reads and parses a YAML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml(&text, path)
    }

    /// Parses YAML text; `path` names it in errors.
    pub fn from_yaml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_norway::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let message = e.to_string();
            // The library appends its own position; ours leads the line.
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        })
    }
}

fn addr(key: &'static str, value: Option<&str>, default: &str) -> Result<SocketAddr, ConfigError> {
    let v = value.unwrap_or(default);
    let v = if v.starts_with(':') {
        format!("0.0.0.0{v}")
    } else {
        v.to_owned()
    };
    v.parse().map_err(|_| ConfigError::Invalid {
        key,
        message: format!("{v:?} is not a listen address such as 0.0.0.0:9700 or 127.0.0.1:9700"),
    })
}

fn invalid(key: &'static str) -> impl Fn(String) -> ConfigError {
    move |message| ConfigError::Invalid { key, message }
}

impl Config {
    /// Applies overrides to the file's values and validates the result.
    pub fn build(raw: RawConfig, o: Overrides) -> Result<Self, ConfigError> {
        let retention = match o.retention.as_deref() {
            Some(s) => parse_duration(s).map_err(invalid("retention"))?,
            None => raw
                .retention
                .map_or(Duration::from_secs(15 * 86_400), |d| d.0),
        };
        let retention_size = match o.retention_size.as_deref() {
            Some(s) => parse_bytes(s).map_err(invalid("retention_size"))?,
            None => raw.retention_size.map_or(0, |b| b.0),
        };
        let memory_limit = match o.memory_limit.as_deref() {
            Some(s) => parse_bytes(s).map_err(invalid("memory_limit"))?,
            None => raw.memory_limit.map_or(2 << 30, |b| b.0),
        };
        if memory_limit < (64 << 20) {
            return Err(ConfigError::Invalid {
                key: "memory_limit",
                message: format!("{memory_limit} bytes is too small; Hearth needs at least 64MiB"),
            });
        }
        let wal_fsync = match raw.storage.wal_fsync.as_deref() {
            None => hearth_storage::wal::FsyncPolicy::default(),
            Some("per_request") => hearth_storage::wal::FsyncPolicy::PerRequest,
            Some(s) => {
                let d = parse_duration(s).map_err(|e| ConfigError::Invalid {
                    key: "storage.wal_fsync",
                    message: format!("{e}; use per_request or a duration such as 1s"),
                })?;
                hearth_storage::wal::FsyncPolicy::Interval(d.max(Duration::from_millis(1)))
            }
        };
        let mut loki_push = hearth_ingest::loki_push::Limits::default();
        if let Some(b) = raw.logs.max_line_size {
            loki_push.max_line_bytes = b.0 as usize;
        }
        if let Some(n) = raw.logs.max_labels_per_stream {
            loki_push.max_labels_per_stream = n;
        }
        if let Some(on) = raw.logs.discover_log_levels {
            loki_push.discover_log_levels = on;
        }
        let mut otlp_limits = hearth_ingest::otlp::OtlpLimits::default();
        if let Some(b) = raw.otlp.max_request_size {
            otlp_limits.max_body_bytes = b.0 as usize;
            otlp_limits.max_decompressed_bytes = b.0 as usize;
        }
        let mut otlp_logs = hearth_ingest::otlp::OtlpLogsOptions::default();
        if let Some(list) = &raw.otlp.log_stream_labels {
            otlp_logs.stream_label_attributes = list.clone();
        }
        let otlp_metrics = hearth_ingest::otlp::metrics::TranslateOptions {
            promote_resource_attributes: raw.otlp.promote_resource_attributes.clone(),
            promote_scope_metadata: raw.otlp.promote_scope_metadata.unwrap_or(false),
            ..Default::default()
        };
        let logs_max_entry_age = match raw.logs.reject_older_than {
            None => Some(Duration::from_secs(7 * 86_400)),
            Some(d) if d.0.is_zero() => None,
            Some(d) => Some(d.0),
        };
        let defaults = hearth_ingest::prom_remote_write::Limits::default();
        let rw = &raw.remote_write;
        let remote_write = hearth_ingest::prom_remote_write::Limits {
            max_body_bytes: rw
                .max_body_size
                .map_or(defaults.max_body_bytes, |b| b.0 as usize),
            max_decompressed_bytes: rw
                .max_decompressed_size
                .map_or(defaults.max_decompressed_bytes, |b| b.0 as usize),
            max_series_per_request: rw
                .max_series_per_request
                .unwrap_or(defaults.max_series_per_request),
            max_labels_per_series: rw
                .max_labels_per_series
                .unwrap_or(defaults.max_labels_per_series),
            max_label_name_len: rw
                .max_label_name_length
                .unwrap_or(defaults.max_label_name_len),
            max_label_value_len: rw
                .max_label_value_length
                .unwrap_or(defaults.max_label_value_len),
        };
        let fan_in = raw.storage.compaction_fan_in.unwrap_or(4);
        if fan_in < 2 {
            return Err(ConfigError::Invalid {
                key: "storage.compaction_fan_in",
                message: "must be at least 2".into(),
            });
        }
        let qd = hearth_query::http::query::PromqlSettings::default();
        let q = &raw.query;
        let promql = hearth_query::http::query::PromqlSettings {
            lookback: q.lookback_delta.map_or(qd.lookback, |d| d.0),
            timeout: q.timeout.map_or(qd.timeout, |d| d.0),
            max_samples: q.max_samples.unwrap_or(qd.max_samples),
            max_series_per_selector: q
                .max_series_per_selector
                .unwrap_or(qd.max_series_per_selector),
            default_subquery_step: q
                .default_subquery_step
                .map_or(qd.default_subquery_step, |d| d.0),
        };
        for (key, d) in [
            ("query.lookback_delta", promql.lookback),
            ("query.timeout", promql.timeout),
            ("query.default_subquery_step", promql.default_subquery_step),
        ] {
            if d.is_zero() {
                return Err(ConfigError::Invalid {
                    key,
                    message: "must be greater than 0".into(),
                });
            }
        }
        let http_addr = addr(
            "http_addr",
            o.http_addr.as_deref().or(raw.http_addr.as_deref()),
            "0.0.0.0:9700",
        )?;
        let alerting = alerting_settings(&raw.alerting, http_addr)?;
        raw.notifications
            .validate()
            .map_err(|e| ConfigError::Invalid {
                key: "notifications",
                message: e.to_string(),
            })?;
        let mut rule_files = raw.rule_files.clone();
        rule_files.extend(o.rules.iter().cloned());
        let otlp_metrics = hearth_ingest::otlp::metrics::TranslateOptions {
            lookback_delta_ms: i64::try_from(promql.lookback.as_millis()).unwrap_or(i64::MAX),
            ..otlp_metrics
        };
        Ok(Self {
            data_dir: o
                .data_dir
                .or(raw.data_dir)
                .unwrap_or_else(|| PathBuf::from("./data")),
            http_addr,
            otlp_grpc_addr: addr(
                "otlp_grpc_addr",
                o.otlp_grpc_addr
                    .as_deref()
                    .or(raw.otlp_grpc_addr.as_deref()),
                "0.0.0.0:4317",
            )?,
            otlp_http_addr: addr(
                "otlp_http_addr",
                o.otlp_http_addr
                    .as_deref()
                    .or(raw.otlp_http_addr.as_deref()),
                "0.0.0.0:4318",
            )?,
            retention: (!retention.is_zero()).then_some(retention),
            retention_size: (retention_size > 0).then_some(retention_size),
            memory_limit,
            log_level: raw.log_level.unwrap_or_else(|| "info".into()),
            log_format: raw.log_format.unwrap_or_default(),
            wal_fsync,
            out_of_order_window: raw
                .storage
                .out_of_order_window
                .map_or(Duration::from_secs(600), |d| d.0),
            flush_interval: raw
                .storage
                .flush_interval
                .map_or(Duration::from_secs(1800), |d| d.0),
            compaction_fan_in: fan_in,
            head_flush_size: raw
                .storage
                .head_flush_size
                .map_or(64 << 20, |b| b.0)
                .max(1 << 20),
            remote_write,
            loki_push,
            logs_max_entry_age,
            logs_max_entry_future: Duration::from_secs(600),
            logs_out_of_order_window: raw
                .logs
                .out_of_order_window
                .map_or(Duration::from_secs(3600), |d| d.0),
            logs_retention: raw.logs.retention.map(|d| d.0),
            traces_retention: raw.traces.retention.map(|d| d.0),
            span_metrics: hearth_ingest::otlp::spanmetrics::SpanMetricsOptions {
                span_metrics: raw.traces.span_metrics.unwrap_or(true),
                service_graph: raw.traces.service_graph.unwrap_or(true),
                ..Default::default()
            },
            promql,
            otlp_limits,
            otlp_logs,
            otlp_metrics,
            rule_files,
            alerting,
            notifications: raw.notifications,
            config_file: None,
            test_clock: None,
        })
    }

    /// The storage engine options this configuration implies.
    pub fn engine_options(&self) -> hearth_storage::EngineOptions {
        let mut o = hearth_storage::EngineOptions::new(&self.data_dir);
        o.fsync = self.wal_fsync;
        o.out_of_order_window_ms = self.out_of_order_window.as_millis() as i64;
        o.retention = hearth_storage::retention::RetentionPolicy {
            max_age_ms: self.retention.map(|d| d.as_millis() as i64),
            max_bytes: self.retention_size,
        };
        // Half the budget for heads, a quarter for queries, the rest for
        // caches and the process itself.
        o.head_memory_limit = (self.memory_limit / 2) as usize;
        o.flush_interval = self.flush_interval;
        o.head_flush_bytes = self.head_flush_size as usize;
        o.compaction.max_parts_open_day = self.compaction_fan_in;
        o.compaction.closed_after_ms = o.out_of_order_window_ms.max(3_600_000);
        o
    }

    /// The logs engine options this configuration implies.
    pub fn logs_options(&self) -> hearth_storage::LogsOptions {
        let mut o = hearth_storage::LogsOptions::new(&self.data_dir);
        o.fsync = self.wal_fsync;
        o.out_of_order_window_ns = self.logs_out_of_order_window.as_nanos() as i64;
        o.retention = hearth_storage::retention::RetentionPolicy {
            max_age_ms: self
                .logs_retention
                .or(self.retention)
                .map(|d| d.as_millis() as i64),
            max_bytes: None,
        };
        // A quarter of the budget for the logs head; a part's text index
        // is built in memory from one flush, so flushes stay modest.
        o.head_memory_limit = (self.memory_limit / 4) as usize;
        o.head_flush_bytes = (self.head_flush_size as usize).min(o.head_memory_limit / 2);
        o.flush_interval = self.flush_interval;
        o.compaction.max_parts_open_day = self.compaction_fan_in;
        o.compaction.closed_after_ms = (o.out_of_order_window_ns / 1_000_000).max(3_600_000);
        o
    }

    /// The traces engine options this configuration implies.
    pub fn traces_options(&self) -> hearth_storage::TracesOptions {
        let mut o = hearth_storage::TracesOptions::new(&self.data_dir);
        o.fsync = self.wal_fsync;
        o.retention = hearth_storage::retention::RetentionPolicy {
            max_age_ms: self
                .traces_retention
                .or(self.retention)
                .map(|d| d.as_millis() as i64),
            max_bytes: None,
        };
        // An eighth of the budget: spans arrive in smaller volumes than
        // logs on a homelab, and the head only needs to hold one flush.
        o.head_memory_limit = (self.memory_limit / 8) as usize;
        o.head_flush_bytes = (self.head_flush_size as usize).min(o.head_memory_limit / 2);
        o.flush_interval = self.flush_interval.min(Duration::from_secs(15 * 60));
        o.compaction.max_parts_open_day = self.compaction_fan_in;
        o
    }

    /// Bytes a single query may use.
    pub fn query_memory_limit(&self) -> usize {
        (self.memory_limit / 4) as usize
    }
}

fn alerting_settings(
    raw: &RawAlerting,
    http_addr: SocketAddr,
) -> Result<AlertingSettings, ConfigError> {
    let evaluation_interval = raw
        .evaluation_interval
        .map_or(Duration::from_secs(60), |d| d.0);
    if evaluation_interval.is_zero() {
        return Err(ConfigError::Invalid {
            key: "alerting.evaluation_interval",
            message: "must be greater than 0".into(),
        });
    }
    let external_url = match &raw.external_url {
        Some(u) => {
            let parsed = url::Url::parse(u).map_err(|e| ConfigError::Invalid {
                key: "alerting.external_url",
                message: format!("{u:?} is not a URL: {e}"),
            })?;
            parsed.as_str().trim_end_matches('/').to_string()
        }
        None => format!("http://{}:{}", hostname(), http_addr.port()),
    };
    for name in raw.external_labels.keys() {
        if !hearth_alerting::rulefmt::validate::is_label_name(name) {
            return Err(ConfigError::Invalid {
                key: "alerting.external_labels",
                message: format!("{name:?} is not a valid label name"),
            });
        }
    }
    Ok(AlertingSettings {
        evaluation_interval,
        resend_delay: raw.resend_delay.map_or(Duration::from_secs(60), |d| d.0),
        external_url,
        external_labels: raw.external_labels.clone(),
    })
}

/// This machine's name, for the default external URL.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../hearth.example.yaml");

    #[test]
    fn example_config_parses_and_round_trips() {
        let raw = RawConfig::from_yaml(EXAMPLE, Path::new("hearth.example.yaml")).unwrap();
        // Secrets (receiver URLs, tokens) serialize as `<secret>`, so the
        // check is that printing is stable, not that it restores them.
        let again = serde_norway::to_string(&raw).unwrap();
        let reparsed: RawConfig = serde_norway::from_str(&again).unwrap();
        assert_eq!(serde_norway::to_string(&reparsed).unwrap(), again);
        assert!(!again.contains("ntfy.sh"), "secrets leaked: {again}");
        assert_eq!(raw.rule_files, reparsed.rule_files);
        assert_eq!(raw.alerting, reparsed.alerting);
        let cfg = Config::build(raw, Overrides::default()).unwrap();
        assert_eq!(cfg.http_addr.port(), 9700);
        assert_eq!(
            cfg.logs_max_entry_age,
            Some(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(cfg.logs_out_of_order_window, Duration::from_secs(3600));
        assert_eq!(cfg.loki_push.max_line_bytes, 256 << 10);
    }

    #[test]
    fn logs_settings_apply() {
        let text = "logs:\n  reject_older_than: 0s\n  max_line_size: 1KiB\n  retention: 3d\n";
        let raw = RawConfig::from_yaml(text, Path::new("h.yaml")).unwrap();
        let cfg = Config::build(raw, Overrides::default()).unwrap();
        assert_eq!(cfg.logs_max_entry_age, None);
        assert_eq!(cfg.loki_push.max_line_bytes, 1024);
        assert_eq!(
            cfg.logs_options().retention.max_age_ms,
            Some(3 * 86_400_000)
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_column() {
        let text = "data_dir: /tmp/x\nstorage:\n  wal_fsync: 1s\n  flush_intervall: 5m\n";
        let err = RawConfig::from_yaml(text, Path::new("h.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("h.yaml:4:3: "), "{err}");
        assert!(err.contains("flush_intervall"), "{err}");
    }

    #[test]
    fn bad_value_names_file_line_and_column() {
        let text = "retention: 15 days\n";
        let err = RawConfig::from_yaml(text, Path::new("h.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("h.yaml:1:"), "{err}");
        assert!(err.contains("15 days"), "{err}");
    }

    #[test]
    fn overrides_win_and_defaults_fill() {
        let raw = RawConfig::from_yaml("http_addr: 127.0.0.1:1\nretention: 1d\n", Path::new("x"))
            .unwrap();
        let cfg = Config::build(
            raw,
            Overrides {
                http_addr: Some("127.0.0.1:2".into()),
                memory_limit: Some("1GiB".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(cfg.http_addr.port(), 2);
        assert_eq!(cfg.retention, Some(Duration::from_secs(86_400)));
        assert_eq!(cfg.memory_limit, 1 << 30);
        assert_eq!(cfg.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn bad_override_is_named() {
        let err = Config::build(
            RawConfig::default(),
            Overrides {
                retention_size: Some("huge".into()),
                ..Overrides::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("retention_size: "), "{err}");
    }
}
