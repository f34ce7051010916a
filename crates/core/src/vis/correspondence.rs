//! Correspondence analysis (Zeiler & Fergus 2014, Section 5, Table 1): does a layer change in the same way
//! when the same part of different images is hidden?
//!
//! For images x_1…x_n with a rectangle each, ε_i = f_l(x_i) − f_l(x_i occluded at its rectangle), and
//! Δ_l = Σ_{i<j} H(sign ε_i, sign ε_j), H counting the positions where the three-valued signs (−1, 0, +1)
//! differ. The paper sums over i ≠ j, which counts each pair twice; [`Row::normalised`] divides by the
//! number of pairs and the feature length, so it reads the same either way. Lower means more consistent.
//! The control hides randomly placed rectangles of the same sizes.

use crate::engine;
use crate::graph::{Graph, ValueId};
use crate::ops::fmt_shape;
use crate::vis::occlusion::{batch_size, Fill, BATCH_BYTES};
use crate::{bail, Error, Result, Tensor};
use ndarray::{s, Axis};
use serde::Serialize;
use std::cmp::Ordering;
use std::ops::Range;

/// A rectangle of pixels: rows y..y+height, columns x..x+width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rect {
    pub y: usize,
    pub x: usize,
    pub height: usize,
    pub width: usize,
}

impl Rect {
    /// Refuses an empty rectangle or one not fully inside an H×W image.
    pub fn check(&self, height: usize, width: usize) -> Result<()> {
        let r = self;
        if r.height == 0 || r.width == 0 {
            bail!(input, "rectangle {}×{} at ({}, {}) is empty", r.height, r.width, r.y, r.x);
        }
        if r.y + r.height > height || r.x + r.width > width {
            bail!(
                input,
                "rectangle {}×{} at ({}, {}) is not inside the {height}×{width} image",
                r.height,
                r.width,
                r.y,
                r.x
            );
        }
        Ok(())
    }
}

/// The image (1×C×H×W) with `rect` set to `fill`.
pub fn occlude(image: &Tensor, rect: &Rect, fill: &Fill) -> Result<Tensor> {
    let &[1, c, h, w] = image.shape() else {
        bail!(input, "occlusion needs one image as 1×C×H×W, got {}", fmt_shape(image.shape()))
    };
    rect.check(h, w)?;
    let fill = match fill {
        Fill::Value(v) => vec![*v; c],
        Fill::PerChannel(v) if v.len() == c => v.clone(),
        Fill::PerChannel(v) => bail!(input, "{} fill values given for an image with {c} channels", v.len()),
    };
    let mut out = image.clone();
    for (k, &f) in fill.iter().enumerate() {
        out.slice_mut(s![0, k, rect.y..rect.y + rect.height, rect.x..rect.x + rect.width]).fill(f);
    }
    Ok(out)
}

/// Three-valued sign: −1, 0 or +1 (0 only for an exact zero).
pub fn sign(v: f32) -> i8 {
    match v.partial_cmp(&0.0) {
        Some(Ordering::Greater) => 1,
        Some(Ordering::Less) => -1,
        _ => 0,
    }
}

/// Δ for one layer: Σ_{i<j} of the number of positions where sign ε_i and sign ε_j differ.
pub fn delta(eps: &[Vec<f32>]) -> u64 {
    let signs: Vec<Vec<i8>> = eps.iter().map(|e| e.iter().map(|&v| sign(v)).collect()).collect();
    delta_of_signs(&signs)
}

fn delta_of_signs(signs: &[Vec<i8>]) -> u64 {
    let mut d = 0;
    for (i, a) in signs.iter().enumerate() {
        for b in &signs[i + 1..] {
            d += a.iter().zip(b).filter(|(p, q)| p != q).count() as u64;
        }
    }
    d
}

/// Checks the images (at least 2, each 1×C×H×W, one shape), one rectangle per image inside it, and the
/// layers; returns the image shape and the layers' values with their names.
fn validate<'a>(
    graph: &Graph,
    images: &[Tensor],
    rects: &[Rect],
    layers: &[&'a str],
) -> Result<(Vec<usize>, Vec<Named<'a>>)> {
    if images.len() < 2 {
        bail!(input, "correspondence needs at least 2 images, got {}", images.len());
    }
    if rects.len() != images.len() {
        bail!(input, "{} rectangles given for {} images: one per image", rects.len(), images.len());
    }
    let shape = images[0].shape().to_vec();
    if shape.len() != 4 || shape[0] != 1 {
        bail!(input, "correspondence needs images as 1×C×H×W, got {}", fmt_shape(&shape));
    }
    for (i, (im, r)) in images.iter().zip(rects).enumerate() {
        if im.shape() != shape.as_slice() {
            bail!(
                input,
                "image {i} is {}, image 0 is {}: all must have one shape",
                fmt_shape(im.shape()),
                fmt_shape(&shape)
            );
        }
        r.check(shape[2], shape[3]).map_err(|e| Error::input(format!("image {i}: {e}")))?;
    }
    if layers.is_empty() {
        bail!(input, "no layers given");
    }
    let values = resolve(graph, layers)?.into_iter().zip(layers.iter().copied()).collect();
    Ok((shape, values))
}

/// A layer's value and its name.
type Named<'a> = (ValueId, &'a str);

/// The values of the named layers.
fn resolve(graph: &Graph, layers: &[&str]) -> Result<Vec<ValueId>> {
    layers
        .iter()
        .map(|&l| graph.value_id(l).ok_or_else(|| Error::input(format!("no layer or value named '{l}'"))))
        .collect()
}

/// Runs the images `make(k)` for k in `jobs` through the graph, `step` at a time, and hands each image's
/// flattened output at each of `values` (id, name) to `take(k, index in values, output)`.
fn run(
    graph: &Graph,
    step: usize,
    jobs: Range<usize>,
    make: impl Fn(usize) -> Result<Tensor>,
    values: &[Named],
    mut take: impl FnMut(usize, usize, &[f32]),
) -> Result<()> {
    for first in jobs.clone().step_by(step.max(1)) {
        let chunk = first..(first + step.max(1)).min(jobs.end);
        let images = chunk.clone().map(&make).collect::<Result<Vec<_>>>()?;
        let views: Vec<_> = images.iter().map(|t| t.view()).collect();
        let batch = ndarray::concatenate(Axis(0), &views).map_err(|e| Error::input(e.to_string()))?;
        let acts = engine::forward(graph, vec![batch])?;
        for (l, &(id, name)) in values.iter().enumerate() {
            let a = acts.values[id].as_standard_layout();
            if a.shape().first() != Some(&chunk.len()) {
                bail!(input, "layer '{name}' gives {} for a batch of {}", fmt_shape(a.shape()), chunk.len());
            }
            for (k, out) in chunk.clone().zip(a.outer_iter()) {
                take(k, l, out.as_slice().expect("standard layout"));
            }
        }
    }
    Ok(())
}

/// The images' (each 1×C×H×W, one shape) flattened outputs at each layer, in batches within `budget`
/// bytes of activations: `[layer][image]`.
pub fn features(graph: &Graph, images: &[Tensor], layers: &[&str], budget: u64) -> Result<Vec<Vec<Vec<f32>>>> {
    let Some(first) = images.first() else { return Ok(vec![vec![]; layers.len()]) };
    let shape = first.shape();
    if shape.len() != 4 || shape[0] != 1 {
        bail!(input, "images must be 1×C×H×W, got {}", fmt_shape(shape));
    }
    if let Some(i) = images.iter().position(|im| im.shape() != shape) {
        bail!(
            input,
            "image {i} is {}, image 0 is {}: all must have one shape",
            fmt_shape(images[i].shape()),
            fmt_shape(shape)
        );
    }
    let values: Vec<_> = resolve(graph, layers)?.into_iter().zip(layers.iter().copied()).collect();
    let mut out = vec![vec![vec![]; images.len()]; layers.len()];
    let step = batch_size(graph, shape, budget)?;
    run(graph, step, 0..images.len(), |k| Ok(images[k].clone()), &values, |k, l, f| out[l][k] = f.to_vec())?;
    Ok(out)
}

/// ε_i = f_l(x_i) − f_l(x_i occluded at `rects[i]`) for each layer: `[layer][image]`, flattened.
pub fn differences(
    graph: &Graph,
    images: &[Tensor],
    rects: &[Rect],
    layers: &[&str],
    fill: &Fill,
    budget: u64,
) -> Result<Vec<Vec<Vec<f32>>>> {
    let (shape, values) = validate(graph, images, rects, layers)?;
    let mut eps = features(graph, images, layers, budget)?;
    let make = |k: usize| occlude(&images[k], &rects[k], fill);
    run(graph, batch_size(graph, &shape, budget)?, 0..images.len(), make, &values, |k, l, f| {
        for (e, &o) in eps[l][k].iter_mut().zip(f) {
            *e -= o;
        }
    })?;
    Ok(eps)
}

/// splitmix64 (Steele, Lea & Flood 2014): a small, well-mixed deterministic generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (multiply-high; its bias, below n/2⁶⁴, is negligible here).
    fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }
}

/// Rectangles of the sizes in `like`, each placed uniformly among the positions fully inside an
/// height×width image (row, then column, drawn from splitmix64 seeded with `seed`).
pub fn random_rects(seed: u64, like: &[Rect], height: usize, width: usize) -> Result<Vec<Rect>> {
    let mut rng = SplitMix64(seed);
    like.iter()
        .map(|r| {
            Rect { y: 0, x: 0, ..*r }.check(height, width)?;
            let y = rng.below(height - r.height + 1);
            let x = rng.below(width - r.width + 1);
            Ok(Rect { y, x, ..*r })
        })
        .collect()
}

/// One layer of [`Table`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub layer: String,
    /// Length of the layer's flattened output per image.
    pub len: usize,
    /// Number of image pairs, n(n−1)/2.
    pub pairs: usize,
    /// Δ with the given rectangles.
    pub parts: u64,
    /// Δ / (pairs × len): the mean Hamming distance per pair and position, comparable with the paper.
    pub normalised: f64,
    /// Δ for each random placement.
    pub random: Vec<u64>,
    /// Mean and sample standard deviation (n − 1) of `random`, normalised as `normalised`; NaN without
    /// draws, and std 0 with one.
    pub random_mean: f64,
    pub random_std: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub rows: Vec<Row>,
    pub draws: usize,
    pub seed: u64,
}

/// The whole analysis: Δ per layer for the rectangles, and for `random_draws` random placements (draw d uses
/// [`random_rects`]`(seed + d, rects, H, W)`), with `fill` in the model's input space.
pub fn table(
    graph: &Graph,
    images: &[Tensor],
    rects: &[Rect],
    layers: &[&str],
    fill: &Fill,
    random_draws: usize,
    seed: u64,
) -> Result<Table> {
    let (shape, values) = validate(graph, images, rects, layers)?;
    let n = images.len();
    let originals = features(graph, images, layers, BATCH_BYTES)?;
    let placements = (0..=random_draws)
        .map(|d| match d {
            0 => Ok(rects.to_vec()),
            _ => random_rects(seed.wrapping_add(d as u64 - 1), rects, shape[2], shape[3]),
        })
        .collect::<Result<Vec<_>>>()?;
    // Signs per draw (0 = the given rectangles), filled image by image; a draw's Δ is taken as soon as all
    // its images are in, so only the draws of one batch are held.
    let mut pending: Vec<Vec<Vec<Vec<i8>>>> = vec![vec![]; placements.len()];
    let mut deltas = vec![vec![0u64; placements.len()]; layers.len()];
    let make = |k: usize| occlude(&images[k % n], &placements[k / n][k % n], fill);
    let jobs = 0..placements.len() * n;
    run(graph, batch_size(graph, &shape, BATCH_BYTES)?, jobs, make, &values, |k, l, f| {
        let (d, i) = (k / n, k % n);
        if pending[d].is_empty() {
            pending[d] = vec![vec![vec![]; n]; layers.len()];
        }
        pending[d][l][i] = originals[l][i].iter().zip(f).map(|(&a, &b)| sign(a - b)).collect();
        if i == n - 1 && l == layers.len() - 1 {
            for (l, signs) in pending[d].iter().enumerate() {
                deltas[l][d] = delta_of_signs(signs);
            }
            pending[d] = vec![];
        }
    })?;
    let pairs = n * (n - 1) / 2;
    let rows = layers
        .iter()
        .zip(deltas)
        .zip(&originals)
        .map(|((layer, d), orig)| {
            let len = orig[0].len();
            let norm = |v: u64| v as f64 / (pairs * len.max(1)) as f64;
            let random: Vec<u64> = d[1..].to_vec();
            let r: Vec<f64> = random.iter().map(|&v| norm(v)).collect();
            let mean = r.iter().sum::<f64>() / r.len() as f64;
            let std = match r.len() {
                0 => f64::NAN,
                1 => 0.0,
                m => (r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1) as f64).sqrt(),
            };
            Row {
                layer: layer.to_string(),
                len,
                pairs,
                parts: d[0],
                normalised: norm(d[0]),
                random,
                random_mean: mean,
                random_std: std,
            }
        })
        .collect();
    Ok(Table { rows, draws: random_draws, seed })
}
