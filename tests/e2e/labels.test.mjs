// A labels file names LeNet's classes, and an image pasted into the page is classified.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LENET, loadModel, noFixtures, openBrowser, shared } from './helpers.mjs';

let b;
before(async () => { if (!noFixtures) b = await openBrowser(); });
after(async () => b?.close());

test('LeNet with a labels file; a pasted digit', { skip: noFixtures }, async () => {
  const { page, errors } = b;
  await b.open();
  const labels = join(mkdtempSync(join(tmpdir(), 'zfvis-labels-')), 'digits.txt');
  writeFileSync(labels, ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'].join('\n'));
  assert.equal(await loadModel(page, [join(LENET, 'lenet.prototxt'), join(LENET, 'lenet_iter_10000.caffemodel'), labels]), null);
  // The labels apply once the model is in; wait for that before classifying.
  await page.waitForFunction(() => /10 class names from digits\.txt/.test(document.getElementById('status').textContent));
  await page.fill('#scale', '0.00390625');
  await page.dispatchEvent('#scale', 'change');

  const digit = [...readFileSync(shared('fixtures/images/mnist/wonnx_5.jpg'))];
  await page.evaluate((bytes) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], 'five.jpg', { type: 'image/jpeg' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data }));
  }, digit);
  await page.waitForSelector('#results tr[data-done]');
  const row = await page.$eval('#results tbody tr', (tr) => ({ ...tr.dataset }));
  assert.equal(row.file, 'five.jpg');
  assert.equal(row.label, 'five');
  assert.ok(Number(row.prob) > 0.99);
  assert.deepEqual(errors, []);
});
