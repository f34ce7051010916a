// Promise-based client of worker.js; starts a new worker after a crash or trap.
export class Engine {
  #worker = null;
  #pending = new Map();
  #nextId = 0;
  #build;
  onrestart = () => {};

  // build: 'simd128' or 'relaxed-simd' to force one wasm build (benchmarks); by default www/wasm.js picks.
  constructor({ build } = {}) {
    this.#build = build;
  }

  call(op, args) {
    if (!this.#worker) this.#start();
    const id = this.#nextId++;
    this.#worker.postMessage({ id, op, args });
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
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
      else if (data.trap) this.#crash(`the engine crashed (${data.error}) and was restarted`, p);
      else p.reject(new Error(data.error));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.#crash(`the engine stopped (${e.message || 'worker error'}) and was restarted`);
    };
    this.#worker = worker;
  }

  #crash(message, first) {
    this.#worker.terminate();
    this.#worker = null;
    const failed = [first, ...this.#pending.values()].filter(Boolean);
    this.#pending.clear();
    for (const p of failed) p.reject(new Error(message));
    this.onrestart();
  }
}
