//! OTLP/HTTP export: each connection sends its bodies one at a time, as an
//! exporter with one in-flight request does, retrying 429/5xx/transport
//! errors with backoff (honouring `Retry-After`, which Hearth sends with
//! 503 when its head is over budget).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hearth_bench_push::{Endpoint, Outcome, PushCounters, post};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tokio::sync::mpsc;

/// One request body.
pub struct Body {
    pub data: bytes::Bytes,
    pub spans: u64,
}

/// Counters shared by every connection.
#[derive(Default)]
pub struct Stats {
    pub push: PushCounters,
    pub spans_acked: AtomicU64,
    pub bytes_acked: AtomicU64,
    pub errors_4xx: AtomicU64,
    /// Spans lost to a 4xx, a given-up request, or refused in a 200's
    /// partial success.
    pub spans_rejected: AtomicU64,
    pub partial_success: AtomicU64,
}

#[derive(Clone, Debug)]
pub struct Target {
    pub url: String,
    pub max_retry: Duration,
    pub dry_run: bool,
}

/// Sends every body from `rx`, in order.
pub async fn send_all(
    client: reqwest::Client,
    target: Target,
    stats: std::sync::Arc<Stats>,
    mut rx: mpsc::Receiver<Body>,
) {
    let endpoint = Endpoint {
        url: target.url.clone(),
        headers: vec![
            ("Content-Type", "application/x-protobuf"),
            ("User-Agent", "hearth-tracegen/0.1"),
        ],
        max_retry: target.max_retry,
        backoff,
    };
    while let Some(body) = rx.recv().await {
        let (len, spans) = (body.data.len() as u64, body.spans);
        let rejected = if target.dry_run {
            stats.push.requests.fetch_add(1, Ordering::Relaxed);
            0
        } else {
            match post(&client, &endpoint, &stats.push, body.data).await {
                Outcome::Accepted(answer) => partially_refused(&stats, &answer).await,
                Outcome::Refused => {
                    stats.errors_4xx.fetch_add(1, Ordering::Relaxed);
                    stats.spans_rejected.fetch_add(spans, Ordering::Relaxed);
                    continue;
                }
                Outcome::GaveUp => {
                    stats.spans_rejected.fetch_add(spans, Ordering::Relaxed);
                    continue;
                }
            }
        };
        stats
            .spans_acked
            .fetch_add(spans.saturating_sub(rejected), Ordering::Relaxed);
        stats.bytes_acked.fetch_add(len, Ordering::Relaxed);
    }
}

/// Spans a 200 answer's partial success refused (counted and noted).
async fn partially_refused(stats: &Stats, answer: &[u8]) -> u64 {
    let Some(p) = ExportTraceServiceResponse::decode(answer)
        .ok()
        .and_then(|r| r.partial_success)
        .filter(|p| p.rejected_spans > 0 || !p.error_message.is_empty())
    else {
        return 0;
    };
    let rejected = p.rejected_spans.max(0) as u64;
    stats.partial_success.fetch_add(1, Ordering::Relaxed);
    stats.spans_rejected.fetch_add(rejected, Ordering::Relaxed);
    stats
        .push
        .note_error(format!(
            "partial success, {} spans rejected: {}",
            p.rejected_spans, p.error_message
        ))
        .await;
    rejected
}

/// 100 ms doubling to 5 s: an OTLP exporter's schedule, shortened so a
/// benchmark does not idle.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(6)).min(5_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(30), Duration::from_millis(5_000));
    }
}
