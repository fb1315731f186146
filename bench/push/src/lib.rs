//! The push loop of the benchmark generators: one request at a time per
//! connection, as a real sender with one request in flight does, retrying
//! 429, 5xx and transport errors with backoff (honouring `Retry-After`,
//! which Hearth sends when its head is over budget) until a deadline.
//! What a success or a refusal means (lines, samples or spans) is the
//! caller's business.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Counters every generator reports the same way.
#[derive(Debug, Default)]
pub struct PushCounters {
    /// Requests sent, retries included.
    pub requests: AtomicU64,
    /// Requests sent again after a retryable answer.
    pub retries: AtomicU64,
    /// Requests given up on at the deadline.
    pub failed_requests: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl PushCounters {
    /// Keeps `message` if it is the first error seen.
    pub async fn note_error(&self, message: String) {
        let mut first = self.first_error.lock().await;
        if first.is_none() {
            *first = Some(message);
        }
    }

    /// The first error seen, if any.
    pub async fn first_error(&self) -> Option<String> {
        self.first_error.lock().await.clone()
    }

    /// Current value of a counter.
    pub fn load(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Where to send and how long to keep trying.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub url: String,
    /// Headers of every request (content type, encoding, user agent).
    pub headers: Vec<(&'static str, &'static str)>,
    /// Give up on one request once retrying would pass this.
    pub max_retry: Duration,
    /// Wait before retry `n` (from 0) when the answer names no
    /// `Retry-After`.
    pub backoff: fn(u32) -> Duration,
}

/// How one request ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx, with its body (drained, so the connection is reused).
    Accepted(bytes::Bytes),
    /// A 4xx other than 429: the receiver refused the data for good. The
    /// error is already noted.
    Refused,
    /// Still failing at the deadline; counted and noted.
    GaveUp,
}

/// Sends `body` until it is accepted, refused, or the deadline passes.
pub async fn post(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    counters: &PushCounters,
    body: bytes::Bytes,
) -> Outcome {
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        let mut request = client.post(&endpoint.url);
        for (name, value) in &endpoint.headers {
            request = request.header(*name, *value);
        }
        let result = request.body(body.clone()).send().await;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let wait = match result {
            Ok(resp) => {
                let status = resp.status();
                if status.is_success() {
                    return Outcome::Accepted(resp.bytes().await.unwrap_or_default());
                }
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite())
                    .map(|s| Duration::from_secs_f64(s.clamp(0.0, 10.0)));
                let text = resp.text().await.unwrap_or_default();
                let snippet: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
                if status.as_u16() == 429 || status.is_server_error() {
                    if attempt == 0 {
                        counters
                            .note_error(format!("{status} (retried): {snippet}"))
                            .await;
                    }
                    retry_after.unwrap_or_else(|| (endpoint.backoff)(attempt))
                } else {
                    counters.note_error(format!("{status}: {snippet}")).await;
                    return Outcome::Refused;
                }
            }
            Err(e) => {
                if attempt == 0 {
                    counters
                        .note_error(format!("transport (retried): {e}"))
                        .await;
                }
                (endpoint.backoff)(attempt)
            }
        };
        if started.elapsed() + wait > endpoint.max_retry {
            counters.failed_requests.fetch_add(1, Ordering::Relaxed);
            counters
                .note_error(format!("gave up after {attempt} retries"))
                .await;
            return Outcome::GaveUp;
        }
        counters.retries.fetch_add(1, Ordering::Relaxed);
        attempt = attempt.saturating_add(1);
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests;
