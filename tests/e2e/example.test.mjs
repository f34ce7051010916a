// The one-click example: the model, its mean and sample images copied by scripts/build-web.sh.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { noFixtures, openBrowser } from './helpers.mjs';

let b;
before(async () => { if (!noFixtures) b = await openBrowser(); });
after(async () => b?.close());

test('the example button loads CIFAR-10 quick and classifies its sample images', { skip: noFixtures }, async () => {
  const { page, errors } = b;
  await b.open();
  await page.click('#example-btn');
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 10);
  assert.match(await page.textContent('#status'), /^Loaded .* with mean mean_approx\.binaryproto/);
  const labels = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => tr.dataset.label));
  assert.equal(labels.length, 10);
  assert.ok(labels.every((l) => /^[a-z]+$/.test(l)), `CIFAR-10 class names, got ${labels}`);
  await page.waitForSelector('#filter-canvas[data-layer="conv1"]');
  assert.deepEqual(errors, []);
});
