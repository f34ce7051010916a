// A unit's projection to the image: relu2's maps for a cat, a click on channel 6, and the page's deconvnet
// projection must equal `zfvis project` byte for byte; then Grad-CAM of the top class.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ARTIFACTS, CIFAR, CLI, canvasPixels, compare, decodePng, loadModel, noFixtures, openBrowser, shared } from './helpers.mjs';

const MODEL = ['cifar10_quick.prototxt', 'cifar10_quick_iter_5000_v1.caffemodel'].map((f) => join(CIFAR, f));
const MEAN = join(CIFAR, 'mean_approx.binaryproto');
const CAT = shared('fixtures/images/cifar10/cat_0000.jpg');
const CHANNEL = 6;

let b;
before(async () => { if (!noFixtures) b = await openBrowser(); });
after(async () => b?.close());

test('relu2 channel 6 of a cat: deconvnet projection equals the CLI', { skip: noFixtures, timeout: 120_000 }, async () => {
  const { page, errors } = b;
  await b.open();
  assert.equal(await loadModel(page, [...MODEL, MEAN]), null);
  await page.selectOption('#pre-order', 'RGB');
  await page.setInputFiles('#image-files', [CAT]);
  await page.waitForSelector('#results tr.current[data-done]');
  assert.equal(await page.getAttribute('#results tbody tr', 'data-label'), 'cat');

  // The maps of relu2, each with its strongest unit outlined; click the middle of channel 6's map.
  await page.click('#layers tr[data-layer="relu2"]');
  const maps = await page.waitForSelector('#activation-canvas[data-layer="relu2"]');
  const m = await maps.evaluate((c) => Object.fromEntries(Object.entries(c.dataset).map(([k, v]) => [k, Number(v) || v])));
  assert.deepEqual([m.tiles, m.grid, m.mapHeight, m.mapWidth], [32, 6, 16, 16]);
  const cell = (i, size) => (i * (size + m.pad) + size / 2) * m.zoom + m.zoom / 2;
  await maps.click({ position: { x: cell(CHANNEL % m.grid, m.mapWidth), y: cell(Math.floor(CHANNEL / m.grid), m.mapHeight) } });

  const key = `[data-layer="relu2"][data-channel="${CHANNEL}"][data-unit="max"]`;
  await page.waitForSelector(`#projection-deconvnet${key}`);
  for (const id of ['projection-guided', 'projection-saliency', 'input-patch']) {
    assert.deepEqual(await page.$eval(`#${id}`, (c) => [c.dataset.width, c.dataset.height]), ['32', '32'], id);
  }
  // The patches are cropped to the receptive field of the strongest unit.
  const patch = await page.$eval('#projection-deconvnet-patch', (c) => [c.width, c.height]);
  assert.ok(patch[0] < 32 && patch[1] < 32, `patch ${patch} is not cropped`);
  assert.match(await page.textContent('#projection-info'), /receptive field x \d+–\d+, y \d+–\d+/);
  const got = await canvasPixels(page, 'projection-deconvnet');

  // The clicked unit: the middle of the map, (8, 8), in the signed rendering.
  await page.selectOption('#proj-unit', 'clicked');
  await page.selectOption('#proj-render', 'signed');
  await page.waitForSelector(`#projection-saliency[data-channel="${CHANNEL}"][data-unit="8,8"][data-render="signed"]`);
  assert.match(await page.textContent('#projection-info'), /unit \(y 8, x 8\)/);

  // Grad-CAM of the top class at the default layer.
  await page.click('#results tbody tr details summary');
  await page.click('#results tbody tr li:first-child button');
  await page.waitForSelector('#gradcam[data-layer="relu3"][data-class="3"]');
  assert.deepEqual(await page.$eval('#gradcam', (c) => [c.width, c.height]), [32, 32]);
  await page.screenshot({ path: join(ARTIFACTS, 'projection.png'), fullPage: true });

  assert.ok(existsSync(CLI), `${CLI} is missing: run \`cargo build --release -p zfvis-cli\``);
  const out = join(ARTIFACTS, 'projection.cli.png');
  rmSync(out, { force: true });
  execFileSync(CLI, ['project', ...MODEL, '--image', CAT, '--mean', MEAN, '--channel-order', 'RGB', '--layer', 'relu2',
    '--channel', String(CHANNEL), '--unit', 'max', '--method', 'deconvnet', '-o', out]);
  assert.equal(compare(got, decodePng(out)), '', 'projection differs from the CLI');
  assert.deepEqual(errors, []);
});
