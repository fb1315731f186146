//! `POST /api/v1/write`: decode, store, answer in the way senders act on:
//! 204 when everything was stored, 400 for bad data (not retried), 415 for
//! an unknown format, 503 + Retry-After when the sender should retry.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_storage::{EngineCell, Error as StorageError};

use super::decode::{
    Limits, check_content_encoding, decode, decompress, protocol_from_content_type,
};
use crate::metrics::IngestMetrics;

/// What the remote-write route needs.
#[derive(Clone, Debug)]
pub struct RemoteWriteState {
    /// The metrics engine, once replay is done.
    pub engine: EngineCell,
    /// Request limits.
    pub limits: Arc<Limits>,
    /// Counters.
    pub metrics: IngestMetrics,
}

const SIGNAL: &str = "metrics";
/// Seconds a sender is asked to wait before retrying a refused batch.
const RETRY_AFTER_SECS: &str = "5";
/// Rejections listed in a 400 body; the rest are counted.
const LISTED_REJECTIONS: usize = 10;

#[derive(Default)]
struct Written {
    samples: usize,
    exemplars: usize,
}

fn with_written(mut resp: Response, written: &Written) -> Response {
    let h = resp.headers_mut();
    for (name, n) in [
        ("x-prometheus-remote-write-samples-written", written.samples),
        ("x-prometheus-remote-write-histograms-written", 0),
        (
            "x-prometheus-remote-write-exemplars-written",
            written.exemplars,
        ),
    ] {
        h.insert(name, HeaderValue::from(n));
    }
    resp
}

fn retry_later(message: String) -> Response {
    let mut resp = (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    resp
}

/// The handler.
pub async fn remote_write(
    State(state): State<RemoteWriteState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let protocol = match check_content_encoding(header(header::CONTENT_ENCODING))
        .and_then(|()| protocol_from_content_type(header(header::CONTENT_TYPE)))
    {
        Ok(p) => p,
        Err(e) => return (e.status_code(), e.to_string()).into_response(),
    };
    let Some(engine) = state.engine.get().cloned() else {
        return retry_later("storage is replaying its write-ahead log".into());
    };
    let limits = Arc::clone(&state.limits);
    let work = tokio::task::spawn_blocking(move || {
        let raw = decompress(&body, &limits)?;
        let decoded = decode(protocol, &raw, &limits)?;
        Ok::<_, super::decode::DecodeError>(decoded)
    });
    let decoded = match work.await {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "rejected remote-write request");
            return with_written(
                (e.status_code(), e.to_string()).into_response(),
                &Written::default(),
            );
        }
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("decoder failed: {e}"),
            )
                .into_response();
        }
    };
    let write = decoded.write;
    let decode_rejections = decoded.rejected;
    let stored = tokio::task::spawn_blocking(move || engine.append(write)).await;
    let outcome = match stored {
        Ok(Ok(o)) => o,
        Ok(Err(e @ (StorageError::OverBudget { .. } | StorageError::ShuttingDown))) => {
            return with_written(retry_later(e.to_string()), &Written::default());
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "remote write could not be stored");
            return with_written(
                retry_later(format!("storage error: {e}")),
                &Written::default(),
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
    state.metrics.ingested(SIGNAL, outcome.samples_written);
    state
        .metrics
        .exemplars_ingested
        .inc_by(outcome.exemplars_written as u64);
    let written = Written {
        samples: outcome.samples_written,
        exemplars: outcome.exemplars_written,
    };

    let mut problems: Vec<String> = Vec::new();
    let mut lost = 0usize;
    for r in &decode_rejections {
        state.metrics.rejected(SIGNAL, r.reason.as_str(), r.samples);
        lost += r.samples;
        problems.push(format!("{}: {}", r.series, r.reason));
    }
    for r in &outcome.rejected {
        state.metrics.rejected(SIGNAL, r.reason, r.samples);
        lost += r.samples;
        problems.push(format!("{}: {}", r.series, r.detail));
    }
    if problems.is_empty() {
        return with_written(StatusCode::NO_CONTENT.into_response(), &written);
    }
    let mut msg = format!(
        "stored {} samples; dropped {lost} samples of {} series:\n",
        written.samples,
        problems.len()
    );
    for p in problems.iter().take(LISTED_REJECTIONS) {
        let _ = writeln!(msg, "  {p}");
    }
    if problems.len() > LISTED_REJECTIONS {
        let _ = writeln!(msg, "  ... and {} more", problems.len() - LISTED_REJECTIONS);
    }
    with_written((StatusCode::BAD_REQUEST, msg).into_response(), &written)
}
