// Correspondence analysis (Zeiler & Fergus 2014, Section 5, Table 1): the user marks the same part (an eye,
// the nose) on each of at least five images; each is hidden in turn, and for each layer
// Δ = Σ_{i<j} Hamming(sign ε_i, sign ε_j), ε_i the change of the layer's output. Lower means the layer changes
// more alike across the images. The control hides rectangles of the same sizes placed at random. The
// placements are sharded over the pool (each shard runs the originals again).

import { canvasOf } from './canvas.js';

const MIN_IMAGES = 5;
const VIEW_PX = 160; // the images' displayed size (longest side), at least

/** The rows of the table from the shards' Δ: [{layer, len, pairs, parts, normalised, random, randomMean, randomStd}]. */
export function tableRows(parts) {
  const { layers, lens, pairs } = parts[0];
  return layers.map((layer, l) => {
    const all = parts.flatMap((p) => p.draws.map((d, k) => [d, p.deltas[l][k]])).sort((a, b) => a[0] - b[0]);
    const norm = (v) => v / (pairs * Math.max(1, lens[l]));
    const parts0 = all.find(([d]) => d === 0)?.[1];
    const random = all.filter(([d]) => d > 0).map(([, v]) => v);
    const r = random.map(norm);
    const mean = r.reduce((a, v) => a + v, 0) / r.length;
    const std = r.length === 0 ? NaN : r.length === 1 ? 0 : Math.sqrt(r.reduce((a, v) => a + (v - mean) ** 2, 0) / (r.length - 1));
    return { layer, len: lens[l], pairs, parts: parts0, normalised: norm(parts0), random, randomMean: mean, randomStd: std };
  });
}

/** The table for images `indices` of `set` with `rects` (one each): {rows, draws, seed}. */
export async function correspondenceTable(pool, set, indices, { rects, layers, fill, draws, seed, pre }, { signal, onProgress } = {}) {
  const desc = set.descriptor();
  const all = Array.from({ length: draws + 1 }, (_, d) => d);
  const per = Math.max(1, Math.ceil(all.length / (2 * pool.size)));
  const shards = [];
  for (let s = 0; s < all.length; s += per) shards.push(all.slice(s, s + per));
  const parts = await pool.map(shards, (engine, ds) => engine.call('correspondence',
    { set: desc, indices, rects, layers, fill, draws: ds, seed, pre }), { signal, onProgress });
  return { rows: tableRows(parts), draws, seed };
}

// A rectangle from two corners (input pixels, inclusive).
const span = (a, b) => ({ y: Math.min(a.y, b.y), x: Math.min(a.x, b.x), height: Math.abs(a.y - b.y) + 1, width: Math.abs(a.x - b.x) + 1 });
const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

export class CorrespondenceView {
  #ctx;
  #el;
  #run = 0;
  #images = null;  // {set, indices, names, fitted: [{width, height, rgba}]} shown for marking
  #rects = [];     // per shown image: {y, x, height, width} or null
  #size = null;    // {height, width} shared by every rectangle when "same size" is on
  table = null;    // the last table, for tests: {rows, draws, seed, rects, indices, layers, fill, ms}

  // ctx: see app.js; section: #correspondence-section, holding the controls of index.html.
  constructor(ctx, section) {
    this.#ctx = ctx;
    const q = (id) => section.querySelector(`#${id}`);
    this.#el = {
      section, form: q('corr-controls'), count: q('corr-count'), load: q('corr-load'), same: q('corr-same'),
      clear: q('corr-clear'), layers: q('corr-layers'), fill: q('corr-fill'), draws: q('corr-draws'), seed: q('corr-seed'),
      run: q('corr-run'), marks: q('corr-marks'), status: q('corr-status'), progress: q('corr-progress'),
      info: q('corr-info'), result: q('corr-table'),
    };
    const e = this.#el;
    e.form.onsubmit = (ev) => ev.preventDefault();
    e.load.onclick = () => this.showImages();
    e.clear.onclick = () => { this.#rects = this.#rects.map(() => null); this.#size = null; this.#redraw(); };
    e.same.onchange = () => {
      this.#size = null;
      if (e.same.checked) {
        const first = this.#rects.find(Boolean);
        if (first) this.#resizeAll({ height: first.height, width: first.width });
      }
      this.#redraw();
    };
    e.run.onclick = () => this.run();
  }

  // A new model: its layers (those with maps chosen, after their ReLU or pooling where there is one).
  reset(summary) {
    this.#run++;
    const e = this.#el;
    this.table = null;
    this.#images = null;
    this.#rects = [];
    this.#size = null;
    delete e.section.dataset.result;
    e.marks.replaceChildren();
    e.result.replaceChildren();
    e.status.textContent = '';
    e.info.textContent = '';
    e.progress.hidden = true;
    const inputs = new Set(summary.inputs.map((i) => i.name));
    const layers = summary.layers.filter((l) => l.outputs[0] && !inputs.has(l.name) && l.outputs[0].shape.length >= 2);
    e.layers.replaceChildren(...layers.map((l) => new Option(l.name)));
    e.layers.size = Math.min(8, Math.max(3, layers.length));
    const maps = layers.filter((l) => l.outputs[0].shape.length === 4);
    const chosen = maps.filter((l) => /^(ReLU|Relu|Pooling|MaxPool|AveragePool)$/.test(l.type));
    const pick = new Set((chosen.length ? chosen : maps).map((l) => l.name));
    for (const o of e.layers.options) o.selected = pick.has(o.value);
  }

  // Shows the first images of the source as the net sees them, to mark a rectangle on each.
  async showImages() {
    const ctx = this.#ctx;
    const e = this.#el;
    const set = this.#ctx.imagesOrSet();
    if (!set) return ctx.showError('Choose an image set, or add images under “Classify images”, first: the analysis marks its first images.');
    let pre;
    try {
      pre = ctx.preprocessing();
    } catch (err) {
      return ctx.showError(err.message);
    }
    const n = Math.max(2, Math.min(set.length, 20, Math.floor(Number(e.count.value)) || MIN_IMAGES));
    const indices = Array.from({ length: n }, (_, i) => i);
    const run = ++this.#run;
    e.status.textContent = `Reading ${n} images…`;
    let fitted;
    try {
      fitted = await ctx.engine('fitImages', { set: set.descriptor(), indices, pre });
    } catch (err) {
      e.status.textContent = '';
      return ctx.showError(`Correspondence: ${err.message}`);
    }
    if (run !== this.#run) return;
    this.#images = { set, indices, names: indices.map((i) => set.name(i).replace(/^.*\//, '')), fitted };
    this.#rects = indices.map(() => null);
    this.#size = null;
    e.marks.replaceChildren(...fitted.map((img, i) => this.#figure(img, i)));
    this.#redraw();
  }

  #figure(img, i) {
    const f = document.createElement('figure');
    const zoom = Math.max(1, Math.ceil(VIEW_PX / Math.max(img.width, img.height)));
    const c = document.createElement('canvas');
    c.width = img.width * zoom;
    c.height = img.height * zoom;
    c.dataset.testid = `corr-image-${i}`;
    c.dataset.zoom = zoom;
    c.className = 'corr-canvas';
    c.source = canvasOf(img);
    const cap = document.createElement('figcaption');
    f.append(c, cap);
    // Input pixel under the pointer, inside the image.
    const at = (ev) => {
      const r = c.getBoundingClientRect();
      return {
        y: clamp(Math.floor(((ev.clientY - r.top) / r.height) * img.height), 0, img.height - 1),
        x: clamp(Math.floor(((ev.clientX - r.left) / r.width) * img.width), 0, img.width - 1),
      };
    };
    let start = null;
    let moved = false;
    c.onpointerdown = (ev) => {
      if (ev.button !== 0) return;
      ev.preventDefault();
      c.setPointerCapture?.(ev.pointerId);
      start = at(ev);
      moved = false;
      this.#mark(i, start, start, false);
    };
    c.onpointermove = (ev) => {
      if (!start) return;
      const p = at(ev);
      moved ||= p.x !== start.x || p.y !== start.y;
      this.#mark(i, start, p, false);
    };
    const end = (ev) => {
      if (!start) return;
      const p = at(ev);
      moved ||= p.x !== start.x || p.y !== start.y;
      this.#mark(i, start, p, true, !moved);
      start = null;
    };
    c.onpointerup = end;
    c.onpointercancel = () => { start = null; this.#redraw(); };
    return f;
  }

  // Marks image i from corner a to corner b. With "same size", a click places the shared size centred on it
  // and a drag sets the size for every image.
  #mark(i, a, b, done, click = false) {
    const img = this.#images.fitted[i];
    const same = this.#el.same.checked;
    let r = span(a, b);
    if (same && this.#size && (click || (!done && r.height === 1 && r.width === 1))) {
      const { height, width } = this.#size;
      r = { height, width, y: clamp(a.y - (height >> 1), 0, img.height - height), x: clamp(a.x - (width >> 1), 0, img.width - width) };
    }
    this.#rects[i] = r;
    if (same && done && !click) this.#resizeAll({ height: r.height, width: r.width }, i);
    this.#redraw();
  }

  // Every marked rectangle but image `keep`'s takes `size`, about its centre, inside its image.
  #resizeAll(size, keep = -1) {
    this.#size = size;
    this.#rects = this.#rects.map((r, i) => {
      if (!r || i === keep) return r;
      const img = this.#images.fitted[i];
      const height = Math.min(size.height, img.height);
      const width = Math.min(size.width, img.width);
      const cy = r.y + r.height / 2;
      const cx = r.x + r.width / 2;
      return {
        height, width,
        y: clamp(Math.round(cy - height / 2), 0, img.height - height),
        x: clamp(Math.round(cx - width / 2), 0, img.width - width),
      };
    });
  }

  #redraw() {
    const e = this.#el;
    if (!this.#images) return;
    const canvases = e.marks.querySelectorAll('canvas.corr-canvas');
    canvases.forEach((c, i) => {
      const g = c.getContext('2d');
      g.imageSmoothingEnabled = false;
      g.drawImage(c.source, 0, 0, c.width, c.height);
      const r = this.#rects[i];
      const zoom = Number(c.dataset.zoom);
      if (r) {
        g.lineWidth = 2;
        g.strokeStyle = '#ff2d55';
        g.strokeRect(r.x * zoom + 1, r.y * zoom + 1, r.width * zoom - 2, r.height * zoom - 2);
        g.fillStyle = 'rgba(255, 45, 85, 0.15)';
        g.fillRect(r.x * zoom, r.y * zoom, r.width * zoom, r.height * zoom);
      }
      c.dataset.rect = r ? `${r.y},${r.x},${r.height},${r.width}` : '';
      c.parentElement.querySelector('figcaption').textContent = `${this.#images.names[i]}`
        + (r ? `: ${r.height}×${r.width} at (${r.y}, ${r.x})` : ': drag to mark');
    });
    const marked = this.#rects.filter(Boolean).length;
    e.status.textContent = `${marked} of ${this.#rects.length} images marked`
      + (this.#size && e.same.checked ? `; every rectangle ${this.#size.height}×${this.#size.width} (click to place one, drag to resize all).` : '.');
  }

  // The rectangles, for tests and links: [{y, x, height, width} or null].
  get rects() {
    return this.#rects.map((r) => (r ? { ...r } : null));
  }

  async run() {
    const ctx = this.#ctx;
    const e = this.#el;
    const shown = this.#images;
    if (!shown) return ctx.showError(`Correspondence: show the images and mark a rectangle on each of at least ${MIN_IMAGES} first.`);
    const rects = this.#rects;
    const missing = rects.map((r, i) => (r && r.height > 0 && r.width > 0 ? null : shown.names[i])).filter(Boolean);
    if (rects.length < MIN_IMAGES) {
      return ctx.showError(`Correspondence needs at least ${MIN_IMAGES} images with a rectangle each (the paper uses 5); `
        + `${rects.length} are shown: raise “Images” and show them again.`);
    }
    if (missing.length) return ctx.showError(`Correspondence: mark a rectangle on every image; ${missing.length} still unmarked (${missing.join(', ')}).`);
    const layers = [...e.layers.selectedOptions].map((o) => o.value);
    if (!layers.length) return ctx.showError('Correspondence: choose at least one layer.');
    const draws = Math.floor(Number(e.draws.value));
    const seed = Math.floor(Number(e.seed.value));
    if (!(draws >= 0 && draws <= 1000)) return ctx.showError('Correspondence: random draws must be from 0 to 1000.');
    if (!(seed >= 0 && seed <= Number.MAX_SAFE_INTEGER)) return ctx.showError('Correspondence: the seed must be a whole number from 0.');
    let pre;
    try {
      pre = ctx.preprocessing();
    } catch (err) {
      return ctx.showError(err.message);
    }
    const fill = e.fill.value;
    const run = ++this.#run;
    e.result.replaceChildren();
    e.info.textContent = '';
    delete e.section.dataset.result;
    const t0 = performance.now();
    let table;
    try {
      table = await ctx.jobs.run(e.progress, `Correspondence of ${rects.length} images at ${layers.length} layers`,
        (signal, onProgress) => correspondenceTable(ctx.pool(), shown.set, shown.indices,
          { rects, layers, fill, draws, seed, pre }, { signal, onProgress }));
    } catch (err) {
      return ctx.showError(`Correspondence: ${err.message}`);
    }
    if (!table || run !== this.#run) return;
    const ms = performance.now() - t0;
    this.table = { ...table, rects: rects.map((r) => ({ ...r })), indices: shown.indices, layers, fill, ms };
    e.section.dataset.result = JSON.stringify(this.table);
    const n = rects.length;
    e.info.textContent = `${n} images, ${n * (n - 1) / 2} pairs, ${draws} random placement${draws === 1 ? '' : 's'} (seed ${seed}): `
      + `${(draws + 1) * n} occluded images in ${(ms / 1000).toFixed(2)} s.`;
    this.#show(table);
  }

  #show(table) {
    const cell = (tag, text, cls) => Object.assign(document.createElement(tag), { textContent: text, ...(cls && { className: cls }) });
    const t = document.createElement('table');
    t.dataset.testid = 'corr-table';
    const head = t.createTHead().insertRow();
    head.append(cell('th', 'Layer'), cell('th', 'Δ parts (sum over pairs)', 'num'), cell('th', 'Normalised', 'num'),
      cell('th', `Random (${table.draws} draws): mean ± std, normalised`, 'num'));
    const body = t.createTBody();
    const f = (v) => (Number.isFinite(v) ? v.toFixed(4) : '—');
    for (const r of table.rows) {
      const tr = body.insertRow();
      tr.dataset.layer = r.layer;
      tr.title = `${r.pairs} pairs × ${r.len} values; random Δ: ${r.random.join(', ')}`;
      tr.append(cell('td', r.layer), cell('td', String(r.parts), 'num'), cell('td', f(r.normalised), 'num'),
        cell('td', table.draws ? `${f(r.randomMean)} ± ${f(r.randomStd)}` : '—', 'num'));
    }
    const note = cell('p', 'Lower is better: a lower Δ means hiding the marked part changes the layer in more similar ways '
      + 'across the images than hiding randomly placed rectangles of the same sizes, as the paper reads it (Table 1). '
      + 'Normalised: Δ divided by the number of pairs and the layer\'s output size, the mean fraction of positions whose '
      + 'sign of change differs between two images.', 'hint');
    this.#el.result.replaceChildren(t, note);
  }
}
