//! `/api/v1/metadata`.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use super::envelope::Success;
use super::params::Params;
use crate::QueryState;
use crate::error::ApiError;

#[derive(Serialize)]
struct Entry {
    #[serde(rename = "type")]
    metric_type: &'static str,
    help: String,
    unit: String,
}

/// `GET /api/v1/metadata?metric=&limit=&limit_per_metric=`.
pub async fn metadata(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::new(&headers, query.as_deref(), &Bytes::new());
    let parse_limit = |name: &str| -> Result<Option<usize>, ApiError> {
        match params.get(name) {
            None => Ok(None),
            Some(v) => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| ApiError::bad_param(name, format!("{v:?} is not a number")))?;
                Ok((n > 0).then_some(n as usize))
            }
        }
    };
    let limit = parse_limit("limit")?;
    let per_metric = parse_limit("limit_per_metric")?;
    let metric = params.get("metric");
    let engine = state.engine()?;
    let mut out: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for (name, list) in engine.metadata() {
        if metric.is_some_and(|m| m != name) {
            continue;
        }
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        let entries = list
            .into_iter()
            .take(per_metric.unwrap_or(usize::MAX))
            .map(|m| Entry {
                metric_type: m.metric_type.as_str(),
                help: m.help,
                unit: m.unit,
            })
            .collect();
        out.insert(name, entries);
    }
    Ok(Success::new(out).into_response())
}
