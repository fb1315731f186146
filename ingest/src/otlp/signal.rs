//! The three OTLP signals as one shape: a request message, the export that
//! stores it, and the response carrying partial success. Both transports
//! are written once against [`Signal`], so gRPC and OTLP/HTTP cannot drift
//! apart in what they accept or answer.

use std::future::Future;

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use super::export::{Accepted, ExportError, OtlpIngest};

/// One OTLP signal.
pub trait Signal: Send + Sync + 'static {
    /// The `Export*ServiceRequest`.
    type Request: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static;
    /// The `Export*ServiceResponse`.
    type Response: prost::Message + serde::Serialize + Send + 'static;
    /// The request message's name, for decode errors.
    const REQUEST_NAME: &'static str;

    /// Stores what can be stored of `req`.
    fn export(
        ingest: &OtlpIngest,
        req: Self::Request,
    ) -> impl Future<Output = Result<Accepted, ExportError>> + Send;

    /// The answer, with partial success when something was refused.
    fn response(accepted: Accepted) -> Self::Response;
}

/// Logs.
pub struct Logs;
/// Metrics.
pub struct Metrics;
/// Traces.
pub struct Traces;

impl Signal for Logs {
    type Request = ExportLogsServiceRequest;
    type Response = ExportLogsServiceResponse;
    const REQUEST_NAME: &'static str = "ExportLogsServiceRequest";

    fn export(
        ingest: &OtlpIngest,
        req: Self::Request,
    ) -> impl Future<Output = Result<Accepted, ExportError>> + Send {
        ingest.export_logs(req)
    }

    fn response(a: Accepted) -> Self::Response {
        ExportLogsServiceResponse {
            partial_success: (a != Accepted::default()).then_some(ExportLogsPartialSuccess {
                rejected_log_records: a.rejected,
                error_message: a.message,
            }),
        }
    }
}

impl Signal for Metrics {
    type Request = ExportMetricsServiceRequest;
    type Response = ExportMetricsServiceResponse;
    const REQUEST_NAME: &'static str = "ExportMetricsServiceRequest";

    fn export(
        ingest: &OtlpIngest,
        req: Self::Request,
    ) -> impl Future<Output = Result<Accepted, ExportError>> + Send {
        ingest.export_metrics(req)
    }

    fn response(a: Accepted) -> Self::Response {
        ExportMetricsServiceResponse {
            partial_success: (a != Accepted::default()).then_some(ExportMetricsPartialSuccess {
                rejected_data_points: a.rejected,
                error_message: a.message,
            }),
        }
    }
}

impl Signal for Traces {
    type Request = ExportTraceServiceRequest;
    type Response = ExportTraceServiceResponse;
    const REQUEST_NAME: &'static str = "ExportTraceServiceRequest";

    fn export(
        ingest: &OtlpIngest,
        req: Self::Request,
    ) -> impl Future<Output = Result<Accepted, ExportError>> + Send {
        ingest.export_traces(req)
    }

    fn response(a: Accepted) -> Self::Response {
        ExportTraceServiceResponse {
            partial_success: (a != Accepted::default()).then_some(ExportTracePartialSuccess {
                rejected_spans: a.rejected,
                error_message: a.message,
            }),
        }
    }
}
