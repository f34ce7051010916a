// Top-k per feature map over an image set (Zeiler & Fergus 2014, Fig. 2): the ranking runs on the pool in
// shards of the set; the projections and patches of the shown channels follow, a channel per shard.

import { canvasOf } from './canvas.js';

const SHARD = { cifar: 100, files: 16 };
const PAGE = 8; // channels per page of the grids

/** The k strongest activations of each map of `layer` over `set`: {k, channels: [[{value, image, y, x}]], spatial}. */
export async function topK(pool, set, { layer, k, pre }, { signal, onProgress } = {}) {
  const desc = set.descriptor();
  const parts = await pool.map(set.shards(SHARD[set.kind]),
    (engine, s) => engine.call('topk', { set: desc, start: s.start, end: s.end, layer, k, pre }), { signal, onProgress });
  const [merged] = await pool.map([parts], (engine, p) => engine.call('mergeTopK', { parts: p }), { signal });
  return merged;
}

/** Projection, patch and field of every entry of the given channels: [[{projection, patch, field}]]. */
export function entryViews(pool, set, { layer, pre, result, channels }, { signal, onProgress } = {}) {
  const desc = set.descriptor();
  const shards = channels.map((ch) => result.channels[ch].map((e) => ({ image: e.image, channel: ch, y: e.y, x: e.x })));
  return pool.map(shards, (engine, units) => engine.call('topkViews', { set: desc, units, layer, pre }),
    { signal, onProgress });
}

export class TopKView {
  #ctx;
  #box;
  #result = null; // {layer, k, set, pre, top}
  #page = 0;
  #run = 0;

  // ctx: see app.js; box: {section, layer, k, run, progress, info, grids, prev, next, pageText}.
  constructor(ctx, box) {
    this.#ctx = ctx;
    this.#box = box;
    box.run.onclick = () => this.run();
    box.prev.onclick = () => this.#showPage(this.#page - 1);
    box.next.onclick = () => this.#showPage(this.#page + 1);
  }

  // A new model: its layers with maps, nothing ranked yet.
  reset(summary) {
    this.#result = null;
    this.#run++;
    const layers = summary.layers.filter((l) => l.outputs[0]?.shape.length === 4 || l.outputs[0]?.shape.length === 2);
    this.#box.layer.replaceChildren(...layers.map((l) => new Option(l.name)));
    const firstRelu = layers.find((l) => l.type === 'ReLU' || l.type === 'Relu');
    if (firstRelu) this.#box.layer.value = firstRelu.name;
    this.#box.grids.replaceChildren();
    this.#box.info.textContent = '';
    this.#box.pager.hidden = true;
    this.#box.progress.hidden = true;
  }

  async run() {
    const ctx = this.#ctx;
    const set = ctx.imageSet();
    if (!set) return ctx.showError('Choose an image set first (images, a folder, or CIFAR-10 .bin batches).');
    const layer = this.#box.layer.value;
    const k = Math.max(1, Math.min(100, Math.floor(Number(this.#box.k.value)) || 9));
    let pre;
    try {
      pre = ctx.preprocessing();
    } catch (e) {
      return ctx.showError(e.message);
    }
    const run = ++this.#run;
    delete this.#box.section.dataset.page;
    this.#box.grids.replaceChildren();
    this.#box.pager.hidden = true;
    this.#box.info.textContent = '';
    const t0 = performance.now();
    try {
      const top = await ctx.jobs.run(this.#box.progress, `Top-${k} of ${layer} over ${set.length} images`,
        (signal, onProgress) => topK(ctx.pool(), set, { layer, k, pre }, { signal, onProgress }));
      if (!top || run !== this.#run) return;
      this.#result = { layer, k, set, pre, top, ms: performance.now() - t0 };
      this.#box.section.dataset.rankedMs = Math.round(this.#result.ms);
      await this.#showPage(0);
    } catch (e) {
      ctx.showError(`Top-${k} of ${layer}: ${e.message}`);
    }
  }

  async #showPage(page) {
    const r = this.#result;
    if (!r) return;
    const ctx = this.#ctx;
    const channels = r.top.channels.length;
    const pages = Math.ceil(channels / PAGE);
    page = Math.max(0, Math.min(pages - 1, page));
    this.#page = page;
    const shown = Array.from({ length: Math.min(PAGE, channels - page * PAGE) }, (_, i) => page * PAGE + i);
    const b = this.#box;
    b.pager.hidden = pages < 2;
    b.pageText.textContent = `Channels ${shown[0]}–${shown.at(-1)} of ${channels}`;
    b.prev.disabled = page === 0;
    b.next.disabled = page === pages - 1;
    b.info.textContent = `Top-${r.k} of the ${channels} maps of ${r.layer} over ${r.set.length} images, ranked in `
      + `${(r.ms / 1000).toFixed(1)} s.`;
    const run = ++this.#run;
    let views = null;
    if (r.top.spatial) {
      views = await ctx.jobs.run(b.progress, `Projections of channels ${shown[0]}–${shown.at(-1)}`,
        (signal, onProgress) => entryViews(ctx.pool(), r.set, { layer: r.layer, pre: r.pre, result: r.top, channels: shown },
          { signal, onProgress })).catch((e) => { ctx.showError(`Projections of ${r.layer}: ${e.message}`); return null; });
      if (run !== this.#run) return;
    }
    // A row at a time, each in a task of its own, so that drawing never holds the main thread for long.
    b.grids.replaceChildren();
    for (const [i, ch] of shown.entries()) {
      b.grids.append(this.#row(ch, views?.[i]));
      await new Promise((ok) => setTimeout(ok, 0));
      if (run !== this.#run) return;
    }
    b.section.dataset.page = page;
  }

  // One channel: its projections, then its input patches, strongest first.
  #row(ch, views) {
    const r = this.#result;
    const row = document.createElement('div');
    row.className = 'topk-row';
    row.dataset.channel = ch;
    const head = document.createElement('span');
    head.className = 'topk-channel';
    head.textContent = `#${ch}`;
    const projections = document.createElement('div');
    const patches = document.createElement('div');
    projections.className = 'topk-tiles projections';
    patches.className = 'topk-tiles patches';
    for (const [i, e] of r.top.channels[ch].entries()) {
      const label = r.set.label(e.image);
      const title = `${r.set.name(e.image)}${label ? ` (${label})` : ''}\nactivation ${e.value.toPrecision(4)} at (${e.y}, ${e.x})`;
      const v = views?.[i];
      if (!v) {
        const cell = document.createElement('span');
        cell.className = 'topk-value';
        cell.textContent = e.value.toPrecision(3);
        cell.title = title;
        projections.append(cell);
        continue;
      }
      const px = Math.max(24, Math.min(64, 4 * v.projection.height));
      projections.append(canvasOf(v.projection, { height: px, title }));
      patches.append(canvasOf(v.patch, { height: px, title }));
    }
    row.append(head, projections, patches);
    return row;
  }

  // For tests and the link: the ranked result.
  get result() {
    return this.#result?.top ?? null;
  }
}
