// Training evolution (Zeiler & Fergus 2014, Fig. 4): weight snapshots of the loaded net, in training order.
// A layer's filters in each snapshot and their change since the snapshot before (loaded one after another
// in an engine of their own, which stops afterwards so that its memory goes too), every layer's relative
// change, and for chosen feature maps the deconvnet projection of their strongest activation over the image
// set in each snapshot (on the pool, its model switched snapshot by snapshot and restored afterwards).

import { Engine } from './engine.js';
import { canvasOf } from './canvas.js';
import { ImageSet } from './image-set.js';
import { lineChart } from './plot.js';
import { entryViews, topK } from './topk.js';

const GRID_PX = 192; // shown width of a filter grid, at least (whole multiples of its size)
const MAX_TILES = 1024; // tiles per grid at most (the first ones)
const PROJECTION_PX = 64; // shown height of a projection

/** Snapshots in training order: by the iteration in their names (`_iter_N`), then by name. */
export function orderSnapshots(files) {
  const iter = (f) => {
    const m = /_iter_(\d+)/.exec(f.name);
    return m ? Number(m[1]) : null;
  };
  return [...files].map((file) => ({ file, iter: iter(file) })).sort((a, b) => {
    if (a.iter !== null && b.iter !== null && a.iter !== b.iter) return a.iter - b.iter;
    if ((a.iter === null) !== (b.iter === null)) return a.iter === null ? 1 : -1;
    return a.file.name < b.file.name ? -1 : a.file.name > b.file.name ? 1 : 0;
  });
}

/** Channel numbers from text such as "0-3, 7" (each below `count`), in order, without repeats. */
export function parseChannels(text, count) {
  const out = new Set();
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`“${part}” is not a channel number or range (such as 0-3)`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a) throw new Error(`the range ${part} is empty`);
    if (b >= count) throw new Error(`the layer has channels 0–${count - 1}; ${b} is not one of them`);
    if (b - a >= 64 || out.size + b - a + 1 > 64) throw new Error('at most 64 channels at a time');
    for (let c = a; c <= b; c++) out.add(c);
  }
  return [...out];
}

const caption = (s) => (s.iter !== null ? `iter ${s.iter}` : s.file.name);

function figure(title, small, content) {
  const f = document.createElement('figure');
  const c = document.createElement('figcaption');
  c.append(title);
  if (small) c.append(document.createElement('br'), Object.assign(document.createElement('small'), { textContent: small }));
  f.append(c, ...[content].flat());
  return f;
}

const fmt = (v) => (v === null || v === undefined ? '—' : v === 0 ? '0' : v.toPrecision(3));

export class EvolutionView {
  #ctx;
  #el;
  #summary = null;
  #snapshots = [];
  #run = 0;
  result = null; // the last comparison, for tests: {snapshots, grids, steps, projections, ms}

  // section: the page's #evolution-section, holding the controls (index.html).
  constructor(ctx, section) {
    this.#ctx = ctx;
    const q = (id) => section.querySelector(`#${id}`);
    this.#el = {
      section, form: q('evolution-controls'), files: q('evolution-files'), filters: q('evolution-filters'),
      layer: q('evolution-layer'), channels: q('evolution-channels'), run: q('evolution-run'),
      progress: q('evolution-progress'), info: q('evolution-info'), grids: q('evolution-grids'),
      diffs: q('evolution-diffs'), changes: q('evolution-changes'), chart: q('evolution-chart'),
      projections: q('evolution-projections'),
    };
    const e = this.#el;
    e.form.onsubmit = (ev) => ev.preventDefault();
    e.run.onclick = () => this.run();
    e.files.onchange = () => this.setSnapshots(e.files.files);
  }

  /** Snapshots to compare (File objects named …_iter_N…), from the file picker or from the page itself. */
  setSnapshots(files) {
    this.#snapshots = orderSnapshots(files);
    this.#el.info.textContent = this.#snapshots.length
      ? `${this.#snapshots.length} snapshot(s), in this order: ${this.#snapshots.map(caption).join(', ')}.` : '';
  }

  // A new model: its convolutions and layers with maps; the snapshots of the previous one are dropped.
  reset(summary) {
    this.#summary = summary;
    this.#run++;
    this.#snapshots = [];
    this.result = null;
    const e = this.#el;
    e.files.value = '';
    const convs = summary.layers.filter((l) => l.filters);
    e.filters.replaceChildren(...convs.map((l) => new Option(l.name)));
    const maps = summary.layers.filter((l) => l.outputs[0]?.shape.length === 4);
    e.layer.replaceChildren(...maps.map((l) => new Option(l.name)));
    const firstRelu = maps.find((l) => l.type === 'ReLU' || l.type === 'Relu');
    if (firstRelu) e.layer.value = firstRelu.name;
    e.run.disabled = !convs.length;
    for (const box of [e.grids, e.diffs, e.changes, e.chart, e.projections]) box.replaceChildren();
    e.info.textContent = convs.length ? '' : 'This model has no convolution filters to compare.';
    e.progress.hidden = true;
    delete e.section.dataset.state;
  }

  async run() {
    const ctx = this.#ctx;
    const e = this.#el;
    const model = ctx.modelFiles();
    if (!model || !this.#summary) return ctx.showError('Load a model first.');
    const snaps = this.#snapshots;
    if (snaps.length < 2) return ctx.showError('Choose at least two weight snapshots of the loaded model to compare.');
    const onnx = !!model.onnx;
    const wrong = snaps.find((s) => /\.onnx$/i.test(s.file.name) !== onnx);
    if (wrong) {
      return ctx.showError(`${wrong.file.name}: the loaded model is ${onnx ? 'an ONNX graph: its snapshots are .onnx files'
        : 'a Caffe net: its snapshots are .caffemodel or .caffemodel.h5 files'}.`);
    }
    let pre;
    let channels;
    const layer = e.layer.value;
    const filters = e.filters.value;
    try {
      pre = ctx.preprocessing();
      const maps = this.#summary.layers.find((l) => l.name === layer);
      channels = layer && e.channels.value.trim() ? parseChannels(e.channels.value, maps.outputs[0].shape[1]) : [];
    } catch (err) {
      return ctx.showError(`Training evolution: ${err.message}`);
    }
    // The strongest activations over the image set, else over the current image.
    const current = ctx.currentImage();
    const set = ctx.imageSet() ?? (current ? new ImageSet('files', [current], [1]) : null);
    const project = channels.length > 0 && set !== null;
    const run = ++this.#run;
    for (const box of [e.grids, e.diffs, e.changes, e.chart, e.projections]) box.replaceChildren();
    e.info.textContent = '';
    e.section.dataset.state = 'running';
    const forFile = (file) => (onnx ? { ...model, onnx: file } : { ...model, weights: file });
    const t0 = performance.now();
    let result;
    try {
      result = await ctx.jobs.run(e.progress, `Training evolution over ${snaps.length} snapshots`, async (signal, onProgress) => {
        // Progress in steps: a snapshot's filters, then per snapshot the ranking's shards and a step per channel
        // (the shards are counted once the first ranking reports them).
        let done = 0;
        let rankShards = 1;
        const total = () => snaps.length + (project ? snaps.length * (rankShards + channels.length) : 0);
        const report = () => {
          const elapsedMs = performance.now() - t0;
          onProgress({ done, total: total(), elapsedMs, etaMs: (elapsedMs / Math.max(done, 1)) * (total() - done) });
        };
        const out = { snapshots: snaps, filters, layer, channels, set, grids: [], steps: [], projections: [] };
        await this.#filters(out, forFile, { signal, step: () => { done++; report(); } }, pre);
        out.filtersMs = performance.now() - t0;
        if (run === this.#run) this.#showFilters(out);
        if (!project) return out;
        const pool = ctx.pool();
        try {
          for (const s of snaps) {
            pool.setModel(forFile(s.file));
            const before = done;
            const phase = (p) => {
              rankShards = p.total;
              done = before + p.done;
              report();
            };
            try {
              const top = await topK(pool, set, { layer, k: 1, pre }, { signal, onProgress: phase });
              const at = done;
              const views = await entryViews(pool, set, { layer, pre, result: top, channels },
                { signal, onProgress: (p) => { done = at + p.done; report(); } });
              out.projections.push(channels.map((ch, i) => ({ entry: top.channels[ch][0], view: views[i][0] })));
            } catch (err) {
              if (err?.name === 'AbortError') throw err;
              throw new Error(`${s.file.name}: ${err.message}`);
            }
          }
        } finally {
          const back = ctx.modelFiles();
          if (back) pool.setModel(back);
        }
        out.projectionsMs = performance.now() - t0 - out.filtersMs;
        return out;
      });
    } catch (err) {
      if (run === this.#run) e.section.dataset.state = 'failed';
      return ctx.showError(`Training evolution: ${err.message}`);
    }
    if (run !== this.#run) return;
    if (!result) {
      e.section.dataset.state = 'cancelled';
      return;
    }
    result.ms = performance.now() - t0;
    this.result = result;
    if (project) this.#showProjections(result);
    const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
    let info = `Filters of ${filters} in ${snaps.length} snapshots, compared in ${secs(result.filtersMs)}`;
    if (project) {
      const where = ctx.imageSet() ? `the image set (${set.length} images)` : `the current image (${set.name(0)})`;
      info += `; the strongest activation of ${channels.length} map(s) of ${layer} over ${where} in each, projected `
        + `in ${secs(result.projectionsMs)}.`;
    } else if (channels.length) {
      info += '. Choose an image set, or an image to classify, to see the feature maps’ projections too.';
    } else {
      info += '.';
    }
    e.info.textContent = info;
    e.section.dataset.filtersMs = Math.round(result.filtersMs);
    if (project) e.section.dataset.projectionsMs = Math.round(result.projectionsMs);
    e.section.dataset.state = 'done';
  }

  // Each snapshot's filter grid and the change from the one before, in an engine of its own.
  async #filters(out, forFile, { signal, step }, pre) {
    const engine = new Engine();
    const stop = () => engine.terminate();
    signal.addEventListener('abort', stop, { once: true });
    const opts = { zoom: 1, pad: 1, count: MAX_TILES, channelOrder: pre.channelOrder };
    try {
      for (const s of out.snapshots) {
        signal.throwIfAborted();
        try {
          const { grid, step: change } = await engine.call('snapshot', { files: forFile(s.file), layer: out.filters, opts });
          out.grids.push(grid);
          if (change) out.steps.push(change);
        } catch (err) {
          if (err?.name === 'AbortError') throw err;
          throw new Error(`${s.file.name}: ${err.message}`);
        }
        step();
      }
    } finally {
      signal.removeEventListener('abort', stop);
      engine.terminate();
    }
  }

  #showFilters(r) {
    const e = this.#el;
    const width = Math.max(...r.grids.map((g) => g.width));
    const scale = Math.max(1, Math.floor(GRID_PX / width));
    e.grids.replaceChildren(...r.grids.map((g, i) => {
      const c = canvasOf(g, { scale });
      c.dataset.testid = `evolution-grid-${i}`;
      c.dataset.tiles = g.tiles;
      c.title = `${r.snapshots[i].file.name}: ${g.tiles} tiles of ${r.filters}`;
      return figure(caption(r.snapshots[i]), r.snapshots[i].file.name, c);
    }));
    e.diffs.replaceChildren(...r.grids.map((g, i) => {
      if (i === 0) {
        const f = figure('difference from the snapshot before', 'grey: no change', []);
        f.className = 'evolution-legend';
        f.style.width = `${g.width * scale}px`;
        return f;
      }
      const d = r.steps[i - 1];
      const c = canvasOf(d.difference, { scale });
      c.dataset.testid = `evolution-diff-${i}`;
      c.dataset.maxAbs = d.maxAbs;
      c.title = `${r.snapshots[i].file.name} − ${r.snapshots[i - 1].file.name}; black −${fmt(d.maxAbs)}, white +${fmt(d.maxAbs)}`;
      return figure(`${caption(r.snapshots[i - 1])} → ${caption(r.snapshots[i])}`, `±${fmt(d.maxAbs)}`, c);
    }));
    this.#showChanges(r);
  }

  // The relative change of every layer with parameters between consecutive snapshots: a table, and a chart
  // when there are several steps.
  #showChanges(r) {
    const e = this.#el;
    const table = document.createElement('table');
    table.className = 'evolution-changes';
    const head = table.createTHead().insertRow();
    head.append(Object.assign(document.createElement('th'), { textContent: 'layer' }));
    r.steps.forEach((_, i) => head.append(Object.assign(document.createElement('th'), {
      textContent: `${caption(r.snapshots[i])} → ${caption(r.snapshots[i + 1])}`,
    })));
    const body = table.createTBody();
    const layers = r.steps[0]?.changes.map((c) => c.layer) ?? [];
    for (const [j, name] of layers.entries()) {
      const row = body.insertRow();
      row.dataset.layer = name;
      row.append(Object.assign(document.createElement('th'), { textContent: name }));
      for (const step of r.steps) {
        const c = step.changes[j];
        const cell = row.insertCell();
        cell.textContent = fmt(c.change);
        cell.dataset.change = c.change ?? '';
        cell.title = `‖ΔW‖ = ${fmt(c.distance)}, ‖W‖ = ${fmt(c.norm)} before`;
      }
    }
    e.changes.replaceChildren(Object.assign(document.createElement('p'), {
      className: 'hint', textContent: 'Relative change of each layer’s parameters, ‖Wᵢ − Wᵢ₋₁‖ / ‖Wᵢ₋₁‖:',
    }), table);
    if (r.steps.length < 2) return;
    const iters = r.snapshots.map((s) => s.iter);
    const byIter = iters.every((n, i) => n !== null && (i === 0 || n > iters[i - 1]));
    const x = r.steps.map((_, i) => (byIter ? iters[i + 1] : i + 1));
    const names = r.snapshots.map(caption);
    lineChart(e.chart, {
      title: 'Relative change since the snapshot before',
      xLabel: byIter ? 'iteration' : 'snapshot',
      yLabel: '‖ΔW‖ / ‖W‖',
      x,
      series: layers.map((name, j) => ({ label: name, values: r.steps.map((s) => s.changes[j].change) })),
      ...(!byIter && { xFormat: (v) => (Number.isInteger(v) ? names[v] ?? '' : '') }),
      yFormat: (v) => fmt(v),
    });
  }

  // A row per channel, a column per snapshot: the projection of the channel's strongest activation (Fig. 4).
  #showProjections(r) {
    const e = this.#el;
    const table = document.createElement('table');
    table.className = 'evolution-projections';
    const head = table.createTHead().insertRow();
    head.append(Object.assign(document.createElement('th'), { textContent: r.layer }));
    for (const s of r.snapshots) head.append(Object.assign(document.createElement('th'), { textContent: caption(s), title: s.file.name }));
    const body = table.createTBody();
    for (const [i, ch] of r.channels.entries()) {
      const row = body.insertRow();
      row.dataset.channel = ch;
      row.append(Object.assign(document.createElement('th'), { textContent: `#${ch}` }));
      for (const [k, s] of r.snapshots.entries()) {
        const { entry, view } = r.projections[k][i];
        const c = canvasOf(view.projection, { height: PROJECTION_PX });
        c.dataset.testid = 'evolution-projection';
        c.dataset.image = entry.image;
        c.dataset.value = entry.value;
        const label = r.set.label(entry.image);
        c.title = `${s.file.name}: ${r.set.name(entry.image)}${label ? ` (${label})` : ''}\n`
          + `activation ${entry.value.toPrecision(4)} at (${entry.y}, ${entry.x})`;
        row.insertCell().append(c);
      }
    }
    e.projections.replaceChildren(table);
  }
}
