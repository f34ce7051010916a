// Training evolution (Zeiler & Fergus 2014, Fig. 4) through the page's controls: cifar10_quick's snapshots at
// iterations 4000 and 5000 (filter grids, their difference, every layer's relative change, the projections of
// chosen maps' strongest activations over the fixture images), the same weights in two files (identical grids,
// a mid-grey difference, no change), and a snapshot of another net refused with its name.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, LENET, loadModel, noFixtures, openBrowser, shared } from './helpers.mjs';

let b;
before(async () => { if (!noFixtures) b = await openBrowser(); });
after(async () => b?.close());

const IMAGES = () => shared('fixtures/images/cifar10');

// Runs a comparison; resolves to the section's final state ('done', 'failed', 'cancelled').
async function compare(page, files, { filters, layer, channels }) {
  await page.setInputFiles('[data-testid=evolution-files]', files);
  await page.selectOption('[data-testid=evolution-filters]', filters);
  if (layer) await page.selectOption('[data-testid=evolution-layer]', layer);
  await page.fill('[data-testid=evolution-channels]', channels);
  await page.evaluate(() => {
    document.getElementById('error').hidden = true;
    delete document.getElementById('evolution-section').dataset.state;
  });
  await page.click('[data-testid=evolution-run]');
  await page.waitForFunction(() => {
    const s = document.getElementById('evolution-section').dataset.state;
    return s && s !== 'running';
  }, null, { timeout: 180_000 });
  return page.$eval('#evolution-section', (e) => e.dataset.state);
}

// What the view shows: canvases (size, pixels as base64), change cells, projections, chart.
const shown = (page) => page.evaluate(() => {
  const pixels = (c) => {
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = '';
    for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { width: c.width, height: c.height, tiles: c.dataset.tiles, rgba: btoa(s) };
  };
  const all = (sel) => [...document.querySelectorAll(sel)];
  return {
    grids: all('#evolution-grids canvas').map(pixels),
    diffs: all('#evolution-diffs canvas').map(pixels),
    captions: all('#evolution-grids figcaption').map((f) => f.textContent),
    changes: all('#evolution-changes tbody tr').map((tr) => ({
      layer: tr.dataset.layer, values: [...tr.querySelectorAll('td')].map((td) => td.dataset.change),
    })),
    projections: all('#evolution-projections tbody tr').map((tr) => ({
      channel: Number(tr.dataset.channel),
      cells: [...tr.querySelectorAll('canvas')].map((c) => ({ ...pixels(c), image: c.dataset.image, value: Number(c.dataset.value) })),
    })),
    chart: all('#evolution-chart .uplot canvas').length,
    info: document.getElementById('evolution-info').textContent,
    section: { ...document.getElementById('evolution-section').dataset },
    error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
  };
});

const rgba = (c) => Buffer.from(c.rgba, 'base64');

test('training evolution: filters, differences, relative changes and projections across snapshots',
  { skip: noFixtures, timeout: 600_000 }, async () => {
    const { page, errors } = b;
    await b.open();
    assert.equal(await loadModel(page, ['cifar10_quick.prototxt', 'cifar10_quick_iter_4000.caffemodel', 'mean_approx.binaryproto']
      .map((f) => join(CIFAR, f))), null);
    await page.selectOption('#pre-order', 'RGB');
    await page.waitForSelector('#evolution-section:not([hidden])');
    const images = readdirSync(IMAGES()).filter((f) => f.endsWith('.jpg')).sort();
    assert.equal(images.length, 100);
    await page.setInputFiles('[data-testid=set-files]', images.map((f) => join(IMAGES(), f)));
    await page.waitForFunction(() => /^100 images/.test(document.getElementById('set-status').textContent));

    // Iterations 4000 and 5000, given in the wrong order: conv1's 32 colour 5×5 filters, a 6×6 grid with a
    // pixel of padding after each tile: 36×36.
    const state = await compare(page, ['cifar10_quick_iter_5000.caffemodel.h5', 'cifar10_quick_iter_4000.caffemodel'].map((f) => join(CIFAR, f)),
      { filters: 'conv1', layer: 'conv2', channels: '0-3' });
    let v = await shown(page);
    assert.equal(state, 'done', v.error);
    assert.deepEqual(v.captions.map((c) => c.split('cifar')[0]), ['iter 4000', 'iter 5000']);
    assert.deepEqual(v.grids.map((g) => [g.width, g.height, g.tiles]), [[36, 36, '32'], [36, 36, '32']]);
    assert.deepEqual(v.diffs.map((g) => [g.width, g.height]), [[36, 36]]);
    assert.notDeepEqual(rgba(v.grids[0]), rgba(v.grids[1]), 'training changed conv1');
    const diff = rgba(v.diffs[0]);
    const greys = new Set();
    for (let i = 0; i < diff.length; i += 4) greys.add(diff[i]);
    assert.ok(greys.size > 10, `the difference has ${greys.size} levels`);
    assert.deepEqual(v.changes.map((c) => c.layer), ['conv1', 'conv2', 'conv3', 'ip1', 'ip2']);
    for (const c of v.changes) {
      const x = Number(c.values[0]);
      assert.ok(Number.isFinite(x) && x > 0 && x < 1, `${c.layer}: relative change ${c.values[0]}`);
    }
    // Fig. 4: a row per chosen map, a column per snapshot.
    assert.deepEqual(v.projections.map((p) => [p.channel, p.cells.length]), [[0, 2], [1, 2], [2, 2], [3, 2]]);
    for (const p of v.projections) {
      for (const c of p.cells) assert.ok(c.width > 0 && c.height > 0 && c.value > 0 && Number(c.image) < 100, JSON.stringify(c).slice(0, 200));
    }
    assert.equal(v.chart, 0, 'one step: no chart');
    const first4000 = v.projections.map((p) => [p.cells[0].image, p.cells[0].value]);
    const times = { filtersMs: Number(v.section.filtersMs), projectionsMs: Number(v.section.projectionsMs) };
    console.log(`2 snapshots, 100 images, 4 maps of conv2: filters ${times.filtersMs} ms, projections ${times.projectionsMs} ms`);

    // The same weights twice (HDF5 and the binary converted from it): identical grids, a difference all mid
    // grey (padding white), no change, the same projections; then the V1 fixture, another run's weights at
    // iteration 5000. conv2's 1024 grey kernels: a 32×32 grid of 6-pixel cells.
    const same = ['cifar10_quick_iter_5000_v1.caffemodel', 'cifar10_quick_iter_5000.from_h5.caffemodel',
      'cifar10_quick_iter_5000.caffemodel.h5'];
    assert.equal(await compare(page, same.map((f) => join(CIFAR, f)), { filters: 'conv2', layer: 'relu1', channels: '0, 5' }), 'done');
    v = await shown(page);
    assert.deepEqual(v.captions.map((c) => c.replace(/^iter 5000/, '')), [same[2], same[1], same[0]]);
    assert.deepEqual(v.grids.map((g) => [g.width, g.height, g.tiles]), Array(3).fill([192, 192, '1024']));
    assert.ok(rgba(v.grids[0]).equals(rgba(v.grids[1])), 'identical grids');
    assert.ok(!rgba(v.grids[1]).equals(rgba(v.grids[2])), 'the V1 fixture holds other weights');
    const px = rgba(v.diffs[0]);
    for (let i = 0; i < px.length; i += 4) {
      const [x, y] = [(i / 4) % v.diffs[0].width, Math.floor(i / 4 / v.diffs[0].width)];
      const pad = x % 6 === 5 || y % 6 === 5;
      assert.deepEqual([...px.subarray(i, i + 4)], pad ? [255, 255, 255, 255] : [128, 128, 128, 255], `(${x}, ${y})`);
    }
    for (const c of v.changes) {
      assert.equal(c.values[0], '0', c.layer);
      assert.ok(Number(c.values[1]) > 0 && Number.isFinite(Number(c.values[1])), `${c.layer}: ${c.values[1]}`);
    }
    assert.deepEqual(v.projections.map((p) => p.channel), [0, 5]);
    for (const p of v.projections) {
      assert.equal(p.cells.length, 3);
      assert.deepEqual([p.cells[1].image, p.cells[1].value], [p.cells[0].image, p.cells[0].value]);
      assert.ok(rgba(p.cells[1]).equals(rgba(p.cells[0])), `channel ${p.channel}: the same projection`);
    }
    assert.ok(v.chart > 0, 'two steps: a uPlot chart');

    // A snapshot of another net: refused, naming the file.
    assert.equal(await compare(page, [join(CIFAR, 'cifar10_quick_iter_4000.caffemodel'), join(LENET, 'lenet_iter_10000.caffemodel')],
      { filters: 'conv1', channels: '' }), 'failed');
    v = await shown(page);
    assert.match(v.error ?? '', /lenet_iter_10000\.caffemodel/);

    // The pool is back on the loaded model: the top-k view, ranking with iteration 4000's weights, finds the
    // strongest activations the first comparison projected for that snapshot.
    await page.selectOption('#topk-layer', 'conv2');
    await page.fill('#topk-k', '1');
    await page.click('#topk-run');
    await page.waitForFunction(() => globalThis.zfvisViews?.topk.result, null, { timeout: 120_000 });
    const top = await page.evaluate(() => globalThis.zfvisViews.topk.result.channels.slice(0, 4).map((l) => l[0]));
    assert.deepEqual(top.map((e) => [String(e.image), e.value]), first4000);
    assert.deepEqual(errors, []);
  });
