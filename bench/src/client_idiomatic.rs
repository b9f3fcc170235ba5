//! The `idiomatic` client level: each stack's client as an application writes it — reqwest for
//! REST, tonic's generated `BenchClient` for gRPC — so a figure taken through it is what an
//! application pays per call, not what the thinnest correct client pays (that is
//! [`crate::client::Client`], the `lean` level).
//!
//! The design decision to know: the idiomatic client encodes every request on every call, as an
//! application does (the lean client encodes once and resends the bytes). REST with the `json`
//! encoding goes through reqwest's own `.json(&msg)` / `.json::<T>()`, which are serde_json on
//! the same serde-derived types as the codec's `json` level (a test checks the bytes are equal);
//! every other encoding, and JSON under compression (reqwest's `.json()` cannot compress a
//! request body), goes through the one codec with `.body(bytes)` / `.bytes()`. gRPC goes through
//! the generated client of the variant's encoding, whose tonic codec is the one codec too.
//!
//! Fairness: same TCP_NODELAY, HTTP/2 windows, body limit, TLS configuration (the run's rustls
//! config, with its ALPN) and compression levels as the lean client; every response is fully
//! decoded and the caller checks it with [`Call::check`]. What differs is the library: reqwest's
//! pool (at most `connections` idle connections kept per host) in front of hyper, and tonic's
//! `Channel` (tower buffer) in front of h2. reqwest exposes no socket, so its bytes on the wire
//! are not counted (the gRPC side still counts them through the shared channel connector).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, header};
use rpcbench_proto::pb::Payload;
use rpcbench_proto::{Codec as _, Encoding, SharedPayload};
use rpcbench_reports::Compression;
use rpcbench_servers::{HttpVersion, ServerSettings, Stack, Variant};
use rustls::pki_types::ServerName;
use tonic::transport::Channel;

use crate::client::{
    CONNECT_TIMEOUT, Call, ClientError, ConnectOptions, Message, Reply, WireCounters, compress, decompress,
    error_chain, grpc_channel, grpc_encoding,
};

/// One idiomatic client of a variant: a reqwest pool for REST, a generated tonic client (one
/// HTTP/2 connection, many streams) for gRPC. Cloning shares the pool or the connection.
#[derive(Clone)]
pub struct IdiomaticClient {
    variant: Variant,
    max_body: usize,
    inner: Inner,
}

impl std::fmt::Debug for IdiomaticClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdiomaticClient")
            .field("variant", &self.variant)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
enum Inner {
    Rest {
        http: reqwest::Client,
        /// `scheme://host:port`, the prefix of every request URL.
        base: String,
        compression: Compression,
    },
    Grpc(Generated),
}

/// The generated client of each gRPC codec (one per encoding, like the services).
#[derive(Clone)]
enum Generated {
    Proto(rpcbench_proto::grpc_proto::bench_client::BenchClient<Channel>),
    Json(rpcbench_proto::grpc_json::bench_client::BenchClient<Channel>),
    Pbjson(rpcbench_proto::grpc_pbjson::bench_client::BenchClient<Channel>),
    Sonic(rpcbench_proto::grpc_sonic::bench_client::BenchClient<Channel>),
}

/// Applies the run's limits and compression to a generated client, whatever its codec.
macro_rules! generated {
    ($module:ident, $channel:expr, $settings:expr, $compression:expr) => {{
        let mut c = rpcbench_proto::$module::bench_client::BenchClient::new($channel)
            .max_decoding_message_size($settings.max_body_bytes)
            .max_encoding_message_size($settings.max_body_bytes);
        if let Some(enc) = grpc_encoding($compression) {
            c = c.send_compressed(enc).accept_compressed(enc);
        }
        c
    }};
}

/// One unary call through a generated client, whatever its codec.
macro_rules! generated_call {
    ($client:expr, $call:expr) => {{
        let client = $client;
        match &$call.message {
            Message::Payload(p) if $call.rpc == rpcbench_reports::Rpc::Upload => {
                // The generated client takes its request by value: an application that keeps
                // its message pays this clone on every call.
                let r = client
                    .upload(p.as_ref().clone())
                    .await
                    .map_err(ClientError::from_status)?;
                Reply::Summary(r.into_inner())
            }
            Message::Payload(p) => {
                let r = client
                    .echo(p.as_ref().clone())
                    .await
                    .map_err(ClientError::from_status)?;
                Reply::Payload(r.into_inner())
            }
            Message::Fetch(req) => {
                let r = client
                    .fetch(req.clone())
                    .await
                    .map_err(ClientError::from_status)?;
                Reply::Payload(unshare(r.into_inner()))
            }
        }
    }};
}

/// A freshly decoded payload is not shared, so this moves it out without a copy.
fn unshare(p: SharedPayload) -> Payload {
    Arc::try_unwrap(p.0).unwrap_or_else(|shared| (*shared).clone())
}

impl IdiomaticClient {
    /// A client of `variant` at `addr`. REST: a reqwest client whose pool keeps at most
    /// `connections` idle connections to the server (HTTP/1.1 only for `*-h1`, HTTP/2 for
    /// `*-h2`: prior knowledge in plaintext, ALPN under TLS); it connects on the first call.
    /// gRPC: one tonic channel, connected now. `counters` counts gRPC's socket bytes only.
    pub async fn connect(
        variant: Variant,
        addr: SocketAddr,
        settings: &ServerSettings,
        options: &ConnectOptions,
        connections: usize,
        counters: Arc<WireCounters>,
    ) -> Result<IdiomaticClient, ClientError> {
        let inner = match variant.stack() {
            Stack::Rest => rest_client(variant, addr, settings, options, connections)?,
            Stack::Grpc => {
                let channel = grpc_channel(variant, addr, settings, options.tls.as_ref(), counters).await?;
                let c = options.compression;
                Inner::Grpc(match variant.encoding() {
                    Encoding::Protobuf => Generated::Proto(generated!(grpc_proto, channel, settings, c)),
                    Encoding::Json => Generated::Json(generated!(grpc_json, channel, settings, c)),
                    Encoding::Pbjson => Generated::Pbjson(generated!(grpc_pbjson, channel, settings, c)),
                    Encoding::Sonic => Generated::Sonic(generated!(grpc_sonic, channel, settings, c)),
                })
            }
        };
        Ok(IdiomaticClient {
            variant,
            max_body: settings.max_body_bytes,
            inner,
        })
    }

    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Sends `call` (encoding its request now) and fully decodes the response; content is
    /// checked by the caller ([`Call::check`]), as with the lean client.
    pub async fn call(&mut self, call: &Call) -> Result<Reply, ClientError> {
        match &mut self.inner {
            Inner::Grpc(g) => Ok(match g {
                Generated::Proto(c) => generated_call!(c, call),
                Generated::Json(c) => generated_call!(c, call),
                Generated::Pbjson(c) => generated_call!(c, call),
                Generated::Sonic(c) => generated_call!(c, call),
            }),
            Inner::Rest {
                http,
                base,
                compression,
            } => {
                let version = match self.variant.http() {
                    HttpVersion::Http1 => http::Version::HTTP_11,
                    HttpVersion::Http2 => http::Version::HTTP_2,
                };
                rest_call(http, base, *compression, self.max_body, version, call).await
            }
        }
    }
}

/// The reqwest client of a REST variant, configured from the same settings as the lean one.
fn rest_client(
    variant: Variant,
    addr: SocketAddr,
    settings: &ServerSettings,
    options: &ConnectOptions,
    connections: usize,
) -> Result<Inner, ClientError> {
    let err = |message: String| ClientError::Connect {
        variant,
        addr,
        message,
    };
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(settings.tcp_nodelay)
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_max_idle_per_host(connections);
    builder = match variant.http() {
        HttpVersion::Http1 => builder.http1_only(),
        HttpVersion::Http2 => {
            let b = builder
                .http2_initial_stream_window_size(settings.h2_stream_window)
                .http2_initial_connection_window_size(settings.h2_connection_window)
                .http2_adaptive_window(settings.h2_adaptive_window);
            if options.tls.is_some() {
                b
            } else {
                b.http2_prior_knowledge()
            }
        }
    };
    let base = match &options.tls {
        Some(tls) => {
            // The run's rustls config as it is: its roots, its ring provider, the variant's ALPN.
            builder = builder.tls_backend_preconfigured((*tls.config).clone());
            match &tls.server_name {
                ServerName::DnsName(name) => {
                    let name = name.as_ref().to_owned();
                    builder = builder.resolve(&name, addr);
                    format!("https://{name}:{}", addr.port())
                }
                _ => format!("https://{addr}"),
            }
        }
        None => {
            // No TLS in this run: a config that trusts nothing, so the client still has the
            // project's crypto provider (reqwest is built without one) and cannot reach https.
            builder = builder.tls_backend_preconfigured(untrusting_tls()?);
            format!("http://{addr}")
        }
    };
    let http = builder.build().map_err(|e| {
        err(format!(
            "cannot build the reqwest client: {e}: {}",
            error_chain(&e)
        ))
    })?;
    Ok(Inner::Rest {
        http,
        base,
        compression: options.compression,
    })
}

fn untrusting_tls() -> Result<rustls::ClientConfig, ClientError> {
    Ok(
        rustls::ClientConfig::builder_with_provider(rpcbench_servers::tls::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Transport(format!("TLS configuration: {e}")))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    )
}

fn transport(e: reqwest::Error) -> ClientError {
    ClientError::Transport(format!("{e}: {}", error_chain(&e)))
}

fn decode_err(e: reqwest::Error) -> ClientError {
    if e.is_decode() {
        ClientError::Decode(format!("{e}: {}", error_chain(&e)))
    } else {
        transport(e)
    }
}

/// One REST call as an application writes it with reqwest.
async fn rest_call(
    http: &reqwest::Client,
    base: &str,
    compression: Compression,
    max_body: usize,
    version: http::Version,
    call: &Call,
) -> Result<Reply, ClientError> {
    let media = HeaderValue::from_static(call.encoding.media_type());
    // reqwest's serde path where it is the chosen encoding's codec (serde_json on the same
    // types); the one codec otherwise.
    let serde_json_path = call.encoding == Encoding::Json && compression == Compression::None;
    let mut req = http
        .request(call.rest_method().clone(), format!("{base}{}", call.rest_path()))
        .header(header::ACCEPT, media.clone());
    if *call.rest_method() == Method::POST {
        let Message::Payload(payload) = &call.message else {
            return Err(ClientError::Transport("a POST without a payload".into()));
        };
        req = if serde_json_path {
            req.json(payload.as_ref())
        } else {
            let body = call
                .encoding
                .encode(payload.as_ref())
                .map_err(|e| ClientError::Transport(format!("cannot encode the request: {e}")))?;
            let mut req = req.header(header::CONTENT_TYPE, media);
            let body = if compression == Compression::None {
                Bytes::from(body)
            } else {
                req = req.header(header::CONTENT_ENCODING, compression.token());
                compress(compression, &body)?
            };
            req.body(body)
        };
    }
    if compression != Compression::None {
        req = req.header(header::ACCEPT_ENCODING, compression.token());
    }
    let resp = req.send().await.map_err(transport)?;
    // The variant's protocol or nothing: a silent fallback would measure another variant.
    if resp.version() != version {
        return Err(ClientError::Transport(format!(
            "the server answered in {:?}, the variant is {version:?}",
            resp.version()
        )));
    }
    let status = resp.status();
    if let Some(len) = resp.content_length()
        && len > max_body as u64
    {
        return Err(ClientError::Decode(format!(
            "response of {len} bytes is over the limit of {max_body} bytes"
        )));
    }
    if !status.is_success() {
        let body = resp.bytes().await.map_err(transport)?;
        return Err(ClientError::HttpStatus {
            status,
            body: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
        });
    }
    if serde_json_path {
        return Ok(match call.rpc {
            rpcbench_reports::Rpc::Upload => Reply::Summary(resp.json().await.map_err(decode_err)?),
            _ => Reply::Payload(resp.json().await.map_err(decode_err)?),
        });
    }
    let encoding = resp.headers().get(header::CONTENT_ENCODING).cloned();
    let body = resp.bytes().await.map_err(transport)?;
    if body.len() > max_body {
        return Err(ClientError::Decode(format!(
            "response of {} bytes is over the limit of {max_body} bytes",
            body.len()
        )));
    }
    let body = decompress(encoding.as_ref(), body, max_body)?;
    call.decode(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// reqwest's `.json(&msg)` is the codec's `json` level byte for byte, so taking reqwest's
    /// serde path for that encoding is not a second codec.
    #[test]
    fn reqwests_json_body_is_the_codecs_json_encoding() {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(untrusting_tls().unwrap())
            .build()
            .unwrap();
        for shape in rpcbench_proto::Shape::ALL {
            let payload = rpcbench_proto::generate(shape, 4096, 5).unwrap();
            let req = http
                .post("http://127.0.0.1:9/v1/echo")
                .json(&payload)
                .build()
                .unwrap();
            let body = req.body().and_then(reqwest::Body::as_bytes).unwrap();
            assert_eq!(body, Encoding::Json.encode(&payload).unwrap(), "{shape:?}");
        }
    }
}
