use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// A receiver that answers each request with the next of `answers`
/// (status, extra header lines, body), then closes the connection.
async fn receiver(answers: Vec<(u16, &'static str, &'static str)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for (status, headers, body) in answers {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 64 << 10];
            let mut seen = Vec::new();
            // Read the request head and its (small) body.
            loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                seen.extend_from_slice(&buf[..n]);
                if n == 0 || seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.ends_with(b"payload")
                {
                    break;
                }
            }
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{addr}/push")
}

fn endpoint(url: String, max_retry: Duration) -> Endpoint {
    Endpoint {
        url,
        headers: vec![("content-type", "application/x-protobuf")],
        max_retry,
        backoff: |_| Duration::ZERO,
    }
}

async fn send(endpoint: &Endpoint) -> (Outcome, Arc<PushCounters>) {
    let counters = Arc::new(PushCounters::default());
    let client = reqwest::Client::new();
    let outcome = post(
        &client,
        endpoint,
        &counters,
        bytes::Bytes::from_static(b"payload"),
    )
    .await;
    (outcome, counters)
}

#[tokio::test]
async fn a_busy_answer_is_retried_after_its_retry_after_then_accepted() {
    let url = receiver(vec![
        (503, "retry-after: 0\r\n", "head full"),
        (200, "", "ok"),
    ])
    .await;
    let (outcome, counters) = send(&endpoint(url, Duration::from_secs(30))).await;
    assert_eq!(outcome, Outcome::Accepted(bytes::Bytes::from_static(b"ok")));
    assert_eq!(PushCounters::load(&counters.requests), 2);
    assert_eq!(PushCounters::load(&counters.retries), 1);
    assert_eq!(
        counters.first_error().await.as_deref(),
        Some("503 Service Unavailable (retried): head full")
    );
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let url = receiver(vec![(400, "", "bad\nlabels")]).await;
    let (outcome, counters) = send(&endpoint(url, Duration::from_secs(30))).await;
    assert_eq!(outcome, Outcome::Refused);
    assert_eq!(PushCounters::load(&counters.requests), 1);
    assert_eq!(PushCounters::load(&counters.retries), 0);
    assert_eq!(
        counters.first_error().await.as_deref(),
        Some("400 Bad Request: badlabels")
    );
}

#[tokio::test]
async fn retrying_stops_at_the_deadline() {
    // Retry-After of 10 s is past the 1 s deadline: one try, then give up.
    let url = receiver(vec![(429, "retry-after: 10\r\n", "slow down")]).await;
    let (outcome, counters) = send(&endpoint(url, Duration::from_secs(1))).await;
    assert_eq!(outcome, Outcome::GaveUp);
    assert_eq!(PushCounters::load(&counters.failed_requests), 1);
    assert_eq!(PushCounters::load(&counters.retries), 0);
}
