//! The variant's real client: hyper HTTP/1.1 or HTTP/2 (prior knowledge) for REST, tonic for
//! gRPC — behind one type, so the load loop, tests and benches are written once.
//!
//! Fairness: requests are encoded once ([`Call::new`]) and every send reuses those bytes on
//! every variant (REST sends them as the body; gRPC sends them through a pass-through codec), so
//! no client pays per-call encoding another does not. Every response is fully decoded with the
//! one codec. Bytes are counted at the socket ([`WireCounters`]), below TLS, so they are the
//! bytes on the wire: TLS records and compressed bodies.
//!
//! TLS and compression are parameters of the same client ([`ConnectOptions`]), never a second
//! client: TLS wraps the counted socket (rustls, the variant's ALPN protocol, checked), and
//! compression is `Content-Encoding`/`Accept-Encoding` for REST and `grpc-encoding`/
//! `grpc-accept-encoding` (tonic) for gRPC, at the same levels (gzip 6, zstd 3). A compressed
//! request body is compressed on every call, as tonic does for gRPC, so both stacks pay for it.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::uri::{Authority, PathAndQuery};
use http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rpcbench_proto::pb::{self, FetchRequest, Payload, UploadSummary};
use rpcbench_proto::{Codec as _, Encoding, Shape, catalogue};
use rpcbench_reports::Compression;
use rpcbench_reports::{ErrorKind, ErrorStatus, GrpcCode, Rpc};
use rpcbench_servers::tls::ClientTls;
use rpcbench_servers::{HttpVersion, ServerSettings, Stack, Variant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint};

/// How long connecting may take before it is an error.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A failed call, by kind.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr} ({variant}): {message}")]
    Connect {
        variant: Variant,
        addr: SocketAddr,
        message: String,
    },
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("HTTP status {status}: {body}")]
    HttpStatus { status: StatusCode, body: String },
    #[error("gRPC status {code:?}: {message}")]
    GrpcStatus { code: tonic::Code, message: String },
    #[error("transport error: {0}")]
    Transport(String),
    #[error("cannot decode the response: {0}")]
    Decode(String),
    #[error("wrong answer: {0}")]
    WrongAnswer(String),
}

impl ClientError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Connect { .. } => ErrorKind::Connect,
            ClientError::Timeout(_) => ErrorKind::Timeout,
            ClientError::HttpStatus { .. } => ErrorKind::HttpStatus,
            ClientError::GrpcStatus { .. } => ErrorKind::GrpcStatus,
            ClientError::Transport(_) => ErrorKind::Transport,
            ClientError::Decode(_) => ErrorKind::Decode,
            ClientError::WrongAnswer(_) => ErrorKind::WrongAnswer,
        }
    }

    /// The exact status behind the failure, for counting.
    pub fn status_key(&self) -> ErrorStatus {
        match self {
            ClientError::HttpStatus { status, .. } => ErrorStatus::Http(status.as_u16()),
            ClientError::GrpcStatus { code, .. } => match GrpcCode::from_number(i32::from(*code)) {
                Some(code) => ErrorStatus::Grpc(code),
                // tonic maps numbers outside the protocol to Unknown; counted under the kind.
                None => ErrorStatus::Kind(self.kind()),
            },
            other => ErrorStatus::Kind(other.kind()),
        }
    }

    pub(crate) fn from_status(status: tonic::Status) -> ClientError {
        // tonic reports a broken or refused connection as UNAVAILABLE/UNKNOWN (or CANCELLED when
        // the connection closed under the call) with a transport error as the source; those are
        // transport errors, not answers from the server.
        let transport = std::error::Error::source(&status).is_some()
            && matches!(
                status.code(),
                tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
            );
        if transport {
            ClientError::Transport(format!("{}: {}", status.message(), error_chain(&status)))
        } else {
            ClientError::GrpcStatus {
                code: status.code(),
                message: status.message().to_owned(),
            }
        }
    }
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// gzip level of REST bodies: tonic's fixed gRPC level, so both stacks compress alike.
pub const GZIP_LEVEL: u32 = 6;
/// zstd level of REST bodies: tonic's fixed gRPC level (zstd's default).
pub const ZSTD_LEVEL: i32 = 3;

/// How a client connects and encodes bodies, beyond the shared fairness settings.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// TLS (trusted roots, server name, ALPN); `None` is plaintext (h2c for HTTP/2).
    pub tls: Option<ClientTls>,
    /// Body compression of requests, and the one offered for responses.
    pub compression: Compression,
}

/// Bytes read and written at the client's sockets (HTTP headers and framing included).
#[derive(Debug, Default)]
pub struct WireCounters {
    pub sent: AtomicU64,
    pub received: AtomicU64,
}

impl WireCounters {
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

/// A TCP stream that counts the bytes through it.
pub(crate) struct Counted {
    inner: TcpStream,
    counters: Arc<WireCounters>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.counters.received.fetch_add(n as u64, Ordering::Relaxed);
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.counters.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = r {
            self.counters.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A counted socket, plaintext or inside TLS.
enum Stream {
    Plain(Counted),
    Tls(Box<TlsStream<Counted>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Connects TCP and, with `tls`, completes a full TLS handshake and checks that the server
/// chose the variant's ALPN protocol.
async fn connect_stream(
    variant: Variant,
    addr: SocketAddr,
    settings: &ServerSettings,
    tls: Option<&ClientTls>,
    counters: Arc<WireCounters>,
) -> Result<Stream, ClientError> {
    let tcp = connect_tcp(variant, addr, settings, counters).await?;
    let Some(tls) = tls else {
        return Ok(Stream::Plain(tcp));
    };
    let err = |message: String| ClientError::Connect {
        variant,
        addr,
        message,
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&tls.config));
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(tls.server_name.clone(), tcp))
        .await
        .map_err(|_| err(format!("TLS handshake not done within {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| err(format!("TLS handshake: {e}")))?;
    let want = rpcbench_servers::tls::alpn(variant.http());
    let got = stream.get_ref().1.alpn_protocol();
    if got != Some(want) {
        return Err(err(format!(
            "the server did not negotiate ALPN {:?} (got {:?})",
            String::from_utf8_lossy(want),
            got.map(String::from_utf8_lossy)
        )));
    }
    Ok(Stream::Tls(Box::new(stream)))
}

pub(crate) async fn connect_tcp(
    variant: Variant,
    addr: SocketAddr,
    settings: &ServerSettings,
    counters: Arc<WireCounters>,
) -> Result<Counted, ClientError> {
    let err = |message: String| ClientError::Connect {
        variant,
        addr,
        message,
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| err(format!("no answer within {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| err(e.to_string()))?;
    stream
        .set_nodelay(settings.tcp_nodelay)
        .map_err(|e| err(format!("TCP_NODELAY: {e}")))?;
    Ok(Counted {
        inner: stream,
        counters,
    })
}

/// Why a call cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Catalogue(#[from] rpcbench_proto::CatalogueError),
    #[error(transparent)]
    Codec(#[from] rpcbench_proto::CodecError),
}

/// What a correct response must be.
#[derive(Debug, Clone)]
pub enum Expected {
    /// Echo: the request itself.
    Payload(Arc<Payload>),
    /// Upload: the digest of the request.
    Summary(UploadSummary),
}

/// One prepared request: encoded once, sent many times.
#[derive(Debug, Clone)]
pub struct Call {
    pub rpc: Rpc,
    pub encoding: Encoding,
    /// REST: request target (path and query).
    rest_path: PathAndQuery,
    rest_method: Method,
    /// gRPC: method path.
    grpc_path: PathAndQuery,
    /// The encoded request message (empty for REST Fetch, which is a GET).
    body: Bytes,
    /// The request message itself, for clients that encode on every call (the idiomatic ones).
    pub(crate) message: Message,
    pub expected: Expected,
}

/// The request message of a call.
#[derive(Debug, Clone)]
pub(crate) enum Message {
    /// Echo and Upload.
    Payload(Arc<Payload>),
    /// Fetch (REST sends it as the path and query instead).
    Fetch(FetchRequest),
}

/// A decoded response.
#[derive(Debug)]
pub enum Reply {
    Payload(Payload),
    Summary(UploadSummary),
}

impl Call {
    /// Prepares `rpc` with the catalogue payload `(shape, size, seed)` for `variant`.
    pub fn new(variant: Variant, rpc: Rpc, shape: Shape, size: u64, seed: u64) -> Result<Call, CallError> {
        let encoding = variant.encoding();
        let payload = Arc::new(rpcbench_proto::generate(shape, size, seed)?);
        let fetch = FetchRequest {
            shape: pb::Shape::from(shape) as i32,
            size,
            seed,
        };
        let message = match rpc {
            Rpc::Echo | Rpc::Upload => Message::Payload(Arc::clone(&payload)),
            Rpc::Fetch => Message::Fetch(fetch),
        };
        let (rest_method, rest_path, grpc_method, body, expected) = match rpc {
            Rpc::Echo => (
                Method::POST,
                "/v1/echo".to_owned(),
                "Echo",
                encoding.encode(payload.as_ref())?,
                Expected::Payload(Arc::clone(&payload)),
            ),
            Rpc::Upload => (
                Method::POST,
                "/v1/payloads".to_owned(),
                "Upload",
                encoding.encode(payload.as_ref())?,
                Expected::Summary(rpcbench_proto::summarize(&payload)),
            ),
            Rpc::Fetch => {
                let body = match variant.stack() {
                    Stack::Grpc => encoding.encode(&fetch)?,
                    Stack::Rest => Vec::new(),
                };
                (
                    Method::GET,
                    format!("/v1/payloads/{}?size={size}&seed={seed}", shape.name()),
                    "Fetch",
                    body,
                    Expected::Payload(Arc::clone(&payload)),
                )
            }
        };
        Ok(Call {
            rpc,
            encoding,
            rest_path: PathAndQuery::try_from(rest_path).expect("generated paths are valid"),
            rest_method,
            grpc_path: PathAndQuery::try_from(format!("/rpcbench.v1.Bench/{grpc_method}"))
                .expect("valid path"),
            body: Bytes::from(body),
            message,
            expected,
        })
    }

    /// The same call with another, possibly invalid, encoded body (bad-input tests).
    pub fn with_body(&self, body: impl Into<Bytes>) -> Call {
        Call {
            body: body.into(),
            ..self.clone()
        }
    }

    /// REST: the request's method.
    pub(crate) fn rest_method(&self) -> &Method {
        &self.rest_method
    }

    /// REST: the request's path and query.
    pub(crate) fn rest_path(&self) -> &PathAndQuery {
        &self.rest_path
    }

    /// Size of the encoded request message.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// Checks a decoded reply against the expected answer.
    pub fn check(&self, reply: &Reply) -> Result<(), ClientError> {
        match (&self.expected, reply) {
            (Expected::Payload(want), Reply::Payload(got)) => {
                if got == want.as_ref() {
                    Ok(())
                } else {
                    Err(ClientError::WrongAnswer(format!(
                        "{} returned a different payload ({} records, expected {})",
                        self.rpc.name(),
                        rpcbench_proto::catalogue::records_of(got),
                        rpcbench_proto::catalogue::records_of(want)
                    )))
                }
            }
            (Expected::Summary(want), Reply::Summary(got)) => {
                if got == want {
                    Ok(())
                } else {
                    Err(ClientError::WrongAnswer(format!(
                        "upload digest {got:?}, expected {want:?}"
                    )))
                }
            }
            _ => Err(ClientError::WrongAnswer("reply of the wrong type".into())),
        }
    }

    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<Reply, ClientError> {
        let decode_err = |e: rpcbench_proto::CodecError| ClientError::Decode(e.to_string());
        Ok(match self.rpc {
            Rpc::Echo | Rpc::Fetch => Reply::Payload(self.encoding.decode(bytes).map_err(decode_err)?),
            Rpc::Upload => Reply::Summary(self.encoding.decode(bytes).map_err(decode_err)?),
        })
    }
}

/// A gRPC codec that sends pre-encoded message bytes and returns the response bytes; the
/// response is then decoded with the one codec by [`Call`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PassThrough;

impl Codec for PassThrough {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = PassThrough;
    type Decoder = PassThrough;
    fn encoder(&mut self) -> Self {
        PassThrough
    }
    fn decoder(&mut self) -> Self {
        PassThrough
    }
}

impl Encoder for PassThrough {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buf.put(item);
        Ok(())
    }
}

impl Decoder for PassThrough {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining())))
    }
}

enum Conn {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
    Grpc(tonic::client::Grpc<Channel>),
}

/// One connection of a variant's client. HTTP/2 and gRPC clients can be cloned to multiplex
/// more streams over the same connection ([`Client::stream`]); HTTP/1.1 carries one request at a
/// time, so it cannot.
pub struct Client {
    variant: Variant,
    authority: Authority,
    host: HeaderValue,
    max_body: usize,
    scheme: http::uri::Scheme,
    compression: Compression,
    conn: Conn,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("variant", &self.variant)
            .field("authority", &self.authority)
            .finish()
    }
}

impl Client {
    /// Opens one plaintext, uncompressed connection to a server of `variant` at `addr`, with the
    /// same fairness settings (TCP_NODELAY, HTTP/2 windows, body limit) the servers use.
    pub async fn connect(
        variant: Variant,
        addr: SocketAddr,
        settings: &ServerSettings,
        counters: Arc<WireCounters>,
    ) -> Result<Client, ClientError> {
        Client::connect_with(variant, addr, settings, &ConnectOptions::default(), counters).await
    }

    /// Opens one connection with TLS and compression as `options` say.
    pub async fn connect_with(
        variant: Variant,
        addr: SocketAddr,
        settings: &ServerSettings,
        options: &ConnectOptions,
        counters: Arc<WireCounters>,
    ) -> Result<Client, ClientError> {
        let tls = options.tls.as_ref();
        let authority = Authority::try_from(addr.to_string()).expect("a socket address is a valid authority");
        let host = HeaderValue::from_str(authority.as_str()).expect("a socket address is a valid header");
        let conn_err = |message: String| ClientError::Connect {
            variant,
            addr,
            message,
        };
        let conn = match (variant.stack(), variant.http()) {
            (Stack::Rest, HttpVersion::Http1) => {
                let io = TokioIo::new(connect_stream(variant, addr, settings, tls, counters).await?);
                let (send, conn) = http1::handshake(io).await.map_err(|e| conn_err(e.to_string()))?;
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "HTTP/1.1 connection ended");
                    }
                });
                Conn::Http1(send)
            }
            (Stack::Rest, HttpVersion::Http2) => {
                let io = TokioIo::new(connect_stream(variant, addr, settings, tls, counters).await?);
                let (send, conn) = http2::Builder::new(TokioExecutor::new())
                    .initial_stream_window_size(settings.h2_stream_window)
                    .initial_connection_window_size(settings.h2_connection_window)
                    .adaptive_window(settings.h2_adaptive_window)
                    .handshake(io)
                    .await
                    .map_err(|e| conn_err(e.to_string()))?;
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "HTTP/2 connection ended");
                    }
                });
                Conn::Http2(send)
            }
            (Stack::Grpc, _) => {
                let channel = grpc_channel(variant, addr, settings, tls, counters).await?;
                let mut grpc = tonic::client::Grpc::new(channel)
                    .max_decoding_message_size(settings.max_body_bytes)
                    .max_encoding_message_size(settings.max_body_bytes);
                if let Some(enc) = grpc_encoding(options.compression) {
                    grpc = grpc.send_compressed(enc).accept_compressed(enc);
                }
                Conn::Grpc(grpc)
            }
        };
        Ok(Client {
            variant,
            authority,
            host,
            max_body: settings.max_body_bytes,
            scheme: if tls.is_some() {
                http::uri::Scheme::HTTPS
            } else {
                http::uri::Scheme::HTTP
            },
            compression: options.compression,
            conn,
        })
    }

    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Another handle on the same connection (HTTP/2 and gRPC only).
    pub fn stream(&self) -> Option<Client> {
        let conn = match &self.conn {
            Conn::Http1(_) => return None,
            Conn::Http2(s) => Conn::Http2(s.clone()),
            Conn::Grpc(g) => Conn::Grpc(g.clone()),
        };
        Some(Client {
            variant: self.variant,
            authority: self.authority.clone(),
            host: self.host.clone(),
            max_body: self.max_body,
            scheme: self.scheme.clone(),
            compression: self.compression,
            conn,
        })
    }

    /// Sends `call` and fully decodes the response. Content is not checked here (see
    /// [`Call::check`]), so the caller decides how often to pay for the comparison.
    pub async fn call(&mut self, call: &Call) -> Result<Reply, ClientError> {
        let bytes = match &mut self.conn {
            Conn::Grpc(grpc) => {
                grpc.ready()
                    .await
                    .map_err(|e| ClientError::Transport(e.to_string()))?;
                let resp = grpc
                    .unary(
                        tonic::Request::new(call.body.clone()),
                        call.grpc_path.clone(),
                        PassThrough,
                    )
                    .await
                    .map_err(ClientError::from_status)?;
                resp.into_inner()
            }
            Conn::Http1(_) | Conn::Http2(_) => {
                let req = self.rest_request(call)?;
                let resp = self.send_rest(req).await?;
                self.read_rest_body(resp).await?
            }
        };
        call.decode(&bytes)
    }

    /// Reads a whole REST response body under the body limit, decompressed by its
    /// `Content-Encoding` (also under the limit); a non-2xx status is an error
    /// carrying the start of the body. Unary calls and the stream publisher both read replies here.
    pub(crate) async fn read_rest_body(
        &self,
        resp: http::Response<hyper::body::Incoming>,
    ) -> Result<bytes::Bytes, ClientError> {
        let status = resp.status();
        let encoding = resp.headers().get(header::CONTENT_ENCODING).cloned();
        let body = Limited::new(resp.into_body(), self.max_body)
            .collect()
            .await
            .map_err(|e| ClientError::Transport(format!("reading the response body: {e}")))?
            .to_bytes();
        let body = decompress(encoding.as_ref(), body, self.max_body)?;
        if !status.is_success() {
            return Err(ClientError::HttpStatus {
                status,
                body: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
            });
        }
        Ok(body)
    }

    /// Sends one REST request on this connection and returns the response head with its
    /// still unread body (streams read it message by message).
    pub(crate) async fn send_rest(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Result<http::Response<hyper::body::Incoming>, ClientError> {
        match &mut self.conn {
            Conn::Http1(send) => {
                send.ready()
                    .await
                    .map_err(|e| ClientError::Transport(e.to_string()))?;
                send.send_request(req).await
            }
            Conn::Http2(send) => {
                send.ready()
                    .await
                    .map_err(|e| ClientError::Transport(e.to_string()))?;
                send.send_request(req).await
            }
            Conn::Grpc(_) => return Err(ClientError::Transport("not a REST connection".into())),
        }
        .map_err(|e| ClientError::Transport(format!("{e}: {}", error_chain(&e))))
    }

    /// The gRPC client of this connection (gRPC variants only).
    pub(crate) fn grpc(&mut self) -> Option<&mut tonic::client::Grpc<Channel>> {
        match &mut self.conn {
            Conn::Grpc(g) => Some(g),
            _ => None,
        }
    }

    /// Builds a REST request from pre-parsed parts only (no parsing or formatting per call).
    fn rest_request(&self, call: &Call) -> Result<Request<Full<Bytes>>, ClientError> {
        let media = HeaderValue::from_static(call.encoding.media_type());
        let content_type = (call.rest_method == Method::POST).then(|| media.clone());
        let compressed = self.compression != Compression::None && !call.body.is_empty();
        let body = if compressed {
            compress(self.compression, &call.body)?
        } else {
            call.body.clone()
        };
        let mut req = self.build_request(
            call.rest_method.clone(),
            call.rest_path.clone(),
            body,
            media,
            content_type,
        );
        if self.compression != Compression::None {
            let token = HeaderValue::from_static(self.compression.token());
            let headers = req.headers_mut();
            headers.insert(header::ACCEPT_ENCODING, token.clone());
            if compressed {
                headers.insert(header::CONTENT_ENCODING, token);
            }
        }
        Ok(req)
    }

    /// A REST request on this connection: HTTP/1.1 gets `Host`, HTTP/2 an absolute URI (for
    /// `:scheme` and `:authority`).
    pub(crate) fn build_request(
        &self,
        method: Method,
        path: PathAndQuery,
        body: Bytes,
        accept: HeaderValue,
        content_type: Option<HeaderValue>,
    ) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        let headers = req.headers_mut();
        headers.insert(header::ACCEPT, accept);
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, ct);
        }
        *req.uri_mut() = match &self.conn {
            Conn::Http1(_) => {
                req.headers_mut().insert(header::HOST, self.host.clone());
                Uri::from(path)
            }
            _ => {
                let mut parts = http::uri::Parts::default();
                parts.scheme = Some(self.scheme.clone());
                parts.authority = Some(self.authority.clone());
                parts.path_and_query = Some(path);
                Uri::from_parts(parts).expect("scheme, authority and path are valid")
            }
        };
        req
    }
}

/// A tonic channel over one counted, TCP_NODELAY connection.
pub(crate) async fn grpc_channel(
    variant: Variant,
    addr: SocketAddr,
    settings: &ServerSettings,
    tls: Option<&ClientTls>,
    counters: Arc<WireCounters>,
) -> Result<Channel, ClientError> {
    let conn_err = |message: String| ClientError::Connect {
        variant,
        addr,
        message,
    };
    // tonic has no TLS of its own here: the connector below does the handshake, so the scheme
    // only sets `:scheme` on every request.
    let scheme = if tls.is_some() { "https" } else { "http" };
    let endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
        .map_err(|e| conn_err(e.to_string()))?
        .connect_timeout(CONNECT_TIMEOUT)
        .initial_stream_window_size(settings.h2_stream_window)
        .initial_connection_window_size(settings.h2_connection_window)
        .http2_adaptive_window(settings.h2_adaptive_window)
        .tcp_nodelay(settings.tcp_nodelay);
    let settings = settings.clone();
    let tls = tls.cloned();
    let connector = tower::service_fn(move |_uri: http::Uri| {
        let counters = Arc::clone(&counters);
        let settings = settings.clone();
        let tls = tls.clone();
        async move {
            connect_stream(variant, addr, &settings, tls.as_ref(), counters)
                .await
                .map(TokioIo::new)
                .map_err(|e| io::Error::new(io::ErrorKind::ConnectionRefused, e.to_string()))
        }
    });
    endpoint
        .connect_with_connector(connector)
        .await
        .map_err(|e| conn_err(format!("{e}: {}", error_chain(&e))))
}

/// Asks a server of `variant` at `addr` whether it is ready: `GET /healthz` for REST,
/// `grpc.health.v1.Health/Check` for gRPC.
pub async fn health_check(
    variant: Variant,
    addr: SocketAddr,
    settings: &ServerSettings,
) -> Result<(), ClientError> {
    health_check_with(variant, addr, settings, None).await
}

/// [`health_check`] over TLS when `tls` is set.
pub async fn health_check_with(
    variant: Variant,
    addr: SocketAddr,
    settings: &ServerSettings,
    tls: Option<&ClientTls>,
) -> Result<(), ClientError> {
    let counters = Arc::new(WireCounters::default());
    if variant.stack() == Stack::Grpc {
        let channel = grpc_channel(variant, addr, settings, tls, counters).await?;
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        let resp = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "rpcbench.v1.Bench".into(),
            })
            .await
            .map_err(ClientError::from_status)?;
        let status = resp.into_inner().status;
        return if status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 {
            Ok(())
        } else {
            Err(ClientError::WrongAnswer(format!("health status {status}")))
        };
    }
    let options = ConnectOptions {
        tls: tls.cloned(),
        compression: Compression::None,
    };
    let client = Client::connect_with(variant, addr, settings, &options, counters).await?;
    let scheme = client.scheme.clone();
    match client.conn {
        Conn::Grpc(_) => unreachable!("handled above"),
        Conn::Http1(mut send) => {
            let req = Request::get("/healthz")
                .header(header::HOST, addr.to_string())
                .body(Full::new(Bytes::new()));
            let resp = send
                .send_request(req.expect("valid request"))
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            http_ok(resp.status())
        }
        Conn::Http2(mut send) => {
            let req = Request::get(format!("{scheme}://{addr}/healthz")).body(Full::new(Bytes::new()));
            let resp = send
                .send_request(req.expect("valid request"))
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            http_ok(resp.status())
        }
    }
}

/// tonic's encoding for a compression level of the run (`None` for no compression).
pub fn grpc_encoding(c: Compression) -> Option<CompressionEncoding> {
    match c {
        Compression::None => None,
        Compression::Gzip => Some(CompressionEncoding::Gzip),
        Compression::Zstd => Some(CompressionEncoding::Zstd),
    }
}

/// Compresses a REST request body at the run's level.
pub fn compress(c: Compression, body: &[u8]) -> Result<Bytes, ClientError> {
    use std::io::Write as _;
    let err =
        |e: io::Error| ClientError::Transport(format!("cannot compress the request ({}): {e}", c.token()));
    Ok(Bytes::from(match c {
        Compression::None => body.to_vec(),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 2),
                flate2::Compression::new(GZIP_LEVEL),
            );
            enc.write_all(body).map_err(err)?;
            enc.finish().map_err(err)?
        }
        Compression::Zstd => zstd::bulk::compress(body, ZSTD_LEVEL).map_err(err)?,
    }))
}

/// Decodes a REST response body by its `Content-Encoding`, refusing more than `limit` bytes
/// after decompression.
pub(crate) fn decompress(
    encoding: Option<&HeaderValue>,
    body: Bytes,
    limit: usize,
) -> Result<Bytes, ClientError> {
    use std::io::Read as _;
    let Some(encoding) = encoding else {
        return Ok(body);
    };
    let token = String::from_utf8_lossy(encoding.as_bytes()).into_owned();
    let mut out = Vec::with_capacity(body.len() * 4);
    let read = match token.as_str() {
        "identity" => return Ok(body),
        "gzip" => flate2::read::GzDecoder::new(&body[..])
            .take(limit as u64 + 1)
            .read_to_end(&mut out),
        "zstd" => zstd::stream::read::Decoder::new(&body[..])
            .and_then(|d| d.take(limit as u64 + 1).read_to_end(&mut out)),
        _ => {
            return Err(ClientError::Decode(format!(
                "response in unsupported Content-Encoding {token:?}"
            )));
        }
    };
    read.map_err(|e| ClientError::Decode(format!("cannot decompress the {token} response: {e}")))?;
    if out.len() > limit {
        return Err(ClientError::Decode(format!(
            "the {token} response decompresses to more than the limit of {limit} bytes"
        )));
    }
    Ok(Bytes::from(out))
}

fn http_ok(status: StatusCode) -> Result<(), ClientError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(ClientError::HttpStatus {
            status,
            body: String::new(),
        })
    }
}

/// Parses a shape name for CLI and scenario inputs.
pub fn parse_shape(name: &str) -> Result<Shape, String> {
    catalogue::parse_shape(name).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tonic_code_is_counted_under_its_own_name() {
        for n in 0..=16 {
            let code = tonic::Code::from_i32(n);
            let e = ClientError::GrpcStatus {
                code,
                message: String::new(),
            };
            assert_eq!(e.status_key().to_string(), format!("grpc_status:{code:?}"));
        }
        let http = ClientError::HttpStatus {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            body: String::new(),
        };
        assert_eq!(http.status_key(), ErrorStatus::Http(413));
        assert_eq!(
            ClientError::Timeout(Duration::from_secs(1)).status_key(),
            ErrorStatus::Kind(ErrorKind::Timeout)
        );
    }
}
