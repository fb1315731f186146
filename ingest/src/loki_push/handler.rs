//! `POST /loki/api/v1/push`: decode, check entry ages, store, answer as
//! Loki does: 204 when everything was stored; 400 with a plain-text reason
//! per problem when some or all entries were refused (what was valid is
//! kept); 415/413 for bodies that cannot be read; 429 with Retry-After when
//! over the memory budget (Loki clients back off and retry on 429 and 5xx).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_storage::logs::LogsCell;
use hearth_storage::{Error as StorageError, LogsWrite};

use super::decode::{Limits, decode};
use crate::metrics::IngestMetrics;

/// What the push route needs.
#[derive(Clone, Debug)]
pub struct LokiPushState {
    /// The logs engine, once replay is done.
    pub engine: LogsCell,
    /// Request limits.
    pub limits: Arc<Limits>,
    /// How old (ns) an entry may be when it arrives (Loki's
    /// `reject_old_samples_max_age`, one week by default); `None` takes any.
    pub max_entry_age_ns: Option<i64>,
    /// How far in the future (ns) an entry may be (Loki's
    /// `creation_grace_period`, ten minutes by default).
    pub max_entry_future_ns: i64,
    /// Counters.
    pub metrics: IngestMetrics,
}

const SIGNAL: &str = "logs";
const RETRY_AFTER_SECS: &str = "5";
/// Problems listed in a 400 body; the rest are counted.
const LISTED_PROBLEMS: usize = 10;

fn retry_later(status: StatusCode, message: String) -> Response {
    let mut resp = (status, message).into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    resp
}

fn rfc3339_ns(ts_ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ts_ns)
        .format("%Y-%m-%dT%H:%M:%S%.fZ")
        .to_string()
}

/// Drops entries outside the accepted age window; returns a Loki-worded
/// message and a count per stream that lost any.
fn check_ages(
    write: &mut LogsWrite,
    now_ns: i64,
    state: &LokiPushState,
) -> Vec<(String, &'static str, usize)> {
    let oldest = state.max_entry_age_ns.map(|age| now_ns.saturating_sub(age));
    let newest = now_ns.saturating_add(state.max_entry_future_ns);
    let mut problems = Vec::new();
    for stream in &mut write.streams {
        let mut too_old: Option<(i64, usize)> = None;
        let mut too_new: Option<(i64, usize)> = None;
        stream.entries.retain(|e| {
            if oldest.is_some_and(|o| e.ts_ns < o) {
                too_old.get_or_insert((e.ts_ns, 0)).1 += 1;
                false
            } else if e.ts_ns > newest {
                too_new.get_or_insert((e.ts_ns, 0)).1 += 1;
                false
            } else {
                true
            }
        });
        let labels = stream.labels.to_string();
        if let (Some((ts, n)), Some(o)) = (too_old, oldest) {
            problems.push((
                format!(
                    "entry for stream '{labels}' has timestamp too old: {}, oldest acceptable timestamp is: {}",
                    rfc3339_ns(ts),
                    rfc3339_ns(o)
                ),
                "greater_than_max_sample_age",
                n,
            ));
        }
        if let Some((ts, n)) = too_new {
            problems.push((
                format!(
                    "entry for stream '{labels}' has timestamp too new: {}",
                    rfc3339_ns(ts)
                ),
                "too_far_in_future",
                n,
            ));
        }
    }
    write.streams.retain(|s| !s.entries.is_empty());
    problems
}

/// The handler.
pub async fn push(State(state): State<LokiPushState>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let (ce, ct) = (
        header(header::CONTENT_ENCODING),
        header(header::CONTENT_TYPE),
    );
    let Some(engine) = state.engine.get().cloned() else {
        return retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage is replaying its write-ahead log".into(),
        );
    };
    let limits = Arc::clone(&state.limits);
    let decoded =
        tokio::task::spawn_blocking(move || decode(ce.as_deref(), ct.as_deref(), &body, &limits))
            .await;
    let decoded = match decoded {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "rejected Loki push request");
            return (e.status_code(), e.to_string()).into_response();
        }
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("decoder failed: {e}"),
            )
                .into_response();
        }
    };
    let received = decoded.write.entry_count() + decoded.rejected_entries();
    let mut problems: Vec<String> = Vec::new();
    let mut lost = 0usize;
    for r in &decoded.rejected {
        state.metrics.rejected(SIGNAL, r.reason.as_str(), r.entries);
        lost += r.entries;
        problems.push(r.to_string());
    }
    let mut write = decoded.write;
    let now_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    for (msg, reason, n) in check_ages(&mut write, now_ns, &state) {
        state.metrics.rejected(SIGNAL, reason, n);
        lost += n;
        problems.push(msg);
    }
    if !write.is_empty() {
        let stored = tokio::task::spawn_blocking(move || engine.append(write)).await;
        let outcome = match stored {
            Ok(Ok(o)) => o,
            Ok(Err(e @ StorageError::OverBudget { .. })) => {
                return retry_later(StatusCode::TOO_MANY_REQUESTS, e.to_string());
            }
            Ok(Err(e @ StorageError::ShuttingDown)) => {
                return retry_later(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "Loki push could not be stored");
                return retry_later(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("storage error: {e}"),
                );
            }
            Err(e) => {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("append failed: {e}"),
                )
                    .into_response();
            }
        };
        state.metrics.ingested(SIGNAL, outcome.entries_written);
        state
            .metrics
            .log_bytes_ingested
            .inc_by(outcome.bytes_written as u64);
        for r in &outcome.rejected {
            state.metrics.rejected(SIGNAL, r.reason, r.entries);
            lost += r.entries;
            problems.push(r.detail.clone());
        }
    }
    if problems.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let mut msg = String::new();
    for p in problems.iter().take(LISTED_PROBLEMS) {
        let _ = writeln!(msg, "{p}");
    }
    if problems.len() > LISTED_PROBLEMS {
        let _ = writeln!(msg, "... and {} more", problems.len() - LISTED_PROBLEMS);
    }
    let _ = write!(msg, "total ignored: {lost} out of {received}");
    (StatusCode::BAD_REQUEST, msg).into_response()
}
