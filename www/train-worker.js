// Module Web Worker that trains a net (train.js starts one per run, with its own wasm instance): a few
// iterations per turn of its event loop, so that Pause, Resume and Stop are handled between them.
//
// In:  {op: 'start', source: {builtin} | {net, solver}, data: {kind: 'mnist'} | {kind: 'cifar10', train: [File],
//        test: File | null}, options: {maxIter, snapshot, testInterval, seed}, gridMs, tile}
//      {op: 'pause'}, {op: 'resume'}, {op: 'stop'}
// Out: {type: 'status', text}
//      {type: 'started', name, iter, maxIter, prefix, layer, netText, mean: Uint8Array (a mean.binaryproto) | null}
//      {type: 'progress', steps: Float32Array of [iter, loss, rate]…, iter, busyMs}
//      {type: 'test', result: {iter, loss, accuracy: [{name, value}], images}}
//      {type: 'grid', iter, layer, grid: {width, height, rgba, tiles, grid}}
//      {type: 'snapshot', iter, name, bytes: Uint8Array}
//      {type: 'paused', iter}, {type: 'resumed', iter}
//      {type: 'done', iter, reason: 'finished' | 'stopped', busyMs}
//      {type: 'error', message}

import { loadEngine } from './wasm.js';

const wasm = loadEngine();
// Typed arrays' buffers move to the page instead of being copied.
const post = (msg, arrays = []) => self.postMessage(msg, arrays.filter((a) => ArrayBuffer.isView(a)).map((a) => a.buffer));

// Yields to the event loop without setTimeout's clamping: pending messages run before the next chunk.
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
const tick = () => new Promise((ok) => { waiting.push(ok); channel.port2.postMessage(0); });

const CHUNK_MS = 60; // training time per turn, about
let paused = false;
let stopping = false;
let wake = null; // resolves the wait of a paused loop

const bytes = async (blob) => new Uint8Array(await blob.arrayBuffer());

async function loadData(w, data) {
  if (data.kind === 'mnist') {
    post({ type: 'status', text: 'Fetching the MNIST digits (data/mnist.bin)…' });
    const url = new URL('./data/mnist.bin', import.meta.url);
    let res;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new Error(`could not fetch the MNIST digits (data/mnist.bin): ${e.message}`);
    }
    if (!res.ok) throw new Error(`could not fetch the MNIST digits (data/mnist.bin): HTTP ${res.status}`);
    return w.TrainingData.mnist(new Uint8Array(await res.arrayBuffer()));
  }
  const d = w.TrainingData.cifar10();
  try {
    for (const [i, f] of data.train.entries()) {
      post({ type: 'status', text: `Reading ${f.name} (${i + 1} of ${data.train.length})…` });
      d.addTrain(await bytes(f), f.name);
    }
    if (data.test) d.addTest(await bytes(data.test), data.test.name);
  } catch (e) {
    d.free();
    throw e;
  }
  return d;
}

async function train({ source, data, options, gridMs = 500, tile }) {
  const w = await wasm;
  const d = await loadData(w, data);
  post({ type: 'status', text: 'Building the net…' });
  // The constructors take the data (even when they fail).
  const t = source.builtin ? w.Training.builtin(source.builtin, d, options) : new w.Training(source.net, source.solver, d, options);
  const layer = t.firstConv ?? null;
  let netText = null;
  try {
    netText = t.netText();
  } catch { /* the net came inside the solver */ }
  const mean = t.meanBinaryproto() ?? null;
  post({ type: 'started', name: t.name, iter: t.iter, maxIter: t.maxIter, prefix: t.snapshotPrefix, layer, netText, mean });
  let busyMs = 0;
  let n = 1; // iterations per turn, sized to CHUNK_MS
  let gridAt = -Infinity;
  let gridIter = -1;
  const grid = () => {
    if (!layer || gridIter === t.iter) return;
    gridIter = t.iter;
    gridAt = performance.now();
    const g = t.filterGrid(layer, tile);
    post({ type: 'grid', iter: t.iter, layer, grid: g }, [g.rgba]);
  };
  let snappedAt = -1;
  const snapshot = (b) => {
    snappedAt = t.iter;
    post({ type: 'snapshot', iter: t.iter, name: `${t.snapshotPrefix}_iter_${t.iter}.caffemodel`, bytes: b }, [b]);
  };
  grid();
  while (!stopping) {
    if (paused) {
      grid();
      post({ type: 'paused', iter: t.iter });
      await new Promise((ok) => { wake = ok; });
      wake = null;
      if (!stopping) post({ type: 'resumed', iter: t.iter });
      continue;
    }
    if (t.testDue) {
      post({ type: 'test', result: t.test() });
      await tick();
      continue;
    }
    if (t.finished) break;
    const start = performance.now();
    const steps = t.run(n);
    const ms = performance.now() - start;
    busyMs += ms;
    const count = steps.length / 3;
    if (count > 0) n = Math.max(1, Math.min(1000, Math.round((n * CHUNK_MS) / Math.max(ms, 1))));
    post({ type: 'progress', steps, iter: t.iter, busyMs }, [steps]);
    if (t.snapshotDue) snapshot(t.snapshot());
    if (performance.now() - gridAt >= gridMs) grid();
    await tick();
  }
  grid();
  // Stopped early: the weights so far are a snapshot too.
  if (stopping && t.iter > 0 && snappedAt !== t.iter) snapshot(t.caffemodel());
  post({ type: 'done', iter: t.iter, reason: stopping ? 'stopped' : 'finished', busyMs });
  t.free();
}

self.onmessage = ({ data }) => {
  switch (data.op) {
    case 'start':
      // A panic's message was kept by the panic hook (wasm.js); a trap ends this worker's run.
      train(data).catch((e) => post({ type: 'error', message: e instanceof WebAssembly.RuntimeError
        ? `internal error: ${self.wasmPanic ?? `WebAssembly trap (${e.message})`}` : e?.message ?? String(e) }));
      break;
    case 'pause':
      paused = true;
      break;
    case 'resume':
      paused = false;
      wake?.();
      break;
    case 'stop':
      stopping = true;
      paused = false;
      wake?.();
      break;
    default:
      post({ type: 'error', message: `unknown op ${data.op}` });
  }
};
