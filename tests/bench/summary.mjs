// The benchmark's closing tables (Markdown) from the two halves' results, with the performance goals.
// Usage: node tests/bench/summary.mjs native.json browser.json   (as run.sh writes them)
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const read = (path) => (path && existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : { models: [] });
const [native, browser] = process.argv.slice(2).map(read);
const names = [...new Set([...browser.models, ...native.models].map((m) => m.name))];
const byName = (list) => Object.fromEntries(list.map((m) => [m.name, m]));
const [N, B] = [byName(native.models), byName(browser.models)];

const ms = (t) => {
  if (!t) return '–';
  const d = t[0] < 10 ? 3 : t[0] < 100 ? 2 : 1;
  return t[0] >= 1000 ? `${(t[0] / 1000).toFixed(2)} s (${(t[1] / 1000).toFixed(2)}–${(t[2] / 1000).toFixed(2)})`
    : `${t[0].toFixed(d)} ms (${t[1].toFixed(d)}–${t[2].toFixed(d)})`;
};
const ratio = (a, b) => (a && b ? `${(a[0] / b[0]).toFixed(2)}×` : '–');
const label = (n) => B[n]?.label ?? N[n]?.label ?? n;
const macs = (n) => B[n]?.macs ?? N[n]?.macs;
const si = (x) => (x >= 1e9 ? `${(x / 1e9).toFixed(2)} G` : `${(x / 1e6).toFixed(1)} M`);
const mib = (x) => `${(x / 2 ** 20).toFixed(x < 2 ** 24 ? 1 : 0)} MiB`;
const gflops = (m, t) => (2 * m) / t / 1e6;
const table = (head, rows) => {
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log();
};
const goals = [];
const goal = (what, ok) => goals.push(`${ok ? 'met    ' : 'NOT MET'}  ${what}`);

console.log(`\n## Summary (${browser.date ?? new Date().toISOString().slice(0, 10)}; Chromium ${browser.chromium ?? '?'} headless, `
  + `onnxruntime-web ${browser.ort ?? '?'} wasm SIMD 1 thread; OpenCV dnn ${native.opencv ?? '?'} 1 thread; ${browser.cpu ?? native.cpu ?? ''}, ${cpus().length} cores)\n`);
console.log('Batch 1, one thread, medians (min–max) per call. Chromium: the page\'s worker, alternating with onnxruntime-web in '
  + 'the same page on the same ONNX file (in brackets: the median of the two engines\' ratio within each round). '
  + 'Native: the release CLI, alternating with OpenCV dnn on the same file.\n');

const errors = [];
for (const n of names) {
  for (const [where, r] of [['Chromium', B[n]], ['native', N[n]]]) {
    for (const k of ['error', 'oursError', 'ortError', 'opencv_error']) if (r?.[k]) errors.push(`${label(n)}, ${where}: ${r[k]}`);
  }
}

table(['model', 'MACs', 'zfvis in Chromium', 'onnxruntime-web', 'zfvis / ORT-web (within a round)', 'zfvis native', 'OpenCV dnn native',
  'zfvis / OpenCV', 'Chromium / native'],
names.map((n) => {
  const b = B[n] ?? {};
  const nat = N[n] ?? {};
  if (b.forward && b.ort) goal(`forward ≤ 0.8× onnxruntime-web in Chromium, ${label(n)}: ${ratio(b.forward, b.ort)}`, b.forward[0] <= 0.8 * b.ort[0]);
  const within = b.pairedRatio ? ` (${b.pairedRatio[0].toFixed(2)}×)` : '';
  return [label(n), macs(n) ? si(macs(n)) : '–', ms(b.forward), ms(b.ort), ratio(b.forward, b.ort) + within, ms(nat.forward),
    ms(nat.opencv), ratio(nat.forward, nat.opencv), ratio(b.forward, nat.forward)];
}));

console.log('Deconvnet projection from the strongest unit of the last convolution (reusing the forward pass\'s '
  + 'switches and activations) and tiling of the first convolution\'s filters (in Chromium, the worker\'s call with '
  + 'the RGBA image it returns):\n');
table(['model', 'projected from', 'Chromium', '/ forward', 'native', '/ forward', 'tile', 'tile Chromium', 'tile native'],
  names.map((n) => {
    const b = B[n] ?? {};
    const nat = N[n] ?? {};
    if (b.projection && b.forward) {
      goal(`projection ≤ 1.5× forward in Chromium, ${label(n)}: ${ratio(b.projection, b.forward)}`, b.projection[0] <= 1.5 * b.forward[0]);
    }
    return [label(n), b.lastConv ?? nat.projection_layer ?? '–', ms(b.projection), ratio(b.projection, b.forward), ms(nat.projection),
      ratio(nat.projection, nat.forward), b.firstConv ?? nat.tile_layer ?? '–', ms(b.tile), ms(nat.tile)];
  }));

console.log('Convolutions, GFLOP/s = 2·MACs / time (each node\'s mean over the faster half of the profiled passes); '
  + 'all of a model\'s convolutions together, and its slowest and fastest one:\n');
const convRow = (r) => {
  const convs = r?.profile?.nodes.filter((x) => x.conv && x.ms > 0) ?? [];
  if (!convs.length) return ['–', '–', '–'];
  const g = convs.map((x) => gflops(x.macs, x.ms));
  const all = gflops(convs.reduce((a, x) => a + x.macs, 0), convs.reduce((a, x) => a + x.ms, 0));
  return [`${all.toFixed(1)}`, `${Math.min(...g).toFixed(1)}`, `${Math.max(...g).toFixed(1)}`];
};
table(['model', 'convolutions', 'Chromium: all', 'slowest', 'fastest', 'native: all', 'slowest', 'fastest'],
  names.map((n) => {
    const convs = B[n]?.profile?.nodes.filter((x) => x.conv) ?? N[n]?.profile?.nodes.filter((x) => x.conv) ?? [];
    return [label(n), convs.length || '–', ...convRow(B[n]), ...convRow(N[n])];
  }));
if (B.vgg16?.profile) {
  const slow = B.vgg16.profile.nodes.filter((x) => x.conv).map((x) => [x.name, gflops(x.macs, x.ms)]);
  const worst = slow.reduce((a, x) => (x[1] < a[1] ? x : a));
  goal(`every VGG-16 convolution ≥ 28 GFLOP/s in Chromium: slowest ${worst[0]} ${worst[1].toFixed(1)}`, worst[1] >= 28);
}

if (browser.gemm || native.gemm) {
  console.log('sgemm (zfvis_core::ops::gemm::sgemm, C = A·B, n×n×n), GFLOP/s: median (best sample):\n');
  const sizes = (browser.gemm ?? native.gemm).map((g) => g.n);
  const cell = (list, n) => {
    const g = list?.find((x) => x.n === n);
    return g ? `${g.gflops[0].toFixed(1)} (${g.gflops[1].toFixed(1)})` : '–';
  };
  table(['', ...sizes.map(String), 'peak'], [
    ['Chromium', ...sizes.map((n) => cell(browser.gemm, n)), browser.gemm ? Math.max(...browser.gemm.map((g) => g.gflops[1])).toFixed(1) : '–'],
    ['native', ...sizes.map((n) => cell(native.gemm, n)), native.gemm ? Math.max(...native.gemm.map((g) => g.gflops[1])).toFixed(1) : '–'],
  ]);
  if (browser.gemm) {
    const large = browser.gemm.filter((g) => g.n >= 512);
    const worst = large.reduce((a, g) => (g.gflops[0] < a.gflops[0] ? g : a));
    goal(`sgemm ≥ 32 GFLOP/s in Chromium at 512 and larger: slowest median ${worst.gflops[0].toFixed(1)} at ${worst.n}`, worst.gflops[0] >= 32);
  }
}

console.log('zfvis\'s wasm memory in Chromium (a fresh worker per model; wasm memory never shrinks, so its size at the end '
  + 'is the peak; a fresh instance starts with its 1 MiB stack and static data). Activations: every value one forward '
  + 'pass keeps, at batch 1:\n');
table(['model', 'weights', 'activations', 'load', 'at start', 'after load', 'peak after forward, projection, tiling, profile',
  'peak / (weights + activations)', '1.5 × weights + activations'],
names.filter((n) => B[n]?.memoryPeak).map((n) => {
  const r = B[n];
  const w = 4 * r.params;
  const q = r.memoryPeak / (w + r.activations);
  goal(`peak wasm memory ≤ 1.5 × (weights + activations), ${label(n)}: ${q.toFixed(2)}×`, q <= 1.5);
  const strict = 1.5 * w + r.activations;
  return [label(n), mib(w), mib(r.activations), `${(r.loadMs / 1000).toFixed(2)} s`, mib(r.memoryStart), mib(r.memoryAfterLoad), mib(r.memoryPeak),
    `${q.toFixed(2)}×`, `${mib(strict)} (${r.memoryPeak <= strict ? 'under' : 'over'})`];
}));

console.log('Goals of the performance issue:');
for (const g of goals) console.log(`  ${g}`);
if (errors.length) {
  console.log('\nModels that failed:');
  for (const e of errors) console.log(`  ${e}`);
}
