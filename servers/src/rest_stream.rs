//! The REST side of the streaming RPCs, over the same [`ServiceCore`] streams as gRPC:
//! Server-Sent Events and NDJSON (chosen by `Accept`) for feeds and rooms, WebSocket (text
//! frames of JSON or binary frames of protobuf) for feeds, rooms and chat, and a plain POST to
//! publish.
//!
//! | gRPC | SSE / NDJSON | WebSocket |
//! |------|--------------|-----------|
//! | `Subscribe` (feed) | `GET /v1/feed/{shape}?size&seed&count&interval_ns` | `GET /v1/ws/feed/{shape}?…&encoding=` |
//! | `Subscribe` (room) | `GET /v1/rooms/{room}?count` | `GET /v1/ws/rooms/{room}?count&encoding=` |
//! | `Chat` | — (one-way protocols) | `GET /v1/ws/chat` (echo; text → JSON, binary → protobuf) |
//! | `Publish` | `POST /v1/rooms/{room}/messages` | (the same POST) |
//!
//! permessage-deflate is never negotiated (tungstenite does not implement it), so WebSocket
//! frames are as uncompressed as gRPC messages and HTTP bodies.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rpcbench_proto::catalogue;
use rpcbench_proto::pb::{self, PublishAck, StreamMessage, StreamRequest};
use rpcbench_proto::{Codec as _, Encoding, SharedMessage};
use serde::Deserialize;

use crate::core::{CoreError, ServiceCore};
use crate::rest::{ApiError, AppState, decode_body, encoded, response_encoding};
use crate::stream::MessageStream;

/// Media type of Server-Sent Events.
pub const SSE: &str = "text/event-stream";
/// Media type of newline-delimited JSON.
pub const NDJSON: &str = "application/x-ndjson";

/// The streaming routes, merged into the REST router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/feed/{shape}", get(feed))
        .route("/v1/rooms/{room}", get(room))
        .route("/v1/rooms/{room}/messages", post(publish))
        .route("/v1/streams/stats", get(stats))
        .route("/v1/ws/feed/{shape}", get(ws_feed))
        .route("/v1/ws/rooms/{room}", get(ws_room))
        .route("/v1/ws/chat", get(ws_chat))
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    size: u64,
    #[serde(default)]
    seed: u64,
    count: u64,
    #[serde(default)]
    interval_ns: u64,
    encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RoomQuery {
    #[serde(default)]
    count: u64,
    encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChatQuery {
    encoding: Option<String>,
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::BadRequest(format!("bad query: {}", e.body_text())))
}

fn feed_request(shape: &str, q: &FeedQuery) -> Result<StreamRequest, ApiError> {
    let shape = catalogue::parse_shape(shape).map_err(CoreError::from)?;
    Ok(StreamRequest {
        shape: pb::Shape::from(shape) as i32,
        size: q.size,
        seed: q.seed,
        count: q.count,
        interval_ns: q.interval_ns,
        room: String::new(),
    })
}

/// The one-way streaming formats of plain HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PushFormat {
    Sse,
    Ndjson,
}

/// `text/event-stream` (also the default) or `application/x-ndjson`, from `Accept`.
fn push_format(headers: &HeaderMap) -> Result<PushFormat, ApiError> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(PushFormat::Sse);
    };
    let accept = accept
        .to_str()
        .map_err(|_| ApiError::NotAcceptable("<non-ASCII>".into()))?;
    for item in accept.split(',') {
        let media = item.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case(SSE) || media == "*/*" {
            return Ok(PushFormat::Sse);
        }
        if media.eq_ignore_ascii_case(NDJSON) {
            return Ok(PushFormat::Ndjson);
        }
    }
    Err(ApiError::NotAcceptable(format!(
        "{accept} (streams are {SSE} or {NDJSON})"
    )))
}

/// One problem document (RFC 9457) for an error in the middle of a stream.
fn stream_problem(detail: &str) -> String {
    serde_json::json!({"type": "about:blank", "title": "Stream ended", "detail": detail}).to_string()
}

/// Serves `stream` as SSE (one `data:` JSON event per message, `id:` = seq, a final `error`
/// event if the stream fails) or NDJSON (one JSON line per message, a final `{"error": …}` line
/// if it fails).
/// Messages are written in the server's JSON level (`json_level`).
fn push(stream: MessageStream, format: PushFormat, json_level: Encoding) -> Response {
    let json = move |m: &SharedMessage| {
        json_level
            .encode(m)
            .map_err(|e| format!("message cannot be sent as JSON: {e}"))
    };
    match format {
        PushFormat::Sse => {
            let events = stream
                .scan(false, move |failed, item| {
                    if *failed {
                        return std::future::ready(None);
                    }
                    let event = match item
                        .map_err(|e| e.to_string())
                        .and_then(|m| json(&m).map(|j| (m.seq, j)))
                    {
                        Ok((seq, j)) => Event::default()
                            .id(seq.to_string())
                            .data(String::from_utf8_lossy(&j)),
                        Err(e) => {
                            *failed = true;
                            Event::default().event("error").data(stream_problem(&e))
                        }
                    };
                    std::future::ready(Some(Ok::<_, Infallible>(event)))
                })
                .boxed();
            Sse::new(events).into_response()
        }
        PushFormat::Ndjson => {
            let lines = stream.scan(false, move |failed, item| {
                if *failed {
                    return std::future::ready(None);
                }
                let line = match item.map_err(|e| e.to_string()).and_then(|m| json(&m)) {
                    Ok(mut j) => {
                        j.push(b'\n');
                        j
                    }
                    Err(e) => {
                        *failed = true;
                        format!("{{\"error\":{}}}\n", stream_problem(&e)).into_bytes()
                    }
                };
                std::future::ready(Some(Ok::<_, Infallible>(Bytes::from(line))))
            });
            let mut resp = Response::new(Body::from_stream(lines));
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
            resp
        }
    }
}

async fn feed(
    State(state): State<AppState>,
    Path(shape): Path<String>,
    q: Result<Query<FeedQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let format = push_format(&headers)?;
    let stream = state.core.feed(&feed_request(&shape, &q)?)?;
    Ok(push(stream, format, state.json))
}

async fn room(
    State(state): State<AppState>,
    Path(room): Path<String>,
    q: Result<Query<RoomQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let format = push_format(&headers)?;
    // Joined before the response head goes out: once a client sees the head, it is subscribed.
    let stream = state.core.join_room(&room, q.count)?;
    Ok(push(stream, format, state.json))
}

async fn publish(
    State(state): State<AppState>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (msg, req_enc): (StreamMessage, _) = decode_body(&state, &headers, body).await?;
    let enc = response_encoding(&state, &headers, req_enc)?;
    let ack: PublishAck = state.core.publish(&room, msg)?;
    encoded(&state, enc, &ack)
}

async fn stats(State(state): State<AppState>) -> Response {
    axum::Json(state.core.stream_stats()).into_response()
}

/// The frame encoding of a WebSocket: the server's JSON level (text frames, the default) or
/// `protobuf` (binary). Naming another JSON level than the server's is refused, as for bodies
/// the server — not the client — picks the JSON library.
fn ws_encoding(state: &AppState, q: Option<&str>) -> Result<Encoding, ApiError> {
    let enc = match q {
        None => return Ok(state.json),
        Some(name) => name
            .parse::<Encoding>()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
    };
    if enc.is_json() && enc != state.json {
        return Err(ApiError::BadRequest(format!(
            "this server's JSON is {}, not {enc}",
            state.json
        )));
    }
    Ok(enc)
}

/// Frame limits: the body limit applies to WebSocket messages as to every other body.
fn ws_upgrade(ws: WebSocketUpgrade, state: &AppState) -> WebSocketUpgrade {
    ws.max_message_size(state.max_body).max_frame_size(state.max_body)
}

fn ws_frame<M: rpcbench_proto::Wire>(enc: Encoding, m: &M) -> Result<Message, rpcbench_proto::CodecError> {
    let bytes = enc.encode(m)?;
    Ok(match enc {
        // Every JSON level writes valid UTF-8 (checked, not assumed).
        enc if enc.is_json() => match String::from_utf8(bytes) {
            Ok(text) => Message::Text(text.into()),
            Err(e) => Message::Binary(e.into_bytes().into()),
        },
        _ => Message::Binary(bytes.into()),
    })
}

fn close(code: u16, reason: &str) -> Message {
    // A close reason is at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}

async fn ws_feed(
    State(state): State<AppState>,
    Path(shape): Path<String>,
    q: Result<Query<FeedQuery>, QueryRejection>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let enc = ws_encoding(&state, q.encoding.as_deref())?;
    let req = feed_request(&shape, &q)?;
    let core = Arc::clone(&state.core);
    // Validated before the upgrade (a bad request is a 400, not a closed socket); the feed's
    // clock starts when the socket is open.
    drop(core.feed(&req)?);
    Ok(ws_upgrade(ws, &state).on_upgrade(move |socket| async move {
        match core.feed(&req) {
            Ok(stream) => ws_push(socket, stream, enc, core).await,
            Err(e) => drop(socket_close(socket, close_code::POLICY, &e.to_string()).await),
        }
    }))
}

async fn ws_room(
    State(state): State<AppState>,
    Path(room): Path<String>,
    q: Result<Query<RoomQuery>, QueryRejection>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let enc = ws_encoding(&state, q.encoding.as_deref())?;
    // Joined before the 101 goes out: once the client sees the upgrade, it is subscribed.
    let stream = state.core.join_room(&room, q.count)?;
    let core = Arc::clone(&state.core);
    Ok(ws_upgrade(ws, &state).on_upgrade(move |socket| ws_push(socket, stream, enc, core)))
}

async fn socket_close(mut socket: WebSocket, code: u16, reason: &str) -> Result<(), axum::Error> {
    socket.send(close(code, reason)).await
}

/// Sends `stream` over the socket, one frame per message; ends with close 1000 when the stream
/// is complete, 1001 when the server shuts down, 1008 when the subscriber lagged, and quietly
/// when the client goes away.
async fn ws_push(socket: WebSocket, mut stream: MessageStream, enc: Encoding, core: Arc<ServiceCore>) {
    let _session = core.track_session();
    let (mut tx, mut rx) = socket.split();
    loop {
        tokio::select! {
            item = stream.next() => {
                let frame = match item {
                    Some(Ok(m)) => match ws_frame(enc, &m) {
                        Ok(frame) => frame,
                        Err(e) => close(close_code::ERROR, &e.to_string()),
                    },
                    Some(Err(e)) => close(close_code::POLICY, &e.to_string()),
                    None if core.is_shutting_down() => close(close_code::AWAY, "server shutting down"),
                    None => close(close_code::NORMAL, "stream complete"),
                };
                let last = matches!(frame, Message::Close(_));
                if tx.send(frame).await.is_err() || last {
                    return;
                }
            }
            incoming = rx.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn ws_chat(
    State(state): State<AppState>,
    q: Result<Query<ChatQuery>, QueryRejection>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // Each frame says its own encoding (text: the server's JSON level, binary: protobuf); `encoding` is accepted
    // for symmetry with the other routes and checked.
    ws_encoding(&state, query(q)?.encoding.as_deref())?;
    let core = Arc::clone(&state.core);
    let json_level = state.json;
    Ok(ws_upgrade(ws, &state).on_upgrade(move |socket| ws_echo(socket, core, json_level)))
}

/// Echoes every message, in the frame type it came in, until the client closes or the server
/// shuts down (close 1001); a frame that does not decode closes with 1007.
async fn ws_echo(mut socket: WebSocket, core: Arc<ServiceCore>, json_level: Encoding) {
    let _session = core.track_session();
    let down = core.shutting_down();
    tokio::pin!(down);
    loop {
        let incoming = tokio::select! {
            () = &mut down => {
                let _ = socket.send(close(close_code::AWAY, "server shutting down")).await;
                return;
            }
            incoming = socket.recv() => incoming,
        };
        let (enc, bytes): (Encoding, Bytes) = match incoming {
            Some(Ok(Message::Text(t))) => (json_level, Bytes::from(t)),
            Some(Ok(Message::Binary(b))) => (Encoding::Protobuf, b),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
            Some(Ok(_)) => continue,
        };
        let reply = enc
            .decode::<StreamMessage>(&bytes)
            .map_err(|e| (close_code::INVALID, e.to_string()))
            .and_then(|m| ws_frame(enc, &core.chat(m)).map_err(|e| (close_code::ERROR, e.to_string())));
        match reply {
            Ok(frame) => {
                if socket.send(frame).await.is_err() {
                    return;
                }
            }
            Err((code, reason)) => {
                let _ = socket.send(close(code, &reason)).await;
                return;
            }
        }
    }
}
