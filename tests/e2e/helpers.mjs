// Shared set-up of the end-to-end tests: fixtures, a static server for www/ and headless Chromium.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import { inflateRawSync } from 'node:zlib';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = resolve(ROOT, '../shared');
export const ARTIFACTS = join(ROOT, 'tests/artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const WWW = join(ROOT, 'www');
export const CIFAR = join(SHARED, 'fixtures/caffe/cifar10_quick');
export const LENET = join(SHARED, 'fixtures/caffe/lenet');
export const CLI = join(ROOT, 'target/release/zfvis');

// A reason to skip when the shared fixtures are absent, else false (for node:test's `skip` option).
export const noFixtures = existsSync(join(SHARED, 'fixtures'))
  ? false
  : `${join(SHARED, 'fixtures')} is absent (the fixtures live outside the repo)`;

// Paths in the reference manifest are relative to the shared folder.
export const manifest = () => JSON.parse(readFileSync(join(SHARED, 'reference/manifest.json'), 'utf8'));
export const shared = (path) => join(SHARED, path);

function requireBuilt() {
  for (const [path, how] of [
    ['www/pkg/zfvis_web_bg.wasm', 'bash scripts/build-web.sh'],
    ['www/pkg-relaxed/zfvis_web_bg.wasm', 'bash scripts/build-web.sh'],
    ['www/examples/index.json', 'bash scripts/build-web.sh'],
    ['www/vendor/dagre.esm.js', 'bash scripts/build-web.sh'],
    ['www/vendor/uPlot.esm.js', 'bash scripts/build-web.sh'],
  ]) {
    if (!existsSync(join(ROOT, path))) throw new Error(`${path} is missing: run \`${how}\` first`);
  }
}

const MIME = {
  '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.jpg': 'image/jpeg', '.png': 'image/png',
};

// A request's path, percent-decoded where that is valid (hostile links ask for paths such as /%A).
const decodedPath = (req) => {
  const path = new URL(req.url, 'http://x').pathname;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
};

// Serves www/ on 127.0.0.1 at a free port; `server.served` lists the paths asked for.
function serve() {
  const served = [];
  // Request lines up to 4 MB (Node's default is 16 KB): hostile links put 100 KB values in the query.
  const server = createServer({ maxHeaderSize: 4 << 20 }, (req, res) => {
    served.push(new URL(req.url, 'http://x').pathname);
    const path = join(WWW, decodedPath(req));
    const file = path.endsWith('/') ? join(path, 'index.html') : path;
    if (!file.startsWith(WWW) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  server.served = served;
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

// Starts the server and Chromium; `errors` collects page errors and console errors (worker ones included).
export async function openBrowser() {
  requireBuilt();
  const server = await serve();
  const profile = mkdtempSync(join(tmpdir(), 'zfvis-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // Content-Security-Policy violations (www/index.html's policy blocking something) are errors in every test:
  // the page's own code never needs anything it forbids.
  await context.addInitScript(() => {
    globalThis.cspViolations = [];
    addEventListener('securitypolicyviolation', (e) => {
      const text = `CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || 'inline code'}`;
      globalThis.cspViolations.push(text);
      console.error(text);
    }, true);
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  const watch = (p) => {
    p.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    p.on('console', (m) => { if (m.type() === 'error') errors.push(`console error: ${m.text()}`); });
    return p;
  };
  watch(page);
  const url = `http://127.0.0.1:${server.address().port}/`;
  return {
    page,
    errors,
    context,
    url,
    // Paths the page's server was asked for, in order.
    served: server.served,
    // Another tab of the same browser; its errors go to `errors` too.
    newPage: async () => watch(await context.newPage()),
    open: () => page.goto(url),
    async close() {
      await context.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Gives model files to the page through its file input and waits until it loaded them or showed an error.
export async function loadModel(page, files) {
  await page.setInputFiles('#model-files', files);
  await page.waitForFunction(() => /^Loaded/.test(document.getElementById('status').textContent)
    || !document.getElementById('error').hidden);
  return page.evaluate(() => document.getElementById('error').hidden ? null : document.getElementById('error').textContent);
}

// A canvas (default: the filter canvas) as {width, height, rgba: Buffer}.
export async function canvasPixels(page, id = 'filter-canvas') {
  const { width, height, base64 } = await page.evaluate((id) => {
    const c = document.getElementById(id);
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = '';
    for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { width: c.width, height: c.height, base64: btoa(s) };
  }, id);
  return { width, height, rgba: Buffer.from(base64, 'base64') };
}

// Drags from input pixel a to b (each [y, x]) on correspondence image i.
export async function drag(page, i, a, b) {
  const canvas = page.locator(`[data-testid=corr-image-${i}]`);
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  const [h, w] = await canvas.evaluate((c) => [c.height / Number(c.dataset.zoom), c.width / Number(c.dataset.zoom)]);
  const at = ([y, x]) => [box.x + ((x + 0.5) * box.width) / w, box.y + ((y + 0.5) * box.height) / h];
  await page.mouse.move(...at(a));
  await page.mouse.down();
  await page.mouse.move(...at(b), { steps: 4 });
  await page.mouse.up();
}

// A little-endian float32 .npy file as {shape, data}.
export function readNpy(path) {
  const buf = readFileSync(path);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) throw new Error(`${path}: not a C-order float32 .npy`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((d) => d.trim()).map(Number);
  const start = 10 + headerLen;
  return { shape, data: new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length)) };
}

// Differences between two RGBA images, as a message (empty when equal).
export function compare(got, want) {
  if (got.width !== want.width || got.height !== want.height) {
    return `size ${got.width}×${got.height}, CLI ${want.width}×${want.height}`;
  }
  const i = got.rgba.findIndex((v, k) => v !== want.rgba[k]);
  if (i < 0) return '';
  const px = i >> 2;
  return `first difference at x=${px % got.width}, y=${Math.floor(px / got.width)}: page `
    + `${[...got.rgba.subarray(px * 4, px * 4 + 4)]}, CLI ${[...want.rgba.subarray(px * 4, px * 4 + 4)]}`;
}

export const decodePng = (path) => {
  const png = PNG.sync.read(readFileSync(path));
  return { width: png.width, height: png.height, rgba: png.data };
};

// A second server on 127.0.0.1 (another port, so another origin) that serves `files` ({name: path}) the ways
// the page must cope with:
//   /cors/<name>        with Access-Control-Allow-Origin: * and Content-Length (any other name: 404, with CORS)
//   /nocors/<name>      without CORS headers
//   /slow/<name>        with CORS and Content-Length, sent in 8 pieces over about 1.2 s
//   /chunked/<name>     with CORS but no Content-Length (chunked), sent in 8 pieces over about 1.2 s
//   /html/<name>        an HTML page served as text/html
//   /sniff/<name>       an HTML page served as application/octet-stream (found by its first bytes)
//   /truncated/<name>   Content-Length of the whole file, half of it sent, then the connection closed
//   /lfs/<name>         a Git LFS pointer in place of the file
// `requests` lists the paths asked for.
export async function serveModels(files) {
  const requests = [];
  const cors = { 'Access-Control-Allow-Origin': '*' };
  const html = '<!DOCTYPE html>\n<html><head><title>Not found</title></head><body><h1>Sign in to continue</h1></body></html>\n';
  const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
  const trickle = async (res, data) => {
    const pieces = 8;
    for (let i = 0; i < pieces; i++) {
      res.write(data.subarray(Math.floor((i * data.length) / pieces), Math.floor(((i + 1) * data.length) / pieces)));
      await sleep(150);
    }
    res.end();
  };
  const server = createServer(async (req, res) => {
    const path = decodedPath(req);
    requests.push(path);
    const [, route, name] = path.match(/^\/([a-z]+)\/(.+)$/) ?? [];
    const file = name !== undefined && Object.hasOwn(files, name) ? readFileSync(files[name]) : null;
    const binary = (extra = {}) => ({ 'Content-Type': 'application/octet-stream', ...extra });
    if (!file) {
      res.writeHead(404, { ...cors, 'Content-Type': 'text/plain' }).end('404: Not Found');
      return;
    }
    switch (route) {
      case 'cors':
        res.writeHead(200, binary({ ...cors, 'Content-Length': file.length })).end(file);
        return;
      case 'nocors':
        res.writeHead(200, binary({ 'Content-Length': file.length })).end(file);
        return;
      case 'slow':
        res.writeHead(200, binary({ ...cors, 'Content-Length': file.length }));
        await trickle(res, file);
        return;
      case 'chunked':
        res.writeHead(200, binary(cors));
        await trickle(res, file);
        return;
      case 'html':
        res.writeHead(200, { ...cors, 'Content-Type': 'text/html; charset=utf-8' }).end(html);
        return;
      case 'sniff':
        res.writeHead(200, binary(cors)).end(html);
        return;
      case 'truncated':
        res.writeHead(200, binary({ ...cors, 'Content-Length': file.length }));
        res.write(file.subarray(0, file.length >> 1), () => setTimeout(() => res.socket?.destroy(), 50));
        return;
      case 'lfs':
        res.writeHead(200, { ...cors, 'Content-Type': 'text/plain; charset=utf-8' })
          .end(`version https://git-lfs.github.com/spec/v1\noid sha256:${'0'.repeat(64)}\nsize ${file.length}\n`);
        return;
      default:
        res.writeHead(404, { ...cors, 'Content-Type': 'text/plain' }).end('404: Not Found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    requests,
    close: () => {
      server.closeAllConnections?.();
      server.close();
    },
  };
}

// Console errors the browser itself logs for failed downloads (a 404, a CORS refusal, a cut connection):
// expected in tests that provoke them.
export const isFetchNoise = (message) => /Failed to load resource|blocked by CORS policy|net::ERR_|Failed to fetch/.test(message);

// Everything the page shows of its view, apart from pixels.
export const viewState = (page) => page.evaluate(() => {
  const controls = {};
  for (const e of document.querySelectorAll(':is(#tile-controls, #pre-controls, #projection-controls, #gradcam-controls) '
    + ':is(input:not([type=file]), select)')) controls[e.id] = e.type === 'checkbox' ? [e.checked, e.disabled] : e.value;
  const canvases = {};
  for (const c of document.querySelectorAll('main canvas')) {
    if (c.offsetParent) canvases[c.id] = { ...c.dataset, canvasWidth: c.width, canvasHeight: c.height, css: c.style.width };
  }
  const shown = [...document.querySelectorAll('main section, .views figure')].map((s) => `${s.id}: ${s.hidden ? 'hidden' : 'shown'}`);
  const rows = [...document.querySelectorAll('#results tbody tr')].map((tr) => ({ ...tr.dataset, current: tr.classList.contains('current') }));
  const selected = [...document.querySelectorAll('#layers tr.selected')].map((tr) => tr.dataset.layer);
  const texts = Object.fromEntries(['model-info', 'filter-info', 'activations-info', 'projection-info', 'gradcam-info',
    'mean-file-name', 'results-status'].map((id) => [id, document.getElementById(id).textContent]));
  return { controls, canvases, shown, rows, selected, texts, hash: location.hash };
});

// ---- weightless ONNX graphs (crates/core/tests/data/graphs) made loadable

export const GRAPHS = join(ROOT, 'crates/core/tests/data/graphs');

// A small seeded PRNG (mulberry32): the same seed gives the same weights on every run.
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const varint = (n) => {
  const out = [];
  let v = BigInt(n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return Buffer.from(out);
};
// A length-delimited protobuf field: tag (field << 3 | 2), length, bytes.
const message = (field, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
};

// The bytes of `<name>.onnx` from GRAPHS with the float initializers that `<name>.weights.json` lists put
// back: one more ModelProto `graph` field (7) holding them as initializers (GraphProto field 5; TensorProto
// dims 1, data_type 2 = FLOAT, name 8, raw_data 9). Protobuf merges a repeated singular message field, so
// they join the graph. Values are uniform in [-1, 1) from a seeded mulberry32, scaled by 1/sqrt(fan-in)
// (the product of all dimensions but the first; a 1-D tensor's own length).
export function onnxWithWeights(name, seed = 1) {
  const model = readFileSync(join(GRAPHS, `${name}.onnx`));
  const list = JSON.parse(readFileSync(join(GRAPHS, `${name}.weights.json`), 'utf8'));
  const random = mulberry32(seed);
  const initializers = list.map(({ name: tensor, dims }) => {
    const count = dims.reduce((a, b) => a * b, 1);
    const fanIn = dims.length > 1 ? count / dims[0] : dims[0];
    const scale = 1 / Math.sqrt(fanIn);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = (random() * 2 - 1) * scale;
    return message(5,
      ...dims.map((d) => Buffer.concat([varint(1 << 3), varint(d)])), // dims
      varint(2 << 3), varint(1), // data_type FLOAT
      message(8, Buffer.from(tensor, 'utf8')), // name
      message(9, Buffer.from(values.buffer))); // raw_data (little-endian float32)
  });
  return Buffer.concat([model, message(7, ...initializers)]);
}

// A member of a .npz (a zip of .npy files, stored or deflated) as its raw .npy bytes.
function npzMember(path, name) {
  const zip = readFileSync(path);
  for (let at = 0; zip.readUInt32LE(at) === 0x04034b50;) {
    const method = zip.readUInt16LE(at + 8);
    let size = zip.readUInt32LE(at + 18);
    const nameLen = zip.readUInt16LE(at + 26);
    const extraLen = zip.readUInt16LE(at + 28);
    const member = zip.toString('latin1', at + 30, at + 30 + nameLen);
    const start = at + 30 + nameLen + extraLen;
    // Zip64: the sizes are in the extra field (uncompressed, then compressed).
    for (let e = at + 30 + nameLen; size === 0xffffffff && e < start; e += 4 + zip.readUInt16LE(e + 2)) {
      if (zip.readUInt16LE(e) === 1) size = Number(zip.readBigUInt64LE(e + 12));
    }
    const data = zip.subarray(start, start + size);
    if (member === name) return method === 8 ? inflateRawSync(data) : data;
    at = start + size;
  }
  throw new Error(`${path} has no ${name}`);
}

// n images of the fixtures' 10k CIFAR-10 test set (sorted by class) as a binary batch in the official layout (a
// label byte, then the R, G and B planes), written to `dir` (default: a new temporary folder) as `name`
// (default test_batch.bin for all 10,000, else test_batch_N.bin); returns its path. `order` gives the
// images' indices (default the first n).
export function cifarBatch(n, { order, dir, name } = {}) {
  const npz = join(SHARED, 'fixtures/images/cifar10_test_10k.npz');
  const body = (npy) => npy.subarray(10 + npy.readUInt16LE(8));
  const x = body(npzMember(npz, 'x.npy')); // uint8 N×32×32×3
  const y = body(npzMember(npz, 'y.npy')); // uint8 labels
  const out = Buffer.alloc(n * 3073);
  for (let i = 0; i < n; i++) {
    const r = out.subarray(i * 3073);
    const at = order ? order[i] : i;
    r[0] = y[at];
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) r[1 + c * 1024 + p] = x[(at * 1024 + p) * 3 + c];
  }
  const path = join(dir ?? mkdtempSync(join(tmpdir(), 'zfvis-cifar-')), name ?? (n === 10000 ? 'test_batch.bin' : `test_batch_${n}.bin`));
  writeFileSync(path, out);
  return path;
}

// Waits for a job's progress line to leave the running state; returns that state.
export async function finished(page, id, timeout = 120_000) {
  await page.waitForFunction((id) => {
    const s = document.getElementById(id).dataset.state;
    return s && s !== 'running';
  }, id, { timeout });
  return page.$eval(`#${id}`, (e) => e.dataset.state);
}
