// The page's two wasm builds (www/wasm.js): relaxed SIMD where the browser has it, plain SIMD otherwise.
// Both, forced in turn through the page's worker, give cifar10_quick's probabilities as OpenCV does.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, manifest, noFixtures, openBrowser, readNpy, shared } from './helpers.mjs';

let b;
before(async () => { if (!noFixtures) b = await openBrowser(); });
after(async () => b?.close());

test('both wasm builds compute cifar10_quick like OpenCV; the page picks relaxed SIMD where supported',
  { skip: noFixtures, timeout: 120_000 }, async () => {
    const { page, errors } = b;
    const cat = manifest().models.cifar10_quick_iter_5000_v1.images.cat_0000;
    const input = readNpy(shared(cat.input));
    const want = readNpy(shared(cat.blobs_cv2.prob.path));
    await b.open();
    await page.evaluate(() => {
      document.body.append(Object.assign(document.createElement('input'), { type: 'file', id: 'test-files', multiple: true }));
    });
    await page.setInputFiles('#test-files', ['cifar10_quick.prototxt', 'cifar10_quick_iter_5000_v1.caffemodel'].map((f) => join(CIFAR, f)));
    const got = await page.evaluate(async (input) => {
      const { Engine } = await import('./engine.js');
      const { relaxedSimd } = await import('./wasm.js');
      const [prototxt, weights] = document.getElementById('test-files').files;
      const run = async (build) => {
        const engine = new Engine(build ? { build } : {});
        await engine.call('load', { prototxt, weights });
        const r = await engine.call('bench', { input: Float32Array.from(input) });
        engine.terminate();
        return { build: r.build, output: [...r.output] };
      };
      return { relaxedSimd, chosen: await run(), plain: await run('simd128'), relaxed: await run('relaxed-simd') };
    }, [...input.data]);
    // Chromium has had relaxed SIMD since version 114.
    assert.equal(got.relaxedSimd, true);
    assert.equal(got.chosen.build, 'relaxed-simd');
    assert.equal(got.plain.build, 'simd128');
    for (const { build, output } of [got.plain, got.relaxed]) {
      assert.equal(output.length, want.data.length);
      const err = Math.max(...output.map((v, i) => Math.abs(v - want.data[i])));
      console.log(`${build}: max |p − p_OpenCV| ${err.toExponential(2)}`);
      assert.ok(err <= 1e-5, `${build} differs from OpenCV by ${err}`);
    }
    assert.deepEqual(errors, []);
  });
