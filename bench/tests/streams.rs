//! Every streaming variant (gRPC streams on both gRPC variants, WebSocket JSON and protobuf,
//! SSE and NDJSON over HTTP/1.1 and h2c), booted as a real `rpcbench serve` process on port 0 and
//! driven through the real streaming client: exact message counts in order with the right
//! content, clean ends on client cancel and on server shutdown, and a slow broadcast subscriber
//! that cannot grow the server's memory.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rpcbench::client::{Client, WireCounters, health_check};
use rpcbench::server_process::ServerProcess;
use rpcbench::stream_client::{
    MessageStream, Publisher, StreamKind, Target, Transport, feed_request, room_request,
};
use rpcbench_proto::Shape;
use rpcbench_proto::pb::{Payload, StreamMessage};
use rpcbench_servers::{ServerSettings, Variant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_rpcbench"))
}

/// Every (server variant, transport) pair that carries streams.
const STREAMING: [(Variant, Transport); 8] = [
    (Variant::GrpcProtoH2, Transport::Grpc),
    (Variant::GrpcJsonH2, Transport::Grpc),
    (Variant::RestJsonH1, Transport::Ws),
    (Variant::RestProtoH1, Transport::Ws),
    (Variant::RestJsonH1, Transport::Sse),
    (Variant::RestJsonH2, Transport::Sse),
    (Variant::RestJsonH1, Transport::Ndjson),
    (Variant::RestJsonH2, Transport::Ndjson),
];

/// A bound on every wait in these tests (a hang is a failure, not a stuck CI job).
const WAIT: Duration = Duration::from_secs(20);

async fn start(variant: Variant) -> ServerProcess {
    let server = ServerProcess::start(exe(), variant, &[]).unwrap();
    health_check(variant, server.addr(), &ServerSettings::default())
        .await
        .unwrap();
    server
}

async fn open(variant: Variant, addr: SocketAddr, transport: Transport, target: &Target) -> MessageStream {
    let settings = ServerSettings::default();
    let counters = Arc::new(WireCounters::default());
    tokio::time::timeout(
        WAIT,
        MessageStream::open(variant, None, addr, &settings, counters, transport, target),
    )
    .await
    .unwrap_or_else(|_| panic!("{transport}/{variant}: opening timed out"))
    .unwrap_or_else(|e| panic!("{transport}/{variant}: {e}"))
}

async fn next(s: &mut MessageStream, what: &str) -> Option<StreamMessage> {
    tokio::time::timeout(WAIT, s.next())
        .await
        .unwrap_or_else(|_| panic!("{what}: no message within {WAIT:?}"))
        .unwrap_or_else(|e| panic!("{what}: {e} (end: {:?})", s.end_reason()))
}

async fn publisher(
    variant: Variant,
    addr: SocketAddr,
    room: &str,
    payload: Payload,
    subscribers: u64,
) -> Publisher {
    let client = Client::connect(
        variant,
        addr,
        &ServerSettings::default(),
        Arc::new(WireCounters::default()),
    )
    .await
    .unwrap();
    Publisher::new(client, room, payload, subscribers).unwrap()
}

/// Publishes until `want` subscribers are registered (a subscription is registered before the
/// server answers, so this converges at once; the bound only guards against a bug).
async fn subscribers_now(p: &mut Publisher, want: u64) -> u64 {
    let deadline = Instant::now() + WAIT;
    loop {
        // seq u64::MAX marks a probe; subscribers skip it.
        let n = p.publish(u64::MAX).await.unwrap();
        if n == want || Instant::now() > deadline {
            return n;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_streaming_variant_delivers_exact_counts_in_order() {
    let feed_payload = rpcbench_proto::generate(Shape::Metrics, 4096, 5).unwrap();
    let chat_payload = rpcbench_proto::generate(Shape::Nested, 2048, 6).unwrap();
    for (variant, transport) in STREAMING {
        let what = format!("{transport}/{variant}");
        let server = start(variant).await;
        let addr = server.addr();

        // Feed: back to back, then paced (1 ms apart).
        for (count, interval_ns) in [(100u64, 0u64), (20, 1_000_000)] {
            let target = Target::Subscribe(feed_request(Shape::Metrics, 4096, 5, count, interval_ns));
            let mut s = open(variant, addr, transport, &target).await;
            for seq in 0..count {
                let m = next(&mut s, &what)
                    .await
                    .unwrap_or_else(|| panic!("{what}: ended after {seq} of {count}"));
                assert_eq!(m.seq, seq, "{what}: feed out of order");
                assert_eq!(
                    m.payload.as_ref(),
                    Some(&feed_payload),
                    "{what}: feed payload {seq}"
                );
                assert!(
                    m.sent_ns >= seq * interval_ns,
                    "{what}: message {seq} left before it was due"
                );
            }
            assert!(
                next(&mut s, &what).await.is_none(),
                "{what}: more than {count} messages"
            );
        }

        // Chat: every message echoed once, in order.
        if transport.check(variant, StreamKind::Chat).is_ok() {
            let mut s = open(variant, addr, transport, &Target::Chat).await;
            for seq in 0..50u64 {
                let msg = StreamMessage {
                    seq,
                    payload: Some(chat_payload.clone()),
                    sent_ns: 0,
                };
                s.send(&msg).await.unwrap();
                let echo = next(&mut s, &what).await.expect("an echo");
                assert_eq!(echo, msg, "{what}: chat echo {seq}");
            }
            s.cancel().await;
        }

        // Broadcast: 3 subscribers, 30 messages, each subscriber gets all 30 in order.
        let room = format!("room-{}", transport.as_str());
        let mut subs = Vec::new();
        for _ in 0..3 {
            subs.push(
                open(
                    variant,
                    addr,
                    transport,
                    &Target::Subscribe(room_request(&room, 0)),
                )
                .await,
            );
        }
        let mut p = publisher(variant, addr, &room, chat_payload.clone(), 3).await;
        assert_eq!(
            subscribers_now(&mut p, 3).await,
            3,
            "{what}: subscribers registered"
        );
        for seq in 0..30u64 {
            assert_eq!(p.publish(seq).await.unwrap(), 3, "{what}: publish {seq}");
        }
        for (i, s) in subs.iter_mut().enumerate() {
            let mut got = Vec::new();
            while got.len() < 30 {
                let m = next(s, &what).await.expect("a broadcast message");
                if m.seq == u64::MAX {
                    continue;
                }
                assert_eq!(m.payload.as_ref(), Some(&chat_payload));
                got.push(m.seq);
            }
            assert_eq!(got, (0..30).collect::<Vec<_>>(), "{what}: subscriber {i}");
        }
        drop(subs);
        drop(server);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_close_cleanly_on_client_cancel() {
    for (variant, transport) in STREAMING {
        let what = format!("{transport}/{variant}");
        let server = start(variant).await;
        let addr = server.addr();
        let room = "cancel";
        let mut sub = open(
            variant,
            addr,
            transport,
            &Target::Subscribe(room_request(room, 0)),
        )
        .await;
        let mut p = publisher(variant, addr, room, Payload::default(), 1).await;
        assert_eq!(subscribers_now(&mut p, 1).await, 1, "{what}");
        assert_eq!(next(&mut sub, &what).await.map(|m| m.seq), Some(u64::MAX));
        // A long feed cancelled mid-way.
        let mut feed = open(
            variant,
            addr,
            transport,
            &Target::Subscribe(feed_request(Shape::Small, 256, 1, 1_000_000, 1_000_000)),
        )
        .await;
        assert_eq!(next(&mut feed, &what).await.map(|m| m.seq), Some(0));
        feed.cancel().await;
        sub.cancel().await;
        // The server notices and drops the subscription: the room empties.
        assert_eq!(
            subscribers_now(&mut p, 0).await,
            0,
            "{what}: subscription kept after cancel"
        );
        // And it still serves.
        let mut again = open(
            variant,
            addr,
            transport,
            &Target::Subscribe(feed_request(Shape::Small, 256, 1, 3, 0)),
        )
        .await;
        for seq in 0..3 {
            assert_eq!(next(&mut again, &what).await.map(|m| m.seq), Some(seq));
        }
        drop(server);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_end_cleanly_on_server_shutdown() {
    for (variant, transport) in STREAMING {
        let what = format!("{transport}/{variant}");
        let mut server = start(variant).await;
        let addr = server.addr();
        let mut streams = vec![
            open(variant, addr, transport, &Target::Subscribe(room_request("r", 0))).await,
            open(
                variant,
                addr,
                transport,
                &Target::Subscribe(feed_request(Shape::Small, 256, 1, 1_000_000, 10_000_000)),
            )
            .await,
        ];
        if transport.check(variant, StreamKind::Chat).is_ok() {
            streams.push(open(variant, addr, transport, &Target::Chat).await);
        }
        assert_eq!(next(&mut streams[1], &what).await.map(|m| m.seq), Some(0));
        server.signal(Signal::SIGTERM).unwrap();
        for s in &mut streams {
            // Feed messages due before the signal may still arrive; then a clean end.
            while let Some(m) = next(s, &what).await {
                assert!(m.seq < 1_000, "{what}: the feed went on after shutdown");
            }
        }
        let status = server.stop();
        assert!(
            status.contains("exit status: 0"),
            "{what}: server exited with {status}"
        );
    }
}

/// A subscriber that stops reading while 96 MiB are published into its room: the server's
/// memory stays bounded (the room keeps 256 messages), and once the subscriber reads again it is
/// told it lagged and is disconnected — and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_subscriber_does_not_grow_server_memory() {
    let variant = Variant::RestJsonH1;
    let server = start(variant).await;
    let addr = server.addr();
    let pid = server.pid().unwrap();
    let rss = || rpcbench::procfs::peak_rss(pid).unwrap();

    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        format!("GET /v1/rooms/slow HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let payload = rpcbench_proto::generate(Shape::Blob, 16 * 1024, 1).unwrap();
    let mut p = publisher(variant, addr, "slow", payload, 1).await;
    assert_eq!(subscribers_now(&mut p, 1).await, 1);
    let before = rss();
    let messages = 6 * 1024u64; // 6144 × 16 KiB = 96 MiB published
    for seq in 0..messages {
        p.publish(seq).await.unwrap();
    }
    let grown = rss().saturating_sub(before);
    eprintln!(
        "96 MiB published to a stalled subscriber: server peak RSS grew {} KiB",
        grown >> 10
    );
    assert!(
        grown < 48 << 20,
        "server peak RSS grew by {} MiB while 96 MiB went to a stalled subscriber",
        grown >> 20
    );

    // The subscriber reads again: what was in flight, then an error event that ends the stream.
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    let mut buf = vec![0u8; 1 << 16];
    while !String::from_utf8_lossy(&seen[seen.len().saturating_sub(4096)..]).contains("event: error") {
        let n = tokio::time::timeout_at(deadline.into(), slow.read(&mut buf))
            .await
            .expect("the lagging subscriber is told it lagged")
            .unwrap();
        assert!(n > 0, "connection closed without an error event");
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen[seen.len().saturating_sub(4096)..]).into_owned();
    assert!(text.contains("fell"), "the error event does not say why: {text}");
    let stats: serde_json::Value = {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(
            format!("GET /v1/streams/stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).await.unwrap();
        serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap()
    };
    assert_eq!(stats["lagged_disconnects"], 1, "{stats}");
    assert!(stats["lagged_messages"].as_u64().unwrap() > 0, "{stats}");
    drop(server);
}

/// `rpcbench load --stream ...` against `server`, writing `json`.
fn stream_load(
    server: &ServerProcess,
    kind: &str,
    transport: &str,
    extra: &[&str],
    json: &Path,
) -> std::process::Output {
    let target = format!("http://{}", server.addr());
    let pid = server.pid().unwrap().to_string();
    std::process::Command::new(exe())
        .args(["load", "--variant", server.variant().name(), "--target", &target])
        .args(["--stream", kind, "--transport", transport, "--server-pid", &pid])
        .args(extra)
        .arg("--json")
        .arg(json)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// The tests that freeze a server (SIGSTOP) run one at a time: each needs its load to catch up
/// after the freeze, which two at once on a loaded 2-core machine may not.
static FREEZES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Coordinated omission per message: a server frozen for a second in the middle of a feed, a
/// chat and a broadcast. The corrected per-message p99 shows the stall; the service time (from
/// when each message actually left) does not, and every message still arrives exactly once.
#[test]
fn stalled_server_shows_in_corrected_per_message_latency() {
    let _one_at_a_time = FREEZES.lock().unwrap_or_else(|p| p.into_inner());
    let cases = [
        (Variant::GrpcProtoH2, "feed", "grpc", "1"),
        (Variant::RestJsonH1, "feed", "sse", "1"),
        (Variant::RestProtoH1, "chat", "ws", "1"),
        (Variant::RestJsonH1, "broadcast", "ndjson", "3"),
    ];
    for (variant, kind, transport, streams) in cases {
        let what = format!("{kind}/{transport}/{variant}");
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("stall.json");
        let server = ServerProcess::start(exe(), variant, &[]).unwrap();
        let extra = [
            "--streams",
            streams,
            "--rate",
            "200",
            "--duration",
            "4s",
            "--warmup",
            "0s",
            "--timeout",
            "10s",
        ];
        let out = std::thread::scope(|scope| {
            let load = scope.spawn(|| stream_load(&server, kind, transport, &extra, &json));
            std::thread::sleep(Duration::from_secs(1));
            server.signal(Signal::SIGSTOP).unwrap();
            let stalled = Instant::now();
            std::thread::sleep(Duration::from_secs(1));
            server.signal(Signal::SIGCONT).unwrap();
            let frozen_for = stalled.elapsed();
            (load.join().unwrap(), frozen_for)
        });
        let (out, frozen_for) = out;
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: rpcbench_reports::LoadReport = rpcbench_reports::read_json(&json).unwrap();
        let s = &report.summary;
        assert_eq!(
            s.errors.values().sum::<u64>(),
            0,
            "{what}: {:?}, missed {:?}, stream {:?}",
            s.error_statuses,
            s.missed_slots,
            s.stream
        );
        let subscribers: u64 = streams.parse().unwrap();
        // 4 s at 200 messages/s, to every subscriber, each exactly once (order is checked): every
        // slot is received or counted as missed. The server caught up within the window, so at
        // most the last few slots are missed (on a loaded machine the broadcast publisher can
        // release its final slot after the window's end; its subscribers then count it as missed
        // rather than waiting a timeout for it).
        let missed = s.missed_slots.expect("missed slots are counted");
        assert_eq!(s.ok + missed, 800 * subscribers, "{what}: received + missed");
        assert!(missed <= 8 * subscribers, "{what}: {missed} slots missed");
        // 800 messages: below the 1,000 a displayed p99 needs, so the stored value is read.
        let p99 = &rpcbench_reports::Percentile::P99;
        let corrected_p99 = s.latency_corrected.as_ref().unwrap().percentiles_ns[p99];
        let service_p99 = s.latency_service.percentiles_ns[p99];
        assert!(
            corrected_p99 as f64 >= 0.5 * frozen_for.as_nanos() as f64,
            "{what}: corrected p99 {corrected_p99} ns does not show a {frozen_for:?} stall"
        );
        // The service time (from when each message actually left) does not contain the stall.
        assert!(
            (service_p99 as f64) < 0.5 * frozen_for.as_nanos() as f64 && service_p99 < corrected_p99,
            "{what}: service p99 {service_p99} ns vs corrected {corrected_p99} ns"
        );
        let stream = s.stream.as_ref().expect("a stream section");
        assert_eq!(
            (stream.kind.as_str(), stream.transport.as_str()),
            (kind, transport)
        );
        assert!(
            stream.server_cpu_ns_per_message.is_some(),
            "{what}: server CPU per message"
        );
        if kind == "broadcast" {
            let published = stream.published.expect("the publisher's count");
            assert!((792..=800).contains(&published), "{what}: published {published}");
            assert_eq!(
                s.ok,
                published * subscribers,
                "{what}: every published message delivered"
            );
            assert!(stream.slowest_subscriber.is_some());
        }
    }
}

/// A stream receiver's missed slots, like the unary open loop's: a server frozen from the middle
/// of a feed's window until after the load ended. The receiver's wait times out (one error) and
/// every message due later in the window is counted as missed, never silently absent:
/// received + failed + missed = the messages the window was due.
#[test]
fn a_feed_frozen_to_the_end_counts_its_missed_messages() {
    let _one_at_a_time = FREEZES.lock().unwrap_or_else(|p| p.into_inner());
    let cases = [(Variant::GrpcProtoH2, "grpc"), (Variant::RestJsonH1, "sse")];
    for (variant, transport) in cases {
        let what = format!("feed/{transport}/{variant}");
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("frozen.json");
        let server = ServerProcess::start(exe(), variant, &[]).unwrap();
        let extra = [
            "--streams",
            "1",
            "--rate",
            "100",
            "--duration",
            "3s",
            "--warmup",
            "0s",
            "--timeout",
            "1s",
        ];
        let out = std::thread::scope(|scope| {
            let load = scope.spawn(|| stream_load(&server, "feed", transport, &extra, &json));
            // The stream is requested (so the load connected), then 1.5 s into the window.
            common::wait_for_bytes_received(&server, 1, Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(1500));
            server.signal(Signal::SIGSTOP).unwrap();
            // Frozen until the load ended (window 3 s + timeout 1 s after it started), bounded
            // so a load stuck connecting cannot hold the test.
            let frozen = Instant::now();
            while !load.is_finished() && frozen.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(50));
            }
            server.signal(Signal::SIGCONT).unwrap();
            load.join().unwrap()
        });
        let report: rpcbench_reports::LoadReport = rpcbench_reports::read_json(&json)
            .unwrap_or_else(|e| panic!("{what}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        let s = &report.summary;
        let failed: u64 = s.errors.values().sum();
        let missed = s.missed_slots.expect("an open-loop stream counts missed slots");
        println!("{what}: ok {}, failed {failed}, missed {missed}", s.ok);
        // 3 s at 100 messages/s are due (one more or less at the window's edges).
        let accounted = s.ok + failed + missed;
        assert!((299..=301).contains(&accounted), "{what}: {accounted}: {s:?}");
        // Frozen for at least the window's last second (1.5 s in, on a loaded machine later or
        // earlier): a good part of the window never arrived.
        assert!(missed >= 50, "{what}: missed {missed}: {s:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("missed"), "{what}");
    }
}
