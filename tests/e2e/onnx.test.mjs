// An ONNX model in the page: mnist-8 loads, its table shows the ONNX nodes, and a digit is classified.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadModel, noFixtures, openBrowser, shared } from './helpers.mjs';

let b;
before(async () => { if (!noFixtures) b = await openBrowser(); });
after(async () => b?.close());

test('mnist-8.onnx classifies a 5', { skip: noFixtures }, async () => {
  const { page, errors } = b;
  await b.open();
  assert.equal(await loadModel(page, [shared('fixtures/onnx/mnist-8.onnx')]), null);
  const rows = await page.$$eval('#layers tbody tr[data-layer]', (trs) => trs.map((tr) => tr.cells[1].textContent));
  assert.deepEqual(rows, ['Conv', 'Add', 'Relu', 'MaxPool', 'Conv', 'Add', 'Relu', 'MaxPool', 'Reshape', 'MatMul', 'Add']);
  await page.fill('#scale', String(1 / 255));
  await page.setInputFiles('#image-files', [shared('fixtures/images/mnist/wonnx_5.jpg')]);
  await page.waitForSelector('#results tr[data-done]');
  const row = await page.$eval('#results tbody tr', (tr) => ({ ...tr.dataset }));
  assert.equal(row.label, 'class 5');
  assert.ok(Number(row.prob) > 0.99 && Number(row.prob) <= 1, 'logits are shown as probabilities');
  assert.deepEqual(errors, []);
});
