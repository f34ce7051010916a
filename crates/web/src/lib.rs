//! wasm-bindgen bindings: load a model from bytes, describe it, tile filters, predict.
//! Errors reach JS as `Error` exceptions carrying the core's message.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use zfvis_core::engine::Activations;
use zfvis_core::formats::{caffe, onnx, Model as CoreModel};
use zfvis_core::preprocess::{self, Pixels, Preprocess, Resize};
use zfvis_core::vis::projection::{self, Method, Options, Target, Unit};
use zfvis_core::vis::tile::{self, Norm, TileMode, TileOptions};
use zfvis_core::vis::ChannelOrder;
use zfvis_core::vis::{gradcam, occlusion, receptive_field, render, Rgba};
use zfvis_core::{engine, summary, Tensor};

mod correspondence;
mod invariance;
mod evolution;
mod jobs;
mod train;

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_error)
}

fn from_js<T: for<'de> Deserialize<'de>>(v: JsValue) -> Result<T, JsError> {
    serde_wasm_bindgen::from_value(v).map_err(|e| JsError::new(&format!("invalid options: {e}")))
}

#[wasm_bindgen]
pub struct Model {
    inner: CoreModel,
    mean: Option<Tensor>,
    /// The last classified image: its forward pass and its pixels as the net saw them.
    last: Option<(Activations, Rgba)>,
    /// Class names from a user's labels file, replacing the built-in ones.
    labels: Option<Vec<String>>,
}

/// Reads a model file chunk by chunk, so its weights are never held twice in wasm memory: an .onnx model,
/// or a Caffe net's weights (its prototxt is given whole).
#[wasm_bindgen]
pub struct ModelReader(Option<Reading>);

enum Reading {
    Onnx(onnx::stream::Reader),
    Caffe(Vec<u8>, caffe::weights::Reader),
}

#[wasm_bindgen]
impl ModelReader {
    /// `total`: the file size, when known.
    pub fn onnx(total: Option<f64>) -> ModelReader {
        ModelReader(Some(Reading::Onnx(onnx::stream::Reader::new(total.map(|t| t as u64)))))
    }

    /// Weights for this prototxt; `total`: the weights file's size, when known.
    pub fn caffe(prototxt: Vec<u8>, total: Option<f64>) -> ModelReader {
        ModelReader(Some(Reading::Caffe(prototxt, caffe::weights::Reader::new(total.map(|t| t as u64)))))
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsError> {
        match self.0.as_mut().ok_or_else(|| JsError::new("the reader has finished"))? {
            Reading::Onnx(r) => r.push(chunk),
            Reading::Caffe(_, r) => r.push(chunk),
        }
        .map_err(js_error)
    }

    pub fn finish(&mut self) -> Result<Model, JsError> {
        let model = match self.0.take().ok_or_else(|| JsError::new("the reader has finished"))? {
            Reading::Onnx(r) => r.finish(),
            Reading::Caffe(prototxt, r) => caffe::load_read(&prototxt, r),
        };
        Ok(Model::new(model.map_err(js_error)?))
    }
}

/// SHA-256 of a file fed in chunks: links name local files by their hash.
#[wasm_bindgen]
pub struct Sha256(sha2::Sha256);

#[wasm_bindgen]
impl Sha256 {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Sha256 {
        Sha256(sha2::Sha256::default())
    }

    pub fn update(&mut self, chunk: &[u8]) {
        sha2::Digest::update(&mut self.0, chunk);
    }

    /// The digest in lower-case hex; the hasher starts again empty.
    pub fn hex(&mut self) -> String {
        sha2::Digest::finalize_reset(&mut self.0).iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

// ---- panics: the module is built with panic=abort, so a panic reaches JS as a trap ("unreachable") that
// says nothing. The hook puts its message in `globalThis.wasmPanic` first, read without calling wasm again.

/// Installs the panic hook (once per instance).
#[wasm_bindgen(js_name = recordPanics)]
pub fn record_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.payload_as_str().unwrap_or("(no message)");
        let text = match info.location() {
            Some(at) => format!("{message} (at {}:{})", at.file(), at.line()),
            None => message.to_string(),
        };
        let _ = js_sys::Reflect::set(&js_sys::global(), &"wasmPanic".into(), &text.into());
    }));
}

/// Panics with `message`: the end-to-end tests check that the page recovers.
#[wasm_bindgen(js_name = debugPanic)]
pub fn debug_panic(message: &str) {
    panic!("{message}");
}

// ---- benchmarks (tests/bench): `std::time::Instant` panics on wasm32-unknown-unknown, so the clock is JS's.

#[wasm_bindgen]
extern "C" {
    /// Milliseconds, in a window or a worker.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// Milliseconds per `sgemm` call of C (m×n) = A (m×k) · B (k×n) through `zfvis_core::ops::gemm::sgemm`,
/// one sample per run after a warm-up call; a sample repeats the call until 20 ms have passed, as the
/// clock is coarse in a browser (0.1 ms).
#[wasm_bindgen(js_name = benchSgemm)]
pub fn bench_sgemm(m: usize, k: usize, n: usize, runs: usize) -> Vec<f64> {
    let fill =
        |len: usize, seed: u32| (0..len).map(|i| ((i as u32 ^ seed) % 17) as f32 / 8.0 - 1.0).collect::<Vec<_>>();
    let (a, b, mut c) = (fill(m * k, 5), fill(k * n, 11), vec![0.0; m * n]);
    zfvis_core::ops::gemm::sgemm(m, k, n, &a, &b, &mut c);
    (0..runs.max(1))
        .map(|_| {
            let (start, mut calls) = (performance_now(), 0);
            loop {
                zfvis_core::ops::gemm::sgemm(m, k, n, &a, &b, &mut c);
                calls += 1;
                let elapsed = performance_now() - start;
                if elapsed >= 20.0 {
                    break elapsed / calls as f64;
                }
            }
        })
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeTimeJs {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    conv: bool,
    macs: u64,
    /// Mean over the faster half of the runs.
    ms: f64,
}

#[derive(Serialize)]
struct ProfileJs {
    nodes: Vec<NodeTimeJs>,
    /// Each run's sum over nodes.
    runs: Vec<f64>,
}

/// Bytes of wasm linear memory: it only grows, so this is the peak so far.
/// Activation bytes a batched forward pass keeps at once (see `forwardBatch`).
const GROUP_BYTES: u64 = 1 << 20;

#[wasm_bindgen(js_name = memoryBytes)]
pub fn memory_bytes() -> f64 {
    #[cfg(target_arch = "wasm32")]
    return (core::arch::wasm32::memory_size(0) * 65536) as f64;
    #[cfg(not(target_arch = "wasm32"))]
    0.0
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryJs {
    #[serde(flatten)]
    summary: summary::Summary,
    transform: TransformJs,
    channel_order: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransformJs {
    scale: Option<f32>,
    mean_values: Vec<f32>,
    mean_file: Option<String>,
    crop_size: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TileJs {
    norm: String,
    pad: usize,
    pad_value: f32,
    zoom: usize,
    start: usize,
    count: Option<usize>,
    mode: String,
    channel_order: String,
}

impl TileJs {
    fn options(&self) -> Result<TileOptions, JsError> {
        Ok(TileOptions {
            norm: if self.norm == "tile" { Norm::Tile } else { Norm::Global },
            pad: self.pad,
            pad_value: self.pad_value,
            zoom: self.zoom,
            start: self.start,
            count: self.count,
            mode: match self.mode.as_str() {
                "rgb" => TileMode::Rgb,
                "grey" | "gray" => TileMode::Grey,
                _ => TileMode::Auto,
            },
            channel_order: order(&self.channel_order)?,
        })
    }
}

impl Default for TileJs {
    fn default() -> Self {
        TileJs {
            norm: "global".into(),
            pad: 1,
            pad_value: 1.0,
            zoom: 1,
            start: 0,
            count: None,
            mode: "auto".into(),
            channel_order: "BGR".into(),
        }
    }
}

/// An RGBA image for `ImageData`.
#[derive(Serialize)]
struct ImageJs {
    width: usize,
    height: usize,
    #[serde(with = "serde_bytes_js")]
    rgba: Vec<u8>,
}

impl From<Rgba> for ImageJs {
    fn from(i: Rgba) -> Self {
        ImageJs { width: i.width, height: i.height, rgba: i.data }
    }
}

#[derive(Serialize)]
struct GridJs {
    #[serde(flatten)]
    image: ImageJs,
    tiles: usize,
    grid: usize,
}

impl From<tile::Grid> for GridJs {
    fn from(g: tile::Grid) -> Self {
        GridJs { image: g.image.into(), tiles: g.tiles, grid: g.side }
    }
}

/// Serializes bytes as a Uint8Array instead of an array of numbers.
mod serde_bytes_js {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
}

#[derive(Serialize)]
struct Maximum {
    y: usize,
    x: usize,
    value: f32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MapsJs {
    #[serde(flatten)]
    grid: GridJs,
    map_height: usize,
    map_width: usize,
    maxima: Vec<Maximum>,
}

#[derive(Serialize)]
struct FieldJs {
    y0: isize,
    y1: isize,
    x0: isize,
    x1: isize,
    unit: [usize; 2],
    /// The unit's activation for this image.
    activation: f32,
}

#[derive(Serialize)]
struct ProjectionJs {
    #[serde(flatten)]
    image: ImageJs,
    /// The unit's receptive field in input pixels, clipped to the image.
    field: Option<FieldJs>,
    /// The image as the net saw it, RGBA, same size.
    #[serde(with = "serde_bytes_js")]
    input: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PreprocessJs {
    channel_order: String,
    mean_values: Option<Vec<f32>>,
    scale: f32,
    resize: String,
}

impl PreprocessJs {
    fn to_core(&self, mean_image: Option<Tensor>) -> Result<Preprocess, JsError> {
        Ok(Preprocess {
            channel_order: order(&self.channel_order)?,
            mean_image,
            mean_values: self.mean_values.clone().unwrap_or_default(),
            scale: self.scale,
            resize: if self.resize == "center-crop" { Resize::CenterCrop } else { Resize::Stretch },
        })
    }
}

impl Default for PreprocessJs {
    fn default() -> Self {
        PreprocessJs { channel_order: "BGR".into(), mean_values: None, scale: 1.0, resize: "stretch".into() }
    }
}

#[derive(Serialize)]
struct Ranked {
    index: usize,
    prob: f32,
}

#[derive(Serialize)]
struct PredictionJs {
    probs: Vec<f32>,
    top: Vec<Ranked>,
}

fn order(s: &str) -> Result<ChannelOrder, JsError> {
    s.parse().map_err(js_error)
}

#[wasm_bindgen]
impl Model {
    fn new(inner: CoreModel) -> Model {
        Model { inner, mean: None, last: None, labels: None }
    }

    /// Loads a Caffe prototxt with .caffemodel (V1 or V2) or .caffemodel.h5 weights.
    #[wasm_bindgen(js_name = loadCaffe)]
    pub fn load_caffe(prototxt: &[u8], weights: &[u8]) -> Result<Model, JsError> {
        Ok(Model::new(caffe::load(prototxt, weights).map_err(js_error)?))
    }

    /// Loads a binary .onnx model held in one buffer (see OnnxReader for large files).
    #[wasm_bindgen(js_name = loadOnnx)]
    pub fn load_onnx(bytes: &[u8]) -> Result<Model, JsError> {
        Ok(Model::new(onnx::load(bytes).map_err(js_error)?))
    }

    pub fn summary(&self) -> Result<JsValue, JsError> {
        let t = &self.inner.transform;
        let mut summary = summary::summarize(&self.inner).map_err(js_error)?;
        if self.labels.is_some() {
            summary.labels = self.labels.clone();
        }
        to_js(&SummaryJs {
            summary,
            transform: TransformJs {
                scale: t.scale,
                mean_values: t.mean_values.clone(),
                mean_file: t.mean_file.clone(),
                crop_size: t.crop_size,
            },
            channel_order: match self.inner.default_channel_order() {
                ChannelOrder::Rgb => "RGB",
                ChannelOrder::Bgr => "BGR",
            },
        })
    }

    /// Tiles a layer's filters; see [`TileOptions`].
    pub fn tile(&self, layer: &str, opts: JsValue) -> Result<JsValue, JsError> {
        let o: TileJs = if opts.is_undefined() || opts.is_null() { TileJs::default() } else { from_js(opts)? };
        let node = self.inner.graph.node(layer).ok_or_else(|| JsError::new(&format!("no layer named '{layer}'")))?;
        let weights =
            node.weights().first().ok_or_else(|| JsError::new(&format!("layer '{layer}' has no weights to tile")))?;
        let opts = o.options()?;
        let g = tile::tile_filters(weights, &opts).map_err(|e| js_error(e.context(format!("layer '{layer}'"))))?;
        to_js(&GridJs::from(g))
    }

    /// Uses a mean.binaryproto for pixel-wise mean subtraction in [`Model::predict`].
    #[wasm_bindgen(js_name = setMean)]
    pub fn set_mean(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        self.mean = Some(caffe::read_mean(bytes).map_err(js_error)?);
        Ok(())
    }

    /// Uses a labels file (one class per line, or Caffe's synset_words.txt) for class names; returns
    /// how many it holds.
    #[wasm_bindgen(js_name = setLabels)]
    pub fn set_labels(&mut self, text: &str) -> usize {
        let names = zfvis_core::labels::parse(text);
        let n = names.len();
        self.labels = Some(names);
        n
    }

    #[wasm_bindgen(js_name = clearMean)]
    pub fn clear_mean(&mut self) {
        self.mean = None;
    }

    /// The inputs of the last forward pass (a classified image or a bench input), else zeros of the
    /// model's input shapes.
    fn bench_inputs(&self) -> Vec<Tensor> {
        let g = &self.inner.graph;
        match &self.last {
            Some((acts, _)) => g.inputs.iter().map(|(id, _)| acts.values[*id].clone()).collect(),
            None => g.default_input_shapes().iter().map(|s| Tensor::zeros(zfvis_core::ndarray::IxDyn(s))).collect(),
        }
    }

    /// A forward pass over `n` inputs at once (`data`: the first input's values for each, one after
    /// another, at its batch-1 shape), kept nowhere; returns the named values (layer or tensor names), each
    /// for the whole batch, as Float32Arrays. Batch jobs (occlusion, top-k) run on it, sharded over workers.
    #[wasm_bindgen(js_name = forwardBatch)]
    pub fn forward_batch(&self, data: Vec<f32>, n: usize, names: Vec<String>) -> Result<js_sys::Array, JsError> {
        let g = &self.inner.graph;
        let shapes = g.default_input_shapes();
        let [shape] = shapes.as_slice() else {
            return Err(JsError::new(&format!("the model has {} inputs; batches feed one", shapes.len())));
        };
        let ids = names
            .iter()
            .map(|name| g.value_id(name).ok_or_else(|| JsError::new(&format!("no layer or value named '{name}'"))))
            .collect::<Result<Vec<_>, _>>()?;
        let one: usize = shape.iter().product();
        if n == 0 || data.len() != n * one {
            return Err(JsError::new(&format!(
                "a batch of {n} needs {} values ({one} per input), not {}",
                n * one,
                data.len()
            )));
        }
        // Groups of images whose activations together stay within the core's cache (layer by layer over
        // a large batch runs from memory instead); dense layers still read their weights once per group.
        let shapes = engine::infer_shapes(g, &shapes).map_err(js_error)?;
        let per_image: u64 = g.nodes.iter().map(|node| zfvis_core::analysis::activation_bytes(node, &shapes)).sum();
        let group = ((GROUP_BYTES / per_image.max(1)) as usize).clamp(1, n);
        let mut outs: Vec<Vec<f32>> = vec![Vec::new(); ids.len()];
        for (start, chunk) in data.chunks(group * one).enumerate().map(|(i, c)| (i * group, c)) {
            let mut batch_shape = shape.clone();
            batch_shape[0] = chunk.len() / one;
            let input = Tensor::from_shape_vec(zfvis_core::ndarray::IxDyn(&batch_shape), chunk.to_vec())
                .map_err(|e| JsError::new(&e.to_string()))?;
            let acts = engine::forward(g, vec![input]).map_err(|e| js_error(e.context(format!("images from {start}"))))?;
            for (out, &id) in outs.iter_mut().zip(&ids) {
                out.extend(acts.values[id].iter().copied());
            }
        }
        Ok(outs.iter().map(|o| js_sys::Float32Array::from(o.as_slice())).collect())
    }

    /// One forward pass, for benchmarks: on the last forward pass's input (see `setBenchInput`), else on
    /// zeros of the model's input shape.
    #[wasm_bindgen(js_name = runForward)]
    pub fn run_forward(&self) -> Result<(), JsError> {
        engine::forward(&self.inner.graph, self.bench_inputs()).map(|_| ()).map_err(js_error)
    }

    /// For benchmarks: a forward pass on `data` (the first input's values at its batch-1 shape, row-major),
    /// kept as the last forward pass (for projections) as predict keeps an image's; returns the last
    /// node's first output.
    #[wasm_bindgen(js_name = setBenchInput)]
    pub fn set_bench_input(&mut self, data: Vec<f32>) -> Result<Vec<f32>, JsError> {
        let g = &self.inner.graph;
        let shapes = g.default_input_shapes();
        if shapes.len() != 1 {
            return Err(JsError::new(&format!("the model has {} inputs; benchmarks feed one", shapes.len())));
        }
        let shape = &shapes[0];
        let input = Tensor::from_shape_vec(zfvis_core::ndarray::IxDyn(shape), data)
            .map_err(|_| JsError::new(&format!("the input must have {} values", shape.iter().product::<usize>())))?;
        let acts = engine::forward(g, vec![input]).map_err(js_error)?;
        let out = acts.values[g.nodes.last().expect("a graph has nodes").outputs[0]].iter().copied().collect();
        let (h, w) = (shape.get(2).copied().unwrap_or(1), shape.get(3).copied().unwrap_or(1));
        self.last = Some((acts, Rgba { width: w, height: h, data: vec![0; 4 * w * h] }));
        Ok(out)
    }

    /// For benchmarks: `runs` forward passes (as `runForward`) timed node by node with `performance.now()`:
    /// {nodes: [{name, type, conv, macs, ms (mean over the faster half of the runs)}], runs: [each run's sum]}.
    #[wasm_bindgen(js_name = profileForward)]
    pub fn profile_forward(&self, runs: usize) -> Result<JsValue, JsError> {
        let g = &self.inner.graph;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            times.push(engine::forward_timed(g, self.bench_inputs(), &mut performance_now).map_err(js_error)?.1);
        }
        // Each node's mean over the faster half of the runs (by their sum): runs slowed down by something
        // else drop out, and the mean keeps the coarse clock (0.1 ms, with jitter) from biasing the times.
        let total = |t: &Vec<f64>| t.iter().sum::<f64>();
        let mut kept: Vec<&Vec<f64>> = times.iter().collect();
        kept.sort_by(|a, b| total(a).total_cmp(&total(b)));
        kept.truncate(times.len().div_ceil(2));
        let shapes = engine::infer_shapes(g, &g.default_input_shapes()).map_err(js_error)?;
        let nodes = g
            .nodes
            .iter()
            .enumerate()
            .map(|(j, n)| NodeTimeJs {
                name: n.name.clone(),
                type_name: n.type_name.clone(),
                conv: matches!(n.op, zfvis_core::ops::Op::Conv(_)),
                macs: zfvis_core::analysis::macs(n, &shapes),
                ms: kept.iter().map(|t| t[j]).sum::<f64>() / kept.len() as f64,
            })
            .collect();
        to_js(&ProfileJs { nodes, runs: times.iter().map(total).collect() })
    }

    /// One deconvnet projection from the strongest unit of `layer`'s first channel on the last image's
    /// forward pass, for benchmarks.
    #[wasm_bindgen(js_name = runProjection)]
    pub fn run_projection(&self, layer: &str) -> Result<(), JsError> {
        let (acts, _) = self.last()?;
        let target = Target { value: layer.to_string(), channel: 0, unit: Unit::Max };
        projection::project(&self.inner.graph, acts, &target, Method::Deconvnet, Options::default())
            .map(|_| ())
            .map_err(js_error)
    }

    /// Classifies decoded RGBA pixels; returns all probabilities and the top 5. The forward pass is kept
    /// for activations, projections and Grad-CAM.
    pub fn predict(&mut self, rgba: &[u8], width: usize, height: usize, pre: JsValue) -> Result<JsValue, JsError> {
        let pre = self.preprocess(pre)?;
        let g = &self.inner.graph;
        let input_shape = g.default_input_shapes().remove(0);
        let blob = preprocess::to_blob(&Pixels { rgba, width, height }, &input_shape, &pre).map_err(js_error)?;
        let acts = engine::forward(g, vec![blob]).map_err(js_error)?;
        let probs: Vec<f32> = occlusion::probabilities(g, &acts).map_err(js_error)?.iter().copied().collect();
        let top = preprocess::top_k(&probs, 5).into_iter().map(|(index, prob)| Ranked { index, prob }).collect();
        let seen = preprocess::fit_rgba(&Pixels { rgba, width, height }, input_shape[2], input_shape[3], pre.resize);
        self.last = Some((acts, seen));
        to_js(&PredictionJs { probs, top })
    }

    fn last(&self) -> Result<&(Activations, Rgba), JsError> {
        self.last.as_ref().ok_or_else(|| JsError::new("classify an image first"))
    }

    /// The channels of a layer's output for the last image, tiled as grey maps, with each channel's
    /// strongest unit.
    pub fn activations(&self, layer: &str, opts: JsValue) -> Result<JsValue, JsError> {
        let (acts, _) = self.last()?;
        let o: TileJs = if opts.is_undefined() || opts.is_null() { TileJs::default() } else { from_js(opts)? };
        let a = acts.get(&self.inner.graph, layer).ok_or_else(|| JsError::new(&format!("no layer named '{layer}'")))?;
        let s = a.shape().to_vec();
        if s.len() != 4 {
            return Err(JsError::new(&format!(
                "'{layer}' has no feature maps (shape {})",
                zfvis_core::ops::fmt_shape(&s)
            )));
        }
        let maps = a.index_axis(zfvis_core::ndarray::Axis(0), 0).to_owned().into_dyn();
        let opts = TileOptions { mode: TileMode::Grey, ..o.options()? };
        let g = tile::tile_maps(&maps, &opts).map_err(js_error)?;
        let maxima = projection::channel_maxima(a)
            .map_err(js_error)?
            .into_iter()
            .map(|((y, x), value)| Maximum { y, x, value })
            .collect();
        to_js(&MapsJs { grid: GridJs::from(g), map_height: s[2], map_width: s[3], maxima })
    }

    /// Projects a unit ("max", "map" or [y, x]) of one channel to input space for the last image.
    /// `method`: deconvnet, guided or saliency. Returns the rendered projection, the receptive field of
    /// the unit (for "max" and [y, x]) and the image as the net saw it.
    pub fn project(
        &self,
        layer: &str,
        channel: usize,
        unit: JsValue,
        method: &str,
        render_as: &str,
        lrn_gradient: bool,
    ) -> Result<JsValue, JsError> {
        let (acts, seen) = self.last()?;
        let g = &self.inner.graph;
        let unit = if let Some(s) = unit.as_string() {
            match s.as_str() {
                "map" => Unit::Map,
                _ => Unit::Max,
            }
        } else {
            let yx: [usize; 2] = from_js(unit)?;
            Unit::At(yx[0], yx[1])
        };
        let method = match method {
            "guided" => Method::GuidedBackprop,
            "saliency" => Method::Saliency,
            _ => Method::Deconvnet,
        };
        let target = Target { value: layer.to_string(), channel, unit };
        let opts = Options { lrn_gradient, ..Options::default() };
        let p = projection::project(g, acts, &target, method, opts).map_err(js_error)?;
        let img = match render_as {
            "signed" => render::signed(&p),
            _ => render::paper(&p, self.inner.default_channel_order()),
        }
        .map_err(js_error)?;
        let a = acts.get(g, layer).expect("projected");
        let at = match unit {
            Unit::At(y, x) => Some((y, x)),
            Unit::Max => Some(projection::channel_maxima(a).map_err(js_error)?[channel].0),
            Unit::Map => None,
        };
        let field = match at {
            Some((y, x)) => {
                let r =
                    receptive_field::receptive_field(g, layer, y, x).map_err(js_error)?.clip(seen.height, seen.width);
                let activation = a[[0, channel, y, x].as_slice()];
                Some(FieldJs { y0: r.y0, y1: r.y1, x0: r.x0, x1: r.x1, unit: [y, x], activation })
            }
            None => None,
        };
        to_js(&ProjectionJs { image: img.into(), field, input: seen.data.clone() })
    }

    /// Grad-CAM of `class` at `layer` for the last image, as a heat map over the image the net saw.
    #[wasm_bindgen(js_name = gradCam)]
    pub fn grad_cam(&self, layer: &str, class: usize) -> Result<JsValue, JsError> {
        let (acts, seen) = self.last()?;
        let cam = gradcam::grad_cam(&self.inner.graph, acts, layer, class).map_err(js_error)?;
        let img = render::heat_overlay(&cam, seen, 0.5).map_err(js_error)?;
        to_js(&ImageJs::from(img))
    }
}
