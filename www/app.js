// Main thread: files, controls and canvases. All compute happens in worker.js.

import { DownloadError, bytesText, download, fileNameOf } from './fetch.js';
import { AnalysisTable } from './analysis.js';
import { Engine } from './engine.js';
import { GraphView } from './graph.js';
import { ImageSet } from './image-set.js';
import { Jobs } from './jobs.js';
import { CorrespondenceView } from './correspondence.js';
import { EvolutionView } from './evolution.js';
import { InvarianceView } from './invariance.js';
import { OcclusionView } from './occlusion.js';
import { Pool } from './pool.js';
import { TopKView } from './topk.js';
import { TrainView } from './train.js';
import { checkUrl, linkText, parseLink, quote, sha256, shortHash, sourceText } from './link.js';

const $ = (id) => document.getElementById(id);

const engine = new Engine();
const state = {
  pending: {},      // model files picked so far: {prototxt, weights, mean}
  model: null,      // files of the loaded model
  summary: null,
  labels: null,     // a labels file the user gave, applied to every model loaded after it
  layer: null,      // layer whose filters are shown
  images: [],       // image files to classify
  current: 0,       // index of the current image: the one whose activations and projections are shown
  ready: false,     // the engine's kept forward pass is the current image's
  classifying: false,
  mapsLayer: null,  // layer whose activation maps are shown
  maps: null,       // layout of the shown maps, for clicks
  pick: null,       // projected map: {layer, channel, unit: [y, x]}
  camClass: null,   // class whose Grad-CAM is shown
  tileRun: 0,       // generation counters: the newest run of each view wins
  predictRun: 0,
  mapsRun: 0,
  projectRun: 0,
  camRun: 0,
  openRun: 0,       // the newest link (or URL load) wins
  restoring: false, // a link is being opened: the address bar keeps it until its view is shown
  transfer: null,   // AbortController of the running downloads and file request
  linkText: null,   // the view's link as last written to the address bar
};

// ---- messages

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

const setStatus = (text) => { $('status').textContent = text; };

// ---- model files

const isText = (head) => head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b !== 127));
const HDF5 = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

// Tells a file's role by content first (a prototxt is text, .h5 has a signature), then by name.
async function kindOf(file) {
  const name = file.name.toLowerCase();
  if (file.type.startsWith('image/') || /\.(jpe?g|png|gif|bmp|webp)$/.test(name)) return 'image';
  // A named binary kind goes to its reader even when damaged: the reader says what is wrong with it.
  if (name.endsWith('.onnx')) return 'onnx';
  if (/\.(caffemodel|h5)$/.test(name)) return 'weights';
  if (name.endsWith('.binaryproto')) return 'mean';
  const head = new Uint8Array(await file.slice(0, 4096).arrayBuffer());
  if (isText(head)) return name.endsWith('.txt') && !name.endsWith('.prototxt.txt') ? 'labels' : 'prototxt';
  if (HDF5.every((b, i) => head[i] === b)) return 'weights';
  // A BlobProto starts with its num/channels/height/width/data/shape fields, a NetParameter with a name or layers.
  return [0x08, 0x10, 0x18, 0x20, 0x2a, 0x3a].includes(head[0]) ? 'mean' : 'weights';
}

async function addFiles(fileList) {
  clearError();
  const files = [...fileList];
  const status = $('status').textContent;
  setStatus(`Reading ${files.length} file(s)…`);
  const kinds = await Promise.all(files.map(kindOf));
  const picked = {};
  for (const [i, kind] of kinds.entries()) {
    if (kind === 'image') continue;
    if (picked[kind]) {
      setStatus(status);
      return showError(`Two ${kind} files (${picked[kind].name}, ${files[i].name}): give one model at a time.`);
    }
    picked[kind] = files[i];
  }
  if (picked.onnx && (picked.prototxt || picked.weights)) {
    setStatus(status);
    const caffe = [picked.prototxt, picked.weights].filter(Boolean).map((f) => f.name).join(', ');
    return showError(`An ONNX model (${picked.onnx.name}) and Caffe files (${caffe}): give one model at a time.`);
  }
  const images = files.filter((_, i) => kinds[i] === 'image');
  if (Object.keys(picked).length) await addModelFiles(picked);
  else setStatus(status);
  if (images.length) await addImages(images);
  if (images.length && !state.summary && !Object.keys(state.pending).length) {
    setStatus(`Got ${images.length} image(s); now add a model to classify them: an .onnx file, or a .prototxt with its .caffemodel or .h5.`);
  }
}

async function addModelFiles(picked) {
  if (picked.labels) {
    state.labels = picked.labels;
    delete picked.labels;
    if (state.model) await setLabelsFile(state.labels);
    if (!Object.keys(picked).length) return;
  }
  if (picked.mean && !picked.prototxt && !picked.weights && state.model) return setMeanFile(picked.mean);
  if (picked.onnx) {
    state.pending = {};
    cancelLink();
    return loadModel({ onnx: picked.onnx, mean: picked.mean });
  }
  const p = Object.assign(state.pending, picked);
  if (!p.prototxt || !p.weights) {
    const have = Object.values(p).map((f) => f.name).join(', ');
    return setStatus(`Got ${have}; now add the ${p.prototxt ? 'weights (.caffemodel or .h5)' : '.prototxt'}.`);
  }
  state.pending = {};
  cancelLink();
  await loadModel(p);
}

// Loads model files (`from`: where they were downloaded from, for messages); true when it loaded.
async function loadModel(files, from = '') {
  const names = modelNames(files);
  const what = from ? `${names} from ${from}` : names;
  setStatus(`Loading ${what}…`);
  graph().warm(); // the layout worker starts while the engine reads the model
  $('load-cancel').hidden = false;
  try {
    const summary = await engine.call('load', files);
    state.model = files;
    setStatus(loadedText(files));
    showModel(summary);
    if (state.labels) await setLabelsFile(state.labels);
    scheduleLink();
    return true;
  } catch (e) {
    if (e.name === 'AbortError') {
      // Cancelled: the stopped worker held the previous model too.
      setStatus(state.model ? 'Loading cancelled; reloading the previous model…' : 'Loading cancelled.');
      if (state.model) {
        await reloadModel();
        setStatus(loadedText(state.model));
      }
      return false;
    }
    setStatus(state.model ? `Still showing the previous model.` : '');
    showError(`Could not load the model (${what}): ${e.message}`);
    return false;
  } finally {
    $('load-cancel').hidden = true;
  }
}

// Stops the engine's worker, loading and all; the next call starts a new one.
$('load-cancel').onclick = () => engine.terminate();

// The last good model into a new worker (after a crash or a cancelled load), with its labels.
async function reloadModel() {
  await engine.call('load', { ...state.model, mean: meanInUse() });
  if (state.labels) await engine.call('setLabels', { text: await state.labels.text() });
}

const modelNames = (files) => (files.onnx ? [files.onnx] : [files.prototxt, files.weights]).map((f) => f.name).join(' + ');
const loadedText = (files) => `Loaded ${modelNames(files)}${files.mean ? ` with mean ${files.mean.name}` : ''}.`;

// Subtracts the given mean file (null: none) from now on.
async function useMean(mean) {
  await engine.call('setMean', { mean });
  poolModel();
  scheduleLink();
  runPredictions();
}

// Class names from a labels file (one per line, or Caffe's synset_words.txt) replace the built-in ones.
async function setLabelsFile(file) {
  try {
    const { count, summary } = await engine.call('setLabels', { text: await file.text() });
    const classes = summary.layers.at(-1)?.outputs[0].shape.slice(1).reduce((a, b) => a * b, 1);
    state.summary = summary;
    setStatus(`Using ${count} class names from ${file.name}${count === classes ? '' : ` (the model has ${classes} classes)`}.`);
    scheduleLink();
    runPredictions();
  } catch (e) {
    showError(`Could not use the labels file ${file.name}: ${e.message}`);
  }
}

async function setMeanFile(mean) {
  try {
    await useMean(mean);
    state.model.mean = mean;
    showMeanFile();
    poolModel();
    scheduleLink();
    setStatus(`Using the mean file ${mean.name}.`);
  } catch (e) {
    setStatus('');
    showError(`Could not use the mean file ${mean.name}: ${e.message}`);
  }
}

const meanInUse = () => ($('use-mean-file').checked ? state.model.mean : null);

// After a crash or a panic the new worker has no model: reload the last good one (and its labels), then
// classify the current image again so that its views work. A failed load says so itself.
engine.onrestart = async (message, op) => {
  state.ready = false;
  const tell = (text) => { if (op !== 'load') showError(`${message} — ${text}`); };
  if (!state.model) return tell('the engine was restarted.');
  try {
    await reloadModel();
  } catch (e) {
    return showError(`${message} — the engine was restarted, but the model could not be reloaded: ${e.message}`);
  }
  tell('the engine was restarted and the model reloaded.');
  if (state.images[state.current] && !state.classifying) selectImage(state.current);
};
// The page's engine, for the console and the tests.
globalThis.zfvisEngine = engine;

// ---- batch jobs on a pool of workers: top-k over an image set, occlusion

let pool = null; // started by the first job
const jobs = new Jobs();
let imageSet = null;

// The pool's workers load the model (with the mean in use) before their first shard of the next job.
function poolModel() {
  if (state.model) pool?.setModel({ ...state.model, mean: meanInUse() });
}

// What the analysis views use of the page.
const ctx = {
  pool() {
    if (!pool) {
      pool = new Pool();
      poolModel();
    }
    return pool;
  },
  jobs,
  imageSet: () => imageSet,
  currentImage: () => state.images[state.current] ?? null,
  // The images the multi-image analyses use: the image set, else the images to classify (null: none).
  imagesOrSet() {
    if (imageSet) return imageSet;
    return state.images.length ? new ImageSet('files', state.images, state.images.map(() => 1)) : null;
  },
  // A call to the page's own engine (model loaded): for cheap queries such as defaults and fitted images.
  engine: (op, args) => engine.call(op, args),
  preprocessing: () => preprocessing(),
  labelOf: (i) => labelOf(i),
  showError: (m) => showError(m),
  // The loaded model's files as the pool loads them (the mean in use included), or null.
  modelFiles: () => (state.model ? { ...state.model, mean: meanInUse() } : null),
  // Gives files to the page as if picked (the training view loads a snapshot with its prototxt this way).
  addFiles: (files) => addFiles(files),
  // Snapshots of the loaded model for the training evolution view (the training view hands its own over).
  compareSnapshots: (files) => evolutionView.setSnapshots(files),
};

const topkView = new TopKView(ctx, {
  section: $('topk-section'), layer: $('topk-layer'), k: $('topk-k'), run: $('topk-run'), progress: $('topk-progress'),
  info: $('topk-info'), grids: $('topk-grids'), pager: $('topk-pager'), prev: $('topk-prev'), next: $('topk-next'),
  pageText: $('topk-page'),
});
const occlusionView = new OcclusionView(ctx, {
  section: $('occlusion-section'), form: $('occlusion-controls'), size: $('occ-size'), stride: $('occ-stride'),
  fill: $('occ-fill'), classIndex: $('occ-class'), layer: $('occ-layer'), run: $('occ-run'),
  progress: $('occ-progress'), info: $('occ-info'), figures: $('occ-figures'),
});
const evolutionView = new EvolutionView(ctx, $('evolution-section'));
const invarianceView = new InvarianceView(ctx, $('invariance-section'));
const correspondenceView = new CorrespondenceView(ctx, $('correspondence-section'));

// The views' last results, for the console and the tests.
globalThis.zfvisViews = { topk: topkView, occlusion: occlusionView };
Object.assign(globalThis.zfvisViews, { invariance: invarianceView, correspondence: correspondenceView });
// Training in the page (train.js): independent of the loaded model.
globalThis.zfvisViews.train = new TrainView(ctx, $('train-section'));

function resetJobs(summary) {
  jobs.cancel();
  poolModel();
  topkView.reset(summary);
  occlusionView.reset(summary, labelOf, classCount(summary));
  for (const id of ['imageset-section', 'topk-section', 'occlusion-section']) $(id).hidden = false;
  evolutionView.reset(summary);
  $('evolution-section').hidden = false;
  invarianceView.reset(summary, classCount(summary));
  correspondenceView.reset(summary);
  $('invariance-section').hidden = false;
  $('correspondence-section').hidden = false;
}

async function useImageSet(files) {
  clearError();
  if (!files.length) return;
  $('set-status').textContent = `Reading ${files.length} file(s)…`;
  try {
    imageSet = await ImageSet.from(files);
    const what = imageSet.kind === 'cifar'
      ? `CIFAR-10 batches (${imageSet.files.map((f) => f.name).join(', ')})` : 'image files';
    $('set-status').textContent = `${imageSet.length} images from ${what}`
      + (imageSet.skipped ? `; ${imageSet.skipped} other file(s) skipped.` : '.');
  } catch (e) {
    $('set-status').textContent = imageSet ? `Still using the previous set of ${imageSet.length} images.` : '';
    showError(`Could not use these files as an image set: ${e.message}`);
  }
}

// ---- network: graph and analysis table

const shapeText = (shape) => shape.join('×');

const layerNamed = (name) => state.summary?.layers.find((l) => l.name === name);

// Built on first use, so that a page without a model starts no layout worker.
let graphView = null;
let analysis = null;

function graph() {
  graphView ??= new GraphView({
    box: $('graph'), search: $('graph-search'), searchStatus: $('graph-search-status'), zoomIn: $('graph-zoom-in'),
    zoomOut: $('graph-zoom-out'), fit: $('graph-fit'), status: $('graph-status'), legend: $('graph-legend'),
  }, (name) => { const layer = layerNamed(name); if (layer) pickLayer(layer); });
  return graphView;
}

function showNetwork(summary) {
  analysis ??= new AnalysisTable({ table: $('layers'), totals: $('layers-totals'), byType: $('by-type'), csv: $('csv-btn') },
    { onPick: pickLayer, hasViews: (layer) => !!layer.filters || hasMaps(layer) });
  analysis.show(summary);
  // The section must be visible for the graph to measure its viewport.
  $('network-section').hidden = false;
  graph().show(summary).catch((e) => showError(`Could not draw the network graph: ${e.message}`));
}

function showModel(summary) {
  state.summary = summary;
  $('model-name').textContent = summary.name ? `“${summary.name}”` : '';
  $('model-info').textContent = `Format: ${summary.format}. Input: ${summary.inputs
    .map((i) => `${i.name} ${shapeText(i.shape)}`).join(', ')}.`;
  $('model-notes').replaceChildren(...summary.notes.map((n) => el('li', n)));
  showNetwork(summary);

  const order = summary.channelOrder;
  $('channel-order').value = order;
  showPreprocessing(summary, order);
  resetImageViews(summary);
  resetJobs(summary);
  const first = summary.layers.find((l) => l.filters);
  if (first) selectLayer(first);
  else $('filters-section').hidden = true;
  runPredictions();
}

function el(tag, ...children) {
  const e = document.createElement(tag);
  e.append(...children);
  return e;
}

// ---- filters

// Marks the selected layer in the table and the graph.
function markLayer(name) {
  for (const row of $('layers').tBodies[0].rows) row.classList.toggle('selected', row.dataset.layer === name);
  graphView?.select(name);
}

// A click on a layer row: its filters if it has some, its activation maps if it has 4-D output.
function pickLayer(layer) {
  if (layer.filters) selectLayer(layer);
  else markLayer(layer.name);
  if (!hasMaps(layer)) return;
  state.mapsLayer = layer;
  scheduleLink();
  drawActivations();
}

function selectLayer(layer) {
  state.layer = layer;
  markLayer(layer.name);
  // Zoom so that the default grid (colour tiles for 3-channel kernels) is about 400 px wide.
  const [m = 1, c = 1, kh = 1, kw = 1] = layer.weightShapes[0] ?? [];
  const side = Math.ceil(Math.sqrt(c === 3 ? m : m * c));
  $('zoom').value = Math.min(16, Math.max(1, Math.floor(400 / (side * (Math.max(kh, kw) + 1)))));
  $('start').value = 0;
  $('count').value = '';
  $('filters-layer').textContent = layer.name;
  $('filters-section').hidden = false;
  scheduleLink();
  drawFilters();
}

const int = (id, fallback) => {
  const v = parseInt($(id).value, 10);
  return Number.isFinite(v) ? v : fallback;
};

function tileOptions() {
  return {
    norm: $('norm').value,
    pad: int('pad', 1),
    padValue: 1,
    zoom: Math.max(1, int('zoom', 1)),
    start: int('start', 0),
    count: $('count').value === '' ? null : int('count', null),
    mode: $('mode').value,
    channelOrder: $('channel-order').value,
  };
}

async function drawFilters() {
  if (!state.layer) return;
  const run = ++state.tileRun;
  const layer = state.layer.name;
  try {
    const t = await engine.call('tile', { layer, opts: tileOptions() });
    if (run !== state.tileRun) return;
    const canvas = $('filter-canvas');
    paint(canvas, t);
    const grid = `${t.grid}×${t.grid}`;
    canvas.dataset.tiles = t.tiles;
    canvas.dataset.grid = grid;
    canvas.dataset.layer = layer;
    $('filter-info').textContent = `${t.tiles} tiles in a ${grid} grid, ${t.width}×${t.height} px.`;
  } catch (e) {
    if (run === state.tileRun) showError(`Could not draw the filters of ${layer}: ${e.message}`);
  }
}

function downloadPng() {
  $('filter-canvas').toBlob((blob) => {
    const a = el('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${state.summary.name || 'model'}-${state.layer.name}.png`.replace(/[^\w.-]+/g, '_');
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, 'image/png');
}

// ---- images

function showPreprocessing(summary, order) {
  const t = summary.transform ?? {};
  $('pre-order').value = order;
  $('mean-values').value = t.meanValues?.length ? t.meanValues.join(', ') : '';
  $('scale').value = t.scale ?? 1;
  $('resize').value = t.cropSize ? 'center-crop' : 'stretch';
  $('mean-hint').textContent = t.meanFile && !state.model.mean
    ? `The prototxt names the mean file “${t.meanFile}”: add it like the model files.` : '';
  showMeanFile();
  $('images-section').hidden = false;
}

function showMeanFile() {
  const mean = state.model?.mean;
  $('mean-file-name').textContent = mean ? mean.name : '(none loaded)';
  $('use-mean-file').disabled = !mean;
  $('use-mean-file').checked = !!mean;
}

function preprocessing() {
  const text = $('mean-values').value.trim();
  const meanValues = text ? text.split(/[\s,]+/).map(Number) : null;
  if (meanValues?.some(Number.isNaN)) throw new Error('mean values must be numbers separated by commas');
  return {
    channelOrder: $('pre-order').value,
    meanValues,
    scale: Number($('scale').value) || 1,
    resize: $('resize').value,
  };
}

async function addImages(files) {
  state.images = files;
  state.current = 0;
  scheduleLink();
  await runPredictions();
}

const labelOf = (index) => state.summary.labels?.[index] ?? `class ${index}`;

const percent = (p) => `${(p * 100).toFixed(1)}%`;

// Classifies every image again with the current model and preprocessing.
async function runPredictions() {
  const run = ++state.predictRun;
  state.ready = false;
  const body = $('results').tBodies[0];
  body.replaceChildren();
  $('results-status').textContent = '';
  if (!state.images.length || !state.summary) return;
  let pre;
  try {
    pre = preprocessing();
  } catch (e) {
    return showError(e.message);
  }
  let done = 0;
  state.classifying = true;
  const stop = $('classify-stop');
  stop.hidden = state.images.length < 2;
  stop.onclick = () => {
    state.predictRun++;
    state.classifying = false;
    stop.hidden = true;
    for (const row of body.querySelectorAll('tr:not([data-done])')) row.remove();
    $('results-status').textContent = `Stopped after ${done} of ${state.images.length} images.`;
  };
  for (const [i, file] of state.images.entries()) {
    const cells = [file.name, '…', '', ''].map((t) => el('td', t));
    const row = el('tr', ...cells);
    row.dataset.file = file.name;
    row.onclick = () => selectImage(i);
    body.append(row);
    try {
      const r = await engine.call('predict', { image: file, pre });
      if (run !== state.predictRun) return;
      const [best] = r.top;
      const top5 = r.top.map((t) => `${labelOf(t.index)} ${percent(t.prob)}`);
      cells[1].textContent = labelOf(best.index);
      cells[2].textContent = percent(best.prob);
      const items = r.top.map((t, k) => el('li', top5[k], camButton(i, t.index)));
      cells[3].append(el('details', el('summary', 'top-5'), el('ol', ...items)));
      row.title = top5.join('\n');
      row.dataset.label = cells[1].textContent;
      row.dataset.prob = best.prob;
    } catch (e) {
      if (run !== state.predictRun) return;
      cells[1].textContent = 'error';
      cells[3].textContent = e.message;
      showError(`Could not classify ${file.name}: ${e.message}`);
    }
    row.dataset.done = '';
    $('results-status').textContent = `Classified ${++done} of ${state.images.length} images.`;
  }
  state.classifying = false;
  stop.hidden = true;
  await selectImage(Math.min(state.current, state.images.length - 1));
}

// ---- the current image: activation maps, projections of a unit, Grad-CAM

const hasMaps = (layer) => layer.outputs[0]?.shape.length === 4;
const METHODS = ['deconvnet', 'guided', 'saliency'];
const currentName = () => state.images[state.current].name;

// Draws RGBA pixels on a canvas at their own size, cropped to `field` (inclusive bounds) when given, and
// shown `px` wide; data-width and data-height keep the uncropped size.
function paint(canvas, img, field = null, px = null) {
  const [x0, y0] = field ? [field.x0, field.y0] : [0, 0];
  const [w, h] = field ? [field.x1 - x0 + 1, field.y1 - y0 + 1] : [img.width, img.height];
  canvas.width = w;
  canvas.height = h;
  const data = new ImageData(new Uint8ClampedArray(img.rgba), img.width, img.height);
  canvas.getContext('2d').putImageData(data, -x0, -y0, x0, y0, w, h);
  Object.assign(canvas.dataset, { width: img.width, height: img.height });
  canvas.style.width = px ? `${px}px` : '';
}

// A new model: its layers for Grad-CAM (default: the last one with maps that is not pooling), no views yet.
function resetImageViews(summary) {
  for (const id of ['activations-section', 'projection-section', 'gradcam-section']) $(id).hidden = true;
  Object.assign(state, { ready: false, mapsLayer: null, maps: null, pick: null, camClass: null });
  const layers = summary.layers.filter(hasMaps);
  $('gradcam-layer').replaceChildren(...layers.map((l) => el('option', l.name)));
  const last = layers.findLast((l) => l.type !== 'Pooling');
  if (last) $('gradcam-layer').value = last.name;
}

// Makes an image current: classifies it again so that the engine keeps its forward pass.
async function selectImage(index) {
  state.current = index;
  state.ready = false;
  scheduleLink();
  if (state.classifying || !state.images[index]) return; // the running classification ends with this
  const run = state.predictRun;
  try {
    await engine.call('predict', { image: state.images[index], pre: preprocessing() });
  } catch (e) {
    return showError(`Could not classify ${state.images[index].name}: ${e.message}`);
  }
  if (run !== state.predictRun || index !== state.current) return;
  state.ready = true;
  [...$('results').tBodies[0].rows].forEach((row, i) => row.classList.toggle('current', i === index));
  drawActivations();
  if (state.pick) drawProjection();
  if (state.camClass !== null) drawGradCam();
}

function camButton(image, index) {
  const button = el('button', 'Grad-CAM');
  button.type = 'button';
  button.dataset.class = index;
  button.onclick = (e) => {
    e.stopPropagation();
    state.camClass = index;
    scheduleLink();
    if (image === state.current && state.ready) drawGradCam();
    else selectImage(image);
  };
  return button;
}

async function drawActivations() {
  const layer = state.mapsLayer;
  if (!layer) return;
  const run = ++state.mapsRun;
  $('activations-layer').textContent = layer.name;
  $('activations-section').hidden = false;
  if (!state.ready) {
    $('activations-info').textContent = 'Classify an image to see its activation maps here.';
    return;
  }
  // Zoom so that the grid is about 400 px wide.
  const [, c, h, w] = layer.outputs[0].shape;
  const pad = 1;
  const zoom = Math.max(1, Math.floor(400 / (Math.ceil(Math.sqrt(c)) * (Math.max(h, w) + pad))));
  try {
    const m = await engine.call('activations', { layer: layer.name, opts: { norm: 'tile', pad, zoom } });
    if (run !== state.mapsRun) return;
    const canvas = $('activation-canvas');
    paint(canvas, m);
    // Outline each map's strongest unit: tile i sits at column i % grid, row i / grid.
    const ctx = canvas.getContext('2d');
    ctx.strokeStyle = '#ff2d55';
    m.maxima.forEach(({ y, x }, i) => {
      const top = Math.floor(i / m.grid) * (m.mapHeight + pad) + y;
      const left = (i % m.grid) * (m.mapWidth + pad) + x;
      ctx.strokeRect(left * zoom - 0.5, top * zoom - 0.5, zoom + 1, zoom + 1);
    });
    state.maps = { layer: layer.name, grid: m.grid, tiles: m.tiles, pad, zoom, h: m.mapHeight, w: m.mapWidth };
    Object.assign(canvas.dataset, { layer: layer.name, image: currentName(), tiles: m.tiles, grid: m.grid, zoom, pad,
      mapHeight: m.mapHeight, mapWidth: m.mapWidth });
    $('activations-info').textContent = `${m.tiles} maps of ${m.mapHeight}×${m.mapWidth} for ${currentName()}, `
      + 'each scaled to its own range; outlined: its strongest unit. Click a map or a unit to project it.';
  } catch (e) {
    if (run === state.mapsRun) showError(`Could not show the activations of ${layer.name}: ${e.message}`);
  }
}

// A click on the maps: the channel under it and the unit (y, x) within that map.
function pickUnit(e) {
  const m = state.maps;
  if (!m) return;
  const canvas = e.currentTarget;
  const gx = Math.floor((e.offsetX * canvas.width) / canvas.clientWidth / m.zoom);
  const gy = Math.floor((e.offsetY * canvas.height) / canvas.clientHeight / m.zoom);
  const [x, y] = [gx % (m.w + m.pad), gy % (m.h + m.pad)];
  const channel = Math.floor(gy / (m.h + m.pad)) * m.grid + Math.floor(gx / (m.w + m.pad));
  if (channel >= m.tiles || x >= m.w || y >= m.h) return; // padding
  state.pick = { layer: m.layer, channel, unit: [y, x] };
  scheduleLink();
  drawProjection();
}

async function drawProjection() {
  if (!state.ready || !state.pick) return;
  const { layer, channel } = state.pick;
  const unit = $('proj-unit').value === 'clicked' ? state.pick.unit : $('proj-unit').value;
  const render = $('proj-render').value;
  const methods = $('proj-method').value === 'all' ? METHODS : METHODS.filter((m) => m === $('proj-method').value);
  const run = ++state.projectRun;
  try {
    const views = await Promise.all(methods.map((method) =>
      engine.call('project', { layer, channel, unit, method, render, lrnGradient: $('proj-lrn').checked })));
    if (run !== state.projectRun) return;
    const { field, input, width, height } = views[0];
    const seen = { rgba: input, width, height };
    paint($('input-patch'), seen, field, 160);
    paint($('input-full'), seen, null, 96);
    const key = { layer, channel, unit: String(unit), render };
    for (const method of METHODS) $(`fig-${method}`).hidden = !methods.includes(method);
    for (const [i, method] of methods.entries()) {
      paint($(`projection-${method}-patch`), views[i], field, 160);
      paint($(`projection-${method}`), views[i], null, 96);
      Object.assign($(`projection-${method}`).dataset, key);
    }
    $('projection-info').textContent = `${layer}, channel ${channel}, ${currentName()}: `
      + (field ? `unit (y ${field.unit[0]}, x ${field.unit[1]}), receptive field x ${field.x0}–${field.x1}, `
        + `y ${field.y0}–${field.y1}, activation ${field.activation.toPrecision(4)}`
        + (field.activation > 0 ? '' : ' (the unit is silent for this image: there is nothing to project)')
        : 'the whole map');
    $('projection-section').hidden = false;
  } catch (e) {
    if (run === state.projectRun) showError(`Could not project ${layer} channel ${channel}: ${e.message}`);
  }
}

async function drawGradCam() {
  if (!state.ready || state.camClass === null) return;
  const layer = $('gradcam-layer').value;
  const classIndex = state.camClass;
  const run = ++state.camRun;
  try {
    const cam = await engine.call('gradCam', { layer, classIndex });
    if (run !== state.camRun) return;
    paint($('gradcam'), cam, null, 256);
    Object.assign($('gradcam').dataset, { layer, class: classIndex });
    $('gradcam-info').textContent = `Where ${layer} sees “${labelOf(classIndex)}” in ${currentName()}.`;
    $('gradcam-section').hidden = false;
  } catch (e) {
    if (run === state.camRun) showError(`Could not compute Grad-CAM at ${layer}: ${e.message}`);
  }
}

// ---- examples (www/examples/index.json, written by scripts/build-web.sh): the button loads the first one —
// its model, its sample images and its weight snapshots (into the training-evolution view); each is a link in
// the examples menu too.

async function setUpExample() {
  const index = await fetch('examples/index.json').then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  const examples = index.examples ?? [];
  if (!examples.length) return;
  const fetchFile = async (example, name) => {
    const url = `examples/${example.dir}/${name}`;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
    const file = new File([await response.blob()], name);
    origins.set(file, { url });
    return file;
  };
  const first = examples[0];
  const button = $('example-btn');
  button.textContent = `Example: ${first.title}`;
  button.hidden = false;
  button.onclick = async () => {
    try {
      const snapshots = Promise.all(first.snapshots.map((name) => fetchFile(first, name)));
      snapshots.catch(() => {}); // reported below, when awaited
      const files = await Promise.all([...first.model, ...first.images].map((name) => fetchFile(first, name)));
      await addFiles(files);
      // After the model: loading a model clears the evolution view's snapshots.
      if (first.snapshots.length) evolutionView.setSnapshots(await snapshots);
    } catch (e) {
      showError(`Could not load the example: ${e.message}`);
    }
  };
  for (const example of [...examples].reverse()) {
    const url = (name) => `examples/${example.dir}/${name}`;
    const pairs = example.model.map((name) => [
      name.endsWith('.prototxt') ? 'model' : name.endsWith('.binaryproto') ? 'mean' : 'weights', url(name)]);
    for (const name of example.images) pairs.push(['image', url(name)]);
    const a = el('a', `${example.title} (Caffe, bundled with this page)`);
    a.href = `?${linkText(pairs)}`;
    $('example-links').prepend(el('li', a));
  }
}

// ---- links: the whole view in the address bar's fragment; models and images by URL

// Where each file came from: {url} when it was downloaded; any other file is local, and links name it by
// its SHA-256.
const origins = new WeakMap();
const hashes = new WeakMap();

function hashOf(file) {
  if (!hashes.has(file)) {
    const hash = sha256(file);
    hashes.set(file, hash);
    hash.catch(() => hashes.delete(file)); // try again next time
  }
  return hashes.get(file);
}

async function sourceOf(file) {
  return sourceText(origins.get(file) ?? { name: file.name, sha256: await hashOf(file) });
}

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const classCount = (summary) => summary.layers.at(-1)?.outputs[0]?.shape.slice(1).reduce((a, b) => a * b, 1) ?? 0;

// The view as link text: the files, preprocessing, the filter grid, the maps, the projected unit, Grad-CAM.
async function currentLink() {
  const m = state.model;
  const pairs = [];
  const file = async (key, f) => pairs.push([key, await sourceOf(f)]);
  if (m.onnx) await file('model', m.onnx);
  else {
    await file('model', m.prototxt);
    await file('weights', m.weights);
  }
  if (m.mean) {
    await file('mean', m.mean);
    pairs.push(['usemean', $('use-mean-file').checked ? '1' : '0']);
  }
  if (state.labels) await file('labels', state.labels);
  for (const image of state.images) await file('image', image);
  if (state.images.length) pairs.push(['current', String(state.current)]);

  pairs.push(['order', $('pre-order').value], ['scale', String(Number($('scale').value) || 1)], ['resize', $('resize').value]);
  try {
    pairs.push(['meanv', (preprocessing().meanValues ?? []).join(',')]);
  } catch { /* mean values being typed: left out */ }

  if (state.layer) {
    const t = tileOptions();
    pairs.push(['filters', state.layer.name], ['norm', t.norm], ['pad', String(clamp(t.pad, 0, 16))],
      ['zoom', String(clamp(t.zoom, 1, 32))], ['first', String(Math.max(0, t.start))], ['tmode', t.mode],
      ['torder', t.channelOrder]);
    if (t.count !== null && t.count >= 1) pairs.push(['count', String(t.count)]);
  }
  if (state.mapsLayer) pairs.push(['maps', state.mapsLayer.name]);
  if (state.pick) {
    const { layer, channel, unit } = state.pick;
    pairs.push(['layer', layer], ['channel', String(channel)], ['at', unit.join(',')], ['unit', $('proj-unit').value],
      ['method', $('proj-method').value], ['render', $('proj-render').value], ['lrn', $('proj-lrn').checked ? '1' : '0']);
  }
  if (state.camClass !== null) pairs.push(['cam', String(state.camClass)], ['camlayer', $('gradcam-layer').value]);
  return linkText(pairs);
}

let linkJob = Promise.resolve();
let linkRun = 0;

// Puts the view's link in the address bar (history.replaceState) once the current burst of changes is over.
function scheduleLink() {
  if (state.restoring || !state.model) return;
  const run = ++linkRun;
  linkJob = (async () => {
    await new Promise((ok) => setTimeout(ok, 0));
    if (run !== linkRun || state.restoring || !state.model) return;
    try {
      const text = await currentLink();
      if (run !== linkRun || state.restoring) return;
      state.linkText = text;
      history.replaceState(history.state, '', `${location.pathname}#${text}`);
      $('share').hidden = false;
    } catch (e) {
      $('copy-status').textContent = `The link could not be updated: ${e.message}`;
      $('share').hidden = false;
    }
  })();
}

// Resolves once the address bar holds the link of the current view.
async function linkSettled() {
  let job;
  do {
    job = linkJob;
    await job;
  } while (job !== linkJob);
}

async function copyLink() {
  const status = $('copy-status');
  const box = $('link-text');
  status.textContent = 'Preparing the link…';
  await linkSettled();
  const text = location.href;
  try {
    await navigator.clipboard.writeText(text);
    box.hidden = true;
    status.textContent = 'Link copied to the clipboard.';
    return;
  } catch { /* no clipboard access: select the link in a text box and try the old way */ }
  box.value = text;
  box.hidden = false;
  box.focus();
  box.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch { /* not supported */ }
  status.textContent = copied ? 'Link copied to the clipboard.' : 'Copy the selected link (Ctrl+C or ⌘C).';
}

// A link's notices: at most this many are listed, then a count of the rest.
const MAX_NOTICES = 50;

function showNotices(notes) {
  const shown = notes.slice(0, MAX_NOTICES);
  if (notes.length > MAX_NOTICES) shown.push(`and ${(notes.length - MAX_NOTICES).toLocaleString('en-US')} more ignored parts`);
  $('notice-list').replaceChildren(...shown.map((n) => el('li', n)));
  $('notice').hidden = !notes.length;
}

function addNotices(notes) {
  if (!notes.length) return;
  $('notice-list').append(...notes.map((n) => el('li', n)));
  $('notice').hidden = false;
}

// One progress bar per download: determinate when the server sent Content-Length, else indeterminate.
function showDownloads(items) {
  const rows = items.map((item) => {
    const name = fileNameOf(item.source.url);
    const bar = el('progress');
    bar.setAttribute('aria-label', `Download of ${name}`);
    const bytes = el('span', 'waiting…');
    const row = el('li', el('span', name), ' ', bar, ' ', bytes);
    row.title = new URL(item.source.url, location.href).href;
    item.onProgress = (received, total) => {
      if (total) {
        bar.max = total;
        bar.value = Math.min(received, total);
        bytes.textContent = `${bytesText(received)} of ${bytesText(total)}`;
      } else {
        bar.removeAttribute('value');
        bytes.textContent = `${bytesText(received)} received`;
      }
      Object.assign(row.dataset, { received, total: total ?? '' });
    };
    return row;
  });
  $('download-list').replaceChildren(...rows);
  $('downloads').hidden = !rows.length;
}

const abortError = () => new DOMException('cancelled', 'AbortError');

// Asks for the local files a link names and checks each one's SHA-256; resolves when all were given.
function askForFiles(items, signal) {
  const input = $('link-files-input');
  const rows = items.map((item) => {
    const status = el('span', 'needed');
    const row = el('li', `${item.source.name} (SHA-256 ${shortHash(item.source.sha256)}…): `, status);
    row.dataset.state = 'needed';
    item.checked = () => {
      status.textContent = 'checked';
      row.dataset.state = 'checked';
    };
    return row;
  });
  $('link-files-list').replaceChildren(...rows);
  $('link-files').hidden = false;
  input.value = '';
  return new Promise((resolve, reject) => {
    const finish = () => {
      $('link-files').hidden = true;
      input.onchange = null;
      input.value = '';
      $('link-files-cancel').onclick = null;
    };
    signal.addEventListener('abort', () => {
      finish();
      reject(abortError());
    }, { once: true });
    $('link-files-cancel').onclick = () => state.transfer?.abort();
    input.onchange = async () => {
      const picked = [...input.files];
      input.value = '';
      const problems = [];
      for (const f of picked) {
        let hex;
        try {
          hex = await sha256(f);
        } catch (e) {
          problems.push(`Could not check ${f.name}: ${e.message}.`);
          continue;
        }
        if (signal.aborted) return;
        const fits = items.filter((item) => item.source.sha256 === hex);
        if (!fits.length) {
          const named = items.find((item) => item.source.name === f.name);
          problems.push(named
            ? `${f.name} is not the file this link shows: its SHA-256 starts ${shortHash(hex)}, the link's `
              + `starts ${shortHash(named.source.sha256)}. It was not used.`
            : `${f.name} (SHA-256 ${shortHash(hex)}…) is not one of this link's files. It was not used.`);
          continue;
        }
        for (const item of fits) {
          item.file = f.name === item.source.name ? f : new File([f], item.source.name, { type: f.type });
          hashes.set(item.file, Promise.resolve(hex));
          item.checked();
        }
      }
      if (problems.length) showError(problems.join('\n'));
      else clearError();
      if (items.every((item) => item.file)) {
        finish();
        resolve();
      }
    };
  });
}

const ROLES = { model: 'model', weights: 'weights', mean: 'mean file', labels: 'labels file', image: 'image' };

// The files a link names: downloads (with progress bars) and local files (asked for), all at once.
async function fetchSources(fields) {
  const items = [];
  for (const key of ['model', 'weights', 'mean', 'labels']) if (fields[key]) items.push({ key, source: fields[key] });
  for (const source of fields.image ?? []) items.push({ key: 'image', source });
  const transfer = new AbortController();
  state.transfer = transfer;
  const remote = items.filter((item) => item.source.url !== undefined);
  const local = items.filter((item) => item.source.url === undefined);
  showDownloads(remote);
  try {
    await Promise.all([
      ...remote.map(async (item) => {
        try {
          item.file = await download(item.source.url, { signal: transfer.signal, onProgress: item.onProgress });
        } catch (e) {
          if (e instanceof DownloadError) e.message = `Could not download the ${ROLES[item.key]}: ${e.message}`;
          throw e;
        }
        origins.set(item.file, { url: item.source.url });
      }),
      local.length ? askForFiles(local, transfer.signal) : null,
    ]);
  } catch (e) {
    transfer.abort();
    throw e;
  } finally {
    $('downloads').hidden = true;
    $('link-files').hidden = true;
    if (state.transfer === transfer) state.transfer = null;
  }
  const files = { image: [] };
  for (const item of items) {
    if (item.key === 'image') files.image.push(item.file);
    else files[item.key] = item.file;
  }
  return files;
}

// A link's model: Caffe when it has weights, else ONNX (a text file without weights is refused here).
async function modelOf(files) {
  const mean = files.mean ? { mean: files.mean } : {};
  if (files.weights) return { prototxt: files.model, weights: files.weights, ...mean };
  if (['prototxt', 'labels'].includes(await kindOf(files.model))) {
    throw new Error(`${files.model.name} is text, such as a Caffe .prototxt: a Caffe network also needs its `
      + 'weights (in a link: &weights=<URL of the .caffemodel>).');
  }
  return { onnx: files.model, ...mean };
}

// Applies a link's view fields to the loaded model; returns why some were ignored.
function applyView(f) {
  const notes = [];
  const summary = state.summary;
  const find = (name) => summary.layers.find((l) => l.name === name);
  const drop = (key, value, why) => notes.push(`${key} ${quote(value)} ${why}: ignored`);

  if (f.order) $('pre-order').value = f.order;
  if (f.meanv) {
    const channels = summary.inputs[0]?.shape[1] ?? 0;
    if (f.meanv.length > 1 && f.meanv.length !== channels) {
      drop('meanv', f.meanv.join(','), `has ${f.meanv.length} values for an input of ${channels} channel${channels === 1 ? '' : 's'}`);
    }
    else $('mean-values').value = f.meanv.join(', ');
  }
  if (f.scale !== undefined) $('scale').value = String(f.scale);
  if (f.resize) $('resize').value = f.resize;

  if (f.filters !== undefined) {
    const layer = find(f.filters);
    if (!layer?.filters) drop('filters', f.filters, layer ? 'has no filters' : 'is not a layer of this model');
    else selectLayer(layer);
  }
  if (f.norm) $('norm').value = f.norm;
  if (f.pad !== undefined) $('pad').value = f.pad;
  if (f.zoom !== undefined) $('zoom').value = f.zoom;
  if (f.first !== undefined) {
    const [m = 1, c = 1] = state.layer?.weightShapes[0] ?? [];
    if (f.first >= m * c) drop('first', f.first, `is not below ${m * c}`);
    else $('start').value = f.first;
  }
  if (f.count !== undefined) $('count').value = f.count;
  if (f.tmode) $('mode').value = f.tmode;
  if (f.torder) $('channel-order').value = f.torder;
  if (state.layer) drawFilters();

  if (f.maps !== undefined) {
    const layer = find(f.maps);
    if (!layer || !hasMaps(layer)) drop('maps', f.maps, layer ? 'has no maps' : 'is not a layer of this model');
    else {
      state.mapsLayer = layer;
      markLayer(layer.name);
    }
  }
  if (f.unit) $('proj-unit').value = f.unit;
  if (f.method) $('proj-method').value = f.method;
  if (f.render) $('proj-render').value = f.render;
  if (f.lrn) $('proj-lrn').checked = f.lrn === '1';
  if (f.layer !== undefined) {
    const layer = find(f.layer);
    const [, c = 0, h = 0, w = 0] = layer?.outputs[0]?.shape ?? [];
    const [y, x] = f.at ?? [0, 0];
    if (!layer || !hasMaps(layer)) drop('layer', f.layer, layer ? 'has no maps to project' : 'is not a layer of this model');
    else if (f.channel === undefined) notes.push(`layer ${quote(f.layer)} comes without a channel: no unit is projected`);
    else if (f.channel >= c) drop('channel', f.channel, `is not below ${c}, the channels of ${quote(f.layer)}`);
    else if (y >= h || x >= w) drop('at', `${y},${x}`, `is outside the ${h}×${w} maps of ${quote(f.layer)}`);
    else state.pick = { layer: layer.name, channel: f.channel, unit: [y, x] };
  } else if (f.channel !== undefined || f.at) notes.push('channel and at come without a layer: ignored');

  if (f.camlayer !== undefined) {
    if ([...$('gradcam-layer').options].some((o) => o.value === f.camlayer)) $('gradcam-layer').value = f.camlayer;
    else drop('camlayer', f.camlayer, 'is not a layer with maps in this model');
  }
  if (f.cam !== undefined) {
    const classes = classCount(summary);
    if (f.cam >= classes) drop('cam', f.cam, `is not below ${classes}, the model's class count`);
    else state.camClass = f.cam;
  }
  if (state.mapsLayer) drawActivations();
  return notes;
}

// Stops a link that is still downloading or waiting for files (the user chose other files instead).
function cancelLink() {
  state.openRun++;
  state.transfer?.abort();
  state.restoring = false;
}

// Opens link text (from the fragment, the query or the URL form): gets its files, loads the model and
// restores the view. With `keep` (the URL form) only the model changes: images, labels and settings stay.
async function openLink(text, { keep = false } = {}) {
  if (!text) return;
  const run = ++state.openRun;
  state.transfer?.abort();
  const { fields, notices } = parseLink(text);
  if (!keep) showNotices(notices);
  if (!fields.model) {
    addNotices(['the link names no usable model, so nothing was loaded']);
    return;
  }
  state.restoring = true;
  clearError();
  setStatus('Getting the link’s files…');
  let done = false;
  try {
    const files = await fetchSources(fields);
    if (run !== state.openRun) return;
    const model = await modelOf(files);
    if (keep) state.labels = files.labels ?? state.labels;
    else {
      state.labels = files.labels ?? null;
      state.images = [];
      state.current = 0;
    }
    const urls = [files.model, files.weights].map((f) => f && origins.get(f)?.url).filter(Boolean);
    const from = urls.map((u) => new URL(u, location.href).href).join(' and ');
    if (!(await loadModel(model, from)) || run !== state.openRun) return;
    if (!keep) {
      addNotices(applyView(fields));
      if (fields.usemean === '0' && model.mean) {
        $('use-mean-file').checked = false;
        await engine.call('setMean', { mean: null });
      }
      const current = fields.current ?? 0;
      if (current >= Math.max(1, files.image.length)) {
        addNotices([`current ${quote(current)} is not below ${files.image.length}, the link's image count: ignored`]);
      }
      state.images = files.image;
      state.current = current < files.image.length ? current : 0;
      await runPredictions();
    }
    done = run === state.openRun;
  } catch (e) {
    if (run !== state.openRun) return;
    if (e.name === 'AbortError') {
      setStatus(state.model ? 'Cancelled: still showing the previous model.' : 'Cancelled.');
      return;
    }
    setStatus(state.model ? 'Still showing the previous model.' : '');
    showError(e.message);
  } finally {
    if (run === state.openRun) {
      state.restoring = false;
      if (done) scheduleLink();
    }
  }
}

function loadUrls(e) {
  e.preventDefault();
  const params = new URLSearchParams();
  for (const key of ['model', 'weights']) {
    const url = $(`${key}-url`).value.trim();
    if (!url) continue;
    try {
      checkUrl(url);
    } catch (err) {
      return showError(`The ${key} URL ${quote(url, 80)} ${err.message}.`);
    }
    params.append(key, url);
  }
  if (!params.has('model')) return showError('Give the URL of the model (.onnx, or a Caffe .prototxt with its weights).');
  return openLink(params.toString(), { keep: true });
}

// ---- wiring

$('model-files').onchange = (e) => addFiles(e.target.files);
$('image-files').onchange = (e) => addImages([...e.target.files]);
// Images pasted anywhere on the page are classified like picked ones.
document.addEventListener('paste', (e) => {
  const images = [...(e.clipboardData?.files ?? [])].filter((f) => f.type.startsWith('image/'));
  if (images.length) addImages(images.map((f, i) => new File([f], f.name || `pasted-${i + 1}.png`, { type: f.type })));
});
const zone = $('drop-zone');
zone.ondragover = (e) => { e.preventDefault(); zone.classList.add('over'); };
zone.ondragleave = () => zone.classList.remove('over');
zone.ondrop = (e) => {
  e.preventDefault();
  zone.classList.remove('over');
  addFiles(e.dataTransfer.files);
};
$('tile-controls').oninput = () => { scheduleLink(); drawFilters(); };
$('tile-controls').onsubmit = (e) => e.preventDefault();
$('download-btn').onclick = downloadPng;
$('pre-controls').onsubmit = (e) => e.preventDefault();
$('activation-canvas').onclick = pickUnit;
$('projection-controls').onchange = () => { scheduleLink(); drawProjection(); };
$('projection-controls').onsubmit = (e) => e.preventDefault();
$('gradcam-controls').onchange = () => { scheduleLink(); drawGradCam(); };
$('gradcam-controls').onsubmit = (e) => e.preventDefault();
$('url-form').onsubmit = loadUrls;
$('set-files').onchange = (e) => useImageSet(e.target.files);
$('set-folder').onchange = (e) => useImageSet(e.target.files);
$('imageset-controls').onsubmit = (e) => e.preventDefault();
$('copy-link').onclick = copyLink;
$('download-cancel').onclick = () => state.transfer?.abort();
$('notice-close').onclick = () => showNotices([]);
// A link pasted into this tab's address bar (the page does not reload: only the fragment changed).
window.addEventListener('hashchange', () => {
  const text = location.hash.slice(1);
  if (text !== state.linkText) openLink(text);
});
$('pre-controls').onchange = (e) => {
  if (e.target.id === 'image-files') return;
  scheduleLink();
  if (e.target.id === 'use-mean-file') useMean(meanInUse()).catch((err) => showError(err.message));
  else runPredictions();
};
setUpExample();
openLink(location.hash.slice(1) || location.search.slice(1));
