// A panic in wasm (the worker's `debugPanic` op, there for this test) becomes a readable error naming the
// operation and the panic's message; the engine's worker is replaced and the model reloaded from the files
// the page holds, so every view works again without choosing the files anew. The same for a pool worker.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, loadModel, noFixtures, openBrowser, shared } from './helpers.mjs';

const MODEL = ['cifar10_quick.prototxt', 'cifar10_quick_iter_4000.caffemodel', 'mean_approx.binaryproto'].map((f) => join(CIFAR, f));
const IMAGES = ['cat_0000', 'ship_0000'].map((f) => shared(`fixtures/images/cifar10/${f}.jpg`));
const PANIC = /^Internal error in debugPanic: deliberate panic <b>“quoted”<\/b> \(at [^)]*lib\.rs:\d+\) — the engine was restarted/;

let b;
before(async () => { if (!noFixtures) b = await openBrowser(); });
after(async () => b?.close());

test('a wasm panic: a readable message, a new engine with the model, every view working again',
  { skip: noFixtures, timeout: 120_000 }, async () => {
    const { page, errors } = b;
    await b.open();
    assert.equal(await loadModel(page, MODEL), null);
    await page.setInputFiles('#image-files', IMAGES.slice(0, 1));
    await page.waitForSelector('#results tr.current[data-done]');
    const label = await page.getAttribute('#results tbody tr', 'data-label');
    await page.click('#layers tr[data-layer="relu1"]');
    await page.waitForSelector('#activation-canvas[data-layer="relu1"]');
    const status = await page.textContent('#status');

    // The panic: the call fails with the message, and the page says what happened once the model is back.
    const failed = await page.evaluate(() => {
      delete document.getElementById('activation-canvas').dataset.layer;
      return globalThis.zfvisEngine.call('debugPanic', { message: 'deliberate panic <b>“quoted”</b>' })
        .then(() => 'no error', (e) => e.message);
    });
    console.log(`the call: ${failed}`);
    assert.match(failed, PANIC);
    await page.waitForSelector('#error:not([hidden])');
    await page.waitForFunction(() => /model reloaded/.test(document.getElementById('error').textContent));
    const shown = await page.textContent('#error');
    console.log(`the page: ${shown}`);
    assert.match(shown, PANIC);
    assert.match(shown, /— the engine was restarted and the model reloaded\.$/);
    assert.equal(await page.$$eval('#error *', (es) => es.length), 0, 'the message is text');
    assert.equal(await page.textContent('#status'), status);

    // The current image is classified again by the new engine: its maps come back.
    await page.waitForSelector('#activation-canvas[data-layer="relu1"]');
    // Other views: another layer's maps, the filters, a projection, new images classified.
    await page.click('#layers tr[data-layer="conv2"]');
    await page.waitForSelector('#filter-canvas[data-layer="conv2"]');
    await page.click('#layers tr[data-layer="pool2"]');
    const maps = await page.waitForSelector('#activation-canvas[data-layer="pool2"]');
    const [h, w, zoom] = await maps.evaluate((c) => [c.dataset.mapHeight, c.dataset.mapWidth, c.dataset.zoom].map(Number));
    await maps.click({ position: { x: (w / 2) * zoom, y: (h / 2) * zoom } });
    await page.waitForSelector('#projection-deconvnet[data-layer="pool2"]');
    await page.setInputFiles('#image-files', IMAGES);
    await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 2);
    assert.equal(await page.getAttribute('#results tbody tr', 'data-label'), label, 'the same class as before the panic');
    assert.deepEqual(await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => tr.cells[1].textContent !== 'error')), [true, true]);
    assert.deepEqual(errors, []);
  });

test('a panic in a pool worker fails that job only: the next job reloads the model there', { skip: noFixtures, timeout: 60_000 }, async () => {
  const { page, errors } = b;
  const outcome = await page.evaluate(async () => {
    const { Pool } = await import('./pool.js');
    const files = [...document.getElementById('model-files').files];
    const named = (re) => files.find((f) => re.test(f.name));
    const pool = new Pool(2);
    pool.setModel({ prototxt: named(/\.prototxt$/), weights: named(/\.caffemodel$/) });
    const tile = (engine) => engine.call('tile', { layer: 'conv1', opts: { zoom: 1 } }).then((t) => t.tiles);
    const first = await pool.map([0, 1], tile);
    const panicked = await pool.map([0, 1, 2, 3], (engine, shard) => (shard === 1
      ? engine.call('debugPanic', { message: 'pool panic' }) : tile(engine))).then(() => 'no error', (e) => e.message);
    const after = await pool.map([0, 1, 2, 3], tile);
    pool.terminate();
    return { first, panicked, after };
  });
  console.log(outcome);
  assert.deepEqual(outcome.first, [32, 32]);
  assert.match(outcome.panicked, /^Internal error in debugPanic: pool panic \(at [^)]*\) — the engine was restarted$/);
  assert.deepEqual(outcome.after, [32, 32, 32, 32]);
  assert.deepEqual(errors, []);
});
