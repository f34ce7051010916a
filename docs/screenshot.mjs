// Takes the README screenshot: node docs/screenshot.mjs (after scripts/build-web.sh; needs ../shared).
// CIFAR-10 quick with its mean, four test images, conv1's filters, relu2's maps and one map's projections.
import { join } from 'node:path';
import { CIFAR, SHARED, openBrowser, loadModel } from '../tests/e2e/helpers.mjs';

const b = await openBrowser();
await b.open();
const { page } = b;
await page.setViewportSize({ width: 1280, height: 900 });
await loadModel(page, ['cifar10_quick.prototxt', 'cifar10_quick_iter_5000_v1.caffemodel', 'mean_approx.binaryproto']
  .map((f) => join(CIFAR, f)));
await page.click('#layers tr[data-layer="conv1"]');
await page.waitForSelector('#filter-canvas[data-layer="conv1"]');
const images = ['cat_0000', 'ship_0000', 'horse_0001', 'frog_0002'].map((n) => join(SHARED, 'fixtures/images/cifar10', `${n}.jpg`));
await page.setInputFiles('#image-files', images);
await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 4);
await page.click('#layers tr[data-layer="relu2"]');
const maps = await page.waitForSelector('#activation-canvas[data-layer="relu2"]');
const m = await maps.evaluate((c) => Object.fromEntries(Object.entries(c.dataset).map(([k, v]) => [k, Number(v) || v])));
const cell = (i, size) => (i * (size + m.pad) + size / 2) * m.zoom;
await maps.click({ position: { x: cell(6 % m.grid, m.mapWidth), y: cell(Math.floor(6 / m.grid), m.mapHeight) } });
await page.waitForSelector('#projection-deconvnet[data-channel="6"]');
await page.click('#results tbody tr details summary');
await page.click('#results tbody tr li:first-child button');
await page.waitForSelector('#gradcam[data-class="3"]');
// Playwright's clicks scroll the wide layers table sideways; show it from its first column.
await page.$$eval('.scroll', (els) => els.forEach((e) => { e.scrollLeft = 0; }));
await page.screenshot({ path: new URL('screenshot.png', import.meta.url).pathname, fullPage: true });
await b.close();
