#!/usr/bin/env bash
# Runs every test: the Rust crates natively and in headless Chromium, then the page end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
wasm-pack test --headless --chrome crates/web
cargo build --release -p zfvis-cli
bash scripts/build-web.sh
[ -d node_modules ] || npm ci
node --test tests/e2e/
