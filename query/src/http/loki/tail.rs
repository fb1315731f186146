//! `GET /loki/api/v1/tail`: a WebSocket that first sends the recent
//! entries a log query matches, then every new matching entry as it is
//! stored. Each text frame is `{"streams":[...]}` as in query results.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use hearth_storage::Matcher;
use hearth_storage::logs::{LogsEngine, TailBatch};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::params::{self, DEFAULT_SINCE_NS, now_ns};
use super::{LokiError, render};
use crate::QueryState;
use crate::http::params::Params;
use crate::logql::Expr;
use crate::logql::ast::LogQuery;
use crate::logql::eval::pipeline::Pipeline;
use crate::logql::exec::{
    LogLine, LogQueryParams, process_row, run_log_query, storage_matchers, stream_label_pairs,
};

/// Keeps idle connections (and proxies in between) alive.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Most entries one tail may be asked to backfill.
const MAX_TAIL_LIMIT: usize = 5000;

/// What identifies an entry already sent: its stream, time and line as
/// the pipeline output it.
type Sent = (Vec<(String, String)>, i64, Vec<u8>);

struct Tail {
    engine: Arc<LogsEngine>,
    query: LogQuery,
    pipeline: Pipeline,
    matchers: Vec<Matcher>,
    start: i64,
    limit: usize,
    categorize: bool,
}

/// The upgrade handler: checks the query before switching protocols, so
/// a bad query is a plain 400.
pub async fn tail(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &Bytes::new());
    let text = params
        .get("query")
        .ok_or_else(|| LokiError::bad("query parameter is required"))?;
    let Expr::Log(query) = crate::logql::parse(text).map_err(LokiError::bad)? else {
        return Err(LokiError::bad(
            "tail only supports log queries, not metric queries",
        ));
    };
    if let Some(d) = params.get("delay_for") {
        match d.parse::<u64>() {
            Ok(secs) if secs <= 5 => {}
            _ => return Err(LokiError::bad("delay_for can't be greater than 5")),
        }
    }
    let limit = params::limit(&params, 100)?.min(MAX_TAIL_LIMIT);
    let start = match params.get("start") {
        Some(s) => params::parse_time(s).map_err(LokiError::bad)?,
        None => now_ns().saturating_sub(DEFAULT_SINCE_NS),
    };
    let tail = Tail {
        engine: Arc::clone(state.logs()?),
        pipeline: Pipeline::new(&query.pipeline).map_err(LokiError::bad)?,
        matchers: storage_matchers(&query.matchers)?,
        query,
        start,
        limit,
        categorize: headers
            .get("x-loki-response-encoding-flags")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|f| f.trim() == "categorize-labels")),
    };
    Ok(ws.on_upgrade(move |socket| run(socket, tail)))
}

fn frame(lines: &[LogLine], categorize: bool) -> Message {
    let mut body = json!({"streams": render::streams(lines, categorize)});
    if categorize {
        body["encodingFlags"] = json!(["categorize-labels"]);
    }
    Message::Text(body.to_string().into())
}

impl Tail {
    fn matching(&self, batch: &TailBatch, seen: &HashSet<Sent>) -> Vec<LogLine> {
        let mut out = Vec::new();
        for (stream, rows) in batch {
            let selected = self
                .matchers
                .iter()
                .all(|m| m.matches(stream.get(&m.name).unwrap_or("")));
            if !selected {
                continue;
            }
            let labels = Arc::new(stream_label_pairs(stream));
            let mut metadata = Vec::new();
            for row in rows {
                if let Some(p) = process_row(&self.pipeline, row, &labels, &mut metadata) {
                    let key = (labels.as_ref().clone(), row.ts_ns, p.line.clone());
                    if seen.contains(&key) {
                        continue;
                    }
                    out.push(LogLine {
                        ts_ns: row.ts_ns,
                        line: p.line,
                        stream: Arc::clone(&labels),
                        labels: p.labels,
                        structured_metadata: p.structured_metadata,
                        parsed: p.parsed,
                    });
                }
            }
        }
        out
    }
}

async fn run(mut socket: WebSocket, tail: Tail) {
    // Subscribe before the backfill so nothing stored in between is
    // missed; what both deliver is sent once.
    let mut live = tail.engine.subscribe();
    let backfill = run_log_query(
        &tail.engine,
        &tail.query,
        LogQueryParams {
            start_ns: tail.start,
            end_ns: now_ns().saturating_add(1),
            limit: tail.limit,
            backward: true,
            interval_ns: 0,
        },
    )
    .await;
    let mut lines = match backfill {
        Ok(r) => r.lines,
        Err(e) => {
            let _ = socket
                .send(Message::Text(
                    json!({"error": e.to_string()}).to_string().into(),
                ))
                .await;
            let _ = socket.send(Message::Close(None)).await;
            return;
        }
    };
    lines.reverse();
    let seen: HashSet<Sent> = lines
        .iter()
        .map(|l| (l.stream.as_ref().clone(), l.ts_ns, l.line.clone()))
        .collect();
    if !lines.is_empty() && socket.send(frame(&lines, tail.categorize)).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            batch = live.recv() => match batch {
                Ok(batch) => {
                    let lines = tail.matching(&batch, &seen);
                    if !lines.is_empty() && socket.send(frame(&lines, tail.categorize)).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    let note: Value = json!({"streams": [], "dropped_entries": [], "missed_batches": missed});
                    if socket.send(Message::Text(note.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Bytes::new())).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
