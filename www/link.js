// Shareable links: the page's view as URLSearchParams-style `k=v&…` text (in the URL's fragment, or its
// query for the short `?model=…&weights=…` form). Parsing is strict: every field is checked against an
// allow-list here and against the loaded model by the page; whatever fails is dropped with a reason.

// Field names in the order they are written, and what each holds.
//   model, weights, mean, labels   a file: an http(s) URL (absolute or relative to the page) or a local file
//   image (repeated)               written as local:<sha256 hex>:<file name>
//   current                        index of the current image
//   filters, norm, pad, zoom, first, count, tmode, torder      the filter grid
//   order, meanv, scale, resize, usemean                        preprocessing
//   maps                           layer whose activation maps are shown
//   layer, channel, at, unit, method, render, lrn               the projected unit (at: y,x of the picked unit)
//   cam, camlayer                  Grad-CAM class and layer
export const FIELDS = ['model', 'weights', 'mean', 'labels', 'usemean', 'image', 'current',
  'order', 'meanv', 'scale', 'resize',
  'filters', 'norm', 'pad', 'zoom', 'first', 'count', 'tmode', 'torder',
  'maps', 'layer', 'channel', 'at', 'unit', 'method', 'render', 'lrn', 'cam', 'camlayer'];

export const FILE_FIELDS = ['model', 'weights', 'mean', 'labels', 'image'];
export const METHODS = ['deconvnet', 'guided', 'saliency'];

export const LIMITS = { value: 2048, images: 100, text: 300_000, name: 255, layer: 256, number: 1e6 };

const ENUMS = {
  usemean: ['0', '1'],
  lrn: ['0', '1'],
  order: ['RGB', 'BGR'],
  torder: ['RGB', 'BGR'],
  resize: ['stretch', 'center-crop'],
  norm: ['global', 'tile'],
  tmode: ['auto', 'rgb', 'grey'],
  unit: ['max', 'clicked', 'map'],
  method: ['all', ...METHODS],
  render: ['paper', 'signed'],
};

// Inclusive bounds of the integer fields (the page narrows them to the model).
const INTS = { current: [0, LIMITS.images - 1], pad: [0, 16], zoom: [1, 32], first: [0, LIMITS.number],
  count: [1, LIMITS.number], channel: [0, LIMITS.number], cam: [0, LIMITS.number] };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

// A short, printable form of untrusted text for messages (always shown with textContent).
export function quote(text, max = 40) {
  // eslint-disable-next-line no-control-regex
  const s = String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return `“${s.length > max ? `${s.slice(0, max)}…` : s}”`;
}

// An http(s) URL, absolute or relative to the page (then same-origin), without user name or password.
// Returns the text as given (relative stays relative) or throws a reason.
export function checkUrl(text, base = globalThis.location?.href) {
  if (text.length > LIMITS.value) throw new Error(`longer than ${LIMITS.value} characters`);
  if (CONTROL.test(text) || /^\s|\s$/.test(text)) throw new Error('has spaces or control characters at its ends or inside');
  let url;
  try {
    url = new URL(text, base);
  } catch {
    throw new Error('is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('is not an http(s) address');
  if (url.username || url.password) throw new Error('carries a user name or password');
  return text;
}

const HEX64 = /^[0-9a-f]{64}$/;

// A file source: {url} or {name, sha256}.
export function parseSource(text) {
  if (text.startsWith('local:')) {
    const hex = text.slice(6, 70);
    const name = text.slice(71);
    if (!HEX64.test(hex) || text[70] !== ':') throw new Error('is not local:<sha256 in hex>:<file name>');
    if (!name || name.length > LIMITS.name || CONTROL.test(name) || /[/\\]/.test(name)) throw new Error('has no usable file name');
    return { name, sha256: hex };
  }
  return { url: checkUrl(text) };
}

export const sourceText = (s) => (s.url !== undefined ? s.url : `local:${s.sha256}:${s.name}`);

const INT = /^(0|[1-9][0-9]{0,8})$/;
const FLOAT = /^[+-]?([0-9]{1,20}(\.[0-9]{0,20})?|\.[0-9]{1,20})(e[+-]?[0-9]{1,3})?$/i;

function intOf(text, [lo, hi]) {
  if (!INT.test(text)) throw new Error('is not a whole number');
  const v = Number(text);
  if (v < lo || v > hi) throw new Error(`is outside ${lo}–${hi}`);
  return v;
}

function floatOf(text) {
  if (!FLOAT.test(text)) throw new Error('is not a number');
  const v = Number(text);
  if (!Number.isFinite(v) || Math.abs(v) > LIMITS.number) throw new Error(`is not a number within ±${LIMITS.number}`);
  return v;
}

const layerName = (text) => {
  if (!text || text.length > LIMITS.layer || CONTROL.test(text)) throw new Error('is not a layer name');
  return text;
};

const PARSERS = {
  meanv(text) {
    if (text === '') return [];
    const parts = text.split(',');
    if (parts.length > 4) throw new Error('has more than 4 values');
    return parts.map(floatOf);
  },
  scale(text) {
    const v = floatOf(text);
    if (Math.abs(v) < 1e-12) throw new Error('is zero');
    return v;
  },
  at(text) {
    const m = /^([0-9]{1,6}),([0-9]{1,6})$/.exec(text);
    if (!m) throw new Error('is not y,x');
    return [Number(m[1]), Number(m[2])];
  },
  filters: layerName,
  maps: layerName,
  layer: layerName,
  camlayer: layerName,
};

const fieldOf = (key) => (Object.hasOwn(PARSERS, key) || Object.hasOwn(ENUMS, key) || Object.hasOwn(INTS, key)
  || FILE_FIELDS.includes(key) ? key : null);

function parseValue(key, text) {
  if (text.length > LIMITS.value) throw new Error(`is longer than ${LIMITS.value} characters`);
  if (FILE_FIELDS.includes(key)) return parseSource(text);
  if (Object.hasOwn(ENUMS, key)) {
    if (!ENUMS[key].includes(text)) throw new Error(`is not one of ${ENUMS[key].join(', ')}`);
    return text;
  }
  if (Object.hasOwn(INTS, key)) return intOf(text, INTS[key]);
  return PARSERS[key](text);
}

// Parses link text into {fields, notices}: fields is a null-prototype object of checked values (image: a
// list), notices the reasons why parts were ignored.
export function parseLink(text) {
  const fields = Object.create(null);
  const notices = [];
  if (text.length > LIMITS.text) {
    notices.push(`the link is longer than ${LIMITS.text.toLocaleString('en-US')} characters; it was ignored`);
    return { fields, notices };
  }
  let params;
  try {
    params = new URLSearchParams(text);
  } catch {
    notices.push('the link could not be read');
    return { fields, notices };
  }
  const seen = new Set();
  for (const [key, value] of params) {
    const field = fieldOf(key);
    if (!field) {
      notices.push(`unknown field ${quote(key)}`);
      continue;
    }
    const again = seen.has(field);
    seen.add(field);
    if (field === 'image') {
      fields.image ??= [];
      if (fields.image.length >= LIMITS.images) {
        if (fields.image.length === LIMITS.images) notices.push(`more than ${LIMITS.images} images: the rest were ignored`);
        fields.image.push(null);
        continue;
      }
    } else if (again) {
      notices.push(`${field} is given more than once: only the first counts`);
      continue;
    }
    try {
      const v = parseValue(field, value);
      if (field === 'image') fields.image.push(v);
      else fields[field] = v;
    } catch (e) {
      notices.push(`${field} ${quote(value)} ${e.message}: ignored`);
    }
  }
  if (fields.image) fields.image = fields.image.filter(Boolean);
  return { fields, notices };
}

// Link text for fields given as [key, value] pairs (values already strings), in FIELDS order.
export function linkText(pairs) {
  const order = (k) => FIELDS.indexOf(k);
  const sorted = pairs.map((p, i) => [p, i]).sort(([a, i], [b, j]) => order(a[0]) - order(b[0]) || i - j);
  // ':', '/', ',' and '@' may stand unescaped in a fragment or query, and read better there.
  return new URLSearchParams(sorted.map(([p]) => p)).toString()
    .replace(/%(3A|2F|2C|40)/g, (code) => decodeURIComponent(code));
}

// Files up to this size are hashed in one piece by crypto.subtle; larger ones stream through hash-worker.js.
export const WHOLE_HASH_BYTES = 16 * 1024 * 1024;

let hasher = null;
let hashId = 0;
const hashJobs = new Map();

function hashInWorker(blob) {
  if (!hasher) {
    hasher = new Worker(new URL('./hash-worker.js', import.meta.url), { type: 'module' });
    // The worker failed: every waiting job fails, and the next one starts a new worker.
    const fail = (message) => {
      hasher?.terminate();
      hasher = null;
      for (const job of hashJobs.values()) job.reject(new Error(message));
      hashJobs.clear();
    };
    hasher.onmessage = ({ data }) => {
      const job = hashJobs.get(data.id);
      hashJobs.delete(data.id);
      if ('hex' in data) job.resolve(data.hex);
      else {
        job.reject(new Error(data.error));
        if (data.trap) fail(data.error);
      }
    };
    hasher.onerror = (e) => {
      e.preventDefault();
      fail(`the hashing worker failed (${e.message || 'error'})`);
    };
  }
  const id = hashId++;
  hasher.postMessage({ id, blob });
  return new Promise((resolve, reject) => hashJobs.set(id, { resolve, reject }));
}

// SHA-256 of a Blob as lower-case hex.
export async function sha256(blob) {
  if (blob.size <= WHOLE_HASH_BYTES && globalThis.crypto?.subtle) {
    const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  return hashInWorker(blob);
}

export const shortHash = (hex) => hex.slice(0, 12);
