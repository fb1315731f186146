//! `/api/v1/series`, `/api/v1/labels`, `/api/v1/label/{name}/values`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hearth_storage::Matcher;
use hearth_storage::postings::{SeriesEntry, SeriesIndex};

use super::envelope::{Success, TRUNCATED_WARNING};
use super::params::{Params, unescape_label_name};
use crate::QueryState;
use crate::error::ApiError;

/// Series matching any of `selectors` (all series when there are none)
/// with samples in `[start, end]`.
pub fn select_union(
    index: &SeriesIndex,
    selectors: &[Vec<Vec<Matcher>>],
    start: i64,
    end: i64,
) -> Vec<Arc<SeriesEntry>> {
    if selectors.is_empty() {
        return index.select(&[], start, end);
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for set in selectors.iter().flatten() {
        for e in index.select(set, start, end) {
            if seen.insert(e.id) {
                out.push(e);
            }
        }
    }
    out
}

fn truncate<T>(items: &mut Vec<T>, limit: Option<usize>) -> bool {
    match limit {
        Some(n) if items.len() > n => {
            items.truncate(n);
            true
        }
        _ => false,
    }
}

fn respond<T: serde::Serialize>(data: T, truncated: bool) -> Response {
    let ok = Success::new(data);
    if truncated {
        ok.warn(TRUNCATED_WARNING).into_response()
    } else {
        ok.into_response()
    }
}

/// `GET|POST /api/v1/series`.
pub async fn series(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let selectors = params.selectors()?;
    if selectors.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let (start, end) = params.range()?;
    let limit = params.limit()?;
    let engine = state.engine()?;
    let entries = select_union(engine.index(), &selectors, start, end);
    let mut sets: Vec<BTreeMap<&str, &str>> = entries
        .iter()
        .map(|e| e.labels.iter().map(|(n, v)| (&**n, &**v)).collect())
        .collect();
    sets.sort_unstable();
    let truncated = truncate(&mut sets, limit);
    Ok(respond(sets, truncated))
}

/// `GET|POST /api/v1/labels`.
pub async fn labels(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let selectors = params.selectors()?;
    let (start, end) = params.range()?;
    let limit = params.limit()?;
    let engine = state.engine()?;
    let mut names: Vec<String> = if selectors.is_empty() && start == i64::MIN && end == i64::MAX {
        engine
            .index()
            .label_stats()
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect()
    } else {
        let entries = select_union(engine.index(), &selectors, start, end);
        let set: BTreeSet<&str> = entries
            .iter()
            .flat_map(|e| e.labels.iter().map(|(n, _)| &**n))
            .collect();
        set.into_iter().map(str::to_owned).collect()
    };
    let truncated = truncate(&mut names, limit);
    Ok(respond(names, truncated))
}

/// `GET|POST /api/v1/label/{name}/values` (Prometheus only has GET; POST
/// with a form body is accepted too, like the other metadata endpoints).
pub async fn label_values(
    State(state): State<QueryState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = unescape_label_name(&name).map_err(ApiError::bad_data)?;
    if name.is_empty() {
        return Err(ApiError::bad_data("invalid label name: \"\""));
    }
    let params = Params::new(&headers, query.as_deref(), &body);
    let selectors = params.selectors()?;
    let (start, end) = params.range()?;
    let limit = params.limit()?;
    let engine = state.engine()?;
    let mut values: Vec<String> = if selectors.is_empty() && start == i64::MIN && end == i64::MAX {
        engine
            .index()
            .label_stats()
            .into_iter()
            .find(|(n, _)| **n == *name)
            .map(|(_, vs)| vs.into_iter().map(|(v, _)| v.to_string()).collect())
            .unwrap_or_default()
    } else {
        let entries = select_union(engine.index(), &selectors, start, end);
        let set: BTreeSet<&str> = entries.iter().filter_map(|e| e.get(&name)).collect();
        set.into_iter().map(str::to_owned).collect()
    };
    let truncated = truncate(&mut values, limit);
    Ok(respond(values, truncated))
}
