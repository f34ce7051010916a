#!/usr/bin/env bash
# The benchmark table: native zfvis against OpenCV dnn in the same run, then zfvis in Chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p zfvis-cli
python3 tests/bench/native_forward.py "$@"
bash scripts/build-web.sh >/dev/null
node tests/bench/browser.mjs
