//! Correspondence analysis (Zeiler & Fergus 2014, Table 1) for the page: the images as the net sees them (to
//! mark a rectangle on each), and Δ per layer for some of the placements (0: the marked rectangles; d ≥ 1:
//! random draw d, as `correspondence::table` numbers them), so that the draws can be sharded over workers.

use crate::jobs::{FillJs, Images};
use crate::{from_js, js_error, to_js, ImageJs, Model, GROUP_BYTES};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use zfvis_core::preprocess::{self, Preprocess};
use zfvis_core::vis::correspondence::{self, Rect};
use zfvis_core::vis::occlusion::Fill;
use zfvis_core::Tensor;

#[derive(Deserialize)]
struct RectJs {
    y: usize,
    x: usize,
    height: usize,
    width: usize,
}

#[derive(Serialize)]
struct DeltasJs {
    layers: Vec<String>,
    /// Length of each layer's flattened output per image.
    lens: Vec<usize>,
    /// Image pairs, n(n−1)/2.
    pairs: usize,
    /// The placements computed, as asked.
    draws: Vec<u32>,
    /// `[layer][draw]`: Δ = Σ_{i<j} Hamming(sign ε_i, sign ε_j).
    deltas: Vec<Vec<u64>>,
}

/// A seed from JS: a whole number from 0 to 2⁵³.
fn seed(v: f64) -> Result<u64, JsError> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_992.0 {
        Ok(v as u64)
    } else {
        Err(JsError::new(&format!("the seed must be a whole number from 0 to 2^53, not {v}")))
    }
}

impl Model {
    /// Every image of the shard as a 1×C×H×W input, the rectangles (one per image) and the fill
    /// (default: the mean).
    fn marked(
        &self,
        images: &Images,
        rects: JsValue,
        fill: JsValue,
        pre: &Preprocess,
    ) -> Result<(Vec<Tensor>, Vec<Rect>, Fill), JsError> {
        let rects: Vec<RectJs> = from_js(rects)?;
        let n = images.length();
        if rects.len() != n {
            return Err(JsError::new(&format!("{} rectangles given for {n} images: one per image", rects.len())));
        }
        let inputs = (0..n).map(|i| self.batch(images, i..i + 1, pre)).collect::<Result<Vec<_>, _>>()?;
        let rects = rects.into_iter().map(|r| Rect { y: r.y, x: r.x, height: r.height, width: r.width }).collect();
        let first = inputs.first().ok_or_else(|| JsError::new("correspondence needs at least 2 images, got 0"))?;
        let fill: FillJs =
            if fill.is_undefined() || fill.is_null() { FillJs::Named("mean".into()) } else { from_js(fill)? };
        let fill = self.fill(fill, first, pre)?;
        Ok((inputs, rects, fill))
    }
}

#[wasm_bindgen]
impl Model {
    /// The shard's images as the net sees them (resized or cropped to the input size), as RGBA: [{width,
    /// height, rgba}].
    #[wasm_bindgen(js_name = fitImages)]
    pub fn fit_images(&self, images: &Images, pre: JsValue) -> Result<JsValue, JsError> {
        let pre = self.preprocess(pre)?;
        let shape = self.image_shape()?;
        let out = (0..images.length())
            .map(|i| Ok(preprocess::fit_rgba(&images.pixels(i)?, shape[2], shape[3], pre.resize).into()))
            .collect::<Result<Vec<ImageJs>, JsError>>()?;
        to_js(&out)
    }

    /// Δ at each of `layers` for the shard's images (at least 2), with `rects` [{y, x, height, width}] (one
    /// per image, in input pixels) hidden under `fill`, for each placement in `draws`: 0 for the rectangles,
    /// d ≥ 1 for the same sizes placed at random with seed `seed + d − 1` (as the core's table draws them).
    /// {layers, lens, pairs, draws, deltas: [layer][draw]}.
    #[allow(clippy::too_many_arguments)]
    pub fn correspondence(
        &self,
        images: &Images,
        rects: JsValue,
        layers: Vec<String>,
        fill: JsValue,
        draws: Vec<u32>,
        seed_value: f64,
        pre: JsValue,
    ) -> Result<JsValue, JsError> {
        let seed = seed(seed_value)?;
        let pre = self.preprocess(pre)?;
        let (inputs, rects, fill) = self.marked(images, rects, fill, &pre)?;
        let g = &self.inner.graph;
        let first = &inputs[0];
        let (h, w) = (first.shape()[2], first.shape()[3]);
        let names: Vec<&str> = layers.iter().map(String::as_str).collect();
        if inputs.len() < 2 {
            return Err(JsError::new(&format!("correspondence needs at least 2 images, got {}", inputs.len())));
        }
        if names.is_empty() {
            return Err(JsError::new("no layers given"));
        }
        for (i, r) in rects.iter().enumerate() {
            r.check(h, w).map_err(|e| js_error(format!("image {i}: {e}")))?;
        }
        let originals = correspondence::features(g, &inputs, &names, GROUP_BYTES).map_err(js_error)?;
        let mut deltas = vec![Vec::with_capacity(draws.len()); names.len()];
        for &d in &draws {
            let placed = match d {
                0 => rects.clone(),
                _ => correspondence::random_rects(seed.wrapping_add(d as u64 - 1), &rects, h, w).map_err(js_error)?,
            };
            let hidden = inputs
                .iter()
                .zip(&placed)
                .enumerate()
                .map(|(i, (x, r))| {
                    correspondence::occlude(x, r, &fill).map_err(|e| js_error(format!("image {i}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let occluded = correspondence::features(g, &hidden, &names, GROUP_BYTES).map_err(js_error)?;
            for (l, (orig, occ)) in originals.iter().zip(occluded).enumerate() {
                let eps: Vec<Vec<f32>> =
                    orig.iter().zip(occ).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x - y).collect()).collect();
                deltas[l].push(correspondence::delta(&eps));
            }
        }
        let n = inputs.len();
        to_js(&DeltasJs {
            lens: originals.iter().map(|o| o.first().map_or(0, Vec::len)).collect(),
            layers,
            pairs: n * (n - 1) / 2,
            draws,
            deltas,
        })
    }

    /// The whole table in one call, as the core computes it: {rows: [{layer, len, pairs, parts, normalised,
    /// random, randomMean, randomStd}], draws, seed}.
    #[wasm_bindgen(js_name = correspondenceTable)]
    #[allow(clippy::too_many_arguments)]
    pub fn correspondence_table(
        &self,
        images: &Images,
        rects: JsValue,
        layers: Vec<String>,
        fill: JsValue,
        random_draws: usize,
        seed_value: f64,
        pre: JsValue,
    ) -> Result<JsValue, JsError> {
        let seed = seed(seed_value)?;
        let pre = self.preprocess(pre)?;
        let (inputs, rects, fill) = self.marked(images, rects, fill, &pre)?;
        let names: Vec<&str> = layers.iter().map(String::as_str).collect();
        let t = correspondence::table(&self.inner.graph, &inputs, &rects, &names, &fill, random_draws, seed)
            .map_err(js_error)?;
        to_js(&TableJs {
            rows: t
                .rows
                .into_iter()
                .map(|r| RowJs {
                    layer: r.layer,
                    len: r.len,
                    pairs: r.pairs,
                    parts: r.parts,
                    normalised: r.normalised,
                    random: r.random,
                    random_mean: r.random_mean,
                    random_std: r.random_std,
                })
                .collect(),
            draws: t.draws,
            seed: t.seed,
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RowJs {
    layer: String,
    len: usize,
    pairs: usize,
    parts: u64,
    normalised: f64,
    random: Vec<u64>,
    random_mean: f64,
    random_std: f64,
}

#[derive(Serialize)]
struct TableJs {
    rows: Vec<RowJs>,
    draws: usize,
    seed: u64,
}
