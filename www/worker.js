// Module Web Worker that owns the wasm engine: the main thread never runs wasm.
// Protocol: {id, op, args} in; {id, result} or {id, error, trap} out, one request at a time.

import { loadEngine } from './wasm.js';

const wasm = loadEngine()
  .catch((e) => { throw new Error(`could not start the WebAssembly engine: ${e.message}`); });

let model = null;

const bytes = async (blob) => new Uint8Array(await blob.arrayBuffer());

function loaded() {
  if (!model) throw new Error('no model is loaded');
  return model;
}

// Decodes an image file to RGBA exactly as stored: no colour conversion, no premultiplication.
async function decode(blob) {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const { width, height } = bitmap;
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { width, height, rgba: new Uint8Array(ctx.getImageData(0, 0, width, height).data.buffer) };
}

// Bytes per CIFAR-10 record: a label, then 32×32 R, G and B planes.
const RECORD = 3073;

// Adds images start..end of an image set (see image-set.js) to a wasm Images: CIFAR-10 records read straight
// from their batch files, image files decoded here.
async function pushImages(images, { kind, files, counts }, start, end) {
  if (kind === 'cifar') {
    let first = 0;
    for (const [i, file] of files.entries()) {
      const [a, b] = [Math.max(start, first), Math.min(end, first + counts[i])];
      if (a < b) images.pushCifar(await bytes(file.slice((a - first) * RECORD, (b - first) * RECORD)));
      first += counts[i];
    }
    return;
  }
  for (const file of files.slice(start, end)) {
    let img;
    try {
      img = await decode(file);
    } catch {
      throw new Error(`${file.name} is not an image this browser can decode`);
    }
    images.pushRgba(img.rgba, img.width, img.height);
  }
}

// Runs run(images) on the given [start, end) ranges of a set, read into one wasm Images.
async function withImages(set, ranges, run) {
  const { Images } = await wasm;
  const images = new Images();
  try {
    for (const [start, end] of ranges) await pushImages(images, set, start, end);
    return run(images);
  } finally {
    images.free();
  }
}

// A new wasm Model from {prototxt, weights} or {onnx}: the weights file streams into wasm chunk by chunk, so a
// model of hundreds of MB is never held there twice.
async function readModel({ prototxt, weights, onnx }) {
  const { ModelReader } = await wasm;
  const file = onnx ?? weights;
  const reader = onnx ? ModelReader.onnx(file.size) : ModelReader.caffe(await bytes(prototxt), file.size);
  try {
    const chunks = file.stream().getReader();
    for (;;) {
      const { done, value } = await chunks.read();
      if (done) break;
      reader.push(value);
    }
    return reader.finish();
  } finally {
    reader.free();
  }
}

const ops = {
  // Replaces the model only once the new one (and its mean, if any) loaded.
  async load({ prototxt, weights, onnx, mean }) {
    const next = await readModel({ prototxt, weights, onnx });
    try {
      if (mean) next.setMean(await bytes(mean));
    } catch (e) {
      next.free();
      throw new Error(`the mean file ${mean.name} does not fit: ${e.message ?? e}`);
    }
    model?.free();
    model = next;
    return model.summary();
  },

  // A forward pass over n inputs at once (input: their values one after another): {name: Float32Array}
  // for each name in outputs, over the whole batch. Batch jobs send shards of their images here (pool.js).
  forwardBatch({ input, n, outputs }) {
    const arrays = loaded().forwardBatch(input, n, outputs);
    return Object.fromEntries(outputs.map((name, i) => [name, arrays[i]]));
  },

  // Image-set jobs (pool.js sends each worker shards of them).
  // The top-k of each map of `layer` over images start..end of `set`: {k, channels, spatial}.
  topk({ set, start, end, layer, k, pre }) {
    return withImages(set, [[start, end]], (images) => loaded().topk(images, start, layer, k, pre));
  },

  async mergeTopK({ parts }) {
    return (await wasm).mergeTopK(parts);
  },

  // For units [{image (index in the set), channel, y, x}] of `layer`: [{projection, patch, field}].
  topkViews({ set, units, layer, pre }) {
    const wanted = [...new Set(units.map((u) => u.image))];
    const at = new Map(wanted.map((image, i) => [image, i]));
    return withImages(set, wanted.map((i) => [i, i + 1]),
      (images) => loaded().topkViews(images, units.map((u) => ({ ...u, image: at.get(u.image) })), layer, pre));
  },

  // Occlusion maps of image `index` of `set` for grid positions start..end.
  occlusion({ set, index, occluder, classIndex, layer, start, end, pre }) {
    return withImages(set, [[index, index + 1]],
      (images) => loaded().occlusion(images, { ...occluder, classIndex, layer: layer || null, start, end }, pre));
  },

  // Invariance (Fig. 5): {layers, translate, scale, rotate}, the default layers and values for the model.
  invarianceDefaults() {
    return loaded().invarianceDefaults();
  },

  // Invariance curves of image `index` of `set` at some of the transform values:
  // {kind, values, layers, distances: [layer][value], prob, class, thumbnails}.
  invariance({ set, index, kind, values, layers, classIndex, thumbnails, pre }) {
    return withImages(set, [[index, index + 1]], (images) =>
      loaded().invariance(images, kind, Float32Array.from(values), layers, classIndex ?? undefined, !!thumbnails, pre));
  },

  // Correspondence (Table 1): images `indices` of `set` as the net sees them: [{width, height, rgba}].
  fitImages({ set, indices, pre }) {
    return withImages(set, indices.map((i) => [i, i + 1]), (images) => loaded().fitImages(images, pre));
  },

  // Δ per layer for images `indices` of `set` with `rects` (one each) for the placements `draws` (0: the
  // rectangles, d ≥ 1: random draw d): {layers, lens, pairs, draws, deltas: [layer][draw]}.
  correspondence({ set, indices, rects, layers, fill, draws, seed, pre }) {
    return withImages(set, indices.map((i) => [i, i + 1]),
      (images) => loaded().correspondence(images, rects, layers, fill, Uint32Array.from(draws), seed, pre));
  },

  // The whole table in one call, as the core computes it (tests compare the sharded table with it).
  correspondenceTable({ set, indices, rects, layers, fill, draws, seed, pre }) {
    return withImages(set, indices.map((i) => [i, i + 1]),
      (images) => loaded().correspondenceTable(images, rects, layers, fill, draws, seed, pre));
  },

  // Bytes of wasm memory (it never shrinks: the peak so far).
  async memory() {
    return (await wasm).memoryBytes();
  },

  setLabels({ text }) {
    const n = loaded().setLabels(text);
    return { count: n, summary: loaded().summary() };
  },

  async setMean({ mean }) {
    if (mean) loaded().setMean(await bytes(mean));
    else loaded().clearMean();
  },

  tile({ layer, opts }) {
    const t = loaded().tile(layer, opts);
    return { width: t.width, height: t.height, rgba: t.rgba, tiles: t.tiles, grid: t.grid };
  },

  // Benchmarks (tests/bench). A timing is ms per call: [median, min, max, ...samples] over `runs` samples
  // of `batch` calls each, after `warmup` calls (the worker's clock is coarse: 0.1 ms). Any of, in this order:
  //   input: Float32Array — a forward pass on it, kept for the timings and projections; gives `output`,
  //     the last node's first output (without it forward passes run on the last image or on zeros);
  //   forward (unless false) — forward passes, when runs > 0;
  //   layer — tilings of its filters; projectLayer — deconvnet projections from its strongest unit (these
  //     need a kept forward pass: an input, or an image given to predict);
  //   profile: n — n forward passes timed node by node: {nodes: [{name, type, conv, macs, ms}], runs};
  //   sgemm: [[m, k, n], ...] — `runs` samples of ms per sgemm call for each size (needs no model).
  async bench({ runs = 0, batch = 20, warmup = 1, forward = true, layer, projectLayer, input, profile, sgemm }) {
    const time = (f) => {
      for (let i = 0; i < warmup; i++) f();
      const ms = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        for (let k = 0; k < batch; k++) f();
        ms.push((performance.now() - t) / batch);
      }
      const sorted = [...ms].sort((a, b) => a - b);
      return [sorted[sorted.length >> 1], sorted[0], sorted[sorted.length - 1], ...ms];
    };
    const result = { build: (await wasm).build };
    if (sgemm) {
      const { benchSgemm } = await wasm;
      result.sgemm = sgemm.map(([m, k, n]) => [...benchSgemm(m, k, n, runs)]);
      return result;
    }
    const m = loaded();
    if (input) result.output = m.setBenchInput(input);
    if (runs > 0 && forward) result.forward = time(() => m.runForward());
    if (runs > 0 && layer) result.tile = time(() => m.tile(layer, { zoom: 1 }));
    if (runs > 0 && projectLayer) result.projection = time(() => m.runProjection(projectLayer));
    if (profile) result.profile = m.profileForward(profile);
    return result;
  },

  async predict({ image, pre }) {
    const { rgba, width, height } = await decode(image);
    const r = loaded().predict(rgba, width, height, pre);
    return { probs: r.probs, top: r.top, width, height };
  },

  // The views below use the forward pass of the last image given to predict.
  activations({ layer, opts }) {
    return loaded().activations(layer, opts);
  },

  project({ layer, channel, unit, method, render, lrnGradient }) {
    return loaded().project(layer, channel, unit, method, render, !!lrnGradient);
  },

  gradCam({ layer, classIndex }) {
    return loaded().gradCam(layer, classIndex);
  },

  // Training evolution (evolution.js; in an engine of its own, not the page's): loads a weight snapshot
  // ({prototxt, weights} or {onnx}) beside the worker's model, and returns `layer`'s filters tiled with
  // `opts`, and, after the first, the change from the snapshot before ({difference, maxAbs, changes}).
  // Only the latest snapshot stays loaded; `release` frees it.
  async snapshot({ files, layer, opts }) {
    const next = await readModel(files);
    try {
      const grid = next.tile(layer, opts);
      const step = snapshotBefore ? next.changeFrom(snapshotBefore, layer, opts) : null;
      snapshotBefore?.free();
      snapshotBefore = next;
      return { grid, step };
    } catch (e) {
      next.free();
      throw e;
    }
  },

  release() {
    snapshotBefore?.free();
    snapshotBefore = null;
  },

  // A deliberate panic in wasm, for the end-to-end tests of the recovery.
  async debugPanic({ message }) {
    (await wasm).debugPanic(message);
  },
};

// The last snapshot the `snapshot` op loaded.
let snapshotBefore = null;

let queue = Promise.resolve();
self.onmessage = ({ data: { id, op, args } }) => {
  queue = queue.then(async () => {
    try {
      self.postMessage({ id, result: await ops[op](args) });
    } catch (e) {
      // A trap leaves the wasm instance unusable: the main thread then starts a new worker. A panic's
      // message was kept by the panic hook (wasm.js).
      const trap = e instanceof WebAssembly.RuntimeError;
      const error = trap ? self.wasmPanic ?? `WebAssembly trap (${e.message})` : e?.message ?? String(e);
      self.postMessage({ id, error, trap });
    }
  });
};
