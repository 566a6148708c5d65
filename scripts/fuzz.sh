#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/) for FUZZ_SECONDS each (default 60) on the nightly
# toolchain, starting from the committed corpus (fuzz/corpus/<target>, read only: new
# inputs go to a scratch dir, so a run never grows the repository). A crash, a panic, a
# timeout (FUZZ_TIMEOUT s per input, default 10) or an escape found by a target's own
# checks fails the run; libFuzzer's reproducer lands in fuzz/artifacts/<target>/.
# FUZZ_SEED fixes libFuzzer's seed (default 0: random); the test suite fixes it so a CI
# run explores the same way each time, and longer runs explore freely.
#   FUZZ_SECONDS=20 scripts/fuzz.sh            # what scripts/test.sh runs
#   FUZZ_SECONDS=600 scripts/fuzz.sh tar_extract
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(tar_extract dockerfile dns_query dockerignore reference api_bodies)
SCRATCH="$(mktemp -d /tmp/berth-fuzz-corpus.XXXXXX)"
trap 'rm -rf "$SCRATCH" /tmp/berth-fuzz-canary' EXIT
cargo +nightly fuzz build --release
for t in "${TARGETS[@]}"; do
    mkdir -p "$SCRATCH/$t"
    log="$SCRATCH/$t.log"
    if ! cargo +nightly fuzz run --release "$t" "$SCRATCH/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -seed="${FUZZ_SEED:-0}" -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        tail -60 "$log" >&2
        echo "fuzz: $t failed; reproducer in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
    echo "fuzz: $t: ${runs:-?} inputs in ${SECONDS_EACH}s, no crash, hang or escape"
done
