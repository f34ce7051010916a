// Long work started by the user can be cancelled: loading a large model from a local file (the previous model
// comes back), and classifying a long list of images. (Batch jobs, downloads and training have their own
// cancel tests in jobs, url-load and train.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, onnxWithWeights, openBrowser } from './helpers.mjs';

let b;
const dir = mkdtempSync(join(tmpdir(), 'zfvis-cancel-'));
before(async () => { b = await openBrowser(); });
after(async () => {
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

const status = (page) => page.textContent('#status');

test('loading a 553 MB model can be cancelled: the example model comes back and still classifies', { timeout: 300_000 }, async () => {
  const { page, errors } = b;
  await b.open();
  await page.click('#example-btn');
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 10);
  const before = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => tr.dataset.label));

  const vgg = join(dir, 'vgg16.onnx');
  writeFileSync(vgg, onnxWithWeights('vgg16'));
  await page.setInputFiles('#model-files', vgg);
  await page.waitForSelector('#load-cancel:not([hidden])');
  assert.match(await status(page), /^Loading vgg16\.onnx/);
  await page.click('#load-cancel');
  await page.waitForFunction(() => /^Loaded lenet/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
  assert.ok(await page.isHidden('#load-cancel'));
  assert.ok(await page.isHidden('#error'));
  // The table still describes LeNet, and the engine classifies with it again.
  await page.setInputFiles('#image-files', [3, 7].map((d) => join(ROOT, `www/examples/lenet/digit_${d}.png`)));
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 2);
  const labels = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => tr.dataset.label));
  assert.deepEqual(labels, ['class 3', 'class 7']);
  assert.ok(before.includes('class 3'));
  assert.deepEqual(errors, []);
});

test('classifying a long list of images can be stopped', { timeout: 300_000 }, async () => {
  const { page, errors } = b;
  await b.open();
  const alexnet = join(dir, 'alexnet.onnx');
  writeFileSync(alexnet, onnxWithWeights('alexnet'));
  await page.setInputFiles('#model-files', alexnet);
  await page.waitForFunction(() => /^Loaded alexnet/.test(document.getElementById('status').textContent), null, { timeout: 120_000 });
  const images = Array.from({ length: 40 }, (_, i) => join(ROOT, `www/examples/lenet/digit_${i % 10}.png`));
  await page.setInputFiles('#image-files', images);
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length >= 2, null, { timeout: 60_000 });
  await page.click('#classify-stop');
  const stopped = await page.textContent('#results-status');
  const done = Number(/^Stopped after (\d+) of 40 images\.$/.exec(stopped)?.[1]);
  assert.ok(done >= 2 && done < 40, stopped);
  await page.waitForTimeout(1500);
  assert.equal(await page.$$eval('#results tbody tr', (trs) => trs.length), done, 'no row is added after the stop');
  assert.equal(await page.textContent('#results-status'), stopped);
  assert.ok(await page.isHidden('#classify-stop'));
  assert.deepEqual(errors, []);
});
