//! Invariance curves (Zeiler & Fergus 2014, Fig. 5) for the page. A call is one shard: one image at some of
//! the transform values. Each shard runs the original image again for its reference (one forward pass),
//! so the shards are independent; the page appends their values.

use crate::jobs::Images;
use crate::{js_error, to_js, ImageJs, Model, GROUP_BYTES};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use zfvis_core::preprocess::{self, Pixels, Preprocess};
use zfvis_core::vis::invariance::{self, Kind, Reference};
use zfvis_core::vis::{ChannelOrder, Rgba};
use zfvis_core::Tensor;

#[derive(Serialize)]
struct DefaultsJs {
    /// The layers Fig. 5 follows: the first convolution's output and the last hidden layer.
    layers: Vec<String>,
    translate: Vec<f32>,
    scale: Vec<f32>,
    rotate: Vec<f32>,
}

#[derive(Serialize)]
struct CurvesJs {
    kind: &'static str,
    values: Vec<f32>,
    layers: Vec<String>,
    /// `[layer][value]`: Euclidean distance between the layer's outputs for the original and the transformed image.
    distances: Vec<Vec<f32>>,
    /// Probability of `class` for each transformed image.
    prob: Vec<f32>,
    class: usize,
    /// Each transformed image as the net sees it, when asked for.
    thumbnails: Vec<ImageJs>,
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Translate => "translate",
        Kind::Scale => "scale",
        Kind::Rotate => "rotate",
    }
}

#[wasm_bindgen]
impl Model {
    /// {layers, translate, scale, rotate}: the layers Fig. 5 follows and each kind's default values for the
    /// model's input size (pixels, factors, degrees).
    #[wasm_bindgen(js_name = invarianceDefaults)]
    pub fn invariance_defaults(&self) -> Result<JsValue, JsError> {
        let shape = self.image_shape()?;
        let (h, w) = (shape[2], shape[3]);
        to_js(&DefaultsJs {
            layers: invariance::default_layers(&self.inner.graph),
            translate: Kind::Translate.default_values(h, w),
            scale: Kind::Scale.default_values(h, w),
            rotate: Kind::Rotate.default_values(h, w),
        })
    }

    /// The curves of the shard's first image for `kind` (translate, scale or rotate) at `values`: the
    /// distance at each of `layers` and the probability of `class` (default: the original's top-1):
    /// {kind, values, layers, distances: [layer][value], prob, class, thumbnails}. With `thumbnails`, each
    /// transformed image rendered back to RGBA as the net sees it (the mean where the image moved away).
    #[allow(clippy::too_many_arguments)]
    pub fn invariance(
        &self,
        images: &Images,
        kind: &str,
        values: Vec<f32>,
        layers: Vec<String>,
        class: Option<usize>,
        thumbnails: bool,
        pre: JsValue,
    ) -> Result<JsValue, JsError> {
        let kind: Kind = kind.parse().map_err(js_error)?;
        if values.is_empty() {
            return Err(JsError::new("no transform values given"));
        }
        if layers.is_empty() {
            return Err(JsError::new("no layers given"));
        }
        let pre = self.preprocess(pre)?;
        let g = &self.inner.graph;
        let image = self.batch(images, 0..1, &pre)?;
        let names: Vec<&str> = layers.iter().map(String::as_str).collect();
        let reference = Reference::new(g, &image, &names, class).map_err(js_error)?;
        let curves =
            invariance::sweep_values(g, &image, &reference, kind, &values, GROUP_BYTES).map_err(js_error)?;
        let thumbnails = if thumbnails {
            let zero = self.zero_blob(&image, &pre)?;
            values
                .iter()
                .map(|&v| {
                    let t = invariance::apply(&image, &kind.transform(v)).map_err(js_error)?;
                    Ok(as_seen(&t, &zero, &pre).into())
                })
                .collect::<Result<Vec<ImageJs>, JsError>>()?
        } else {
            vec![]
        };
        to_js(&CurvesJs {
            kind: kind_name(curves.kind),
            values: curves.values,
            layers: curves.layers,
            distances: curves.distances,
            prob: curves.prob,
            class: curves.class,
            thumbnails,
        })
    }
}

impl Model {
    /// The input a black image gives, −mean × scale: pixels are (input − this) / scale.
    fn zero_blob(&self, like: &Tensor, pre: &Preprocess) -> Result<Tensor, JsError> {
        let (h, w) = (like.shape()[2], like.shape()[3]);
        let rgba: Vec<u8> = [0, 0, 0, 255].repeat(h * w);
        preprocess::to_blob(&Pixels { rgba: &rgba, width: w, height: h }, like.shape(), pre).map_err(js_error)
    }
}

/// A 1×C×H×W input (C = 1 or 3) back to RGBA pixels: (input − zero) / scale per plane, in display order.
fn as_seen(input: &Tensor, zero: &Tensor, pre: &Preprocess) -> Rgba {
    let s = input.shape();
    let (c, h, w) = (s[1], s[2], s[3]);
    let scale = if pre.scale != 0.0 { pre.scale } else { 1.0 };
    let plane = |k: usize, i: usize| {
        let (y, x) = (i / w, i % w);
        let v = (input[[0, k, y, x]] - zero[[0, k, y, x]]) / scale;
        v.round().clamp(0.0, 255.0) as u8
    };
    // The planes holding red, green and blue.
    let rgb = match (c, pre.channel_order) {
        (1, _) => [0, 0, 0],
        (_, ChannelOrder::Rgb) => [0, 1, 2],
        (_, ChannelOrder::Bgr) => [2, 1, 0],
    };
    let data = (0..h * w).flat_map(|i| [plane(rgb[0], i), plane(rgb[1], i), plane(rgb[2], i), 255]).collect();
    Rgba { width: w, height: h, data }
}
