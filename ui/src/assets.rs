//! The compiled-in files, each with its content type, an ETag and a gzip
//! copy made on first use.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::OnceLock;

use axum::body::Bytes;

/// Every file under `assets/`, by path relative to it.
const FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// One served file.
#[derive(Debug)]
pub struct Asset {
    path: &'static str,
    bytes: &'static [u8],
    etag: String,
    gzipped: OnceLock<Option<Bytes>>,
}

impl Asset {
    fn new(path: &'static str, bytes: &'static [u8]) -> Self {
        Self {
            path,
            bytes,
            etag: format!("\"{:016x}\"", fnv1a(bytes)),
            gzipped: OnceLock::new(),
        }
    }

    /// The file as built.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// A strong validator of the content.
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// The `Content-Type` header value.
    pub fn content_type(&self) -> &'static str {
        content_type(self.path)
    }

    /// The gzip-compressed file, for text types where it is smaller;
    /// compressed once, then shared by every response.
    pub fn gzipped(&self) -> Option<Bytes> {
        self.gzipped
            .get_or_init(|| {
                if !is_text(self.path) {
                    return None;
                }
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                enc.write_all(self.bytes).ok()?;
                let gz = enc.finish().ok()?;
                (gz.len() < self.bytes.len()).then(|| Bytes::from(gz))
            })
            .clone()
    }
}

/// The compiled-in file set.
#[derive(Debug)]
pub struct Assets {
    by_path: HashMap<&'static str, Asset>,
}

impl Assets {
    /// The files compiled into this binary.
    pub fn compiled() -> Self {
        Self {
            by_path: FILES
                .iter()
                .map(|(path, bytes)| (*path, Asset::new(path, bytes)))
                .collect(),
        }
    }

    /// The file at `path` (relative to `assets/`).
    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.by_path.get(path)
    }

    /// Every path served.
    pub fn paths(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_path.keys().copied()
    }
}

/// Only plain relative paths: no `..`, no hidden files, no backslashes.
pub fn is_safe_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        })
}

/// The `Content-Type` of a path, by extension.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn is_text(path: &str) -> bool {
    let ct = content_type(path);
    ct.starts_with("text/") || ct == "image/svg+xml" || ct == "application/json"
}

/// A content hash for ETags; not for security.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
