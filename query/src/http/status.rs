//! `/api/v1/status/buildinfo` and `/api/v1/status/tsdb`.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use super::envelope::Success;
use super::params::Params;
use crate::QueryState;
use crate::error::ApiError;

/// The Prometheus API version Hearth answers as. Grafana reads it as semver
/// to decide which API features to use, so it names the Prometheus release
/// whose API Hearth follows, not Hearth's own version.
pub const PROMETHEUS_API_VERSION: &str = "3.0.0";

/// `GET /api/v1/status/buildinfo`. No `features` key: Grafana would take
/// the server for Mimir.
pub async fn buildinfo() -> Response {
    Success::new(serde_json::json!({
        "version": PROMETHEUS_API_VERSION,
        "revision": concat!("hearth-", env!("CARGO_PKG_VERSION")),
        "branch": "hearth",
        "buildUser": "hearth",
        "buildDate": "",
        "goVersion": "rust",
    }))
    .into_response()
}

#[derive(Serialize)]
struct Stat {
    name: String,
    value: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HeadStats {
    num_series: u64,
    num_label_pairs: u64,
    chunk_count: u64,
    min_time: i64,
    max_time: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TsdbStatus {
    head_stats: HeadStats,
    series_count_by_metric_name: Vec<Stat>,
    label_value_count_by_label_name: Vec<Stat>,
    memory_in_bytes_by_label_name: Vec<Stat>,
    series_count_by_label_value_pair: Vec<Stat>,
}

fn top(mut stats: Vec<Stat>, n: usize) -> Vec<Stat> {
    stats.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.name.cmp(&b.name)));
    stats.truncate(n);
    stats
}

/// `GET /api/v1/status/tsdb?limit=N` (default 10).
pub async fn tsdb(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::new(&headers, query.as_deref(), &Bytes::new());
    let n = params.limit()?.unwrap_or(10);
    let engine = state.engine()?;
    let stats = engine.index().label_stats();
    let mut by_metric = Vec::new();
    let mut values_by_name = Vec::new();
    let mut bytes_by_name = Vec::new();
    let mut by_pair = Vec::new();
    let mut pairs = 0u64;
    for (name, values) in &stats {
        pairs += values.len() as u64;
        values_by_name.push(Stat {
            name: name.to_string(),
            value: values.len() as u64,
        });
        bytes_by_name.push(Stat {
            name: name.to_string(),
            value: values.iter().map(|(v, c)| v.len() as u64 * c).sum(),
        });
        for (value, count) in values {
            if &**name == "__name__" {
                by_metric.push(Stat {
                    name: value.to_string(),
                    value: *count,
                });
            }
            by_pair.push(Stat {
                name: format!("{name}={value}"),
                value: *count,
            });
        }
    }
    let snapshot = engine.snapshot();
    let range = snapshot.heads.iter().filter_map(|h| h.time_range()).fold(
        None,
        |acc: Option<(i64, i64)>, (lo, hi)| {
            Some(acc.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))))
        },
    );
    let (min_time, max_time) = range.unwrap_or((i64::MAX, i64::MIN));
    let status = TsdbStatus {
        head_stats: HeadStats {
            num_series: engine.index().len() as u64,
            num_label_pairs: pairs,
            chunk_count: snapshot.heads.iter().map(|h| h.series_count() as u64).sum(),
            min_time,
            max_time,
        },
        series_count_by_metric_name: top(by_metric, n),
        label_value_count_by_label_name: top(values_by_name, n),
        memory_in_bytes_by_label_name: top(bytes_by_name, n),
        series_count_by_label_value_pair: top(by_pair, n),
    };
    Ok(Success::new(status).into_response())
}
