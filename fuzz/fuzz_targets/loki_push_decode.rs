//! Feeds arbitrary bodies through Loki push decoding, JSON and protobuf.
//!
//! The first byte picks the path: bit 0 the Content-Type (JSON or protobuf),
//! bits 1–2 the Content-Encoding (none, snappy, gzip, deflate), and for
//! protobuf bit 3 Snappy-compresses the rest first, so the fuzzer reaches the
//! protobuf walker without having to discover valid Snappy. JSON needs no
//! such help: Loki reads it uncompressed unless gzip or deflate say otherwise.
#![no_main]

use hearth_ingest::loki_push::{Limits, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = if selector & 1 == 0 {
        Some("application/json")
    } else {
        Some("application/x-protobuf")
    };
    let content_encoding = match (selector >> 1) & 3 {
        0 => None,
        1 => Some("snappy"),
        2 => Some("gzip"),
        _ => Some("deflate"),
    };
    // Small caps keep each run fast; the checks are the same at any size.
    let limits = Limits {
        max_decompressed_bytes: 4 << 20,
        max_entries_per_request: 100_000,
        ..Limits::default()
    };
    let json = content_type == Some("application/json");
    if selector & 8 != 0 && !json {
        let Ok(compressed) = snap::raw::Encoder::new().compress_vec(body) else {
            return;
        };
        let _ = decode(None, content_type, &compressed, &limits);
    } else {
        let _ = decode(content_encoding, content_type, body, &limits);
    }
});
