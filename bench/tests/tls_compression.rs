//! TLS and compression on every variant, booted as real `rpcbench serve` processes on port 0:
//! the same answers (digests) as plaintext, compressed bytes on the wire, a zip bomb refused,
//! and an unsupported encoding refused with a clear error.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::{BufMut as _, Bytes};
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rpcbench::client::{Call, Client, ClientError, ConnectOptions, Reply, WireCounters, health_check_with};
use rpcbench::server_process::ServerProcess;
use rpcbench_model::{Rpc, Shape};
use rpcbench_proto::Codec as _;
use rpcbench_proto::catalogue::max_size;
use rpcbench_reports::Compression;
use rpcbench_servers::tls::{CertFiles, ClientTls, SERVER_NAME, generate_run_certificate};
use rpcbench_servers::{HttpVersion, ServerSettings, Stack, Variant};

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rpcbench"))
}

fn tls_server(variant: Variant, files: &CertFiles) -> ServerProcess {
    let args = [
        "--tls-cert".to_owned(),
        files.cert.display().to_string(),
        "--tls-key".into(),
        files.key.display().to_string(),
    ];
    ServerProcess::start(exe(), variant, &args).unwrap()
}

async fn client(
    variant: Variant,
    addr: SocketAddr,
    options: &ConnectOptions,
    counters: &Arc<WireCounters>,
) -> Client {
    Client::connect_with(
        variant,
        addr,
        &ServerSettings::default(),
        options,
        Arc::clone(counters),
    )
    .await
    .unwrap_or_else(|e| panic!("{variant}: {e}"))
}

/// Digest of every (rpc, shape, size) answered over one connection, each answer checked.
async fn digests(variant: Variant, addr: SocketAddr, options: &ConnectOptions) -> BTreeMap<String, u64> {
    let counters = Arc::new(WireCounters::default());
    let mut c = client(variant, addr, options, &counters).await;
    let mut out = BTreeMap::new();
    for shape in Shape::ALL {
        for size in [1000, 100_000].into_iter().filter(|s| *s <= max_size(shape)) {
            for rpc in Rpc::ALL {
                let call = Call::new(variant, rpc, shape, size, 5).unwrap();
                let what = format!("{variant} {options:?} {} {} {size}", rpc.name(), shape.name());
                let reply = c.call(&call).await.unwrap_or_else(|e| panic!("{what}: {e}"));
                call.check(&reply).unwrap_or_else(|e| panic!("{what}: {e}"));
                let digest = match reply {
                    Reply::Payload(p) => rpcbench_proto::summarize(&p).digest,
                    Reply::Summary(s) => s.digest,
                };
                out.insert(format!("{}/{}/{size}", rpc.name(), shape.name()), digest);
            }
        }
    }
    out
}

/// Bytes received for one large, compressible Fetch.
async fn fetch_bytes(variant: Variant, addr: SocketAddr, options: &ConnectOptions) -> u64 {
    let counters = Arc::new(WireCounters::default());
    let mut c = client(variant, addr, options, &counters).await;
    let call = Call::new(variant, Rpc::Fetch, Shape::Logs, 100_000, 5).unwrap();
    let before = counters.snapshot().1;
    let reply = c.call(&call).await.unwrap();
    call.check(&reply).unwrap();
    counters.snapshot().1 - before
}

/// Plaintext and TLS servers of `variant`; every compression over TLS (and gzip in plaintext)
/// gives the same digests as plaintext without compression, and compressed responses are
/// smaller on the wire.
async fn tls_and_compression(variant: Variant) {
    let dir = tempfile::tempdir().unwrap();
    let files = generate_run_certificate(dir.path(), &[]).unwrap();
    let plain = ServerProcess::start(exe(), variant, &[]).unwrap();
    let tls_srv = tls_server(variant, &files);
    let tls = ClientTls::new(&files.ca, SERVER_NAME, variant.http()).unwrap();
    health_check_with(variant, tls_srv.addr(), &ServerSettings::default(), Some(&tls))
        .await
        .unwrap();

    let reference = digests(variant, plain.addr(), &ConnectOptions::default()).await;
    let plain_gzip = ConnectOptions {
        tls: None,
        compression: Compression::Gzip,
    };
    assert_eq!(
        digests(variant, plain.addr(), &plain_gzip).await,
        reference,
        "{variant} gzip"
    );
    let mut raw_bytes = 0;
    for compression in Compression::ALL {
        let options = ConnectOptions {
            tls: Some(tls.clone()),
            compression,
        };
        assert_eq!(
            digests(variant, tls_srv.addr(), &options).await,
            reference,
            "{variant} TLS {compression:?}"
        );
        let bytes = fetch_bytes(variant, tls_srv.addr(), &options).await;
        if compression == Compression::None {
            raw_bytes = bytes;
        } else {
            assert!(
                (bytes as f64) < 0.8 * raw_bytes as f64,
                "{variant} {compression:?}: {bytes} bytes on the wire, {raw_bytes} uncompressed"
            );
        }
    }

    // A plaintext client cannot talk to a TLS server: a clear connect or transport error.
    let err = async {
        let mut c = Client::connect(
            variant,
            tls_srv.addr(),
            &ServerSettings::default(),
            Arc::new(WireCounters::default()),
        )
        .await?;
        c.call(&Call::new(variant, Rpc::Echo, Shape::Small, 200, 1).unwrap())
            .await
    }
    .await
    .unwrap_err();
    assert!(
        matches!(err, ClientError::Connect { .. } | ClientError::Transport(_)),
        "{variant}: {err}"
    );
}

macro_rules! every_variant {
    ($($name:ident => $variant:expr),+ $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            tls_and_compression($variant).await;
        }
    )+};
}

every_variant! {
    tls_and_compression_rest_json_h1 => Variant::RestJsonH1,
    tls_and_compression_grpc_proto_h2 => Variant::GrpcProtoH2,
    tls_and_compression_rest_json_h2 => Variant::RestJsonH2,
    tls_and_compression_rest_proto_h1 => Variant::RestProtoH1,
    tls_and_compression_rest_proto_h2 => Variant::RestProtoH2,
    tls_and_compression_grpc_json_h2 => Variant::GrpcJsonH2,
}

const LIMIT: u64 = 64 * 1024;

/// A compressed body far over the limit once decompressed (2 MiB of zeros, ~2 KiB of gzip) is
/// refused — 413 for REST, RESOURCE_EXHAUSTED for gRPC — and the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zip_bomb_is_refused_on_every_variant() {
    for variant in Variant::ALL {
        let server =
            ServerProcess::start(exe(), variant, &["--max-body-bytes".into(), LIMIT.to_string()]).unwrap();
        for compression in [Compression::Gzip, Compression::Zstd] {
            let options = ConnectOptions {
                tls: None,
                compression,
            };
            let counters = Arc::new(WireCounters::default());
            let mut c = client(variant, server.addr(), &options, &counters).await;
            let echo = Call::new(variant, Rpc::Echo, Shape::Logs, 1024, 3).unwrap();
            let bomb = echo.with_body(vec![0u8; 2 << 20]);
            let before = counters.snapshot().0;
            let result = c.call(&bomb).await;
            let sent = counters.snapshot().0 - before;
            assert!(
                sent < LIMIT,
                "{variant} {compression:?}: the bomb went out compressed ({sent} bytes)"
            );
            match (variant.stack(), result) {
                (Stack::Rest, Err(ClientError::HttpStatus { status, body })) => {
                    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{variant}: {body}");
                    assert!(body.contains("after decompression"), "{variant}: {body}");
                }
                (Stack::Grpc, Err(ClientError::GrpcStatus { code, message })) => {
                    assert_eq!(code, tonic::Code::ResourceExhausted, "{variant}: {message}");
                }
                (_, other) => panic!("{variant} {compression:?}: the bomb was not refused: {other:?}"),
            }
            // A fresh connection with the same compression still works.
            let mut c = client(variant, server.addr(), &options, &counters).await;
            let reply = c.call(&echo).await.unwrap();
            echo.check(&reply).unwrap();
        }
    }
}

/// One raw request over plaintext HTTP/1.1 or h2c, returning status, headers and body.
async fn raw(
    variant: Variant,
    addr: SocketAddr,
    req: Request<Full<Bytes>>,
) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let io = TokioIo::new(tokio::net::TcpStream::connect(addr).await.unwrap());
    let resp = match variant.http() {
        HttpVersion::Http1 => {
            let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            send.send_request(req).await.unwrap()
        }
        HttpVersion::Http2 => {
            let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            tokio::spawn(conn);
            send.send_request(req).await.unwrap()
        }
    };
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await.unwrap();
    let mut headers = parts.headers;
    if let Some(trailers) = collected.trailers() {
        headers.extend(trailers.clone());
    }
    (parts.status, headers, collected.to_bytes().to_vec())
}

/// A request body in an encoding the server does not support (`br`) gets a clear refusal that
/// names the supported ones; a client accepting only `br` gets an uncompressed answer (identity
/// is always acceptable unless refused), and one that also refuses identity gets 406. gRPC has
/// no such refusal: identity is always allowed there (grpc-accept-encoding only lists extras).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_encoding_is_a_clear_error() {
    for variant in Variant::ALL {
        let server = ServerProcess::start(exe(), variant, &[]).unwrap();
        let addr = server.addr();
        let enc = variant.encoding();
        let body = enc
            .encode(&rpcbench_proto::generate(Shape::Logs, 1024, 2).unwrap())
            .unwrap();
        let uri = |path: &str| match variant.http() {
            HttpVersion::Http1 => path.to_owned(),
            HttpVersion::Http2 => format!("http://{addr}{path}"),
        };
        match variant.stack() {
            Stack::Rest => {
                let req = Request::builder()
                    .method(Method::POST)
                    .uri(uri("/v1/echo"))
                    .header(header::HOST, addr.to_string())
                    .header(header::CONTENT_TYPE, enc.media_type())
                    .header(header::CONTENT_ENCODING, "br")
                    .body(Full::new(Bytes::from(body.clone())))
                    .unwrap();
                let (status, headers, resp) = raw(variant, addr, req).await;
                assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{variant}");
                assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
                let problem: serde_json::Value = serde_json::from_slice(&resp).unwrap();
                let detail = problem["detail"].as_str().unwrap();
                assert!(
                    detail.contains("br") && detail.contains("gzip") && detail.contains("zstd"),
                    "{detail}"
                );
                assert!(
                    headers[header::ACCEPT_ENCODING]
                        .to_str()
                        .unwrap()
                        .contains("gzip")
                );

                let req = Request::builder()
                    .method(Method::GET)
                    .uri(uri("/v1/payloads/logs?size=100000&seed=1"))
                    .header(header::HOST, addr.to_string())
                    .header(header::ACCEPT_ENCODING, "br")
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let (status, headers, resp) = raw(variant, addr, req).await;
                assert_eq!(status, StatusCode::OK, "{variant}");
                assert!(
                    headers.get(header::CONTENT_ENCODING).is_none(),
                    "{variant}: {headers:?}"
                );
                // Without Accept, Fetch answers in the server's JSON level.
                let fetched = resp;
                let json = if enc.is_json() {
                    enc
                } else {
                    rpcbench_proto::Encoding::Json
                };
                let _: rpcbench_proto::pb::Payload = json.decode(&fetched).unwrap();

                // A client that offers only `br` and refuses an uncompressed answer: 406, naming
                // what the server can send.
                let req = Request::builder()
                    .method(Method::GET)
                    .uri(uri("/v1/payloads/logs?size=1000&seed=1"))
                    .header(header::HOST, addr.to_string())
                    .header(header::ACCEPT_ENCODING, "br, identity;q=0")
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let (status, headers, resp) = raw(variant, addr, req).await;
                assert_eq!(status, StatusCode::NOT_ACCEPTABLE, "{variant}");
                assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
                let problem: serde_json::Value = serde_json::from_slice(&resp).unwrap();
                let detail = problem["detail"].as_str().unwrap();
                assert!(
                    detail.contains("br, identity;q=0") && detail.contains("gzip") && detail.contains("zstd"),
                    "{detail}"
                );
            }
            Stack::Grpc => {
                // One length-prefixed message flagged as compressed, in an encoding tonic lacks.
                let mut frame = Vec::new();
                frame.put_u8(1);
                frame.put_u32(body.len() as u32);
                frame.extend_from_slice(&body);
                let content_type = if enc.is_json() {
                    "application/grpc+json"
                } else {
                    "application/grpc"
                };
                let req = Request::builder()
                    .method(Method::POST)
                    .uri(uri("/rpcbench.v1.Bench/Echo"))
                    .header(header::CONTENT_TYPE, content_type)
                    .header("te", "trailers")
                    .header("grpc-encoding", "br")
                    .body(Full::new(Bytes::from(frame)))
                    .unwrap();
                let (_, headers, _) = raw(variant, addr, req).await;
                assert_eq!(
                    headers["grpc-status"],
                    (tonic::Code::Unimplemented as i32).to_string(),
                    "{variant}: {headers:?}"
                );
                let message = headers["grpc-message"].to_str().unwrap();
                assert!(message.contains("br"), "{variant}: {message}");
                let accepted = headers["grpc-accept-encoding"].to_str().unwrap();
                assert!(
                    accepted.contains("gzip") && accepted.contains("zstd"),
                    "{variant}: {accepted}"
                );
            }
        }
        // Still serving.
        let mut c = client(
            variant,
            addr,
            &ConnectOptions::default(),
            &Arc::new(WireCounters::default()),
        )
        .await;
        let call = Call::new(variant, Rpc::Echo, Shape::Small, 200, 1).unwrap();
        let reply = c.call(&call).await.unwrap();
        call.check(&reply).unwrap();
    }
}
