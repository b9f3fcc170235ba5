//! Hostile peers (issue 17): a server closes what it must, counts why, and keeps serving.
//! Every wait is bounded; no test asserts a timing beyond "closed, well within a generous bound".

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rpcbench_servers::{Closures, ServerSettings, Variant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Upper bound on any wait in these tests (a loaded 2-core CI machine).
const BOUND: Duration = Duration::from_secs(60);

async fn start(variant: Variant, settings: ServerSettings) -> (SocketAddr, Arc<Closures>) {
    common::serve(variant, &settings).await
}

/// A good HTTP/1.1 request on a new connection answers 200.
async fn healthy_h1(addr: SocketAddr) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(BOUND, s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(
        buf.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
}

/// Reads until the peer closes; returns what it sent.
async fn until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    tokio::time::timeout(BOUND, s.read_to_end(&mut buf))
        .await
        .expect("the server did not close the connection")
        .ok();
    buf
}

#[tokio::test]
async fn slowloris_partial_header_is_closed_and_counted() {
    let settings = ServerSettings {
        header_read_timeout_ms: 300,
        ..ServerSettings::default()
    };
    let (addr, closures) = start(Variant::RestJsonH1, settings).await;
    let mut conns = Vec::new();
    for _ in 0..5 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
            .await
            .unwrap();
        conns.push(s);
    }
    healthy_h1(addr).await;
    for s in &mut conns {
        until_closed(s).await;
    }
    assert_eq!(closures.counts().header_timeout, 5, "{:?}", closures.counts());
    healthy_h1(addr).await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused_and_counted() {
    let settings = ServerSettings {
        max_connections: 2.try_into().unwrap(),
        ..ServerSettings::default()
    };
    let (addr, closures) = start(Variant::RestJsonH1, settings).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // A complete request answered proves the server accepted (and counts) this connection.
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 12];
        tokio::time::timeout(BOUND, s.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
        held.push(s);
    }
    let mut refused = TcpStream::connect(addr).await.unwrap();
    let _ = refused
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    let answer = until_closed(&mut refused).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    assert_eq!(closures.counts().connection_limit, 1);
    drop(held);
    // The permits come back as the held connections end.
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        if until_closed(&mut s).await.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the limit was never released"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn unanswered_h2_ping_closes_the_connection() {
    let settings = ServerSettings {
        h2_keepalive_interval_ms: 200,
        h2_keepalive_timeout_ms: 200,
        ..ServerSettings::default()
    };
    let (addr, closures) = start(Variant::GrpcProtoH2, settings).await;
    // A client that sends the preface and SETTINGS, then never reads: its PONG never comes.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    until_closed(&mut s).await;
    assert_eq!(closures.counts().keepalive_timeout, 1, "{:?}", closures.counts());
}
