//! Max and average pooling, with max pooling's switches.

use super::{contiguous, fmt_shape, nchw, tensor};
use crate::{bail, Result, Tensor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Average,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub kind: PoolKind,
    /// [height, width]; ignored when `global`.
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// [top, left, bottom, right]
    pub pads: [usize; 4],
    /// Round the output size up (Caffe's default) instead of down.
    pub ceil: bool,
    /// The window covers the whole map.
    pub global: bool,
    /// Average divisor counts padding cells, up to the padded border (Caffe, ONNX count_include_pad=1);
    /// otherwise only cells inside the input count.
    pub count_include_pad: bool,
}

/// For each output unit of a max pooling, the position of its maximum in its input plane (y·W + x).
#[derive(Debug, Clone, PartialEq)]
pub struct Switches {
    /// Output shape, N×C×OH×OW.
    pub shape: Vec<usize>,
    /// Input plane size [H, W].
    pub input_hw: [usize; 2],
    pub index: Vec<u32>,
}

/// Pooled length with ceil or floor rounding; a last window starting inside the end padding is dropped.
pub fn pool_out_len(
    len: usize,
    kernel: usize,
    stride: usize,
    pad_begin: usize,
    pad_end: usize,
    ceil: bool,
) -> Option<usize> {
    let padded = len + pad_begin + pad_end;
    if stride == 0 || kernel == 0 || padded < kernel {
        return None;
    }
    let span = padded - kernel;
    let mut out = if ceil { span.div_ceil(stride) } else { span / stride } + 1;
    if (pad_begin > 0 || pad_end > 0) && (out - 1) * stride >= len + pad_begin {
        out -= 1;
    }
    Some(out)
}

impl Pool {
    /// Kernel, stride and pads as applied to an H×W input.
    fn geometry(&self, h: usize, w: usize) -> ([usize; 2], [usize; 2], [usize; 4]) {
        if self.global {
            ([h, w], [1, 1], [0; 4])
        } else {
            (self.kernel, self.stride, self.pads)
        }
    }

    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let [n, c, h, w] = nchw(input)?;
        let (k, s, p) = self.geometry(h, w);
        if k.contains(&0) || s.contains(&0) {
            bail!(model, "pooling kernel {:?} and stride {:?} must be positive", k, s);
        }
        if p[0] >= k[0] || p[1] >= k[1] || p[2] >= k[0] || p[3] >= k[1] {
            bail!(model, "pooling padding {:?} must be smaller than the kernel {:?}", p, k);
        }
        let oh = pool_out_len(h, k[0], s[0], p[0], p[2], self.ceil);
        let ow = pool_out_len(w, k[1], s[1], p[1], p[3], self.ceil);
        match (oh, ow) {
            (Some(oh), Some(ow)) => Ok(vec![n, c, oh, ow]),
            _ => bail!(input, "input {} is smaller than the {}×{} pooling window", fmt_shape(input), k[0], k[1]),
        }
    }

    /// Returns the pooled tensor and, for max pooling, the switches.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Option<Switches>)> {
        let out_shape = self.output_shape(x.shape())?;
        let [n, c, h, w] = nchw(x.shape())?;
        let (oh, ow) = (out_shape[2], out_shape[3]);
        let (k, s, p) = self.geometry(h, w);
        let xs = contiguous(x);
        let mut out = vec![0f32; n * c * oh * ow];
        let mut switches = match self.kind {
            PoolKind::Max => vec![0u32; out.len()],
            PoolKind::Average => Vec::new(),
        };
        let rows = windows(h, oh, k[0], s[0], p[0], p[2]);
        let cols = windows(w, ow, k[1], s[1], p[1], p[3]);
        for plane in 0..n * c {
            let src = &xs[plane * h * w..(plane + 1) * h * w];
            let dst = &mut out[plane * oh * ow..(plane + 1) * oh * ow];
            for (oy, ry) in rows.iter().enumerate() {
                for (ox, rx) in cols.iter().enumerate() {
                    let o = oy * ow + ox;
                    match self.kind {
                        PoolKind::Max => {
                            let (mut best, mut at) = (f32::NEG_INFINITY, u32::MAX);
                            for y in ry.start..ry.end {
                                for x in rx.start..rx.end {
                                    let v = src[y * w + x];
                                    if v > best || at == u32::MAX {
                                        best = v;
                                        at = (y * w + x) as u32;
                                    }
                                }
                            }
                            dst[o] = if at == u32::MAX { 0.0 } else { best };
                            switches[plane * oh * ow + o] = at;
                        }
                        PoolKind::Average => {
                            let mut sum = 0f32;
                            for y in ry.start..ry.end {
                                sum += src[y * w + rx.start..y * w + rx.end].iter().sum::<f32>();
                            }
                            let count = if self.count_include_pad {
                                ry.padded * rx.padded
                            } else {
                                (ry.end - ry.start) * (rx.end - rx.start)
                            };
                            dst[o] = if count == 0 { 0.0 } else { sum / count as f32 };
                        }
                    }
                }
            }
        }
        let sw = (self.kind == PoolKind::Max).then(|| Switches {
            shape: out_shape.clone(),
            input_hw: [h, w],
            index: switches,
        });
        Ok((tensor(&out_shape, out), sw))
    }
}

/// One pooling window along an axis: the input range it reads and its size clipped to the padded border.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub padded: usize,
}

/// The windows of each output position along an axis of length `len`.
pub fn windows(len: usize, out: usize, kernel: usize, stride: usize, pad_begin: usize, pad_end: usize) -> Vec<Window> {
    (0..out)
        .map(|o| {
            let start = (o * stride) as isize - pad_begin as isize;
            let end_padded = (start + kernel as isize).min((len + pad_end) as isize);
            Window {
                start: start.max(0) as usize,
                end: end_padded.min(len as isize).max(0) as usize,
                padded: (end_padded - start).max(0) as usize,
            }
        })
        .collect()
}

impl Pool {
    /// Max pooling: each unit's signal goes back to its switch (max-unpooling). Average pooling: its
    /// adjoint, the signal divided by the forward divisor and spread over the window clipped to the input.
    pub fn backward(&self, x_shape: &[usize], g: &Tensor, switches: Option<&Switches>) -> Result<Tensor> {
        let [n, c, h, w] = nchw(x_shape)?;
        let out = self.output_shape(x_shape)?;
        let (oh, ow) = (out[2], out[3]);
        let gs = contiguous(g);
        let mut dx = vec![0f32; n * c * h * w];
        match self.kind {
            PoolKind::Max => {
                let Some(sw) = switches else { bail!(input, "max pooling needs the switches of a forward pass") };
                for plane in 0..n * c {
                    for o in 0..oh * ow {
                        let at = sw.index[plane * oh * ow + o];
                        if at != u32::MAX {
                            dx[plane * h * w + at as usize] += gs[plane * oh * ow + o];
                        }
                    }
                }
            }
            PoolKind::Average => {
                let (k, s, p) = self.geometry(h, w);
                let rows = windows(h, oh, k[0], s[0], p[0], p[2]);
                let cols = windows(w, ow, k[1], s[1], p[1], p[3]);
                for plane in 0..n * c {
                    let dst = &mut dx[plane * h * w..(plane + 1) * h * w];
                    for (oy, ry) in rows.iter().enumerate() {
                        for (ox, rx) in cols.iter().enumerate() {
                            let count = if self.count_include_pad {
                                ry.padded * rx.padded
                            } else {
                                (ry.end - ry.start) * (rx.end - rx.start)
                            };
                            if count == 0 {
                                continue;
                            }
                            let v = gs[plane * oh * ow + oy * ow + ox] / count as f32;
                            for y in ry.start..ry.end {
                                dst[y * w + rx.start..y * w + rx.end].iter_mut().for_each(|d| *d += v);
                            }
                        }
                    }
                }
            }
        }
        Ok(tensor(x_shape, dx))
    }
}
