// Invariance (Fig. 5) and correspondence (Table 1) in the page, on cifar10_quick with a few CIFAR-10 JPEGs:
// the sweep's charts and numbers (distance 0 and the classifier's own probability at the identity; a sweep
// split into shards of values equals the page's), and the table from rectangles drawn with the mouse (finite
// rows, validation messages, and the sharded table equal to the core's whole-table call).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, SHARED, drag, loadModel, noFixtures, openBrowser } from './helpers.mjs';

const NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const IMAGES = ['airplane_0001', 'automobile_0001', 'bird_0001', 'cat_0001', 'deer_0001', 'dog_0001']
  .map((f) => join(SHARED, 'fixtures/images/cifar10', `${f}.jpg`));

let b;
before(async () => {
  if (noFixtures) return;
  b = await openBrowser();
  const { page } = b;
  await b.open();
  const error = await loadModel(page, ['cifar10_quick.prototxt', 'cifar10_quick_iter_4000.caffemodel',
    'mean_approx.binaryproto'].map((f) => join(CIFAR, f)));
  assert.equal(error, null);
  assert.ok(await page.isChecked('#use-mean-file'), 'the mean file is in use');
  assert.equal(await page.inputValue('#pre-order'), 'RGB', 'the page’s default channel order for cifar10_quick');
  await page.setInputFiles('#set-files', IMAGES);
  await page.waitForFunction(() => /^6 images/.test(document.getElementById('set-status').textContent));
});
after(async () => b?.close());

const errorText = (page) => page.evaluate(() => {
  const e = document.getElementById('error');
  return e.hidden ? null : e.textContent;
});

test('invariance: a scale sweep draws its charts, with distance 0 and the classifier’s probability at scale 1',
  { skip: noFixtures, timeout: 180_000 }, async () => {
    const { page, errors } = b;
    await page.waitForFunction(() => !document.getElementById('inv-run').disabled);
    assert.deepEqual(await page.$$eval('#inv-layers option:checked', (os) => os.map((o) => o.value)), ['conv1', 'ip1']);
    await page.selectOption('#inv-kind', 'scale');
    assert.equal(await page.inputValue('#inv-values'), '0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8');
    await page.fill('#inv-count', '4');
    await page.click('#inv-run');
    await page.waitForFunction(() => document.getElementById('invariance-section').dataset.result
      || !document.getElementById('error').hidden, null, { timeout: 120_000 });
    assert.equal(await errorText(page), null);
    const r = JSON.parse(await page.getAttribute('#invariance-section', 'data-result'));
    console.log(`invariance: 4 images × ${r.values.length} scales, layers ${r.layers}: ${r.ms.toFixed(0)} ms`);
    assert.equal(r.kind, 'scale');
    assert.deepEqual(r.layers, ['conv1', 'ip1']);
    assert.equal(r.images.length, 4);
    const k = r.values.indexOf(1);
    assert.ok(k >= 0);
    for (const [i, d] of r.distances.entries()) {
      assert.deepEqual(d.map((layer) => layer.length), [13, 13]);
      assert.deepEqual(d.map((layer) => layer[k]), [0, 0], `image ${i}: distance 0 at scale 1`);
      assert.ok(d.every((layer) => layer.every((v, j) => (j === k ? v === 0 : v > 0 && Number.isFinite(v)))),
        `image ${i}: positive distances away from scale 1`);
      assert.ok(r.prob[i].every((p) => p >= 0 && p <= 1));
    }
    // Three charts (conv1, ip1, probability), each a uPlot canvas, and 4 rows of 13 thumbnails.
    assert.equal(await page.locator('#inv-charts .inv-chart').count(), 3);
    assert.equal(await page.locator('#inv-charts .inv-chart canvas').count(), 3);
    assert.equal(await page.locator('[data-testid=inv-chart-prob] .u-title').textContent(), 'Probability of the true class');
    assert.equal(await page.locator('#inv-thumbs canvas').count(), 4 * 13);

    // The files set has no labels: the class followed is the top-1, whose probability at scale 1 is the one
    // the page's classifier gives the same image.
    await page.setInputFiles('#image-files', IMAGES.slice(0, 4));
    await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 4, null, { timeout: 60_000 });
    const rows = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) => [tr.dataset.label, Number(tr.dataset.prob)]));
    for (const [i, [label, p]] of rows.entries()) {
      assert.equal(NAMES[r.classes[i]], label, `image ${i}: the class followed is the top-1`);
      assert.ok(Math.abs(r.prob[i][k] - p) <= 1e-6, `image ${i}: p = ${r.prob[i][k]} at scale 1, classifier ${p}`);
    }

    // The same sweep of image 0 split into shards of values on a pool of two workers gives the same curves.
    const split = await page.evaluate(async ({ values, layers }) => {
      const { Pool } = await import('./pool.js');
      const { ImageSet } = await import('./image-set.js');
      const { invarianceCurves } = await import('./invariance.js');
      const files = [...document.getElementById('model-files').files];
      const named = (re) => files.find((f) => re.test(f.name));
      const pool = new Pool(2);
      pool.setModel({ prototxt: named(/\.prototxt$/), weights: named(/\.caffemodel$/), mean: named(/\.binaryproto$/) });
      const set = new ImageSet('files', [document.getElementById('set-files').files[0]], [1]);
      const pre = { channelOrder: 'RGB', meanValues: null, scale: 1, resize: document.getElementById('resize').value };
      const shards = [];
      const [c] = await invarianceCurves({ size: pool.size, map: (s, run, o) => { shards.push(s.length); return pool.map(s, run, o); } },
        set, [0], { kind: 'scale', values, layers, classes: [null], pre, thumbnails: 0 });
      pool.terminate();
      return { c, shards };
    }, { values: r.values, layers: r.layers });
    assert.deepEqual(split.shards, [4], 'one image over two workers: its values in 4 shards');
    assert.equal(split.c.class, r.classes[0]);
    const diff = Math.max(...split.c.distances.flatMap((d, l) => d.map((v, j) => Math.abs(v - r.distances[0][l][j]) / Math.max(1, v))),
      ...split.c.prob.map((p, j) => Math.abs(p - r.prob[0][j])));
    assert.ok(diff <= 1e-5, `sharded vs whole sweep: ${diff}`);
    assert.deepEqual(errors, []);
  });

test('correspondence: rectangles drawn on five images give a finite table equal to the core’s',
  { skip: noFixtures, timeout: 180_000 }, async () => {
    const { page, errors } = b;
    // Fewer than five images: a clear message.
    await page.fill('#corr-count', '3');
    await page.click('#corr-load');
    await page.waitForFunction(() => document.querySelectorAll('#corr-marks canvas').length === 3);
    await page.click('#corr-run');
    assert.match(await errorText(page), /at least 5 images/);

    await page.fill('#corr-count', '5');
    await page.click('#corr-load');
    await page.waitForFunction(() => document.querySelectorAll('#corr-marks canvas').length === 5);
    assert.equal(await page.isChecked('#corr-same'), true);
    // An 8×6 rectangle dragged on image 0, then clicks place the same size on images 1–3; image 4 unmarked.
    await drag(page, 0, [10, 12], [17, 17]);
    for (const [i, yx] of [[1, [12, 14]], [2, [3, 3]], [3, [28, 30]]]) await drag(page, i, yx, yx);
    const marks = () => page.$$eval('#corr-marks canvas', (cs) => cs.map((c) => c.dataset.rect));
    assert.deepEqual(await marks(), ['10,12,8,6', '8,11,8,6', '0,0,8,6', '24,26,8,6', '']);
    await page.click('#corr-run');
    assert.match(await errorText(page), /mark a rectangle on every image; 1 still unmarked \(deer_0001\.jpg\)/);
    // A drag on image 4 sets a new size for all, each about its centre.
    await drag(page, 4, [5, 5], [11, 11]);
    assert.deepEqual(await marks(), ['11,12,7,7', '9,11,7,7', '1,0,7,7', '25,25,7,7', '5,5,7,7']);

    await page.selectOption('#corr-layers', ['relu1', 'pool2', 'relu3', 'ip1']);
    await page.fill('#corr-draws', '6');
    await page.fill('#corr-seed', '3');
    await page.click('#corr-run');
    await page.waitForFunction(() => document.getElementById('correspondence-section').dataset.result
      || document.getElementById('corr-progress').dataset.state === 'failed', null, { timeout: 120_000 });
    const t = JSON.parse(await page.getAttribute('#correspondence-section', 'data-result'));
    console.log(`correspondence: 5 images, 4 layers, ${t.draws} draws: ${t.ms.toFixed(0)} ms; `
      + t.rows.map((r) => `${r.layer} ${r.normalised.toFixed(4)} vs ${r.randomMean.toFixed(4)} ± ${r.randomStd.toFixed(4)}`).join('; '));
    assert.deepEqual(t.rows.map((r) => r.layer), ['relu1', 'pool2', 'relu3', 'ip1']);
    for (const r of t.rows) {
      assert.equal(r.pairs, 10);
      assert.ok(Number.isInteger(r.parts) && r.parts > 0 && r.parts <= r.pairs * r.len, `${r.layer}: Δ ${r.parts}`);
      assert.equal(r.random.length, 6);
      assert.ok([r.normalised, r.randomMean, r.randomStd].every(Number.isFinite), JSON.stringify(r));
    }
    assert.equal(await page.locator('[data-testid=corr-table] tbody tr').count(), 4);
    const cells = await page.$$eval('[data-testid=corr-table] tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.deepEqual(cells[0].slice(0, 2), ['relu1', String(t.rows[0].parts)]);
    assert.match(cells[0][3], /^\d\.\d{4} ± \d\.\d{4}$/);

    // The core's table in one call, on a fresh engine, equals the sharded one.
    const whole = await page.evaluate(async ({ rects, layers, draws, seed }) => {
      const { Engine } = await import('./engine.js');
      const { ImageSet } = await import('./image-set.js');
      const files = [...document.getElementById('model-files').files];
      const named = (re) => files.find((f) => re.test(f.name));
      const engine = new Engine();
      await engine.call('load', { prototxt: named(/\.prototxt$/), weights: named(/\.caffemodel$/), mean: named(/\.binaryproto$/) });
      const set = new ImageSet('files', [...document.getElementById('set-files').files], [1, 1, 1, 1, 1, 1]);
      const pre = { channelOrder: 'RGB', meanValues: null, scale: 1, resize: document.getElementById('resize').value };
      const r = await engine.call('correspondenceTable',
        { set: set.descriptor(), indices: [0, 1, 2, 3, 4], rects, layers, fill: 'mean', draws, seed, pre });
      engine.terminate();
      return r;
    }, { rects: t.rects, layers: t.layers, draws: t.draws, seed: t.seed });
    assert.equal(whole.seed, 3);
    for (const [l, r] of t.rows.entries()) {
      const w = whole.rows[l];
      assert.deepEqual([r.layer, r.len, r.pairs, r.parts, r.random], [w.layer, w.len, w.pairs, w.parts, w.random]);
      assert.ok(Math.abs(r.normalised - w.normalised) < 1e-12 && Math.abs(r.randomMean - w.randomMean) < 1e-12
        && Math.abs(r.randomStd - w.randomStd) < 1e-12, `${r.layer}: ${JSON.stringify([r, w])}`);
    }
    assert.deepEqual(errors, []);
  });
