// The network as a directed graph: one node per layer (in-place layers such as a ReLU fold into their
// producer as clickable sub-rows), laid out by dagre in layout-worker.js and drawn as SVG. Pan (drag),
// zoom (wheel, pinch, buttons), fit, search by name, keyboard navigation along the edges.

const NS = 'http://www.w3.org/2000/svg';

// Node colours by layer type (style.css has one class per category).
const CATEGORIES = [
  ['conv', 'convolution', ['Convolution', 'Conv', 'Deconvolution', 'ConvTranspose']],
  ['pool', 'pooling', ['Pooling', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool']],
  ['act', 'activation', ['ReLU', 'Relu', 'PReLU', 'PRelu', 'LeakyRelu', 'Sigmoid', 'TanH', 'Tanh', 'Clip',
    'HardSigmoid', 'HardSwish', 'Softmax', 'Elu', 'Selu']],
  ['norm', 'normalisation', ['LRN', 'BatchNorm', 'BatchNormalization', 'Scale']],
  ['dense', 'fully connected', ['InnerProduct', 'Gemm', 'MatMul']],
  ['merge', 'merge, arithmetic', ['Concat', 'Eltwise', 'Add', 'Sub', 'Mul', 'Div', 'Split', 'Slice']],
  ['shape', 'shape, other', ['Flatten', 'Reshape', 'Squeeze', 'Unsqueeze', 'Transpose', 'Pad', 'Resize',
    'Upsample', 'Identity', 'Dropout', 'Constant']],
];
const CATEGORY = new Map(CATEGORIES.flatMap(([key, , types]) => types.map((t) => [t, key])));
const LABELS = Object.fromEntries([...CATEGORIES.map(([key, label]) => [key, label]), ['input', 'input'], ['other', 'other']]);
export const categoryOf = (type) => CATEGORY.get(type) ?? 'other';

// Layers that work in place on one input (Caffe writes them on their bottom blob): they join their
// producer's node when that producer's output feeds nothing else.
const FOLDABLE = new Set(['ReLU', 'Relu', 'PReLU', 'PRelu', 'LeakyRelu', 'Sigmoid', 'TanH', 'Tanh', 'Clip',
  'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'BatchNorm', 'BatchNormalization', 'Scale', 'Dropout']);

const shapeText = (shape) => shape.join('×');

// Items (graph inputs and layers) with their edges, and the nodes that draw them.
export function buildGraph(summary) {
  const items = [];
  const producer = new Map(); // value name → item
  const consumers = new Map(); // value name → items
  for (const input of summary.inputs) {
    const item = { name: input.name, type: 'Input', kind: 'input', shapes: [input.shape], preds: [], succs: [] };
    items.push(item);
    producer.set(input.name, item);
  }
  for (const layer of summary.layers) {
    const item = { name: layer.name, type: layer.type, kind: 'layer', layer, shapes: layer.outputs.map((o) => o.shape),
      preds: [], succs: [], values: [] };
    for (const value of layer.inputs) {
      const from = producer.get(value);
      if (!from) continue;
      if (!item.preds.includes(from)) item.preds.push(from);
      if (!from.succs.includes(item)) from.succs.push(item);
      item.values.push([from, value]);
      if (!consumers.has(value)) consumers.set(value, []);
      consumers.get(value).push(item);
    }
    for (const o of layer.outputs) producer.set(o.name, item);
    items.push(item);
  }
  const nodes = [];
  for (const item of items) {
    const [from] = item.preds;
    const outputs = from?.kind === 'layer' ? from.layer.outputs : [];
    const fold = item.kind === 'layer' && FOLDABLE.has(item.type) && item.layer.inputs.length === 1 && from
      && from.kind === 'layer' && outputs.length === 1 && consumers.get(outputs[0].name)?.length === 1
      && from.node.items.at(-1) === from;
    if (fold) {
      item.node = from.node;
      item.node.items.push(item);
    } else {
      item.node = { id: `n${nodes.length}`, items: [item] };
      nodes.push(item.node);
    }
  }
  const edges = [];
  const seen = new Set();
  for (const item of items) {
    for (const [from, value] of item.values ?? []) {
      if (from.node === item.node) continue;
      const key = `${from.node.id}>${item.node.id}>${value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      edges.push({ id: `e${edges.length}`, from: from.node, to: item.node, value });
    }
  }
  return { items, nodes, edges };
}

// ---- drawing

const FONT = '12px system-ui, sans-serif';
const FONT_BOLD = `600 ${FONT}`;
const FONT_SMALL = '11px system-ui, sans-serif';
const PAD = 8;
const HEAD = 38;
const FOLD = 20;
const MIN_WIDTH = 96;
const NAME_MAX = 30;

let measurer = null;
function textWidth(text, font) {
  measurer ??= document.createElement('canvas').getContext('2d');
  measurer.font = font;
  return measurer.measureText(text).width;
}

// Long ONNX names (/inception4a/branch2/branch2.1/conv/Conv) keep their tail.
const shortName = (name) => (name.length > NAME_MAX ? `…${name.slice(-(NAME_MAX - 1))}` : name);

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

// Sizes each node from its text.
function measure(node) {
  const [head, ...folds] = node.items;
  const info = `${head.type}  ${head.shapes.map(shapeText).join(', ')}`;
  let width = Math.max(textWidth(shortName(head.name), FONT_BOLD), textWidth(info, FONT_SMALL) + 6) + 2 * PAD;
  for (const f of folds) width = Math.max(width, textWidth(`${shortName(f.name)}  ${f.type}`, FONT_SMALL) + 12 + 2 * PAD);
  node.width = Math.ceil(Math.max(MIN_WIDTH, width));
  node.height = HEAD + (folds.length ? folds.length * FOLD + 4 : 0);
}

const listText = (items) => {
  const names = items.slice(0, 4).map((i) => i.name);
  return items.length > 4 ? `${names.join(', ')} and ${items.length - 4} more` : names.join(', ');
};

function describe(item) {
  const parts = [`${item.name}: ${item.kind === 'input' ? 'graph input' : item.type}`,
    `output ${item.shapes.map(shapeText).join(', ')}`];
  if (item.layer?.params) parts.push(`${item.layer.params.toLocaleString('en-US')} parameters`);
  if (item.node.items[0] !== item) parts.push(`in place after ${item.preds[0].name}`);
  if (item.preds.length) parts.push(`from ${listText(item.preds)}`);
  if (item.succs.length) parts.push(`to ${listText(item.succs)}`);
  return parts.join(', ');
}

function drawNode(node, { x, y }) {
  const [head, ...folds] = node.items;
  const g = svg('g', { class: `node cat-${categoryOf(head.type)}${head.kind === 'input' ? ' cat-input' : ''}`,
    transform: `translate(${x - node.width / 2} ${y - node.height / 2})` });
  g.dataset.node = node.id;
  g.append(svg('rect', { class: 'box', width: node.width, height: node.height, rx: 5 }));
  const row = (item, top, height, ...content) => {
    const r = svg('g', { class: 'row', role: 'button', tabindex: -1, 'aria-label': describe(item) },
      svg('title', {}, describe(item)),
      svg('rect', { class: 'hit', x: top ? 3 : 0, y: top ? top : 0, width: top ? node.width - 6 : node.width, height, rx: top ? 3 : 5 }),
      ...content);
    if (item.kind === 'input') r.dataset.input = item.name;
    else r.dataset.layer = item.name;
    item.row = r;
    return r;
  };
  const shape = head.shapes.map(shapeText).join(', ');
  g.append(row(head, 0, HEAD,
    svg('text', { class: 'name', x: PAD, y: 15 }, shortName(head.name)),
    svg('text', { class: 'type', x: PAD, y: 31 }, head.kind === 'input' ? 'Input' : head.type),
    svg('text', { class: 'shape', x: node.width - PAD, y: 31, 'text-anchor': 'end' }, shape)));
  folds.forEach((f, i) => {
    const top = HEAD + i * FOLD + 1;
    const r = row(f, top, FOLD - 2,
      svg('text', { class: 'fold-name', x: PAD + 3, y: top + 13 }, shortName(f.name)),
      svg('text', { class: 'type', x: node.width - PAD - 3, y: top + 13, 'text-anchor': 'end' }, f.type));
    r.classList.add('fold', `cat-${categoryOf(f.type)}`);
    g.append(r);
  });
  return g;
}

// A smooth path through dagre's points (quadratic segments between their midpoints).
function curve(points) {
  const p = points.map(({ x, y }) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10]);
  if (p.length < 3) return `M${p[0]}L${p.at(-1)}`;
  let d = `M${p[0]}`;
  const mid = (a, b) => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  d += `L${mid(p[0], p[1])}`;
  for (let i = 1; i < p.length - 1; i++) d += `Q${p[i]} ${mid(p[i], p[i + 1])}`;
  return `${d}L${p.at(-1)}`;
}

// ---- layout in a worker

class Layout {
  #worker = null;
  #pending = null;
  #next = 0;

  // Starts the worker ahead of the first layout (it loads dagre meanwhile).
  #start() {
    if (this.#worker) return;
    this.#worker = new Worker(new URL('./layout-worker.js', import.meta.url), { type: 'module' });
    this.#worker.onmessage = ({ data }) => {
      const p = this.#pending;
      if (!p || data.id !== p.id) return;
      this.#pending = null;
      if ('error' in data) p.reject(new Error(data.error));
      else p.resolve(data);
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      const p = this.#pending;
      this.#pending = null;
      this.#worker?.terminate();
      this.#worker = null;
      p?.reject(new Error(e.message || 'the layout worker could not start (is www/vendor/ built?)'));
    };
  }

  warm() {
    this.#start();
  }

  // Lays out {nodes: [{id, width, height}], edges: [{id, v, w}]}; a newer call cancels an older one.
  run(graph) {
    if (this.#pending) {
      // dagre cannot be interrupted: drop the busy worker.
      this.#worker.terminate();
      this.#worker = null;
      this.#pending.reject(new DOMException('superseded', 'AbortError'));
    }
    this.#start();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending = { id, resolve, reject };
      this.#worker.postMessage({ id, ...graph });
    });
  }
}

// ---- the view

const MIN_SCALE = 0.04;
const MAX_SCALE = 4;
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

export class GraphView {
  // el: {box (the viewport element), search, searchStatus, zoomIn, zoomOut, fit, status, legend};
  // onPick(name): a layer was clicked or chosen with Enter.
  constructor(el, onPick) {
    this.el = el;
    this.onPick = onPick;
    this.layout = new Layout();
    this.run = 0;
    this.graph = null;
    this.view = { x: 0, y: 0, k: 1 };
    this.frame = 0;
    this.current = null; // the item that holds the roving tabindex
    this.selected = null;
    this.selectedName = null;
    this.matches = [];
    this.match = -1;
    this.cameFrom = null; // {item, key}: Up after Down returns where it came from

    this.svg = svg('svg', { class: 'graph', role: 'group', 'aria-roledescription': 'network graph',
      'aria-describedby': 'graph-keys' });
    const marker = svg('marker', { id: 'zfvis-graph-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0L10,5L0,10z' }));
    this.viewport = svg('g', { class: 'viewport' });
    this.svg.append(svg('defs', {}, marker), this.viewport);
    el.box.replaceChildren(this.svg);
    this.#wire();
  }

  // Draws a model's graph; resolves when it is on screen.
  async show(summary) {
    const run = ++this.run;
    const start = performance.now();
    const graph = buildGraph(summary);
    this.graph = null;
    this.current = this.selected = null;
    this.selectedName = null;
    this.viewport.replaceChildren();
    this.#clearSearch();
    const box = this.el.box;
    Object.assign(box.dataset, { state: 'layout', layers: summary.layers.length, nodes: graph.nodes.length,
      edges: graph.edges.length });
    delete box.dataset.layoutMs;
    delete box.dataset.totalMs;
    this.el.status.textContent = `Laying out ${graph.nodes.length} nodes…`;
    this.svg.setAttribute('aria-label', `Network graph: ${summary.layers.length} layers in ${graph.nodes.length} nodes`);
    graph.nodes.forEach(measure);
    let placed;
    try {
      placed = await this.layout.run({
        nodes: graph.nodes.map(({ id, width, height }) => ({ id, width, height })),
        edges: graph.edges.map(({ id, from, to }) => ({ id, v: from.id, w: to.id })),
      });
    } catch (e) {
      if (run !== this.run || e.name === 'AbortError') return;
      box.dataset.state = 'error';
      this.el.status.textContent = `The graph could not be laid out: ${e.message}. The table below lists every layer.`;
      return;
    }
    if (run !== this.run) return;

    const edges = svg('g', { class: 'edges' });
    for (const e of graph.edges) {
      e.path = svg('path', { d: curve(placed.edges[e.id]), 'marker-end': 'url(#zfvis-graph-arrow)' });
      e.path.dataset.from = e.from.items.at(-1).name;
      e.path.dataset.to = e.to.items[0].name;
      edges.append(e.path);
    }
    const nodes = svg('g', { class: 'nodes' });
    for (const node of graph.nodes) {
      node.pos = placed.nodes[node.id];
      node.g = drawNode(node, node.pos);
      nodes.append(node.g);
    }
    this.viewport.append(edges, nodes);
    graph.width = placed.width;
    graph.height = placed.height;
    this.graph = graph;
    this.#setCurrent(graph.items[0]);
    this.#initialView();
    this.#legend(graph);
    if (this.selectedName !== null) this.select(this.selectedName);
    await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
    if (run !== this.run) return;
    const total = performance.now() - start;
    Object.assign(box.dataset, { state: 'ready', layoutMs: placed.ms.toFixed(1), totalMs: total.toFixed(1) });
    const folded = summary.layers.length - graph.nodes.length + summary.inputs.length;
    this.el.status.textContent = `${summary.layers.length} layers in ${graph.nodes.length} nodes`
      + `${folded ? ` (${folded} in-place layer${folded === 1 ? '' : 's'} shown inside ${folded === 1 ? 'its' : 'their'} producer)` : ''}`
      + `; laid out in ${Math.round(placed.ms)} ms, drawn in ${Math.round(total)} ms.`;
  }

  // Starts the layout worker, e.g. while a model loads.
  warm() {
    this.layout.warm();
  }

  clear() {
    this.run++;
    this.graph = null;
    this.viewport.replaceChildren();
    this.el.legend.replaceChildren();
    this.el.status.textContent = '';
  }

  // Marks a layer as selected (called for every selection in the page) and brings it into view.
  select(name) {
    this.selectedName = name;
    const g = this.graph;
    if (!g) return; // shown once the layout is done
    for (const n of this.viewport.querySelectorAll('.selected')) n.classList.remove('selected');
    for (const r of this.viewport.querySelectorAll('[aria-current]')) r.removeAttribute('aria-current');
    for (const p of this.viewport.querySelectorAll('path.lit')) p.classList.remove('lit');
    const item = g.items.find((i) => i.kind === 'layer' && i.name === name);
    this.selected = item ?? null;
    if (!item) return;
    item.row.classList.add('selected');
    item.row.setAttribute('aria-current', 'true');
    item.node.g.classList.add('selected');
    for (const e of g.edges) if (e.from === item.node || e.to === item.node) e.path.classList.add('lit');
    this.#setCurrent(item);
    this.#reveal(item);
  }

  // ---- view transform

  #apply() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const { x, y, k } = this.view;
      this.viewport.setAttribute('transform', `translate(${x} ${y}) scale(${k})`);
      this.el.box.dataset.scale = k.toFixed(3);
    });
  }

  #size() {
    const r = this.svg.getBoundingClientRect();
    return { w: r.width || 600, h: r.height || 400, left: r.left, top: r.top };
  }

  zoomBy(factor, at = null) {
    const { w, h } = this.#size();
    const [px, py] = at ?? [w / 2, h / 2];
    const { x, y, k } = this.view;
    const k2 = clamp(k * factor, MIN_SCALE, MAX_SCALE);
    this.view = { k: k2, x: px - ((px - x) * k2) / k, y: py - ((py - y) * k2) / k };
    this.#apply();
  }

  #fitScale() {
    const { w, h } = this.#size();
    const g = this.graph;
    return clamp(Math.min((w - 24) / g.width, (h - 24) / g.height, 1.25), MIN_SCALE, MAX_SCALE);
  }

  fit() {
    if (!this.graph) return;
    const { w, h } = this.#size();
    const k = this.#fitScale();
    this.view = { k, x: (w - this.graph.width * k) / 2, y: (h - this.graph.height * k) / 2 };
    this.#apply();
  }

  // The whole graph when it is readable that small; else its top at a readable scale.
  #initialView() {
    if (this.#fitScale() >= 0.6) return this.fit();
    const { w } = this.#size();
    const k = 0.85;
    const first = this.graph.nodes[0].pos;
    const x = this.graph.width * k <= w ? (w - this.graph.width * k) / 2 : w / 2 - first.x * k;
    this.view = { k, x, y: 8 };
    this.#apply();
  }

  // Pans (never zooms) so that an item's node is on screen, centring it when it was not.
  #reveal(item, always = false) {
    const { w, h } = this.#size();
    const { x, y, k } = this.view;
    const n = item.node;
    const left = (n.pos.x - n.width / 2) * k + x;
    const top = (n.pos.y - n.height / 2) * k + y;
    const inside = left >= 0 && top >= 0 && left + n.width * k <= w && top + n.height * k <= h;
    if (inside && !always) return;
    this.view = { k, x: w / 2 - n.pos.x * k, y: h / 2 - n.pos.y * k };
    this.#apply();
  }

  // ---- focus and keyboard

  #setCurrent(item) {
    if (this.current?.row) this.current.row.setAttribute('tabindex', -1);
    this.current = item;
    item.row.setAttribute('tabindex', 0);
  }

  #focus(item, key = null) {
    if (key) this.cameFrom = { item: this.current, key };
    this.#setCurrent(item);
    item.row.focus({ preventScroll: true });
    this.#reveal(item);
  }

  #itemOf(row) {
    const name = row.dataset.layer ?? row.dataset.input;
    const kind = row.dataset.layer !== undefined ? 'layer' : 'input';
    return this.graph?.items.find((i) => i.kind === kind && i.name === name);
  }

  // The neighbour in a direction: the item we came from when it is one, else the closest in x.
  #step(item, key) {
    const x = (i) => i.node.pos.x;
    const back = { ArrowUp: 'ArrowDown', ArrowDown: 'ArrowUp' }[key];
    if (key === 'ArrowUp' || key === 'ArrowDown') {
      const next = key === 'ArrowUp' ? item.preds : item.succs;
      if (!next.length) return null;
      if (this.cameFrom?.key === back && next.includes(this.cameFrom.item)) return this.cameFrom.item;
      return next.reduce((a, b) => (Math.abs(x(b) - x(item)) < Math.abs(x(a) - x(item)) ? b : a));
    }
    // Siblings: the other consumers of its inputs and producers of its consumers' inputs; else the nodes
    // of the same rank.
    const right = key === 'ArrowRight';
    let pool = new Set([...item.preds.flatMap((p) => p.succs), ...item.succs.flatMap((s) => s.preds)]);
    pool.delete(item);
    pool = [...pool].filter((i) => i.node !== item.node);
    if (!pool.length) pool = this.graph.nodes.filter((n) => n.pos.y === item.node.pos.y && n !== item.node).map((n) => n.items[0]);
    const side = pool.filter((i) => (right ? x(i) > x(item) : x(i) < x(item)));
    if (!side.length) return null;
    return side.reduce((a, b) => (Math.abs(x(b) - x(item)) < Math.abs(x(a) - x(item)) ? b : a));
  }

  #keydown(e) {
    if (!this.graph) return;
    const row = e.target.closest?.('.row');
    const item = row && this.#itemOf(row);
    const key = e.key;
    if (item && ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight'].includes(key)) {
      e.preventDefault();
      // Within a node, Up and Down first walk its rows (producer, then the in-place layers).
      const rows = item.node.items;
      const at = rows.indexOf(item);
      let next = null;
      if (key === 'ArrowDown' && at < rows.length - 1) next = rows[at + 1];
      else if (key === 'ArrowUp' && at > 0) next = rows[at - 1];
      else next = this.#step(key === 'ArrowUp' ? rows[0] : item, key);
      if (next) this.#focus(next, key);
    } else if (item && (key === 'Home' || key === 'End')) {
      e.preventDefault();
      this.#focus(key === 'Home' ? this.graph.items[0] : this.graph.items.at(-1));
    } else if (item && (key === 'Enter' || key === ' ')) {
      e.preventDefault();
      if (item.kind === 'layer') this.onPick(item.name);
    } else if (key === '+' || key === '=') {
      e.preventDefault();
      this.zoomBy(1.25);
    } else if (key === '-') {
      e.preventDefault();
      this.zoomBy(0.8);
    } else if (key === '0') {
      e.preventDefault();
      this.fit();
    }
  }

  // ---- search

  #clearSearch() {
    this.matches = [];
    this.match = -1;
    this.el.search.value = '';
    this.el.searchStatus.textContent = '';
  }

  #find() {
    for (const r of this.viewport.querySelectorAll('.match, .found')) r.classList.remove('match', 'found');
    const q = this.el.search.value.trim().toLowerCase();
    this.match = -1;
    this.matches = q && this.graph ? this.graph.items.filter((i) => i.name.toLowerCase().includes(q)) : [];
    // The exact name first.
    this.matches.sort((a, b) => (b.name.toLowerCase() === q) - (a.name.toLowerCase() === q));
    for (const m of this.matches) m.row.classList.add('match');
    this.el.searchStatus.textContent = !q ? '' : this.matches.length
      ? `${this.matches.length} match${this.matches.length === 1 ? '' : 'es'}: Enter shows ${this.matches.length === 1 ? 'it' : 'the next'}`
      : 'no layer matches';
  }

  #next(back) {
    if (!this.matches.length) return;
    const n = this.matches.length;
    this.match = back ? (this.match - 1 + n) % n : (this.match + 1) % n;
    const item = this.matches[this.match];
    for (const r of this.viewport.querySelectorAll('.found')) r.classList.remove('found');
    item.row.classList.add('found');
    this.#setCurrent(item);
    this.#reveal(item, true);
    this.el.searchStatus.textContent = `${this.match + 1} of ${n}: ${item.name} (↓ moves into the graph)`;
  }

  #legend(graph) {
    const seen = new Set(graph.items.map((i) => (i.kind === 'input' ? 'input' : categoryOf(i.type))));
    const keys = [...CATEGORIES.map(([key]) => key), 'other', 'input'].filter((k) => seen.has(k));
    this.el.legend.replaceChildren(...keys.map((k) => {
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = `swatch cat-${k}`;
      li.append(swatch, LABELS[k]);
      return li;
    }));
  }

  // ---- pointer, wheel, buttons

  #wire() {
    const s = this.svg;
    const pointers = new Map();
    let drag = null;
    let pinch = null;
    let dragged = false;
    const local = (e) => {
      const r = s.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    s.addEventListener('pointerdown', (e) => {
      if (e.pointerType === 'mouse' && e.button !== 0) return;
      dragged = false;
      pointers.set(e.pointerId, local(e));
      if (pointers.size === 1) drag = { id: e.pointerId, start: local(e), view: { ...this.view }, moving: false };
      else if (pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        pinch = { dist: Math.hypot(a[0] - b[0], a[1] - b[1]) || 1 };
        drag = null;
      }
    });
    s.addEventListener('pointermove', (e) => {
      if (!pointers.has(e.pointerId)) return;
      pointers.set(e.pointerId, local(e));
      if (pinch && pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        const dist = Math.hypot(a[0] - b[0], a[1] - b[1]) || 1;
        this.zoomBy(dist / pinch.dist, [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]);
        pinch.dist = dist;
        dragged = true;
        return;
      }
      if (!drag || drag.id !== e.pointerId) return;
      const [px, py] = local(e);
      const [dx, dy] = [px - drag.start[0], py - drag.start[1]];
      if (!drag.moving && Math.hypot(dx, dy) < 4) return;
      if (!drag.moving) {
        drag.moving = true;
        dragged = true;
        s.setPointerCapture(e.pointerId);
        s.classList.add('panning');
      }
      this.view = { ...this.view, x: drag.view.x + dx, y: drag.view.y + dy };
      this.#apply();
    });
    const up = (e) => {
      pointers.delete(e.pointerId);
      if (pointers.size < 2) pinch = null;
      if (drag?.id === e.pointerId) drag = null;
      s.classList.remove('panning');
    };
    s.addEventListener('pointerup', up);
    s.addEventListener('pointercancel', up);
    s.addEventListener('click', (e) => {
      if (dragged) return;
      const row = e.target.closest?.('.row');
      const item = row && this.#itemOf(row);
      if (!item) return;
      this.#focus(item);
      if (item.kind === 'layer') this.onPick(item.name);
    });
    s.addEventListener('wheel', (e) => {
      if (!this.graph) return;
      e.preventDefault();
      const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
      this.zoomBy(Math.exp(-e.deltaY * unit * (e.ctrlKey ? 0.01 : 0.0015)), local(e));
    }, { passive: false });
    s.addEventListener('keydown', (e) => this.#keydown(e));
    this.el.zoomIn.onclick = () => this.zoomBy(1.25);
    this.el.zoomOut.onclick = () => this.zoomBy(0.8);
    this.el.fit.onclick = () => this.fit();
    this.el.search.addEventListener('input', () => this.#find());
    this.el.search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        this.#next(e.shiftKey);
      } else if (e.key === 'ArrowDown' && this.current) {
        e.preventDefault();
        this.#focus(this.matches[this.match] ?? this.matches[0] ?? this.current);
      } else if (e.key === 'Escape') {
        this.el.search.value = '';
        this.#find();
      }
    });
  }
}
