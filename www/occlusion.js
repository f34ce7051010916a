// Occlusion sensitivity (Zeiler & Fergus 2014, Fig. 7): a grey square slides over the current image; the
// pool runs the positions in shards, batched within each worker. Three maps, each over the image: the
// total activation of a layer's strongest map, the probability of the class, and the most probable class.

import { canvasOf } from './canvas.js';
import { ImageSet } from './image-set.js';

const ZOOM_PX = 256; // the overlays' displayed size (longest side)

/** Every position's maps for image `index` of `set`: {rows, cols, class, channel, prob, argmax, feature, input}. */
export async function occlusionMaps(pool, set, index, { occluder, classIndex, layer, pre }, { signal, onProgress } = {}) {
  const desc = set.descriptor();
  const call = (engine, start, end) =>
    engine.call('occlusion', { set: desc, index, occluder, classIndex, layer, start, end, pre });
  // The first shard is one position: it tells the grid's size.
  const [head] = await pool.map([0], (engine) => call(engine, 0, 1), { signal });
  const total = head.rows * head.cols;
  const per = Math.max(1, Math.ceil(total / (pool.size * 8)));
  const shards = [];
  for (let s = 1; s < total; s += per) shards.push([s, Math.min(total, s + per)]);
  const parts = await pool.map(shards, (engine, [s, e]) => call(engine, s, e), { signal, onProgress });
  const out = { ...head, prob: [...head.prob], argmax: [...head.argmax], feature: [...head.feature] };
  for (const p of parts) {
    out.prob.push(...p.prob);
    out.argmax.push(...p.argmax);
    out.feature.push(...p.feature);
  }
  return out;
}

// Dark blue, cyan, yellow, red for t in [0, 1] (the same ramp as the core's heat overlays).
function heat(t) {
  const ramp = (a) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * Math.min(1, Math.max(0, t)) - a))));
  return [ramp(3), ramp(2), ramp(1)];
}

// Distinct colours for classes, in order of the area they cover.
const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c',
  '#fabebe', '#008080', '#9a6324', '#fffac8', '#800000', '#aaffc3', '#808000', '#000075'];

function hexRgb(hex) {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

// The image with the map over it: cell (i, j) covers the stride×stride block centred on the square's centre.
function overlay(r, colours, occluder) {
  const { width, height } = r.input;
  const scale = Math.max(1, Math.floor(ZOOM_PX / Math.max(width, height)));
  const canvas = document.createElement('canvas');
  canvas.width = width * scale;
  canvas.height = height * scale;
  const g = canvas.getContext('2d');
  g.imageSmoothingEnabled = false;
  g.drawImage(canvasOf(r.input), 0, 0, canvas.width, canvas.height);
  const map = document.createElement('canvas');
  map.width = r.cols;
  map.height = r.rows;
  const data = new ImageData(r.cols, r.rows);
  colours.forEach(([red, green, blue], i) => data.data.set([red, green, blue, 255], 4 * i));
  map.getContext('2d').putImageData(data, 0, 0);
  const { size, stride } = occluder;
  const off = (size - stride) / 2;
  g.globalAlpha = 0.6;
  g.drawImage(map, off * scale, off * scale, r.cols * stride * scale, r.rows * stride * scale);
  return canvas;
}

function rampLegend(lo, hi, digits) {
  const bar = document.createElement('canvas');
  bar.width = 128;
  bar.height = 1;
  const data = new ImageData(128, 1);
  for (let i = 0; i < 128; i++) data.data.set([...heat(i / 127), 255], 4 * i);
  bar.getContext('2d').putImageData(data, 0, 0);
  bar.className = 'ramp';
  const p = document.createElement('p');
  p.className = 'legend';
  p.append(lo.toFixed(digits), ' ', bar, ' ', hi.toFixed(digits));
  return p;
}

export class OcclusionView {
  #ctx;
  #box;
  #run = 0;
  maps = null; // the last result, for tests

  // box: {section, form, size, stride, fill, classIndex, layer, run, progress, info, figures}
  constructor(ctx, box) {
    this.#ctx = ctx;
    this.#box = box;
    box.run.onclick = () => this.run();
    box.form.onsubmit = (e) => e.preventDefault();
  }

  reset(summary, labelOf, classes) {
    this.#run++;
    this.maps = null;
    const b = this.#box;
    b.classIndex.replaceChildren(new Option('top-1 class', ''),
      ...Array.from({ length: classes }, (_, i) => new Option(`${i}: ${labelOf(i)}`, String(i))));
    const layers = summary.layers.filter((l) => l.outputs[0]?.shape.length === 4);
    b.layer.replaceChildren(...layers.map((l) => new Option(l.name)));
    const last = layers.findLast((l) => l.type !== 'Pooling' && l.type !== 'MaxPool');
    if (last) b.layer.value = last.name;
    const [, , h = 32, w = 32] = summary.inputs[0]?.shape ?? [];
    // The paper's square covers about a tenth of the image side's area; stride a third of the square.
    const size = Math.max(1, Math.round(Math.min(h, w) / 8));
    b.size.value = size;
    b.stride.value = Math.max(1, Math.round(size / 2));
    b.figures.replaceChildren();
    b.info.textContent = '';
    b.progress.hidden = true;
  }

  async run() {
    const ctx = this.#ctx;
    const b = this.#box;
    const file = ctx.currentImage();
    if (!file) return ctx.showError('Add an image under “Classify images” first: occlusion runs on the current image.');
    let pre;
    try {
      pre = ctx.preprocessing();
    } catch (e) {
      return ctx.showError(e.message);
    }
    const occluder = { size: Number(b.size.value), stride: Number(b.stride.value), fill: b.fill.value };
    if (!(occluder.size >= 1 && occluder.stride >= 1)) return ctx.showError('The square’s size and stride must be at least 1.');
    const classIndex = b.classIndex.value === '' ? null : Number(b.classIndex.value);
    const layer = b.layer.value || null;
    const run = ++this.#run;
    b.figures.replaceChildren();
    b.info.textContent = '';
    const set = new ImageSet('files', [file], [1]);
    const t0 = performance.now();
    let r;
    try {
      r = await ctx.jobs.run(b.progress, `Occlusion of ${file.name}`,
        (signal, onProgress) => occlusionMaps(ctx.pool(), set, 0, { occluder, classIndex, layer, pre }, { signal, onProgress }));
    } catch (e) {
      return ctx.showError(`Occlusion of ${file.name}: ${e.message}`);
    }
    if (!r || run !== this.#run) return;
    const ms = performance.now() - t0;
    this.maps = r;
    const positions = r.rows * r.cols;
    b.info.textContent = `${r.rows}×${r.cols} = ${positions} positions of a ${occluder.size}-pixel square, stride `
      + `${occluder.stride}: ${(ms / 1000).toFixed(2)} s, ${Math.round(positions / (ms / 1000))} forward passes/s.`;
    b.section.dataset.positions = positions;
    this.#draw(r, occluder, layer);
  }

  #draw(r, occluder, layer) {
    const ctx = this.#ctx;
    const figures = [];
    const figure = (caption, canvas, legend, id) => {
      const f = document.createElement('figure');
      const c = document.createElement('figcaption');
      c.textContent = caption;
      canvas.dataset.testid = id;
      f.append(c, canvas, legend);
      figures.push(f);
    };
    if (r.feature.length) {
      const lo = r.feature.reduce((a, v) => Math.min(a, v), Infinity);
      const hi = r.feature.reduce((a, v) => Math.max(a, v), -Infinity);
      const span = hi > lo ? hi - lo : 1;
      figure(`(b) total activation of ${layer} map #${r.channel}`,
        overlay(r, r.feature.map((v) => heat((v - lo) / span)), occluder), rampLegend(lo, hi, 2), 'occlusion-feature');
    }
    figure(`(d) probability of ${ctx.labelOf(r.class)}`, overlay(r, r.prob.map((p) => heat(p)), occluder),
      rampLegend(0, 1, 1), 'occlusion-prob');
    const area = new Map();
    for (const c of r.argmax) area.set(c, (area.get(c) ?? 0) + 1);
    const ranked = [...area.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const colour = new Map(ranked.map(([c], i) => [c, hexRgb(PALETTE[i] ?? '#808080')]));
    const legend = document.createElement('ul');
    legend.className = 'legend classes';
    for (const [c, n] of ranked.slice(0, PALETTE.length)) {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = `rgb(${colour.get(c).join(',')})`;
      li.append(sw, `${ctx.labelOf(c)} (${Math.round((100 * n) / r.argmax.length)}%)`);
      legend.append(li);
    }
    if (ranked.length > PALETTE.length) legend.append(Object.assign(document.createElement('li'), { textContent: `${ranked.length - PALETTE.length} more in grey` }));
    figure('(e) most probable class', overlay(r, r.argmax.map((c) => colour.get(c)), occluder), legend, 'occlusion-argmax');
    this.#box.figures.replaceChildren(...figures);
  }
}
