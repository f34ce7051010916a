// The one-click example: LeNet trained by this project's trainer (www/examples/lenet, committed), its sample
// digits and its snapshots; and CIFAR-10 quick from the examples menu when the fixtures are there.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { noFixtures, openBrowser } from './helpers.mjs';

let b;
before(async () => { b = await openBrowser(); });
after(async () => b?.close());

test('opened with no model, the page offers the LeNet example: digits classified, snapshots ready', async () => {
  const { page, errors } = b;
  await b.open();
  assert.match(await page.textContent('#example-btn'), /LeNet, trained here/);
  await page.click('#example-btn');
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 10);
  const rows = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => [tr.dataset.file, tr.dataset.label]));
  const right = rows.filter(([file, label]) => label === `class ${/digit_(\d)/.exec(file)[1]}`);
  console.log(`the example classifies ${right.length} of its 10 sample digits as their digit`);
  assert.ok(right.length >= 9, `digits and their classes: ${rows.join('; ')}`);
  await page.waitForSelector('#filter-canvas[data-layer="conv1"]');
  // The snapshots went to the training-evolution view: comparing them needs no file picking.
  await page.waitForFunction(() => document.querySelector('#evolution-info').textContent !== '');
  assert.match(await page.textContent('#evolution-info'), /3 snapshot\(s\), in this order: iter 200, iter 1000, iter 10000/);
  await page.click('#evolution-run');
  await page.waitForFunction(() => document.querySelector('#evolution-section').dataset.state === 'done', null,
    { timeout: 120_000 });
  assert.deepEqual(errors, []);
});

test('the CIFAR-10 quick example loads from the examples menu', { skip: noFixtures }, async () => {
  const { page, errors } = b;
  await b.open();
  await page.click('#example-links a:has-text("CIFAR-10 quick")');
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 10, null,
    { timeout: 120_000 });
  assert.match(await page.textContent('#status'), /^Loaded .* with mean mean_approx\.binaryproto/);
  const labels = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => tr.dataset.label));
  assert.ok(labels.every((l) => /^[a-z]+$/.test(l)), `CIFAR-10 class names, got ${labels}`);
  assert.deepEqual(errors, []);
});
