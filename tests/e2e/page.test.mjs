// The page without fixtures: it opens cleanly, says how to load a model and reports bad files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModel, noFixtures, openBrowser } from './helpers.mjs';

let b;
const dir = mkdtempSync(join(tmpdir(), 'zfvis-page-'));
before(async () => { b = await openBrowser(); });
after(async () => {
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the page opens, explains what to load and reports an unreadable model', async () => {
  const { page, errors } = b;
  await b.open();
  assert.match(await page.textContent('#model-help'), /\.prototxt.*\.caffemodel/s);
  assert.equal(await page.isVisible('#example-btn'), !noFixtures, 'the example button shows iff the fixtures exist');

  const prototxt = join(dir, 'net.prototxt');
  const weights = join(dir, 'net.caffemodel');
  writeFileSync(prototxt, 'name: "broken"\nlayer {\n  name: "data"\n');
  writeFileSync(weights, Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37]));
  const message = await loadModel(page, [prototxt, weights]);
  assert.match(message ?? '', /^Could not load the model \(net\.prototxt \+ net\.caffemodel\): ./);
  assert.ok(await page.isHidden('#network-section'));
  assert.deepEqual(errors, []);
});
