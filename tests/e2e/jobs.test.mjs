// Batch jobs on the worker pool, through the page's controls: an occlusion map against OpenCV's, the top-9 of
// a folder and of CIFAR-10 binary batches against the CLI, progress, cancel, a second job after the cancel,
// and a main thread that stays free (no task over 50 ms) while a job runs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CIFAR, CLI, cifarBatch, finished, loadModel, manifest, noFixtures, openBrowser, readNpy, shared } from './helpers.mjs';

let b;
before(async () => { if (!noFixtures) b = await openBrowser(); });
after(async () => b?.close());

const MODEL = ['cifar10_quick.prototxt', 'cifar10_quick_iter_5000_v1.caffemodel', 'mean_approx.binaryproto'];

// The fixtures' preprocessing for cifar10_quick: RGB planes minus the mean file.
async function open(page) {
  await b.open();
  assert.equal(await loadModel(page, MODEL.map((f) => join(CIFAR, f))), null);
  await page.selectOption('#pre-order', 'RGB');
}

async function runTopK(page, layer, timeout) {
  await page.selectOption('#topk-layer', layer);
  await page.click('#topk-run');
  assert.equal(await finished(page, 'topk-progress', timeout), 'done');
  // The projections of the first page follow as a second job, then its rows.
  await page.waitForFunction(() => document.getElementById('topk-section').dataset.page !== undefined, null, { timeout });
  return page.evaluate(() => globalThis.zfvisViews.topk.result);
}

// The CLI's top-k of the same images (JSON entries) as per-channel lists of [image, y, x, value].
function cliTopK(images, layer) {
  const out = mkdtempSync(join(tmpdir(), 'zfvis-topk-'));
  execFileSync(CLI, ['topk', ...MODEL.slice(0, 2).map((f) => join(CIFAR, f)), '--mean', join(CIFAR, MODEL[2]),
    '--channel-order', 'rgb', '--images', images, '--layer', layer, '-o', out]);
  const json = JSON.parse(readFileSync(join(out, 'topk.json'), 'utf8'));
  const channels = Array.from({ length: json.channels }, () => []);
  for (const e of json.entries) channels[e.channel][e.rank] = [e.index, e.y, e.x, e.value];
  return channels;
}

// Same images, units and order; values within float rounding (wasm and native kernels sum differently).
function assertSameTopK(got, want) {
  assert.equal(got.channels.length, want.length);
  let worst = 0;
  for (const [ch, list] of got.channels.entries()) {
    assert.deepEqual(list.map((e) => [e.image, e.y, e.x]), want[ch].map(([i, y, x]) => [i, y, x]), `channel ${ch}`);
    for (const [r, e] of list.entries()) worst = Math.max(worst, Math.abs(e.value - want[ch][r][3]) / Math.max(1, Math.abs(want[ch][r][3])));
  }
  assert.ok(worst <= 1e-5, `values differ from the CLI's by up to ${worst}`);
  return worst;
}

test('occlusion maps in the page equal OpenCV dnn\'s', { skip: noFixtures, timeout: 120_000 }, async () => {
  const { page, errors } = b;
  await open(page);
  const spec = manifest().models.cifar10_quick_iter_5000_v1.images.cat_0000;
  await page.setInputFiles('#image-files', [shared(spec.file)]);
  await page.waitForSelector('#results tr[data-done]');
  for (const key of ['occlusion_cv2_s4_st1', 'occlusion_cv2_s8_st2']) {
    const ref = readNpy(shared(spec[key].path));
    const [size, stride] = key.match(/s(\d+)_st(\d+)/).slice(1).map(Number);
    await page.fill('#occ-size', String(size));
    await page.fill('#occ-stride', String(stride));
    await page.selectOption('#occ-fill', 'mean');
    await page.click('#occ-run');
    assert.equal(await finished(page, 'occ-progress'), 'done');
    const maps = await page.evaluate(() => globalThis.zfvisViews.occlusion.maps);
    assert.deepEqual([maps.rows, maps.cols], ref.shape);
    const scale = Math.max(1, ...ref.data.map(Math.abs));
    const err = Math.max(...maps.prob.map((p, i) => Math.abs(p - ref.data[i])));
    console.log(`occlusion size ${size} stride ${stride}: ${maps.rows}×${maps.cols}, max |p − p_cv2| ${err.toExponential(2)}`);
    assert.ok(err <= 1e-4 * scale, `size ${size} stride ${stride}: ${err}`);
    assert.equal(maps.feature.length, maps.rows * maps.cols, 'the feature map of the chosen layer');
    assert.equal(maps.argmax.length, maps.rows * maps.cols);
    for (const id of ['occlusion-feature', 'occlusion-prob', 'occlusion-argmax']) {
      assert.ok(await page.locator(`[data-testid=${id}]`).isVisible(), `${id} is shown`);
    }
    assert.ok(await page.locator('#occ-figures .legend.classes li').count() >= 1, 'the class legend');
  }
  assert.deepEqual(errors, []);
});

test('top-9 of a folder, of CIFAR-10 batches, with progress, cancel and a free main thread',
  { skip: noFixtures, timeout: 300_000 }, async () => {
    const { page, errors } = b;
    assert.ok(existsSync(CLI), `${CLI} is missing: run \`cargo build --release -p zfvis-cli\``);
    await open(page);

    // A folder of 40 images and a stray text file.
    const folder = mkdtempSync(join(tmpdir(), 'zfvis-folder-'));
    const jpgs = readdirSync(shared('fixtures/images/cifar10')).filter((f) => f.endsWith('.jpg')).sort().slice(0, 40);
    for (const f of jpgs) copyFileSync(shared(`fixtures/images/cifar10/${f}`), join(folder, f));
    writeFileSync(join(folder, 'notes.txt'), 'not an image');
    await page.setInputFiles('#set-folder', folder);
    await page.waitForFunction(() => /^40 images/.test(document.getElementById('set-status').textContent));
    assert.match(await page.textContent('#set-status'), /1 other file\(s\) skipped/);
    const folderTop = await runTopK(page, 'conv1', 60_000);
    assert.equal(folderTop.channels.length, 32);
    assert.ok(folderTop.channels.every((list) => list.length === 9 && new Set(list.map((e) => e.image)).size === 9));
    assert.ok(folderTop.channels.every((list) => list.every((e, i) => i === 0 || list[i - 1].value >= e.value)));
    const rows = page.locator('#topk-grids .topk-row');
    assert.equal(await rows.count(), 8);
    assert.equal(await rows.first().locator('.projections canvas').count(), 9);
    assert.equal(await rows.first().locator('.patches canvas').count(), 9);

    // The 10k test set as one batch file: cancel it midway, watching the main thread.
    const big = cifarBatch(10000);
    await page.setInputFiles('#set-files', [big]);
    await page.waitForFunction(() => /^10000 images from CIFAR-10/.test(document.getElementById('set-status').textContent));
    await page.evaluate(() => {
      globalThis.longTasks = [];
      new PerformanceObserver((l) => globalThis.longTasks.push(...l.getEntries().map((e) => e.duration)))
        .observe({ type: 'longtask' });
    });
    await page.selectOption('#topk-layer', 'relu2');
    await page.click('#topk-run');
    await page.waitForFunction(() => document.querySelector('#topk-progress progress')?.value >= 5);
    const moved = await page.$eval('#topk-progress', (e) => [e.querySelector('progress').value, e.textContent]);
    await page.click('#topk-progress button');
    assert.equal(await finished(page, 'topk-progress'), 'cancelled');
    console.log(`cancelled at ${moved[0]} of 100 shards: “${moved[1]}”`);
    assert.match(moved[1], /left/);

    // A second job after the cancel: 500 images, against the CLI on the same file.
    const small = cifarBatch(500);
    await page.setInputFiles('#set-files', [small]);
    await page.waitForFunction(() => /^500 images/.test(document.getElementById('set-status').textContent));
    const got = await runTopK(page, 'relu2', 60_000);
    const worst = assertSameTopK(got, cliTopK(small, 'relu2'));
    console.log(`top-9 of relu2 over 500 CIFAR-10 images equals the CLI's (values within ${worst.toExponential(1)})`);

    // The whole 10k set, ranked to the end, with the time it took.
    await page.setInputFiles('#set-files', [big]);
    await page.waitForFunction(() => /^10000 images/.test(document.getElementById('set-status').textContent));
    const full = await runTopK(page, 'relu1', 180_000);
    const ms = await page.$eval('#topk-section', (e) => Number(e.dataset.rankedMs));
    assertSameTopK(full, cliTopK(big, 'relu1'));
    const longTasks = await page.evaluate(() => globalThis.longTasks);
    console.log(`top-9 of relu1 over 10,000 images in the page: ${(ms / 1000).toFixed(1)} s; main-thread tasks over 50 ms: ${longTasks.length} ${JSON.stringify(longTasks.map(Math.round))}`);
    assert.deepEqual(longTasks, [], 'no main-thread task over 50 ms while the jobs ran');
    assert.deepEqual(errors, []);
  });
