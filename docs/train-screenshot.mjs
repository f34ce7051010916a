// Takes the README's training screenshot: node docs/train-screenshot.mjs (after scripts/build-web.sh).
// The Train section after 600 iterations of the built-in LeNet: loss and accuracy curves, conv1's filters,
// the snapshots.
import { openBrowser } from '../tests/e2e/helpers.mjs';

const b = await openBrowser();
await b.open();
const { page } = b;
await page.setViewportSize({ width: 1280, height: 900 });
await page.selectOption('#train-net', 'lenet');
await page.fill('#train-iters', '600');
await page.fill('#train-snapshot', '200');
await page.fill('#train-test-every', '100');
await page.fill('#train-seed', '1');
await page.click('#train-start');
await page.waitForFunction(() => document.getElementById('train-section').dataset.state === 'done', null, { timeout: 120_000 });
const section = await page.$('#train-section');
await section.screenshot({ path: new URL('train.png', import.meta.url).pathname });
await b.close();
