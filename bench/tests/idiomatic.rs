//! The idiomatic client level (reqwest for REST, tonic's generated client for gRPC) against real
//! servers on 127.0.0.1 port 0: the same answers, counts and digests as the lean client on every
//! variant, and an error status counted by its code.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use rpcbench::client::{Call, Client, ConnectOptions, Reply, WireCounters, health_check};
use rpcbench::client_idiomatic::IdiomaticClient;
use rpcbench_model::{Rpc, Shape};
use rpcbench_servers::{Server, ServerSettings, Stack, Variant};

/// A server of `variant` on 127.0.0.1 port 0, ready (its health check answered); it runs until
/// the test's runtime is dropped.
async fn serve(variant: Variant, settings: &ServerSettings) -> SocketAddr {
    let server = Server::bind(variant, "127.0.0.1:0".parse().unwrap(), settings)
        .await
        .unwrap_or_else(|e| panic!("{variant}: {e}"));
    let addr = server.local_addr();
    tokio::spawn(server.serve(std::future::pending()));
    health_check(variant, addr, settings)
        .await
        .unwrap_or_else(|e| panic!("{variant} not ready: {e}"));
    addr
}

fn digest(reply: &Reply) -> u64 {
    match reply {
        Reply::Payload(p) => rpcbench_proto::summarize(p).digest,
        Reply::Summary(s) => s.digest,
    }
}

const CASES: [(Shape, u64); 4] = [
    (Shape::Small, 256),
    (Shape::Nested, 16 * 1024),
    (Shape::Mesh, 64 * 1024),
    (Shape::Blob, 100_000),
];
/// Calls per (rpc, shape, size): more than one, so pooled connections are reused.
const REPEATS: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idiomatic_answers_equal_the_lean_clients_on_every_variant() {
    let settings = ServerSettings::default();
    for variant in Variant::ALL {
        let addr = serve(variant, &settings).await;
        let counters = Arc::new(WireCounters::default());
        let mut lean = Client::connect(variant, addr, &settings, Arc::clone(&counters))
            .await
            .unwrap();
        let mut idiomatic =
            IdiomaticClient::connect(variant, addr, &settings, &ConnectOptions::default(), 2, counters)
                .await
                .unwrap_or_else(|e| panic!("{variant}: {e}"));
        let mut lean_digests = BTreeMap::new();
        let mut idiomatic_digests = BTreeMap::new();
        let (mut lean_ok, mut idiomatic_ok) = (0u64, 0u64);
        for (shape, size) in CASES {
            for rpc in Rpc::ALL {
                let call = Call::new(variant, rpc, shape, size, 7).unwrap();
                let what = format!("{variant} {rpc:?} {shape:?} {size}");
                for _ in 0..REPEATS {
                    let reply = lean
                        .call(&call)
                        .await
                        .unwrap_or_else(|e| panic!("lean {what}: {e}"));
                    call.check(&reply).unwrap_or_else(|e| panic!("lean {what}: {e}"));
                    lean_digests.insert(what.clone(), digest(&reply));
                    lean_ok += 1;
                    let reply = idiomatic
                        .call(&call)
                        .await
                        .unwrap_or_else(|e| panic!("idiomatic {what}: {e}"));
                    call.check(&reply)
                        .unwrap_or_else(|e| panic!("idiomatic {what}: {e}"));
                    idiomatic_digests.insert(what.clone(), digest(&reply));
                    idiomatic_ok += 1;
                }
            }
        }
        let planned = (CASES.len() * Rpc::ALL.len()) as u64 * REPEATS;
        assert_eq!((lean_ok, idiomatic_ok), (planned, planned), "{variant}");
        assert_eq!(lean_digests, idiomatic_digests, "{variant}");
        assert_eq!(lean_digests.len(), CASES.len() * Rpc::ALL.len(), "{variant}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_status_is_counted_by_its_code_and_the_pool_recovers() {
    // The server refuses bodies over 4 KiB; the client's own limit is the default.
    let server_settings = ServerSettings {
        max_body_bytes: 4096,
        ..ServerSettings::default()
    };
    let settings = ServerSettings::default();
    for variant in Variant::ALL.into_iter().filter(|v| v.stack() == Stack::Rest) {
        let addr = serve(variant, &server_settings).await;
        let mut client = IdiomaticClient::connect(
            variant,
            addr,
            &settings,
            &ConnectOptions::default(),
            1,
            Arc::new(WireCounters::default()),
        )
        .await
        .unwrap();
        let too_big = Call::new(variant, Rpc::Upload, Shape::Logs, 64 * 1024, 3).unwrap();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for _ in 0..4 {
            let e = client
                .call(&too_big)
                .await
                .expect_err("a body over the server's limit is refused");
            *errors.entry(e.status_key().to_string()).or_default() += 1;
        }
        assert_eq!(
            errors,
            BTreeMap::from([("http_status:413".to_owned(), 4)]),
            "{variant}"
        );
        let small = Call::new(variant, Rpc::Echo, Shape::Small, 256, 3).unwrap();
        let reply = client
            .call(&small)
            .await
            .unwrap_or_else(|e| panic!("{variant}: {e}"));
        small.check(&reply).unwrap();
    }
}
