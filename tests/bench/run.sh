#!/usr/bin/env bash
# The performance benchmark in one command: zfvis against onnxruntime-web in headless Chromium (the page's
# worker path, same page, same ONNX files, alternating rounds) and against OpenCV dnn natively, on
# cifar10_quick and LeNet (the Caffe fixtures exported to ONNX) and ZFNet-512, AlexNet and VGG-16 (seeded
# random weights); per-convolution GFLOP/s, the GEMM micro-benchmark and peak wasm memory; then summary
# tables with the issue's goals; the image-set jobs (tests/bench/jobs.mjs); and training iterations per second against
# PyTorch (tests/bench/train.mjs, about 2 minutes). About 5.5 minutes on the project's 2-core machine once built and the models
# exist; building adds about 5, making the models (first run only: needs numpy, onnx,
# opencv-python-headless, onnxruntime, torch, torchvision) about 2. Run nothing else meanwhile: the machine
# has 2 cores, and the load averages printed before and after show whether something else ran.
# Usage: bash tests/bench/run.sh [--scale 0.5] [model name ...]   (names and run counts: tests/bench/models.json)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/bench-results
mkdir -p "$out"
cargo build --release -p zfvis-cli
bash scripts/build-web.sh >/dev/null
[ -d node_modules/onnxruntime-web ] || npm ci
# Missing models only; one that cannot be made is reported and the others still run.
python3 tests/bench/make_models.py || true
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$out/native.json" "$out/browser.json"
# Either half may fail as a whole (a missing Python package, no Chromium): the other still runs.
python3 tests/bench/native_forward.py --json "$out/native.json" "$@" || echo "the native half failed (exit $?)"
echo
node tests/bench/browser.mjs --json "$out/browser.json" "$@" || echo "the browser half failed (exit $?)"
echo
# The image-set jobs in the page: top-9 over the 10k CIFAR-10 test images, occlusion passes per second.
node tests/bench/jobs.mjs --json "$out/jobs.json" || echo "the jobs benchmark failed (exit $?)"
# Training iterations per second: natively, in Chromium and in PyTorch (one thread).
node tests/bench/train.mjs --json "$out/train.json" || echo "the training benchmark failed (exit $?)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
node tests/bench/summary.mjs "$out/native.json" "$out/browser.json"
