// The 100 CIFAR-10 test JPEGs through the page: every top-1 must equal the reference's.
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, loadModel, manifest, noFixtures, openBrowser, readNpy, shared } from './helpers.mjs';

let b;
before(async () => { if (!noFixtures) b = await openBrowser(); });
after(async () => b?.close());

test('cifar10_quick v1 classifies the 100 test JPEGs like the reference', { skip: noFixtures, timeout: 300_000 }, async () => {
  const { page, errors } = b;
  const { files, top1, prob_cv2: probPath } = manifest().models.cifar10_quick_iter_5000_v1.test_subset;
  const ref = readNpy(shared(probPath));
  await b.open();
  const error = await loadModel(page, ['cifar10_quick.prototxt', 'cifar10_quick_iter_5000_v1.caffemodel',
    'mean_approx.binaryproto'].map((f) => join(CIFAR, f)));
  assert.equal(error, null);
  assert.ok(await page.isChecked('#use-mean-file'), 'the mean file is in use');
  await page.selectOption('#pre-order', 'RGB');
  await page.fill('#mean-values', '');
  await page.fill('#scale', '1');

  await page.setInputFiles('#image-files', files.map(shared));
  await page.waitForFunction((n) => document.querySelectorAll('#results tr[data-done]').length === n,
    files.length, { timeout: 240_000 });
  const got = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => [tr.dataset.file, tr.dataset.label, Number(tr.dataset.prob)]));

  assert.deepEqual(got.map(([file]) => file), files.map((f) => basename(f)));
  const wrong = got.flatMap(([file, label], i) => (label === top1[i] ? [] : [`${file}: ${label}, reference ${top1[i]}`]));
  // The top-1 probability against OpenCV's for the same class: equal decoding gives float-level agreement.
  const classes = ref.shape[1];
  const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  const probErr = Math.max(...got.map(([, label, p], i) => Math.abs(p - ref.data[i * classes + names.indexOf(label)])));
  console.log(`top-1 equal to the reference for ${files.length - wrong.length} of ${files.length} images; `
    + `max |p − p_ref| of the top-1 ${probErr.toExponential(2)}`);
  assert.ok(probErr <= 1e-4, `top-1 probabilities differ from the reference by up to ${probErr}`);
  assert.deepEqual(wrong, []);
  assert.deepEqual(errors, []);
});
