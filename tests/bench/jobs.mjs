// The image-set jobs in headless Chromium, through the page's own modules (topk.js, occlusion.js on pool.js):
// top-k of one layer over the 10,000 CIFAR-10 test images (as the official test_batch.bin) with 1 and with 2
// workers, and occlusion forward passes per second against single forward passes per second in one worker.
// cifar10_quick iter_4000 (the Caffe fixture) with its mean, RGB, as the fixtures' README says.
// Usage: bash scripts/build-web.sh && node tests/bench/jobs.mjs [--json out.json] [--reps 3] [--layer relu1]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR, cifarBatch, openBrowser, shared } from '../e2e/helpers.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i < 0 ? fallback : argv[i + 1];
};
const jsonOut = option('--json');
const reps = Number(option('--reps', 3));
const layer = option('--layer', 'relu1');

const b = await openBrowser();
await b.page.goto(b.url);
await b.page.evaluate(() => {
  document.body.append(Object.assign(document.createElement('input'), { type: 'file', id: 'bench-files', multiple: true }));
});
const batch = cifarBatch(10000);
await b.page.setInputFiles('#bench-files', [
  ...['cifar10_quick.prototxt', 'cifar10_quick_iter_4000.caffemodel', 'mean_approx.binaryproto'].map((f) => join(CIFAR, f)),
  batch, shared('fixtures/images/cifar10/cat_0000.jpg'),
]);

const result = await b.page.evaluate(async ({ reps, layer }) => {
  const { Pool } = await import('./pool.js');
  const { Engine } = await import('./engine.js');
  const { ImageSet } = await import('./image-set.js');
  const { topK } = await import('./topk.js');
  const { occlusionMaps } = await import('./occlusion.js');
  const [prototxt, weights, mean, bin, cat] = document.getElementById('bench-files').files;
  const model = { prototxt, weights, mean };
  const pre = { channelOrder: 'RGB', meanValues: null, scale: 1, resize: 'stretch' };
  const set = await ImageSet.from([bin]);
  const catSet = new ImageSet('files', [cat], [1]);
  const median = (ms) => [...ms].sort((a, b) => a - b)[ms.length >> 1];
  const pools = [1, 2].map((n) => {
    const p = new Pool(n);
    p.setModel(model);
    return p;
  });
  // Warm-up: every worker loads the model and runs once.
  for (const p of pools) await topK(p, set, { layer, k: 9, pre }).catch(() => {});

  // Top-9 over the 10k, alternating 1 and 2 workers.
  const topkMs = { 1: [], 2: [] };
  for (let r = 0; r < reps; r++) {
    for (const [i, p] of pools.entries()) {
      const t = performance.now();
      await topK(p, set, { layer, k: 9, pre });
      topkMs[i + 1].push(performance.now() - t);
    }
  }

  // Occlusion (size 4, stride 1: 841 positions of a 32×32 image) against single forward passes.
  const occ = { occluder: { size: 4, stride: 1, fill: 'mean' }, classIndex: null, layer: 'conv3', pre };
  const occMs = { 1: [], 2: [] };
  for (let r = 0; r < reps; r++) {
    for (const [i, p] of pools.entries()) {
      const t = performance.now();
      const m = await occlusionMaps(p, catSet, 0, occ);
      occMs[i + 1].push((performance.now() - t) / (m.rows * m.cols));
    }
  }
  for (const p of pools) p.terminate();
  // Single forward passes in one worker, as the page classifies an image (decoding excluded).
  const single = new Engine();
  await single.call('load', model);
  const input = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => (i % 255) - 128);
  const fwd = await single.call('bench', { input, runs: 15, batch: 50, warmup: 50 });
  single.terminate();
  return {
    images: set.length,
    topk: { 1: median(topkMs[1]), 2: median(topkMs[2]), samples: topkMs },
    occlusion: { positions: 841, msPerPass: { 1: median(occMs[1]), 2: median(occMs[2]) }, samples: occMs },
    singleMs: fwd.forward[0],
  };
}, { reps, layer });
await b.close();

const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
const t = result.topk;
console.log(`Top-9 of every ${layer} map of cifar10_quick over ${result.images} CIFAR-10 images (median of ${reps}):`);
console.log(`  1 worker ${s(t[1])}, 2 workers ${s(t[2])} (${(t[1] / t[2]).toFixed(2)}×; goal < 30 s)`);
const o = result.occlusion;
const perS = (ms) => (1000 / ms).toFixed(0);
console.log(`Occlusion, 841 positions (size 4, stride 1), batched in the workers (median of ${reps}):`);
console.log(`  1 worker ${perS(o.msPerPass[1])} passes/s, 2 workers ${perS(o.msPerPass[2])} passes/s; `
  + `single forward passes ${perS(result.singleMs)} /s (${(result.singleMs / o.msPerPass[1]).toFixed(2)}× and `
  + `${(result.singleMs / o.msPerPass[2]).toFixed(2)}× that)`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ layer, reps, ...result }, null, 1));
