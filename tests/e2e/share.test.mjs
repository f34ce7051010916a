// Shareable links: a view (model, images, preprocessing, filters, maps, a projected unit, Grad-CAM) is
// copied as a link and opened in a fresh tab, which must show the same state and the same pixels; for
// local files the fresh tab asks for them and checks each one's SHA-256.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, canvasPixels, compare, loadModel, noFixtures, openBrowser, serveModels, shared, viewState } from './helpers.mjs';

const PROTOTXT = join(CIFAR, 'cifar10_quick.prototxt');
const WEIGHTS = join(CIFAR, 'cifar10_quick_iter_4000.caffemodel');
const MEAN = join(CIFAR, 'mean_approx.binaryproto');
const IMAGE = (name) => shared(`fixtures/images/cifar10/${name}.jpg`);

let b;
let models;
before(async () => {
  if (noFixtures) return;
  b = await openBrowser();
  models = await serveModels({
    'cifar10_quick.prototxt': PROTOTXT,
    'cifar10_quick_iter_4000.caffemodel': WEIGHTS,
    'mean_approx.binaryproto': MEAN,
    'cat_0000.jpg': IMAGE('cat_0000'),
    'dog_0000.jpg': IMAGE('dog_0000'),
  });
});
after(async () => {
  await b?.close();
  models?.close();
});

async function samePixels(a, pageB, ids) {
  for (const id of ids) {
    const diff = compare(await canvasPixels(pageB, id), await canvasPixels(a, id));
    assert.equal(diff, '', `${id}: ${diff}`);
  }
}

// Waits until page B's view equals `want` (its drawing finishes in several steps), then checks it.
async function sameView(pageB, want) {
  const deadline = Date.now() + 20_000;
  let got;
  do {
    got = await viewState(pageB);
    if (JSON.stringify(got) === JSON.stringify(want)) break;
    await new Promise((ok) => setTimeout(ok, 100));
  } while (Date.now() < deadline);
  assert.deepEqual(got, want);
}

const hashOf = (data) => createHash('sha256').update(data).digest('hex');

test('a link to a view of models and images by URL restores it in a fresh tab', { skip: noFixtures, timeout: 120_000 }, async () => {
  const { page, errors } = b;
  await b.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: b.url.replace(/\/$/, '') });
  const file = (name) => `${models.url}cors/${name}`;
  const query = new URLSearchParams([['model', file('cifar10_quick.prototxt')], ['weights', file('cifar10_quick_iter_4000.caffemodel')],
    ['mean', file('mean_approx.binaryproto')], ['image', file('cat_0000.jpg')], ['image', file('dog_0000.jpg')]]);
  await page.goto(`${b.url}?${query}`);
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 2, null, { timeout: 20_000 });
  await page.waitForSelector('#results tr.current[data-file="cat_0000.jpg"]');

  // Change the view everywhere: preprocessing, the current image, filters, maps, a unit, methods, Grad-CAM.
  await page.selectOption('#pre-order', 'BGR');
  await page.waitForSelector('#results tr.current[data-file="cat_0000.jpg"][data-done]');
  await page.click('#results tr[data-file="dog_0000.jpg"]');
  await page.waitForSelector('#results tr.current[data-file="dog_0000.jpg"]');
  await page.click('#layers tr[data-layer="conv2"]');
  await page.selectOption('#norm', 'tile');
  await page.fill('#zoom', '3');
  await page.waitForSelector('#filter-canvas[data-layer="conv2"]');
  await page.click('#layers tr[data-layer="relu2"]');
  const maps = await page.waitForSelector('#activation-canvas[data-layer="relu2"][data-image="dog_0000.jpg"]');
  const m = await maps.evaluate((c) => Object.fromEntries(Object.entries(c.dataset).map(([k, v]) => [k, Number(v) || v])));
  const cell = (i, size, at) => (i * (size + m.pad) + at) * m.zoom + m.zoom / 2;
  await maps.click({ position: { x: cell(0, m.mapWidth, 5), y: cell(0, m.mapHeight, 9) } });
  await page.waitForSelector('#projection-deconvnet[data-layer="relu2"][data-channel="0"]');
  await page.selectOption('#proj-unit', 'clicked');
  await page.selectOption('#proj-render', 'signed');
  await page.selectOption('#proj-method', 'guided');
  // Unit (9, 5) of the first channel where it is active.
  let channel = 0;
  for (; channel < m.tiles; channel++) {
    await maps.click({ position: { x: cell(channel % m.grid, m.mapWidth, 5), y: cell(Math.floor(channel / m.grid), m.mapHeight, 9) } });
    await page.waitForSelector(`#projection-guided[data-layer="relu2"][data-channel="${channel}"][data-unit="9,5"][data-render="signed"]`);
    if (!/silent/.test(await page.textContent('#projection-info'))) break;
  }
  assert.ok(channel < m.tiles, 'no channel is active at (9, 5)');
  assert.ok(await page.isHidden('#fig-deconvnet'), 'one method shown');
  await page.click('#results tr.current details summary');
  await page.click('#results tr.current li:nth-child(2) button');
  await page.waitForSelector('#gradcam[data-layer="relu3"]');
  await page.selectOption('#gradcam-layer', 'conv2');
  await page.waitForSelector('#gradcam[data-layer="conv2"]');

  await page.click('#copy-link');
  await page.waitForFunction(() => /copied/.test(document.getElementById('copy-status').textContent));
  const link = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(link, page.url());
  const fields = new URLSearchParams(new URL(link).hash.slice(1));
  assert.equal(fields.get('model'), file('cifar10_quick.prototxt'));
  assert.deepEqual(fields.getAll('image'), [file('cat_0000.jpg'), file('dog_0000.jpg')]);
  assert.deepEqual(['current', 'order', 'filters', 'norm', 'zoom', 'maps', 'layer', 'channel', 'at', 'unit', 'method', 'render', 'camlayer']
    .map((k) => fields.get(k)), ['1', 'BGR', 'conv2', 'tile', '3', 'relu2', 'relu2', String(channel), '9,5', 'clicked', 'guided', 'signed', 'conv2']);
  const want = await viewState(page);
  console.log(`link: ${link}`);
  assert.deepEqual(Object.keys(want.canvases).sort(), ['activation-canvas', 'filter-canvas', 'gradcam', 'input-full', 'input-patch',
    'projection-guided', 'projection-guided-patch']);
  assert.equal(want.rows.filter((r) => r.current).map((r) => r.file).join(), 'dog_0000.jpg');

  const fresh = await b.newPage();
  await fresh.goto(link);
  await sameView(fresh, want);
  await samePixels(page, fresh, ['filter-canvas', 'activation-canvas', 'input-patch', 'input-full', 'projection-guided',
    'projection-guided-patch', 'gradcam']);
  assert.ok(await fresh.isHidden('#notice'));
  await fresh.close();
  assert.deepEqual(errors, []);
});

test('a link to local files asks for them, refuses a file with another hash, then restores the view',
  { skip: noFixtures, timeout: 120_000 }, async () => {
    const { page, errors } = b;
    const WRONG = join(CIFAR, 'cifar10_quick_iter_5000_v1.caffemodel');
    await b.open();
    assert.equal(await loadModel(page, [PROTOTXT, WEIGHTS, MEAN]), null);
    await page.setInputFiles('#image-files', [IMAGE('horse_0000'), IMAGE('ship_0000')]);
    await page.waitForSelector('#results tr.current[data-file="horse_0000.jpg"][data-done]');
    await page.fill('#mean-values', '3, 2, 1');
    await page.dispatchEvent('#mean-values', 'change');
    await page.click('#layers tr[data-layer="pool1"]');
    const maps = await page.waitForSelector('#activation-canvas[data-layer="pool1"]');
    await maps.click({ position: { x: 20, y: 20 } });
    await page.waitForSelector('#projection-deconvnet[data-layer="pool1"]');
    await page.waitForFunction(() => /image=local/.test(location.hash) && /meanv=3,2,1/.test(location.hash));
    const link = page.url();
    const fields = new URLSearchParams(new URL(link).hash.slice(1));
    assert.equal(fields.get('model'), `local:${hashOf(readFileSync(PROTOTXT))}:cifar10_quick.prototxt`);
    assert.equal(fields.get('weights'), `local:${hashOf(readFileSync(WEIGHTS))}:cifar10_quick_iter_4000.caffemodel`);
    const want = await viewState(page);
    assert.equal(want.controls['mean-values'], '3, 2, 1');
    assert.equal(want.canvases['projection-saliency']['layer'], 'pool1');

    const fresh = await b.newPage();
    await fresh.goto(link);
    await fresh.waitForSelector('#link-files:not([hidden])');
    const asked = await fresh.$$eval('#link-files-list li', (lis) => lis.map((li) => li.textContent));
    assert.deepEqual(asked, [PROTOTXT, WEIGHTS, MEAN, IMAGE('horse_0000'), IMAGE('ship_0000')].map((path) =>
      `${path.split('/').at(-1)} (SHA-256 ${hashOf(readFileSync(path)).slice(0, 12)}…): needed`));
    // Another file under the weights' name, then an unrelated file: both refused, nothing loads.
    await fresh.setInputFiles('#link-files-input', [{ name: 'cifar10_quick_iter_4000.caffemodel', mimeType: 'application/octet-stream', buffer: readFileSync(WRONG) }]);
    await fresh.waitForSelector('#error:not([hidden])');
    assert.match(await fresh.textContent('#error'), new RegExp(`^cifar10_quick_iter_4000\\.caffemodel is not the file this link shows: its SHA-256 starts ${hashOf(readFileSync(WRONG)).slice(0, 12)}, the link's starts ${hashOf(readFileSync(WEIGHTS)).slice(0, 12)}`));
    await fresh.setInputFiles('#link-files-input', [IMAGE('cat_0000')]);
    await fresh.waitForFunction(() => /cat_0000\.jpg .* is not one of this link's files/.test(document.getElementById('error').textContent));
    assert.ok(await fresh.isHidden('#network-section'));
    assert.equal(await fresh.$$eval('#link-files-list li[data-state="checked"]', (lis) => lis.length), 0);
    // The right files, in two goes.
    await fresh.setInputFiles('#link-files-input', [PROTOTXT, IMAGE('ship_0000')]);
    await fresh.waitForFunction(() => document.querySelectorAll('#link-files-list li[data-state="checked"]').length === 2);
    await fresh.setInputFiles('#link-files-input', [WEIGHTS, MEAN, IMAGE('horse_0000')]);
    await fresh.waitForSelector('#link-files', { state: 'hidden' });
    await sameView(fresh, want);
    assert.ok(await fresh.isHidden('#error'));
    await samePixels(page, fresh, ['filter-canvas', 'activation-canvas', 'input-patch', 'projection-deconvnet', 'projection-guided',
      'projection-saliency']);

    // Without clipboard access the link is selected in a text box (and copied the old way if it can be).
    await page.evaluate(() => { navigator.clipboard.writeText = () => Promise.reject(new Error('denied')); });
    await page.click('#copy-link');
    await page.waitForSelector('#link-text:not([hidden])');
    assert.equal(await page.inputValue('#link-text'), link);
    assert.match(await page.textContent('#copy-status'), /^(Link copied to the clipboard\.|Copy the selected link)/);

    // Cancelling the request leaves the page as it was.
    await fresh.goto('about:blank');
    await fresh.goto(link);
    await fresh.waitForSelector('#link-files:not([hidden])');
    await fresh.click('#link-files-cancel');
    await fresh.waitForSelector('#link-files', { state: 'hidden' });
    assert.equal(await fresh.textContent('#status'), 'Cancelled.');
    assert.ok(await fresh.isHidden('#error'));
    await fresh.close();
    assert.deepEqual(errors, []);
  });
