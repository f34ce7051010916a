// Invariance to translation, scale and rotation (Zeiler & Fergus 2014, Fig. 5): a few images are shifted
// vertically, scaled or rotated; for each chosen layer, the distance between its outputs for the original and
// the transformed image, and the probability of the image's true class, against the transform's value. Each
// shard is one image at some of the values (the worker runs the original again as its reference).

import { canvasOf } from './canvas.js';
import { lineChart } from './plot.js';

const KINDS = {
  translate: { x: 'vertical shift (pixels, down)', what: 'Vertical translation', fmt: (v) => `${+v.toFixed(2)} px` },
  scale: { x: 'scale factor', what: 'Scaling', fmt: (v) => `×${+v.toFixed(3)}` },
  rotate: { x: 'rotation (degrees)', what: 'Rotation', fmt: (v) => `${+v.toFixed(1)}°` },
};
const IDENTITY = { translate: 0, scale: 1, rotate: 0 };
const THUMBS = 5;   // images whose transformed versions are shown
const THUMB_PX = 48; // their displayed height

/**
 * The curves of images `indices` of `set`: [{kind, values, layers, distances: [layer][value], prob, class,
 * thumbnails}], one per image in order. `classes[i]`: the class followed for image i, or null for its top-1.
 */
export async function invarianceCurves(pool, set, indices, { kind, values, layers, classes, pre, thumbnails = THUMBS },
  { signal, onProgress } = {}) {
  const desc = set.descriptor();
  // About two shards per worker: an image's values split when there are fewer images than that.
  const splits = Math.max(1, Math.ceil((2 * pool.size) / indices.length));
  const per = Math.max(1, Math.ceil(values.length / splits));
  const shards = [];
  for (const [i, index] of indices.entries()) {
    for (let s = 0; s < values.length; s += per) shards.push({ i, index, start: s, end: Math.min(values.length, s + per) });
  }
  const parts = await pool.map(shards, (engine, s) => engine.call('invariance', {
    set: desc, index: s.index, kind, values: values.slice(s.start, s.end), layers, classIndex: classes[s.i],
    thumbnails: s.i < thumbnails, pre,
  }), { signal, onProgress });
  const curves = indices.map(() => null);
  for (const [k, p] of parts.entries()) {
    const c = curves[shards[k].i];
    if (!c) {
      curves[shards[k].i] = { ...p, values: [...p.values], distances: p.distances.map((d) => [...d]), prob: [...p.prob],
        thumbnails: [...p.thumbnails] };
      continue;
    }
    if (c.class !== p.class) throw new Error(`the shards of image ${indices[shards[k].i]} follow different classes`);
    c.values.push(...p.values);
    p.distances.forEach((d, l) => c.distances[l].push(...d));
    c.prob.push(...p.prob);
    c.thumbnails.push(...p.thumbnails);
  }
  return curves;
}

// The numbers in a text ("-4, -2, 0, 2" or "0.8 1 1.2"), ascending, each once.
export function parseValues(text) {
  const values = text.split(/[\s,;]+/).filter(Boolean).map(Number);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`“${text.split(/[\s,;]+/).filter(Boolean)[bad]}” is not a number`);
  return [...new Set(values)].sort((a, b) => a - b);
}

const valuesText = (values) => values.map((v) => String(+v.toFixed(4))).join(', ');

export class InvarianceView {
  #ctx;
  #el;
  #run = 0;
  #classes = 0;
  #defaults = null; // {layers, translate, scale, rotate}
  #values = {};     // the values text per kind, as last edited
  result = null;    // the last sweep, for tests: {kind, values, layers, images, classes, distances, prob, ms}

  // ctx: see app.js; section: #invariance-section, holding the controls of index.html.
  constructor(ctx, section) {
    this.#ctx = ctx;
    const q = (id) => section.querySelector(`#${id}`);
    this.#el = {
      section, form: q('inv-controls'), count: q('inv-count'), kind: q('inv-kind'), values: q('inv-values'),
      layers: q('inv-layers'), run: q('inv-run'), progress: q('inv-progress'), info: q('inv-info'),
      thumbs: q('inv-thumbs'), charts: q('inv-charts'),
    };
    const e = this.#el;
    e.form.onsubmit = (ev) => ev.preventDefault();
    e.run.onclick = () => this.run();
    e.values.oninput = () => { this.#values[e.kind.value] = e.values.value; };
    e.kind.onchange = () => this.#showValues();
  }

  #showValues() {
    const kind = this.#el.kind.value;
    this.#el.values.value = this.#values[kind] ?? valuesText(this.#defaults?.[kind] ?? []);
  }

  // A new model: its layers, the default layers and values (asked of the engine), nothing computed.
  async reset(summary, classes) {
    const run = ++this.#run;
    const e = this.#el;
    this.result = null;
    this.#classes = classes;
    this.#defaults = null;
    this.#values = {};
    delete e.section.dataset.result;
    e.thumbs.replaceChildren();
    e.charts.replaceChildren();
    e.info.textContent = '';
    e.progress.hidden = true;
    const inputs = new Set(summary.inputs.map((i) => i.name));
    const layers = summary.layers.filter((l) => l.outputs[0] && !inputs.has(l.name) && l.outputs[0].shape.length >= 2);
    e.layers.replaceChildren(...layers.map((l) => new Option(l.name)));
    e.layers.size = Math.min(8, Math.max(3, layers.length));
    e.run.disabled = true;
    let defaults;
    try {
      defaults = await this.#ctx.engine('invarianceDefaults');
    } catch (err) {
      if (run === this.#run) e.info.textContent = `Not available for this model: ${err.message}`;
      return;
    }
    if (run !== this.#run) return;
    this.#defaults = defaults;
    for (const o of e.layers.options) o.selected = defaults.layers.includes(o.value);
    this.#showValues();
    e.run.disabled = false;
  }

  async run() {
    const ctx = this.#ctx;
    const e = this.#el;
    const set = this.#ctx.imagesOrSet();
    if (!set) return ctx.showError('Choose an image set, or add images under “Classify images”, first: the sweep runs on their first images.');
    const kind = e.kind.value;
    let values;
    let pre;
    try {
      values = parseValues(e.values.value);
      pre = ctx.preprocessing();
    } catch (err) {
      return ctx.showError(`Invariance: ${err.message}`);
    }
    if (!values.length) return ctx.showError('Invariance: give at least one transform value.');
    if (kind === 'scale' && values.some((v) => v <= 0)) return ctx.showError('Invariance: scale factors must be above 0.');
    const layers = [...e.layers.selectedOptions].map((o) => o.value);
    if (!layers.length) return ctx.showError('Invariance: choose at least one layer.');
    const n = Math.max(1, Math.min(set.length, Math.floor(Number(e.count.value)) || 5));
    const indices = Array.from({ length: n }, (_, i) => i);
    // The true class: the CIFAR-10 label when the set has one and the model has ten classes, else the top-1.
    const classes = indices.map((i) => (set.labels && this.#classes === 10 ? set.labels[i] : null));
    const run = ++this.#run;
    e.thumbs.replaceChildren();
    e.charts.replaceChildren();
    e.info.textContent = '';
    delete e.section.dataset.result;
    const t0 = performance.now();
    let curves;
    try {
      curves = await ctx.jobs.run(e.progress, `${KINDS[kind].what} of ${n} image${n > 1 ? 's' : ''} at ${values.length} values`,
        (signal, onProgress) => invarianceCurves(ctx.pool(), set, indices, { kind, values, layers, classes, pre },
          { signal, onProgress }));
    } catch (err) {
      return ctx.showError(`Invariance: ${err.message}`);
    }
    if (!curves || run !== this.#run) return;
    const ms = performance.now() - t0;
    const names = indices.map((i) => set.name(i).replace(/^.*\//, ''));
    this.result = {
      kind, values, layers, images: names, classes: curves.map((c) => c.class),
      distances: curves.map((c) => c.distances), prob: curves.map((c) => c.prob), ms,
    };
    e.section.dataset.result = JSON.stringify(this.result);
    e.info.textContent = `${n} image${n > 1 ? 's' : ''} × ${values.length} values = ${n * values.length} transformed images `
      + `in ${(ms / 1000).toFixed(2)} s. Distances are Euclidean, between a layer's whole `
      + 'outputs for the original and the transformed image; the mean fills where the image moved away.';
    this.#draw(curves, names, values, kind, layers);
  }

  #draw(curves, names, values, kind, layers) {
    const ctx = this.#ctx;
    const e = this.#el;
    const k = KINDS[kind];
    // Each shown image transformed at every value, as the net sees it.
    const grid = document.createElement('div');
    grid.className = 'inv-thumbs';
    grid.style.gridTemplateColumns = `auto repeat(${values.length}, auto)`;
    grid.append(document.createElement('span'),
      ...values.map((v) => Object.assign(document.createElement('span'), { className: 'inv-value', textContent: k.fmt(v) })));
    for (const [i, c] of curves.entries()) {
      if (!c.thumbnails.length) continue;
      grid.append(Object.assign(document.createElement('span'), { className: 'inv-name', textContent: names[i] }));
      grid.append(...c.thumbnails.map((t, j) => canvasOf(t, { height: THUMB_PX, title: `${names[i]}, ${k.fmt(values[j])}: p(${ctx.labelOf(c.class)}) = `
        + `${c.prob[j].toFixed(3)}` })));
    }
    e.thumbs.replaceChildren(grid);
    const charts = [];
    const chart = (id, opts) => {
      const box = document.createElement('div');
      box.className = 'inv-chart';
      box.dataset.testid = id;
      charts.push([box, opts]);
    };
    for (const [l, layer] of layers.entries()) {
      chart(`inv-chart-${layer}`, {
        title: `${layer}: distance from the original`, xLabel: k.x, yLabel: 'Euclidean distance', x: values,
        series: curves.map((c, i) => ({ label: names[i], values: c.distances[l] })), yFormat: (v) => +v.toPrecision(4),
      });
    }
    chart('inv-chart-prob', {
      title: 'Probability of the true class', xLabel: k.x, yLabel: 'probability', x: values, yMin: 0, yMax: 1,
      series: curves.map((c, i) => ({ label: `${names[i]} (${ctx.labelOf(c.class)})`, values: c.prob })),
      yFormat: (v) => +v.toFixed(3),
    });
    e.charts.replaceChildren(...charts.map(([box]) => box));
    for (const [box, opts] of charts) lineChart(box, opts);
    if (!values.includes(IDENTITY[kind])) {
      e.info.textContent += ` (The values leave out the identity, ${IDENTITY[kind]}.)`;
    }
  }
}
