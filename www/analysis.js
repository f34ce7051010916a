// The layers table with the engine's analysis: output shape, parameters, MACs, activation memory and
// receptive field per layer; totals and a per-type summary; sorting by any column; CSV export.
// Every number comes from the summary: a field the engine does not give shows as "—".

const DASH = '—';
const shapeText = (shape) => shape.join('×');
const has = (v) => typeof v === 'number' && Number.isFinite(v);
const exact = (n) => n.toLocaleString('en-US');
// 118M, 1.5G: one decimal below 100 of a unit (SI prefixes, as MACs are usually quoted).
const compact = {
  format(n) {
    if (Math.abs(n) < 1000) return String(n);
    const units = ['k', 'M', 'G', 'T', 'P'];
    let v = n;
    let u = -1;
    do { v /= 1000; u++; } while (Math.abs(v) >= 1000 && u < units.length - 1);
    return `${Math.abs(v) < 100 ? Number(v.toFixed(1)) : Math.round(v)}${units[u]}`;
  },
};
// Long ONNX names (/inception4a/branch2/branch2.1/conv/Conv) keep their tail; the cell's title has all of it.
const NAME_MAX = 30;
const shortName = (name) => (name.length > NAME_MAX ? `…${name.slice(-(NAME_MAX - 1))}` : name);

export function bytesText(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do { v /= 1024; u++; } while (v >= 1024 && u < units.length - 1);
  return `${v < 100 ? Number(v.toFixed(1)) : Math.round(v)} ${units[u]}`;
}

const fmt = (v) => (Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100));
const pair = (p, sep) => (Array.isArray(p) && p.length === 2 && p.every(has) ? `${fmt(p[0])}${sep}${fmt(p[1])}` : null);

// Columns: key, header, cell text, sort value (null: missing, sorted last), CSV values.
const rf = (l) => (l.receptiveField && typeof l.receptiveField === 'object' ? l.receptiveField : null);
export const COLUMNS = [
  { key: 'name', text: (l) => shortName(l.name), title: (l) => (l.name.length > NAME_MAX ? l.name : ''), sort: (l) => l.name,
    csv: (l) => [l.name], head: ['layer'] },
  { key: 'type', text: (l) => l.type, sort: (l) => l.type, csv: (l) => [l.type], head: ['type'] },
  { key: 'shape', text: (l) => l.outputs.map((o) => shapeText(o.shape)).join(', '),
    sort: (l) => l.outputs[0]?.shape.reduce((a, b) => a * b, 1) ?? null,
    csv: (l) => [l.outputs.map((o) => shapeText(o.shape)).join(' ')], head: ['output_shape'] },
  { key: 'params', num: true, text: (l) => exact(l.params), sort: (l) => l.params, csv: (l) => [l.params], head: ['params'] },
  { key: 'macs', num: true, text: (l) => (has(l.macs) ? compact.format(l.macs) : DASH), title: (l) => (has(l.macs) ? `${exact(l.macs)} multiply-accumulates` : ''),
    sort: (l) => (has(l.macs) ? l.macs : null), csv: (l) => [has(l.macs) ? l.macs : ''], head: ['macs'] },
  { key: 'memory', num: true, text: (l) => (has(l.activationBytes) ? bytesText(l.activationBytes) : DASH),
    title: (l) => (has(l.activationBytes) ? `${exact(l.activationBytes)} bytes` : ''),
    sort: (l) => (has(l.activationBytes) ? l.activationBytes : null), csv: (l) => [has(l.activationBytes) ? l.activationBytes : ''],
    head: ['activation_bytes'] },
  { key: 'rfSize', num: true, text: (l) => pair(rf(l)?.size, '×') ?? DASH, sort: (l) => (rf(l) ? rf(l).size[0] * rf(l).size[1] : null),
    csv: (l) => rf(l)?.size ?? ['', ''], head: ['rf_size_h', 'rf_size_w'] },
  { key: 'rfJump', num: true, text: (l) => pair(rf(l)?.jump, '×') ?? DASH, sort: (l) => (rf(l) ? rf(l).jump[0] * rf(l).jump[1] : null),
    csv: (l) => rf(l)?.jump ?? ['', ''], head: ['rf_jump_h', 'rf_jump_w'] },
  { key: 'rfStart', num: true, text: (l) => pair(rf(l)?.start, ', ') ?? DASH, sort: (l) => (rf(l) ? rf(l).start[0] : null),
    csv: (l) => rf(l)?.start ?? ['', ''], head: ['rf_start_h', 'rf_start_w'] },
];

// A spreadsheet would run a cell that starts with = + - @ as a formula: text cells get a leading quote.
function csvCell(v) {
  if (typeof v === 'number') return String(v);
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvText(layers) {
  const lines = [COLUMNS.flatMap((c) => c.head)];
  for (const l of layers) lines.push(COLUMNS.flatMap((c) => c.csv(l)));
  return `${lines.map((cells) => cells.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

function el(tag, ...children) {
  const e = document.createElement(tag);
  e.append(...children);
  return e;
}

export class AnalysisTable {
  // table: the layers <table> (its thead has one <th data-sort="key"> per column); onPick(layer) for a row
  // chosen by click or Enter; hasViews(layer): its row shows filters or maps.
  constructor({ table, totals, byType, csv }, { onPick, hasViews }) {
    Object.assign(this, { table, totals, byType, csvButton: csv, onPick, hasViews });
    this.summary = null;
    this.sort = null; // {key, dir: 1 | -1}
    for (const th of table.tHead.rows[0].cells) {
      const button = th.querySelector('button');
      button.onclick = () => this.#sortBy(th.dataset.sort);
    }
    csv.onclick = () => this.download();
  }

  show(summary) {
    this.summary = summary;
    this.rows = summary.layers.map((layer, index) => {
      const row = el('tr', ...COLUMNS.map((c) => {
        const td = el('td', c.text(layer));
        if (c.num) td.className = 'num';
        const title = c.title?.(layer);
        if (title) td.title = title;
        return td;
      }));
      row.dataset.layer = layer.name;
      row.dataset.index = index;
      if (this.hasViews(layer)) row.classList.add('filters');
      row.tabIndex = 0;
      row.onclick = () => this.onPick(layer);
      row.onkeydown = (e) => { if (e.key === 'Enter') this.onPick(layer); };
      return row;
    });
    this.sort = null;
    this.#order();
    this.#showTotals(summary);
    this.#showByType(summary);
  }

  #sortBy(key) {
    // Ascending, descending, then the model's order again.
    if (this.sort?.key !== key) this.sort = { key, dir: 1 };
    else if (this.sort.dir === 1) this.sort = { key, dir: -1 };
    else this.sort = null;
    this.#order();
  }

  // The layers in the shown order.
  ordered() {
    const layers = this.summary?.layers ?? [];
    if (!this.sort) return [...layers];
    const column = COLUMNS.find((c) => c.key === this.sort.key);
    const { dir } = this.sort;
    return [...layers].map((l, i) => [l, column.sort(l), i]).sort(([, a, i], [, b, j]) => {
      if (a === null || b === null) return a === b ? i - j : a === null ? 1 : -1; // missing last
      const c = typeof a === 'string' ? a.localeCompare(b, 'en', { numeric: true }) : a - b;
      return c ? c * dir : i - j;
    }).map(([l]) => l);
  }

  #order() {
    if (!this.summary) return;
    const byName = new Map(this.rows.map((r) => [r.dataset.layer, r]));
    this.table.tBodies[0].replaceChildren(...this.ordered().map((l) => byName.get(l.name)));
    for (const th of this.table.tHead.rows[0].cells) {
      const on = this.sort?.key === th.dataset.sort;
      th.setAttribute('aria-sort', on ? (this.sort.dir === 1 ? 'ascending' : 'descending') : 'none');
    }
  }

  #showTotals(summary) {
    const t = summary.totals ?? {};
    const params = has(t.params) ? t.params : summary.params;
    const cell = (text, title = '') => {
      const td = el('td', text);
      td.className = 'num';
      if (title) td.title = title;
      return td;
    };
    const row = el('tr', el('th', 'Total'), el('td'), el('td'),
      cell(has(params) ? exact(params) : DASH),
      cell(has(t.macs) ? compact.format(t.macs) : DASH, has(t.macs) ? `${exact(t.macs)} multiply-accumulates` : ''),
      cell(has(t.activationBytes) ? bytesText(t.activationBytes) : DASH, has(t.activationBytes) ? `${exact(t.activationBytes)} bytes` : ''),
      el('td'), el('td'), el('td'));
    row.cells[0].scope = 'row';
    this.totals.replaceChildren(row);
  }

  #showByType(summary) {
    const body = this.byType.tBodies[0];
    if (!Array.isArray(summary.byType)) {
      const td = el('td', `${DASH} (this engine gives no per-type summary)`);
      td.colSpan = 5;
      body.replaceChildren(el('tr', td));
      return;
    }
    body.replaceChildren(...summary.byType.map((t) => {
      const row = el('tr', el('td', t.type), ...[
        has(t.count) ? exact(t.count) : DASH,
        has(t.params) ? exact(t.params) : DASH,
        has(t.macs) ? compact.format(t.macs) : DASH,
        has(t.activationBytes) ? bytesText(t.activationBytes) : DASH,
      ].map((text) => {
        const td = el('td', text);
        td.className = 'num';
        return td;
      }));
      row.dataset.type = t.type;
      return row;
    }));
  }

  download() {
    if (!this.summary) return;
    const blob = new Blob([csvText(this.ordered())], { type: 'text/csv' });
    const a = el('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${this.summary.name || 'model'}-layers.csv`.replace(/[^\w.-]+/g, '_');
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }
}
