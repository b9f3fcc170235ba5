//! Single-call round trips: one sequential unary call at a time over loopback, against an
//! in-process server of each variant, through the client an application would use (the
//! `idiomatic` client level: reqwest for REST, tonic's generated client for gRPC), one pooled
//! connection. This is what an application pays per call without load, request encoding
//! included. Ids: `rtt/<variant>/<rpc>/<shape>/<size>`.
//!
//! The server runs on its own multi-thread runtime (one worker), the client on a current-thread
//! runtime, identically for every variant. Every reply is checked against the expected answer
//! (outside the timed part; dropping the reply is timed, as an application pays for it).
//! `RPCBENCH_QUICK=1` cuts the measurement time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rpcbench::client::{Call, ConnectOptions, WireCounters};
use rpcbench::client_idiomatic::IdiomaticClient;
use rpcbench_model::{BenchId, Rpc, Shape, Size};
use rpcbench_servers::{Server, ServerSettings, Variant};

/// (rpc, shape, size): a small payload for every RPC, and a large one where sizes matter.
const CASES: [(Rpc, Shape, u64); 6] = [
    (Rpc::Echo, Shape::Small, 256),
    (Rpc::Fetch, Shape::Small, 256),
    (Rpc::Upload, Shape::Small, 256),
    (Rpc::Echo, Shape::Logs, 256 * 1024),
    (Rpc::Fetch, Shape::Logs, 256 * 1024),
    (Rpc::Upload, Shape::Logs, 256 * 1024),
];

fn quick() -> bool {
    rpcbench::codec_matrix::Mode::from_env() == rpcbench::codec_matrix::Mode::Quick
}

fn roundtrip(c: &mut Criterion) {
    let settings = ServerSettings::default();
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for variant in Variant::ALL {
        // One in-process server per variant, bound to port 0, stopped when the variant is done.
        let server = server_rt
            .block_on(Server::bind(variant, "127.0.0.1:0".parse().unwrap(), &settings))
            .expect("bind an in-process server");
        let addr = server.local_addr();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let serving = server_rt.spawn(server.serve(async move {
            let _ = stop_rx.await;
        }));
        let mut client = client_rt
            .block_on(IdiomaticClient::connect(
                variant,
                addr,
                &settings,
                &ConnectOptions::default(),
                1,
                Arc::new(WireCounters::default()),
            ))
            .expect("connect");
        for (rpc, shape, size) in CASES {
            let call = Call::new(variant, rpc, shape, size, 1).expect("catalogue payload");
            // Check the answer once before timing.
            let reply = client_rt.block_on(client.call(&call)).expect("first call");
            call.check(&reply)
                .unwrap_or_else(|e| panic!("{variant} {rpc:?}: {e}"));
            let id = BenchId::RoundTrip {
                variant,
                rpc,
                shape,
                size: Size(size),
            };
            let mut group = c.benchmark_group(id.group());
            group.throughput(Throughput::Bytes(size));
            if quick() {
                group
                    .warm_up_time(Duration::from_millis(200))
                    .measurement_time(Duration::from_millis(600));
            } else {
                group
                    .warm_up_time(Duration::from_secs(1))
                    .measurement_time(Duration::from_secs(3));
            }
            group.sample_size(if quick() { 20 } else { 50 });
            let client = &mut client;
            let call = &call;
            group.bench_function(BenchmarkId::from_parameter(id.size()), |b| {
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let reply = client_rt.block_on(client.call(call)).expect("call");
                        timed += start.elapsed();
                        call.check(&reply)
                            .unwrap_or_else(|e| panic!("{variant} {rpc:?}: {e}"));
                        let start = Instant::now();
                        drop(std::hint::black_box(reply));
                        timed += start.elapsed();
                    }
                    timed
                })
            });
            group.finish();
        }
        let _ = stop_tx.send(());
        let _ = server_rt.block_on(serving);
    }
}

criterion_group!(benches, roundtrip);
criterion_main!(benches);
