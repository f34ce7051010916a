// Training in the page: a built-in net (LeNet on the MNIST digits, CIFAR-10 quick on the user's batches) or
// a train_test prototxt and solver the user gives, trained in a worker of its own (train-worker.js) while
// the loss and test accuracy curves and the first convolution's filters update live. Snapshots arrive as
// .caffemodel files: each can be downloaded or loaded as the page's model, and all of them compared in the
// training evolution view.

import { lineChart } from './plot.js';

const GRID_PX = 240; // shown width of the filter grid, at least (whole multiples of its size)
const DRAW_MS = 250; // charts redrawn at most this often
const SMOOTH = 20; // iterations in the loss's moving average

const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;

/** The training view; `section` holds the controls (index.html's #train-section). */
export class TrainView {
  #ctx;
  #el;
  #worker = null;
  #run = 0;
  #drawQueued = false;
  #charts = { loss: null, acc: null };
  #started = null; // the worker's 'started' message
  // For the console and the tests.
  state = 'idle'; // idle, starting, running, paused, done, stopped, failed
  losses = { iter: [], loss: [], rate: [] };
  tests = [];
  snapshots = []; // [{iter, name, file}]
  itersPerSecond = null;

  constructor(ctx, section) {
    this.#ctx = ctx;
    const q = (id) => section.querySelector(`#${id}`);
    this.#el = {
      section, form: q('train-controls'), net: q('train-net'), netFile: q('train-net-file'),
      solverFile: q('train-solver-file'), data: q('train-data'), cifar: q('train-cifar-files'), iters: q('train-iters'),
      snapshot: q('train-snapshot'), testEvery: q('train-test-every'), seed: q('train-seed'), start: q('train-start'),
      pause: q('train-pause'), resume: q('train-resume'), stop: q('train-stop'), progress: q('train-progress'),
      canvas: q('train-filters'), layer: q('train-filters-layer'), lossChart: q('train-loss-chart'),
      accChart: q('train-acc-chart'), list: q('train-snapshots'), evolution: q('train-evolution'), live: q('train-live'),
    };
    const e = this.#el;
    e.form.onsubmit = (ev) => ev.preventDefault();
    e.net.onchange = () => this.#showInputs();
    e.data.onchange = () => this.#showInputs();
    e.start.onclick = () => this.start();
    e.pause.onclick = () => this.#send('pause');
    e.resume.onclick = () => this.#send('resume');
    e.stop.onclick = () => this.#send('stop');
    e.evolution.onclick = () => this.compare();
    this.#showInputs();
    this.#buttons();
  }

  // The file inputs the chosen net and data need.
  #showInputs() {
    const e = this.#el;
    const custom = e.net.value === 'custom';
    const cifar = e.net.value === 'cifar10_quick' || (custom && e.data.value === 'cifar10');
    for (const label of e.form.querySelectorAll('[data-for=custom]')) label.hidden = !custom;
    e.cifar.closest('label').hidden = !cifar;
  }

  #buttons() {
    const e = this.#el;
    const s = this.state;
    const live = s === 'starting' || s === 'running' || s === 'paused';
    e.start.disabled = live;
    e.pause.disabled = s !== 'running';
    e.resume.disabled = s !== 'paused';
    e.stop.disabled = !live;
    e.evolution.disabled = this.snapshots.length < 2 || !this.#started?.netText;
    e.section.dataset.state = s;
  }

  #setState(s) {
    this.state = s;
    this.#buttons();
  }

  #send(op) {
    this.#worker?.postMessage({ op });
    if (op === 'stop' && this.state === 'starting') this.#finish('stopped');
  }

  // What the worker needs: the net ({builtin} or the texts), the data and the settings.
  async #request() {
    const e = this.#el;
    const int = (input, what) => {
      if (input.value.trim() === '') return null;
      const v = Number(input.value);
      if (!Number.isInteger(v) || v < 0) throw new Error(`${what} must be a whole number, 0 or more`);
      return v;
    };
    const options = {
      maxIter: int(e.iters, 'Iterations'), snapshot: int(e.snapshot, 'Snapshot every'),
      testInterval: int(e.testEvery, 'Test every'), seed: int(e.seed, 'Seed'),
    };
    if (options.maxIter === 0) throw new Error('Iterations must be 1 or more');
    const net = e.net.value;
    let source;
    let kind = 'mnist';
    if (net === 'custom') {
      const [netFile] = e.netFile.files;
      const [solverFile] = e.solverFile.files;
      if (!solverFile) throw new Error('choose the solver prototxt (and the train_test prototxt it trains)');
      if (!netFile) throw new Error('choose the train_test prototxt (the net) beside its solver');
      source = { net: await netFile.text(), solver: await solverFile.text() };
      kind = e.data.value;
    } else {
      source = { builtin: net };
      kind = net === 'lenet' ? 'mnist' : 'cifar10';
    }
    let data = { kind };
    if (kind === 'cifar10') {
      const files = [...e.cifar.files];
      const test = files.filter((f) => /test_batch/i.test(f.name));
      const train = files.filter((f) => !/test_batch/i.test(f.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (!train.length) throw new Error('choose the CIFAR-10 binary batches: data_batch_1.bin … data_batch_5.bin to train on, test_batch.bin to test on');
      if (test.length > 1) throw new Error(`two test batches (${test.map((f) => f.name).join(', ')}): give one test_batch.bin`);
      data = { kind, train, test: test[0] ?? null };
    }
    const tile = { zoom: 1, pad: 1, count: 1024, channelOrder: kind === 'cifar10' ? 'RGB' : 'BGR' };
    return { source, data, options, tile };
  }

  /** Starts training with the chosen net, data and settings (a run in progress is stopped first). */
  async start() {
    const e = this.#el;
    let request;
    try {
      request = await this.#request();
    } catch (err) {
      return this.#ctx.showError(`Training: ${err.message}`);
    }
    this.#worker?.terminate();
    const run = ++this.#run;
    this.losses = { iter: [], loss: [], rate: [] };
    this.tests = [];
    this.snapshots = [];
    this.itersPerSecond = null;
    this.#started = null;
    this.#charts = { loss: null, acc: null };
    for (const box of [e.lossChart, e.accChart, e.list]) box.replaceChildren();
    e.live.hidden = false;
    const c = e.canvas;
    c.width = 0;
    c.height = 0;
    delete c.dataset.iter;
    e.progress.textContent = 'Starting…';
    for (const k of ['iter', 'its']) delete e.progress.dataset[k];
    this.#setState('starting');
    const worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
    this.#worker = worker;
    worker.onmessage = ({ data }) => {
      if (run === this.#run) this.#message(data);
    };
    worker.onerror = (ev) => {
      ev.preventDefault();
      if (run !== this.#run) return;
      this.#fail(`the training worker stopped (${ev.message || 'worker error'})`);
    };
    worker.postMessage({ op: 'start', ...request, gridMs: 500 });
  }

  #message(m) {
    const e = this.#el;
    switch (m.type) {
      case 'status':
        e.progress.textContent = m.text;
        break;
      case 'started':
        this.#started = m;
        e.layer.textContent = m.layer ?? '(no convolution)';
        this.#setState('running');
        this.#progress();
        break;
      case 'progress': {
        const s = m.steps;
        for (let i = 0; i < s.length; i += 3) {
          this.losses.iter.push(s[i]);
          this.losses.loss.push(s[i + 1]);
          this.losses.rate.push(s[i + 2]);
        }
        this.itersPerSecond = m.iter > 0 && m.busyMs > 0 ? (m.iter * 1000) / m.busyMs : null;
        this.#progress();
        this.#queueDraw();
        break;
      }
      case 'test':
        this.tests.push(m.result);
        this.#queueDraw();
        this.#progress();
        break;
      case 'grid':
        this.#grid(m);
        break;
      case 'snapshot':
        this.#snapshot(m);
        break;
      case 'paused':
        this.#setState('paused');
        this.#progress();
        break;
      case 'resumed':
        this.#setState('running');
        this.#progress();
        break;
      case 'done':
        this.#draw();
        this.#finish(m.reason);
        break;
      case 'error':
        this.#fail(m.message);
        break;
      default:
    }
  }

  #finish(reason) {
    this.#worker?.terminate();
    this.#worker = null;
    this.#setState(reason === 'finished' ? 'done' : 'stopped');
    this.#progress();
  }

  #fail(message) {
    this.#worker?.terminate();
    this.#worker = null;
    this.#setState('failed');
    this.#el.progress.textContent = `Training failed: ${message}`;
    this.#ctx.showError(`Training: ${message}`);
  }

  // The progress line: iteration, loss, learning rate, speed, the last test.
  #progress() {
    const p = this.#el.progress;
    const st = this.#started;
    if (!st) return;
    const n = this.losses.iter.length;
    const iter = n ? this.losses.iter[n - 1] + 1 : st.iter;
    const parts = [`${st.name}: iteration ${iter} of ${st.maxIter}`];
    if (n) {
      parts.push(`loss ${this.losses.loss[n - 1].toFixed(4)}`, `lr ${this.losses.rate[n - 1].toPrecision(3)}`);
    }
    if (this.itersPerSecond) parts.push(`${this.itersPerSecond.toFixed(1)} it/s`);
    const t = this.tests.at(-1);
    if (t) {
      const acc = t.accuracy.map((a) => `${a.name} ${(a.value * 100).toFixed(2)}%`).join(', ');
      parts.push(`test at ${t.iter}: ${acc || 'no accuracy'}${t.loss != null ? `, loss ${t.loss.toFixed(4)}` : ''}`);
    }
    const label = { paused: ' (paused)', done: ' (done)', stopped: ' (stopped)' }[this.state] ?? '';
    p.textContent = parts.join(' · ') + label;
    p.dataset.iter = iter;
    if (this.itersPerSecond) p.dataset.its = this.itersPerSecond.toFixed(2);
  }

  #grid({ iter, layer, grid }) {
    const c = this.#el.canvas;
    c.width = grid.width;
    c.height = grid.height;
    c.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(grid.rgba), grid.width, grid.height), 0, 0);
    c.style.width = `${grid.width * Math.max(1, Math.ceil(GRID_PX / grid.width))}px`;
    c.dataset.iter = iter;
    c.dataset.tiles = grid.tiles;
    c.title = `${grid.tiles} filters of ${layer} at iteration ${iter}`;
  }

  #snapshot({ iter, name, bytes }) {
    const file = new File([bytes], name, { type: 'application/octet-stream' });
    const snap = { iter, name, file };
    this.snapshots.push(snap);
    const exportBtn = el('button', { type: 'button', textContent: 'Export .caffemodel' });
    exportBtn.dataset.action = 'export';
    exportBtn.onclick = () => this.export(snap);
    const loadBtn = el('button', { type: 'button', textContent: 'Load in the page', disabled: !this.#started?.netText });
    loadBtn.dataset.action = 'load';
    loadBtn.onclick = () => this.load(snap);
    const li = el('li', {}, el('span', { textContent: `${name} (iteration ${iter}, ${mb(file.size)})` }), ' ', exportBtn, ' ', loadBtn);
    li.dataset.iter = iter;
    li.dataset.name = name;
    this.#el.list.append(li);
    this.#buttons();
  }

  /** Downloads a snapshot's .caffemodel. */
  export(snap) {
    const a = el('a', { href: URL.createObjectURL(snap.file), download: snap.name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  // The net's train_test prototxt as a file, named after the net.
  #prototxt() {
    const st = this.#started;
    return new File([st.netText], `${st.prefix}_train_test.prototxt`, { type: 'text/plain' });
  }

  /** Loads the train_test prototxt with a snapshot (and the training images' mean, when the net subtracts a
   * mean file) as the page's model; true when it loaded. */
  async load(snap) {
    const st = this.#started;
    if (!st?.netText) return false;
    const mean = st.mean ? [new File([st.mean], 'mean.binaryproto', { type: 'application/octet-stream' })] : [];
    await this.#ctx.addFiles([this.#prototxt(), snap.file, ...mean]);
    return this.#ctx.modelFiles()?.weights === snap.file;
  }

  /** Loads the last snapshot as the page's model and hands all of them to the training evolution view. */
  async compare() {
    const snaps = [...this.snapshots];
    if (snaps.length < 2 || !(await this.load(snaps.at(-1)))) return;
    this.#ctx.compareSnapshots(snaps.map((s) => s.file));
    document.getElementById('evolution-section').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  #queueDraw() {
    if (this.#drawQueued) return;
    this.#drawQueued = true;
    setTimeout(() => {
      this.#drawQueued = false;
      this.#draw();
    }, DRAW_MS);
  }

  // The loss (each iteration's and its moving average) and the test curves.
  #draw() {
    const e = this.#el;
    const { iter, loss } = this.losses;
    if (iter.length) {
      const mean = [];
      let sum = 0;
      for (let i = 0; i < loss.length; i++) {
        sum += loss[i] - (i >= SMOOTH ? loss[i - SMOOTH] : 0);
        mean.push(sum / Math.min(i + 1, SMOOTH));
      }
      const data = [iter, loss, mean];
      if (this.#charts.loss?.root.isConnected) this.#charts.loss.setData(data);
      else {
        this.#charts.loss = lineChart(e.lossChart, {
          title: 'Training loss', xLabel: 'iteration', yLabel: 'loss', x: iter, points: false, yMin: 0,
          series: [{ label: 'loss', values: loss }, { label: `mean of ${SMOOTH}`, values: mean }],
          yFormat: (v) => v.toPrecision(3),
        });
      }
    }
    const tests = this.tests;
    const names = tests[0]?.accuracy.map((a) => a.name) ?? [];
    if (names.length) {
      const x = tests.map((t) => t.iter);
      const series = names.map((name, j) => tests.map((t) => t.accuracy[j]?.value ?? null));
      if (this.#charts.acc?.root.isConnected) this.#charts.acc.setData([x, ...series]);
      else {
        this.#charts.acc = lineChart(e.accChart, {
          title: 'Test accuracy', xLabel: 'iteration', yLabel: 'accuracy', x, points: true, yMin: 0, yMax: 1,
          series: names.map((name, j) => ({ label: name, values: series[j] })),
          yFormat: (v) => `${(v * 100).toFixed(1)}%`,
        });
      }
    }
    e.lossChart.dataset.points = iter.length;
    e.accChart.dataset.points = tests.length;
  }
}
