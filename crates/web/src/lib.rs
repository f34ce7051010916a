//! wasm-bindgen bindings: load a model from bytes, describe it, tile filters, predict.
//! Errors reach JS as `Error` exceptions carrying the core's message.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use zfvis_core::formats::{caffe, Model as CoreModel};
use zfvis_core::preprocess::{self, Pixels, Preprocess, Resize};
use zfvis_core::vis::tile::{self, Norm, TileMode, TileOptions};
use zfvis_core::vis::ChannelOrder;
use zfvis_core::{engine, summary, Tensor};

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

#[derive(Serialize)]
struct GridJs {
    width: usize,
    height: usize,
    #[serde(with = "serde_bytes_js")]
    rgba: Vec<u8>,
    tiles: usize,
    grid: usize,
}

/// Serializes bytes as a Uint8Array instead of an array of numbers.
mod serde_bytes_js {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PreprocessJs {
    channel_order: String,
    mean_values: Option<Vec<f32>>,
    scale: f32,
    resize: String,
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
    /// Loads a Caffe prototxt with .caffemodel (V1 or V2) or .caffemodel.h5 weights.
    #[wasm_bindgen(js_name = loadCaffe)]
    pub fn load_caffe(prototxt: &[u8], weights: &[u8]) -> Result<Model, JsError> {
        Ok(Model { inner: caffe::load(prototxt, weights).map_err(js_error)?, mean: None })
    }

    pub fn summary(&self) -> Result<JsValue, JsError> {
        let t = &self.inner.transform;
        to_js(&SummaryJs {
            summary: summary::summarize(&self.inner).map_err(js_error)?,
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
            node.weights.first().ok_or_else(|| JsError::new(&format!("layer '{layer}' has no weights to tile")))?;
        let opts = TileOptions {
            norm: if o.norm == "tile" { Norm::Tile } else { Norm::Global },
            pad: o.pad,
            pad_value: o.pad_value,
            zoom: o.zoom,
            start: o.start,
            count: o.count,
            mode: match o.mode.as_str() {
                "rgb" => TileMode::Rgb,
                "grey" | "gray" => TileMode::Grey,
                _ => TileMode::Auto,
            },
            channel_order: order(&o.channel_order)?,
        };
        let g = tile::tile_filters(weights, &opts).map_err(|e| js_error(e.context(format!("layer '{layer}'"))))?;
        to_js(&GridJs {
            width: g.image.width,
            height: g.image.height,
            rgba: g.image.data,
            tiles: g.tiles,
            grid: g.side,
        })
    }

    /// Uses a mean.binaryproto for pixel-wise mean subtraction in [`Model::predict`].
    #[wasm_bindgen(js_name = setMean)]
    pub fn set_mean(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        self.mean = Some(caffe::read_mean(bytes).map_err(js_error)?);
        Ok(())
    }

    #[wasm_bindgen(js_name = clearMean)]
    pub fn clear_mean(&mut self) {
        self.mean = None;
    }

    /// One forward pass on a zero input of the model's input shape, for benchmarks.
    #[wasm_bindgen(js_name = runForward)]
    pub fn run_forward(&self) -> Result<(), JsError> {
        let g = &self.inner.graph;
        let inputs = g.default_input_shapes().iter().map(|s| Tensor::zeros(zfvis_core::ndarray::IxDyn(s))).collect();
        engine::forward(g, inputs).map(|_| ()).map_err(js_error)
    }

    /// Classifies decoded RGBA pixels; returns all probabilities and the top 5.
    pub fn predict(&self, rgba: &[u8], width: usize, height: usize, pre: JsValue) -> Result<JsValue, JsError> {
        let p: PreprocessJs = if pre.is_undefined() || pre.is_null() { PreprocessJs::default() } else { from_js(pre)? };
        let pre = Preprocess {
            channel_order: order(&p.channel_order)?,
            mean_image: self.mean.clone(),
            mean_values: p.mean_values.unwrap_or_default(),
            scale: p.scale,
            resize: if p.resize == "center-crop" { Resize::CenterCrop } else { Resize::Stretch },
        };
        let g = &self.inner.graph;
        let input_shape = g.default_input_shapes().remove(0);
        let blob = preprocess::to_blob(&Pixels { rgba, width, height }, &input_shape, &pre).map_err(js_error)?;
        let acts = engine::forward(g, vec![blob]).map_err(js_error)?;
        let last = g.nodes.last().expect("a graph has nodes").outputs[0];
        let probs: Vec<f32> = acts.values[last].iter().copied().collect();
        let top = preprocess::top_k(&probs, 5).into_iter().map(|(index, prob)| Ranked { index, prob }).collect();
        to_js(&PredictionJs { probs, top })
    }
}
