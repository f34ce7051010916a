// The page's SHA-256 of local files: crypto.subtle up to 16 MB, beyond that streamed through the wasm
// hasher in a worker; both against Node's, at sizes around the block padding cases.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { openBrowser } from './helpers.mjs';

const pattern = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 7919 + (i >> 8)) & 255);

let b;
before(async () => { b = await openBrowser(); });
after(async () => b?.close());

test('in the page a file over 16 MB is hashed in the worker, like crypto.subtle and Node', { timeout: 60_000 }, async () => {
  const { page, errors } = b;
  await b.open();
  const size = 20 * 1024 * 1024 + 13;
  const got = await page.evaluate(async (n) => {
    const { sha256, WHOLE_HASH_BYTES } = await import('./link.js');
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 7919 + (i >> 8)) & 255);
    const blob = new Blob([data]);
    const subtle = [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map((v) => v.toString(16).padStart(2, '0')).join('');
    // The wasm hasher directly, at every padding case and in uneven pieces.
    const { default: init, Sha256 } = await import('./pkg/zfvis_web.js');
    await init();
    const sizes = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 5000];
    const pieces = sizes.map((k) => {
      const h = new Sha256();
      for (let i = 0, step = 1; i < k; i += step, step = 1 + ((step * 31) % 97)) h.update(data.subarray(i, Math.min(i + step, k)));
      return h.hex();
    });
    return { streamed: await sha256(blob), subtle, small: await sha256(blob.slice(0, 1000)), threshold: WHOLE_HASH_BYTES, sizes, pieces };
  }, size);
  assert.ok(size > got.threshold);
  assert.equal(got.streamed, got.subtle);
  assert.equal(got.streamed, createHash('sha256').update(pattern(size)).digest('hex'));
  assert.equal(got.small, createHash('sha256').update(pattern(1000)).digest('hex'));
  got.sizes.forEach((k, i) => assert.equal(got.pieces[i], createHash('sha256').update(pattern(k)).digest('hex'), `${k} bytes`));
  assert.deepEqual(errors, []);
});
