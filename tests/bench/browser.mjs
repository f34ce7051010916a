// The browser half of the benchmark, in headless Chromium: zfvis through the page's own worker path
// (engine.js → worker.js → wasm) next to onnxruntime-web (npm, wasm backend, SIMD, one thread, its files
// served from 127.0.0.1), both loading the same ONNX file in the same page, timed in alternating rounds.
// Per model: forward pass, deconvnet projection from the strongest unit of the last convolution, tiling of
// the first convolution's filters (median, min–max), both engines' outputs compared, load times, peak wasm
// memory, and ms and GFLOP/s of every convolution. Then the GEMM micro-benchmark through the page's wasm.
// Usage: bash scripts/build-web.sh && python3 tests/bench/make_models.py && node tests/bench/browser.mjs
//        [--json results.json] [--scale 0.5] [--no-gemm] [--build simd128|relaxed-simd] [model name ...]
// (names from models.json; --build forces one of the page's two wasm builds, else the page picks)
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openBrowser, ROOT } from '../e2e/helpers.mjs';

const config = JSON.parse(readFileSync(join(ROOT, 'tests/bench/models.json'), 'utf8'));
const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv.splice(i, 2)[1];
};
const flag = (name) => argv.includes(name) && argv.splice(argv.indexOf(name), 1).length > 0;
const jsonOut = option('--json');
const scale = Number(option('--scale') ?? 1);
const noGemm = flag('--no-gemm');
const engineBuild = option('--build');
const models = argv.length ? config.models.filter((m) => argv.includes(m.name)) : config.models;
const runs = (n) => Math.max(3, Math.round(n * scale));

// onnxruntime-web's wasm build, served from www/vendor (gitignored; build-web.sh empties it) like dagre.
const ORT_DIR = join(ROOT, 'node_modules/onnxruntime-web/dist');
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];
const ORT_VERSION = JSON.parse(readFileSync(join(ROOT, 'node_modules/onnxruntime-web/package.json'), 'utf8')).version;
mkdirSync(join(ROOT, 'www/vendor/onnxruntime-web'), { recursive: true });
for (const f of ORT_FILES) copyFileSync(join(ORT_DIR, f), join(ROOT, 'www/vendor/onnxruntime-web', f));

const b = await openBrowser();
// Nothing may leave 127.0.0.1: every other request is refused and reported.
const fetched = new Set();
const refused = [];
await b.context.route('**/*', (route) => {
  const url = new URL(route.request().url());
  if (url.hostname === '127.0.0.1') {
    fetched.add(url.pathname);
    // The test server knows no .mjs: onnxruntime-web's modules get their JavaScript MIME type here.
    if (url.pathname.endsWith('.mjs')) {
      return route.fulfill({ path: join(ROOT, 'www', decodeURIComponent(url.pathname)), contentType: 'text/javascript' });
    }
    return route.continue();
  }
  refused.push(url.href);
  return route.abort();
});
await b.page.goto(b.url);
const cdp = await b.context.newCDPSession(b.page);
const chromium = (await cdp.send('Browser.getVersion')).product.replace(/^\D*/, '');
await cdp.detach();
const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
console.log(`Chromium ${chromium}, headless; onnxruntime-web ${ORT_VERSION} (wasm, SIMD, 1 thread); ${cpu}`);

const f3 = (t, d = 3) => `${t[0].toFixed(d)} ms (${t[1].toFixed(d)}–${t[2].toFixed(d)})`;
const stats = (samples) => {
  const s = [...samples].sort((a, b) => a - b);
  return [s[s.length >> 1], s[0], s[s.length - 1]];
};
const digits = (ms) => (ms < 10 ? 3 : ms < 100 ? 2 : 1);
const mib = (x) => `${(x / 2 ** 20).toFixed(x < 2 ** 24 ? 1 : 0)} MiB`;
const gflops = (macs, ms) => (2 * macs) / ms / 1e6;
const results = { chromium, ort: ORT_VERSION, cpu, date: new Date().toISOString().slice(0, 10), models: [] };

for (const model of models) {
  const file = join(ROOT, `target/bench-models/${model.name}.onnx`);
  const r = { name: model.name, label: model.label };
  results.models.push(r);
  if (!existsSync(file)) {
    r.error = `${file} is absent: make it with python3 tests/bench/make_models.py ${model.name}`;
    console.log(`\n${model.label}: SKIPPED: ${r.error}`);
    continue;
  }
  console.log(`\n${model.label} (${model.source}; ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB file)`);
  try {
    await measure(model, file, r);
  } catch (e) {
    r.error = e.message.split('\n')[0];
    console.log(`  FAILED: ${r.error}`);
    // The page may have crashed (out of memory): the next model gets a new one.
    await b.page.close().catch(() => {});
    b.page = await b.newPage();
  }
}

// ---- one model: both engines in one fresh page

async function measure(model, file, r) {
  await b.page.goto(b.url);
  await b.page.evaluate(() => {
    document.body.append(Object.assign(document.createElement('input'), { type: 'file', id: 'bench-file' }));
  });
  // The browser reads the file from disk, as it does for a user's pick; both engines get that File.
  await b.page.setInputFiles('#bench-file', file);
  const setup = await b.page.evaluate(async ({ ortVersion, build }) => {
    const file = document.getElementById('bench-file').files[0];
    const B = (window.bench = {});
    const out = {};
    // zfvis: the page's worker client, a fresh worker (its wasm memory only grows: its size is the peak).
    B.engine = new (await import('./engine.js')).Engine({ build });
    B.call = (op, args) => B.engine.call(op, args);
    try {
      out.memoryStart = await B.call('memory');
      const t = performance.now();
      const summary = await B.call('load', { onnx: file });
      out.loadMs = performance.now() - t;
      out.memoryAfterLoad = await B.call('memory');
      const size = (s) => s.reduce((a, d) => a * d, 1);
      out.params = summary.params;
      out.macs = summary.totals.macs;
      // Every value one forward pass keeps (the input and every layer's outputs), as f32.
      out.activations = 4 * (summary.inputs.reduce((a, i) => a + size(i.shape), 0)
        + summary.layers.flatMap((l) => l.outputs).reduce((a, o) => a + size(o.shape), 0));
      out.inputShape = summary.inputs[0].shape;
      const convs = summary.layers.filter((l) => l.type === 'Conv' || l.type === 'Convolution');
      out.firstConv = convs[0]?.name;
      out.lastConv = convs.at(-1)?.name;
    } catch (e) {
      out.oursError = e.message;
    }
    // onnxruntime-web: wasm backend, one thread, its files from this server only.
    try {
      const ort = await import('./vendor/onnxruntime-web/ort.wasm.min.mjs');
      ort.env.wasm.wasmPaths = new URL('./vendor/onnxruntime-web/', location.href).href;
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.simd = true;
      ort.env.wasm.proxy = false;
      const bytes = new Uint8Array(await file.arrayBuffer());
      const t = performance.now();
      B.session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      out.ortLoadMs = performance.now() - t;
      out.ortVersion = ort.env.versions?.web ?? ortVersion;
      out.ortThreads = ort.env.wasm.numThreads;
      B.ort = ort;
    } catch (e) {
      out.ortError = e.message;
    }
    // One seeded input (uniform in [-1, 1), mulberry32) for both, of zfvis's batch-1 input shape (or else
    // onnxruntime's, its free dimensions 1).
    const shape = out.inputShape ?? B.session?.inputMetadata?.[0]?.shape?.map((d) => (typeof d === 'number' ? d : 1));
    if (!shape) return out;
    let a = 12345;
    const random = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const input = Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => random() * 2 - 1);
    let ours, theirs;
    if (!out.oursError) {
      try {
        ({ output: ours, build: out.build } = await B.call('bench', { input }));
      } catch (e) {
        out.oursError = e.message;
      }
    }
    if (B.session) {
      try {
        B.feeds = { [B.session.inputNames[0]]: new B.ort.Tensor('float32', input, shape) };
        theirs = (await B.session.run(B.feeds))[B.session.outputNames[0]].data;
      } catch (e) {
        out.ortError = e.message;
        B.session = null;
      }
    }
    if (ours && theirs) {
      let diff = 0;
      let range = 0;
      for (let i = 0; i < theirs.length; i++) {
        diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
        range = Math.max(range, Math.abs(theirs[i]));
      }
      out.outputs = { length: [ours.length, theirs.length], diff, range };
    }
    return out;
  }, { ortVersion: ORT_VERSION, build: engineBuild });
  Object.assign(r, setup);
  const ok = { ours: !r.oursError, ort: !r.ortError };
  if (r.build) console.log(`  zfvis wasm build: ${r.build}`);
  if (r.oursError) console.log(`  zfvis FAILED: ${r.oursError}`);
  if (r.ortError) console.log(`  onnxruntime-web FAILED: ${r.ortError}`);
  if (r.outputs) {
    const { length, diff, range } = r.outputs;
    r.outputs.agree = length[0] === length[1] && diff <= 1e-3 * Math.max(range, 1e-6);
    console.log(`  outputs on one seeded input: ${r.outputs.agree ? 'agree' : 'DIFFER'} (${length[0]} values, `
      + `largest difference ${diff.toExponential(1)}, ${(diff / Math.max(range, 1e-30)).toExponential(1)} of the output's range)`);
  }
  if (!ok.ours && !ok.ort) return;

  const rounds = runs(model.rounds);
  const { batch, warmup } = model;
  const proj = ok.ours ? r.lastConv : undefined;
  // Warm-up of every measured call, then rounds in alternating order.
  await b.page.evaluate(async ({ batch, warmup, proj, ok }) => {
    const B = window.bench;
    if (ok.ours) await B.call('bench', { runs: 1, batch: 1, warmup, projectLayer: proj });
    if (ok.ort) for (let i = 0; i < warmup; i++) await B.session.run(B.feeds);
  }, { batch, warmup, proj, ok });
  const samples = { forward: [], ort: [], projection: [] };
  const paired = [];
  for (let i = 0; i < rounds; i++) {
    const s = await b.page.evaluate(async ({ batch, proj, ok, oursFirst }) => {
      const B = window.bench;
      const s = {};
      const ours = async () => {
        if (!ok.ours) return;
        s.forward = (await B.call('bench', { runs: 1, batch, warmup: 0 })).forward[3];
      };
      const theirs = async () => {
        if (!ok.ort) return;
        const t = performance.now();
        for (let k = 0; k < batch; k++) await B.session.run(B.feeds);
        s.ort = (performance.now() - t) / batch;
      };
      for (const f of oursFirst ? [ours, theirs] : [theirs, ours]) await f();
      if (proj) s.projection = (await B.call('bench', { runs: 1, batch, warmup: 0, forward: false, projectLayer: proj })).projection[3];
      return s;
    }, { batch, proj, ok, oursFirst: i % 2 === 0 });
    for (const k of Object.keys(samples)) if (s[k] !== undefined) samples[k].push(s[k]);
    if (s.forward !== undefined && s.ort !== undefined) paired.push(s.forward / s.ort);
  }
  // The ratio within each round too: both engines measured seconds apart, through the same slow spells.
  if (paired.length) r.pairedRatio = stats(paired);
  r.rounds = rounds;
  r.batch = batch;
  for (const [k, v] of Object.entries(samples)) if (v.length) r[k] = stats(v);
  if (ok.ours) {
    const rest = await b.page.evaluate(async ({ rounds, batch, layer, profile }) => {
      const B = window.bench;
      const out = {};
      if (layer) out.tile = (await B.call('bench', { runs: rounds, batch, forward: false, layer })).tile.slice(0, 3);
      out.profile = (await B.call('bench', { profile })).profile;
      out.memoryPeak = await B.call('memory');
      return out;
    }, { rounds, batch, layer: r.firstConv, profile: runs(model.profile) });
    Object.assign(r, rest);
  }
  await b.page.evaluate(async () => {
    window.bench.engine.terminate();
    await window.bench.session?.release();
  });
  report(r);
}

function report(r) {
  const d = digits(r.forward?.[0] ?? r.ort?.[0] ?? 1);
  console.log(`  ${r.rounds} alternating rounds of ${r.batch} call${r.batch > 1 ? 's' : ''} each (ms per call: median, min–max)`);
  if (r.forward) console.log(`  forward      zfvis ${f3(r.forward, d)}`);
  if (r.ort) console.log(`  forward      onnxruntime-web ${f3(r.ort, d)}`);
  if (r.forward && r.ort) {
    const ratio = r.forward[0] / r.ort[0];
    console.log(`  zfvis / onnxruntime-web ${ratio.toFixed(2)}× (goal ≤ 0.80×: ${ratio <= 0.8 ? 'met' : 'not met'}); `
      + `within a round: median ${r.pairedRatio[0].toFixed(2)}× (${r.pairedRatio[1].toFixed(2)}–${r.pairedRatio[2].toFixed(2)})`);
  }
  if (r.projection) {
    const ratio = r.projection[0] / r.forward[0];
    console.log(`  deconvnet from ${r.lastConv} ${f3(r.projection, d)}, ${ratio.toFixed(2)}× zfvis's forward pass `
      + `(goal ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'not met'})`);
  }
  if (r.tile) console.log(`  tile ${r.firstConv} ${f3(r.tile, 3)}`);
  if (r.loadMs !== undefined || r.ortLoadMs !== undefined) {
    console.log(`  load: zfvis ${r.loadMs !== undefined ? `${(r.loadMs / 1000).toFixed(2)} s` : '–'}, onnxruntime-web `
      + `${r.ortLoadMs !== undefined ? `${(r.ortLoadMs / 1000).toFixed(2)} s` : '–'}`);
  }
  if (r.memoryPeak) {
    const weights = 4 * r.params;
    const ratio = r.memoryPeak / (weights + r.activations);
    r.memoryRatio = ratio;
    console.log(`  zfvis wasm memory: weights ${mib(weights)}, activations of a forward pass ${mib(r.activations)}; `
      + `at start ${mib(r.memoryStart)}, after load ${mib(r.memoryAfterLoad)} (${(r.memoryAfterLoad / weights).toFixed(2)}× `
      + `the weights), peak after forward, projection, tiling and profile ${mib(r.memoryPeak)} `
      + `(${ratio.toFixed(2)}× weights + activations; goal ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'not met'})`);
  }
  if (r.profile) {
    const total = r.profile.nodes.reduce((a, n) => a + n.ms, 0);
    const convs = r.profile.nodes.filter((n) => n.conv);
    const convMs = convs.reduce((a, n) => a + n.ms, 0);
    const convMacs = convs.reduce((a, n) => a + n.macs, 0);
    console.log(`  per convolution (mean of the faster half of ${r.profile.runs.length} profiled passes; the nodes add up to `
      + `${total.toFixed(d)} ms, convolutions ${convMs.toFixed(d)} ms = ${gflops(convMacs, convMs).toFixed(1)} GFLOP/s):`);
    for (const n of convs) {
      console.log(`    ${n.name.padEnd(28)} ${(n.macs / 1e6).toFixed(1).padStart(8)} M MACs ${n.ms.toFixed(3).padStart(9)} ms `
        + `${gflops(n.macs, n.ms).toFixed(1).padStart(6)} GFLOP/s`);
    }
  }
}

// ---- batch jobs' path: batched forward passes sharded over a pool of workers (www/pool.js)

for (const model of models.filter((m) => m.pool)) {
  const file = join(ROOT, `target/bench-models/${model.name}.onnx`);
  const r = results.models.find((x) => x.name === model.name);
  if (!existsSync(file) || !r || r.error) continue;
  const { images, shard, workers } = model.pool;
  const reps = runs(5);
  await b.page.goto(b.url);
  await b.page.evaluate(() => {
    document.body.append(Object.assign(document.createElement('input'), { type: 'file', id: 'bench-file' }));
  });
  await b.page.setInputFiles('#bench-file', file);
  r.pool = await b.page.evaluate(async ({ images, shard, workers, reps, build, shape }) => {
    const { Pool } = await import('./pool.js');
    const onnx = document.getElementById('bench-file').files[0];
    const per = shape.reduce((a, d) => a * d, 1);
    let seed = 1;
    const data = Float32Array.from({ length: images * per }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1);
    const shards = Array.from({ length: Math.ceil(images / shard) }, (_, k) => [k * shard, Math.min(shard, images - k * shard)]);
    const out = [];
    for (const size of workers) {
      const pool = new Pool(size, { build });
      pool.setModel({ onnx });
      const run = (e, [start, n]) => e.call('forwardBatch', { input: data.slice(start * per, (start + n) * per), n, outputs: [] });
      await pool.map(shards.slice(0, 2 * size), run);
      const ms = [];
      for (let i = 0; i < reps; i++) {
        const t = performance.now();
        await pool.map(shards, run);
        ms.push(performance.now() - t);
      }
      pool.terminate();
      ms.sort((a, b) => a - b);
      out.push({ workers: size, ms: [ms[ms.length >> 1], ms[0], ms.at(-1)] });
    }
    return out;
  }, { images, shard, workers, reps, build: engineBuild, shape: r.inputShape });
  const perSecond = (ms) => (images / ms) * 1000;
  const single = r.forward ? 1000 / r.forward[0] : undefined;
  console.log(`\n${model.label}: ${images} seeded inputs in batches of ${shard}, sharded over a pool of workers `
    + `(${reps} repetitions; inputs per second from the median)`);
  for (const p of r.pool) {
    const base = r.pool[0];
    console.log(`  ${p.workers} worker${p.workers > 1 ? 's' : ' '} ${perSecond(p.ms[0]).toFixed(0).padStart(7)} /s `
      + `(${f3(p.ms)} for all)${p === base ? '' : `, ${(base.ms[0] / p.ms[0]).toFixed(2)}× one worker`}`);
  }
  if (single) console.log(`  single forward passes in one worker: ${single.toFixed(0)} /s`);
}

// ---- GEMM micro-benchmark through the page's wasm (a worker with no model)

if (!noGemm) {
  const { sizes } = config.gemm;
  const gemmRuns = runs(config.gemm.runs);
  await b.page.goto(b.url);
  const times = await b.page.evaluate(async ({ sizes, runs, build }) => {
    const engine = new (await import('./engine.js')).Engine({ build });
    const r = await engine.call('bench', { sgemm: sizes.map((n) => [n, n, n]), runs });
    engine.terminate();
    return r;
  }, { sizes, runs: gemmRuns, build: engineBuild });
  results.build = times.build;
  console.log(`\nsgemm through zfvis_core::ops::gemm::sgemm in Chromium (C = A·B, square; ${gemmRuns} samples of ≥ 20 ms each; `
    + `${times.build} build):`);
  results.gemm = sizes.map((n, i) => {
    const t = stats(times.sgemm[i]);
    const g = [gflops(n ** 3, t[0]), gflops(n ** 3, t[1])];
    console.log(`  ${String(n).padStart(4)}: ${f3(t)} = ${g[0].toFixed(1)} GFLOP/s (best ${g[1].toFixed(1)})`);
    return { n, ms: t, gflops: g };
  });
  const peak = Math.max(...results.gemm.map((x) => x.gflops[1]));
  const large = Math.min(...results.gemm.filter((x) => x.n >= 512).map((x) => x.gflops[0]));
  console.log(`  peak ${peak.toFixed(1)} GFLOP/s; slowest median at 512 and larger ${large.toFixed(1)} GFLOP/s `
    + `(goal ≥ 32: ${large >= 32 ? 'met' : 'not met'})`);
}

const ortFiles = [...fetched].filter((p) => p.includes('onnxruntime-web')).map((p) => p.split('/').pop());
console.log(`\nonnxruntime-web files fetched, all from 127.0.0.1: ${ortFiles.join(', ') || 'none'}`);
console.log(`requests outside 127.0.0.1: ${refused.length ? `${refused.length}, refused: ${refused.join(', ')}` : 'none'}`);
results.refused = refused;
results.ortFiles = ortFiles;
await b.close();
if (b.errors.length) console.log(`browser errors: ${b.errors.join('; ')}`);
if (jsonOut) {
  mkdirSync(dirname(jsonOut), { recursive: true });
  writeFileSync(jsonOut, JSON.stringify(results, null, 1));
}
