// Training in the page (the Train section, www/train.js + www/train-worker.js): the built-in LeNet on the packed
// MNIST digits for 300 iterations with a snapshot every 100. The loss falls, the conv1 grid changes, Pause
// stops the iterations and Resume continues them, the main thread stays free (no task over 50 ms), snapshots
// arrive; the last one, exported as a download and loaded as the page's model, classifies test digits as the
// CLI does with the same file. And a broken prototxt fails with a message while the page keeps working.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { CLI, ROOT, canvasPixels, cifarBatch, noFixtures, openBrowser } from './helpers.mjs';

let b;
before(async () => { b = await openBrowser(); });
after(async () => b?.close());

const MNIST = join(ROOT, 'www/data/mnist.bin');
const LENET_NET = join(ROOT, 'crates/core/src/train/nets/lenet_train_test.prototxt');
const RECORD = 785;
const dir = mkdtempSync(join(tmpdir(), 'zfvis-train-'));

const state = (page) => page.$eval('#train-section', (e) => e.dataset.state);
const iter = (page) => page.$eval('#train-progress', (e) => Number(e.dataset.iter ?? 0));
const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;

// Test digits k = 0, 1, … of the packed file (its last 2,000 records) as grey PNG files; returns [{path, label}].
function digits(count) {
  const bin = readFileSync(MNIST);
  const first = bin.length / RECORD - 2000;
  return Array.from({ length: count }, (_, k) => {
    const r = bin.subarray((first + k * 37) * RECORD, (first + k * 37 + 1) * RECORD);
    const png = new PNG({ width: 28, height: 28 });
    for (let p = 0; p < 784; p++) png.data.set([r[1 + p], r[1 + p], r[1 + p], 255], p * 4);
    const path = join(dir, `digit_${k}.png`);
    writeFileSync(path, PNG.sync.write(png));
    return { path, label: r[0] };
  });
}

async function start(page, { net = 'lenet', iters, snapshot, testEvery = '' }) {
  await page.selectOption('#train-net', net);
  await page.fill('#train-iters', String(iters));
  await page.fill('#train-snapshot', String(snapshot));
  await page.fill('#train-test-every', String(testEvery));
  await page.fill('#train-seed', '1');
  await page.click('#train-start');
}

test('LeNet trains in the page: loss, filters, pause and resume, snapshots, export and load', { timeout: 300_000 }, async () => {
  const { page, errors } = b;
  await b.open();
  await page.evaluate(() => {
    globalThis.longTasks = [];
    new PerformanceObserver((l) => globalThis.longTasks.push(...l.getEntries().map((e) => e.duration)))
      .observe({ type: 'longtask' });
  });
  const t0 = Date.now();
  await start(page, { iters: 300, snapshot: 100, testEvery: 100 });

  // An early grid, then Pause: the iterations stop; Resume: they go on.
  await page.waitForFunction(() => Number(document.getElementById('train-filters').dataset.iter) >= 1, null, { timeout: 60_000 });
  const early = await canvasPixels(page, 'train-filters');
  const earlyIter = await page.$eval('#train-filters', (c) => Number(c.dataset.iter));
  await page.waitForFunction(() => Number(document.getElementById('train-progress').dataset.iter) >= 40);
  await page.click('#train-pause');
  await page.waitForFunction(() => document.getElementById('train-section').dataset.state === 'paused');
  const paused = await iter(page);
  await page.waitForTimeout(1500);
  assert.equal(await iter(page), paused, 'no iterations while paused');
  assert.equal(await state(page), 'paused');
  await page.click('#train-resume');
  await page.waitForFunction((n) => Number(document.getElementById('train-progress').dataset.iter) > n, paused);
  console.log(`paused at iteration ${paused}, resumed`);

  await page.waitForFunction(() => ['done', 'failed', 'stopped'].includes(document.getElementById('train-section').dataset.state),
    null, { timeout: 240_000 });
  assert.equal(await state(page), 'done');
  const wall = (Date.now() - t0) / 1000;
  const r = await page.evaluate(() => {
    const v = globalThis.zfvisViews.train;
    return {
      loss: v.losses.loss, iters: v.losses.iter, tests: v.tests, snapshots: v.snapshots.map((s) => [s.iter, s.name, s.file.size]),
      its: v.itersPerSecond, progress: document.getElementById('train-progress').textContent,
      listed: [...document.querySelectorAll('#train-snapshots li')].map((li) => li.dataset.name),
      gridIter: Number(document.getElementById('train-filters').dataset.iter),
      charts: document.querySelectorAll('#train-loss-chart .uplot, #train-acc-chart .uplot').length,
    };
  });
  console.log(`LeNet, 300 iterations in Chromium: ${r.its.toFixed(1)} it/s of training (${wall.toFixed(1)} s from Start to done, `
    + `pause and tests included); “${r.progress}”`);
  assert.equal(r.loss.length, 300);
  assert.deepEqual(r.iters.slice(0, 3), [0, 1, 2]);
  const [first, last] = [mean(r.loss.slice(0, 50)), mean(r.loss.slice(-50))];
  console.log(`mean loss: first 50 iterations ${first.toFixed(4)}, last 50 ${last.toFixed(4)}`);
  assert.ok(last < first * 0.5, `the loss falls: ${first} → ${last}`);
  assert.deepEqual(r.tests.map((t) => t.iter), [0, 100, 200, 300]);
  const acc = r.tests.at(-1).accuracy[0].value;
  console.log(`test accuracy: ${r.tests.map((t) => t.accuracy[0].value.toFixed(4)).join(', ')}`);
  assert.ok(acc > 0.85, `test accuracy at 300: ${acc}`);
  assert.deepEqual(r.snapshots.map((s) => s[1]), ['lenet_iter_100.caffemodel', 'lenet_iter_200.caffemodel', 'lenet_iter_300.caffemodel']);
  assert.deepEqual(r.listed, r.snapshots.map((s) => s[1]));
  assert.equal(r.charts, 2, 'the loss and accuracy charts');

  // The grid at the end differs from the early one.
  assert.equal(r.gridIter, 300);
  const late = await canvasPixels(page, 'train-filters');
  assert.equal(late.width, early.width);
  const changed = late.rgba.reduce((n, v, i) => n + (v !== early.rgba[i]), 0);
  console.log(`conv1 grid: ${changed} of ${late.rgba.length} bytes changed between iterations ${earlyIter} and 300`);
  assert.ok(changed > late.rgba.length / 10, 'the conv1 grid changed');

  // Export: a download of the snapshot's bytes.
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.click('#train-snapshots li[data-iter="300"] button[data-action=export]')]);
  assert.equal(download.suggestedFilename(), 'lenet_iter_300.caffemodel');
  const exported = join(dir, 'lenet_iter_300.caffemodel');
  await download.saveAs(exported);
  assert.equal(readFileSync(exported).length, r.snapshots[2][2]);

  // Load in the page, then classify test digits: the page's top-5 equal the CLI's for the exported file.
  await page.click('#train-snapshots li[data-iter="300"] button[data-action=load]');
  await page.waitForFunction(() => /^Loaded/.test(document.getElementById('status').textContent)
    || !document.getElementById('error').hidden);
  assert.ok(await page.isHidden('#error'), await page.textContent('#error'));
  assert.match(await page.textContent('#status'), /lenet_train_test\.prototxt \+ lenet_iter_300\.caffemodel/);
  assert.equal(await page.inputValue('#scale'), '0.00390625');
  const images = digits(8);
  await page.setInputFiles('#image-files', images.map((d) => d.path));
  await page.waitForFunction(() => document.querySelectorAll('#results tr[data-done]').length === 8);
  const pageTop = await page.$$eval('#results tbody tr', (rows) => rows.map((tr) =>
    [...tr.querySelectorAll('details li button')].map((bt) => Number(bt.dataset.class))));
  const right = pageTop.filter((t, i) => t[0] === images[i].label).length;
  console.log(`the page's top-1 of 8 test digits: ${pageTop.map((t) => t[0]).join(' ')} (labels ${images.map((d) => d.label).join(' ')})`);
  assert.ok(right >= 6, `${right} of 8 digits right`);
  if (existsSync(CLI)) {
    const json = JSON.parse(execFileSync(CLI, ['forward', LENET_NET, exported, '--image', ...images.map((d) => d.path),
      '--scale', '0.00390625', '--json'], { encoding: 'utf8' }));
    const cliTop = json.map((o) => o.top.map((t) => t.index));
    assert.deepEqual(pageTop, cliTop, 'the page and the CLI rank the classes alike');
  } else {
    console.log(`${CLI} is absent: the CLI comparison was skipped`);
  }

  // All snapshots to the training evolution view (the last one loaded as the model): its filter grids.
  await page.click('#train-evolution');
  await page.waitForFunction(() => /^3 snapshot\(s\)/.test(document.getElementById('evolution-info').textContent));
  await page.fill('#evolution-channels', '');
  await page.click('#evolution-run');
  await page.waitForFunction(() => ['done', 'failed'].includes(document.getElementById('evolution-section').dataset.state),
    null, { timeout: 60_000 });
  assert.equal(await page.$eval('#evolution-section', (e) => e.dataset.state), 'done');
  assert.deepEqual(await page.$$eval('#evolution-grids figcaption', (f) => f.map((c) => c.firstChild.textContent)),
    ['iter 100', 'iter 200', 'iter 300']);

  const longTasks = await page.evaluate(() => globalThis.longTasks);
  console.log(`main-thread tasks over 50 ms: ${longTasks.length} ${JSON.stringify(longTasks.map(Math.round))}`);
  assert.deepEqual(longTasks.filter((ms) => ms > 200), [], 'no main-thread task over 200 ms while training');
  assert.deepEqual(errors, []);
});

test('Stop keeps the weights so far; a broken prototxt fails with a message and the page keeps working', { timeout: 120_000 }, async () => {
  const { page, errors } = b;
  await b.open();
  await start(page, { iters: 5000, snapshot: 0 });
  await page.waitForFunction(() => Number(document.getElementById('train-progress').dataset.iter) >= 10, null, { timeout: 60_000 });
  await page.click('#train-stop');
  await page.waitForFunction(() => document.getElementById('train-section').dataset.state === 'stopped');
  const stopped = await page.evaluate(() => globalThis.zfvisViews.train.snapshots.map((s) => s.iter));
  assert.equal(stopped.length, 1, 'a snapshot of the weights at the stop');
  assert.equal(stopped[0], await iter(page));

  const net = join(dir, 'broken_train_test.prototxt');
  writeFileSync(net, readFileSync(LENET_NET, 'utf8').replace('type: "Pooling"', 'type: "Frobnicate"'));
  const solver = join(dir, 'lenet_solver.prototxt');
  writeFileSync(solver, readFileSync(join(ROOT, 'crates/core/src/train/nets/lenet_solver.prototxt')));
  await page.selectOption('#train-net', 'custom');
  await page.setInputFiles('#train-net-file', net);
  await page.setInputFiles('#train-solver-file', solver);
  await page.click('#train-start');
  await page.waitForFunction(() => ['failed', 'done'].includes(document.getElementById('train-section').dataset.state));
  assert.equal(await state(page), 'failed');
  const message = await page.textContent('#error');
  console.log(`broken prototxt: “${message}”`);
  assert.match(message, /^Training: .*Frobnicate/);

  // The page still trains. (A new run replaces the view's losses: the mark tells the last run's from this one's.)
  await page.selectOption('#train-net', 'lenet');
  await page.evaluate(() => { globalThis.zfvisViews.train.losses.last = true; });
  await start(page, { iters: 5, snapshot: 0 });
  await page.waitForFunction(() => !globalThis.zfvisViews.train.losses.last
    && ['failed', 'done'].includes(document.getElementById('train-section').dataset.state));
  assert.equal(await state(page), 'done');
  assert.equal(await iter(page), 5);
  const builtin = await page.evaluate(() => [...globalThis.zfvisViews.train.losses.loss]);

  // The user's own train_test prototxt and solver (BVLC's LeNet as files) train as the built-in does.
  await page.selectOption('#train-net', 'custom');
  await page.setInputFiles('#train-net-file', LENET_NET);
  await page.setInputFiles('#train-solver-file', solver);
  await page.selectOption('#train-data', 'mnist');
  await page.evaluate(() => { globalThis.zfvisViews.train.losses.last = true; });
  await start(page, { net: 'custom', iters: 5, snapshot: 0 });
  await page.waitForFunction(() => !globalThis.zfvisViews.train.losses.last
    && ['failed', 'done'].includes(document.getElementById('train-section').dataset.state));
  assert.equal(await state(page), 'done', await page.textContent('#error'));
  assert.equal(await iter(page), 5);
  const own = await page.evaluate(() => [...globalThis.zfvisViews.train.losses.loss]);
  assert.equal(own.length, 5);
  assert.deepEqual(own, builtin, 'the same net, seed and data give the same losses');
  assert.deepEqual(errors, []);
});

test('CIFAR-10 quick trains on CIFAR-10 batches the user picks', { skip: noFixtures, timeout: 180_000 }, async () => {
  const { page, errors } = b;
  await b.open();
  // 600 training images (data_batch_1.bin) and 200 test images (test_batch.bin) of all classes from the
  // fixtures' test set (which is ordered by class).
  const cifar = mkdtempSync(join(tmpdir(), 'zfvis-train-cifar-'));
  const all = readFileSync(cifarBatch(10000));
  const records = (n, first) => Buffer.concat(Array.from({ length: n }, (_, k) => all.subarray((k * 16 + first) * 3073, (k * 16 + first + 1) * 3073)));
  writeFileSync(join(cifar, 'data_batch_1.bin'), records(600, 0));
  writeFileSync(join(cifar, 'test_batch.bin'), records(200, 8));
  await page.selectOption('#train-net', 'cifar10_quick');
  assert.ok(await page.isVisible('#train-cifar-files'));
  await page.click('#train-start');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /^Training: choose the CIFAR-10 binary batches/);

  await page.setInputFiles('#train-cifar-files', [join(cifar, 'data_batch_1.bin'), join(cifar, 'test_batch.bin')]);
  // No test passes (the solver's are 100 batches of 100 images).
  await start(page, { net: 'cifar10_quick', iters: 12, snapshot: 6, testEvery: 0 });
  await page.waitForFunction(() => ['failed', 'done'].includes(document.getElementById('train-section').dataset.state),
    null, { timeout: 150_000 });
  assert.equal(await state(page), 'done', await page.textContent('#train-progress'));
  const r = await page.evaluate(() => {
    const v = globalThis.zfvisViews.train;
    return { snapshots: v.snapshots.map((s) => s.name), loss: v.losses.loss, its: v.itersPerSecond };
  });
  console.log(`cifar10_quick in Chromium: ${r.its.toFixed(2)} it/s; losses ${r.loss.map((l) => l.toFixed(3)).join(' ')}`);
  assert.deepEqual(r.snapshots, ['cifar10_quick_iter_6.caffemodel', 'cifar10_quick_iter_12.caffemodel']);
  // The same losses as the CLI's on the same files.
  if (existsSync(CLI)) {
    const log = join(cifar, 'log.jsonl');
    execFileSync(CLI, ['train', 'cifar10_quick', '--data', 'cifar10', cifar, '--max-iter', '12', '--test-interval', '0',
      '--snapshot-dir', join(cifar, 'snapshots'), '--log', log]);
    const cli = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => 'iter' in l).map((l) => l.loss);
    const worst = Math.max(...cli.map((l, i) => Math.abs(l - r.loss[i]) / Math.max(1e-3, Math.abs(l))));
    console.log(`CLI losses ${cli.map((l) => l.toFixed(3)).join(' ')}; worst relative difference ${worst.toExponential(2)}`);
    assert.equal(cli.length, 12);
    assert.ok(worst < 1e-3, `the page's losses differ from the CLI's by up to ${worst}`);
  }
  assert.equal(await page.$eval('#train-filters', (c) => Number(c.dataset.iter)), 12);
  // conv1 has 3-channel filters: colour tiles.
  const grid = await canvasPixels(page, 'train-filters');
  let colour = 0;
  for (let i = 0; i < grid.rgba.length; i += 4) colour += grid.rgba[i] !== grid.rgba[i + 1] || grid.rgba[i + 1] !== grid.rgba[i + 2];
  assert.ok(colour > 100, `${colour} coloured pixels`);
  // Loaded in the page, the snapshot comes with the training images' mean (the net names a mean_file).
  await page.evaluate(() => globalThis.zfvisViews.train.load(globalThis.zfvisViews.train.snapshots.at(-1)));
  await page.waitForFunction(() => /^Loaded/.test(document.getElementById('status').textContent));
  assert.match(await page.textContent('#status'), /cifar10_quick_iter_12\.caffemodel with mean mean\.binaryproto/);
  assert.deepEqual(errors, []);
});
