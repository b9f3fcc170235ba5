#!/usr/bin/env bash
# Constant memory: peak RSS of `rpcbench load` for a short and a long open-loop run against the
# same server. HdrHistograms are fixed-size, so the long run must not use more memory.
# Usage: scripts/memory-check.sh [SHORT_SECONDS] [LONG_SECONDS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
SHORT=${1:-5}
LONG=${2:-60}
RATE=${3:-5000}
cargo build --release -q
BIN=./target/release/rpcbench
out=$(mktemp)
"$BIN" serve --variant grpc-proto-h2 >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do [ -s "$out" ] && break; sleep 0.05; done
ADDR=$(python3 -c "import json;print(json.load(open('$out'))['addr'])")
peak() { # seconds -> peak RSS in KiB
  local log; log=$(mktemp)
  /usr/bin/time -v "$BIN" load --variant grpc-proto-h2 --target "http://$ADDR" --rpc echo --shape logs --size 4096 \
    --rate "$RATE" --connections 2 --duration "$1s" --warmup 0s 2>"$log" >/dev/null
  awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$log"
}
s=$(peak "$SHORT"); l=$(peak "$LONG")
echo "peak RSS: ${SHORT}s run ${s} KiB, ${LONG}s run ${l} KiB (ratio $(python3 -c "print(f'{$l/$s:.3f}')"))"
python3 -c "import sys; sys.exit(0 if $l <= 1.10 * $s else 1)" && echo "constant memory: OK" || { echo "memory grew" >&2; exit 1; }
