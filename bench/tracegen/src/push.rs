//! OTLP/HTTP export: each connection sends its bodies one at a time, as an
//! exporter with one in-flight request does, retrying 429/5xx/transport
//! errors with backoff (honouring `Retry-After`, which Hearth sends with
//! 503 when its head is over budget).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tokio::sync::{Mutex, mpsc};

/// One request body.
pub struct Body {
    pub data: bytes::Bytes,
    pub spans: u64,
}

/// Counters shared by every connection.
#[derive(Default)]
pub struct Stats {
    pub spans_acked: AtomicU64,
    pub requests: AtomicU64,
    pub bytes_acked: AtomicU64,
    pub retries: AtomicU64,
    pub errors_4xx: AtomicU64,
    pub failed_requests: AtomicU64,
    /// Spans lost to a 4xx, a given-up request, or refused in a 200's
    /// partial success.
    pub spans_rejected: AtomicU64,
    pub partial_success: AtomicU64,
    pub first_error: Mutex<Option<String>>,
}

impl Stats {
    async fn note_error(&self, message: String) {
        let mut first = self.first_error.lock().await;
        if first.is_none() {
            *first = Some(message);
        }
    }
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
    while let Some(body) = rx.recv().await {
        if target.dry_run {
            stats.spans_acked.fetch_add(body.spans, Ordering::Relaxed);
            stats.requests.fetch_add(1, Ordering::Relaxed);
            stats
                .bytes_acked
                .fetch_add(body.data.len() as u64, Ordering::Relaxed);
            continue;
        }
        send_one(&client, &target, &stats, body).await;
    }
}

async fn send_one(client: &reqwest::Client, target: &Target, stats: &Stats, body: Body) {
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        let result = client
            .post(&target.url)
            .header("Content-Type", "application/x-protobuf")
            .header("User-Agent", "hearth-tracegen/0.1")
            .body(body.data.clone())
            .send()
            .await;
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let wait = match result {
            Ok(resp) => {
                let status = resp.status();
                if status.is_success() {
                    // Reading the whole answer also frees the connection
                    // for the next request.
                    let answer = resp.bytes().await.unwrap_or_default();
                    let refused = ExportTraceServiceResponse::decode(answer.as_ref())
                        .ok()
                        .and_then(|r| r.partial_success)
                        .filter(|p| p.rejected_spans > 0 || !p.error_message.is_empty());
                    let rejected = refused
                        .as_ref()
                        .map_or(0, |p| p.rejected_spans.max(0) as u64);
                    if let Some(p) = refused {
                        stats.partial_success.fetch_add(1, Ordering::Relaxed);
                        stats.spans_rejected.fetch_add(rejected, Ordering::Relaxed);
                        stats
                            .note_error(format!(
                                "partial success, {} spans rejected: {}",
                                p.rejected_spans, p.error_message
                            ))
                            .await;
                    }
                    stats
                        .spans_acked
                        .fetch_add(body.spans.saturating_sub(rejected), Ordering::Relaxed);
                    stats
                        .bytes_acked
                        .fetch_add(body.data.len() as u64, Ordering::Relaxed);
                    return;
                }
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .map(|s| Duration::from_secs_f64(s.clamp(0.0, 10.0)));
                let text = resp.text().await.unwrap_or_default();
                let snippet: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
                if status.as_u16() == 429 || status.is_server_error() {
                    if attempt == 0 {
                        stats
                            .note_error(format!("{status} (retried): {snippet}"))
                            .await;
                    }
                    retry_after.unwrap_or_else(|| backoff(attempt))
                } else {
                    stats.errors_4xx.fetch_add(1, Ordering::Relaxed);
                    stats
                        .spans_rejected
                        .fetch_add(body.spans, Ordering::Relaxed);
                    stats.note_error(format!("{status}: {snippet}")).await;
                    return;
                }
            }
            Err(e) => {
                if attempt == 0 {
                    stats.note_error(format!("transport (retried): {e}")).await;
                }
                backoff(attempt)
            }
        };
        if started.elapsed() + wait > target.max_retry {
            stats.failed_requests.fetch_add(1, Ordering::Relaxed);
            stats
                .spans_rejected
                .fetch_add(body.spans, Ordering::Relaxed);
            stats
                .note_error(format!("gave up after {attempt} retries"))
                .await;
            return;
        }
        stats.retries.fetch_add(1, Ordering::Relaxed);
        attempt = attempt.saturating_add(1);
        tokio::time::sleep(wait).await;
    }
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
