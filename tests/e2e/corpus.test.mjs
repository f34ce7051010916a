// The malformed-file corpus (tests/corpus/make_corpus.py; the CLI runs it in crates/cli/tests/corpus.rs) in
// Chromium: every case through the wasm API (ModelReader, setMean, predict) and through the page (the files
// dropped on it). Each broken case must end in a specific error, never a wasm trap, a page error or a frozen
// page; the good models load after them, and a good model works in the same page at the end.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, openBrowser, serveModels } from './helpers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'zfvis-corpus-'));
const gen = spawnSync('python3', [join(ROOT, 'tests/corpus/make_corpus.py'), dir], { encoding: 'utf8' });
const skip = gen.status === 0 ? false : `python3 with numpy is needed to write the corpus: ${gen.stderr || gen.error}`;
const isFile = (f) => { try { return statSync(join(dir, f)).isFile(); } catch { return false; } };

// A case's command line as roles: the model files in their order, the image, the mean.
function roles({ args }) {
  const r = { model: [], image: null, mean: null };
  for (let i = 1; i < args.length; i++) {
    if (args[i] === '--image') r.image = args[++i];
    else if (args[i] === '--mean') r.mean = args[++i];
    else r.model.push(args[i]);
  }
  return r;
}

const filesOf = (c) => { const r = roles(c); return [...r.model, r.mean, r.image].filter(Boolean); };
// Cases whose files exist (the CLI's missing-file and directory cases have no page equivalent).
const cases = skip ? [] : JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).cases
  .filter((c) => filesOf(c).every(isFile))
  .sort((a, b) => (a.expect === 'ok') - (b.expect === 'ok'));
// An image given as a model file is an image to the page, which then asks for what is missing.
const imageAsModel = (c) => roles(c).model.some((f) => /\.(png|jpe?g)$/.test(f));

let b;
let served;
before(async () => {
  if (skip) return;
  b = await openBrowser();
  served = await serveModels(Object.fromEntries(cases.flatMap(filesOf).map((f) => [f, join(dir, f)])));
});
after(async () => {
  await b?.close();
  served?.close();
  rmSync(dir, { recursive: true, force: true });
});

// A message that names the problem: not a trap, not a bare exception name, not "empty" for a file that is not.
function unclear(c, message) {
  if (/RuntimeError|unreachable|panicked|memory access out of bounds|Maximum call stack/i.test(message)) return 'a wasm trap';
  if (message.trim().length < 12) return 'too short';
  if (/file is empty/.test(message) && c.files.every((f) => statSync(join(dir, f)).size > 0)) return 'says empty';
  return null;
}

// One case through the wasm API, in the page: {ok} or {ok: false, message, type}, and the wasm memory's
// size before and after (it only grows).
const throughApi = async ({ base, role }) => {
  const m = await import('./pkg/zfvis_web.js');
  await m.default();
  const before = m.memoryBytes();
  const memory = () => ({ before, after: m.memoryBytes() });
  const bytes = async (name) => new Uint8Array(await (await fetch(base + encodeURIComponent(name))).arrayBuffer());
  const isText = (u8) => !u8.slice(0, 4096).includes(0) && (() => {
    try { new TextDecoder('utf-8', { fatal: true }).decode(u8.slice(0, 4096)); return true; } catch { return false; }
  })();
  let model;
  try {
    let files = await Promise.all(role.model.map(bytes));
    let reader;
    if (files.length === 1) {
      reader = m.ModelReader.onnx(files[0].length);
    } else {
      // The CLI's rule: the text file is the prototxt.
      if (!isText(files[0]) && isText(files[1])) files = [files[1], files[0]];
      reader = m.ModelReader.caffe(files[0], files[1].length);
    }
    const data = files.at(-1);
    try {
      for (let at = 0; at < data.length; at += 1 << 20) reader.push(data.subarray(at, at + (1 << 20)));
      model = reader.finish();
    } finally {
      reader.free();
    }
    model.summary();
    if (role.mean) model.setMean(await bytes(role.mean));
    if (role.image) {
      const bitmap = await createImageBitmap(new Blob([await bytes(role.image)]));
      const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
      ctx.drawImage(bitmap, 0, 0);
      const { data: rgba } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
      model.predict(new Uint8Array(rgba.buffer), bitmap.width, bitmap.height,
        { channelOrder: 'BGR', meanValues: null, scale: 1, resize: 'stretch' });
    }
    return { ok: true, ...memory() };
  } catch (e) {
    return { ok: false, message: String(e?.message ?? e), type: e?.constructor?.name, ...memory() };
  } finally {
    model?.free();
  }
};

test('every corpus case through the wasm API: a specific error for each broken file, good models load', { skip, timeout: 600_000 }, async () => {
  const { page, errors } = b;
  // A declared 10^12-element blob with 16 MB of values, in a fresh page: refused, with the wasm memory
  // growing by less than twice the file's size.
  for (const c of cases.filter((c) => c.memory === '2x_file')) {
    await b.open();
    const r = await page.evaluate(throughApi, { base: `${served.url}cors/`, role: roles(c) });
    const size = filesOf(c).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    console.log(`${c.id}: ${r.message}; wasm memory ${(r.before / 1e6).toFixed(1)} → ${(r.after / 1e6).toFixed(1)} MB for a ${(size / 1e6).toFixed(1)} MB file`);
    assert.ok(!r.ok && r.after - r.before <= 2 * size, c.id);
  }
  await b.open();
  const results = [];
  for (const c of cases) {
    const r = await page.evaluate(throughApi, { base: `${served.url}cors/`, role: roles(c) });
    results.push([c, r]);
  }
  const failures = [];
  for (const [c, r] of results) {
    const problem = c.expect === 'ok' ? (r.ok ? null : `refused: ${r.message}`)
      : r.ok ? 'accepted' : unclear(c, r.message) && `${unclear(c, r.message)}: ${r.type}: ${r.message}`;
    console.log(`${c.id.padEnd(34)} ${problem ? `FAIL ${problem}` : (r.ok ? 'ok' : r.message.slice(0, 110))}`);
    if (problem) failures.push(`${c.id}: ${problem}`);
  }
  const broken = results.filter(([c]) => c.expect !== 'ok').length;
  console.log(`wasm API: ${broken} broken files and ${results.length - broken} good models; ${results.length - failures.length} of ${results.length} passed`);
  assert.ok(broken >= 60);
  assert.deepEqual(failures, []);
  assert.deepEqual(errors, []);
});

test('every corpus case dropped on the page: a clear message each time, and the page still works', { skip, timeout: 900_000 }, async () => {
  const { page, errors } = b;
  const failures = [];
  let n = 0;
  for (const c of cases) {
    await b.open();
    await page.setInputFiles('#model-files', filesOf(c).map((f) => join(dir, f)));
    // Settled: an error shown, the page asking for the file it lacks, or the model loaded and every image
    // classified.
    await page.waitForFunction(() => {
      const error = document.getElementById('error');
      if (!error.hidden) return true;
      const status = document.getElementById('status').textContent;
      const rows = document.querySelectorAll('#results tbody tr');
      return /now add/.test(status) || (/^Loaded/.test(status) && [...rows].every((r) => 'done' in r.dataset));
    }, null, { timeout: 30_000 }).catch(() => failures.push(`${c.id}: neither an error nor a loaded model after 30 s`));
    const error = await page.$eval('#error', (e) => (e.hidden ? null : e.textContent));
    const status = await page.textContent('#status');
    let problem;
    if (c.expect === 'ok') problem = error && `refused: ${error}`;
    else if (imageAsModel(c)) problem = /now add/.test(status) ? null : `the page does not ask for a model (status: ${status})`;
    else problem = error === null ? `no error shown (status: ${status})` : unclear(c, error);
    console.log(`${c.id.padEnd(34)} ${problem ? `FAIL ${problem}` : (error ?? status).slice(0, 120)}`);
    if (problem) failures.push(`${c.id}: ${problem}`);
    n++;
  }
  console.log(`page: ${n - failures.length} of ${n} cases passed`);
  assert.deepEqual(failures, []);
  assert.deepEqual(errors, []);
});
