// Models by URL: `?model=` (and `&weights=` for Caffe) from a second, cross-origin server with progress bars,
// and a message naming the URL and the problem for a 404, a CORS refusal, an unreachable server, an HTML
// page, a Git LFS pointer, a truncated download and bytes that are no model; a good model loads after each.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, isFetchNoise, noFixtures, openBrowser, serveModels, shared } from './helpers.mjs';

let b;
let models;
let dir;
before(async () => {
  if (noFixtures) return;
  dir = mkdtempSync(join(tmpdir(), 'zfvis-url-'));
  // A fixed pseudo-random byte stream (xorshift): bytes that pass every download check but are no model.
  let x = 88172645;
  const random = Buffer.alloc(32 * 1024).map(() => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x & 0xff;
  });
  writeFileSync(join(dir, 'random.onnx'), random);
  b = await openBrowser();
  models = await serveModels({
    'mnist-8.onnx': shared('fixtures/onnx/mnist-8.onnx'),
    'cifar10_quick.prototxt': join(CIFAR, 'cifar10_quick.prototxt'),
    'cifar10_quick_iter_4000.caffemodel': join(CIFAR, 'cifar10_quick_iter_4000.caffemodel'),
    'random.onnx': join(dir, 'random.onnx'),
  });
});
after(async () => {
  await b?.close();
  models?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const outcome = (page) => page.waitForFunction(() => /^Loaded/.test(document.getElementById('status').textContent)
  || !document.getElementById('error').hidden, null, { timeout: 20_000 })
  .then(() => page.evaluate(() => (document.getElementById('error').hidden ? null : document.getElementById('error').textContent)));

// Loads through the page's URL form (the page stays: no reload between cases).
async function submit(page, model, weights = '') {
  await page.fill('#model-url', model);
  await page.fill('#weights-url', weights);
  await page.click('#url-load');
  return outcome(page);
}

const pageErrors = (errors) => errors.filter((e) => !isFetchNoise(e));

test('?model= loads an ONNX model with a determinate progress bar', { skip: noFixtures, timeout: 60_000 }, async () => {
  const { page, errors } = b;
  const model = `${models.url}slow/mnist-8.onnx`;
  await page.goto(`${b.url}?model=${encodeURIComponent(model)}`);
  const bar = await page.waitForSelector('#downloads:not([hidden]) #download-list progress', { timeout: 5000 });
  await page.waitForFunction(() => Number(document.querySelector('#download-list li')?.dataset.received) > 0);
  const { max, value, text } = await bar.evaluate((p) => ({ max: p.max, value: p.value, text: p.parentElement.textContent }));
  assert.equal(max, 26454, 'max is the Content-Length');
  assert.ok(value > 0 && value <= max, `value ${value}`);
  assert.match(text, /mnist-8\.onnx.*of 25\.8 KB/s);
  assert.equal(await outcome(page), null);
  assert.match(await page.textContent('#status'), /^Loaded mnist-8\.onnx/);
  assert.ok(await page.isHidden('#downloads'), 'the progress bars go once the files are in');
  const rows = await page.$$eval('#layers tbody tr[data-layer]', (trs) => trs.map((tr) => tr.cells[1].textContent));
  assert.equal(rows.length, 11);
  // The address bar now holds the view's link, with the model's URL.
  await page.waitForFunction(() => location.hash.startsWith('#model='));
  const link = new URLSearchParams(new URL(page.url()).hash.slice(1));
  assert.equal(link.get('model'), model);
  assert.equal(new URL(page.url()).search, '', 'the query form is replaced by the fragment');
  assert.deepEqual(pageErrors(errors), []);
  assert.deepEqual(errors, []);
});

test('without Content-Length the progress bar is indeterminate and counts bytes', { skip: noFixtures, timeout: 60_000 }, async () => {
  const { page, errors } = b;
  await page.goto(`${b.url}?model=${encodeURIComponent(`${models.url}chunked/mnist-8.onnx`)}`);
  await page.waitForSelector('#downloads:not([hidden]) #download-list progress:indeterminate', { timeout: 5000 });
  await page.waitForFunction(() => /\d+(\.\d)? KB received/.test(document.querySelector('#download-list li')?.textContent));
  assert.equal(await outcome(page), null);
  assert.deepEqual(errors, []);
});

test('?model=&weights= loads a Caffe model from two URLs', { skip: noFixtures, timeout: 60_000 }, async () => {
  const { page, errors } = b;
  const prototxt = `${models.url}slow/cifar10_quick.prototxt`;
  const weights = `${models.url}slow/cifar10_quick_iter_4000.caffemodel`;
  await page.goto(`${b.url}?${new URLSearchParams({ model: prototxt, weights })}`);
  await page.waitForFunction(() => document.querySelectorAll('#download-list progress').length === 2);
  assert.equal(await outcome(page), null);
  assert.match(await page.textContent('#status'), /^Loaded cifar10_quick\.prototxt \+ cifar10_quick_iter_4000\.caffemodel/);
  await page.waitForSelector('#filter-canvas[data-layer="conv1"]');
  await page.waitForFunction(() => location.hash.includes('weights='));
  const link = new URLSearchParams(new URL(page.url()).hash.slice(1));
  assert.equal(link.get('model'), prototxt);
  assert.equal(link.get('weights'), weights);
  assert.deepEqual(errors, []);
});

// A port nothing listens on.
const closedPort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => ok(port));
  });
});

test('each failed download says what happened and names the URL; a good model loads after each',
  { skip: noFixtures, timeout: 120_000 }, async () => {
    const { page, errors } = b;
    const good = `${models.url}cors/mnist-8.onnx`;
    const dead = `http://127.0.0.1:${await closedPort()}/mnist-8.onnx`;
    const cases = [
      ['404', `${models.url}cors/missing.onnx`, /HTTP 404 Not Found.*no file at that address/],
      ['CORS refusal', `${models.url}nocors/mnist-8.onnx`, /does not let other sites read it \(CORS/],
      ['unreachable server', dead, /could not be reached: the network or the server failed/],
      ['HTML page (Content-Type)', `${models.url}html/mnist-8.onnx`, /is a web page \(HTML\), not a model/],
      ['HTML page (first bytes)', `${models.url}sniff/mnist-8.onnx`, /is a web page \(HTML\), not a model/],
      ['Git LFS pointer', `${models.url}lfs/mnist-8.onnx`, /is a Git LFS pointer/],
      ['truncated download', `${models.url}truncated/mnist-8.onnx`, /broke off after .*: the file is truncated/],
    ];
    await b.open();
    for (const [what, url, problem] of cases) {
      const message = await submit(page, url);
      console.log(`${what}: ${message}`);
      assert.ok(message, `${what}: no error shown`);
      assert.ok(message.includes(url), `${what}: the message does not name ${url}`);
      assert.match(message, problem, what);
      assert.match(message, /^Could not download the model: /, what);
      assert.ok(await page.isHidden('#downloads'), `${what}: progress bars left behind`);
      assert.equal(await submit(page, good), null, `${what}: the good model did not load after it`);
      assert.ok(await page.isHidden('#error'));
    }

    // Bytes that pass those checks reach the engine, whose message is shown.
    const message = await submit(page, `${models.url}cors/random.onnx`);
    console.log(`not a model: ${message}`);
    assert.match(message ?? '', new RegExp(`^Could not load the model \\(random\\.onnx from ${models.url}cors/random\\.onnx\\): .{8,}`));
    assert.match(await page.textContent('#status'), /Still showing the previous model/);
    assert.equal(await submit(page, good), null);

    // A text file without weights is not taken for ONNX.
    assert.match(await submit(page, `${models.url}cors/cifar10_quick.prototxt`) ?? '', /also needs its weights/);
    assert.equal(await submit(page, `${models.url}cors/cifar10_quick.prototxt`, `${models.url}cors/cifar10_quick_iter_4000.caffemodel`), null);

    // The same from the address bar: a 404 by ?model=, then a good model.
    await page.goto(`${b.url}?model=${encodeURIComponent(`${models.url}cors/gone.onnx`)}`);
    assert.match(await outcome(page) ?? '', /gone\.onnx answered HTTP 404/);
    await page.goto(`${b.url}?model=${encodeURIComponent(good)}`);
    assert.equal(await outcome(page), null);
    assert.deepEqual(pageErrors(errors), [], 'only the browser\'s own network messages');
    errors.length = 0;
  });

test('the examples menu: ONNX zoo links by ?model=, and the bundled examples by relative URLs', { skip: noFixtures, timeout: 60_000 }, async () => {
  const { page, errors } = b;
  await b.open();
  const links = await page.$$eval('#example-links a', (as) => as.map((a) => ({ text: a.textContent, href: a.getAttribute('href') })));
  const zoo = links.filter((l) => !l.href.includes('examples/'));
  assert.deepEqual(zoo.map((l) => l.text), ['MNIST', 'SqueezeNet 1.1', 'AlexNet (BVLC)', 'ZFNet-512', 'VGG-16']);
  for (const { text, href } of zoo) {
    const params = new URLSearchParams(href.replace(/^\?/, ''));
    assert.deepEqual([...params.keys()], ['model'], text);
    assert.match(params.get('model'), /^https:\/\/media\.githubusercontent\.com\/media\/onnx\/models\/main\/validated\/vision\/classification\/[\w-]+\/model\/[\w.-]+\.onnx$/, text);
  }
  // The bundled examples (LeNet, committed; CIFAR-10 quick, copied by build-web.sh when the fixtures exist) are
  // links too.
  await page.click('#example-links a[href*="examples/cifar10_quick/"]');
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 10, null, { timeout: 20_000 });
  assert.match(await page.textContent('#status'), /^Loaded cifar10_quick\.prototxt \+ cifar10_quick_iter_4000\.caffemodel with mean mean_approx\.binaryproto/);
  await page.waitForFunction(() => location.hash.includes('image='));
  const fields = new URLSearchParams(new URL(page.url()).hash.slice(1));
  assert.equal(fields.get('model'), 'examples/cifar10_quick/cifar10_quick.prototxt');
  assert.equal(fields.getAll('image').length, 10);

  // The example button's files (LeNet's) are named by their URLs in links as well.
  await b.open();
  await page.click('#example-btn');
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 10, null, { timeout: 20_000 });
  await page.waitForFunction(() => location.hash.includes('image='));
  assert.equal(new URLSearchParams(new URL(page.url()).hash.slice(1)).get('weights'), 'examples/lenet/lenet_iter_10000.caffemodel');
  assert.deepEqual(errors, []);
});
