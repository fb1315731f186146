//! Feeds arbitrary bytes to the OTLP/JSON decoders of all three signals and
//! converts whatever decodes: logs into Loki-shaped streams, metrics into
//! Prometheus series. Any input must give a value or an error, never a
//! panic, and every produced label set must be valid.
#![no_main]

use hearth_ingest::loki_push::Limits;
use hearth_ingest::otlp::codec::{Format, decode};
use hearth_ingest::otlp::logs::{OtlpLogsOptions, decode_logs};
use hearth_ingest::otlp::metrics::{TranslateOptions, translate};
use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = decode::<ExportLogsServiceRequest>(Format::Json, data, "logs") {
        if let Ok(out) = decode_logs(&req, &OtlpLogsOptions::default(), &Limits::default(), 0) {
            for s in &out.write.streams {
                assert!(!s.labels.is_empty());
            }
        }
    }
    if let Ok(req) = decode::<ExportMetricsServiceRequest>(Format::Json, data, "metrics") {
        let _ = translate(&req, &TranslateOptions::default());
    }
    let _ = decode::<ExportTraceServiceRequest>(Format::Json, data, "traces");
});
