#!/usr/bin/env bash
# The benchmark table: native zfvis against OpenCV dnn in the same run, then zfvis in Chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p zfvis-cli
python3 tests/bench/native_forward.py "$@"
bash scripts/build-web.sh >/dev/null
node tests/bench/browser.mjs
# Large models: load time and peak wasm memory (needs the onnx and numpy Python packages).
python3 tests/bench/make_models.py zfnet512 vgg19
node tests/bench/memory.mjs
