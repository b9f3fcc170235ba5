//! The streaming half of the service core: feeds, chat echo and 1:N broadcast rooms, written
//! once for the gRPC, WebSocket, SSE and NDJSON adapters.
//!
//! Every stream is a pull-based [`MessageStream`]: an adapter asks for the next message only when
//! its transport can take it (hyper polls a body, tonic polls a response stream, the WebSocket
//! loop awaits its previous send), so no adapter queues messages of its own.
//!
//! Backpressure of broadcast rooms — the stated policy: a room keeps the last
//! [`ROOM_BUFFER`] published messages in one ring shared by all its subscribers (a tokio
//! broadcast channel; each slot holds an `Arc` of the message, not a copy per subscriber). A
//! subscriber that falls more than that many messages behind is disconnected with a
//! [`StreamError::Lagged`] the next time its transport asks for a message, and counted in
//! [`StreamStats`]. Publishing never waits for a subscriber, and memory per room is bounded by
//! `ROOM_BUFFER` messages whatever the subscribers do.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::Stream;
use rpcbench_proto::pb::{PublishAck, Shape, StreamMessage, StreamRequest};
use rpcbench_proto::{SharedMessage, SharedPayload};
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::core::{CoreError, ServiceCore};

/// Messages a broadcast room keeps for its slowest subscriber before disconnecting it.
pub const ROOM_BUFFER: usize = 256;
/// Broadcast rooms open at once (a room is removed once it has no subscribers).
pub const MAX_ROOMS: usize = 1024;
/// Largest feed (messages per stream).
pub const MAX_FEED_COUNT: u64 = 100_000_000;
/// Longest interval between feed messages.
pub const MAX_FEED_INTERVAL: Duration = Duration::from_secs(60);
/// Longest room name.
pub const MAX_ROOM_NAME: usize = 64;

/// A stream of messages for one subscriber, ended by the server on completion or shutdown.
pub type MessageStream = Pin<Box<dyn Stream<Item = Result<SharedMessage, StreamError>> + Send>>;

/// Why a stream ended early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error(
        "subscriber of room {room:?} fell {missed} messages behind (the room keeps {ROOM_BUFFER}); disconnected"
    )]
    Lagged { room: String, missed: u64 },
}

/// A streaming request the core refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamRequestError {
    #[error("a feed needs count > 0 (at most {MAX_FEED_COUNT})")]
    FeedCount,
    #[error("count {0} is over the limit of {MAX_FEED_COUNT}")]
    CountOverLimit(u64),
    #[error("interval_ns {0} is over the limit of {MAX_FEED_INTERVAL:?}")]
    IntervalOverLimit(u64),
    #[error("room name {0:?} must be 1..{MAX_ROOM_NAME} characters of [A-Za-z0-9_-]")]
    RoomName(String),
    #[error("too many broadcast rooms open (limit {MAX_ROOMS})")]
    TooManyRooms,
    #[error("a published message needs a payload")]
    NoPayload,
}

/// Broadcast counters since the server started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamStats {
    /// Messages published into a room.
    pub published: u64,
    /// Copies queued for subscribers (each publish counts its room's subscribers).
    pub queued: u64,
    /// Subscribers disconnected because they fell more than `ROOM_BUFFER` messages behind.
    pub lagged_disconnects: u64,
    /// Messages those subscribers missed.
    pub lagged_messages: u64,
    /// Rooms open now.
    pub rooms: u64,
}

/// Keeps an upgraded session counted while it lives.
#[derive(Debug)]
pub struct SessionGuard(Arc<Streams>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.sessions.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streams")
    }
}

/// Rooms and the shutdown signal of one core.
pub(crate) struct Streams {
    rooms: Mutex<HashMap<String, broadcast::Sender<SharedMessage>>>,
    shutdown_tx: watch::Sender<bool>,
    /// Open upgraded (WebSocket) sessions, which hyper's graceful shutdown does not track.
    sessions: watch::Sender<usize>,
    published: AtomicU64,
    queued: AtomicU64,
    lagged_disconnects: AtomicU64,
    lagged_messages: AtomicU64,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
            rooms: Mutex::new(HashMap::new()),
            shutdown_tx: watch::channel(false).0,
            sessions: watch::channel(0).0,
            published: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            lagged_disconnects: AtomicU64::new(0),
            lagged_messages: AtomicU64::new(0),
        }
    }
}

fn valid_room(room: &str) -> Result<(), StreamRequestError> {
    let ok = !room.is_empty()
        && room.len() <= MAX_ROOM_NAME
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(StreamRequestError::RoomName(
            room.chars().take(MAX_ROOM_NAME + 1).collect(),
        ))
    }
}

/// Resolves when the core starts shutting down (at once if it already has).
async fn shut_down(mut rx: watch::Receiver<bool>) {
    // An error means the core is gone, which is a shutdown too.
    let _ = rx.wait_for(|down| *down).await;
}

impl ServiceCore {
    /// Subscribe: a feed when `req.room` is empty, else a subscription to that room.
    pub fn subscribe(&self, req: &StreamRequest) -> Result<MessageStream, CoreError> {
        if req.room.is_empty() {
            self.feed(req)
        } else {
            self.join_room(&req.room, req.count)
        }
    }

    /// A feed of `req.count` copies of a catalogue payload, message `seq` due `seq *
    /// req.interval_ns` after this call. The server's tokio timer has millisecond granularity,
    /// so a paced message leaves up to ~1 ms after its due time; the message says when it
    /// actually left (`sent_ns`), so clients can tell pacing lag from delivery time.
    pub fn feed(&self, req: &StreamRequest) -> Result<MessageStream, CoreError> {
        let start = Instant::now();
        if req.count == 0 {
            return Err(StreamRequestError::FeedCount.into());
        }
        if req.count > MAX_FEED_COUNT {
            return Err(StreamRequestError::CountOverLimit(req.count).into());
        }
        if req.interval_ns > MAX_FEED_INTERVAL.as_nanos() as u64 {
            return Err(StreamRequestError::IntervalOverLimit(req.interval_ns).into());
        }
        let shape = Shape::try_from(req.shape)
            .map_err(|_| rpcbench_proto::CatalogueError::UnknownShape(format!("number {}", req.shape)))?;
        let shape = rpcbench_proto::Shape::try_from(shape)?;
        let payload = SharedPayload(self.fetch(shape, req.size, req.seed)?);
        let count = req.count;
        let interval = req.interval_ns;
        let down = self.streams.shutdown_tx.subscribe();
        let stream = futures_util::stream::unfold(0u64, move |seq| {
            let payload = payload.clone();
            let down = down.clone();
            async move {
                if seq >= count || *down.borrow() {
                    return None;
                }
                if interval > 0 {
                    let due = start + Duration::from_nanos(interval.saturating_mul(seq));
                    tokio::select! {
                        biased;
                        () = shut_down(down) => return None,
                        () = tokio::time::sleep_until(due) => {}
                    }
                }
                let msg = SharedMessage {
                    seq,
                    payload: Some(payload),
                    sent_ns: u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX),
                };
                Some((Ok(msg), seq + 1))
            }
        });
        Ok(Box::pin(stream))
    }

    /// Joins a broadcast room: every message published from now on, until `count` were
    /// delivered (0: no limit), the subscriber lags (then a final error), or shutdown.
    pub fn join_room(&self, room: &str, count: u64) -> Result<MessageStream, CoreError> {
        valid_room(room)?;
        let rx = {
            let mut rooms = self.rooms();
            if !rooms.contains_key(room) && rooms.len() >= MAX_ROOMS {
                rooms.retain(|_, tx| tx.receiver_count() > 0);
                if rooms.len() >= MAX_ROOMS {
                    return Err(StreamRequestError::TooManyRooms.into());
                }
            }
            rooms
                .entry(room.to_owned())
                .or_insert_with(|| broadcast::channel(ROOM_BUFFER).0)
                .subscribe()
        };
        struct State {
            rx: broadcast::Receiver<SharedMessage>,
            delivered: u64,
            done: bool,
        }
        let room = room.to_owned();
        let core = Arc::clone(&self.streams);
        let down = self.streams.shutdown_tx.subscribe();
        let state = State {
            rx,
            delivered: 0,
            done: false,
        };
        let stream = futures_util::stream::unfold(state, move |mut st| {
            let down = down.clone();
            let room = room.clone();
            let core = Arc::clone(&core);
            async move {
                if st.done || (count > 0 && st.delivered >= count) || *down.borrow() {
                    return None;
                }
                let next = tokio::select! {
                    biased;
                    () = shut_down(down) => return None,
                    next = st.rx.recv() => next,
                };
                match next {
                    Ok(msg) => {
                        st.delivered += 1;
                        Some((Ok(msg), st))
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        core.lagged_disconnects.fetch_add(1, Ordering::Relaxed);
                        core.lagged_messages.fetch_add(missed, Ordering::Relaxed);
                        st.done = true;
                        Some((Err(StreamError::Lagged { room, missed }), st))
                    }
                    Err(broadcast::error::RecvError::Closed) => None,
                }
            }
        });
        Ok(Box::pin(stream))
    }

    /// Publish: queues `msg` for every current subscriber of `room` without waiting for any.
    pub fn publish(&self, room: &str, msg: StreamMessage) -> Result<PublishAck, CoreError> {
        valid_room(room)?;
        if msg.payload.is_none() {
            return Err(StreamRequestError::NoPayload.into());
        }
        let msg = SharedMessage::from(msg);
        let mut rooms = self.rooms();
        // A room without subscribers has nobody to deliver to; it is not created by a publish.
        let subscribers = match rooms.get(room) {
            Some(tx) => tx.send(msg).unwrap_or(0) as u64,
            None => 0,
        };
        if subscribers == 0 {
            rooms.remove(room);
        }
        drop(rooms);
        self.streams.published.fetch_add(1, Ordering::Relaxed);
        self.streams.queued.fetch_add(subscribers, Ordering::Relaxed);
        Ok(PublishAck { subscribers })
    }

    /// Chat: every message is echoed unchanged.
    pub fn chat(&self, msg: StreamMessage) -> StreamMessage {
        msg
    }

    /// Ends every open stream (feeds, rooms, chats) so that connections can drain.
    pub fn shutdown(&self) {
        self.streams.shutdown_tx.send_replace(true);
    }

    /// Resolves once [`ServiceCore::shutdown`] was called.
    pub fn shutting_down(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        shut_down(self.streams.shutdown_tx.subscribe())
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.streams.shutdown_tx.borrow()
    }

    /// Registers an upgraded session (a WebSocket) until the guard is dropped, so that shutdown
    /// can wait for its close frame to go out.
    pub fn track_session(&self) -> SessionGuard {
        self.streams.sessions.send_modify(|n| *n += 1);
        SessionGuard(Arc::clone(&self.streams))
    }

    /// Resolves once no upgraded session is open.
    pub async fn sessions_closed(&self) {
        let mut rx = self.streams.sessions.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Broadcast counters since the server started.
    pub fn stream_stats(&self) -> StreamStats {
        let s = &self.streams;
        StreamStats {
            published: s.published.load(Ordering::Relaxed),
            queued: s.queued.load(Ordering::Relaxed),
            lagged_disconnects: s.lagged_disconnects.load(Ordering::Relaxed),
            lagged_messages: s.lagged_messages.load(Ordering::Relaxed),
            rooms: self.rooms().len() as u64,
        }
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<SharedMessage>>> {
        // The map holds no invariant a panicking holder could break half-way.
        self.streams.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use rpcbench_proto::pb::Payload;

    use super::*;

    fn feed_req(count: u64, interval_ns: u64) -> StreamRequest {
        StreamRequest {
            shape: Shape::Small as i32,
            size: 256,
            seed: 1,
            count,
            interval_ns,
            room: String::new(),
        }
    }

    fn msg(seq: u64) -> StreamMessage {
        StreamMessage {
            seq,
            payload: Some(Payload::default()),
            sent_ns: 0,
        }
    }

    #[tokio::test]
    async fn feed_sends_exactly_count_numbered_messages_on_schedule() {
        let core = ServiceCore::new(1 << 20);
        let msgs: Vec<_> = core.feed(&feed_req(20, 1_000_000)).unwrap().collect().await;
        assert_eq!(msgs.len(), 20);
        for (i, m) in msgs.iter().enumerate() {
            let m = m.as_ref().unwrap();
            assert_eq!(m.seq, i as u64);
            assert!(
                m.sent_ns >= i as u64 * 1_000_000,
                "message {i} left before it was due"
            );
            assert!(m.payload.is_some());
        }
    }

    #[tokio::test]
    async fn feed_requests_are_validated() {
        let core = ServiceCore::new(1 << 20);
        assert!(core.feed(&feed_req(0, 0)).is_err());
        assert!(core.feed(&feed_req(MAX_FEED_COUNT + 1, 0)).is_err());
        assert!(core.feed(&feed_req(1, u64::MAX)).is_err());
        let mut bad = feed_req(1, 0);
        bad.shape = 99;
        assert!(core.feed(&bad).is_err());
        assert!(core.join_room("no spaces", 0).is_err());
        assert!(core.join_room(&"x".repeat(MAX_ROOM_NAME + 1), 0).is_err());
        assert!(core.publish("r", StreamMessage::default()).is_err());
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_message_then_the_room_is_removed() {
        let core = ServiceCore::new(1 << 20);
        let subs: Vec<_> = (0..5).map(|_| core.join_room("r", 10).unwrap()).collect();
        for seq in 0..10 {
            assert_eq!(core.publish("r", msg(seq)).unwrap().subscribers, 5);
        }
        for s in subs {
            let seqs: Vec<u64> = s.map(|m| m.unwrap().seq).collect().await;
            assert_eq!(seqs, (0..10).collect::<Vec<_>>());
        }
        assert_eq!(core.publish("r", msg(11)).unwrap().subscribers, 0);
        let stats = core.stream_stats();
        assert_eq!((stats.published, stats.queued, stats.rooms), (11, 50, 0));
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_disconnected_and_counted() {
        let core = ServiceCore::new(1 << 20);
        let mut slow = core.join_room("r", 0).unwrap();
        let extra = 10;
        for seq in 0..(ROOM_BUFFER as u64 + extra) {
            core.publish("r", msg(seq)).unwrap();
        }
        match slow.next().await {
            Some(Err(StreamError::Lagged { missed, .. })) => assert_eq!(missed, extra),
            other => panic!("expected a lag error, got {other:?}"),
        }
        assert!(slow.next().await.is_none());
        let stats = core.stream_stats();
        assert_eq!((stats.lagged_disconnects, stats.lagged_messages), (1, extra));
    }

    #[tokio::test]
    async fn shutdown_ends_every_stream() {
        let core = ServiceCore::new(1 << 20);
        let mut room = core.join_room("r", 0).unwrap();
        let mut feed = core.feed(&feed_req(1000, 1_000_000_000)).unwrap();
        assert_eq!(feed.next().await.unwrap().unwrap().seq, 0);
        core.shutdown();
        assert!(room.next().await.is_none());
        assert!(feed.next().await.is_none());
        assert!(core.join_room("r", 0).unwrap().next().await.is_none());
    }
}
