//! Label, series and volume endpoints: `/labels`, `/label/{name}/values`,
//! `/series`, `/index/stats`, `/index/volume`, `/index/volume_range`, and
//! the build info.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hearth_storage::logs::{HeadEntry, LogScan, ScanSink};
use hearth_storage::postings::SeriesEntry;
use hearth_storage::{Matcher, SeriesId};
use serde_json::{Value, json};

use super::params::{self, DEFAULT_SINCE_NS};
use super::{LokiError, bounded};
use crate::QueryState;
use crate::http::params::Params;
use crate::logql::Expr;
use crate::logql::exec::storage_matchers;
use crate::promql::value::format_float;

/// Label discovery looks back six hours by default, as Loki's does.
pub(super) const LABELS_SINCE_NS: i64 = 6 * 3_600 * 1_000_000_000;

fn success(data: Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

/// The matchers of a selector given as `query`/`match[]`; a full log query
/// is accepted and only its selector used.
pub(super) fn selector(text: &str) -> Result<Vec<Matcher>, LokiError> {
    match crate::logql::parse(text).map_err(LokiError::bad)? {
        Expr::Log(q) => storage_matchers(&q.matchers).map_err(LokiError::from),
        Expr::Metric(_) => Err(LokiError::bad(format!(
            "only stream selectors are accepted here, not a metric query: {text}"
        ))),
    }
}

fn streams(
    state: &QueryState,
    params: &Params,
    name: &str,
    since: i64,
) -> Result<Vec<Arc<SeriesEntry>>, LokiError> {
    let (start, end) = params::range(params, since)?;
    let engine = state.logs()?;
    let matchers = match params.get(name) {
        Some(text) => selector(text)?,
        None => Vec::new(),
    };
    Ok(engine.streams(&matchers, start, end.saturating_add(1)))
}

/// `GET /loki/api/v1/labels`.
pub async fn labels(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let names: BTreeSet<String> = streams(&state, &params, "query", LABELS_SINCE_NS)?
        .iter()
        .flat_map(|s| s.labels.iter().map(|(n, _)| n.to_string()))
        .collect();
    Ok(success(json!(names)))
}

/// `GET /loki/api/v1/label/{name}/values`.
pub async fn label_values(
    State(state): State<QueryState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let values: BTreeSet<String> = streams(&state, &params, "query", LABELS_SINCE_NS)?
        .iter()
        .filter_map(|s| s.get(&name).map(str::to_owned))
        .collect();
    Ok(success(json!(values)))
}

/// `GET|POST /loki/api/v1/series`.
pub async fn series(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let (start, end) = params::range(&params, LABELS_SINCE_NS)?;
    let engine = state.logs()?;
    let mut selectors: Vec<Vec<Matcher>> = params
        .get_all("match[]")
        .into_iter()
        .chain(params.get_all("match"))
        .filter(|s| !s.is_empty())
        .map(selector)
        .collect::<Result<_, _>>()?;
    if selectors.is_empty() {
        selectors.push(Vec::new());
    }
    let mut seen: BTreeMap<SeriesId, Value> = BTreeMap::new();
    for matchers in &selectors {
        for s in engine.streams(matchers, start, end.saturating_add(1)) {
            seen.entry(s.id).or_insert_with(|| {
                Value::Object(
                    s.labels
                        .iter()
                        .map(|(n, v)| (n.to_string(), Value::String(v.to_string())))
                        .collect(),
                )
            });
        }
    }
    let mut list: Vec<Value> = seen.into_values().collect();
    list.sort_by_key(|v| v.to_string());
    Ok(success(Value::Array(list)))
}

/// Entries and bytes per bucket time.
type Cells = BTreeMap<i64, (u64, u64)>;
/// Bytes per bucket time of one group of streams.
type GroupSeries = (Vec<(String, String)>, BTreeMap<i64, u64>);

/// Entries and bytes per stream, optionally per step bucket.
struct Volume {
    step: Option<(i64, i64)>,
    by_stream: HashMap<SeriesId, (Arc<SeriesEntry>, Cells)>,
}

impl ScanSink for Volume {
    fn rows(&mut self, stream: &Arc<SeriesEntry>, rows: Vec<HeadEntry>) {
        let slot = self
            .by_stream
            .entry(stream.id)
            .or_insert_with(|| (Arc::clone(stream), BTreeMap::new()));
        for r in rows {
            // A bucket at t holds entries in (t - step, t], as metric
            // windows do.
            let bucket = match self.step {
                Some((start, step)) => {
                    let offset = i128::from(r.ts_ns.saturating_sub(start).max(0));
                    let step = i128::from(step);
                    let bucket = i128::from(start) + (offset + step - 1) / step * step;
                    i64::try_from(bucket).unwrap_or(i64::MAX)
                }
                None => 0,
            };
            let cell = slot.1.entry(bucket).or_default();
            cell.0 += 1;
            cell.1 += r.line.len() as u64;
        }
    }
}

async fn volume_scan(
    state: &QueryState,
    params: &Params,
    step: Option<i64>,
) -> Result<(Volume, i64, i64), LokiError> {
    let (start, end) = params::range(params, DEFAULT_SINCE_NS)?;
    let engine = state.logs()?;
    let matchers = match params.get("query") {
        Some(text) => selector(text)?,
        None => return Err(LokiError::bad("query parameter is required")),
    };
    let mut sink = Volume {
        step: step.map(|s| (start, s)),
        by_stream: HashMap::new(),
    };
    let scan = LogScan {
        matchers: &matchers,
        start_ns: start,
        end_ns: end,
        required: &[],
        backward: false,
    };
    bounded(state.promql.timeout, async {
        engine
            .scan(&scan, &mut sink)
            .await
            .map_err(LokiError::internal)
    })
    .await?;
    Ok((sink, start, end))
}

/// `GET /loki/api/v1/index/stats`: a bare object, no envelope.
pub async fn index_stats(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let (volume, _, _) = volume_scan(&state, &params, None).await?;
    let (mut entries, mut bytes, mut chunks) = (0u64, 0u64, 0u64);
    for (_, cells) in volume.by_stream.values() {
        for (n, b) in cells.values() {
            entries += n;
            bytes += b;
        }
        chunks += 1;
    }
    Ok(Json(json!({
        "streams": volume.by_stream.len(),
        "chunks": chunks,
        "entries": entries,
        "bytes": bytes,
    }))
    .into_response())
}

/// The labels volume is grouped by: `targetLabels` if given, else the
/// labels the selector names.
fn volume_labels(params: &Params) -> Result<Vec<String>, LokiError> {
    if let Some(t) = params.get("targetLabels") {
        return Ok(t
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect());
    }
    let text = params.get("query").unwrap_or_default();
    let mut names: Vec<String> = selector(text)?.into_iter().map(|m| m.name).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

fn grouped(
    volume: &Volume,
    names: &[String],
    by_labels: bool,
) -> BTreeMap<Vec<(String, String)>, BTreeMap<i64, u64>> {
    let mut out: BTreeMap<Vec<(String, String)>, BTreeMap<i64, u64>> = BTreeMap::new();
    for (stream, cells) in volume.by_stream.values() {
        let keys: Vec<Vec<(String, String)>> = if by_labels {
            names
                .iter()
                .filter_map(|n| stream.get(n).map(|v| vec![(n.clone(), v.to_owned())]))
                .collect()
        } else {
            vec![
                names
                    .iter()
                    .filter_map(|n| stream.get(n).map(|v| (n.clone(), v.to_owned())))
                    .collect(),
            ]
        };
        for key in keys {
            let series = out.entry(key).or_default();
            for (t, (_, b)) in cells {
                *series.entry(*t).or_default() += b;
            }
        }
    }
    out
}

fn metric_object(labels: &[(String, String)]) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(n, v)| (n.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn secs(ts_ns: i64) -> Value {
    json!(ts_ns.div_euclid(1_000_000_000))
}

/// `GET /loki/api/v1/index/volume`: bytes per group, largest first.
pub async fn volume(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let limit = params::limit(&params, 100)?;
    let by_labels = params.get("aggregateBy") == Some("labels");
    let names = volume_labels(&params)?;
    let (vol, _, end) = volume_scan(&state, &params, None).await?;
    let mut totals: Vec<(Vec<(String, String)>, u64)> = grouped(&vol, &names, by_labels)
        .into_iter()
        .map(|(k, cells)| (k, cells.values().sum()))
        .collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    totals.truncate(limit);
    let result: Vec<Value> = totals
        .into_iter()
        .map(|(k, bytes)| json!({"metric": metric_object(&k), "value": [secs(end), format_float(bytes as f64)]}))
        .collect();
    Ok(success(json!({"resultType": "vector", "result": result})))
}

/// `GET /loki/api/v1/index/volume_range`: bytes per group per step.
pub async fn volume_range(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let limit = params::limit(&params, 100)?;
    let by_labels = params.get("aggregateBy") == Some("labels");
    let names = volume_labels(&params)?;
    let (start, end) = params::range(&params, DEFAULT_SINCE_NS)?;
    let step = params::step(&params, start, end)?;
    let (vol, _, _) = volume_scan(&state, &params, Some(step)).await?;
    let mut series: Vec<GroupSeries> = grouped(&vol, &names, by_labels).into_iter().collect();
    series.sort_by(|a, b| {
        let (x, y): (u64, u64) = (a.1.values().sum(), b.1.values().sum());
        y.cmp(&x).then_with(|| a.0.cmp(&b.0))
    });
    series.truncate(limit);
    let result: Vec<Value> = series
        .into_iter()
        .map(|(k, cells)| {
            let values: Vec<Value> = cells
                .into_iter()
                .map(|(t, b)| json!([secs(t), format_float(b as f64)]))
                .collect();
            json!({"metric": metric_object(&k), "values": values})
        })
        .collect();
    Ok(success(json!({"resultType": "matrix", "result": result})))
}

/// The Loki version Hearth answers as: the API level it follows.
pub(super) const LOKI_VERSION: &str = "3.5.0";

/// `GET /loki/api/v1/status/buildinfo`: a bare object.
pub async fn buildinfo() -> Response {
    Json(json!({
        "version": LOKI_VERSION,
        "revision": env!("CARGO_PKG_VERSION"),
        "branch": "hearth",
        "buildUser": "hearth",
        "buildDate": "",
        "goVersion": "",
    }))
    .into_response()
}
