#!/usr/bin/env python3
"""Calls a running rpcbench gRPC server with the reference gRPC stack (grpcio, C core) and stubs
generated from proto/rpcbench/v1/bench.proto exactly as published: proof that a standard client
interoperates. Usage: grpc_peer_check.py HOST:PORT"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    target = sys.argv[1]
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

    channel = grpc.insecure_channel(target)
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
    print(f"grpcio {grpc.__version__}: Health SERVING; Fetch {fetched.ByteSize()} B "
          f"({len(fetched.logs.entries)} log entries); Echo identical; Upload digest {summary.digest}; "
          "size 0 -> INVALID_ARGUMENT")
    return 0


if __name__ == "__main__":
    sys.exit(main())
