// No data leaves the machine: every request the browser makes while the page is used (the page and its
// workers: load from files, from a URL, every view, every job, training) goes to the page's own origin or
// to the model URL the user chose. No font, no CDN, no analytics. The count of requests by origin and type
// is printed.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, drag, finished, loadModel, noFixtures, openBrowser, serveModels, shared } from './helpers.mjs';

const MODEL = ['cifar10_quick.prototxt', 'cifar10_quick_iter_4000.caffemodel', 'mean_approx.binaryproto'].map((f) => join(CIFAR, f));
const NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const IMAGES = NAMES.map((n) => shared(`fixtures/images/cifar10/${n}_0000.jpg`));

let b;
let models;
const requests = []; // {url, type}
before(async () => {
  if (noFixtures) return;
  b = await openBrowser();
  // Requests of the pages and of their dedicated workers (Playwright reports both to the context).
  b.context.on('request', (r) => requests.push({ url: r.url(), type: r.resourceType() }));
  models = await serveModels({
    'mnist-8.onnx': shared('fixtures/onnx/mnist-8.onnx'),
    'cifar10_quick.prototxt': join(CIFAR, 'cifar10_quick.prototxt'),
    'cifar10_quick_iter_4000.caffemodel': join(CIFAR, 'cifar10_quick_iter_4000.caffemodel'),
  });
});
after(async () => {
  await b?.close();
  models?.close();
});

const errorText = (page) => page.evaluate(() => (document.getElementById('error').hidden ? null : document.getElementById('error').textContent));

test('every request goes to the page\'s origin or to the chosen model URL\'s', { skip: noFixtures, timeout: 600_000 }, async () => {
  const { page, errors } = b;
  const pageOrigin = new URL(b.url).origin;
  const modelOrigin = new URL(models.url).origin;
  assert.notEqual(pageOrigin, modelOrigin);
  await b.open();
  await page.waitForLoadState('networkidle');

  // From files: a Caffe model with its mean, images, every view of the current image.
  assert.equal(await loadModel(page, MODEL), null);
  await page.selectOption('#pre-order', 'RGB');
  await page.setInputFiles('#image-files', IMAGES.slice(0, 3));
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 3);
  await page.waitForSelector('#filter-canvas[data-layer="conv1"]');
  await page.fill('#zoom', '6');
  await page.click('#layers tr[data-layer="relu2"]');
  await page.waitForSelector('#activation-canvas[data-layer="relu2"]');
  await page.click('#activation-canvas', { position: { x: 10, y: 10 } });
  for (const method of ['deconvnet', 'guided', 'saliency']) await page.waitForSelector(`#projection-${method}[data-layer="relu2"]`);
  await page.click('#results tbody tr details summary');
  await page.click('#results tbody tr li:first-child button');
  await page.waitForSelector('#gradcam[data-class]');

  // Every job: occlusion of the current image, top-9 over an image set, invariance, correspondence, evolution.
  await page.fill('#occ-size', '8');
  await page.fill('#occ-stride', '4');
  await page.click('#occ-run');
  assert.equal(await finished(page, 'occ-progress'), 'done');
  await page.setInputFiles('#set-files', IMAGES);
  await page.waitForFunction(() => /^10 images/.test(document.getElementById('set-status').textContent));
  await page.selectOption('#topk-layer', 'conv1');
  await page.click('#topk-run');
  assert.equal(await finished(page, 'topk-progress'), 'done');
  await page.waitForFunction(() => document.getElementById('topk-section').dataset.page !== undefined, null, { timeout: 60_000 });
  await page.waitForFunction(() => !document.getElementById('inv-run').disabled);
  await page.fill('#inv-count', '2');
  await page.click('#inv-run');
  await page.waitForFunction(() => document.getElementById('invariance-section').dataset.result
    || !document.getElementById('error').hidden, null, { timeout: 120_000 });
  assert.equal(await errorText(page), null);
  await page.fill('#corr-count', '5');
  await page.click('#corr-load');
  await page.waitForFunction(() => document.querySelectorAll('#corr-marks canvas').length === 5);
  await drag(page, 0, [10, 12], [17, 17]);
  for (const [i, yx] of [[1, [12, 14]], [2, [3, 3]], [3, [28, 28]], [4, [16, 16]]]) await drag(page, i, yx, yx);
  await page.fill('#corr-draws', '2');
  await page.click('#corr-run');
  await page.waitForFunction(() => document.getElementById('correspondence-section').dataset.result
    || document.getElementById('corr-progress').dataset.state === 'failed', null, { timeout: 120_000 });
  assert.ok(await page.getAttribute('#correspondence-section', 'data-result'));
  await page.setInputFiles('#evolution-files', ['cifar10_quick_iter_5000.caffemodel.h5', 'cifar10_quick_iter_4000.caffemodel'].map((f) => join(CIFAR, f)));
  await page.selectOption('#evolution-filters', 'conv1');
  await page.selectOption('#evolution-layer', 'conv2');
  await page.fill('#evolution-channels', '0-1');
  await page.click('#evolution-run');
  await page.waitForFunction(() => ['done', 'failed', 'cancelled'].includes(document.getElementById('evolution-section').dataset.state),
    null, { timeout: 180_000 });
  assert.equal(await page.$eval('#evolution-section', (e) => e.dataset.state), 'done', await errorText(page));

  // Training: a few LeNet iterations on the page's MNIST digits, in the training worker.
  await page.selectOption('#train-net', 'lenet');
  await page.fill('#train-iters', '20');
  await page.fill('#train-snapshot', '10');
  await page.fill('#train-test-every', '10');
  await page.click('#train-start');
  await page.waitForFunction(() => ['done', 'failed', 'stopped'].includes(document.getElementById('train-section').dataset.state),
    null, { timeout: 120_000 });
  assert.equal(await page.$eval('#train-section', (e) => e.dataset.state), 'done');

  // From a URL: ?model= (ONNX), then the URL form (Caffe, two URLs), each with a view.
  await page.goto(`${b.url}?model=${encodeURIComponent(`${models.url}cors/mnist-8.onnx`)}`);
  await page.waitForFunction(() => /^Loaded mnist-8\.onnx/.test(document.getElementById('status').textContent), null, { timeout: 30_000 });
  await page.waitForSelector('#filter-canvas[data-layer]');
  await page.fill('#model-url', `${models.url}cors/cifar10_quick.prototxt`);
  await page.fill('#weights-url', `${models.url}cors/cifar10_quick_iter_4000.caffemodel`);
  await page.click('#url-load');
  await page.waitForFunction(() => /^Loaded cifar10_quick\.prototxt/.test(document.getElementById('status').textContent), null, { timeout: 30_000 });
  await page.waitForSelector('#filter-canvas[data-layer="conv1"]');
  // The bundled example, from the page's own site.
  await page.click('#example-btn');
  await page.waitForFunction(() => /^Loaded lenet/.test(document.getElementById('status').textContent), null, { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length >= 10, null, { timeout: 30_000 });
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(500);

  // The count by origin and type.
  const counts = {};
  for (const r of requests) {
    const u = new URL(r.url);
    const origin = ['data:', 'blob:'].includes(u.protocol) ? u.protocol
      : u.origin === pageOrigin ? `page ${u.origin}` : u.origin === modelOrigin ? `model URL ${u.origin}` : `OTHER ${u.origin}`;
    const key = `${origin} ${r.type}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  console.log(`${requests.length} requests:`);
  for (const [key, n] of Object.entries(counts).sort()) console.log(`  ${String(n).padStart(4)}  ${key}`);

  const foreign = requests.filter((r) => {
    const u = new URL(r.url);
    return !['data:', 'blob:'].includes(u.protocol) && u.origin !== pageOrigin && u.origin !== modelOrigin;
  });
  assert.deepEqual(foreign, [], 'requests to other origins');
  assert.deepEqual(requests.filter((r) => r.type === 'font'), [], 'no font is loaded');
  // Everything asked of the model server is the two model URLs' files.
  const modelPaths = new Set(requests.filter((r) => new URL(r.url).origin === modelOrigin).map((r) => new URL(r.url).pathname));
  assert.deepEqual([...modelPaths].sort(), ['/cors/cifar10_quick.prototxt', '/cors/cifar10_quick_iter_4000.caffemodel', '/cors/mnist-8.onnx']);
  assert.deepEqual([...new Set(models.requests)].sort(), [...modelPaths].sort());

  // The recording is complete: it holds every path the page's server served, the workers' too (their
  // scripts; the wasm module and the MNIST digits, which only workers fetch; the layout library).
  const recorded = new Set(requests.filter((r) => r.url.startsWith(pageOrigin)).map((r) => new URL(r.url).pathname));
  assert.deepEqual([...new Set(b.served)].filter((p) => !recorded.has(p)), [], 'served but not recorded');
  for (const path of ['/worker.js', '/train-worker.js', '/layout-worker.js', '/pkg-relaxed/zfvis_web_bg.wasm', '/vendor/dagre.esm.js', '/data/mnist.bin']) {
    assert.ok([...recorded].some((p) => p === path || (path.includes('pkg-relaxed') && p === '/pkg/zfvis_web_bg.wasm')), `${path} was not recorded`);
  }
  assert.deepEqual(errors, []);
});
