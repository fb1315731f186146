//! Hearth's embedded web UI: static assets compiled into the binary and the
//! routes that serve them. The pages are plain ES modules that call
//! Hearth's public HTTP APIs; nothing here knows about the data.
#![deny(missing_docs)]

mod assets;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

pub use assets::{Asset, Assets};

/// Where the pages come from.
#[derive(Clone, Debug, Default)]
pub struct UiOptions {
    /// Serve the files of this directory instead of the compiled-in ones,
    /// read on every request, so that a page can be edited and reloaded
    /// without a rebuild (`HEARTH_UI_DIR`, for working on the UI).
    pub dev_dir: Option<PathBuf>,
}

#[derive(Clone)]
struct UiState {
    assets: Arc<Assets>,
    dev_dir: Option<Arc<PathBuf>>,
}

/// `/` (the single page), `/ui/{path}` (its scripts, styles and the chart
/// library) and `/graph` (Prometheus expression links).
pub fn routes(options: UiOptions) -> Router {
    let state = UiState {
        assets: Arc::new(Assets::compiled()),
        dev_dir: options.dev_dir.map(Arc::new),
    };
    Router::new()
        .route("/", get(index))
        .route("/graph", get(graph_link))
        .route("/ui/{*path}", get(asset))
        .with_state(state)
}

async fn index(State(ui): State<UiState>, headers: HeaderMap) -> Response {
    serve(&ui, "index.html", &headers).await
}

/// Prometheus-style expression links (`/graph?g0.expr=…&g0.tab=1`), which
/// alert notifications' `generatorURL` uses, open the Metrics page.
async fn graph_link(Query(params): Query<HashMap<String, String>>) -> Response {
    let mut hash = url::form_urlencoded::Serializer::new(String::new());
    if let Some(expr) = params.get("g0.expr") {
        hash.append_pair("expr", expr);
    }
    // Prometheus' tab 0 is the graph, 1 the table.
    let tab = match params.get("g0.tab").map(String::as_str) {
        Some("1") => "table",
        _ => "graph",
    };
    hash.append_pair("tab", tab);
    if let Some(range) = params.get("g0.range_input") {
        hash.append_pair("range", range);
    }
    Redirect::to(&format!("/#/metrics?{}", hash.finish())).into_response()
}

async fn asset(
    State(ui): State<UiState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(&ui, &path, &headers).await
}

async fn serve(ui: &UiState, path: &str, headers: &HeaderMap) -> Response {
    if !assets::is_safe_path(path) {
        return not_found();
    }
    if let Some(dir) = &ui.dev_dir {
        return match read_dev_file(dir.join(path)).await {
            Some(bytes) => Response::builder()
                .header(header::CONTENT_TYPE, assets::content_type(path))
                .header(header::CACHE_CONTROL, "no-store")
                .body(Body::from(bytes))
                .unwrap_or_else(|_| not_found()),
            None => not_found(),
        };
    }
    let Some(asset) = ui.assets.get(path) else {
        return not_found();
    };
    let gzipped = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip)
        .then(|| asset.gzipped())
        .flatten();
    // The two encodings are different bytes, so each has its own validator.
    let etag = match gzipped {
        Some(_) => format!("{}-gz\"", asset.etag().trim_end_matches('"')),
        None => asset.etag().to_owned(),
    };
    let builder = Response::builder()
        .header(header::ETAG, &etag)
        // Revalidated on every load (a 304 costs one round trip), so a new
        // binary's pages are never mixed with a cached old script.
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::VARY, "accept-encoding");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &etag))
    {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_else(|_| not_found());
    }
    let builder = builder
        .header(header::CONTENT_TYPE, asset.content_type())
        .header(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    let result = match gzipped {
        Some(gz) => builder
            .header(header::CONTENT_ENCODING, "gzip")
            .body(Body::from(gz)),
        None => builder.body(Body::from(asset.bytes())),
    };
    result.unwrap_or_else(|_| not_found())
}

/// `If-None-Match` compares weakly: `W/"x"` matches `"x"`.
fn etag_matches(header_value: &str, etag: &str) -> bool {
    header_value.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag
    })
}

async fn read_dev_file(path: PathBuf) -> Option<Vec<u8>> {
    tokio::fs::read(path).await.ok()
}

/// Whether `Accept-Encoding` allows gzip: an explicit `gzip` entry decides
/// by its q-value; otherwise `*` does.
fn accepts_gzip(value: &str) -> bool {
    let mut wildcard = None;
    for part in value.split(',') {
        let mut fields = part.split(';');
        let coding = fields.next().unwrap_or("").trim();
        let allowed = !fields.any(|f| {
            f.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if coding.eq_ignore_ascii_case("gzip") {
            return allowed;
        }
        if coding == "*" {
            wildcard = Some(allowed);
        }
    }
    wildcard.unwrap_or(false)
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such page\n").into_response()
}

#[cfg(test)]
mod tests;
