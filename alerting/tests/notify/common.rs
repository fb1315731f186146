//! A recording HTTP receiver and a notifier harness.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use hearth_alerting::clock::ManualClock;
use hearth_alerting::notify::{Alert, NotificationsConfig, Notifier, NotifierOptions};
use parking_lot::Mutex;
use prometheus_client::registry::Registry;

/// 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000;
pub const S: i64 = 1000;
pub const M: i64 = 60 * S;
pub const H: i64 = 60 * M;

pub const EXTERNAL_URL: &str = "http://hearth.local:9090";

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct SinkState {
    requests: Vec<Recorded>,
    queued: VecDeque<u16>,
    fallback: Option<u16>,
}

/// An HTTP server that records every request and answers with queued
/// status codes (200 once the queue is empty).
#[derive(Clone)]
pub struct Sink {
    pub url: String,
    state: Arc<Mutex<SinkState>>,
    pub arrived: Arc<tokio::sync::Notify>,
}

async fn record(
    State(sink): State<Sink>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let code = {
        let mut st = sink.state.lock();
        st.requests.push(Recorded {
            method: method.to_string(),
            path: uri.path().to_string(),
            headers,
            body,
        });
        st.queued.pop_front().or(st.fallback).unwrap_or(200)
    };
    sink.arrived.notify_one();
    StatusCode::from_u16(code).unwrap()
}

impl Sink {
    pub async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sink = Sink {
            url,
            state: Arc::default(),
            arrived: Arc::default(),
        };
        let app = Router::new().fallback(record).with_state(sink.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        sink
    }

    /// Removes and returns what was recorded so far.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.state.lock().requests)
    }

    pub fn count(&self) -> usize {
        self.state.lock().requests.len()
    }

    /// Answers the next requests with these codes.
    pub fn respond(&self, codes: &[u16]) {
        self.state.lock().queued.extend(codes);
    }

    /// Answers every request with this code.
    pub fn always(&self, code: u16) {
        self.state.lock().fallback = Some(code);
    }
}

pub fn config(yaml: &str) -> NotificationsConfig {
    serde_norway::from_str(yaml).unwrap()
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn alert(
    l: &[(&str, &str)],
    annotations: &[(&str, &str)],
    starts_at: i64,
    ends_at: Option<i64>,
) -> Alert {
    Alert {
        labels: labels(l),
        annotations: labels(annotations),
        starts_at,
        ends_at,
        generator_url: "http://prom/graph".into(),
    }
}

/// A notifier on a manual clock and a temporary state directory.
pub struct Harness {
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    pub notifier: Arc<Notifier>,
    pub registry: Registry,
}

pub fn open_at(
    yaml: &str,
    clock: Arc<ManualClock>,
    dir: &Path,
    registry: &mut Registry,
) -> Result<Arc<Notifier>, hearth_alerting::notify::NotifyError> {
    Notifier::open(
        config(yaml),
        NotifierOptions {
            state_dir: dir.to_path_buf(),
            external_url: EXTERNAL_URL.into(),
            clock,
        },
        registry,
    )
}

impl Harness {
    pub fn new(yaml: &str) -> Harness {
        let clock = Arc::new(ManualClock::new(T0));
        let dir = tempfile::tempdir().unwrap();
        let mut registry = Registry::default();
        let notifier = open_at(yaml, clock.clone(), dir.path(), &mut registry).unwrap();
        Harness {
            clock,
            dir,
            notifier,
            registry,
        }
    }

    /// Moves the clock to `t` and flushes.
    pub async fn at(&self, t: i64) -> Option<i64> {
        self.clock.set(t);
        self.notifier.flush().await
    }

    pub fn receive_at(&self, t: i64, alerts: Vec<Alert>) {
        self.clock.set(t);
        self.notifier.receive(alerts);
    }

    /// The metrics in text exposition format.
    pub fn metrics(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).unwrap();
        out
    }

    /// Serves the HTTP API on 127.0.0.1 and returns its base URL.
    pub async fn serve_api(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = self.notifier.routes();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }
}

/// Follows the notifier's own schedule from the current time until `end`,
/// returning the times at which requests reached `sink`.
pub async fn run_until(h: &Harness, sink: &Sink, mut next: Option<i64>, end: i64) -> Vec<i64> {
    let mut sent = Vec::new();
    let mut guard = 0;
    while let Some(t) = next.filter(|t| *t <= end) {
        guard += 1;
        assert!(guard < 10_000, "schedule does not advance at {t}");
        let before = sink.count();
        next = h.at(t).await;
        if let Some(n) = next {
            assert!(n > t, "next due {n} not after {t}");
        }
        for _ in before..sink.count() {
            sent.push(t);
        }
    }
    sent
}

/// A line of the metrics output, exactly.
pub fn has_line(metrics: &str, line: &str) -> bool {
    metrics.lines().any(|l| l == line)
}
