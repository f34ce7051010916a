#!/usr/bin/env bash
# Fuzz smoke run (issue 8): builds the cargo-fuzz targets in fuzz/ and runs each for a short time on the
# seed corpus fuzz/seeds.py writes (the tests' corpus generator, the committed test data, and the real
# fixtures when ../shared exists). Fails on any crash, hang (-timeout) or runaway memory (-rss_limit_mb).
#   scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]   (default 20)
# Needs nightly and cargo-fuzz; installs each only when missing. One fuzzer at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}

rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

python3 fuzz/seeds.py
cargo +nightly fuzz build -O
for t in $(cargo +nightly fuzz list); do
    echo "--- fuzz $t for ${secs}s"
    # A new corpus folder per run keeps the seeds as seeds; what the run adds is thrown away.
    work=$(mktemp -d)
    rc=0
    cargo +nightly fuzz run -O "$t" "$work" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -max_len="$(python3 fuzz/seeds.py max-len "$t")" \
        -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$work.log" 2>&1 || rc=$?
    grep -E 'stat::number_of_executed_units|^Done|ERROR|panicked|SUMMARY' "$work.log" || true
    [ "$rc" -eq 0 ] || tail -n 60 "$work.log"
    rm -rf "$work" "$work.log"
    if [ "$rc" -ne 0 ]; then
        echo "fuzz target $t crashed; the input is in fuzz/artifacts/$t/ (replay: cargo +nightly fuzz run $t <file>)" >&2
        exit 1
    fi
done
echo "fuzz smoke: all targets ran ${secs}s without a crash"
