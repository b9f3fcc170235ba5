#!/usr/bin/env bash
# Is rpcbench's load generator the bottleneck? Maximum request rate of `rpcbench load` (closed
# loop, full recording, every response decoded) against wrk (HTTP/1.1) and h2load (HTTP/2), on
# the same server pinned to CPU 0 with every generator pinned to CPU 1, same connections (and,
# for HTTP/2, the same streams in flight). Needs: wrk, h2load (Debian: wrk, nghttp2-client).
# Usage: scripts/compare-generators.sh [SECONDS] [CONNECTIONS] [H2_STREAMS_PER_CONNECTION] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
CONNS=${2:-4}
STREAMS=${3:-4}
ROUNDS=${4:-3}
for tool in wrk h2load taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install wrk nghttp2-client)" >&2; exit 2; }
done
cargo build --release -q
BIN=./target/release/rpcbench
PATH_Q='/v1/payloads/small?size=256&seed=1'

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
start() { # variant -> sets ADDR; server pinned to CPU 0. Called in this shell so cleanup sees the pid
  local out; out=$(mktemp)
  "$BIN" serve --variant "$1" --cpus 0 >"$out" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 1 200); do
    [ -s "$out" ] && { ADDR=$(python3 -c "import json;print(json.load(open('$out'))['addr'])"); return; }
    sleep 0.05
  done
  echo "server $1 did not start" >&2; exit 1
}
ours() { # variant addr concurrency -> req/s
  taskset -c 1 "$BIN" load --variant "$1" --target "http://$2" --rpc fetch --shape small --size 256 --seed 1 \
    --connections "$CONNS" --concurrency "$3" --duration "${SECS}s" --warmup 1s --cpus 1 \
    | awk '/throughput/ {print $2}'
}

start rest-json-h1; H1=$ADDR
start rest-json-h2; H2=$ADDR
echo "server: rest-json-h1 at $H1, rest-json-h2 at $H2 (CPU 0); generators on CPU 1; ${SECS}s x $ROUNDS rounds"
printf '%-6s %-28s %12s\n' round generator req/s
for r in $(seq 1 "$ROUNDS"); do
  w=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" -H 'Accept: application/json' "http://$H1$PATH_Q" | awk '/Requests\/sec/ {print $2}')
  o1=$(ours rest-json-h1 "$H1" "$CONNS")
  h=$(taskset -c 1 h2load -t1 -c"$CONNS" -m"$STREAMS" -D"$SECS" --warm-up-time=1 -H 'Accept: application/json' "http://$H2$PATH_Q" \
      | awk '/^finished in/ {print $4}')
  o2=$(ours rest-json-h2 "$H2" "$((CONNS * STREAMS))")
  printf '%-6s %-28s %12s\n' "$r" "wrk (h1, c=$CONNS)" "$w" "$r" "rpcbench (h1, c=$CONNS)" "$o1" \
    "$r" "h2load (h2, c=$CONNS m=$STREAMS)" "$h" "$r" "rpcbench (h2, c=$CONNS n=$((CONNS*STREAMS)))" "$o2"
  python3 -c "print(f'       ratio h1 rpcbench/wrk = {$o1/$w:.3f}, h2 rpcbench/h2load = {$o2/$h:.3f}')"
done
