#!/usr/bin/env bash
# Regression gate: build BASE_REV and HEAD_REV, run the CI suite for both in this job
# (interleaved), compare, and exit with `rpcbench compare`'s code:
#   0 no regression, 1 regression, 2 unusable input (or a build/run failure).
#
#   scripts/ci-regression.sh BASE_REV [HEAD_REV]      # HEAD_REV defaults to HEAD
#
# The suite (docs/regression.md):
#   - instruction counts of the codec paths under valgrind callgrind (exact; once per side),
#   - end-to-end: RUNS short `rpcbench run`s per side (rest-json-h1 and grpc-proto-h2, echo
#     small 256B, max throughput + a fixed 2000 req/s), in ABBA order so drift hits both sides.
# Each revision is checked out with `git worktree` under target/ci-regression/src/ and built
# there (one shared CARGO_TARGET_DIR, so dependencies compile once). Uncommitted changes are not
# part of any revision. The Markdown verdict goes to $GITHUB_STEP_SUMMARY when set.
#
# Settings (environment):
#   CI_REGRESSION_RUNS=4            end-to-end runs per side (>= 2)
#   CI_REGRESSION_THRESHOLD=5       percent
#   CI_REGRESSION_SUITE=all         all | instructions | e2e
#   CI_REGRESSION_DIR=target/ci-regression
#   CI_REGRESSION_HEAD_FEATURES=    TEST ONLY: cargo features for HEAD, e.g. inject-slowdown to
#                                   measure the gate's sensitivity; never set in real CI.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || $1 == -h || $1 == --help ]]; then
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
BASE_REV=$1
HEAD_REV=${2:-HEAD}

ROOT=$(git rev-parse --show-toplevel)
WORK=${CI_REGRESSION_DIR:-$ROOT/target/ci-regression}
RUNS=${CI_REGRESSION_RUNS:-4}
THRESHOLD=${CI_REGRESSION_THRESHOLD:-5}
SUITE=${CI_REGRESSION_SUITE:-all}
HEAD_FEATURES=${CI_REGRESSION_HEAD_FEATURES:-}
export CARGO_TARGET_DIR=$WORK/target
export CARGO_TERM_COLOR=never

case $SUITE in all | instructions | e2e) ;; *) echo "CI_REGRESSION_SUITE=$SUITE: all, instructions or e2e" >&2; exit 2 ;; esac
if [[ $SUITE != instructions && $RUNS -lt 2 ]]; then
    echo "CI_REGRESSION_RUNS=$RUNS: at least 2 runs per side are needed to estimate noise" >&2
    exit 2
fi
if [[ $SUITE != e2e ]] && ! command -v valgrind >/dev/null; then
    echo "valgrind is not installed (apt-get install valgrind), or use CI_REGRESSION_SUITE=e2e" >&2
    exit 2
fi

step() { printf '\n==> %s\n' "$*" >&2; }
fail() { echo "ci-regression: $*" >&2; exit 2; }

# build NAME REV FEATURES: worktree at REV, release binary and instruction-count bench copied to
# $WORK/bin/NAME/. Sets HAS_INSTRUCTIONS_<NAME>=1 when the revision has the bench.
build() {
    local name=$1 rev=$2 features=$3 src=$WORK/src/$1 sha
    sha=$(git -C "$ROOT" rev-parse --verify "$rev^{commit}") || fail "unknown revision $rev"
    step "build $name = $rev ($sha)${features:+ with features: $features}"
    if [[ ! -e $src/.git ]]; then
        mkdir -p "$WORK/src"
        git -C "$ROOT" worktree add -q --detach "$src" "$sha"
    elif [[ $(git -C "$src" rev-parse HEAD) != "$sha" ]]; then
        git -C "$src" checkout -q --detach --force "$sha"
        # bench/build.rs records the commit but does not notice a checkout in a worktree.
        touch "$src/bench/build.rs"
    fi
    local feat=()
    [[ -n $features ]] && feat=(--features "$features")
    (cd "$src" && cargo build --release -p rpcbench "${feat[@]}") || fail "$name ($rev) does not build"
    mkdir -p "$WORK/bin/$name"
    cp "$CARGO_TARGET_DIR/release/rpcbench" "$WORK/bin/$name/rpcbench"
    rm -f "$WORK/bin/$name/codec_instructions"
    if [[ $SUITE != e2e && -f $src/bench/benches/codec_instructions.rs ]]; then
        local exe
        exe=$(cd "$src" && cargo bench -p rpcbench --bench codec_instructions --no-run \
            --message-format=json "${feat[@]}" |
            grep -o '"executable":"[^"]*codec_instructions[^"]*"' | tail -1 | cut -d'"' -f4) ||
            fail "$name ($rev): the codec_instructions bench does not build"
        cp "$exe" "$WORK/bin/$name/codec_instructions"
    fi
}

build base "$BASE_REV" ""
build head "$HEAD_REV" "$HEAD_FEATURES"

OUT=$WORK/out
rm -rf "$OUT"
mkdir -p "$OUT/base" "$OUT/head"
NOTES=()

if [[ $SUITE != e2e ]]; then
    if [[ -x $WORK/bin/base/codec_instructions && -x $WORK/bin/head/codec_instructions ]]; then
        for side in base head; do
            step "instruction counts: $side"
            "$WORK/bin/$side/codec_instructions" --output "$OUT/$side/instructions.json" >&2 ||
                fail "instruction counts of $side failed"
        done
    elif [[ $SUITE == instructions ]]; then
        fail "BASE ($BASE_REV) has no codec_instructions bench; nothing to compare"
    else
        NOTES+=("BASE ($BASE_REV) predates the codec_instructions bench: instruction counts were not compared.")
    fi
fi

if [[ $SUITE != instructions ]]; then
    SCENARIO=$WORK/ci-scenario.toml
    cat >"$SCENARIO" <<'EOF'
# The CI suite's end-to-end scenario: short, two variants, equal offered load on both sides.
name = "ci-regression"
variants = ["rest-json-h1", "grpc-proto-h2"]
repetitions = 1
warmup = "300ms"
duration = "1s"
timeout = "5s"
connections = 2
check_every = 16
measure_floor = false

[points]
max_throughput = true
common_rate_fractions = []
fixed_rates = [2000.0]
sweep_fractions = []

[[workloads]]
rpc = "echo"
shape = "small"
size = 256
seed = 1
EOF
    for i in $(seq 1 "$RUNS"); do
        # ABBA: base first in odd rounds, head first in even ones.
        if ((i % 2)); then order="base head"; else order="head base"; fi
        for side in $order; do
            step "end-to-end run $i/$RUNS: $side"
            # Exit 3 (incomplete) keeps its measured points; compare names what is missing.
            (cd "$WORK" && "$WORK/bin/$side/rpcbench" run --scenario "$SCENARIO" \
                --output-dir "$OUT/$side" --criterion-dir "$WORK/no-criterion" --quiet >/dev/null) ||
                [[ $? == 3 ]] || fail "rpcbench run ($side) could not run"
        done
    done
fi

step "compare"
code=0
"$WORK/bin/head/rpcbench" compare "$OUT/base" "$OUT/head" --threshold "$THRESHOLD" \
    --output-dir "$OUT/compare" || code=$?

if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
    {
        if [[ -f $OUT/compare/compare.md && $code != 2 ]]; then
            cat "$OUT/compare/compare.md"
        else
            echo "# rpcbench compare: unusable input (exit 2)"
            echo
            echo "See the job log."
        fi
        for n in "${NOTES[@]}"; do echo "- $n"; done
        echo
        echo "BASE \`$BASE_REV\`, HEAD \`$HEAD_REV\`, $RUNS end-to-end runs per side, threshold $THRESHOLD%."
    } >>"$GITHUB_STEP_SUMMARY"
fi
for n in "${NOTES[@]}"; do echo "note: $n" >&2; done
echo "results: $OUT (compare.md in $OUT/compare)" >&2
exit "$code"
