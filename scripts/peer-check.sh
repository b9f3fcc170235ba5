#!/usr/bin/env bash
# Standard clients against rpcbench servers: curl for REST (JSON and protobuf bodies), a JSON
# client that is not serde (Python's json module, scripts/json_peer_check.py), the reference gRPC
# stack (Python grpcio + stubs generated from the published .proto) for gRPC.
# Streams: curl reading SSE and NDJSON, grpcio server/bidirectional streaming, and a Python
# WebSocket client (`websockets`). The pbjson codec level against Python protobuf's json_format
# (proto/tests/proto3_json.rs).
# Usage: scripts/peer-check.sh   (builds the release binary; needs curl and python3; installs
# grpcio, websockets and protobuf into a virtualenv under target/ from PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
BIN=./target/release/rpcbench
VENV=target/peer-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import grpc, grpc_tools, grpc_health, websockets, google.protobuf.json_format' 2>/dev/null \
  || "$VENV/bin/pip" install -q grpcio grpcio-tools grpcio-health-checking websockets protobuf

echo "--- proto3 JSON mapping: the pbjson level against Python protobuf's json_format"
RPCBENCH_PYTHON="$PWD/$VENV/bin/python" timeout 900 \
  cargo test -q -p rpcbench-proto --test proto3_json -- --ignored --nocapture 2>&1 | grep -v ' yes$'

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # variant [serve flags...] -> sets ADDR; called in this shell (not in $(...)) so cleanup sees the pid
  local out; out=$(mktemp)
  "$BIN" serve --variant "$@" >"$out" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 1 200); do
    if [ -s "$out" ]; then ADDR=$(python3 -c "import json;print(json.load(open('$out'))['addr'])"); return; fi
    sleep 0.05
  done
  echo "server $1 did not start" >&2; exit 1
}

start rest-json-h1; REST=$ADDR
echo "REST (HTTP/1.1) at $REST"
curl -sf "http://$REST/healthz"; echo
curl -sf "http://$REST/v1/payloads/small?size=200&seed=1"; echo
curl -sf "http://$REST/v1/payloads/small?size=200&seed=1" \
  | curl -sf -X POST -H 'Content-Type: application/json' --data-binary @- "http://$REST/v1/payloads"; echo
curl -sf -H 'Accept: application/x-protobuf' "http://$REST/v1/payloads/logs?size=1024&seed=1" -o target/peer-logs.pb
curl -sf -X POST -H 'Content-Type: application/x-protobuf' -H 'Accept: application/json' \
  --data-binary @target/peer-logs.pb "http://$REST/v1/payloads"; echo
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"logs":' "http://$REST/v1/echo")
[ "$code" = 400 ] || { echo "malformed JSON gave $code" >&2; exit 1; }
python3 scripts/json_peer_check.py json "$REST"

# Streams read by curl: SSE (one `data:` JSON event per message) and NDJSON, exact counts.
sse=$(curl -sfN --max-time 20 -H 'Accept: text/event-stream' \
  "http://$REST/v1/feed/small?size=256&seed=1&count=25&interval_ns=1000000" | grep -c '^data: ')
[ "$sse" = 25 ] || { echo "SSE feed: $sse events, expected 25" >&2; exit 1; }
nd=$(curl -sfN --max-time 20 -H 'Accept: application/x-ndjson' \
  "http://$REST/v1/feed/metrics?size=4096&seed=1&count=25" | grep -c '"payload"')
[ "$nd" = 25 ] || { echo "NDJSON feed: $nd lines, expected 25" >&2; exit 1; }
echo "curl: SSE feed 25 events, NDJSON feed 25 lines"
"$VENV/bin/python" scripts/ws_peer_check.py "$REST"

# The other two JSON levels, each behind its own variant (the server picks the library).
for level in pbjson sonic; do
  start "rest-$level-h1"
  echo "REST $level (HTTP/1.1) at $ADDR"
  python3 scripts/json_peer_check.py "$level" "$ADDR"
done

start rest-proto-h2; REST2=$ADDR
echo "REST (h2c prior knowledge) at $REST2"
curl -sf --http2-prior-knowledge -H 'Accept: application/json' "http://$REST2/v1/payloads/mesh?size=300&seed=2"; echo

start grpc-proto-h2; GRPC=$ADDR
echo "gRPC at $GRPC"
"$VENV/bin/python" scripts/grpc_peer_check.py "$GRPC"

echo "--- compression (plaintext)"
# curl --compressed offers gzip (and more) and decodes the answer; the header shows gzip was used.
enc=$(curl -sf --compressed -o /dev/null -D - "http://$REST/v1/payloads/logs?size=16384&seed=1" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-encoding"{print $2}')
[ "$enc" = gzip ] || [ "$enc" = zstd ] || { echo "curl --compressed got Content-Encoding '$enc'" >&2; exit 1; }
plain=$(curl -sf "http://$REST/v1/payloads/logs?size=16384&seed=1" | sha256sum)
decoded=$(curl -sf --compressed "http://$REST/v1/payloads/logs?size=16384&seed=1" | sha256sum)
[ "$plain" = "$decoded" ] || { echo "curl --compressed decoded a different body" >&2; exit 1; }
wire=$(curl -sf -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "http://$REST/v1/payloads/logs?size=16384&seed=1")
echo "curl --compressed: Content-Encoding $enc, identical body ($wire B gzip on the wire vs $(curl -sf "http://$REST/v1/payloads/logs?size=16384&seed=1" | wc -c) B)"
curl -sf "http://$REST/v1/payloads/small?size=200&seed=1" | gzip -c \
  | curl -sf -X POST -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' --data-binary @- "http://$REST/v1/payloads"; echo
"$VENV/bin/python" scripts/grpc_peer_check.py "$GRPC" --gzip

echo "--- TLS (the run's kind of certificate: rpcbench cert)"
CERTS=target/peer-tls
"$BIN" cert "$CERTS" >/dev/null
TLSFLAGS=(--tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key")
start rest-json-h1 "${TLSFLAGS[@]}"; TLS1=${ADDR##*:}
out=$(curl -sf --cacert "$CERTS/ca.pem" -w '\n%{http_version}' "https://localhost:$TLS1/v1/payloads/small?size=200&seed=1")
[ "$(tail -n1 <<<"$out")" = 1.1 ] || { echo "rest-json-h1 over TLS did not use HTTP/1.1: $out" >&2; exit 1; }
echo "curl --cacert, ALPN http/1.1: $(head -n1 <<<"$out" | cut -c1-80)..."
start rest-json-h2 "${TLSFLAGS[@]}"; TLS2=${ADDR##*:}
out=$(curl -sf --cacert "$CERTS/ca.pem" --compressed -w '\n%{http_version}' "https://localhost:$TLS2/v1/payloads/mesh?size=300&seed=2")
[ "$(tail -n1 <<<"$out")" = 2 ] || { echo "rest-json-h2 over TLS did not negotiate h2: $out" >&2; exit 1; }
echo "curl --cacert --compressed, ALPN h2: $(head -n1 <<<"$out" | cut -c1-80)..."
if curl -sf -o /dev/null "https://localhost:$TLS2/healthz" 2>/dev/null; then
  echo "an untrusted client was accepted" >&2; exit 1
fi
echo "curl without --cacert: refused (certificate not trusted), as it should"
start grpc-proto-h2 "${TLSFLAGS[@]}"; GTLS=${ADDR##*:}
"$VENV/bin/python" scripts/grpc_peer_check.py "localhost:$GTLS" --root-cert "$CERTS/ca.pem"
"$VENV/bin/python" scripts/grpc_peer_check.py "localhost:$GTLS" --root-cert "$CERTS/ca.pem" --gzip
echo "peer check passed"
