//! Input-space maps to RGBA: the paper's display, a signed colour map, and a heat map over the image.

use super::{to_byte, ChannelOrder, Rgba};
use crate::ops::fmt_shape;
use crate::preprocess::{resize_plane, Resize};
use crate::{bail, Result, Tensor};

/// C×H×W (C = 1 or 3) from N×C×H×W at sample 0, or as given.
fn sample(map: &Tensor) -> Result<(usize, usize, usize, Vec<f32>)> {
    let s = map.shape();
    let (c, h, w) = match s {
        [_, c, h, w] | [c, h, w] => (*c, *h, *w),
        _ => bail!(input, "expects a C×H×W or N×C×H×W map, got {}", fmt_shape(s)),
    };
    let data: Vec<f32> = map.iter().take(c * h * w).copied().collect();
    Ok((c, h, w, data))
}

/// Zeiler & Fergus's display: each image scaled by its own largest magnitude, zero as mid-grey.
/// Three channels show as colour in the model's channel order; other counts as their mean.
pub fn paper(map: &Tensor, order: ChannelOrder) -> Result<Rgba> {
    let (c, h, w, d) = sample(map)?;
    let m = d.iter().fold(0f32, |a, v| a.max(v.abs()));
    let norm = |v: f32| if m > 0.0 { 0.5 + 0.5 * v / m } else { 0.5 };
    let plane = h * w;
    let mut data = Vec::with_capacity(plane * 4);
    for i in 0..plane {
        let px = if c == 3 {
            let (r, b) = if order == ChannelOrder::Rgb { (0, 2) } else { (2, 0) };
            [d[r * plane + i], d[plane + i], d[b * plane + i]].map(|v| to_byte(norm(v)))
        } else {
            [to_byte(norm((0..c).map(|k| d[k * plane + i]).sum::<f32>() / c as f32)); 3]
        };
        data.extend_from_slice(&[px[0], px[1], px[2], 255]);
    }
    Ok(Rgba { width: w, height: h, data })
}

/// Blue (negative) through white (zero) to red (positive), summed over channels, scaled by the largest magnitude.
pub fn signed(map: &Tensor) -> Result<Rgba> {
    let (c, h, w, d) = sample(map)?;
    let plane = h * w;
    let sum: Vec<f32> = (0..plane).map(|i| (0..c).map(|k| d[k * plane + i]).sum()).collect();
    let m = sum.iter().fold(0f32, |a, v| a.max(v.abs()));
    let mut data = Vec::with_capacity(plane * 4);
    for v in sum {
        let t = if m > 0.0 { v / m } else { 0.0 };
        let fade = to_byte(1.0 - t.abs());
        let px = if t >= 0.0 { [255, fade, fade] } else { [fade, fade, 255] };
        data.extend_from_slice(&[px[0], px[1], px[2], 255]);
    }
    Ok(Rgba { width: w, height: h, data })
}

/// A colour for t in [0, 1]: dark blue, cyan, yellow, red (a jet-like ramp).
fn heat(t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    let ramp = |a: f32| (1.5 - (4.0 * t - a).abs()).clamp(0.0, 1.0);
    [ramp(3.0), ramp(2.0), ramp(1.0)]
}

/// A map (any size) scaled to [0, 1], stretched bilinearly over the image and blended: `alpha` of heat colour.
pub fn heat_overlay(map: &Tensor, image: &Rgba, alpha: f32) -> Result<Rgba> {
    let (c, h, w, d) = sample(map)?;
    if c != 1 || h == 0 || w == 0 {
        bail!(input, "a heat map has one channel, got {}", fmt_shape(map.shape()));
    }
    let (lo, hi) = d.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let scaled: Vec<f32> = d.iter().map(|v| (v - lo) / span).collect();
    let (iw, ih) = (image.width, image.height);
    let stretched = resize_plane(&scaled, w, h, iw, ih, Resize::Stretch);
    let mut data = image.data.clone();
    for (px, v) in data.chunks_exact_mut(4).zip(stretched) {
        let colour = heat(v);
        for k in 0..3 {
            px[k] = to_byte(px[k] as f32 / 255.0 * (1.0 - alpha) + colour[k] * alpha);
        }
    }
    Ok(Rgba { width: iw, height: ih, data })
}
