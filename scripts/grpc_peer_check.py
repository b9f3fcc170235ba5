#!/usr/bin/env python3
"""Calls a running rpcbench gRPC server with the reference gRPC stack (grpcio, C core) and stubs
generated from proto/rpcbench/v1/bench.proto exactly as published: proof that a standard client
interoperates. Usage: grpc_peer_check.py HOST:PORT [--root-cert CA.pem] [--gzip]
With --root-cert the channel is TLS, trusting only that root (a run's tls/ca.pem); with --gzip
every call is sent gzip-compressed (grpc-encoding: gzip)."""
import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--root-cert")
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()
    target = args.target
    out = tempfile.mkdtemp(prefix="rpcbench-stubs-")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT}/proto", f"--python_out={out}",
         f"--grpc_python_out={out}", "rpcbench/v1/bench.proto"],
        check=True,
    )
    sys.path.insert(0, out)
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from rpcbench.v1 import bench_pb2, bench_pb2_grpc

    compression = grpc.Compression.Gzip if args.gzip else grpc.Compression.NoCompression
    if args.root_cert:
        with open(args.root_cert, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        channel = grpc.secure_channel(target, creds, compression=compression)
    else:
        channel = grpc.insecure_channel(target, compression=compression)
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="rpcbench.v1.Bench"))
    assert health.status == health_pb2.HealthCheckResponse.SERVING, health
    stub = bench_pb2_grpc.BenchStub(channel)
    fetched = stub.Fetch(bench_pb2.FetchRequest(shape=bench_pb2.SHAPE_LOGS, size=4096, seed=7))
    assert len(fetched.logs.entries) > 10, fetched
    echoed = stub.Echo(fetched)
    assert echoed == fetched, "echo differs"
    summary = stub.Upload(fetched)
    assert summary.shape == bench_pb2.SHAPE_LOGS and summary.records == len(fetched.logs.entries), summary
    try:
        stub.Fetch(bench_pb2.FetchRequest(shape=bench_pb2.SHAPE_LOGS, size=0))
        raise AssertionError("size 0 accepted")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
    mode = ("TLS (root " + os.path.basename(args.root_cert) + ")") if args.root_cert else "plaintext"
    mode += ", gzip" if args.gzip else ""
    print(f"grpcio {grpc.__version__} [{mode}]: Health SERVING; Fetch {fetched.ByteSize()} B "
          f"({len(fetched.logs.entries)} log entries); Echo identical; Upload digest {summary.digest}; "
          "size 0 -> INVALID_ARGUMENT")

    # Streaming: a feed of exactly `count` numbered messages, a bidirectional chat echo, and a
    # broadcast room (subscribe, publish, receive).
    count = 50
    feed = list(stub.Subscribe(bench_pb2.StreamRequest(shape=bench_pb2.SHAPE_SMALL, size=256, seed=1,
                                                       count=count, interval_ns=1_000_000), timeout=30))
    assert [m.seq for m in feed] == list(range(count)), [m.seq for m in feed]
    assert all(m.payload.HasField("small") for m in feed)
    sent = [bench_pb2.StreamMessage(seq=i, payload=fetched) for i in range(20)]
    echoes = list(stub.Chat(iter(sent), timeout=30))
    assert echoes == sent, "chat echoes differ"
    room = stub.Subscribe(bench_pb2.StreamRequest(room="peer", count=5), timeout=30)
    # The subscription is registered once the response headers arrived.
    room.initial_metadata()
    acks = [stub.Publish(bench_pb2.PublishRequest(room="peer", message=bench_pb2.StreamMessage(seq=i, payload=fetched)))
            for i in range(5)]
    assert all(a.subscribers == 1 for a in acks), acks
    assert [m.seq for m in room] == list(range(5))
    print(f"grpcio streaming: Subscribe feed {count} messages in order; Chat {len(echoes)} echoes identical; "
          "room: 5 published, 5 received")
    return 0


if __name__ == "__main__":
    sys.exit(main())
