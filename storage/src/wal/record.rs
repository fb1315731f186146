//! Record payloads. Byte 0 names the kind; the rest is a compact varint
//! encoding of the write it carries (see `docs/format/wal.md`).

use std::collections::HashMap;

use bytes::Bytes;

use crate::logs_model::{LogEntry, LogsWrite, StreamWrite};
use crate::model::{
    Exemplar, Label, Labels, MetricMetadata, MetricType, MetricsWrite, Sample, SeriesWrite,
};
use crate::traces_model::{SpanRow, TracesWrite};

const KIND_METRICS: u8 = 1;
const KIND_LOGS: u8 = 2;
const KIND_TRACES: u8 = 3;

/// A decoded WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum WalRecord {
    /// One accepted metrics write (only the samples that were accepted).
    Metrics(MetricsWrite),
    /// One accepted logs write (only the entries that were accepted).
    Logs(LogsWrite),
    /// One accepted traces write (only the spans that were accepted).
    Traces(TracesWrite),
}

/// Why a record payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("WAL record malformed at byte {offset}: {what}")]
pub struct RecordError {
    /// Byte offset in the payload.
    pub offset: usize,
    /// What was expected.
    pub what: &'static str,
}

/// Encodes a record payload into `out` (cleared first).
pub fn encode_record(record: &WalRecord, out: &mut Vec<u8>) {
    match record {
        WalRecord::Metrics(write) => encode_metrics(write, out),
        WalRecord::Logs(write) => encode_logs(write, out),
        WalRecord::Traces(write) => encode_traces(write, out),
    }
}

/// Encodes a metrics write as a record payload into `out` (cleared first).
pub fn encode_metrics(write: &MetricsWrite, out: &mut Vec<u8>) {
    out.clear();
    out.push(KIND_METRICS);
    put_uvarint(out, write.series.len() as u64);
    for series in &write.series {
        put_labels(out, series.labels.as_slice());
        put_uvarint(out, series.samples.len() as u64);
        for s in &series.samples {
            out.extend_from_slice(&s.ts.to_le_bytes());
            out.extend_from_slice(&s.value.to_bits().to_le_bytes());
        }
        put_uvarint(out, series.exemplars.len() as u64);
        for e in &series.exemplars {
            put_labels(out, &e.labels);
            out.extend_from_slice(&e.ts.to_le_bytes());
            out.extend_from_slice(&e.value.to_bits().to_le_bytes());
        }
    }
    put_uvarint(out, write.metadata.len() as u64);
    for m in &write.metadata {
        put_str(out, &m.metric_family_name);
        put_str(out, m.metric_type.as_str());
        put_str(out, &m.help);
        put_str(out, &m.unit);
    }
}

/// Encodes a logs write as a record payload into `out` (cleared first).
pub fn encode_logs(write: &LogsWrite, out: &mut Vec<u8>) {
    out.clear();
    out.push(KIND_LOGS);
    put_uvarint(out, write.streams.len() as u64);
    for stream in &write.streams {
        put_labels(out, stream.labels.as_slice());
        put_uvarint(out, stream.entries.len() as u64);
        for e in &stream.entries {
            out.extend_from_slice(&e.ts_ns.to_le_bytes());
            put_uvarint(out, e.line.len() as u64);
            out.extend_from_slice(&e.line);
            put_labels(out, &e.structured_metadata);
        }
    }
}

/// Encodes a traces write as a record payload into `out` (cleared first).
/// Resource blobs repeat across spans, so the record holds each distinct
/// one once and spans refer to it by position.
pub fn encode_traces(write: &TracesWrite, out: &mut Vec<u8>) {
    out.clear();
    out.push(KIND_TRACES);
    let mut positions: HashMap<&[u8], u64> = HashMap::new();
    let mut resources: Vec<&[u8]> = Vec::new();
    let refs: Vec<u64> = write
        .spans
        .iter()
        .map(|s| {
            *positions.entry(&s.resource[..]).or_insert_with(|| {
                resources.push(&s.resource[..]);
                resources.len() as u64 - 1
            })
        })
        .collect();
    put_uvarint(out, resources.len() as u64);
    for r in &resources {
        put_bytes(out, r);
    }
    put_uvarint(out, write.spans.len() as u64);
    for (s, resource) in write.spans.iter().zip(refs) {
        out.extend_from_slice(&s.trace_id);
        out.extend_from_slice(&s.span_id);
        out.extend_from_slice(&s.parent_span_id);
        out.extend_from_slice(&s.start_ns.to_le_bytes());
        out.extend_from_slice(&s.duration_ns.to_le_bytes());
        put_str(out, &s.service_name);
        put_str(out, &s.name);
        out.extend_from_slice(&s.kind.to_le_bytes());
        out.extend_from_slice(&s.status_code.to_le_bytes());
        put_bytes(out, &s.span);
        put_uvarint(out, resource);
    }
}

fn decode_traces(r: &mut Reader<'_>) -> Result<TracesWrite, RecordError> {
    let n_resources = r.len("resource count")?;
    let mut resources = Vec::with_capacity(n_resources.min(1 << 12));
    for _ in 0..n_resources {
        resources.push(Bytes::copy_from_slice(r.bytes("resource")?));
    }
    let n = r.len("span count")?;
    let mut spans = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let mut trace_id = [0u8; 16];
        trace_id.copy_from_slice(r.take(16, "trace id")?);
        let span_id = r.fixed8("span id")?;
        let parent_span_id = r.fixed8("parent span id")?;
        let start_ns = r.i64("span start")?;
        let duration_ns = r.i64("span duration")?;
        let service_name = r.string("service name")?;
        let name = r.string("span name")?;
        let kind = r.i32("span kind")?;
        let status_code = r.i32("status code")?;
        let span = Bytes::copy_from_slice(r.bytes("span")?);
        let at = r.pos;
        let resource = usize::try_from(r.uvarint("resource ref")?)
            .ok()
            .and_then(|i| resources.get(i))
            .cloned()
            .ok_or(RecordError {
                offset: at,
                what: "resource ref",
            })?;
        spans.push(SpanRow {
            trace_id,
            span_id,
            parent_span_id,
            start_ns,
            duration_ns,
            service_name,
            name,
            kind,
            status_code,
            span,
            resource,
        });
    }
    Ok(TracesWrite { spans })
}

/// Decodes a record payload.
pub fn decode_record(buf: &[u8]) -> Result<WalRecord, RecordError> {
    let mut r = Reader { buf, pos: 0 };
    match r.byte("record kind")? {
        KIND_METRICS => {
            let n_series = r.len("series count")?;
            let mut series = Vec::with_capacity(n_series.min(1 << 16));
            for _ in 0..n_series {
                let labels = Labels::new(r.labels()?).map_err(|_| r.err("canonical labels"))?;
                let n = r.len("sample count")?;
                let mut samples = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    let ts = r.i64("sample ts")?;
                    let value = f64::from_bits(r.u64("sample value")?);
                    samples.push(Sample { ts, value });
                }
                let n = r.len("exemplar count")?;
                let mut exemplars = Vec::with_capacity(n.min(1 << 10));
                for _ in 0..n {
                    let labels = r.labels()?;
                    let ts = r.i64("exemplar ts")?;
                    let value = f64::from_bits(r.u64("exemplar value")?);
                    exemplars.push(Exemplar { labels, ts, value });
                }
                series.push(SeriesWrite {
                    labels,
                    samples,
                    exemplars,
                });
            }
            let n_meta = r.len("metadata count")?;
            let mut metadata = Vec::with_capacity(n_meta.min(1 << 12));
            for _ in 0..n_meta {
                metadata.push(MetricMetadata {
                    metric_family_name: r.string("metadata name")?,
                    metric_type: MetricType::from_name(&r.string("metadata type")?),
                    help: r.string("metadata help")?,
                    unit: r.string("metadata unit")?,
                });
            }
            if r.pos != buf.len() {
                return Err(r.err("end of record"));
            }
            Ok(WalRecord::Metrics(MetricsWrite { series, metadata }))
        }
        KIND_LOGS => {
            let n_streams = r.len("stream count")?;
            let mut streams = Vec::with_capacity(n_streams.min(1 << 16));
            for _ in 0..n_streams {
                let labels = Labels::new(r.labels()?).map_err(|_| r.err("canonical labels"))?;
                let n = r.len("entry count")?;
                let mut entries = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    let ts_ns = r.i64("entry ts")?;
                    let len = r.len("line length")?;
                    let line = Bytes::copy_from_slice(&buf[r.pos..r.pos + len]);
                    r.pos += len;
                    let structured_metadata = r.labels()?;
                    entries.push(LogEntry {
                        ts_ns,
                        line,
                        structured_metadata,
                    });
                }
                streams.push(StreamWrite { labels, entries });
            }
            if r.pos != buf.len() {
                return Err(r.err("end of record"));
            }
            Ok(WalRecord::Logs(LogsWrite { streams }))
        }
        KIND_TRACES => {
            let write = decode_traces(&mut r)?;
            if r.pos != buf.len() {
                return Err(r.err("end of record"));
            }
            Ok(WalRecord::Traces(write))
        }
        _ => Err(RecordError {
            offset: 0,
            what: "known record kind",
        }),
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_labels(out: &mut Vec<u8>, labels: &[Label]) {
    put_uvarint(out, labels.len() as u64);
    for l in labels {
        put_str(out, &l.name);
        put_str(out, &l.value);
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &'static str) -> RecordError {
        RecordError {
            offset: self.pos,
            what,
        }
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, RecordError> {
        let b = *self.buf.get(self.pos).ok_or_else(|| self.err(what))?;
        self.pos += 1;
        Ok(b)
    }

    fn uvarint(&mut self, what: &'static str) -> Result<u64, RecordError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte(what)?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.err(what))
    }

    /// A count that must fit in what is left of the buffer, so a corrupt
    /// count cannot trigger a huge allocation.
    fn len(&mut self, what: &'static str) -> Result<usize, RecordError> {
        let v = self.uvarint(what)?;
        usize::try_from(v)
            .ok()
            .filter(|n| *n <= self.buf.len() - self.pos)
            .ok_or_else(|| self.err(what))
    }

    fn fixed8(&mut self, what: &'static str) -> Result<[u8; 8], RecordError> {
        let bytes = self
            .buf
            .get(self.pos..self.pos + 8)
            .ok_or_else(|| self.err(what))?;
        self.pos += 8;
        let mut out = [0u8; 8];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], RecordError> {
        let bytes = self
            .buf
            .get(self.pos..self.pos + n)
            .ok_or_else(|| self.err(what))?;
        self.pos += n;
        Ok(bytes)
    }

    /// A length-prefixed byte string.
    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], RecordError> {
        let n = self.len(what)?;
        self.take(n, what)
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, RecordError> {
        let mut out = [0u8; 4];
        out.copy_from_slice(self.take(4, what)?);
        Ok(i32::from_le_bytes(out))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, RecordError> {
        Ok(u64::from_le_bytes(self.fixed8(what)?))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, RecordError> {
        Ok(i64::from_le_bytes(self.fixed8(what)?))
    }

    fn string(&mut self, what: &'static str) -> Result<String, RecordError> {
        let n = self.len(what)?;
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.err(what))
    }

    fn labels(&mut self) -> Result<Vec<Label>, RecordError> {
        let n = self.len("label count")?;
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            labels.push(Label {
                name: self.string("label name")?,
                value: self.string("label value")?,
            });
        }
        Ok(labels)
    }
}
