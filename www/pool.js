// A pool of engines, each a worker with its own wasm instance and its own copy of the model, for batch
// jobs (occlusion, top-k, invariance sweeps): idle workers take the next shard of the work in turn. No
// SharedArrayBuffer, so it works on any static host.
import { Engine } from './engine.js';

// One worker per core, up to 4 (each holds the whole model).
export const defaultPoolSize = () => Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));

export class Pool {
  #engines;
  #loaded;
  #model = null;

  // options go to each Engine (build: force a wasm build).
  constructor(size = defaultPoolSize(), options = {}) {
    this.#engines = Array.from({ length: size }, () => new Engine(options));
    this.#loaded = this.#engines.map(() => null);
    this.#engines.forEach((e, i) => { e.onrestart = () => { this.#loaded[i] = null; }; });
  }

  get size() {
    return this.#engines.length;
  }

  // The model for the next jobs: the worker's load arguments ({onnx} or {prototxt, weights}, Files).
  // Each worker loads it before its first shard.
  setModel(args) {
    this.#model = args;
    this.#loaded.fill(null);
  }

  #ready(i) {
    if (!this.#model) throw new Error('the pool has no model');
    this.#loaded[i] ??= this.#engines[i].call('load', this.#model).catch((e) => {
      this.#loaded[i] = null;
      throw e;
    });
    return this.#loaded[i];
  }

  /**
   * Runs `run(engine, shard, index)` for every shard, one at a time per worker, and resolves to the
   * results in shard order. `onProgress({done, total, elapsedMs, etaMs})` follows each shard. When `signal`
   * aborts, every worker stops at once and the job rejects with an AbortError; the workers start afresh
   * and load the model again for the next job.
   */
  async map(shards, run, { signal, onProgress } = {}) {
    signal?.throwIfAborted();
    const results = new Array(shards.length);
    const start = performance.now();
    let next = 0;
    let done = 0;
    let failed = false;
    const lane = async (i) => {
      await this.#ready(i);
      while (!failed && next < shards.length) {
        const k = next++;
        results[k] = await run(this.#engines[i], shards[k], k);
        done++;
        const elapsedMs = performance.now() - start;
        onProgress?.({ done, total: shards.length, elapsedMs, etaMs: (elapsedMs / done) * (shards.length - done) });
      }
    };
    const stop = () => this.terminate();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      await Promise.all(this.#engines.map((_, i) => lane(i).catch((e) => { failed = true; throw e; })));
    } catch (e) {
      if (signal?.aborted) throw new DOMException('the job was cancelled', 'AbortError');
      throw e;
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    return results;
  }

  // Stops every worker (calls in flight fail); the next job starts new ones.
  terminate() {
    for (const e of this.#engines) e.terminate();
    this.#loaded.fill(null);
  }
}
