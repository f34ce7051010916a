//! Image pixels to an input blob: resize, channel order, mean subtraction and scale, as Caffe's
//! transformer does.

use crate::ops::fmt_shape;
use crate::vis::ChannelOrder;
use crate::{bail, Result, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    /// Bilinear to the input size, ignoring aspect.
    Stretch,
    /// Bilinear so the image covers the input, then the centre crop.
    CenterCrop,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Preprocess {
    /// Plane order the net expects.
    pub channel_order: ChannelOrder,
    /// Pixel-wise mean (C×H×W in the net's plane order), centre-cropped when larger than the input.
    pub mean_image: Option<Tensor>,
    /// Per-channel mean in the net's plane order, subtracted after the pixel-wise mean.
    pub mean_values: Vec<f32>,
    pub scale: f32,
    pub resize: Resize,
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess {
            channel_order: ChannelOrder::Bgr,
            mean_image: None,
            mean_values: vec![],
            scale: 1.0,
            resize: Resize::Stretch,
        }
    }
}

/// Decoded pixels, RGBA8 row-major.
pub struct Pixels<'a> {
    pub rgba: &'a [u8],
    pub width: usize,
    pub height: usize,
}

/// Builds a 1×C×H×W blob for an input of shape `input` (C is 1 or 3).
pub fn to_blob(px: &Pixels, input: &[usize], pre: &Preprocess) -> Result<Tensor> {
    let &[_, c, h, w] = input else {
        bail!(input, "the net's input {} is not an image (N×C×H×W)", fmt_shape(input))
    };
    if c != 1 && c != 3 {
        bail!(input, "the net takes {c}-channel images; images give 1 (grey) or 3 (colour)");
    }
    crate::limits::check_shape(input, "the net's input")?;
    crate::limits::check_image(px.width as u64, px.height as u64)?;
    if px.width == 0 || px.height == 0 || px.rgba.len() != px.width * px.height * 4 {
        bail!(input, "the image is empty or its pixel buffer does not match {}×{}", px.width, px.height);
    }
    // Source planes as floats in 0..255, in the net's order.
    let n = px.width * px.height;
    let planes: Vec<Vec<f32>> = if c == 1 {
        vec![(0..n).map(|i| luma(&px.rgba[i * 4..i * 4 + 3])).collect()]
    } else {
        let order = match pre.channel_order {
            ChannelOrder::Rgb => [0, 1, 2],
            ChannelOrder::Bgr => [2, 1, 0],
        };
        order.iter().map(|&k| (0..n).map(|i| px.rgba[i * 4 + k] as f32).collect()).collect()
    };
    let mut out = Vec::with_capacity(c * h * w);
    for p in &planes {
        out.extend(resize_plane(p, px.width, px.height, w, h, pre.resize));
    }
    if let Some(mean) = &pre.mean_image {
        let m = centre_crop(mean, c, h, w)?;
        out.iter_mut().zip(m.iter()).for_each(|(v, m)| *v -= m);
    }
    if !pre.mean_values.is_empty() {
        if pre.mean_values.len() != c && pre.mean_values.len() != 1 {
            bail!(input, "{} mean values for a {c}-channel input", pre.mean_values.len());
        }
        for (ci, chunk) in out.chunks_mut(h * w).enumerate() {
            let m = pre.mean_values[ci.min(pre.mean_values.len() - 1)];
            chunk.iter_mut().for_each(|v| *v -= m);
        }
    }
    if pre.scale != 1.0 {
        out.iter_mut().for_each(|v| *v *= pre.scale);
    }
    Ok(crate::ops::tensor(&[1, c, h, w], out))
}

/// The image as the net sees it (resized or cropped to h×w), still as RGBA pixels: for showing input
/// patches beside projections.
pub fn fit_rgba(px: &Pixels, h: usize, w: usize, resize: Resize) -> crate::vis::Rgba {
    let n = px.width * px.height;
    let planes: Vec<Vec<f32>> = (0..4)
        .map(|k| {
            resize_plane(
                &(0..n).map(|i| px.rgba[i * 4 + k] as f32).collect::<Vec<_>>(),
                px.width,
                px.height,
                w,
                h,
                resize,
            )
        })
        .collect();
    let data = (0..h * w).flat_map(|i| planes.iter().map(move |p| p[i].round().clamp(0.0, 255.0) as u8)).collect();
    crate::vis::Rgba { width: w, height: h, data }
}

/// ITU-R 601-2 luma with PIL's integer rounding ("L" mode).
fn luma(rgb: &[u8]) -> f32 {
    ((rgb[0] as u32 * 19595 + rgb[1] as u32 * 38470 + rgb[2] as u32 * 7471 + 0x8000) >> 16) as f32
}

fn centre_crop(mean: &Tensor, c: usize, h: usize, w: usize) -> Result<Vec<f32>> {
    let s = mean.shape();
    if s.len() != 3 || s[0] != c || s[1] < h || s[2] < w {
        bail!(input, "the mean image is {} but the input is {c}×{h}×{w}", fmt_shape(s));
    }
    let (y0, x0) = ((s[1] - h) / 2, (s[2] - w) / 2);
    Ok(mean.slice(ndarray::s![.., y0..y0 + h, x0..x0 + w]).iter().copied().collect())
}

/// Bilinear resampling with OpenCV's pixel-centre convention; the identity when sizes match.
pub(crate) fn resize_plane(src: &[f32], sw: usize, sh: usize, dw: usize, dh: usize, mode: Resize) -> Vec<f32> {
    if sw == dw && sh == dh {
        return src.to_vec();
    }
    // Scaled size before cropping.
    let (rw, rh) = match mode {
        Resize::Stretch => (dw, dh),
        Resize::CenterCrop => {
            let s = (dw as f64 / sw as f64).max(dh as f64 / sh as f64);
            (((sw as f64 * s).round() as usize).max(dw), ((sh as f64 * s).round() as usize).max(dh))
        }
    };
    let (ox, oy) = ((rw - dw) / 2, (rh - dh) / 2);
    let (fx, fy) = (sw as f64 / rw as f64, sh as f64 / rh as f64);
    let coord = |d: usize, f: f64, len: usize| {
        let s = ((d as f64 + 0.5) * f - 0.5).max(0.0);
        let i0 = (s.floor() as usize).min(len - 1);
        let i1 = (i0 + 1).min(len - 1);
        (i0, i1, (s - i0 as f64).min(1.0) as f32)
    };
    let mut out = Vec::with_capacity(dw * dh);
    for y in 0..dh {
        let (y0, y1, ty) = coord(y + oy, fy, sh);
        for x in 0..dw {
            let (x0, x1, tx) = coord(x + ox, fx, sw);
            let top = src[y0 * sw + x0] * (1.0 - tx) + src[y0 * sw + x1] * tx;
            let bottom = src[y1 * sw + x0] * (1.0 - tx) + src[y1 * sw + x1] * tx;
            out.push(top * (1.0 - ty) + bottom * ty);
        }
    }
    out
}

/// The k largest entries as (index, value), largest first; ties keep the lower index first.
pub fn top_k(values: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[b].partial_cmp(&values[a]).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b)));
    idx.into_iter().take(k).map(|i| (i, values[i])).collect()
}
