// A whole training run of a built-in net in headless Chromium (the wasm Training class, the page's build, in a
// Web Worker as the page runs it), its solver's test passes as it goes: the accuracy reached and the time.
// lenet on the packed MNIST digits; cifar10_quick on CIFAR-10 batches made from the fixtures' images
// (tests/bench/cifar10_batches.mjs: 8,000 to train, 2,000 to test). The same run natively:
// zfvis train <net> --data … (the README gives both).
// Usage: node tests/bench/train_full.mjs lenet|cifar10_quick [--max-iter N]
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser } from '../e2e/helpers.mjs';

const [name = 'cifar10_quick', ...rest] = process.argv.slice(2);
const i = rest.indexOf('--max-iter');
const maxIter = i < 0 ? undefined : Number(rest[i + 1]);
let files;
if (name === 'lenet') {
  files = ['www/data/mnist.bin'];
} else {
  const dir = mkdtempSync(join(tmpdir(), 'zfvis-train-full-'));
  execFileSync('node', ['tests/bench/cifar10_batches.mjs', dir]);
  files = [join(dir, 'data_batch_1.bin'), join(dir, 'test_batch.bin')];
}
const b = await openBrowser();
await b.page.goto(b.url);
await b.page.evaluate(() => {
  document.body.append(Object.assign(document.createElement('input'), { type: 'file', id: 'full-files', multiple: true }));
});
await b.page.setInputFiles('#full-files', files);
b.page.on('console', (m) => console.log(m.text()));
const result = await b.page.evaluate(async ({ name, maxIter }) => {
  const source = `
    import { loadEngine } from '${location.origin}/wasm.js';
    onmessage = async ({ data: { name, maxIter, files } }) => {
      const m = await loadEngine();
      const bytes = async (f) => new Uint8Array(await f.arrayBuffer());
      let data;
      if (name === 'lenet') data = m.TrainingData.mnist(await bytes(files[0]));
      else {
        data = m.TrainingData.cifar10();
        data.addTrain(await bytes(files[0]), files[0].name);
        data.addTest(await bytes(files[1]), files[1].name);
      }
      const t = m.Training.builtin(name, data, { snapshot: 0, ...(maxIter ? { maxIter } : {}), seed: 1 });
      const tests = [];
      let busy = 0;
      const test = () => {
        const r = t.test();
        tests.push(r);
        postMessage({ log: 'iteration ' + r.iter + ': ' + JSON.stringify(r.accuracy) + ', loss ' + r.loss });
      };
      while (!t.finished) {
        if (t.testDue) test();
        const start = performance.now();
        t.run(t.maxIter - t.iter);
        busy += performance.now() - start;
      }
      if (tests.at(-1)?.iter !== t.iter) test();
      postMessage({ done: { iterations: t.iter, seconds: busy / 1000, build: m.build, tests } });
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module' });
  const files = [...document.getElementById('full-files').files];
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => (data.log ? console.log(data.log) : resolve(data.done));
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage({ name, maxIter, files });
  });
}, { name, maxIter });
const last = result.tests.at(-1);
console.log(`${name} in Chromium (${result.build}): ${result.iterations} iterations in ${result.seconds.toFixed(1)} s of training `
  + `(${(result.iterations / result.seconds).toFixed(2)} it/s); last test: ${JSON.stringify(last.accuracy)}, loss ${last.loss}`);
await b.close();
