//! OTLP/HTTP: `POST /v1/traces`, `/v1/metrics`, `/v1/logs`, on the main
//! port and on the OTLP/HTTP port. Answers are in the request's format:
//! 200 with an `Export*ServiceResponse` (carrying partial success when some
//! of the data was refused), 400/413/415 with a `google.rpc.Status` for
//! requests that cannot be read, 503 + Retry-After when storage cannot take
//! the data now.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::codec::{self, BodyError, Format, RpcStatus};
use super::export::{ExportError, OtlpIngest};
use super::signal::Signal;

/// Seconds a sender is asked to wait before retrying.
const RETRY_AFTER_SECS: &str = "5";

/// gRPC codes put in `google.rpc.Status` bodies.
const CODE_INVALID_ARGUMENT: i32 = 3;
const CODE_UNAVAILABLE: i32 = 14;

fn status_body(format: Format, status: StatusCode, code: i32, message: String) -> Response {
    let body = codec::encode(format, &RpcStatus { code, message });
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    resp
}

fn body_error(format: Format, e: &BodyError) -> Response {
    tracing::debug!(error = %e, "refused an OTLP/HTTP request");
    status_body(
        format,
        e.status_code(),
        CODE_INVALID_ARGUMENT,
        e.to_string(),
    )
}

fn export_error(format: Format, e: ExportError) -> Response {
    match e {
        ExportError::Invalid(m) => {
            status_body(format, StatusCode::BAD_REQUEST, CODE_INVALID_ARGUMENT, m)
        }
        ExportError::Unavailable(m) => {
            status_body(format, StatusCode::SERVICE_UNAVAILABLE, CODE_UNAVAILABLE, m)
        }
    }
}

/// Reads the body: format from `Content-Type` (415 otherwise), gzip undone,
/// message decoded off the async workers.
async fn read_request<M>(
    state: &OtlpIngest,
    headers: &HeaderMap,
    body: Bytes,
    message: &'static str,
) -> Result<(Format, M), Response>
where
    M: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static,
{
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let content_type = header(header::CONTENT_TYPE);
    let Some(format) = Format::from_content_type(content_type) else {
        let e = BodyError::UnsupportedContentType(content_type.unwrap_or_default().to_owned());
        // The spec has no format to answer an unknown one in; protobuf is
        // what exporters decode by default.
        return Err(body_error(Format::Protobuf, &e));
    };
    let encoding = header(header::CONTENT_ENCODING).map(str::to_owned);
    let limits = state.limits;
    let decoded = tokio::task::spawn_blocking(move || {
        let inflated = codec::decompress(encoding.as_deref(), &body, &limits)?;
        codec::decode::<M>(format, inflated.as_deref().unwrap_or(&body), message)
    })
    .await;
    match decoded {
        Ok(Ok(m)) => Ok((format, m)),
        Ok(Err(e)) => Err(body_error(format, &e)),
        Err(e) => Err(export_error(
            format,
            ExportError::Unavailable(format!("decoder failed: {e}")),
        )),
    }
}

fn success<M: prost::Message + serde::Serialize>(format: Format, message: &M) -> Response {
    // An answer without partial success is the empty message: `{}` in
    // JSON, as the spec shows it, rather than a `null` field.
    let body = if format == Format::Json && message.encoded_len() == 0 {
        b"{}".to_vec()
    } else {
        codec::encode(format, message)
    };
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    resp
}

/// `POST /v1/logs`, `/v1/metrics` or `/v1/traces`.
pub async fn export<S: Signal>(
    State(state): State<OtlpIngest>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (format, req) =
        match read_request::<S::Request>(&state, &headers, body, S::REQUEST_NAME).await {
            Ok(r) => r,
            Err(resp) => return resp,
        };
    match S::export(&state, req).await {
        Ok(a) => success(format, &S::response(a)),
        Err(e) => export_error(format, e),
    }
}
