// Test inputs are fixed or generated valid; a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write as _;

use hearth_storage::{Label, Labels, LogEntry, StreamWrite};
use proptest::prelude::*;
use prost::Message;

use super::labels::{Parser, render};
use super::*;
use crate::proto::loki_push as proto;

const TS: i64 = 1_718_000_000_123_456_789;
const PROTOBUF: Option<&str> = Some("application/x-protobuf");
const JSON: Option<&str> = Some("application/json");

/// Level discovery off, so decoded entries read exactly as sent; its own
/// test turns it on.
fn limits() -> Limits {
    Limits {
        discover_log_levels: false,
        ..Limits::default()
    }
}

fn snappy(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(raw).unwrap()
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

fn zlib(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

fn timestamp(ts_ns: i64) -> proto::Timestamp {
    proto::Timestamp {
        seconds: ts_ns.div_euclid(1_000_000_000),
        nanos: ts_ns.rem_euclid(1_000_000_000) as i32,
    }
}

fn pb_entry(ts_ns: i64, line: &[u8]) -> proto::EntryAdapter {
    proto::EntryAdapter {
        timestamp: Some(timestamp(ts_ns)),
        line: line.to_vec(),
        structured_metadata: vec![],
        parsed: vec![],
    }
}

fn pb_stream(labels: &str, entries: Vec<proto::EntryAdapter>) -> proto::StreamAdapter {
    proto::StreamAdapter {
        labels: labels.as_bytes().to_vec(),
        entries,
        hash: 0,
    }
}

fn pb_request(streams: Vec<proto::StreamAdapter>) -> proto::PushRequest {
    proto::PushRequest {
        streams,
        format: vec![],
    }
}

fn decode_pb_with(req: &proto::PushRequest, limits: &Limits) -> Result<Decoded, DecodeError> {
    decode(None, PROTOBUF, &snappy(&req.encode_to_vec()), limits)
}

fn decode_pb(req: &proto::PushRequest) -> Decoded {
    decode_pb_with(req, &limits()).unwrap()
}

fn decode_json(body: &str) -> Result<Decoded, DecodeError> {
    decode(None, JSON, body.as_bytes(), &limits())
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

fn entry(ts_ns: i64, line: &[u8]) -> LogEntry {
    LogEntry {
        ts_ns,
        line: bytes::Bytes::copy_from_slice(line),
        structured_metadata: vec![],
    }
}

/// The one stream a request was expected to yield.
fn single(decoded: &Decoded) -> &StreamWrite {
    assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
    let [stream] = decoded.write.streams.as_slice() else {
        panic!("expected one stream, got {:?}", decoded.write.streams);
    };
    stream
}

fn messages(decoded: &Decoded) -> Vec<String> {
    decoded.rejected.iter().map(ToString::to_string).collect()
}

fn parse_all(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut parser = Parser::new(text);
    let mut out = Vec::new();
    loop {
        match parser.next_pair() {
            Ok(Some((n, v))) => out.push((n.into_owned(), v.into_owned())),
            Ok(None) => return Ok(out),
            Err(e) => return Err(e.to_string()),
        }
    }
}

// ---- the protobuf path ----

#[test]
fn protobuf_snappy_push_decodes() {
    let mut with_metadata = pb_entry(TS + 1, b"panic: boom");
    with_metadata.structured_metadata = vec![
        proto::LabelPairAdapter::new("trace_id", "4bf92f35"),
        proto::LabelPairAdapter::new("user_id", "42"),
    ];
    with_metadata.parsed = vec![proto::LabelPairAdapter::new("ignored", "x")];
    let req = pb_request(vec![pb_stream(
        r#"{job="varlog", host="a\"b"}"#,
        vec![pb_entry(TS, b"GET /health 200"), with_metadata],
    )]);
    let decoded = decode_pb(&req);
    let stream = single(&decoded);
    assert_eq!(
        stream.labels,
        labels(&[
            ("host", "a\"b"),
            ("job", "varlog"),
            ("service_name", "varlog")
        ])
    );
    assert_eq!(
        stream.entries,
        vec![
            entry(TS, b"GET /health 200"),
            LogEntry {
                structured_metadata: vec![
                    Label::new("trace_id", "4bf92f35"),
                    Label::new("user_id", "42"),
                ],
                ..entry(TS + 1, b"panic: boom")
            },
        ]
    );
    assert_eq!(decoded.write.entry_count(), 2);
}

#[test]
fn protobuf_is_the_default_without_or_with_any_other_content_type() {
    let req = pb_request(vec![pb_stream(r#"{job="a"}"#, vec![pb_entry(TS, b"x")])]);
    let body = snappy(&req.encode_to_vec());
    let expected = decode_pb(&req);
    for ct in [
        None,
        Some(""),
        PROTOBUF,
        Some("text/plain"),
        Some("application/jsonx"),
    ] {
        for ce in [
            None,
            Some(""),
            Some("snappy"),
            Some("SNAPPY"),
            Some("identity"),
        ] {
            assert_eq!(
                decode(ce, ct, &body, &limits()).unwrap(),
                expected,
                "{ce:?} {ct:?}"
            );
        }
    }
}

#[test]
fn protobuf_can_be_gzipped_or_deflated_around_snappy() {
    let req = pb_request(vec![pb_stream(r#"{job="a"}"#, vec![pb_entry(TS, b"x")])]);
    let body = snappy(&req.encode_to_vec());
    let expected = decode_pb(&req);
    assert_eq!(
        decode(Some("gzip"), None, &gzip(&body), &limits()).unwrap(),
        expected
    );
    assert_eq!(
        decode(Some("deflate"), None, &raw_deflate(&body), &limits()).unwrap(),
        expected
    );
}

#[test]
fn framed_snappy_is_accepted() {
    let req = pb_request(vec![pb_stream(r#"{job="a"}"#, vec![pb_entry(TS, b"x")])]);
    let mut framed = snap::write::FrameEncoder::new(Vec::new());
    framed.write_all(&req.encode_to_vec()).unwrap();
    let body = framed.into_inner().unwrap();
    assert_eq!(
        decode(None, None, &body, &limits()).unwrap(),
        decode_pb(&req)
    );
}

#[test]
fn invalid_utf8_lines_round_trip_byte_exact() {
    let lines: [&[u8]; 4] = [
        b"\xff\xfe not utf-8 \xc3\x28",
        b"",
        b"\0nul\0",
        "caf\u{e9} \u{1f600}".as_bytes(),
    ];
    let req = pb_request(vec![pb_stream(
        r#"{job="a"}"#,
        lines.iter().map(|l| pb_entry(TS, l)).collect(),
    )]);
    let decoded = decode_pb(&req);
    let got: Vec<&[u8]> = single(&decoded)
        .entries
        .iter()
        .map(|e| e.line.as_ref())
        .collect();
    assert_eq!(got, lines);

    // Raw invalid bytes inside a JSON string come through unchanged too.
    let mut body = br#"{"streams":[{"stream":{"job":"a"},"values":[["1",""#.to_vec();
    body.extend_from_slice(b"\xff\xfe bad \xc3\x28");
    body.extend_from_slice(br#""]]}]}"#);
    let decoded = decode(None, JSON, &body, &limits()).unwrap();
    assert_eq!(
        single(&decoded).entries[0].line.as_ref(),
        b"\xff\xfe bad \xc3\x28"
    );
}

#[test]
fn every_entry_gets_a_detected_level_when_discovery_is_on() {
    let on = Limits {
        discover_log_levels: true,
        ..limits()
    };
    let mut preset = pb_entry(TS + 2, b"error");
    preset.structured_metadata = vec![proto::LabelPairAdapter::new("detected_level", "WARNING")];
    let req = pb_request(vec![pb_stream(
        r#"{job="a"}"#,
        vec![
            pb_entry(TS, br#"{"level":"ERR","msg":"x"}"#),
            pb_entry(TS + 1, b"nothing to see"),
            preset,
        ],
    )]);
    let decoded = decode_pb_with(&req, &on).unwrap();
    let levels: Vec<Vec<(&str, &str)>> = single(&decoded)
        .entries
        .iter()
        .map(|e| {
            e.structured_metadata
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str()))
                .collect()
        })
        .collect();
    assert_eq!(
        levels,
        vec![
            vec![("detected_level", "error")],
            vec![("detected_level", "unknown")],
            vec![("detected_level", "warn")],
        ]
    );
    // A stream label wins over the line.
    let req = pb_request(vec![pb_stream(
        r#"{job="a", level="debug"}"#,
        vec![pb_entry(TS, b"ERROR boom")],
    )]);
    let decoded = decode_pb_with(&req, &on).unwrap();
    assert_eq!(
        single(&decoded).entries[0].structured_metadata,
        vec![Label::new("detected_level", "debug")]
    );
}

#[test]
fn multi_line_and_ansi_colour_lines_are_kept_verbatim() {
    let line = "\u{1b}[31mERROR\u{1b}[0m boom\n  at main.rs:1\r\n\tcaused by: \"x\"\\";
    let req = pb_request(vec![pb_stream(
        r#"{job="a"}"#,
        vec![pb_entry(TS, line.as_bytes())],
    )]);
    assert_eq!(
        single(&decode_pb(&req)).entries[0].line.as_ref(),
        line.as_bytes()
    );
    let body = serde_json::json!({"streams": [{"stream": {"job": "a"}, "values": [[TS.to_string(), line]]}]});
    let decoded = decode_json(&body.to_string()).unwrap();
    assert_eq!(single(&decoded).entries[0].line.as_ref(), line.as_bytes());
}

#[test]
fn timestamps_are_normalised_like_go() {
    let ts = |seconds, nanos| proto::EntryAdapter {
        timestamp: Some(proto::Timestamp { seconds, nanos }),
        ..pb_entry(0, b"x")
    };
    let req = pb_request(vec![pb_stream(
        r#"{job="a"}"#,
        vec![
            ts(1, -1),
            ts(1, 1_500_000_000),
            ts(-1, 0),
            proto::EntryAdapter {
                timestamp: None,
                ..pb_entry(0, b"x")
            },
        ],
    )]);
    let got: Vec<i64> = single(&decode_pb(&req))
        .entries
        .iter()
        .map(|e| e.ts_ns)
        .collect();
    assert_eq!(got, [999_999_999, 2_500_000_000, -1_000_000_000, 0]);
}

#[test]
fn timestamp_out_of_range_rejects_the_entry() {
    let far = proto::EntryAdapter {
        timestamp: Some(proto::Timestamp {
            seconds: i64::MAX / 1_000_000_000 + 1,
            nanos: 0,
        }),
        ..pb_entry(0, b"late")
    };
    let req = pb_request(vec![pb_stream(
        r#"{job="a"}"#,
        vec![far, pb_entry(TS, b"ok")],
    )]);
    let decoded = decode_pb(&req);
    assert_eq!(decoded.write.streams[0].entries, vec![entry(TS, b"ok")]);
    assert_eq!(
        messages(&decoded),
        [
            "entry for stream '{job=\"a\"}' has timestamp out of range: 9223372037 seconds and 0 nanoseconds do not fit in 64-bit Unix nanoseconds"
        ]
    );
}

#[test]
fn malformed_protobuf_is_refused_with_detail() {
    let err = decode(None, None, &snappy(&[0x0a, 0x05, 0x01]), &limits()).unwrap_err();
    assert!(matches!(err, DecodeError::Protobuf(_)), "{err}");
    assert_eq!(err.status_code().as_u16(), 400);
    assert!(err.to_string().contains("logproto.PushRequest"), "{err}");

    // Entry 1 of stream 0 has a line (field 2) sent as a varint.
    let mut stream = pb_stream(r#"{job="a"}"#, vec![pb_entry(TS, b"x")]).encode_to_vec();
    stream.extend_from_slice(&[0x12, 0x02, 0x10, 0x01]);
    let mut raw = vec![0x0a, stream.len() as u8];
    raw.extend_from_slice(&stream);
    let err = decode(None, None, &snappy(&raw), &limits()).unwrap_err();
    assert!(
        err.to_string()
            .contains("streams[0].entries[1]: field 2 has wire type varint"),
        "{err}"
    );

    // A structured metadata pair that is not a message.
    let raw_entry = [0x1a, 0x02, 0x08, 0x01];
    let mut stream = vec![0x0a, 0x09];
    stream.extend_from_slice(br#"{job="a"}"#);
    stream.extend_from_slice(&[0x12, raw_entry.len() as u8]);
    stream.extend_from_slice(&raw_entry);
    let mut raw = vec![0x0a, stream.len() as u8];
    raw.extend_from_slice(&stream);
    let err = decode(None, None, &snappy(&raw), &limits()).unwrap_err();
    assert!(
        err.to_string()
            .contains("streams[0].entries[0]: structuredMetadata[0]"),
        "{err}"
    );
}

#[test]
fn labels_after_entries_on_the_wire_are_found() {
    let mut raw_stream = vec![];
    let entry_bytes = pb_entry(TS, b"x").encode_to_vec();
    raw_stream.push(0x12);
    raw_stream.push(entry_bytes.len() as u8);
    raw_stream.extend_from_slice(&entry_bytes);
    raw_stream.extend_from_slice(&[0x0a, 0x09]);
    raw_stream.extend_from_slice(br#"{job="a"}"#);
    let mut raw = vec![0x0a, raw_stream.len() as u8];
    raw.extend_from_slice(&raw_stream);
    let decoded = decode(None, None, &snappy(&raw), &limits()).unwrap();
    assert_eq!(single(&decoded).labels.get("job"), Some("a"));
}

// ---- the JSON path ----

const JSON_EXAMPLE: &str = r#"{"streams":[
  {"stream":{"job":"app","env":"prod"},
   "values":[
     ["1718000000000000000","GET /health 200"],
     ["1718000000500000000","panic: boom",{"trace_id":"4bf92f35","user_id":"42"}]
   ]}]}"#;

fn json_example_stream() -> StreamWrite {
    StreamWrite {
        labels: labels(&[("env", "prod"), ("job", "app"), ("service_name", "app")]),
        entries: vec![
            entry(1_718_000_000_000_000_000, b"GET /health 200"),
            LogEntry {
                structured_metadata: vec![
                    Label::new("trace_id", "4bf92f35"),
                    Label::new("user_id", "42"),
                ],
                ..entry(1_718_000_000_500_000_000, b"panic: boom")
            },
        ],
    }
}

#[test]
fn json_push_decodes() {
    let decoded = decode_json(JSON_EXAMPLE).unwrap();
    assert_eq!(single(&decoded), &json_example_stream());
}

#[test]
fn json_content_type_ignores_case_and_parameters() {
    for ct in [
        "application/json",
        "Application/JSON",
        " application/json ; charset=utf-8",
    ] {
        let decoded = decode(None, Some(ct), JSON_EXAMPLE.as_bytes(), &limits()).unwrap();
        assert_eq!(single(&decoded), &json_example_stream(), "{ct}");
    }
}

#[test]
fn json_can_be_compressed() {
    let raw = JSON_EXAMPLE.as_bytes();
    for (ce, body) in [
        ("gzip", gzip(raw)),
        ("GZIP", gzip(raw)),
        ("deflate", raw_deflate(raw)),
        ("deflate", zlib(raw)),
        // Loki reads JSON as it is under `snappy`; only protobuf is Snappy.
        ("snappy", raw.to_vec()),
    ] {
        let decoded =
            decode(Some(ce), JSON, &body, &limits()).unwrap_or_else(|e| panic!("{ce}: {e}"));
        assert_eq!(single(&decoded), &json_example_stream(), "{ce}");
    }
    // Concatenated gzip members are one stream, as in Go.
    let mut two = gzip(&raw[..10]);
    two.extend_from_slice(&gzip(&raw[10..]));
    let decoded = decode(Some("gzip"), JSON, &two, &limits()).unwrap();
    assert_eq!(single(&decoded), &json_example_stream());
}

#[test]
fn legacy_json_decodes() {
    let body = r#"{"streams":[{"labels":"{job=\"a\", host=\"h\"}","entries":[
        {"ts":"2024-06-10T06:13:20.123456789Z","line":"one"},
        {"ts":"2024-06-10T08:13:20+02:00","line":"two","extra":1}]}]}"#;
    let decoded = decode_json(body).unwrap();
    let stream = single(&decoded);
    assert_eq!(
        stream.labels,
        labels(&[("host", "h"), ("job", "a"), ("service_name", "a")])
    );
    assert_eq!(
        stream.entries,
        vec![
            entry(1_718_000_000_123_456_789, b"one"),
            entry(1_718_000_000_000_000_000, b"two"),
        ]
    );
    let err = decode_json(r#"{"streams":[{"labels":"{a=\"b\"}","entries":[{"ts":"yesterday"}]}]}"#)
        .unwrap_err();
    assert!(
        err.to_string().contains("expected an RFC 3339 timestamp"),
        "{err}"
    );
    let err = decode_json(r#"{"streams":[{"labels":"{a=\"b\"}","entries":[{"line":"x"}]}]}"#)
        .unwrap_err();
    assert!(err.to_string().contains("missing field `ts`"), "{err}");
}

#[test]
fn json_number_timestamps_are_refused() {
    let err =
        decode_json(r#"{"streams":[{"stream":{"job":"a"},"values":[[1718000000000000000,"x"]]}]}"#)
            .unwrap_err();
    assert_eq!(err.status_code().as_u16(), 400);
    assert_eq!(
        err.to_string(),
        "request body is not valid Loki push JSON: invalid type: integer `1718000000000000000`, expected a string of Unix nanoseconds at line 1 column 64"
    );
    for bad in [r#""""#, r#""12a""#, r#""1.5""#, r#""99999999999999999999""#] {
        let body = format!(r#"{{"streams":[{{"stream":{{"job":"a"}},"values":[[{bad},"x"]]}}]}}"#);
        let err = decode_json(&body).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a string of Unix nanoseconds"),
            "{bad}: {err}"
        );
    }
    // Signs parse, as Go's strconv.ParseInt allows.
    let decoded =
        decode_json(r#"{"streams":[{"stream":{"job":"a"},"values":[["-5","x"],["+5","y"]]}]}"#)
            .unwrap();
    let got: Vec<i64> = single(&decoded).entries.iter().map(|e| e.ts_ns).collect();
    assert_eq!(got, [-5, 5]);
}

#[test]
fn json_shape_errors_are_refused() {
    for (body, needle) in [
        ("", "EOF while parsing"),
        ("[]", "expected an object like"),
        (r#"{"streams":{}}"#, "expected an array of streams"),
        (r#"{"streams":[{"stream":{"job":1}}]}"#, "expected a string"),
        (
            r#"{"streams":[{"stream":{"job":"a"},"values":[["1"]]}]}"#,
            "invalid length 1",
        ),
        (
            r#"{"streams":[{"stream":{"job":"a"},"values":[["1",2]]}]}"#,
            "expected a log line string",
        ),
        (
            r#"{"streams":[{"stream":{"job":"a"},"values":[["1","x",{"k":1}]]}]}"#,
            "expected a string",
        ),
        (
            r#"{"streams":[{"stream":{"job":"a"},"values":[["1","x",{},4]]}]}"#,
            "more than 3 elements",
        ),
        (r#"{"streams":[]} x"#, "trailing characters"),
    ] {
        let err = decode_json(body).unwrap_err();
        assert!(matches!(err, DecodeError::Json(_)), "{body}: {err}");
        assert!(err.to_string().contains(needle), "{body}: {err}");
    }
}

#[test]
fn json_accepts_empty_and_null_and_unknown_fields() {
    for body in [
        "null",
        "{}",
        r#"{"streams":null}"#,
        r#"{"streams":[]}"#,
        r#"{"other":[1,{"a":[]}],"streams":[{"stream":{"job":"a"},"values":[]}]}"#,
        r#"{"streams":[{"stream":{"job":"a"},"values":null}]}"#,
    ] {
        let decoded = decode_json(body).unwrap();
        assert_eq!(decoded, Decoded::default(), "{body}");
    }
    let decoded = decode_json(
        r#"{"x":1,"streams":[{"y":true,"stream":{"job":"a"},"values":[["1","x",null]]}]}"#,
    )
    .unwrap();
    assert_eq!(single(&decoded).entries, vec![entry(1, b"x")]);
}

// ---- content encoding and limits ----

#[test]
fn unknown_content_encoding_is_refused() {
    for ce in ["br", "zstd", "gzip, br"] {
        let err = decode(Some(ce), None, b"", &limits()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("Content-Encoding \"{ce}\" not supported")
        );
        assert_eq!(err.status_code().as_u16(), 400);
    }
}

#[test]
fn corrupt_compression_is_refused() {
    for (ce, ct) in [
        (Some("gzip"), JSON),
        (Some("deflate"), JSON),
        (None, None),
        (Some("snappy"), PROTOBUF),
    ] {
        let err = decode(ce, ct, b"\x01\x02\x03garbage", &limits()).unwrap_err();
        assert!(
            matches!(err, DecodeError::Decompress { .. }),
            "{ce:?}: {err}"
        );
        assert_eq!(err.status_code().as_u16(), 400);
    }
}

#[test]
fn body_over_the_limit_is_refused() {
    let limits = Limits {
        max_body_bytes: 10,
        ..limits()
    };
    let err = decode(None, JSON, &[b' '; 11], &limits).unwrap_err();
    assert_eq!(
        err,
        DecodeError::BodyTooLarge {
            size: 11,
            limit: 10
        }
    );
    assert_eq!(err.status_code().as_u16(), 413);
}

#[test]
fn declared_snappy_size_over_the_limit_is_refused_before_allocating() {
    // A header declaring 1 GiB, then almost nothing: refused from the header.
    let body = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00];
    for (ce, ct) in [(None, None), (Some("snappy"), PROTOBUF)] {
        let err = decode(ce, ct, &body, &limits()).unwrap_err();
        assert_eq!(
            err,
            DecodeError::DecompressedTooLarge {
                size: Some(1 << 30),
                limit: 64 << 20
            }
        );
        assert_eq!(err.status_code().as_u16(), 413);
        assert_eq!(
            err.to_string(),
            "request body decompresses to 1073741824 bytes, more than the limit of 67108864"
        );
    }
}

#[test]
fn inflation_is_capped_while_streaming() {
    let bomb = vec![b' '; 4 << 20];
    let limits = Limits {
        max_decompressed_bytes: 1 << 20,
        ..limits()
    };
    for (ce, body) in [
        ("gzip", gzip(&bomb)),
        ("deflate", raw_deflate(&bomb)),
        ("deflate", zlib(&bomb)),
    ] {
        assert!(body.len() < 64 << 10);
        let err = decode(Some(ce), JSON, &body, &limits).unwrap_err();
        assert_eq!(
            err,
            DecodeError::DecompressedTooLarge {
                size: None,
                limit: 1 << 20
            },
            "{ce}"
        );
    }
    // Exactly at the limit is fine.
    let mut exact = b"{\"streams\":[]}".to_vec();
    exact.resize(1 << 20, b' ');
    let decoded = decode(Some("gzip"), JSON, &gzip(&exact), &limits).unwrap();
    assert_eq!(decoded, Decoded::default());
}

#[test]
fn too_many_streams_or_entries_fail_the_request() {
    let limits = Limits {
        max_streams_per_request: 2,
        max_entries_per_request: 3,
        ..limits()
    };
    let streams = |n: usize, entries: usize| {
        pb_request(
            (0..n)
                .map(|i| {
                    pb_stream(
                        &format!("{{job=\"{i}\"}}"),
                        vec![pb_entry(TS, b"x"); entries],
                    )
                })
                .collect(),
        )
    };
    assert!(decode_pb_with(&streams(2, 1), &limits).is_ok());
    let err = decode_pb_with(&streams(3, 1), &limits).unwrap_err();
    assert_eq!(err, DecodeError::TooManyStreams { limit: 2 });
    assert_eq!(err.status_code().as_u16(), 413);
    assert!(decode_pb_with(&streams(1, 3), &limits).is_ok());
    let err = decode_pb_with(&streams(2, 2), &limits).unwrap_err();
    assert_eq!(err, DecodeError::TooManyEntries { limit: 3 });
    assert_eq!(err.to_string(), "request has more than 3 entries");

    let json = |n: usize, entries: usize| {
        let values = vec![serde_json::json!(["1", "x"]); entries];
        let streams: Vec<_> = (0..n)
            .map(|i| serde_json::json!({"stream": {"job": i.to_string()}, "values": values}))
            .collect();
        serde_json::json!({ "streams": streams }).to_string()
    };
    let run = |body: String| decode(None, JSON, body.as_bytes(), &limits);
    assert!(run(json(2, 1)).is_ok());
    assert_eq!(
        run(json(3, 1)).unwrap_err(),
        DecodeError::TooManyStreams { limit: 2 }
    );
    assert!(run(json(1, 3)).is_ok());
    assert_eq!(
        run(json(2, 2)).unwrap_err(),
        DecodeError::TooManyEntries { limit: 3 }
    );
}

// ---- validation ----

fn reject_pb(labels: &str, limits: &Limits) -> Decoded {
    let req = pb_request(vec![
        pb_stream(labels, vec![pb_entry(TS, b"x"), pb_entry(TS, b"y")]),
        pb_stream(r#"{job="ok"}"#, vec![pb_entry(TS, b"z")]),
    ]);
    let decoded = decode_pb_with(&req, limits).unwrap();
    // The good stream survives a bad neighbour.
    assert_eq!(decoded.write.streams.len(), 1);
    assert_eq!(decoded.write.streams[0].labels.get("job"), Some("ok"));
    assert_eq!(decoded.rejected.len(), 1);
    assert_eq!(decoded.rejected_entries(), 2);
    assert!(decoded.rejected[0].reason.is_stream_level());
    decoded
}

#[test]
fn stream_label_problems_reject_the_stream_with_loki_messages() {
    let l = limits();
    let cases = [
        (
            r#"{job="x", foo.bar="y"}"#,
            "stream '{\"foo.bar\"=\"y\", job=\"x\"}' has label name with invalid syntax: 'foo.bar'",
            "invalid_label_name",
        ),
        (
            r#"{job="x", "0ab"="y"}"#,
            "stream '{\"0ab\"=\"y\", job=\"x\"}' has label name with invalid syntax: '0ab'",
            "invalid_label_name",
        ),
        (
            r#"{job="x", job="y"}"#,
            "stream '{job=\"x\", job=\"y\"}' has duplicate label name: 'job'",
            "duplicate_label_name",
        ),
        (
            "{}",
            "error at least one label pair is required per stream",
            "missing_labels",
        ),
        (
            r#"{job=""}"#,
            "error at least one label pair is required per stream",
            "missing_labels",
        ),
        (
            r#"{job="x""#,
            "error parsing labels '{job=\"x\"' with error: at byte 8: expected ',' or '}' after a label, found the end of the text",
            "invalid_labels",
        ),
        (
            r#"{job=~"x"}"#,
            "error parsing labels '{job=~\"x\"}' with error: at byte 5: label \"job\" uses the matcher operator =~; a stream's labels take only '='",
            "invalid_labels",
        ),
    ];
    for (text, message, kind) in cases {
        let decoded = reject_pb(text, &l);
        assert_eq!(messages(&decoded), [message], "{text}");
        assert_eq!(decoded.rejected[0].reason.as_str(), kind);
    }
}

#[test]
fn invalid_utf8_label_text_rejects_the_stream() {
    let mut req = pb_request(vec![pb_stream("", vec![pb_entry(TS, b"x")])]);
    req.streams[0].labels = b"{job=\"\xff\"}".to_vec();
    let decoded = decode_pb(&req);
    assert!(decoded.write.streams.is_empty());
    assert_eq!(
        messages(&decoded),
        ["error parsing labels '{job=\"\u{fffd}\"}' with error: at byte 6: not valid UTF-8"]
    );
}

#[test]
fn label_count_and_length_limits() {
    let many: Vec<String> = (0..16).map(|i| format!("l{i:02}=\"v\"")).collect();
    let text = format!("{{{}}}", many.join(", "));
    let decoded = reject_pb(&text, &limits());
    let message = &messages(&decoded)[0];
    assert!(
        message.starts_with("entry for stream '{l00=\"v\", l01=\"v\""),
        "{message}"
    );
    assert!(
        message.ends_with("' has 16 label names; limit 15"),
        "{message}"
    );

    // 15 plus a sender's own service_name is fine: Loki does not count it.
    let text = format!("{{{}, service_name=\"svc\"}}", many[..15].join(", "));
    let req = pb_request(vec![pb_stream(&text, vec![pb_entry(TS, b"x")])]);
    let decoded = decode_pb(&req);
    assert_eq!(single(&decoded).labels.len(), 16);
    assert_eq!(single(&decoded).labels.get("service_name"), Some("svc"));

    // Exactly 15 gets service_name added on top.
    let text = format!("{{{}}}", many[..15].join(", "));
    let req = pb_request(vec![pb_stream(&text, vec![pb_entry(TS, b"x")])]);
    assert_eq!(single(&decode_pb(&req)).labels.len(), 16);

    let l = Limits {
        max_label_name_len: 4,
        max_label_value_len: 3,
        ..limits()
    };
    let decoded = reject_pb(r#"{jobby="x"}"#, &l);
    assert_eq!(
        messages(&decoded),
        ["stream '{jobby=\"x\"}' has label name too long: 'jobby'"]
    );
    let decoded = reject_pb(r#"{job="long"}"#, &l);
    assert_eq!(
        messages(&decoded),
        ["stream '{job=\"long\"}' has label value too long: 'long'"]
    );
    let req = pb_request(vec![pb_stream(r#"{jobb="abc"}"#, vec![pb_entry(TS, b"x")])]);
    assert!(decode_pb_with(&req, &l).unwrap().rejected.is_empty());
}

#[test]
fn json_stream_labels_are_validated_too() {
    let body = r#"{"streams":[
        {"stream":{"job":"a","bad-name":"x"},"values":[["1","x"]]},
        {"stream":{},"values":[["1","x"]]},
        {"values":[["1","x"]]},
        {"stream":{"job":"ok"},"values":[["1","x"]]}]}"#;
    let decoded = decode_json(body).unwrap();
    assert_eq!(
        messages(&decoded),
        [
            "stream '{\"bad-name\"=\"x\", job=\"a\"}' has label name with invalid syntax: 'bad-name'",
            "error at least one label pair is required per stream",
            "error at least one label pair is required per stream",
        ]
    );
    assert_eq!(single_kept(&decoded).labels.get("job"), Some("ok"));
}

fn single_kept(decoded: &Decoded) -> &StreamWrite {
    let [stream] = decoded.write.streams.as_slice() else {
        panic!("expected one stream, got {:?}", decoded.write.streams);
    };
    stream
}

#[test]
fn long_lines_reject_only_their_entries() {
    let long = vec![b'a'; 300_000];
    let exact = vec![b'b'; 262_144];
    let req = pb_request(vec![pb_stream(
        r#"{job="x"}"#,
        vec![
            pb_entry(TS, b"short"),
            pb_entry(TS, &long),
            pb_entry(TS, &exact),
            pb_entry(TS, &long[..270_000]),
        ],
    )]);
    let decoded = decode_pb(&req);
    let kept: Vec<usize> = single_kept(&decoded)
        .entries
        .iter()
        .map(|e| e.line.len())
        .collect();
    assert_eq!(kept, [5, 262_144]);
    // Rejections of one kind in one stream are merged under the first.
    assert_eq!(
        messages(&decoded),
        [
            "Max entry size '262144' bytes exceeded for stream '{job=\"x\"}' while adding an entry with length '300000' bytes"
        ]
    );
    assert_eq!(decoded.rejected[0].entries, 2);
    assert_eq!(decoded.rejected[0].reason.as_str(), "line_too_long");
    assert!(!decoded.rejected[0].reason.is_stream_level());
}

#[test]
fn structured_metadata_limits_reject_entries() {
    let l = Limits {
        max_structured_metadata_entries: 2,
        max_structured_metadata_bytes: 10,
        ..limits()
    };
    let with = |pairs: &[(&str, &str)]| proto::EntryAdapter {
        structured_metadata: pairs
            .iter()
            .map(|(n, v)| proto::LabelPairAdapter::new(n, v))
            .collect(),
        ..pb_entry(TS, b"x")
    };
    let mut bad_utf8 = with(&[("a", "b")]);
    bad_utf8.structured_metadata[0].value = b"\xff".to_vec();
    let req = pb_request(vec![pb_stream(
        r#"{job="x"}"#,
        vec![
            with(&[("a", "1"), ("b", "2")]),
            with(&[("a", "1"), ("b", "2"), ("c", "3")]),
            with(&[("name", "0123456")]),
            with(&[("", "v")]),
            bad_utf8,
        ],
    )]);
    let decoded = decode_pb_with(&req, &l).unwrap();
    assert_eq!(single_kept(&decoded).entries.len(), 1);
    assert_eq!(
        messages(&decoded),
        [
            "stream '{job=\"x\"}' has too many structured metadata labels: '3', limit: '2'",
            "stream '{job=\"x\"}' has structured metadata too large: '11' bytes, limit: '10' bytes",
            "stream '{job=\"x\"}' has structured metadata with an empty name",
            "stream '{job=\"x\"}' has structured metadata that is not valid UTF-8",
        ]
    );

    // JSON counts past the limit without keeping the pairs.
    let many: BTreeMap<String, String> = (0..20).map(|i| (format!("k{i}"), "v".into())).collect();
    let body =
        serde_json::json!({"streams": [{"stream": {"job": "x"}, "values": [["1", "x", many]]}]});
    let decoded = decode(None, JSON, body.to_string().as_bytes(), &l).unwrap();
    assert_eq!(
        messages(&decoded),
        ["stream '{job=\"x\"}' has too many structured metadata labels: '20', limit: '2'"]
    );
}

#[test]
fn streams_without_entries_are_dropped_quietly() {
    let req = pb_request(vec![pb_stream(r#"{job="x"}"#, vec![])]);
    assert_eq!(decode_pb(&req), Decoded::default());
}

#[test]
fn service_name_is_added_from_the_first_source_present() {
    let cases = [
        (r#"{job="j", app="a"}"#, "a"),
        (r#"{k8s_job_name="k", job="j"}"#, "j"),
        (r#"{container="c", component="x"}"#, "c"),
        (r#"{service="s", app="a"}"#, "s"),
        (r#"{service_name="mine", app="a"}"#, "mine"),
        (r#"{host="h"}"#, "unknown_service"),
        (r#"{app="", job="j"}"#, "j"),
    ];
    for (text, service) in cases {
        let req = pb_request(vec![pb_stream(text, vec![pb_entry(TS, b"x")])]);
        let decoded = decode_pb(&req);
        assert_eq!(
            single(&decoded).labels.get(SERVICE_NAME_LABEL),
            Some(service),
            "{text}"
        );
    }
    assert_eq!(SERVICE_NAME_SOURCES.len(), 13);
    assert_eq!(UNKNOWN_SERVICE, "unknown_service");
}

#[test]
fn reject_reasons_have_distinct_snake_case_names() {
    let reasons = [
        RejectReason::InvalidLabels(String::new()),
        RejectReason::MissingLabels,
        RejectReason::TooManyLabels { count: 0, limit: 0 },
        RejectReason::InvalidLabelName(String::new()),
        RejectReason::LabelNameTooLong(String::new()),
        RejectReason::LabelValueTooLong(String::new()),
        RejectReason::DuplicateLabelName(String::new()),
        RejectReason::LineTooLong { len: 0, limit: 0 },
        RejectReason::TimestampOutOfRange {
            seconds: 0,
            nanos: 0,
        },
        RejectReason::StructuredMetadataNotUtf8,
        RejectReason::StructuredMetadataEmptyName,
        RejectReason::TooManyStructuredMetadata { count: 0, limit: 0 },
        RejectReason::StructuredMetadataTooLarge { size: 0, limit: 0 },
    ];
    let names: std::collections::HashSet<_> = reasons.iter().map(RejectReason::as_str).collect();
    assert_eq!(names.len(), reasons.len());
    for name in names {
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}"
        );
    }
}

#[test]
fn rendered_streams_are_bounded() {
    let huge = "v".repeat(5000);
    let text = format!(r#"{{job="{huge}", a.b="c"}}"#);
    let decoded = reject_pb(&text, &limits());
    let stream = &decoded.rejected[0].stream;
    assert!(stream.len() < 1100, "{}", stream.len());
    assert!(stream.ends_with("…}"), "{stream}");
}

// ---- label-set text ----

#[test]
fn label_text_parses_loki_and_prometheus_forms() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        (r#"{job="varlog"}"#, &[("job", "varlog")]),
        (
            r#"  {  job = "varlog" ,host="a\"b",  }  "#,
            &[("job", "varlog"), ("host", "a\"b")],
        ),
        ("{a=\"x\\\\y\\n\\t\\r\"}", &[("a", "x\\y\n\t\r")]),
        (
            r#"{a="\x41\101\u00e9\U0001F600\a\b\f\v\'"}"#,
            &[("a", "AAé😀\x07\x08\x0c\x0b'")],
        ),
        ("{a=`raw \\n \"q\"`}", &[("a", "raw \\n \"q\"")]),
        (
            r#"{"k8s.pod"="p", `x y`="z"}"#,
            &[("k8s.pod", "p"), ("x y", "z")],
        ),
        ("{a=\"line1\nline2\"}", &[("a", "line1\nline2")]),
        (r#"{a="", b="日本"}"#, &[("a", ""), ("b", "日本")]),
        ("{}", &[]),
        ("\n{\t}\r\n", &[]),
    ];
    for (text, expected) in cases {
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(parse_all(text), Ok(expected), "{text}");
    }
}

#[test]
fn label_text_errors_say_where() {
    let cases = [
        (
            "",
            "at byte 0: expected '{' to open the label set, found the end of the text",
        ),
        (
            "job=\"a\"",
            "at byte 0: expected '{' to open the label set, found 'j'",
        ),
        (
            "{job}",
            "at byte 4: expected '=' after label name \"job\", found '}'",
        ),
        (
            "{job=a}",
            "at byte 5: expected a quoted value for label \"job\", found 'a'",
        ),
        (
            "{job=\"a\" x=\"b\"}",
            "at byte 9: expected ',' or '}' after a label, found 'x'",
        ),
        (
            "{job=\"a\"} x",
            "at byte 10: unexpected text after the closing '}'",
        ),
        ("{,}", "at byte 1: expected a label name, found ','"),
        ("{a=\"b\",,}", "at byte 7: expected a label name, found ','"),
        (
            "{a!=\"b\"}",
            "at byte 2: label \"a\" uses the matcher operator !=; a stream's labels take only '='",
        ),
        (
            "{a!~\"b\"}",
            "at byte 2: label \"a\" uses the matcher operator !~; a stream's labels take only '='",
        ),
        ("{a=\"b", "at byte 3: quoted label value is not terminated"),
        (
            "{a=\"b\\",
            "at byte 3: quoted label value is not terminated",
        ),
        ("{a=`b", "at byte 3: quoted label value is not terminated"),
        ("{\"a", "at byte 1: quoted label name is not terminated"),
        ("{a=\"\\q\"}", "at byte 4: unknown escape sequence \\q"),
        (
            "{a=\"\\xZZ\"}",
            "at byte 4: \\x must be followed by two hex digits",
        ),
        (
            "{a=\"\\u12\"}",
            "at byte 4: \\u must be followed by 4 hex digits of a Unicode scalar value",
        ),
        (
            "{a=\"\\ud800\"}",
            "at byte 4: \\u must be followed by 4 hex digits of a Unicode scalar value",
        ),
        (
            "{a=\"\\400\"}",
            "at byte 4: octal escape must be three digits up to \\377",
        ),
        (
            "{a=\"\\xff\"}",
            "at byte 3: quoted label value is not valid UTF-8 once escapes are undone",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(parse_all(text), Err(message.to_owned()), "{text}");
    }
    // Escaped bytes that form UTF-8 together are fine, as in Go.
    assert_eq!(
        parse_all(r#"{a="\xc3\xa9"}"#),
        Ok(vec![("a".to_owned(), "é".to_owned())])
    );
}

#[test]
fn label_text_renders_go_style() {
    assert_eq!(
        render([
            ("job", "a\"b\\c\nd"),
            ("k8s.pod", "\u{1b}[0m"),
            ("x", "\u{85}é")
        ]),
        r#"{job="a\"b\\c\nd", "k8s.pod"="\x1b[0m", x="\u0085é"}"#
    );
    assert_eq!(render([]), "{}");
}

// ---- property tests ----

fn any_string(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 _./:-]{0,12}",
        1 => prop::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter),
        1 => "[\"\\\\\n\t`{}=,é😀 ]{0,8}",
    ]
}

#[derive(Clone, Debug)]
struct GenStream {
    labels: BTreeMap<String, String>,
    /// Timestamp, line, structured metadata.
    entries: Vec<(i64, Vec<u8>, BTreeMap<String, String>)>,
}

fn gen_stream() -> impl Strategy<Value = GenStream> {
    (
        prop::collection::btree_map(
            "[a-zA-Z_][a-zA-Z0-9_]{0,10}",
            any_string(10).prop_filter("non-empty", |v| !v.is_empty()),
            1..6,
        ),
        prop::collection::vec(
            (
                any::<i64>(),
                prop::collection::vec(any::<u8>(), 0..40),
                prop::collection::btree_map("[a-z_]{1,8}", any_string(8), 0..3),
            ),
            0..4,
        ),
    )
        .prop_map(|(labels, entries)| GenStream { labels, entries })
}

fn expected_streams(streams: &[GenStream]) -> Vec<StreamWrite> {
    streams
        .iter()
        .filter(|s| !s.entries.is_empty())
        .map(|s| {
            let mut labels: Vec<Label> = s.labels.iter().map(|(n, v)| Label::new(n, v)).collect();
            if !s.labels.contains_key("service_name") {
                let service = SERVICE_NAME_SOURCES
                    .iter()
                    .find_map(|n| s.labels.get(*n))
                    .map_or(UNKNOWN_SERVICE, String::as_str);
                labels.push(Label::new("service_name", service));
            }
            StreamWrite {
                labels: Labels::new(labels).unwrap(),
                entries: s
                    .entries
                    .iter()
                    .map(|(ts, line, metadata)| LogEntry {
                        ts_ns: *ts,
                        line: bytes::Bytes::copy_from_slice(line),
                        structured_metadata: metadata
                            .iter()
                            .map(|(n, v)| Label::new(n, v))
                            .collect(),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn to_proto(streams: &[GenStream]) -> proto::PushRequest {
    pb_request(
        streams
            .iter()
            .map(|s| proto::StreamAdapter {
                labels: render(s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str()))).into_bytes(),
                entries: s
                    .entries
                    .iter()
                    .map(|(ts, line, metadata)| proto::EntryAdapter {
                        structured_metadata: metadata
                            .iter()
                            .map(|(n, v)| proto::LabelPairAdapter::new(n, v))
                            .collect(),
                        ..pb_entry(*ts, line)
                    })
                    .collect(),
                hash: 7,
            })
            .collect(),
    )
}

fn to_json(streams: &[GenStream]) -> String {
    let streams: Vec<_> = streams
        .iter()
        .map(|s| {
            let values: Vec<_> = s
                .entries
                .iter()
                .map(|(ts, line, metadata)| {
                    let line = String::from_utf8_lossy(line);
                    if metadata.is_empty() {
                        serde_json::json!([ts.to_string(), line])
                    } else {
                        serde_json::json!([ts.to_string(), line, metadata])
                    }
                })
                .collect();
            serde_json::json!({"stream": s.labels, "values": values})
        })
        .collect();
    serde_json::json!({ "streams": streams }).to_string()
}

fn lossy_lines(mut streams: Vec<GenStream>) -> Vec<GenStream> {
    for s in &mut streams {
        for (_, line, _) in &mut s.entries {
            *line = String::from_utf8_lossy(line).into_owned().into_bytes();
        }
    }
    streams
}

proptest! {
    #[test]
    fn protobuf_roundtrip(streams in prop::collection::vec(gen_stream(), 0..5)) {
        let decoded = decode_pb(&to_proto(&streams));
        prop_assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
        prop_assert_eq!(decoded.write.streams, expected_streams(&streams));
    }

    #[test]
    fn json_roundtrip(streams in prop::collection::vec(gen_stream(), 0..5), gz in any::<bool>()) {
        let body = to_json(&streams);
        let decoded = if gz {
            decode(Some("gzip"), JSON, &gzip(body.as_bytes()), &limits())
        } else {
            decode(None, JSON, body.as_bytes(), &limits())
        }.unwrap();
        prop_assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
        prop_assert_eq!(decoded.write.streams, expected_streams(&lossy_lines(streams)));
    }

    #[test]
    fn label_text_render_parse_roundtrip(
        pairs in prop::collection::vec((any_string(10), any_string(10)), 0..6),
    ) {
        let text = render(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        prop_assert_eq!(parse_all(&text), Ok(pairs), "{}", text);
    }

    #[test]
    fn label_text_parsing_never_panics(text in ".{0,60}", tail in "[{}\"`\\\\=,!~ ]{0,10}") {
        let _ = parse_all(&text);
        let _ = parse_all(&format!("{{{text}{tail}"));
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..600)) {
        let limits = Limits { max_decompressed_bytes: 1 << 20, ..limits() };
        for ce in [None, Some("snappy"), Some("gzip"), Some("deflate")] {
            for ct in [None, JSON] {
                let _ = decode(ce, ct, &body, &limits);
            }
        }
        // Past Snappy, straight into the protobuf walker.
        let _ = decode(None, None, &snappy(&body), &limits);
    }

    /// Corrupted valid requests: never panic, and the hand-walked messages
    /// accept exactly what prost accepts.
    #[test]
    fn corrupted_requests_agree_with_prost(
        streams in prop::collection::vec(gen_stream(), 1..4),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut raw = to_proto(&streams).encode_to_vec();
        for (at, byte) in &flips {
            let i = at.index(raw.len());
            raw[i] = *byte;
        }
        if truncate {
            raw.truncate(cut.index(raw.len()));
        }
        let ours = decode(None, None, &snappy(&raw), &limits());
        let prost_ok = proto::PushRequest::decode(raw.as_slice()).is_ok();
        prop_assert_eq!(prost_ok, !matches!(ours, Err(DecodeError::Protobuf(_))), "{:?}", ours);
    }

    #[test]
    fn header_parsing_never_panics(header in ".{0,40}") {
        let _ = decode(Some(&header), None, b"", &limits());
        let _ = decode(None, Some(&header), b"", &limits());
    }
}

#[test]
fn json_repeated_stream_keys_take_the_later_value() {
    let decoded =
        decode_json(r#"{"streams":[{"stream":{"job":"x","job":"y"},"values":[["1","line"]]}]}"#)
            .expect("decodes");
    assert!(decoded.rejected.is_empty(), "{:?}", messages(&decoded));
    assert_eq!(single(&decoded).labels.get("job"), Some("y"));
}
