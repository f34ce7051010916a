// Promise-based client of worker.js; starts a new worker after a crash or trap.
export class Engine {
  #worker = null;
  #pending = new Map();
  #nextId = 0;
  #build;
  // Called with a message ("Internal error in tile: …") and the failed operation after the worker was
  // replaced: the new one has no model.
  onrestart = () => {};

  // build: 'simd128' or 'relaxed-simd' to force one wasm build (benchmarks); by default www/wasm.js picks.
  constructor({ build } = {}) {
    this.#build = build;
  }

  call(op, args) {
    if (!this.#worker) this.#start();
    const id = this.#nextId++;
    this.#worker.postMessage({ id, op, args });
    return new Promise((resolve, reject) => this.#pending.set(id, { op, resolve, reject }));
  }

  // Stops the worker at once; calls still waiting fail with an AbortError. The next call starts a new one.
  terminate() {
    this.#worker?.terminate();
    this.#worker = null;
    const waiting = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of waiting) p.reject(new DOMException('the engine was stopped', 'AbortError'));
  }

  #start() {
    const url = new URL('./worker.js', import.meta.url);
    if (this.#build) url.searchParams.set('build', this.#build);
    const worker = new Worker(url, { type: 'module' });
    worker.onmessage = ({ data }) => {
      const p = this.#pending.get(data.id);
      this.#pending.delete(data.id);
      if (!('error' in data)) p.resolve(data.result);
      else if (data.trap) this.#crash(`Internal error in ${p.op}: ${data.error}`, p, p.op);
      else p.reject(new Error(data.error));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.#crash(`The engine stopped (${e.message || 'worker error'})`);
    };
    this.#worker = worker;
  }

  // The worker's wasm instance is unusable: a new worker replaces it, and every call waiting fails.
  #crash(message, first, op) {
    this.#worker.terminate();
    this.#worker = null;
    const failed = [first, ...this.#pending.values()].filter(Boolean);
    this.#pending.clear();
    for (const p of failed) p.reject(Object.assign(new Error(`${message} — the engine was restarted`), { restarted: true }));
    this.onrestart(message, op);
  }
}
