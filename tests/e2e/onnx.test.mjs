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

  // Every view on the ONNX graph: filters, maps, the three projections through its pooling switches, Grad-CAM.
  const layers = await page.$$eval('#layers tbody tr[data-layer]', (trs) => trs.map((tr) => tr.dataset.layer));
  const [conv2, relu2] = [layers[4], layers[6]];
  await page.click(`#layers tr[data-layer="${conv2}"]`);
  await page.waitForSelector(`#filter-canvas[data-layer="${conv2}"]`);
  await page.click(`#layers tr[data-layer="${relu2}"]`);
  const maps = await page.waitForSelector(`#activation-canvas[data-layer="${relu2}"]`);
  const m = await maps.evaluate((c) => Object.fromEntries(Object.entries(c.dataset).map(([k, v]) => [k, Number(v) || v])));
  assert.deepEqual([m.tiles, m.mapHeight, m.mapWidth], [16, 14, 14]);
  const cell = (size) => (size / 2) * m.zoom;
  await maps.click({ position: { x: cell(m.mapWidth), y: cell(m.mapHeight) } });
  for (const method of ['deconvnet', 'guided', 'saliency']) {
    const c = await page.waitForSelector(`#projection-${method}[data-layer="${relu2}"]`);
    assert.deepEqual(await c.evaluate((c) => [c.dataset.width, c.dataset.height]), ['28', '28'], method);
  }
  const pixels = await page.$eval('#projection-deconvnet', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return new Set(d).size;
  });
  assert.ok(pixels > 2, 'the deconvnet projection is blank');
  await page.click('#results tbody tr details summary');
  await page.click('#results tbody tr li:first-child button');
  await page.waitForSelector('#gradcam[data-class="5"]');
  assert.deepEqual(errors, []);
});
