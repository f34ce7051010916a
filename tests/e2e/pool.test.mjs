// The worker pool (www/pool.js) that batch jobs run on: sharded batched forward passes over two workers
// equal one worker's single passes image by image; progress moves; cancel stops the job at once, and the
// next job on the same pool runs correctly.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, noFixtures, openBrowser } from './helpers.mjs';

let b;
before(async () => { if (!noFixtures) b = await openBrowser(); });
after(async () => b?.close());

test('a pool of two workers runs sharded batches like single passes, reports progress and cancels',
  { skip: noFixtures, timeout: 120_000 }, async () => {
    const { page, errors } = b;
    await b.open();
    await page.evaluate(() => {
      document.body.append(Object.assign(document.createElement('input'), { type: 'file', id: 'test-files', multiple: true }));
    });
    await page.setInputFiles('#test-files', ['cifar10_quick.prototxt', 'cifar10_quick_iter_4000.caffemodel'].map((f) => join(CIFAR, f)));
    const got = await page.evaluate(async () => {
      const { Pool } = await import('./pool.js');
      const { Engine } = await import('./engine.js');
      const [prototxt, weights] = document.getElementById('test-files').files;
      const per = 3 * 32 * 32;
      const images = 96;
      let seed = 7;
      const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 255 - 128;
      const data = Float32Array.from({ length: images * per }, random);
      const shardOf = (k, size) => ({ start: k * size, n: Math.min(size, images - k * size) });
      const shards = (size) => Array.from({ length: Math.ceil(images / size) }, (_, k) => shardOf(k, size));
      const run = (engine, { start, n }) => engine.call('forwardBatch',
        { input: data.slice(start * per, (start + n) * per), n, outputs: ['prob', 'pool1'] });

      // Single passes on one engine: the truth for every image.
      const single = new Engine();
      await single.call('load', { prototxt, weights });
      const want = [];
      for (let i = 0; i < images; i++) want.push([...(await single.call('bench', { input: data.slice(i * per, (i + 1) * per) })).output]);
      single.terminate();

      const pool = new Pool(2);
      pool.setModel({ prototxt, weights });
      const progress = [];
      const parts = await pool.map(shards(8), run, { onProgress: (p) => progress.push(p) });
      const probs = parts.flatMap((p) => Array.from({ length: p.prob.length / 10 }, (_, i) => [...p.prob.slice(i * 10, i * 10 + 10)]));
      const pool1 = parts.reduce((a, p) => a + p.pool1.length, 0);

      // Cancel after the first shard, then a second job on the same pool.
      const controller = new AbortController();
      let cancelled = null;
      const t = performance.now();
      try {
        await pool.map(shards(1), async (e, s, k) => {
          const r = await run(e, s);
          if (k === 0) controller.abort();
          return r;
        }, { signal: controller.signal });
      } catch (e) {
        cancelled = { name: e.name, ms: performance.now() - t };
      }
      const again = await pool.map(shards(32), run);
      const probsAgain = again.flatMap((p) => Array.from({ length: p.prob.length / 10 }, (_, i) => [...p.prob.slice(i * 10, i * 10 + 10)]));
      pool.terminate();
      return { want, probs, probsAgain, pool1, progress, cancelled };
    });
    const err = (a) => Math.max(...a.flatMap((p, i) => p.map((v, j) => Math.abs(v - got.want[i][j]))));
    assert.equal(got.probs.length, 96);
    assert.ok(err(got.probs) <= 1e-6, `pool vs single passes: ${err(got.probs)}`);
    assert.equal(got.pool1, 96 * 32 * 16 * 16);
    assert.deepEqual(got.progress.map((p) => p.done), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.ok(got.progress.every((p) => p.total === 12 && p.etaMs >= 0));
    assert.equal(got.progress.at(-1).etaMs, 0);
    assert.equal(got.cancelled?.name, 'AbortError');
    assert.equal(got.probsAgain.length, 96);
    assert.ok(err(got.probsAgain) <= 1e-6, `after the cancel: ${err(got.probsAgain)}`);
    assert.deepEqual(errors, []);
  });
