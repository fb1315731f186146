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
use super::signal::{Logs, Metrics, Signal, Traces};

/// The gRPC face of [`OtlpIngest`].
#[derive(Clone, Debug)]
pub struct OtlpGrpc(pub OtlpIngest);

impl OtlpGrpc {
    async fn handle<S: Signal>(
        &self,
        request: Request<S::Request>,
    ) -> Result<Response<S::Response>, Status> {
        match S::export(&self.0, request.into_inner()).await {
            Ok(a) => Ok(Response::new(S::response(a))),
            Err(ExportError::Invalid(m)) => Err(Status::invalid_argument(m)),
            Err(ExportError::Unavailable(m)) => Err(Status::unavailable(m)),
        }
    }
}

#[tonic::async_trait]
impl LogsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        self.handle::<Logs>(request).await
    }
}

#[tonic::async_trait]
impl MetricsService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        self.handle::<Metrics>(request).await
    }
}

#[tonic::async_trait]
impl TraceService for OtlpGrpc {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.handle::<Traces>(request).await
    }
}

/// Gzip both ways and the OTLP receive limit, on each generated server.
macro_rules! configured {
    ($server:ident, $svc:expr, $limit:expr) => {
        $server::new($svc)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size($limit)
    };
}

/// Serves the OTLP gRPC services on `listener` until `shutdown` resolves.
pub async fn serve(
    ingest: OtlpIngest,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let limit = ingest.limits.max_decompressed_bytes;
    let svc = OtlpGrpc(ingest);
    Server::builder()
        .add_service(configured!(LogsServiceServer, svc.clone(), limit))
        .add_service(configured!(MetricsServiceServer, svc.clone(), limit))
        .add_service(configured!(TraceServiceServer, svc, limit))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}
