//! Streaming clients: one [`MessageStream`] type over gRPC streams, WebSocket, Server-Sent
//! Events and NDJSON, and the broadcast [`Publisher`] — so the load loop, the tests and the
//! peer checks open and read every kind of stream the same way.
//!
//! Every message is fully decoded with the one codec (`StreamMessage`, payload included) and
//! its `seq` is returned, so the caller can check order and count exactly.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http::uri::PathAndQuery;
use http::{HeaderValue, Method};
use http_body_util::BodyExt;
use rpcbench_proto::pb::{self, Payload, PublishAck, PublishRequest, StreamMessage, StreamRequest};
use rpcbench_proto::{Codec as _, Encoding, Shape};
use rpcbench_servers::{HttpVersion, ServerSettings, Stack, Variant};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::client::{Client, ClientError, Counted, PassThrough, WireCounters, connect_tcp};

/// How a stream is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Transport {
    /// gRPC server streaming (Subscribe) or bidirectional streaming (Chat), gRPC variants.
    Grpc,
    /// WebSocket over HTTP/1.1: text frames of JSON or binary frames of protobuf (the variant's
    /// encoding), REST HTTP/1.1 variants.
    Ws,
    /// Server-Sent Events, one JSON message per event (REST JSON variants; one-way).
    Sse,
    /// Newline-delimited JSON over a streamed HTTP response (REST JSON variants; one-way).
    Ndjson,
}

/// What a streaming load does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum StreamKind {
    /// 1:1 server streaming: the server sends numbered messages on a schedule.
    Feed,
    /// Bidirectional: the client sends numbered messages on a schedule, the server echoes each.
    Chat,
    /// 1:N: one publisher publishes into a room on a schedule, every subscriber receives each.
    Broadcast,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Ws => "ws",
            Transport::Sse => "sse",
            Transport::Ndjson => "ndjson",
        }
    }

    /// Whether a server of `variant` carries `kind` over this transport; why not otherwise.
    pub fn check(self, variant: Variant, kind: StreamKind) -> Result<(), String> {
        let ok = match self {
            Transport::Grpc => variant.stack() == Stack::Grpc,
            // WebSocket upgrades are HTTP/1.1 (RFC 6455); RFC 8441 over h2 is not served.
            Transport::Ws => variant.stack() == Stack::Rest && variant.http() == HttpVersion::Http1,
            Transport::Sse | Transport::Ndjson => {
                variant.stack() == Stack::Rest && variant.encoding().is_json() && kind != StreamKind::Chat
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{} {} is not available on {variant}: gRPC streams need a grpc-* variant, WebSocket a \
                 rest-*-h1 variant, SSE and NDJSON a rest-json-* variant and are one-way (no chat)",
                self.as_str(),
                kind.as_str()
            ))
        }
    }
}

impl StreamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Feed => "feed",
            StreamKind::Chat => "chat",
            StreamKind::Broadcast => "broadcast",
        }
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for StreamKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to open: a feed or room subscription, or a chat.
#[derive(Debug, Clone)]
pub enum Target {
    Subscribe(StreamRequest),
    Chat,
}

enum Inner {
    Grpc {
        rx: tonic::Streaming<Bytes>,
        tx: Option<mpsc::Sender<Bytes>>,
        /// Keeps the connection's handle alive while the stream is open.
        _client: Client,
    },
    Ws(Box<WebSocketStream<Counted>>),
    Http {
        body: hyper::body::Incoming,
        buf: BytesMut,
        sse: bool,
        /// Keeps the connection's handle alive while its body streams.
        _client: Client,
    },
}

/// One open stream of any transport.
pub struct MessageStream {
    inner: Inner,
    encoding: Encoding,
    max_body: usize,
    /// Why the server ended the stream, once it did.
    end: Option<String>,
}

impl std::fmt::Debug for MessageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStream")
            .field("encoding", &self.encoding)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

/// Query string of a feed or room request.
fn rest_path(target: &Target, transport: Transport, encoding: Encoding) -> String {
    let ws = if transport == Transport::Ws { "/ws" } else { "" };
    let enc = if transport == Transport::Ws {
        format!("&encoding={}", encoding.name())
    } else {
        String::new()
    };
    match target {
        Target::Subscribe(r) if r.room.is_empty() => {
            let shape = pb::Shape::try_from(r.shape)
                .ok()
                .and_then(|s| Shape::try_from(s).ok())
                .map_or("unspecified", Shape::name);
            format!(
                "/v1{ws}/feed/{shape}?size={}&seed={}&count={}&interval_ns={}{enc}",
                r.size, r.seed, r.count, r.interval_ns
            )
        }
        Target::Subscribe(r) => format!("/v1{ws}/rooms/{}?count={}{enc}", r.room, r.count),
        Target::Chat => format!("/v1{ws}/chat?{}", enc.trim_start_matches('&')),
    }
}

fn transport_err(e: impl std::fmt::Display) -> ClientError {
    ClientError::Transport(e.to_string())
}

impl MessageStream {
    /// Opens a stream. gRPC, SSE and NDJSON use `client` (an HTTP/2 or gRPC handle may carry
    /// many streams, see [`Client::stream`]); WebSocket opens its own HTTP/1.1 connection with
    /// the same socket settings. Returns once the server accepted the stream (response head or
    /// 101 received): a room subscriber is subscribed from then on.
    pub async fn open(
        variant: Variant,
        client: Option<Client>,
        addr: SocketAddr,
        settings: &ServerSettings,
        counters: Arc<WireCounters>,
        transport: Transport,
        target: &Target,
    ) -> Result<MessageStream, ClientError> {
        let kind = match target {
            Target::Chat => StreamKind::Chat,
            Target::Subscribe(r) if r.room.is_empty() => StreamKind::Feed,
            Target::Subscribe(_) => StreamKind::Broadcast,
        };
        transport.check(variant, kind).map_err(ClientError::Transport)?;
        let encoding = variant.encoding();
        let max_body = settings.max_body_bytes;
        // WebSocket opens its own connection; the others use the given one or a new one.
        let client = match client {
            Some(c) => Some(c),
            None if transport == Transport::Ws => None,
            None => Some(Client::connect(variant, addr, settings, Arc::clone(&counters)).await?),
        };
        let inner = match transport {
            Transport::Grpc => {
                let mut client = client.expect("connected above");
                let grpc = client.grpc().expect("checked: a gRPC variant");
                grpc.ready().await.map_err(transport_err)?;
                match target {
                    Target::Subscribe(req) => {
                        let body = Bytes::from(encoding.encode(req).map_err(transport_err)?);
                        let path = PathAndQuery::from_static("/rpcbench.v1.Bench/Subscribe");
                        let resp = grpc
                            .server_streaming(tonic::Request::new(body), path, PassThrough)
                            .await
                            .map_err(ClientError::from_status)?;
                        Inner::Grpc {
                            rx: resp.into_inner(),
                            tx: None,
                            _client: client,
                        }
                    }
                    Target::Chat => {
                        let (tx, rx) = mpsc::channel::<Bytes>(16);
                        let outbound = futures_util::stream::unfold(rx, |mut rx| async move {
                            rx.recv().await.map(|b| (b, rx))
                        });
                        let path = PathAndQuery::from_static("/rpcbench.v1.Bench/Chat");
                        let resp = grpc
                            .streaming(tonic::Request::new(outbound), path, PassThrough)
                            .await
                            .map_err(ClientError::from_status)?;
                        Inner::Grpc {
                            rx: resp.into_inner(),
                            tx: Some(tx),
                            _client: client,
                        }
                    }
                }
            }
            Transport::Ws => {
                let tcp = connect_tcp(variant, addr, settings, counters).await?;
                let url = format!("ws://{addr}{}", rest_path(target, transport, encoding));
                let config = WebSocketConfig::default()
                    .max_message_size(Some(max_body))
                    .max_frame_size(Some(max_body));
                let (ws, _resp) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
                    .await
                    .map_err(|e| match e {
                        tungstenite::Error::Http(resp) => ClientError::HttpStatus {
                            status: resp.status(),
                            body: resp
                                .body()
                                .as_ref()
                                .map(|b| String::from_utf8_lossy(&b[..b.len().min(512)]).into_owned())
                                .unwrap_or_default(),
                        },
                        other => transport_err(other),
                    })?;
                Inner::Ws(Box::new(ws))
            }
            Transport::Sse | Transport::Ndjson => {
                let Target::Subscribe(_) = target else {
                    unreachable!("checked: SSE and NDJSON are one-way");
                };
                let mut client = client.expect("connected above");
                let sse = transport == Transport::Sse;
                let accept = HeaderValue::from_static(if sse {
                    rpcbench_servers::rest_stream::SSE
                } else {
                    rpcbench_servers::rest_stream::NDJSON
                });
                let path = PathAndQuery::try_from(rest_path(target, transport, encoding))
                    .map_err(|e| ClientError::Transport(format!("bad stream path: {e}")))?;
                let req = client.build_request(Method::GET, path, Bytes::new(), accept, None);
                let resp = client.send_rest(req).await?;
                let status = resp.status();
                if !status.is_success() {
                    let body = resp
                        .into_body()
                        .collect()
                        .await
                        .map(|c| c.to_bytes())
                        .unwrap_or_default();
                    return Err(ClientError::HttpStatus {
                        status,
                        body: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
                    });
                }
                Inner::Http {
                    body: resp.into_body(),
                    buf: BytesMut::new(),
                    sse,
                    _client: client,
                }
            }
        };
        Ok(MessageStream {
            inner,
            // SSE and NDJSON carry the server's JSON level (they only run on JSON variants).
            encoding,
            max_body,
            end: None,
        })
    }

    /// Why the server ended the stream (close reason, status), once [`next`](Self::next)
    /// returned `None` or an error.
    pub fn end_reason(&self) -> Option<&str> {
        self.end.as_deref()
    }

    /// Sends one chat message.
    pub async fn send(&mut self, msg: &StreamMessage) -> Result<(), ClientError> {
        let bytes = self.encoding.encode(msg).map_err(transport_err)?;
        match &mut self.inner {
            Inner::Grpc { tx: Some(tx), .. } => tx
                .send(Bytes::from(bytes))
                .await
                .map_err(|_| ClientError::Transport("the chat stream is closed".into())),
            Inner::Ws(ws) => {
                let frame = if self.encoding.is_json() {
                    Message::Text(
                        String::from_utf8(bytes)
                            .map_err(|e| transport_err(format!("JSON is not UTF-8: {e}")))?
                            .into(),
                    )
                } else {
                    Message::Binary(bytes.into())
                };
                ws.send(frame).await.map_err(transport_err)
            }
            _ => Err(ClientError::Transport("this stream is one-way".into())),
        }
    }

    /// The next message, fully decoded; `None` when the server ended the stream cleanly
    /// (gRPC OK, WebSocket close 1000/1001, end of the HTTP body).
    pub async fn next(&mut self) -> Result<Option<StreamMessage>, ClientError> {
        let encoding = self.encoding;
        let decode = |b: &[u8]| {
            encoding
                .decode::<StreamMessage>(b)
                .map(Some)
                .map_err(|e| ClientError::Decode(e.to_string()))
        };
        match &mut self.inner {
            Inner::Grpc { rx, .. } => match rx.message().await {
                Ok(Some(bytes)) => decode(&bytes),
                Ok(None) => {
                    self.end = Some("grpc status OK".into());
                    Ok(None)
                }
                Err(status) => {
                    self.end = Some(format!("grpc status {:?}: {}", status.code(), status.message()));
                    Err(ClientError::from_status(status))
                }
            },
            Inner::Ws(ws) => loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => return decode(t.as_bytes()),
                    Some(Ok(Message::Binary(b))) => return decode(&b),
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame.map_or((CloseCode::Status, String::new()), |f| {
                            (f.code, f.reason.as_str().to_owned())
                        });
                        self.end = Some(format!("websocket close {} {reason}", u16::from(code)));
                        return match code {
                            CloseCode::Normal | CloseCode::Away => Ok(None),
                            _ => Err(ClientError::Transport(format!(
                                "websocket closed with {}: {reason}",
                                u16::from(code)
                            ))),
                        };
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(transport_err(e)),
                    None => {
                        self.end = Some("connection closed without a close frame".into());
                        return Err(ClientError::Transport(
                            "websocket ended without a close frame".into(),
                        ));
                    }
                }
            },
            Inner::Http { body, buf, sse, .. } => loop {
                let delim: &[u8] = if *sse { b"\n\n" } else { b"\n" };
                if let Some(pos) = buf.windows(delim.len()).position(|w| w == delim) {
                    let chunk = buf.split_to(pos + delim.len()).freeze();
                    let chunk = &chunk[..pos];
                    if *sse {
                        let (event, data) = parse_sse(chunk);
                        if event.as_deref() == Some("error") {
                            self.end = Some(format!("sse error event: {data}"));
                            return Err(ClientError::Transport(format!("stream error: {data}")));
                        }
                        if data.is_empty() {
                            continue;
                        }
                        return decode(data.as_bytes());
                    }
                    if chunk.starts_with(b"{\"error\":") {
                        let text = String::from_utf8_lossy(chunk).into_owned();
                        self.end = Some(format!("ndjson error line: {text}"));
                        return Err(ClientError::Transport(format!("stream error: {text}")));
                    }
                    return decode(chunk);
                }
                if buf.len() > self.max_body + 1024 {
                    return Err(ClientError::Transport(format!(
                        "a streamed message is over the limit of {} bytes",
                        self.max_body
                    )));
                }
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(mut data) = frame.into_data() {
                            while data.has_remaining() {
                                let c = data.chunk();
                                buf.extend_from_slice(c);
                                let n = c.len();
                                data.advance(n);
                            }
                        }
                    }
                    Some(Err(e)) => return Err(transport_err(format!("reading the stream: {e}"))),
                    None => {
                        self.end = Some("end of body".into());
                        return if buf.iter().all(u8::is_ascii_whitespace) {
                            Ok(None)
                        } else {
                            Err(ClientError::Transport("the stream ended inside a message".into()))
                        };
                    }
                }
            },
        }
    }

    /// Cancels the stream from the client side: WebSocket sends a close frame; gRPC and HTTP
    /// streams are reset by dropping them.
    pub async fn cancel(mut self) {
        if let Inner::Ws(ws) = &mut self.inner {
            let _ = ws.send(Message::Close(None)).await;
        }
    }
}

/// One SSE event block: its `event:` type and its `data:` lines joined by `\n`.
fn parse_sse(block: &[u8]) -> (Option<String>, String) {
    let text = String::from_utf8_lossy(block);
    let mut event = None;
    let mut data = String::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            _ => {}
        }
    }
    (event, data)
}

/// The broadcast publisher: Publish (gRPC) or `POST /v1/rooms/{room}/messages` (REST) on the
/// variant's own connection and encoding.
pub struct Publisher {
    client: Client,
    room: String,
    payload: Payload,
    path: PathAndQuery,
    /// Every publish must reach this many subscribers (checked on the acknowledgement).
    pub expected_subscribers: u64,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("room", &self.room)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    pub fn new(
        client: Client,
        room: &str,
        payload: Payload,
        expected_subscribers: u64,
    ) -> Result<Publisher, ClientError> {
        let path = match client.variant().stack() {
            Stack::Grpc => PathAndQuery::from_static("/rpcbench.v1.Bench/Publish"),
            Stack::Rest => PathAndQuery::try_from(format!("/v1/rooms/{room}/messages"))
                .map_err(|e| ClientError::Transport(format!("bad room name {room:?}: {e}")))?,
        };
        Ok(Publisher {
            client,
            room: room.to_owned(),
            payload,
            path,
            expected_subscribers,
        })
    }

    /// Publishes message `seq`; returns the number of subscribers the server queued it for.
    pub async fn publish(&mut self, seq: u64) -> Result<u64, ClientError> {
        let encoding = self.client.variant().encoding();
        let message = StreamMessage {
            seq,
            payload: Some(self.payload.clone()),
            sent_ns: 0,
        };
        let enc_err = |e: rpcbench_proto::CodecError| ClientError::Transport(e.to_string());
        let reply: Bytes = if let Some(grpc) = self.client.grpc() {
            let req = PublishRequest {
                room: self.room.clone(),
                message: Some(message),
            };
            let body = Bytes::from(encoding.encode(&req).map_err(enc_err)?);
            grpc.ready().await.map_err(transport_err)?;
            grpc.unary(tonic::Request::new(body), self.path.clone(), PassThrough)
                .await
                .map_err(ClientError::from_status)?
                .into_inner()
        } else {
            let body = Bytes::from(encoding.encode(&message).map_err(enc_err)?);
            let media = HeaderValue::from_static(encoding.media_type());
            let req =
                self.client
                    .build_request(Method::POST, self.path.clone(), body, media.clone(), Some(media));
            let resp = self.client.send_rest(req).await?;
            self.client.read_rest_body(resp).await?
        };
        let ack: PublishAck = encoding
            .decode(&reply)
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok(ack.subscribers)
    }
}

/// A feed request: `count` messages of `(shape, size, seed)`, one every `interval_ns`.
pub fn feed_request(shape: Shape, size: u64, seed: u64, count: u64, interval_ns: u64) -> StreamRequest {
    StreamRequest {
        shape: pb::Shape::from(shape) as i32,
        size,
        seed,
        count,
        interval_ns,
        room: String::new(),
    }
}

/// A room subscription that ends after `count` messages (0: never).
pub fn room_request(room: &str, count: u64) -> StreamRequest {
    StreamRequest {
        room: room.to_owned(),
        count,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_blocks_parse() {
        let (event, data) = parse_sse(b"id: 3\ndata: {\"seq\":\"3\"}");
        assert_eq!((event, data.as_str()), (None, "{\"seq\":\"3\"}"));
        let (event, data) = parse_sse(b"event: error\r\ndata: a\r\ndata: b");
        assert_eq!((event.as_deref(), data.as_str()), (Some("error"), "a\nb"));
    }

    #[test]
    fn transports_match_variants() {
        use StreamKind::*;
        assert!(Transport::Grpc.check(Variant::GrpcProtoH2, Chat).is_ok());
        assert!(Transport::Grpc.check(Variant::RestJsonH1, Feed).is_err());
        assert!(Transport::Ws.check(Variant::RestProtoH1, Chat).is_ok());
        assert!(Transport::Ws.check(Variant::RestJsonH2, Feed).is_err());
        assert!(Transport::Sse.check(Variant::RestJsonH1, Broadcast).is_ok());
        assert!(Transport::Sse.check(Variant::RestJsonH1, Chat).is_err());
        assert!(Transport::Ndjson.check(Variant::RestProtoH1, Feed).is_err());
    }
}
