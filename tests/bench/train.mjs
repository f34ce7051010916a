// Training speed: iterations per second (forward, SoftmaxWithLoss, backward, SGD update) of the built-in
// LeNet (batch 64, the packed MNIST digits) and cifar10_quick (batch 100, CIFAR-10 batches made from the
// fixtures' images by tests/bench/cifar10_batches.mjs), natively (`zfvis train`), in headless Chromium
// (the wasm Training class, the page's relaxed-SIMD build, on the page's main thread) and in PyTorch on the
// CPU with one thread (tests/bench/train_torch.py, the same nets and update), in alternating rounds.
// Each measurement is the median of its rounds; one thread everywhere.
// Usage: node tests/bench/train.mjs [--rounds 3] [--seconds 4] [--json out.json]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noFixtures, openBrowser } from '../e2e/helpers.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i < 0 ? fallback : argv[i + 1];
};
const rounds = Number(option('--rounds', 3));
const seconds = Number(option('--seconds', 4));
const jsonOut = option('--json');

const MNIST = 'www/data/mnist.bin';
const cifarDir = mkdtempSync(join(tmpdir(), 'zfvis-train-bench-'));
if (!noFixtures) execFileSync('node', ['tests/bench/cifar10_batches.mjs', cifarDir]);
// Iterations per run, chosen for about `seconds` at the speeds seen on the project's machine.
const nets = [
  { name: 'lenet', batch: 64, iters: Math.round(40 * seconds), data: ['mnist', MNIST] },
  ...(noFixtures ? [] : [{ name: 'cifar10_quick', batch: 100, iters: Math.round(6 * seconds), data: ['cifar10', cifarDir] }]),
];
if (!existsSync(MNIST)) throw new Error(`no ${MNIST}: run bash scripts/build-web.sh first`);

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function native(net) {
  const out = execFileSync('target/release/zfvis', ['train', net.name, '--data', ...net.data, '--max-iter',
    String(net.iters), '--snapshot', '0', '--test-interval', '0', '--snapshot-dir', cifarDir], { encoding: 'utf8' });
  const m = /Done: (\d+) iterations, [\d.]+ s of training \(([\d.]+) it\/s\)/.exec(out);
  if (!m) throw new Error(`zfvis train printed no speed:\n${out}`);
  return Number(m[2]);
}

function torch(net) {
  const out = execFileSync('python3', ['tests/bench/train_torch.py', '--net', net.name, '--seconds', String(seconds),
    '--runs', '1', '--threads', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.trim().split('\n').pop()).iters_per_s;
}

const b = await openBrowser();
await b.page.goto(b.url);
const files = { mnist: MNIST, cifar10: [join(cifarDir, 'data_batch_1.bin'), join(cifarDir, 'test_batch.bin')] };
await b.page.evaluate(() => {
  for (const id of ['bench-mnist', 'bench-cifar']) {
    document.body.append(Object.assign(document.createElement('input'), { type: 'file', id, multiple: true }));
  }
});
await b.page.setInputFiles('#bench-mnist', files.mnist);
if (!noFixtures) await b.page.setInputFiles('#bench-cifar', files.cifar10);

async function browser(net) {
  return b.page.evaluate(async ({ name, iters }) => {
    const { loadEngine } = await import('./wasm.js');
    const m = await loadEngine();
    const bytes = async (f) => new Uint8Array(await f.arrayBuffer());
    let data;
    if (name === 'lenet') {
      data = m.TrainingData.mnist(await bytes(document.getElementById('bench-mnist').files[0]));
    } else {
      const [train, test] = document.getElementById('bench-cifar').files;
      data = m.TrainingData.cifar10();
      data.addTrain(await bytes(train), train.name);
      data.addTest(await bytes(test), test.name);
    }
    const t = m.Training.builtin(name, data, { maxIter: iters + 1, snapshot: 0, testInterval: 0, seed: 1 });
    t.run(1); // warm-up
    const start = performance.now();
    while (t.iter < iters + 1) t.run(iters + 1 - t.iter);
    const ips = iters / ((performance.now() - start) / 1000);
    t.free();
    return { ips, build: m.build };
  }, net);
}

console.log(`load average before: ${(await import('node:os')).loadavg().map((v) => v.toFixed(2)).join(' ')}`);
const results = [];
let build = '';
for (const net of nets) {
  const runs = { native: [], chromium: [], torch: [] };
  for (let r = 0; r < rounds; r++) {
    runs.native.push(native(net));
    const c = await browser(net);
    runs.chromium.push(c.ips);
    build = c.build;
    runs.torch.push(torch(net));
  }
  const row = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
  results.push({ net: net.name, batch: net.batch, iters: net.iters, ...row, runs });
  console.log(`${net.name} (batch ${net.batch}, ${net.iters} iterations a run): native ${row.native.toFixed(1)} it/s, `
    + `Chromium (${build}) ${row.chromium.toFixed(1)} it/s, PyTorch 1 thread ${row.torch.toFixed(1)} it/s; `
    + `native/PyTorch ${(row.native / row.torch).toFixed(2)}×, Chromium/PyTorch ${(row.chromium / row.torch).toFixed(2)}×`);
}
console.log(`load average after: ${(await import('node:os')).loadavg().map((v) => v.toFixed(2)).join(' ')}`);
await b.close();
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ rounds, seconds, build, results }, null, 2));
