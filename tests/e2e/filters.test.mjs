// The network table and conv1's filter grid; the canvas must equal the CLI's tiling byte for byte.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARTIFACTS, CIFAR, CLI, canvasPixels, compare, decodePng, loadModel, noFixtures, openBrowser } from './helpers.mjs';

const LAYERS = [
  ['conv1', '1×32×32×32'], ['pool1', '1×32×16×16'], ['relu1', '1×32×16×16'],
  ['conv2', '1×32×16×16'], ['relu2', '1×32×16×16'], ['pool2', '1×32×8×8'],
  ['conv3', '1×64×8×8'], ['relu3', '1×64×8×8'], ['pool3', '1×64×4×4'],
  ['ip1', '1×64'], ['ip2', '1×10'], ['prob', '1×10'],
];

describe('filter grid of cifar10_quick conv1', { skip: noFixtures }, () => {
  let b;
  before(async () => { b = await openBrowser(); });
  after(async () => b?.close());

  for (const weights of ['cifar10_quick_iter_4000.caffemodel', 'cifar10_quick_iter_5000.caffemodel.h5']) {
    test(weights, async () => {
      const { page, errors } = b;
      const prototxt = join(CIFAR, 'cifar10_quick.prototxt');
      await b.open();
      assert.equal(await loadModel(page, [prototxt, join(CIFAR, weights)]), null);

      const rows = await page.$$eval('#layers tbody tr[data-layer]', (trs) =>
        trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
      assert.deepEqual(rows.map(([name, , shape]) => [name, shape]), LAYERS);
      assert.deepEqual(rows[0].slice(1, 4), ['Convolution', '1×32×32×32', '2,432']);

      await page.click('#layers tr[data-layer="conv1"]');
      await page.waitForSelector('#filter-canvas[data-layer="conv1"]');
      const canvas = await page.$eval('#filter-canvas', (c) => ({ ...c.dataset }));
      assert.equal(canvas.tiles, '32');
      assert.deepEqual(canvas.grid.match(/\d+/g), ['6', '6']);
      const zoom = await page.inputValue('#zoom');
      assert.equal(zoom, '11');
      assert.equal(await page.inputValue('#channel-order'), 'RGB');
      const got = await canvasPixels(page);
      await page.screenshot({ path: join(ARTIFACTS, `conv1-${weights}.png`), fullPage: true });

      assert.ok(existsSync(CLI), `${CLI} is missing: run \`cargo build --release -p zfvis-cli\``);
      const out = join(ARTIFACTS, `conv1-${weights}.cli.png`);
      rmSync(out, { force: true });
      execFileSync(CLI, ['tile', prototxt, join(CIFAR, weights), '--layer', 'conv1', '--norm', 'global',
        '--pad', '1', '--zoom', zoom, '--channel-order', 'RGB', '-o', out]);
      assert.ok(existsSync(out), `\`zfvis tile\` wrote no ${out}`);
      const want = decodePng(out);
      assert.equal(compare(got, want), '', 'canvas differs from the CLI tiling');

      // The downloaded PNG holds the same pixels.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-btn')]);
      const saved = join(ARTIFACTS, `conv1-${weights}.download.png`);
      await download.saveAs(saved);
      assert.equal(compare(decodePng(saved), want), '', 'downloaded PNG differs from the CLI tiling');
      assert.deepEqual(errors, []);
    });
  }
});
