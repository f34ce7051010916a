// The page's SHA-256 of local files: its streaming implementation (used for files over 16 MB, in a worker)
// against Node's, and in Chromium against crypto.subtle.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Sha256 } from '../../www/sha256.js';
import { openBrowser } from './helpers.mjs';

const pattern = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 7919 + (i >> 8)) & 255);

test('streaming SHA-256 equals Node\'s for every padding case and any chunking', () => {
  const data = pattern(5000);
  for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 111, 119, 120, 127, 128, 129, 1000, 5000]) {
    const want = createHash('sha256').update(data.subarray(0, n)).digest('hex');
    assert.equal(new Sha256().update(data.subarray(0, n)).hex(), want, `${n} bytes in one piece`);
    const h = new Sha256();
    for (let i = 0, k = 1; i < n; i += k, k = 1 + ((k * 31) % 97)) h.update(data.subarray(i, Math.min(i + k, n)));
    assert.equal(h.hex(), want, `${n} bytes in pieces`);
  }
  assert.equal(new Sha256().hex(), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

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
    return { streamed: await sha256(blob), subtle, small: await sha256(blob.slice(0, 1000)), threshold: WHOLE_HASH_BYTES };
  }, size);
  assert.ok(size > got.threshold);
  assert.equal(got.streamed, got.subtle);
  assert.equal(got.streamed, createHash('sha256').update(pattern(size)).digest('hex'));
  assert.equal(got.small, createHash('sha256').update(pattern(1000)).digest('hex'));
  assert.deepEqual(errors, []);
});
