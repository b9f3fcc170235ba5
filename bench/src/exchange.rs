//! What one slot of the load loop's schedule does, for every kind of load: a unary call, a chat
//! message and its echo, the next message of a feed or room subscription, or a broadcast publish.
//! The loop ([`crate::load`]) is the same for all of them; this enum is its protocol parameter
//! (hyper's `enum Client { Http1, Http2 }` pattern).
//!
//! Streams carry a sequence number per message; slot `n` of a stream is message `seq = n`, so
//! every message is matched to its intended time (its slot on the schedule) and its latency is
//! corrected for coordinated omission exactly like a unary request's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rpcbench_proto::pb::{Payload, StreamMessage};

use crate::client::{Call, Client, ClientError};
use crate::stream_client::{MessageStream, Publisher};

/// Publish times of the last this-many broadcast messages are kept for the subscribers.
const PUBLISH_TIMES: usize = 1 << 16;

/// When each broadcast message actually left the publisher (ns after the schedule's origin), so
/// a subscriber can separate publisher lag from delivery time.
#[derive(Debug)]
pub struct PublishTimes {
    origin: Instant,
    ns: Vec<AtomicU64>,
    /// Messages the publisher has sent so far (it publishes in order, one at a time).
    published: AtomicU64,
    /// The publisher has stopped: no message from `published` on will ever be sent.
    finished: AtomicBool,
    finished_notify: tokio::sync::Notify,
}

impl PublishTimes {
    pub fn new(origin: Instant) -> Self {
        PublishTimes {
            origin,
            ns: (0..PUBLISH_TIMES).map(|_| AtomicU64::new(0)).collect(),
            published: AtomicU64::new(0),
            finished: AtomicBool::new(false),
            finished_notify: tokio::sync::Notify::new(),
        }
    }

    /// The publisher has stopped (its window ended, or it failed): subscribers waiting for a
    /// message it never sent stop waiting, and their load counts that slot as missed instead of
    /// timing out on it.
    pub fn finish(&self) {
        self.finished.store(true, Ordering::Release);
        self.finished_notify.notify_waiters();
    }

    /// Resolves once it is certain message `seq` will never be published; pending otherwise.
    pub async fn never_published(&self, seq: u64) {
        loop {
            let notified = self.finished_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.finished.load(Ordering::Acquire) && seq >= self.published.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    fn record(&self, seq: u64, at: Instant) {
        let ns = u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX);
        self.ns[seq as usize % PUBLISH_TIMES].store(ns, Ordering::Release);
        self.published.fetch_max(seq + 1, Ordering::AcqRel);
    }

    fn get(&self, seq: u64) -> Instant {
        self.origin + Duration::from_nanos(self.ns[seq as usize % PUBLISH_TIMES].load(Ordering::Acquire))
    }
}

/// Where a received message's "sent" instant comes from.
#[derive(Debug)]
pub enum SentClock {
    /// Feed: the server says when it wrote the message (`sent_ns`, after it accepted the
    /// request); `origin` is when the client sent that request, so the instant is late by the
    /// request's one-way delay (a constant per stream).
    Server { origin: Instant },
    /// Broadcast: when the publisher sent the message.
    Publisher(Arc<PublishTimes>),
}

/// A worker's client, by role.
pub enum Worker {
    /// One unary call per slot.
    Unary(Client),
    /// Chat: sends message `seq = slot`, then waits for its echo.
    Chat { stream: MessageStream, payload: Payload },
    /// Feed or room subscriber: waits for message `seq = slot`, which the server (feed) or
    /// the publisher (broadcast) sends on the schedule.
    Receive {
        stream: MessageStream,
        expected: Arc<Payload>,
        clock: SentClock,
    },
    /// Broadcast publisher: publishes message `seq = slot`.
    Publish {
        publisher: Publisher,
        times: Arc<PublishTimes>,
    },
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Worker::Unary(_) => "Worker::Unary",
            Worker::Chat { .. } => "Worker::Chat",
            Worker::Receive { .. } => "Worker::Receive",
            Worker::Publish { .. } => "Worker::Publish",
        })
    }
}

/// A completed exchange: when its request or message actually left, and whether its content
/// was checked.
#[derive(Debug, Clone, Copy)]
pub struct Exchanged {
    pub sent: Instant,
    pub checked: bool,
}

impl Worker {
    /// Whether the loop waits for the slot's intended time before the exchange (the client
    /// sends on the schedule). Receivers do not: the server or the publisher keeps the schedule,
    /// and they take each message as it arrives.
    pub fn paced(&self) -> bool {
        !matches!(self, Worker::Receive { .. })
    }

    /// A broadcast subscriber's view of the publisher (to stop waiting for what it never sent).
    pub fn publish_times(&self) -> Option<Arc<PublishTimes>> {
        match self {
            Worker::Receive {
                clock: SentClock::Publisher(times),
                ..
            }
            | Worker::Publish { times, .. } => Some(Arc::clone(times)),
            _ => None,
        }
    }

    /// Whether a failed exchange can be retried on a new connection (unary only; a broken
    /// stream ends its worker).
    pub fn reconnects(&self) -> bool {
        matches!(self, Worker::Unary(_))
    }

    /// Performs slot `slot`; checks the content when `check` (sequence numbers always).
    pub async fn exchange(&mut self, call: &Call, slot: u64, check: bool) -> Result<Exchanged, ClientError> {
        match self {
            Worker::Unary(client) => {
                let sent = Instant::now();
                let reply = client.call(call).await?;
                if check {
                    call.check(&reply)?;
                }
                Ok(Exchanged { sent, checked: check })
            }
            Worker::Chat { stream, payload } => {
                let msg = StreamMessage {
                    seq: slot,
                    payload: Some(payload.clone()),
                    sent_ns: 0,
                };
                let sent = Instant::now();
                stream.send(&msg).await?;
                let echo = next_in_order(stream, slot).await?;
                if check && echo.payload != msg.payload {
                    return Err(ClientError::WrongAnswer(format!(
                        "chat echo {slot} differs from the message sent"
                    )));
                }
                Ok(Exchanged { sent, checked: check })
            }
            Worker::Receive {
                stream,
                expected,
                clock,
            } => {
                let msg = next_in_order(stream, slot).await?;
                if check && msg.payload.as_ref() != Some(expected.as_ref()) {
                    return Err(ClientError::WrongAnswer(format!(
                        "message {slot} carries a different payload"
                    )));
                }
                let sent = match clock {
                    SentClock::Server { origin } => *origin + Duration::from_nanos(msg.sent_ns),
                    SentClock::Publisher(times) => times.get(slot),
                };
                Ok(Exchanged { sent, checked: check })
            }
            Worker::Publish { publisher, times } => {
                let sent = Instant::now();
                times.record(slot, sent);
                let subscribers = publisher.publish(slot).await?;
                if subscribers != publisher.expected_subscribers {
                    return Err(ClientError::WrongAnswer(format!(
                        "message {slot} reached {subscribers} subscribers, expected {}",
                        publisher.expected_subscribers
                    )));
                }
                Ok(Exchanged { sent, checked: true })
            }
        }
    }
}

/// The next message, which must be number `seq`.
async fn next_in_order(stream: &mut MessageStream, seq: u64) -> Result<StreamMessage, ClientError> {
    match stream.next().await? {
        Some(m) if m.seq == seq => Ok(m),
        Some(m) => Err(ClientError::WrongAnswer(format!(
            "expected message {seq}, received {} (lost or reordered)",
            m.seq
        ))),
        None => Err(ClientError::Transport(format!(
            "the server ended the stream before message {seq} ({})",
            stream.end_reason().unwrap_or("no reason given")
        ))),
    }
}
