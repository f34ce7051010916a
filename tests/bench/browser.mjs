// Forward-pass and tiling medians in headless Chromium through the page's own worker (worker.js + wasm).
// Usage: bash scripts/build-web.sh && node tests/bench/browser.mjs [runs]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR, LENET, noFixtures, openBrowser } from '../e2e/helpers.mjs';

const runs = Number(process.argv[2] ?? 300);
// [name, prototxt, weights, layer projected from: the last convolution]
const models = [
  ['cifar10_quick', join(CIFAR, 'cifar10_quick.prototxt'), join(CIFAR, 'cifar10_quick_iter_4000.caffemodel'), 'conv3'],
  ['LeNet', join(LENET, 'lenet.prototxt'), join(LENET, 'lenet_iter_10000.caffemodel'), 'conv2'],
];

if (noFixtures) {
  console.log(`SKIPPED: ${noFixtures}`);
  process.exit(0);
}
const b = await openBrowser();
await b.open();
const version = b.page.context().browser()?.version() ?? (await b.page.evaluate(() => navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1]));
console.log(`Chromium ${version}, ${runs} runs, one worker`);
for (const [name, proto, weights, projectLayer] of models) {
  const r = await b.page.evaluate(async ({ proto, weights, runs, projectLayer }) => {
    const engine = new (await import('./engine.js')).Engine();
    const call = (op, args) => engine.call(op, args);
    await call('load', { prototxt: new Blob([new Uint8Array(proto)]), weights: new Blob([new Uint8Array(weights)]) });
    // A grey image gives the forward pass that projections reuse.
    const canvas = new OffscreenCanvas(32, 32);
    canvas.getContext('2d').fillRect(0, 0, 32, 32);
    const image = await canvas.convertToBlob();
    await call('predict', { image, pre: {} });
    const result = await call('bench', { runs, layer: 'conv1', projectLayer });
    engine.terminate();
    return result;
  }, { proto: [...readFileSync(proto)], weights: [...readFileSync(weights)], runs, projectLayer });
  const f = (t) => `${t[0].toFixed(3)} ms (min ${t[1].toFixed(3)}, max ${t[2].toFixed(3)})`;
  console.log(`${name}: forward ${f(r.forward)}; deconvnet from ${projectLayer} ${f(r.projection)} `
    + `(${(r.projection[0] / r.forward[0]).toFixed(2)}× the forward pass); tile conv1 ${f(r.tile)}`);
}
await b.close();
