//! The REST adapter (axum): routes, content negotiation, problem+json errors.
//!
//! The request decoder is chosen by `Content-Type` (`application/json`,
//! `application/x-protobuf`), the response encoding by `Accept` (defaulting to the request's
//! encoding, or JSON for GET). Which JSON library `application/json` means — idiomatic
//! serde_json, the proto3 mapping (pbjson) or sonic-rs — is fixed per server by its variant, as
//! a real service has one JSON implementation; the client does not choose it. Bodies are read with the shared body limit; every refusal is an
//! `application/problem+json` document (RFC 9457) and never takes the server down. The streaming
//! routes (SSE, NDJSON, WebSocket) are in [`crate::rest_stream`].
//!
//! Compression (tower-http): request bodies in `Content-Encoding: gzip` or `zstd` are
//! decompressed on the way in — the body limit applies to the *decompressed* size, so a zip
//! bomb is refused with 413 — and responses are compressed when `Accept-Encoding` asks for gzip
//! or zstd, at each algorithm's default level (gzip 6, zstd 3: the levels tonic uses for gRPC).
//! Any other `Content-Encoding` is refused with 415 naming the supported ones.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use rpcbench_proto::catalogue;
use rpcbench_proto::pb::Payload;
use rpcbench_proto::{Codec as _, CodecError, Encoding, Wire};
use serde::Deserialize;
use tower_http::compression::predicate::{NotForContentType, Predicate as _};
use tower_http::compression::{CompressionLayer, CompressionLevel, DefaultPredicate};
use tower_http::decompression::RequestDecompressionLayer;

use crate::core::{CoreError, ServiceCore};
use crate::settings::ServerSettings;

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) core: Arc<ServiceCore>,
    pub(crate) max_body: usize,
    /// The JSON level `application/json` means on this server.
    pub(crate) json: Encoding,
}

/// The REST routes of the `Bench` service plus `/healthz`. `encoding` is the variant's: a JSON
/// level fixes what `application/json` means here (idiomatic `json` on a protobuf variant).
pub fn router(core: Arc<ServiceCore>, settings: &ServerSettings, encoding: Encoding) -> Router {
    let state = AppState {
        core,
        max_body: settings.max_body_bytes,
        json: if encoding.is_json() {
            encoding
        } else {
            Encoding::Json
        },
    };
    let routes = Router::new()
        .route("/v1/echo", post(echo))
        .route("/v1/payloads", post(upload))
        .route("/v1/payloads/{shape}", get(fetch))
        .route("/healthz", get(healthz))
        .merge(crate::rest_stream::routes())
        .fallback(not_found)
        .with_state(state);
    // The problem layer sits outside the routes, not `routes.layer(..)`: a layer on the routes
    // runs inside each route, before axum adds the `Allow` header to a 405, and its detail could
    // not name the methods. It is inside compression, so it reads error bodies uncompressed.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(problem_for_every_refusal))
        .layer(
            CompressionLayer::new()
                .no_br()
                .no_deflate()
                .quality(CompressionLevel::Default)
                // Streams are never compressed: an encoder buffers, which would hold messages
                // back (server-sent events are already excluded by the default predicate).
                .compress_when(
                    DefaultPredicate::new().and(NotForContentType::const_new(crate::rest_stream::NDJSON)),
                ),
        )
        .layer(RequestDecompressionLayer::new().no_br().no_deflate())
        .layer(axum::middleware::from_fn(supported_content_encoding))
}

/// `Content-Encoding` values the server decodes (besides `identity`), in preference order.
pub const CONTENT_ENCODINGS: &str = "gzip, zstd";

/// Refuses a request body in an encoding the server cannot decode, with a problem document
/// naming the supported ones (tower-http's own refusal is an empty 415).
async fn supported_content_encoding(req: Request, next: Next) -> Response {
    if let Some(value) = req.headers().get(header::CONTENT_ENCODING) {
        let ok = matches!(value.as_bytes(), b"gzip" | b"zstd" | b"identity");
        if !ok {
            let got = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let mut resp = ApiError::UnsupportedContentEncoding(got).into_response();
            resp.headers_mut().insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static(CONTENT_ENCODINGS),
            );
            return resp;
        }
    }
    if let Some(value) = req.headers().get(header::ACCEPT_ENCODING)
        && !accepts_a_response_encoding(value.as_bytes())
    {
        let got = String::from_utf8_lossy(value.as_bytes()).into_owned();
        return ApiError::NoAcceptableContentEncoding(got).into_response();
    }
    next.run(req).await
}

/// Whether `Accept-Encoding` (RFC 9110 §12.5.3) allows one of the response encodings the server
/// has: gzip, zstd or identity. `identity` is acceptable unless `identity;q=0` excludes it, or
/// `*;q=0` does without naming it; so only a client that offers nothing but unsupported codings
/// *and* refuses an uncompressed answer is refused (406).
fn accepts_a_response_encoding(header: &[u8]) -> bool {
    let Ok(header) = std::str::from_utf8(header) else {
        return true;
    };
    let mut identity = None;
    let mut star = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if coding.is_empty() {
            continue;
        }
        let allowed = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .next()
            .and_then(|q| q.trim().parse::<f32>().ok())
            .is_none_or(|q| q > 0.0);
        match coding.as_str() {
            "gzip" | "zstd" if allowed => return true,
            "identity" => identity = Some(allowed),
            "*" => star = Some(allowed),
            _ => {}
        }
    }
    match (identity, star) {
        (Some(allowed), _) => allowed,
        // `*` allows gzip and zstd too when they are not named.
        (None, Some(allowed)) => allowed,
        (None, None) => true,
    }
}

/// A refused request, rendered as `application/problem+json`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unsupported Content-Type {0:?}; send application/json or application/x-protobuf")]
    UnsupportedMediaType(String),
    #[error("unsupported Content-Encoding {0:?}; send gzip, zstd or an uncompressed body")]
    UnsupportedContentEncoding(String),
    #[error("cannot produce any of Accept {0:?}; accept application/json or application/x-protobuf")]
    NotAcceptable(String),
    #[error("cannot answer in any encoding of Accept-Encoding {0:?}; accept gzip, zstd or identity")]
    NoAcceptableContentEncoding(String),
    #[error("request body is larger than the limit of {limit} bytes (after decompression)")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Malformed(#[from] CodecError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Core(#[from] CoreError),
    #[error("no route for {0}")]
    NotFound(String),
    #[error("could not read the request body: {0}")]
    BodyRead(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::UnsupportedMediaType(_) | ApiError::UnsupportedContentEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::NotAcceptable(_) | ApiError::NoAcceptableContentEncoding(_) => {
                StatusCode::NOT_ACCEPTABLE
            }
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Malformed(_) | ApiError::BadRequest(_) | ApiError::Core(_) | ApiError::BodyRead(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        tracing::debug!(%status, error = %self, "request refused");
        problem(status, &self.to_string())
    }
}

/// Media type of every REST error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An `application/problem+json` response.
fn problem(status: StatusCode, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp
}

/// Largest plain-text refusal body carried over into a problem's `detail`.
const REFUSAL_DETAIL_BYTES: usize = 4096;

/// Rewrites every refusal that did not come from [`ApiError`] — axum's own 405 for a known path
/// with another method (an empty body), its extractor rejections (text/plain: a path segment
/// that is not UTF-8, a WebSocket route without its upgrade headers) — as problem+json, so a
/// client sees one error format whatever refused it. Headers such as `Allow` are kept.
async fn problem_for_every_refusal(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes() == PROBLEM_JSON.as_bytes());
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = match Limited::new(body, REFUSAL_DETAIL_BYTES).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).trim().to_owned(),
        Err(_) => String::new(),
    };
    let detail = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        format!(
            "method {method} is not allowed on {}; allowed: {allowed}",
            uri.path()
        )
    } else if text.is_empty() {
        format!(
            "{method} {}: {}",
            uri.path(),
            status.canonical_reason().unwrap_or("refused")
        )
    } else {
        text
    };
    tracing::debug!(%status, %detail, "request refused by the router");
    let mut resp = problem(status, &detail);
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &parts.headers {
        resp.headers_mut().entry(name).or_insert_with(|| value.clone());
    }
    resp
}

/// Chooses the response encoding from `Accept`, falling back to `default`.
pub(crate) fn response_encoding(
    state: &AppState,
    headers: &HeaderMap,
    default: Encoding,
) -> Result<Encoding, ApiError> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(default);
    };
    let accept = accept
        .to_str()
        .map_err(|_| ApiError::NotAcceptable("<non-ASCII>".into()))?;
    for item in accept.split(',') {
        let media = item.split(';').next().unwrap_or("").trim();
        if media.is_empty() {
            continue;
        }
        if media == "*/*" || media.eq_ignore_ascii_case("application/*") {
            return Ok(default);
        }
        if let Some(enc) = Encoding::from_media_type(media, state.json) {
            return Ok(enc);
        }
    }
    Err(ApiError::NotAcceptable(accept.to_owned()))
}

/// Decodes a request body: encoding from `Content-Type`, size checked against the limit.
pub(crate) async fn decode_body<M: Wire>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(M, Encoding), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("<non-ASCII>"))
        .unwrap_or("<none>");
    let encoding = Encoding::from_media_type(content_type, state.json)
        .ok_or_else(|| ApiError::UnsupportedMediaType(content_type.into()))?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body as u64) {
        return Err(ApiError::TooLarge {
            limit: state.max_body,
        });
    }
    let bytes: Bytes = match Limited::new(body, state.max_body).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::TooLarge {
                limit: state.max_body,
            });
        }
        Err(e) => return Err(ApiError::BodyRead(e.to_string())),
    };
    Ok((encoding.decode(&bytes)?, encoding))
}

/// Encodes a response. It fails for a message holding an enum number with no JSON name (sent as
/// protobuf, asked back as JSON) and for a body over the limit (an Echo asked back in a longer
/// encoding than it was sent in): the limit is on encoded bytes both ways, as gRPC's
/// `max_encoding_message_size` is. Both are the client's request at fault.
pub(crate) fn encoded<M: Wire>(state: &AppState, encoding: Encoding, msg: &M) -> Result<Response, ApiError> {
    let body = encoding
        .encode(msg)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if body.len() > state.max_body {
        return Err(ApiError::BadRequest(format!(
            "the response would be {} bytes as {encoding}, over the limit of {} bytes",
            body.len(),
            state.max_body
        )));
    }
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(encoding.media_type()),
    );
    Ok(resp)
}

async fn echo(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let (payload, req_enc): (Payload, _) = decode_body(&state, &headers, body).await?;
    let enc = response_encoding(&state, &headers, req_enc)?;
    encoded(&state, enc, &state.core.echo(payload))
}

async fn upload(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let (payload, req_enc): (Payload, _) = decode_body(&state, &headers, body).await?;
    let enc = response_encoding(&state, &headers, req_enc)?;
    encoded(&state, enc, &state.core.upload(&payload))
}

#[derive(Debug, Deserialize)]
struct FetchQuery {
    size: u64,
    #[serde(default)]
    seed: u64,
}

async fn fetch(
    State(state): State<AppState>,
    Path(shape): Path<String>,
    query: Result<Query<FetchQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(format!("bad query: {}", e.body_text())))?;
    let shape = catalogue::parse_shape(&shape).map_err(CoreError::from)?;
    let enc = response_encoding(&state, &headers, state.json)?;
    let payload = state.core.fetch(shape, q.size, q.seed)?;
    encoded(&state, enc, payload.as_ref())
}

async fn healthz() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}

#[cfg(test)]
mod tests {
    use super::accepts_a_response_encoding as accepts;

    #[test]
    fn accept_encoding_refuses_only_when_nothing_we_have_is_allowed() {
        for ok in [
            "",
            "br",
            "gzip",
            "br, zstd",
            "br, identity;q=0, gzip;q=0.5",
            "*",
            "br;q=1, *;q=0.1",
            "identity",
            "gzip, deflate, br, zstd",
        ] {
            assert!(accepts(ok.as_bytes()), "{ok:?}");
        }
        for refused in [
            "br, identity;q=0",
            "br, *;q=0",
            "identity;q=0",
            "gzip;q=0, zstd;q=0, identity;q=0",
            "br;q=1.0, identity; q=0.0",
        ] {
            assert!(!accepts(refused.as_bytes()), "{refused:?}");
        }
    }
}
