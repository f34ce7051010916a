// Takes the README screenshot: node docs/screenshot.mjs (after scripts/build-web.sh; needs ../shared).
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { CIFAR, SHARED, openBrowser, loadModel } from '../tests/e2e/helpers.mjs';
const b = await openBrowser();
await b.open();
const { page } = b;
await page.setViewportSize({ width: 1280, height: 900 });
await loadModel(page, [join(CIFAR, 'cifar10_quick.prototxt'), join(CIFAR, 'cifar10_quick_iter_5000_v1.caffemodel'), join(CIFAR, 'mean_approx.binaryproto')]);
await page.click('#layers tr[data-layer="conv1"]');
await page.waitForSelector('#filter-canvas[data-layer="conv1"]');
const imgs = ['cat_0000', 'ship_0000', 'horse_0001', 'frog_0002'].map((n) => join(SHARED, 'fixtures/images/cifar10', n + '.jpg'));
await page.check('#use-mean-file').catch(() => {});
await page.setInputFiles('#image-files', imgs);
await page.waitForFunction(() => document.querySelectorAll('#results tbody tr').length >= 4);
await page.waitForTimeout(300);
await page.screenshot({ path: new URL('screenshot.png', import.meta.url).pathname, fullPage: true });
await b.close();
