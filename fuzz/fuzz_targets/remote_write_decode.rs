//! Feeds arbitrary bodies through remote write decompression and decoding.
//!
//! The first byte picks the schema (bit 0: v1 or v2) and, with bit 1 set,
//! skips Snappy so the fuzzer reaches the protobuf walker without first
//! having to discover valid Snappy; the rest is the body.
#![no_main]

use hearth_ingest::prom_remote_write::{Limits, Protocol, decode, decompress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let protocol = if selector & 1 == 0 {
        Protocol::V1
    } else {
        Protocol::V2
    };
    // Small caps keep each run fast; the checks are the same at any size.
    let limits = Limits {
        max_decompressed_bytes: 4 << 20,
        ..Limits::default()
    };
    if selector & 2 != 0 {
        let _ = decode(protocol, body, &limits);
    } else if let Ok(raw) = decompress(body, &limits) {
        let _ = decode(protocol, &raw, &limits);
    }
});
