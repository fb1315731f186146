// Test inputs are fixed or generated valid; a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use hearth_storage::{
    Exemplar, Label, Labels, MetricMetadata, MetricType, STALE_NAN_BITS, Sample, SeriesWrite,
};
use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::proto::remote_v1 as v1;
use crate::proto::remote_v2 as v2;

const TS: i64 = 1_700_000_000_000;

fn compress(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(raw).unwrap()
}

fn limits() -> Limits {
    Limits::default()
}

fn decode_v1(req: &v1::WriteRequest) -> Result<Decoded, DecodeError> {
    decode(Protocol::V1, &req.encode_to_vec(), &limits())
}

fn decode_v2(req: &v2::Request) -> Result<Decoded, DecodeError> {
    decode(Protocol::V2, &req.encode_to_vec(), &limits())
}

fn v1_series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: labels.iter().map(|(n, v)| v1::Label::new(n, v)).collect(),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| v1::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

fn v1_request(series: Vec<v1::TimeSeries>) -> v1::WriteRequest {
    v1::WriteRequest {
        timeseries: series,
        metadata: vec![],
    }
}

fn raw_label(name: &[u8], value: &[u8]) -> v1::Label {
    v1::Label {
        name: name.to_vec(),
        value: value.to_vec(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied()).unwrap()
}

/// Builds v2 requests with an interned symbol table.
struct V2Builder {
    symbols: Vec<Vec<u8>>,
    index: HashMap<Vec<u8>, u32>,
    timeseries: Vec<v2::TimeSeries>,
}

impl V2Builder {
    fn new() -> Self {
        Self {
            symbols: vec![vec![]],
            index: HashMap::from([(vec![], 0)]),
            timeseries: vec![],
        }
    }

    fn sym(&mut self, s: impl AsRef<[u8]>) -> u32 {
        let s = s.as_ref().to_vec();
        if let Some(&i) = self.index.get(&s) {
            return i;
        }
        let i = self.symbols.len() as u32;
        self.symbols.push(s.clone());
        self.index.insert(s, i);
        i
    }

    fn refs(&mut self, pairs: &[(&str, &str)]) -> Vec<u32> {
        pairs
            .iter()
            .flat_map(|(n, v)| [self.sym(n), self.sym(v)])
            .collect()
    }

    fn series(&mut self, pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> &mut v2::TimeSeries {
        let labels_refs = self.refs(pairs);
        self.timeseries.push(v2::TimeSeries {
            labels_refs,
            samples: samples
                .iter()
                .map(|&(timestamp, value)| v2::Sample {
                    value,
                    timestamp,
                    start_timestamp: 0,
                })
                .collect(),
            ..Default::default()
        });
        self.timeseries.last_mut().unwrap()
    }

    fn build(self) -> v2::Request {
        v2::Request {
            symbols: self.symbols,
            timeseries: self.timeseries,
        }
    }
}

fn bits(samples: &[Sample]) -> Vec<(i64, u64)> {
    samples.iter().map(|s| (s.ts, s.value.to_bits())).collect()
}

fn exemplar_bits(exemplars: &[Exemplar]) -> Vec<(Vec<Label>, i64, u64)> {
    exemplars
        .iter()
        .map(|e| (e.labels.clone(), e.ts, e.value.to_bits()))
        .collect()
}

/// Compares series with floats by bit pattern (NaN != NaN otherwise).
fn assert_same_series(actual: &[SeriesWrite], expected: &[SeriesWrite]) {
    assert_eq!(actual.len(), expected.len(), "series count");
    for (a, e) in actual.iter().zip(expected) {
        assert_eq!(a.labels, e.labels);
        assert_eq!(
            bits(&a.samples),
            bits(&e.samples),
            "samples of {}",
            e.labels
        );
        assert_eq!(
            exemplar_bits(&a.exemplars),
            exemplar_bits(&e.exemplars),
            "exemplars of {}",
            e.labels
        );
    }
}

// ---- golden bytes ----

#[rustfmt::skip]
const V1_GOLDEN: &[u8] = &[
    // WriteRequest.timeseries (field 1, length-delimited), 100 bytes
    0x0a, 0x64,
      // TimeSeries.labels (1): name "__name__", value "up"
      0x0a, 0x0e,
        0x0a, 0x08, b'_', b'_', b'n', b'a', b'm', b'e', b'_', b'_',
        0x12, 0x02, b'u', b'p',
      // TimeSeries.labels (1): name "job", value "node"
      0x0a, 0x0b,
        0x0a, 0x03, b'j', b'o', b'b',
        0x12, 0x04, b'n', b'o', b'd', b'e',
      // TimeSeries.samples (2): value 1.0 (fixed64, LE), timestamp 1700000000000 (varint)
      0x12, 0x10,
        0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f,
        0x10, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31,
      // TimeSeries.samples (2): the stale marker 0x7ff0000000000002, timestamp 1700000015000
      0x12, 0x10,
        0x09, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x7f,
        0x10, 0x98, 0xc5, 0x96, 0xff, 0xbc, 0x31,
      // TimeSeries.exemplars (3), 33 bytes
      0x1a, 0x21,
        // Exemplar.labels (1): trace_id="abc"
        0x0a, 0x0f,
          0x0a, 0x08, b't', b'r', b'a', b'c', b'e', b'_', b'i', b'd',
          0x12, 0x03, b'a', b'b', b'c',
        // Exemplar.value (2): 2.5
        0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x40,
        // Exemplar.timestamp (3): 1700000000000
        0x18, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31,
    // WriteRequest.metadata (field 3), 11 bytes
    0x1a, 0x0b,
      // type (1) GAUGE = 2
      0x08, 0x02,
      // metric_family_name (2) "up"
      0x12, 0x02, b'u', b'p',
      // help (4) "Up."
      0x22, 0x03, b'U', b'p', b'.',
];

fn v1_golden_struct() -> v1::WriteRequest {
    v1::WriteRequest {
        timeseries: vec![v1::TimeSeries {
            labels: vec![
                v1::Label::new("__name__", "up"),
                v1::Label::new("job", "node"),
            ],
            samples: vec![
                v1::Sample {
                    value: 1.0,
                    timestamp: TS,
                },
                v1::Sample {
                    value: f64::from_bits(STALE_NAN_BITS),
                    timestamp: TS + 15_000,
                },
            ],
            exemplars: vec![v1::Exemplar {
                labels: vec![v1::Label::new("trace_id", "abc")],
                value: 2.5,
                timestamp: TS,
            }],
            histograms: vec![],
        }],
        metadata: vec![v1::MetricMetadata {
            r#type: v1::metric_metadata::MetricType::Gauge as i32,
            metric_family_name: b"up".to_vec(),
            help: b"Up.".to_vec(),
            unit: vec![],
        }],
    }
}

#[test]
fn v1_golden_bytes_decode_field_by_field() {
    let decoded = decode(Protocol::V1, V1_GOLDEN, &limits()).unwrap();
    assert!(decoded.rejected.is_empty());
    assert_eq!(decoded.histograms_received, 0);
    let [series] = decoded.write.series.as_slice() else {
        panic!("expected one series, got {:?}", decoded.write.series);
    };
    assert_eq!(series.labels.as_slice()[0], Label::new("__name__", "up"));
    assert_eq!(series.labels.as_slice()[1], Label::new("job", "node"));
    assert_eq!(series.labels.len(), 2);
    assert_eq!(series.samples.len(), 2);
    assert_eq!(series.samples[0].ts, TS);
    assert_eq!(series.samples[0].value.to_bits(), 1.0f64.to_bits());
    assert_eq!(series.samples[1].ts, TS + 15_000);
    assert_eq!(series.samples[1].value.to_bits(), STALE_NAN_BITS);
    assert!(series.samples[1].is_stale_marker());
    assert_eq!(
        series.exemplars,
        vec![Exemplar {
            labels: vec![Label::new("trace_id", "abc")],
            ts: TS,
            value: 2.5,
        }]
    );
    assert_eq!(
        decoded.write.metadata,
        vec![MetricMetadata {
            metric_family_name: "up".into(),
            metric_type: MetricType::Gauge,
            help: "Up.".into(),
            unit: String::new(),
        }]
    );
}

#[test]
fn v1_golden_bytes_match_prost() {
    let expected = v1_golden_struct();
    assert_eq!(expected.encode_to_vec(), V1_GOLDEN);
    let by_prost = v1::WriteRequest::decode(V1_GOLDEN).unwrap();
    // Compared through the encoding: the stale NaN makes `==` false.
    assert_eq!(by_prost.encode_to_vec(), V1_GOLDEN);
    assert_eq!(
        by_prost.timeseries[0].samples[1].value.to_bits(),
        STALE_NAN_BITS
    );
}

#[rustfmt::skip]
const V2_GOLDEN: &[u8] = &[
    // Request.symbols (field 4): "", "__name__", "up", "job", "node", "Up.", "trace_id", "abc"
    0x22, 0x00,
    0x22, 0x08, b'_', b'_', b'n', b'a', b'm', b'e', b'_', b'_',
    0x22, 0x02, b'u', b'p',
    0x22, 0x03, b'j', b'o', b'b',
    0x22, 0x04, b'n', b'o', b'd', b'e',
    0x22, 0x03, b'U', b'p', b'.',
    0x22, 0x08, b't', b'r', b'a', b'c', b'e', b'_', b'i', b'd',
    0x22, 0x03, b'a', b'b', b'c',
    // Request.timeseries (field 5), 52 bytes
    0x2a, 0x34,
      // labels_refs (1), packed: __name__=up, job=node
      0x0a, 0x04, 0x01, 0x02, 0x03, 0x04,
      // samples (2): value 1.0, timestamp 1700000000000, start_timestamp 0 (omitted)
      0x12, 0x10,
        0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f,
        0x10, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31,
      // exemplars (4), 20 bytes: labels_refs [6, 7], value 2.5, timestamp 1700000000000
      0x22, 0x14,
        0x0a, 0x02, 0x06, 0x07,
        0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x40,
        0x18, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31,
      // metadata (5): type GAUGE (1) = 2, help_ref (3) = 5 ("Up."), unit_ref 0 (omitted)
      0x2a, 0x04, 0x08, 0x02, 0x18, 0x05,
];

fn v2_golden_struct() -> v2::Request {
    v2::Request {
        symbols: [
            "", "__name__", "up", "job", "node", "Up.", "trace_id", "abc",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect(),
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![v2::Sample {
                value: 1.0,
                timestamp: TS,
                start_timestamp: 0,
            }],
            histograms: vec![],
            exemplars: vec![v2::Exemplar {
                labels_refs: vec![6, 7],
                value: 2.5,
                timestamp: TS,
            }],
            metadata: Some(v2::Metadata {
                r#type: v2::metadata::MetricType::Gauge as i32,
                help_ref: 5,
                unit_ref: 0,
            }),
            created_timestamp: 0,
        }],
    }
}

#[test]
fn v2_golden_bytes_decode_field_by_field() {
    let decoded = decode(Protocol::V2, V2_GOLDEN, &limits()).unwrap();
    assert!(decoded.rejected.is_empty());
    let [series] = decoded.write.series.as_slice() else {
        panic!("expected one series, got {:?}", decoded.write.series);
    };
    assert_eq!(
        series.labels,
        labels(&[("__name__", "up"), ("job", "node")])
    );
    assert_eq!(bits(&series.samples), vec![(TS, 1.0f64.to_bits())]);
    assert_eq!(
        series.exemplars,
        vec![Exemplar {
            labels: vec![Label::new("trace_id", "abc")],
            ts: TS,
            value: 2.5,
        }]
    );
    assert_eq!(
        decoded.write.metadata,
        vec![MetricMetadata {
            metric_family_name: "up".into(),
            metric_type: MetricType::Gauge,
            help: "Up.".into(),
            unit: String::new(),
        }]
    );
}

#[test]
fn v2_golden_bytes_match_prost() {
    let expected = v2_golden_struct();
    assert_eq!(expected.encode_to_vec(), V2_GOLDEN);
    assert_eq!(v2::Request::decode(V2_GOLDEN).unwrap(), expected);
}

#[test]
fn golden_bodies_survive_snappy() {
    for (protocol, raw) in [(Protocol::V1, V1_GOLDEN), (Protocol::V2, V2_GOLDEN)] {
        let body = compress(raw);
        assert_eq!(decompress(&body, &limits()).unwrap(), raw);
        let decoded = decode(protocol, &decompress(&body, &limits()).unwrap(), &limits()).unwrap();
        assert_eq!(
            decoded.write.sample_count(),
            if protocol == Protocol::V1 { 2 } else { 1 }
        );
    }
}

#[test]
fn each_schema_reads_the_other_as_empty() {
    // Fields 1-3 are reserved in v2 and v1 has no fields 4-5.
    let as_v2 = decode(Protocol::V2, V1_GOLDEN, &limits()).unwrap();
    assert_eq!(as_v2, Decoded::default());
    let as_v1 = decode(Protocol::V1, V2_GOLDEN, &limits()).unwrap();
    assert_eq!(as_v1, Decoded::default());
}

#[test]
fn unpacked_label_refs_are_accepted() {
    let mut raw = V2_GOLDEN.to_vec();
    // Swap the packed labels_refs for four unpacked varint fields.
    let packed = [0x0a, 0x04, 0x01, 0x02, 0x03, 0x04];
    let unpacked = [0x08, 0x01, 0x08, 0x02, 0x08, 0x03, 0x08, 0x04];
    let at = raw.windows(packed.len()).position(|w| w == packed).unwrap();
    raw.splice(at..at + packed.len(), unpacked);
    let series_len_at = at - 1;
    raw[series_len_at] += 2;
    assert_eq!(
        decode(Protocol::V2, &raw, &limits()),
        decode(Protocol::V2, V2_GOLDEN, &limits())
    );
}

// ---- content negotiation ----

#[test]
fn content_type_selects_protocol() {
    let ok = [
        (None, Protocol::V1),
        (Some(""), Protocol::V1),
        (Some("application/x-protobuf"), Protocol::V1),
        (Some("Application/X-Protobuf"), Protocol::V1),
        (
            Some("application/x-protobuf;proto=prometheus.WriteRequest"),
            Protocol::V1,
        ),
        (
            Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
            Protocol::V2,
        ),
        (
            Some("application/x-protobuf ; proto = io.prometheus.write.v2.Request"),
            Protocol::V2,
        ),
        (
            Some(" application/x-protobuf;\tproto=io.prometheus.write.v2.Request "),
            Protocol::V2,
        ),
        (
            Some("application/x-protobuf;proto=\"io.prometheus.write.v2.Request\""),
            Protocol::V2,
        ),
        (
            Some("application/x-protobuf; proto = \"prometheus.WriteRequest\" ; x=y"),
            Protocol::V1,
        ),
        (
            Some("application/x-protobuf;charset=utf-8;proto=io.prometheus.write.v2.Request"),
            Protocol::V2,
        ),
        (
            Some("application/x-protobuf;PROTO=io.prometheus.write.v2.Request"),
            Protocol::V2,
        ),
        (
            Some("application/x-protobuf;q=\"a;b\";proto=io.prometheus.write.v2.Request"),
            Protocol::V2,
        ),
        (Some("application/x-protobuf;"), Protocol::V1),
        (Some("application/x-protobuf;version=2.0"), Protocol::V1),
    ];
    for (ct, expected) in ok {
        assert_eq!(protocol_from_content_type(ct), Ok(expected), "{ct:?}");
    }
}

#[test]
fn content_type_rejections_are_415() {
    let bad = [
        "application/json",
        "text/plain",
        "application/x-protobuf-foo",
        "application/x-protobuf;proto=io.prometheus.write.v3.Request",
        "application/x-protobuf;proto=Io.Prometheus.Write.V2.Request",
        "application/x-protobuf;proto=",
        "application/x-protobuf;proto",
        "application/x-protobuf;proto=\"io.prometheus.write.v2.Request",
        "application/x-protobuf;proto=\"prometheus.WriteRequest\"junk",
        "application/x-protobuf;=v",
        "application/x-protobuf;proto=prometheus.WriteRequest;proto=io.prometheus.write.v2.Request",
    ];
    for ct in bad {
        let err = protocol_from_content_type(Some(ct)).unwrap_err();
        assert!(err.is_unsupported_media_type(), "{ct:?}: {err}");
        assert_eq!(err.status_code().as_u16(), 415, "{ct:?}");
    }
    let err = protocol_from_content_type(Some("application/x-protobuf;proto=foo.Bar")).unwrap_err();
    assert!(err.to_string().contains("foo.Bar"), "{err}");
}

#[test]
fn content_encoding_must_be_snappy() {
    for ce in [
        None,
        Some("snappy"),
        Some("Snappy"),
        Some(" snappy "),
        Some(""),
    ] {
        assert_eq!(check_content_encoding(ce), Ok(()), "{ce:?}");
    }
    for ce in ["gzip", "zstd", "identity", "snappy, gzip"] {
        let err = check_content_encoding(Some(ce)).unwrap_err();
        assert!(err.is_unsupported_media_type(), "{ce:?}");
        assert!(err.to_string().contains(ce), "{err}");
    }
}

// ---- decompression ----

#[test]
fn body_over_the_limit_is_refused() {
    let limits = Limits {
        max_body_bytes: 4,
        ..limits()
    };
    let err = decompress(&[0; 5], &limits).unwrap_err();
    assert_eq!(err, DecodeError::BodyTooLarge { size: 5, limit: 4 });
    assert_eq!(err.status_code().as_u16(), 413);
}

#[test]
fn declared_size_over_the_limit_is_refused_before_allocating() {
    // A five-byte body whose varint header claims 1 GiB.
    let body = [0x80, 0x80, 0x80, 0x80, 0x04];
    let err = decompress(&body, &limits()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::DecompressedTooLarge {
            size: Some(1 << 30),
            limit: 128 << 20,
        }
    );
    assert!(err.to_string().contains("1073741824"), "{err}");
}

#[test]
fn decompressed_size_at_the_limit_is_accepted() {
    let raw = vec![7u8; 1000];
    let body = compress(&raw);
    let at = Limits {
        max_decompressed_bytes: 1000,
        ..limits()
    };
    assert_eq!(decompress(&body, &at).unwrap(), raw);
    let under = Limits {
        max_decompressed_bytes: 999,
        ..limits()
    };
    assert!(matches!(
        decompress(&body, &under),
        Err(DecodeError::DecompressedTooLarge {
            size: Some(1000),
            ..
        })
    ));
}

#[test]
fn corrupt_snappy_is_refused() {
    for body in [&b""[..], &[0x05, 0xff, 0xff][..], &[0xff; 12][..]] {
        let err = decompress(body, &limits()).unwrap_err();
        assert!(matches!(err, DecodeError::Snappy(_)), "{body:?}: {err:?}");
        assert_eq!(err.status_code().as_u16(), 400);
    }
}

fn frame(raw: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = snap::write::FrameEncoder::new(Vec::new());
    encoder.write_all(raw).unwrap();
    encoder.into_inner().unwrap()
}

#[test]
fn framed_snappy_is_accepted() {
    let body = frame(V1_GOLDEN);
    assert!(body.starts_with(&[0xff, 0x06, 0x00, 0x00, b's', b'N', b'a', b'P', b'p', b'Y']));
    let raw = decompress(&body, &limits()).unwrap();
    assert_eq!(raw, V1_GOLDEN);
}

#[test]
fn framed_snappy_is_capped_while_reading() {
    let raw = vec![1u8; 200_000];
    let body = frame(&raw);
    let limits = Limits {
        max_decompressed_bytes: 100_000,
        ..limits()
    };
    assert_eq!(
        decompress(&body, &limits),
        Err(DecodeError::DecompressedTooLarge {
            size: None,
            limit: 100_000
        })
    );
    let exact = Limits {
        max_decompressed_bytes: 200_000,
        ..limits
    };
    assert_eq!(decompress(&body, &exact).unwrap().len(), 200_000);
    let mut corrupt = body.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    assert!(matches!(
        decompress(&corrupt, &exact),
        Err(DecodeError::Snappy(_))
    ));
}

// ---- whole-request errors ----

#[test]
fn malformed_protobuf_is_refused_with_detail() {
    // timeseries claims 5 bytes but only 1 follows.
    let err = decode(Protocol::V1, &[0x0a, 0x05, 0x01], &limits()).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::Protobuf {
            message: "prometheus.WriteRequest",
            ..
        }
    ));
    assert_eq!(err.status_code().as_u16(), 400);

    // A sample whose value arrives as a varint: prost's message is passed on.
    let raw = [0x0a, 0x04, 0x12, 0x02, 0x08, 0x01];
    let err = decode(Protocol::V1, &raw, &limits()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("timeseries[0].samples[0]"), "{text}");
    assert!(text.contains("failed to decode Protobuf message"), "{text}");

    // The timeseries field itself with the wrong wire type.
    let err = decode(Protocol::V2, &[0x28, 0x01], &limits()).unwrap_err();
    assert!(
        err.to_string().contains("io.prometheus.write.v2.Request"),
        "{err}"
    );
    assert!(err.to_string().contains("field 5"), "{err}");

    // Field number 0.
    assert!(matches!(
        decode(Protocol::V1, &[0x00, 0x00], &limits()),
        Err(DecodeError::Protobuf { .. })
    ));
}

#[test]
fn too_many_series_fails_the_request() {
    let req = v1_request(vec![v1_series(&[("__name__", "a")], &[(1, 1.0)]); 3]);
    let limits = Limits {
        max_series_per_request: 2,
        ..limits()
    };
    let raw = req.encode_to_vec();
    assert_eq!(
        decode(Protocol::V1, &raw, &limits),
        Err(DecodeError::TooManySeries { count: 3, limit: 2 })
    );
    let mut b = V2Builder::new();
    for _ in 0..3 {
        b.series(&[("__name__", "a")], &[(1, 1.0)]);
    }
    let raw = b.build().encode_to_vec();
    assert_eq!(
        decode(Protocol::V2, &raw, &limits),
        Err(DecodeError::TooManySeries { count: 3, limit: 2 })
    );
}

#[test]
fn v2_first_symbol_must_be_empty() {
    let req = v2::Request {
        symbols: vec![b"up".to_vec()],
        timeseries: vec![],
    };
    let err = decode_v2(&req).unwrap_err();
    assert_eq!(err, DecodeError::FirstSymbolNotEmpty("up".into()));
    assert!(err.to_string().contains("symbols[0]"), "{err}");
}

#[test]
fn v2_empty_request_is_fine() {
    assert_eq!(decode_v2(&v2::Request::default()), Ok(Decoded::default()));
    assert_eq!(decode(Protocol::V2, &[], &limits()), Ok(Decoded::default()));
}

#[test]
fn v2_label_ref_out_of_range() {
    let mut b = V2Builder::new();
    b.series(&[("__name__", "up")], &[(1, 1.0)]).labels_refs[1] = 99;
    let err = decode_v2(&b.build()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::SymbolRefOutOfRange {
            series: 0,
            field: "labels_refs".into(),
            reference: 99,
            symbols: 3,
        }
    );
    assert!(
        err.to_string().contains("timeseries[0].labels_refs"),
        "{err}"
    );
}

#[test]
fn v2_refs_into_an_empty_table_are_out_of_range() {
    let req = v2::Request {
        symbols: vec![],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2],
            ..Default::default()
        }],
    };
    assert!(matches!(
        decode_v2(&req),
        Err(DecodeError::SymbolRefOutOfRange {
            reference: 1,
            symbols: 0,
            ..
        })
    ));
}

#[test]
fn v2_metadata_refs_out_of_range() {
    for (help_ref, unit_ref, field) in [(50, 0, "metadata.help_ref"), (0, 60, "metadata.unit_ref")]
    {
        let mut b = V2Builder::new();
        b.series(&[("__name__", "up")], &[(1, 1.0)]).metadata = Some(v2::Metadata {
            r#type: 1,
            help_ref,
            unit_ref,
        });
        let err = decode_v2(&b.build()).unwrap_err();
        assert!(
            matches!(&err, DecodeError::SymbolRefOutOfRange { field: f, .. } if f == field),
            "{err:?}"
        );
    }
}

#[test]
fn v2_exemplar_refs_are_checked() {
    let mut b = V2Builder::new();
    b.series(&[("__name__", "up")], &[(1, 1.0)]);
    b.series(&[("__name__", "up")], &[(1, 1.0)]).exemplars = vec![v2::Exemplar {
        labels_refs: vec![1, 77],
        value: 1.0,
        timestamp: 1,
    }];
    let err = decode_v2(&b.build()).unwrap_err();
    assert!(
        matches!(&err, DecodeError::SymbolRefOutOfRange { series: 1, field, reference: 77, .. } if field == "exemplars[0].labels_refs"),
        "{err:?}"
    );

    let mut b = V2Builder::new();
    b.series(&[("__name__", "up")], &[(1, 1.0)]).exemplars = vec![v2::Exemplar {
        labels_refs: vec![1],
        value: 1.0,
        timestamp: 1,
    }];
    let err = decode_v2(&b.build()).unwrap_err();
    assert!(
        matches!(&err, DecodeError::OddLabelRefs { field, len: 1, .. } if field == "exemplars[0].labels_refs"),
        "{err:?}"
    );
}

#[test]
fn v2_odd_label_refs() {
    let mut b = V2Builder::new();
    b.series(&[("__name__", "up")], &[(1, 1.0)])
        .labels_refs
        .push(1);
    let err = decode_v2(&b.build()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::OddLabelRefs {
            series: 0,
            field: "labels_refs".into(),
            len: 3,
        }
    );
    assert!(err.to_string().contains("name/value pairs"), "{err}");
}

#[test]
fn v2_samples_and_histograms_together() {
    let mut b = V2Builder::new();
    b.series(&[("__name__", "up")], &[(1, 1.0)]);
    b.series(&[("__name__", "h")], &[(1, 1.0)]).histograms = vec![v2::Histogram::default()];
    let err = decode_v2(&b.build()).unwrap_err();
    assert_eq!(err, DecodeError::SamplesAndHistograms { series: 1 });
    assert_eq!(err.status_code().as_u16(), 400);
    assert!(!err.is_unsupported_media_type());
}

// ---- per-series rejections ----

/// Decodes a v1 request holding one good series and `bad`, checking the good
/// one survives, and returns the single rejection.
fn reject_v1(bad: v1::TimeSeries, limits: &Limits) -> Rejection {
    let good = v1_series(&[("__name__", "good"), ("job", "x")], &[(1, 1.0)]);
    let req = v1_request(vec![good, bad]);
    let decoded = decode(Protocol::V1, &req.encode_to_vec(), limits).unwrap();
    assert_eq!(decoded.write.series.len(), 1, "{decoded:?}");
    assert_eq!(
        decoded.write.series[0].labels,
        labels(&[("__name__", "good"), ("job", "x")])
    );
    let [rejection] = decoded.rejected.as_slice() else {
        panic!("expected one rejection, got {:?}", decoded.rejected);
    };
    rejection.clone()
}

#[test]
fn empty_label_name_is_rejected() {
    let r = reject_v1(
        v1_series(&[("__name__", "up"), ("", "x")], &[(1, 1.0), (2, 2.0)]),
        &limits(),
    );
    assert_eq!(r.reason, RejectReason::EmptyLabelName);
    assert_eq!(r.samples, 2);
    assert_eq!(r.series, "up{=\"x\"}");
    // Even when its value is empty too, which Labels::new would drop silently.
    let r = reject_v1(
        v1_series(&[("__name__", "up"), ("", "")], &[(1, 1.0)]),
        &limits(),
    );
    assert_eq!(r.reason, RejectReason::EmptyLabelName);
}

#[test]
fn invalid_utf8_name_and_value_are_rejected() {
    let mut bad = v1_series(&[("__name__", "up")], &[(1, 1.0)]);
    bad.labels.push(raw_label(b"jo\xffb", b"x"));
    let r = reject_v1(bad, &limits());
    assert_eq!(
        r.reason,
        RejectReason::InvalidLabelName("jo\u{fffd}b".into())
    );
    assert_eq!(r.reason.as_str(), "invalid_label_name");

    let mut bad = v1_series(&[("__name__", "up")], &[(1, 1.0)]);
    bad.labels.push(raw_label(b"job", b"\xc3\x28"));
    let r = reject_v1(bad, &limits());
    assert_eq!(
        r.reason,
        RejectReason::InvalidUtf8("value of label \"job\"".into())
    );
    assert_eq!(r.reason.as_str(), "invalid_utf8");
    assert!(r.to_string().contains("is not valid UTF-8"), "{r}");
}

#[test]
fn any_utf8_name_is_accepted() {
    let req = v1_request(vec![v1_series(
        &[("__name__", "http.requests 总数"), ("läbel/ü", "ok")],
        &[(1, 1.0)],
    )]);
    let decoded = decode_v1(&req).unwrap();
    assert!(decoded.rejected.is_empty());
    assert_eq!(
        decoded.write.series[0].labels.metric_name(),
        "http.requests 总数"
    );
}

#[test]
fn duplicate_label_name_is_rejected() {
    let r = reject_v1(
        v1_series(
            &[("__name__", "up"), ("job", "a"), ("job", "b")],
            &[(1, 1.0)],
        ),
        &limits(),
    );
    assert_eq!(r.reason, RejectReason::DuplicateLabelName("job".into()));
    assert_eq!(r.reason.as_str(), "duplicate_label_name");
}

#[test]
fn too_many_labels_is_rejected() {
    let limits = Limits {
        max_labels_per_series: 3,
        ..limits()
    };
    let r = reject_v1(
        v1_series(
            &[("__name__", "up"), ("a", "1"), ("b", "2"), ("c", "3")],
            &[(1, 1.0)],
        ),
        &limits,
    );
    assert_eq!(r.reason, RejectReason::TooManyLabels { count: 4, limit: 3 });
    assert_eq!(r.series, "up{a=\"1\", b=\"2\", c=\"3\"}");

    let mut b = V2Builder::new();
    b.series(
        &[("__name__", "up"), ("a", "1"), ("b", "2"), ("c", "3")],
        &[(1, 1.0)],
    );
    let decoded = decode(Protocol::V2, &b.build().encode_to_vec(), &limits).unwrap();
    assert_eq!(
        decoded.rejected[0].reason,
        RejectReason::TooManyLabels { count: 4, limit: 3 }
    );
}

#[test]
fn over_long_names_and_values_are_rejected() {
    let limits = Limits {
        max_label_name_len: 4,
        max_label_value_len: 5,
        ..limits()
    };
    let req = v1_request(vec![v1_series(&[("__name__", "up")], &[(1, 1.0)])]);
    let decoded = decode(Protocol::V1, &req.encode_to_vec(), &limits).unwrap();
    // `__name__` counts against the name limit like any other label.
    assert_eq!(
        decoded.rejected[0].reason,
        RejectReason::LabelNameTooLong {
            name: "__name__".into(),
            len: 8,
            limit: 4,
        }
    );

    let limits = Limits {
        max_label_name_len: 8,
        ..limits
    };
    let r = reject_v1(
        v1_series(&[("__name__", "up"), ("abcdefghi", "x")], &[(1, 1.0)]),
        &limits,
    );
    assert_eq!(
        r.reason,
        RejectReason::LabelNameTooLong {
            name: "abcdefghi".into(),
            len: 9,
            limit: 8,
        }
    );
    let r = reject_v1(
        v1_series(&[("__name__", "up"), ("job", "abcdef")], &[(1, 1.0)]),
        &limits,
    );
    assert_eq!(
        r.reason,
        RejectReason::LabelValueTooLong {
            name: "job".into(),
            len: 6,
            limit: 5,
        }
    );
    assert_eq!(r.reason.as_str(), "label_value_too_long");
    assert!(r.to_string().contains("6 bytes"), "{r}");
}

#[test]
fn limits_at_the_boundary_are_accepted() {
    let limits = Limits {
        max_labels_per_series: 2,
        max_label_name_len: 8,
        max_label_value_len: 3,
        ..limits()
    };
    let req = v1_request(vec![v1_series(
        &[("__name__", "abc"), ("job", "xyz")],
        &[(1, 1.0)],
    )]);
    let decoded = decode(Protocol::V1, &req.encode_to_vec(), &limits).unwrap();
    assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
    assert_eq!(decoded.write.series.len(), 1);
}

#[test]
fn empty_label_set_is_rejected() {
    let r = reject_v1(v1_series(&[], &[(1, 1.0)]), &limits());
    assert_eq!(r.reason, RejectReason::EmptyLabelSet);
    assert_eq!(r.series, "{}");
    let r = reject_v1(
        v1_series(&[("__name__", ""), ("job", "")], &[(1, 1.0)]),
        &limits(),
    );
    assert_eq!(r.reason, RejectReason::EmptyLabelSet);
}

#[test]
fn native_histograms_are_rejected_and_counted() {
    let mut bad = v1_series(&[("__name__", "h"), ("job", "x")], &[(1, 1.0)]);
    bad.histograms = vec![
        v1::Histogram {
            count: Some(v1::histogram::Count::CountInt(3)),
            schema: -53,
            positive_spans: vec![v1::BucketSpan {
                offset: -2,
                length: 2,
            }],
            positive_deltas: vec![1, -1],
            custom_values: vec![0.5, 1.0],
            ..Default::default()
        },
        v1::Histogram::default(),
    ];
    let good = v1_series(&[("__name__", "good"), ("job", "x")], &[(1, 1.0)]);
    let decoded = decode_v1(&v1_request(vec![good, bad])).unwrap();
    assert_eq!(decoded.histograms_received, 2);
    assert_eq!(decoded.write.series.len(), 1);
    assert_eq!(decoded.rejected.len(), 1);
    assert_eq!(
        decoded.rejected[0].reason,
        RejectReason::NativeHistogramsUnsupported { count: 2 }
    );
    assert_eq!(decoded.rejected[0].samples, 1);
    assert_eq!(decoded.rejected[0].series, "h{job=\"x\"}");
    assert_eq!(decoded.rejected_samples(), 1);

    let mut b = V2Builder::new();
    b.series(&[("__name__", "up")], &[(1, 1.0)]);
    b.series(&[("__name__", "h")], &[]).histograms = vec![v2::Histogram {
        count: Some(v2::histogram::Count::CountFloat(2.0)),
        zero_count: Some(v2::histogram::ZeroCount::ZeroCountFloat(1.0)),
        negative_counts: vec![1.0],
        negative_spans: vec![v2::BucketSpan {
            offset: 0,
            length: 1,
        }],
        reset_hint: v2::histogram::ResetHint::Gauge as i32,
        start_timestamp: 5,
        ..Default::default()
    }];
    let decoded = decode_v2(&b.build()).unwrap();
    assert_eq!(decoded.histograms_received, 1);
    assert_eq!(decoded.write.series.len(), 1);
    assert_eq!(
        decoded.rejected[0].reason.as_str(),
        "native_histograms_unsupported"
    );
    assert_eq!(decoded.rejected[0].samples, 0);
}

#[test]
fn invalid_exemplar_labels_reject_the_series() {
    let mut bad = v1_series(&[("__name__", "up")], &[(1, 1.0)]);
    bad.exemplars = vec![v1::Exemplar {
        labels: vec![raw_label(b"trace_id", b"\xff")],
        value: 1.0,
        timestamp: 1,
    }];
    let r = reject_v1(bad, &limits());
    assert_eq!(
        r.reason,
        RejectReason::InvalidUtf8("an exemplar label value".into())
    );

    let mut b = V2Builder::new();
    let refs = vec![b.sym("trace_id"), b.sym(b"\xfe")];
    b.series(&[("__name__", "up")], &[(1, 1.0)]).exemplars = vec![v2::Exemplar {
        labels_refs: refs,
        value: 1.0,
        timestamp: 1,
    }];
    let decoded = decode_v2(&b.build()).unwrap();
    assert_eq!(
        decoded.rejected[0].reason,
        RejectReason::InvalidUtf8("an exemplar label value".into())
    );
}

#[test]
fn v2_invalid_symbol_only_hurts_series_using_it() {
    let mut b = V2Builder::new();
    b.series(&[("__name__", "up")], &[(1, 1.0)]);
    let name = b.sym("__name__");
    let bad = b.sym(b"\xffbad");
    b.series(&[], &[(1, 1.0)]).labels_refs = vec![name, bad];
    let decoded = decode_v2(&b.build()).unwrap();
    assert_eq!(decoded.write.series.len(), 1);
    assert_eq!(decoded.rejected.len(), 1);
    assert_eq!(decoded.rejected[0].series, "\u{fffd}bad{}");
}

#[test]
fn unsorted_labels_are_accepted_and_canonicalised() {
    let req = v1_request(vec![v1_series(
        &[
            ("zone", "a"),
            ("__name__", "up"),
            ("job", "x"),
            ("empty", ""),
        ],
        &[(1, 1.0)],
    )]);
    let decoded = decode_v1(&req).unwrap();
    assert!(decoded.rejected.is_empty());
    assert_eq!(
        decoded.write.series[0].labels,
        labels(&[("__name__", "up"), ("job", "x"), ("zone", "a")])
    );
}

#[test]
fn special_floats_come_through_bit_exact() {
    let values = [
        f64::from_bits(STALE_NAN_BITS),
        f64::NAN,
        f64::from_bits(0xfff8_0000_dead_beef),
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 2.0,
    ];
    let samples: Vec<(i64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as i64 - 3, v))
        .collect();
    let decoded = decode_v1(&v1_request(vec![v1_series(&[("__name__", "x")], &samples)])).unwrap();
    let expected: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
    assert_eq!(bits(&decoded.write.series[0].samples), expected);

    let mut b = V2Builder::new();
    b.series(&[("__name__", "x")], &samples);
    let decoded = decode_v2(&b.build()).unwrap();
    assert_eq!(bits(&decoded.write.series[0].samples), expected);
}

#[test]
fn negative_zero_comes_through() {
    // Hand-encoded: prost's encoder leaves out a double equal to 0.0, which
    // -0.0 is, but Go's does not.
    #[rustfmt::skip]
    let raw = [
        0x0a, 0x1c,
          0x0a, 0x0d, 0x0a, 0x08, b'_', b'_', b'n', b'a', b'm', b'e', b'_', b'_', 0x12, 0x01, b'x',
          0x12, 0x0b, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x10, 0x01,
    ];
    let decoded = decode(Protocol::V1, &raw, &limits()).unwrap();
    assert_eq!(
        bits(&decoded.write.series[0].samples),
        vec![(1, (-0.0f64).to_bits())]
    );
}

#[test]
fn series_without_data_are_dropped_quietly() {
    let req = v1_request(vec![v1_series(&[("__name__", "up")], &[])]);
    let decoded = decode_v1(&req).unwrap();
    assert!(decoded.write.series.is_empty());
    assert!(decoded.rejected.is_empty());
}

#[test]
fn rejection_rendering_is_prometheus_style_and_bounded() {
    let r = reject_v1(
        v1_series(
            &[("job", "a\"b"), ("__name__", "up"), ("", "v")],
            &[(1, 1.0)],
        ),
        &limits(),
    );
    assert_eq!(r.series, "up{=\"v\", job=\"a\\\"b\"}");
    assert_eq!(
        r.to_string(),
        "up{=\"v\", job=\"a\\\"b\"}: a label has an empty name (1 samples dropped)"
    );

    let huge = "x".repeat(100_000);
    let limits = Limits {
        max_label_value_len: 200_000,
        ..limits()
    };
    let r = reject_v1(
        v1_series(&[("__name__", "up"), ("a", &huge), ("a", "1")], &[(1, 1.0)]),
        &limits,
    );
    assert!(r.series.len() < 2_200, "{}", r.series.len());
    assert!(r.series.ends_with('}'));
}

#[test]
fn reject_reasons_have_distinct_snake_case_names() {
    let reasons = [
        RejectReason::EmptyLabelName,
        RejectReason::InvalidLabelName("x".into()),
        RejectReason::InvalidUtf8("x".into()),
        RejectReason::DuplicateLabelName("x".into()),
        RejectReason::TooManyLabels { count: 2, limit: 1 },
        RejectReason::LabelNameTooLong {
            name: "x".into(),
            len: 2,
            limit: 1,
        },
        RejectReason::LabelValueTooLong {
            name: "x".into(),
            len: 2,
            limit: 1,
        },
        RejectReason::EmptyLabelSet,
        RejectReason::NativeHistogramsUnsupported { count: 1 },
    ];
    let mut names: Vec<&str> = reasons.iter().map(RejectReason::as_str).collect();
    for name in &names {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}"
        );
    }
    for reason in &reasons {
        assert!(!reason.to_string().is_empty());
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), reasons.len());
}

// ---- metadata ----

#[test]
fn v1_metadata_only_request_is_valid() {
    let metadata =
        |name: &str, ty: v1::metric_metadata::MetricType, help: &str| v1::MetricMetadata {
            r#type: ty as i32,
            metric_family_name: name.as_bytes().to_vec(),
            help: help.as_bytes().to_vec(),
            unit: b"seconds".to_vec(),
        };
    let req = v1::WriteRequest {
        timeseries: vec![],
        metadata: vec![
            metadata("a", v1::metric_metadata::MetricType::Counter, "A."),
            metadata("b", v1::metric_metadata::MetricType::Stateset, "B."),
            metadata("a", v1::metric_metadata::MetricType::Counter, "A."),
            metadata("", v1::metric_metadata::MetricType::Gauge, "unnamed"),
            v1::MetricMetadata {
                r#type: 42,
                ..metadata("c", v1::metric_metadata::MetricType::Gauge, "")
            },
        ],
    };
    let decoded = decode(
        Protocol::V1,
        &decompress(&compress(&req.encode_to_vec()), &limits()).unwrap(),
        &limits(),
    )
    .unwrap();
    assert!(decoded.write.series.is_empty());
    assert!(decoded.rejected.is_empty());
    let got: Vec<(&str, MetricType, &str)> = decoded
        .write
        .metadata
        .iter()
        .map(|m| {
            (
                m.metric_family_name.as_str(),
                m.metric_type,
                m.help.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("a", MetricType::Counter, "A."),
            ("b", MetricType::StateSet, "B."),
            ("c", MetricType::Unknown, ""),
        ]
    );
    assert!(decoded.write.metadata.iter().all(|m| m.unit == "seconds"));
}

#[test]
fn v1_metadata_with_invalid_utf8_is_rejected_alone() {
    let req = v1::WriteRequest {
        timeseries: vec![v1_series(&[("__name__", "up")], &[(1, 1.0)])],
        metadata: vec![v1::MetricMetadata {
            r#type: 1,
            metric_family_name: b"up".to_vec(),
            help: b"\xff".to_vec(),
            unit: vec![],
        }],
    };
    let decoded = decode_v1(&req).unwrap();
    assert_eq!(decoded.write.series.len(), 1);
    assert!(decoded.write.metadata.is_empty());
    assert_eq!(decoded.rejected[0].series, "up");
    assert_eq!(decoded.rejected[0].samples, 0);
    assert_eq!(
        decoded.rejected[0].reason,
        RejectReason::InvalidUtf8("the metadata help text".into())
    );
}

#[test]
fn v2_metadata_is_keyed_by_metric_name_and_deduplicated() {
    let mut b = V2Builder::new();
    let help = b.sym("Requests.");
    let unit = b.sym("requests");
    let counter = v2::Metadata {
        r#type: v2::metadata::MetricType::Counter as i32,
        help_ref: help,
        unit_ref: unit,
    };
    b.series(&[("__name__", "reqs"), ("code", "200")], &[(1, 1.0)])
        .metadata = Some(counter);
    b.series(&[("__name__", "reqs"), ("code", "500")], &[(1, 1.0)])
        .metadata = Some(counter);
    // Unspecified type and no help or unit: nothing to record.
    b.series(&[("__name__", "quiet")], &[(1, 1.0)]).metadata = Some(v2::Metadata::default());
    // Help only is worth keeping.
    b.series(&[("__name__", "helped")], &[(1, 1.0)]).metadata = Some(v2::Metadata {
        r#type: 0,
        help_ref: help,
        unit_ref: 0,
    });
    // Rejected series contribute no metadata.
    b.series(&[("__name__", "dup"), ("a", "1"), ("a", "2")], &[(1, 1.0)])
        .metadata = Some(counter);
    let decoded = decode_v2(&b.build()).unwrap();
    assert_eq!(
        decoded.write.metadata,
        vec![
            MetricMetadata {
                metric_family_name: "reqs".into(),
                metric_type: MetricType::Counter,
                help: "Requests.".into(),
                unit: "requests".into(),
            },
            MetricMetadata {
                metric_family_name: "helped".into(),
                metric_type: MetricType::Unknown,
                help: "Requests.".into(),
                unit: String::new(),
            },
        ]
    );
    assert_eq!(decoded.write.series.len(), 4);
    assert_eq!(decoded.rejected.len(), 1);
}

#[test]
fn v2_legacy_created_timestamp_and_start_timestamp_are_accepted() {
    let mut b = V2Builder::new();
    let series = b.series(&[("__name__", "c_total")], &[(TS, 3.0)]);
    series.created_timestamp = TS - 60_000;
    series.samples[0].start_timestamp = TS - 60_000;
    let decoded = decode_v2(&b.build()).unwrap();
    assert_eq!(
        bits(&decoded.write.series[0].samples),
        vec![(TS, 3.0f64.to_bits())]
    );
}

#[test]
fn error_messages_say_what_is_wrong() {
    let cases = [
        (
            DecodeError::BodyTooLarge { size: 10, limit: 5 },
            "request body is 10 bytes, more than the limit of 5",
        ),
        (
            DecodeError::DecompressedTooLarge {
                size: None,
                limit: 5,
            },
            "request body decompresses to more than the limit of 5 bytes",
        ),
        (
            DecodeError::TooManySeries { count: 3, limit: 2 },
            "request has 3 series, more than the limit of 2",
        ),
        (
            DecodeError::SamplesAndHistograms { series: 4 },
            "timeseries[4] has both samples and histograms; a series may carry only one kind",
        ),
    ];
    for (err, text) in cases {
        assert_eq!(err.to_string(), text);
    }
}

// ---- property tests ----

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z_][a-zA-Z0-9_]{0,12}", "[a-zé日😀._/ -]{1,6}",]
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9_.:/-]{1,12}",
        1 => "[a-zé日😀\"\\\\ ]{0,6}",
        1 => Just(String::new()),
    ]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        any::<f64>(),
        Just(f64::from_bits(STALE_NAN_BITS)),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::NAN),
        // Quiet and signalling NaNs with arbitrary payloads and sign.
        (any::<bool>(), 1u64..(1 << 52)).prop_map(|(neg, payload)| {
            f64::from_bits((u64::from(neg) << 63) | 0x7ff0_0000_0000_0000 | payload)
        }),
    ]
}

/// Exemplar labels (wire order), timestamp, value.
type GenExemplar = (Vec<(String, String)>, i64, f64);

#[derive(Clone, Debug)]
struct GenSeries {
    /// Wire order, not sorted.
    labels: Vec<(String, String)>,
    samples: Vec<(i64, f64)>,
    exemplars: Vec<GenExemplar>,
    /// v2 only: type, help, unit, created timestamp.
    metadata: (i32, String, String),
    created: i64,
}

fn gen_series() -> impl Strategy<Value = GenSeries> {
    (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,15}",
        prop::collection::btree_map(label_name(), label_value(), 0..6),
        prop::collection::vec((any::<i64>(), float()), 0..5),
        prop::collection::vec(
            (
                prop::collection::vec(("[a-z_]{1,8}", label_value()), 0..3),
                any::<i64>(),
                float(),
            ),
            0..3,
        ),
        (
            0i32..9,
            prop_oneof!["", "[a-zA-Z .]{1,20}"],
            prop_oneof!["", "[a-z]{1,8}"],
        ),
        any::<i64>(),
    )
        .prop_flat_map(|(name, others, samples, exemplars, metadata, created)| {
            let mut labels = vec![("__name__".to_owned(), name)];
            labels.extend(
                others
                    .into_iter()
                    .filter(|(n, _): &(String, String)| n != "__name__"),
            );
            Just(labels)
                .prop_shuffle()
                .prop_map(move |labels| GenSeries {
                    labels,
                    samples: samples.clone(),
                    exemplars: exemplars.clone(),
                    metadata: metadata.clone(),
                    created,
                })
        })
}

/// What a value looks like after a prost round trip: prost's encoder leaves
/// out a double equal to 0.0, so -0.0 arrives as an absent field, i.e. +0.0.
fn via_prost(value: f64) -> f64 {
    if value == 0.0 { 0.0 } else { value }
}

fn expected_series(series: &[GenSeries]) -> Vec<SeriesWrite> {
    series
        .iter()
        .filter(|s| !s.samples.is_empty() || !s.exemplars.is_empty())
        .map(|s| SeriesWrite {
            labels: Labels::new(s.labels.iter().map(|(n, v)| Label::new(n, v)).collect()).unwrap(),
            samples: s
                .samples
                .iter()
                .map(|&(ts, value)| Sample {
                    ts,
                    value: via_prost(value),
                })
                .collect(),
            exemplars: s
                .exemplars
                .iter()
                .map(|(labels, ts, value)| Exemplar {
                    labels: labels.iter().map(|(n, v)| Label::new(n, v)).collect(),
                    ts: *ts,
                    value: via_prost(*value),
                })
                .collect(),
        })
        .collect()
}

fn to_v1(series: &[GenSeries]) -> v1::WriteRequest {
    v1::WriteRequest {
        timeseries: series
            .iter()
            .map(|s| v1::TimeSeries {
                labels: s.labels.iter().map(|(n, v)| v1::Label::new(n, v)).collect(),
                samples: s
                    .samples
                    .iter()
                    .map(|&(timestamp, value)| v1::Sample { value, timestamp })
                    .collect(),
                exemplars: s
                    .exemplars
                    .iter()
                    .map(|(labels, timestamp, value)| v1::Exemplar {
                        labels: labels.iter().map(|(n, v)| v1::Label::new(n, v)).collect(),
                        value: *value,
                        timestamp: *timestamp,
                    })
                    .collect(),
                histograms: vec![],
            })
            .collect(),
        metadata: vec![],
    }
}

fn to_v2(series: &[GenSeries]) -> v2::Request {
    let mut b = V2Builder::new();
    for s in series {
        let labels_refs = s
            .labels
            .iter()
            .flat_map(|(n, v)| [b.sym(n), b.sym(v)])
            .collect();
        let exemplars = s
            .exemplars
            .iter()
            .map(|(labels, timestamp, value)| v2::Exemplar {
                labels_refs: labels
                    .iter()
                    .flat_map(|(n, v)| [b.sym(n), b.sym(v)])
                    .collect(),
                value: *value,
                timestamp: *timestamp,
            })
            .collect();
        let (ty, help, unit) = &s.metadata;
        let metadata = v2::Metadata {
            r#type: *ty,
            help_ref: b.sym(help),
            unit_ref: b.sym(unit),
        };
        b.timeseries.push(v2::TimeSeries {
            labels_refs,
            samples: s
                .samples
                .iter()
                .map(|&(timestamp, value)| v2::Sample {
                    value,
                    timestamp,
                    start_timestamp: s.created,
                })
                .collect(),
            histograms: vec![],
            exemplars,
            metadata: Some(metadata),
            created_timestamp: s.created,
        });
    }
    b.build()
}

fn expected_v2_metadata(series: &[GenSeries]) -> Vec<MetricMetadata> {
    let mut out: Vec<MetricMetadata> = Vec::new();
    for s in series {
        let (ty, help, unit) = &s.metadata;
        let metric_type = match ty {
            1 => MetricType::Counter,
            2 => MetricType::Gauge,
            3 => MetricType::Histogram,
            4 => MetricType::GaugeHistogram,
            5 => MetricType::Summary,
            6 => MetricType::Info,
            7 => MetricType::StateSet,
            _ => MetricType::Unknown,
        };
        if metric_type == MetricType::Unknown && help.is_empty() && unit.is_empty() {
            continue;
        }
        let m = MetricMetadata {
            metric_family_name: s
                .labels
                .iter()
                .find(|(n, _)| n == "__name__")
                .unwrap()
                .1
                .clone(),
            metric_type,
            help: help.clone(),
            unit: unit.clone(),
        };
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

fn roundtrip(protocol: Protocol, raw: &[u8]) -> Decoded {
    let body = compress(raw);
    let raw = decompress(&body, &limits()).unwrap();
    decode(protocol, &raw, &limits()).unwrap()
}

proptest! {
    #[test]
    fn v1_roundtrip(series in prop::collection::vec(gen_series(), 0..6)) {
        let decoded = roundtrip(Protocol::V1, &to_v1(&series).encode_to_vec());
        prop_assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
        assert_same_series(&decoded.write.series, &expected_series(&series));
    }

    #[test]
    fn v2_roundtrip(series in prop::collection::vec(gen_series(), 0..6)) {
        let decoded = roundtrip(Protocol::V2, &to_v2(&series).encode_to_vec());
        prop_assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
        assert_same_series(&decoded.write.series, &expected_series(&series));
        prop_assert_eq!(decoded.write.metadata, expected_v2_metadata(&series));
    }

    #[test]
    fn arbitrary_bodies_never_panic(v2 in any::<bool>(), body in prop::collection::vec(any::<u8>(), 0..600)) {
        let protocol = if v2 { Protocol::V2 } else { Protocol::V1 };
        let limits = Limits { max_decompressed_bytes: 1 << 20, ..limits() };
        if let Ok(raw) = decompress(&body, &limits) {
            let _ = decode(protocol, &raw, &limits);
        }
        let _ = decode(protocol, &body, &limits);
        let _ = decompress(&compress(&body), &limits);
    }

    /// Corrupted valid requests: never panic, and the hand-walked outer
    /// messages accept exactly what prost accepts.
    #[test]
    fn corrupted_requests_agree_with_prost(
        series in prop::collection::vec(gen_series(), 1..4),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        for protocol in [Protocol::V1, Protocol::V2] {
            let mut raw = match protocol {
                Protocol::V1 => to_v1(&series).encode_to_vec(),
                Protocol::V2 => to_v2(&series).encode_to_vec(),
            };
            for (at, byte) in &flips {
                let i = at.index(raw.len());
                raw[i] = *byte;
            }
            if truncate {
                raw.truncate(cut.index(raw.len()));
            }
            let ours = decode(protocol, &raw, &limits());
            match protocol {
                Protocol::V1 => {
                    let prost_ok = v1::WriteRequest::decode(raw.as_slice()).is_ok();
                    prop_assert_eq!(prost_ok, !matches!(ours, Err(DecodeError::Protobuf { .. })), "{:?}", ours);
                }
                Protocol::V2 => {
                    let prost_ok = v2::Request::decode(raw.as_slice()).is_ok();
                    if ours.is_ok() {
                        prop_assert!(prost_ok);
                    }
                    if matches!(ours, Err(DecodeError::Protobuf { .. })) {
                        prop_assert!(!prost_ok);
                    }
                    if !prost_ok {
                        prop_assert!(ours.is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn content_type_parsing_never_panics(ct in ".{0,80}") {
        let _ = protocol_from_content_type(Some(&ct));
        let _ = check_content_encoding(Some(&ct));
    }
}
