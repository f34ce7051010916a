// Large-model loading in headless Chromium through the page's worker: load time and peak wasm memory for
// ZFNet-512- and VGG-19-sized ONNX models with seeded random weights, then a forward pass, a projection and
// a tiling on each.
// Usage: python3 tests/bench/make_models.py zfnet512 vgg19 && bash scripts/build-web.sh && node tests/bench/memory.mjs [model.onnx ...]
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openBrowser, ROOT } from '../e2e/helpers.mjs';

const files = process.argv.length > 2 ? process.argv.slice(2)
  : ['zfnet512', 'vgg19'].map((m) => join(ROOT, `target/bench-models/${m}.onnx`));
for (const file of files.filter((f) => !existsSync(f))) {
  console.log(`SKIPPED: ${file} is absent; make it with python3 tests/bench/make_models.py zfnet512 vgg19`);
}
const b = await openBrowser();
for (const file of files.filter(existsSync)) {
  await b.open();
  await b.page.evaluate(() => {
    const input = Object.assign(document.createElement('input'), { type: 'file', id: 'bench-file' });
    document.body.append(input);
  });
  // The browser reads the file from disk, as it does for a user's pick.
  await b.page.setInputFiles('#bench-file', file);
  const r = await b.page.evaluate(async () => {
    const engine = new (await import('./engine.js')).Engine();
    const call = (op, args) => engine.call(op, args);
    const before = await call('memory');
    const t = performance.now();
    const summary = await call('load', { onnx: document.getElementById('bench-file').files[0] });
    const loadMs = performance.now() - t;
    const afterLoad = await call('memory');
    const size = (s) => s.reduce((a, d) => a * d, 1);
    const activations = 4 * (summary.inputs.reduce((a, i) => a + size(i.shape), 0)
      + summary.layers.flatMap((l) => l.outputs).reduce((a, o) => a + size(o.shape), 0));
    const [n, c, h, w] = summary.inputs[0].shape;
    const canvas = new OffscreenCanvas(w, h);
    canvas.getContext('2d').fillRect(0, 0, w, h);
    await call('predict', { image: await canvas.convertToBlob(), pre: {} });
    const convs = summary.layers.filter((l) => l.type === 'Conv' || l.typeName === 'Conv');
    const last = convs[convs.length - 1].name;
    const times = await call('bench', { runs: 3, batch: 1, layer: convs[0].name, projectLayer: last });
    const peak = await call('memory');
    engine.terminate();
    return { before, loadMs, afterLoad, peak, activations, params: summary.params, times, last, layers: summary.layers.length };
  });
  const mb = (x) => `${(x / 2 ** 20).toFixed(0)} MiB`;
  const weights = 4 * r.params;
  console.log(`${file}: ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB on disk, ${r.layers} nodes, weights ${mb(weights)}, activations ${mb(r.activations)}`);
  console.log(`load ${(r.loadMs / 1000).toFixed(2)} s; wasm memory: at start ${mb(r.before)}, after load ${mb(r.afterLoad)} `
    + `(${(r.afterLoad / weights).toFixed(2)}× the weights), peak after forward, projection and tiling ${mb(r.peak)} `
    + `(${(r.peak / (weights + r.activations)).toFixed(2)}× weights + activations; goal ≤ 1.5×)`);
  const f = (t) => `${t[0].toFixed(1)} ms`;
  console.log(`forward ${f(r.times.forward)}, deconvnet from ${r.last} ${f(r.times.projection)}, tile ${f(r.times.tile)}`);
}
await b.close();
