//! Max and average pooling, with max pooling's switches.

use super::{contiguous, fmt_shape, nchw, tensor};
use crate::{Real, bail, Result, Tensor};

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
    /// Spacing of the window's taps (ONNX dilations); [1, 1] for a plain window.
    pub dilation: [usize; 2],
    pub rounding: PoolRounding,
    /// The window covers the whole map.
    pub global: bool,
    /// Average divisor counts padding cells, up to the padded border (Caffe, ONNX count_include_pad=1);
    /// otherwise only cells inside the input count.
    pub count_include_pad: bool,
}

/// How the pooled length rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolRounding {
    Floor,
    /// Up, dropping a last window that starts past the input and its begin padding (ONNX, PyTorch).
    Ceil,
    /// Caffe's default: up, dropping such a window only when the pooling is padded.
    CaffeCeil,
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

impl Switches {
    /// ONNX MaxPool's Indices: each maximum's position in the flattened N×C×H×W input (as f32, exact below 2²⁴).
    pub fn flat_indices<T: Real>(&self) -> Tensor<T> {
        let plane = self.input_hw[0] * self.input_hw[1];
        let per_plane = self.shape[2] * self.shape[3];
        let values = self.index.iter().enumerate().map(|(i, &at)| T::of_f64(((i / per_plane) * plane + at as usize) as f64));
        tensor(&self.shape, values.collect())
    }
}

/// Pooled length; `kernel` is the window's extent (dilation · (taps − 1) + 1).
pub fn pool_out_len(
    len: usize,
    kernel: usize,
    stride: usize,
    pad_begin: usize,
    pad_end: usize,
    rounding: PoolRounding,
) -> Option<usize> {
    let padded = len + pad_begin + pad_end;
    if stride == 0 || kernel == 0 || padded < kernel {
        return None;
    }
    let span = padded - kernel;
    let mut out = match rounding {
        PoolRounding::Floor => span / stride,
        PoolRounding::Ceil | PoolRounding::CaffeCeil => span.div_ceil(stride),
    } + 1;
    let padded = pad_begin > 0 || pad_end > 0;
    let drop_outside = rounding == PoolRounding::Ceil || (rounding == PoolRounding::CaffeCeil && padded);
    if drop_outside && (out - 1) * stride >= len + pad_begin {
        out -= 1;
    }
    Some(out)
}

impl Pool {
    /// Kernel, stride, pads and dilation as applied to an H×W input.
    fn geometry(&self, h: usize, w: usize) -> ([usize; 2], [usize; 2], [usize; 4], [usize; 2]) {
        if self.global {
            ([h, w], [1, 1], [0; 4], [1, 1])
        } else {
            (self.kernel, self.stride, self.pads, self.dilation)
        }
    }

    /// The windows along the rows and along the columns of an H×W input pooled to OH×OW.
    fn windows(&self, h: usize, w: usize, oh: usize, ow: usize) -> (Vec<Window>, Vec<Window>) {
        let (k, s, p, d) = self.geometry(h, w);
        (windows(h, oh, k[0], s[0], p[0], p[2], d[0]), windows(w, ow, k[1], s[1], p[1], p[3], d[1]))
    }

    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let [n, c, h, w] = nchw(input)?;
        let (k, s, p, d) = self.geometry(h, w);
        if k.contains(&0) || s.contains(&0) || d.contains(&0) {
            bail!(model, "pooling kernel {:?}, stride {:?} and dilation {:?} must be positive", k, s, d);
        }
        let extent = [d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1];
        if p[0] >= extent[0] || p[1] >= extent[1] || p[2] >= extent[0] || p[3] >= extent[1] {
            bail!(model, "pooling padding {:?} must be smaller than the window {:?}", p, extent);
        }
        let oh = pool_out_len(h, extent[0], s[0], p[0], p[2], self.rounding);
        let ow = pool_out_len(w, extent[1], s[1], p[1], p[3], self.rounding);
        match (oh, ow) {
            (Some(oh), Some(ow)) => Ok(vec![n, c, oh, ow]),
            _ => bail!(input, "input {} is smaller than the {}×{} pooling window", fmt_shape(input), k[0], k[1]),
        }
    }

    /// Returns the pooled tensor and, for max pooling, the switches.
    pub fn forward<T: Real>(&self, x: &Tensor<T>) -> Result<(Tensor<T>, Option<Switches>)> {
        let out_shape = self.output_shape(x.shape())?;
        let [n, c, h, w] = nchw(x.shape())?;
        let (oh, ow) = (out_shape[2], out_shape[3]);
        let xs = contiguous(x);
        let mut out = vec![T::zero(); n * c * oh * ow];
        let mut switches = match self.kind {
            PoolKind::Max => vec![0u32; out.len()],
            PoolKind::Average => Vec::new(),
        };
        let (rows, cols) = self.windows(h, w, oh, ow);
        for plane in 0..n * c {
            let src = &xs[plane * h * w..(plane + 1) * h * w];
            let dst = &mut out[plane * oh * ow..(plane + 1) * oh * ow];
            if self.kind == PoolKind::Max {
                max_pool(src, w, &rows, &cols, dst, &mut switches[plane * oh * ow..(plane + 1) * oh * ow]);
                continue;
            }
            for (oy, ry) in rows.iter().enumerate() {
                for (ox, rx) in cols.iter().enumerate() {
                    let mut sum = T::zero();
                    for y in ry.taps() {
                        let row = &src[y * w..(y + 1) * w];
                        sum += if rx.step == 1 {
                            row[rx.start..rx.start + rx.count].iter().copied().sum::<T>()
                        } else {
                            rx.taps().map(|x| row[x]).sum::<T>()
                        };
                    }
                    let count = divisor(ry, rx, self.count_include_pad);
                    dst[oy * ow + ox] = if count == 0 { T::zero() } else { sum / T::of(count as f32) };
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

/// Max pooling of one plane: each output is the first maximum of its window in row-major order (the
/// first tap, then any strictly greater one: a NaN never replaces a number), its switch that tap's
/// index; an empty window gives 0 and switch u32::MAX. With wasm SIMD, outputs whose windows are whole
/// go four at a time, compared and blended without branches (V8 turns scalar float selects into
/// branches, which random activations mispredict).
fn max_pool<T: Real>(src: &[T], w: usize, rows: &[Window], cols: &[Window], dst: &mut [T], switches: &mut [u32]) {
    let ow = cols.len();
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let whole = whole_windows(cols);
    for ((ry, out), at) in rows.iter().zip(dst.chunks_exact_mut(ow)).zip(switches.chunks_exact_mut(ow)) {
        let mut ox = 0;
        while ox < ow {
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            if whole.contains(&ox) && whole.contains(&(ox + 3)) && ry.count > 0 {
                if let (Some(src), Some(out)) = (T::f32s(src), T::f32s_mut(&mut out[ox..ox + 4])) {
                    let (c, d) = (&cols[ox], cols[ox + 1].start - cols[ox].start);
                    simd::max4(src, w, ry, [c.start, d, c.step, c.count], out, &mut at[ox..ox + 4]);
                    ox += 4;
                    continue;
                }
            }
            let rx = &cols[ox];
            (out[ox], at[ox]) = match (ry.count, rx.count) {
                (0, _) | (_, 0) => (T::zero(), u32::MAX),
                _ => {
                    let first = ry.start * w + rx.start;
                    let (mut best, mut arg) = (src[first], first);
                    for y in ry.taps() {
                        for x in rx.taps() {
                            let (v, i) = (src[y * w + x], y * w + x);
                            (best, arg) = if v > best { (v, i) } else { (best, arg) };
                        }
                    }
                    (best, arg as u32)
                }
            };
            ox += 1;
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
/// The outputs whose windows are whole (as many taps as the widest) and evenly spaced: a range, since
/// only windows at the edges lose taps to the border.
fn whole_windows(cols: &[Window]) -> std::ops::Range<usize> {
    let most = cols.iter().map(|c| c.count).max().unwrap_or(0);
    let Some(lo) = cols.iter().position(|c| c.count == most) else { return 0..0 };
    let d = cols.get(lo + 1).and_then(|c| c.start.checked_sub(cols[lo].start)).unwrap_or(0);
    let len =
        cols[lo..].iter().enumerate().take_while(|(o, c)| c.count == most && c.start == cols[lo].start + o * d).count();
    lo..lo + len
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::Window;
    use core::arch::wasm32::*;

    /// Four outputs side by side: window columns from `start`, `d` apart, `count` taps `step` apart.
    pub fn max4(
        src: &[f32],
        w: usize,
        ry: &Window,
        [start, d, step, count]: [usize; 4],
        out: &mut [f32],
        at: &mut [u32],
    ) {
        assert!(out.len() == 4 && at.len() == 4);
        let lanes = u32x4(start as u32, (start + d) as u32, (start + 2 * d) as u32, (start + 3 * d) as u32);
        let (mut best, mut arg) = (f32x4_splat(0.0), u32x4_splat(0));
        let mut first = true;
        for y in ry.taps() {
            let row = &src[y * w..(y + 1) * w];
            for t in 0..count {
                let x = start + t * step;
                // The four taps: one load at spacing 1, two and a shuffle at spacing 2, else lane by lane.
                let v = match (d, row.get(x..x + 4 * d)) {
                    // SAFETY: the slice holds the values read.
                    (1, Some(r)) => unsafe { v128_load(r.as_ptr() as *const v128) },
                    (2, Some(r)) => unsafe {
                        let p = r.as_ptr() as *const v128;
                        i32x4_shuffle::<0, 2, 4, 6>(v128_load(p), v128_load(p.add(1)))
                    },
                    _ => f32x4(row[x], row[x + d], row[x + 2 * d], row[x + 3 * d]),
                };
                let i = u32x4_add(lanes, u32x4_splat((y * w + x - start) as u32));
                let take = if first { u32x4_splat(u32::MAX) } else { f32x4_gt(v, best) };
                best = v128_bitselect(v, best, take);
                arg = v128_bitselect(i, arg, take);
                first = false;
            }
        }
        // SAFETY: both slices hold four values.
        unsafe {
            v128_store(out.as_mut_ptr() as *mut v128, best);
            v128_store(at.as_mut_ptr() as *mut v128, arg);
        }
    }
}

/// One pooling window along an axis: the input positions it reads (`count` taps from `start`, `step`
/// apart) and how many of its taps fall inside the padded border.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: usize,
    pub count: usize,
    pub step: usize,
    pub padded: usize,
}

impl Window {
    pub fn taps(&self) -> impl Iterator<Item = usize> {
        let (start, step) = (self.start, self.step);
        (0..self.count).map(move |i| start + i * step)
    }
}

/// The average's divisor: taps inside the padded border, or inside the input only.
fn divisor(ry: &Window, rx: &Window, count_include_pad: bool) -> usize {
    if count_include_pad {
        ry.padded * rx.padded
    } else {
        ry.count * rx.count
    }
}

/// The windows of each output position along an axis of length `len`.
pub fn windows(
    len: usize,
    out: usize,
    kernel: usize,
    stride: usize,
    pad_begin: usize,
    pad_end: usize,
    dilation: usize,
) -> Vec<Window> {
    let (len, d) = (len as isize, dilation as isize);
    // Taps i with first + i·d < limit, capped at the kernel size.
    let taps_below = |first: isize, limit: isize| ((limit - first + d - 1).div_euclid(d)).clamp(0, kernel as isize);
    (0..out)
        .map(|o| {
            let first = (o * stride) as isize - pad_begin as isize;
            let skipped = if first < 0 { (-first + d - 1) / d } else { 0 };
            let inside = taps_below(first, len);
            Window {
                start: (first + skipped * d).max(0) as usize,
                count: (inside - skipped).max(0) as usize,
                step: dilation,
                padded: taps_below(first, len + pad_end as isize) as usize,
            }
        })
        .collect()
}

impl Pool {
    /// Max pooling: each unit's signal goes back to its switch (max-unpooling). Average pooling: its
    /// adjoint, the signal divided by the forward divisor and spread over the window clipped to the input.
    pub fn backward<T: Real>(&self, x_shape: &[usize], g: &Tensor<T>, switches: Option<&Switches>) -> Result<Tensor<T>> {
        let [n, c, h, w] = nchw(x_shape)?;
        let out = self.output_shape(x_shape)?;
        let (oh, ow) = (out[2], out[3]);
        let gs = contiguous(g);
        let mut dx = vec![T::zero(); n * c * h * w];
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
                let (rows, cols) = self.windows(h, w, oh, ow);
                for plane in 0..n * c {
                    let dst = &mut dx[plane * h * w..(plane + 1) * h * w];
                    for (oy, ry) in rows.iter().enumerate() {
                        for (ox, rx) in cols.iter().enumerate() {
                            let count = divisor(ry, rx, self.count_include_pad);
                            if count == 0 {
                                continue;
                            }
                            let v = gs[plane * oh * ow + oy * ow + ox] / T::of(count as f32);
                            for y in ry.taps() {
                                for x in rx.taps() {
                                    dst[y * w + x] += v;
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(tensor(x_shape, dx))
    }
}
