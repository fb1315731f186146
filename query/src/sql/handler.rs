//! `POST /api/v1/sql`: one read-only statement, answered as JSON rows or as
//! an Arrow IPC stream.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use datafusion::execution::context::SQLOptions;
use serde::Serialize;

use super::session;
use crate::QueryState;
use crate::error::ApiError;
use crate::http::envelope::Success;
use crate::http::params::Params;

/// Media type of an Arrow IPC stream.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

#[derive(Serialize)]
struct Column {
    name: String,
    #[serde(rename = "type")]
    data_type: String,
}

#[derive(Serialize)]
struct SqlResult {
    columns: Vec<Column>,
    rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn statement(headers: &HeaderMap, query: Option<&str>, body: &Bytes) -> Result<String, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    if is_json {
        #[derive(serde::Deserialize)]
        struct Body {
            query: String,
        }
        let parsed: Body = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_data(format!("invalid JSON body: {e}")))?;
        return Ok(parsed.query);
    }
    Params::new(headers, query, body)
        .get("query")
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_data("missing parameter \"query\""))
}

/// Runs the statement in `query` (form field or JSON body).
pub async fn sql(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let text = statement(&headers, query.as_deref(), &body)?;
    let engine = state.engine()?;
    let ctx = session(engine, state.query_memory_limit).await?;
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx
        .sql_with_options(&text, options)
        .await
        .map_err(|e| ApiError::bad_data(e.to_string()))?;
    let schema = df.schema().as_arrow().clone();
    let batches = df
        .collect()
        .await
        .map_err(|e| ApiError::execution(e.to_string()))?;

    let wants_arrow = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(ARROW_STREAM));
    if wants_arrow {
        let mut buf = Vec::new();
        {
            let mut writer = arrow::ipc::writer::StreamWriter::try_new(&mut buf, &schema)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            for b in &batches {
                writer
                    .write(b)
                    .map_err(|e| ApiError::internal(e.to_string()))?;
            }
            writer
                .finish()
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        let mut resp = buf.into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ARROW_STREAM));
        return Ok(resp);
    }

    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    for b in &batches {
        writer
            .write(b)
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    writer
        .finish()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let json = writer.into_inner();
    let rows = if json.is_empty() {
        Vec::new()
    } else {
        serde_json::from_slice(&json).map_err(|e| ApiError::internal(e.to_string()))?
    };
    let columns = schema
        .fields()
        .iter()
        .map(|f| Column {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
        })
        .collect();
    Ok(Success::new(SqlResult { columns, rows }).into_response())
}
