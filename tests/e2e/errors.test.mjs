// Bad model files show a clear message in the alert, and a good model loads right after them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, LENET, loadModel, noFixtures, openBrowser } from './helpers.mjs';

let b;
let dir;
before(async () => {
  if (noFixtures) return;
  b = await openBrowser();
  dir = mkdtempSync(join(tmpdir(), 'zfvis-bad-'));
});
after(async () => {
  await b?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Writes a file into the temp dir and returns its path.
const write = (name, data) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};

test('bad model files show a clear error, then a good model loads', { skip: noFixtures }, async () => {
  const { page, errors } = b;
  const prototxt = join(CIFAR, 'cifar10_quick.prototxt');
  const weights = join(CIFAR, 'cifar10_quick_iter_4000.caffemodel');
  const good = readFileSync(weights);
  // A fixed pseudo-random byte stream (xorshift), so failures can be reproduced.
  let x = 2463534242;
  const random = Buffer.alloc(64 * 1024).map(() => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x & 0xff;
  });
  const cases = [
    ['truncated caffemodel', [prototxt, write('truncated.caffemodel', good.subarray(0, good.length >> 1))],
      /truncat|unexpected end|end of (file|input|data|buffer)|incomplete/i],
    ['random bytes as weights', [prototxt, write('random.caffemodel', random)],
      /weights|caffemodel|protobuf|decod|invalid|not a/i],
    ['prototxt syntax error', [write('syntax.prototxt', readFileSync(prototxt, 'utf8').replace('num_output: 32', 'num_output: = 32')), weights],
      /syntax.*line \d+/is],
    ['lenet prototxt with cifar10 weights', [join(LENET, 'lenet.prototxt'), weights],
      /shape|mismatch|does not (fit|match)|expect/i],
  ];

  await b.open();
  for (const [what, files, problem] of cases) {
    const message = await loadModel(page, files);
    console.log(`${what}: ${message}`);
    assert.ok(message, `${what}: no error shown`);
    assert.ok(await page.isVisible('[role="alert"]'), `${what}: alert not visible`);
    // The part after the page's own prefix comes from the engine and must name the problem.
    assert.match(message.slice(message.indexOf('): ') + 3), problem, what);
  }

  assert.equal(await loadModel(page, [prototxt, weights]), null);
  assert.ok(await page.isHidden('#error'));
  await page.click('#layers tr[data-layer="conv1"]');
  await page.waitForSelector('#filter-canvas[data-layer="conv1"]');
  assert.equal(await page.$eval('#filter-canvas', (c) => c.dataset.tiles), '32');
  assert.deepEqual(errors, []);
});
