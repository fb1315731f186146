//! The OTLP gRPC services (`TraceService`, `MetricsService`, `LogsService`
//! `Export`), gzip accepted, with the receive limit raised from tonic's
//! 4 MiB to the OTLP limit since collectors batch large. Refusals map to
//! the codes the spec's exporters act on: UNAVAILABLE is retried,
//! INVALID_ARGUMENT is not.

use std::future::Future;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::export::{ExportError, OtlpIngest};
use super::http::{logs_response, metrics_response, traces_response};

/// The gRPC face of [`OtlpIngest`].
#[derive(Clone, Debug)]
pub struct OtlpGrpc(pub OtlpIngest);

fn status(e: ExportError) -> Status {
    match e {
        ExportError::Invalid(m) => Status::invalid_argument(m),
        ExportError::Unavailable(m) => Status::unavailable(m),
    }
}

#[tonic::async_trait]
impl LogsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.0
            .export_logs(request.into_inner())
            .await
            .map(|a| Response::new(logs_response(a)))
            .map_err(status)
    }
}

#[tonic::async_trait]
impl MetricsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.0
            .export_metrics(request.into_inner())
            .await
            .map(|a| Response::new(metrics_response(a)))
            .map_err(status)
    }
}

#[tonic::async_trait]
impl TraceService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0
            .export_traces(request.into_inner())
            .await
            .map(|a| Response::new(traces_response(a)))
            .map_err(status)
    }
}

/// Serves the OTLP gRPC services on `listener` until `shutdown` resolves.
pub async fn serve(
    ingest: OtlpIngest,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let limit = ingest.limits.max_decompressed_bytes;
    let svc = OtlpGrpc(ingest);
    let logs = LogsServiceServer::new(svc.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    let traces = TraceServiceServer::new(svc.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    let metrics = MetricsServiceServer::new(svc)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit);
    Server::builder()
        .add_service(logs)
        .add_service(metrics)
        .add_service(traces)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}
