//! 2-D convolution as a GEMM over the unfolded input (im2col), the unfolding done while the GEMM packs
//! its B blocks, so no im2col matrix is ever built; 1×1 convolutions multiply the input directly, and
//! depthwise ones (one input channel per group) run as a direct convolution.

use super::gemm::{gemm, gemm_packed, with_scratch, MatRef, PackB, PackedA, NR};
use super::{contiguous, fmt_shape, nchw, tensor};
use crate::real::Scratch;
use crate::{bail, Real, Result, Tensor};
use std::any::Any;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    pub out_channels: usize,
    /// [height, width]
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// [top, left, bottom, right]
    pub pads: [usize; 4],
    pub dilation: [usize; 2],
    pub group: usize,
    pub bias: bool,
    /// The weights packed for the GEMM, filled on first use.
    pub packed: PackCache,
}

/// Packed weights (one [`PackedA`] per group), made on first use and kept with the address and length of
/// the weights they came from, so other weights passed to the same layer are packed anew. Weights edited
/// in place keep their address: [`crate::graph::Node::weights_mut`] clears the cache for that reason.
#[derive(Default)]
pub struct PackCache {
    forward: Mutex<Option<AnyPacked>>,
    /// The flipped, transposed filters of the stride-1 backward pass.
    transposed: Mutex<Option<AnyPacked>>,
}

/// The packs of one element type, with the address and length of the weights they came from.
type Packed<T> = Arc<((usize, usize), Vec<PackedA<T>>)>;
type AnyPacked = Arc<dyn Any + Send + Sync>;

fn cached<T: Real>(slot: &Mutex<Option<AnyPacked>>, weights: &[T], pack: impl Fn() -> Vec<PackedA<T>>) -> Packed<T> {
    let key = (weights.as_ptr() as usize, weights.len());
    // Only f32 weights live in a graph's nodes; others (gradient checks) are temporary, and a new
    // buffer may reuse a freed one's address.
    if T::f32s(weights).is_none() {
        return Arc::new((key, pack()));
    }
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(hit) = slot.clone().and_then(|c| c.downcast::<((usize, usize), Vec<PackedA<T>>)>().ok()) {
        if hit.0 == key {
            return hit;
        }
    }
    let packed = Arc::new((key, pack()));
    *slot = Some(packed.clone());
    packed
}

impl PackCache {
    pub fn clear(&mut self) {
        for slot in [&mut self.forward, &mut self.transposed] {
            *slot.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

impl Clone for PackCache {
    /// A copy of a layer gets its own weights, so it packs its own.
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for PackCache {
    /// A cache never makes two layers differ.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for PackCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes: usize = [&self.forward, &self.transposed]
            .iter()
            .filter_map(|slot| slot.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .filter_map(|c| c.downcast::<((usize, usize), Vec<PackedA>)>().ok())
            .map(|c| c.1.iter().map(PackedA::size).sum::<usize>())
            .sum();
        write!(f, "PackCache({bytes} bytes)")
    }
}

/// Output length of a strided, padded, dilated window over `len` (floor rounding).
pub fn conv_out_len(
    len: usize,
    kernel: usize,
    stride: usize,
    pad_begin: usize,
    pad_end: usize,
    dilation: usize,
) -> Option<usize> {
    let extent = dilation * (kernel - 1) + 1;
    let padded = len + pad_begin + pad_end;
    if stride == 0 || kernel == 0 || padded < extent {
        return None;
    }
    Some((padded - extent) / stride + 1)
}

impl Conv {
    fn check(&self) -> Result<()> {
        if self.kernel.contains(&0) || self.stride.contains(&0) || self.dilation.contains(&0) || self.group == 0 {
            bail!(model, "kernel, stride, dilation and group must be positive (kernel {:?}, stride {:?}, dilation {:?}, group {})", self.kernel, self.stride, self.dilation, self.group);
        }
        if self.out_channels == 0 {
            bail!(model, "a convolution needs at least one output channel (num_output is 0)");
        }
        if !self.out_channels.is_multiple_of(self.group) {
            bail!(model, "{} outputs cannot be split into {} groups", self.out_channels, self.group);
        }
        Ok(())
    }

    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.check()?;
        let [n, c, h, w] = nchw(input)?;
        if c == 0 || c % self.group != 0 {
            bail!(input, "{c} input channels cannot be split into {} groups", self.group);
        }
        let oh = conv_out_len(h, self.kernel[0], self.stride[0], self.pads[0], self.pads[2], self.dilation[0]);
        let ow = conv_out_len(w, self.kernel[1], self.stride[1], self.pads[1], self.pads[3], self.dilation[1]);
        match (oh, ow) {
            (Some(oh), Some(ow)) => Ok(vec![n, self.out_channels, oh, ow]),
            _ => bail!(
                input,
                "input {} is smaller than the {}×{} kernel (padding {:?}, dilation {:?})",
                fmt_shape(input),
                self.kernel[0],
                self.kernel[1],
                self.pads,
                self.dilation
            ),
        }
    }

    pub fn weight_shapes(&self, input: &[usize]) -> Result<Vec<Vec<usize>>> {
        self.check()?;
        let [_, c, _, _] = nchw(input)?;
        let mut shapes = vec![vec![self.out_channels, c / self.group, self.kernel[0], self.kernel[1]]];
        if self.bias {
            shapes.push(vec![self.out_channels]);
        }
        Ok(shapes)
    }

    /// Refuses weights that do not fit this input (checked with the shapes, before any pass).
    pub fn check_weights<T>(&self, input: &[usize], weights: &[Tensor<T>]) -> Result<()> {
        for (i, (w, want)) in weights.iter().zip(self.weight_shapes(input)?).enumerate() {
            let fits = if w.ndim() == want.len() { w.shape() == want } else { w.len() == want.iter().product::<usize>() };
            if !fits {
                let what = if i == 0 { "weights have" } else { "bias has" };
                bail!(model, "the {what} shape {}, but a {} input needs {}", fmt_shape(w.shape()), fmt_shape(input), fmt_shape(&want));
            }
        }
        Ok(())
    }

    fn packs<T: Real>(&self, weight: &[T], mg: usize, k: usize) -> Packed<T> {
        cached(&self.packed.forward, weight, || {
            weight.chunks_exact(mg * k).map(|wg| PackedA::new(MatRef::new(wg, mg, k))).collect()
        })
    }

    /// Packs the weights ahead of the first forward pass (a model's loader does, once).
    pub fn prepare(&self, weights: &[Tensor]) {
        let Some(w) = weights.first().filter(|w| w.ndim() == 4) else { return };
        let (cg, mg) = (w.shape()[1], self.out_channels / self.group.max(1));
        let k = cg * self.kernel[0] * self.kernel[1];
        if self.check().is_ok() && k > 0 && w.len() == self.out_channels * k && !(cg == 1 && self.group > 1) {
            self.packs::<f32>(&contiguous(w), mg, k);
        }
    }

    pub fn forward<T: Real>(&self, x: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Tensor<T>> {
        let out_shape = self.output_shape(x.shape())?;
        let [n, c, h, w] = nchw(x.shape())?;
        let [_, m, oh, ow] = [out_shape[0], out_shape[1], out_shape[2], out_shape[3]];
        let (cg, mg) = (c / self.group, m / self.group);
        let k = cg * self.kernel[0] * self.kernel[1];
        let weight = contiguous(&weights[0]);
        if weight.len() != m * k {
            bail!(
                model,
                "weights hold {} values, expected {}×{}×{}×{}",
                weight.len(),
                m,
                cg,
                self.kernel[0],
                self.kernel[1]
            );
        }
        let xs = contiguous(x);
        // The bias goes in first; the GEMM adds onto it.
        let bias = self.bias.then(|| contiguous(&weights[1]));
        let mut out = Vec::with_capacity(n * m * oh * ow);
        for oc in 0..n * m {
            out.resize(out.len() + oh * ow, bias.as_ref().map_or(T::zero(), |b| b[oc % m]));
        }
        let geo = Geometry::new(self, cg, [h, w], [oh, ow]);
        if cg == 1 && self.group > 1 {
            for (b, o) in out.chunks_exact_mut(m * oh * ow).enumerate() {
                geo.depthwise(&xs[b * c * h * w..(b + 1) * c * h * w], &weight, mg, o);
            }
            return Ok(tensor(&out_shape, out));
        }
        let packs = self.packs(&weight, mg, k);
        self.gemm_into(&xs, [n, c, h, w], &packs.1, &mut out);
        Ok(tensor(&out_shape, out))
    }

    /// out (n×m×oh×ow, holding the bias) += the convolution of xs (n×c×h×w) with the weights packed per group.
    fn gemm_into<T: Real>(&self, xs: &[T], [n, c, h, w]: [usize; 4], packs: &[PackedA<T>], out: &mut [T]) {
        let (m, cg) = (self.out_channels, c / self.group);
        let mg = m / self.group;
        let oh = conv_out_len(h, self.kernel[0], self.stride[0], self.pads[0], self.pads[2], self.dilation[0]).unwrap_or(0);
        let ow = conv_out_len(w, self.kernel[1], self.stride[1], self.pads[1], self.pads[3], self.dilation[1]).unwrap_or(0);
        let geo = Geometry::new(self, cg, [h, w], [oh, ow]);
        // Packing reads windows with no bounds checks: pad a copy of the input.
        let pad = self.pads != [0; 4];
        let geo_in = if pad { geo.padded([self.pads[2], self.pads[3]]) } else { geo };
        let mut padded = if pad { T::scratch(Scratch::Padded).take() } else { Vec::new() };
        for b in 0..n {
            let image = &xs[b * c * h * w..(b + 1) * c * h * w];
            let image = if !pad {
                image
            } else {
                padded.resize(c * geo_in.h * geo_in.w, T::zero());
                geo.pad_planes(&geo_in, image, &mut padded);
                &padded
            };
            let plane_len = geo_in.h * geo_in.w;
            for (gi, a) in packs.iter().enumerate() {
                let planes = &image[gi * cg * plane_len..(gi + 1) * cg * plane_len];
                let start = (b * m + gi * mg) * oh * ow;
                let dst = &mut out[start..start + mg * oh * ow];
                if geo.pointwise() {
                    gemm_packed(a, &MatRef::new(planes, cg, h * w), dst, oh * ow, true);
                } else {
                    gemm_packed(a, &Unfolded { geo: geo_in, x: planes }, dst, oh * ow, true);
                }
            }
        }
        if pad {
            T::scratch(Scratch::Padded).set(padded);
        }
    }

    /// At stride 1, the backward pass to the input is itself a convolution: of the output's gradient
    /// with each filter flipped and input and output channels swapped, padded by the kernel's reach less
    /// the padding. That runs as deep as the forward pass (the folding path multiplies over the output
    /// channels only). None where it does not apply.
    fn transposed(&self, c: usize) -> Option<Conv> {
        let reach = [self.dilation[0] * (self.kernel[0] - 1), self.dilation[1] * (self.kernel[1] - 1)];
        let pads = [
            reach[0].checked_sub(self.pads[0])?,
            reach[1].checked_sub(self.pads[1])?,
            reach[0].checked_sub(self.pads[2])?,
            reach[1].checked_sub(self.pads[3])?,
        ];
        // Few input channels per group make a GEMM of few rows (the first layer): folding is faster there.
        let few = c / self.group < 8;
        (self.stride == [1, 1] && !few && self.kernel != [1, 1]).then(|| Conv {
            out_channels: c,
            kernel: self.kernel,
            stride: [1, 1],
            pads,
            dilation: self.dilation,
            group: self.group,
            bias: false,
            packed: PackCache::default(),
        })
    }

    /// The flipped, transposed filters of [`Conv::transposed`], packed per group (cg × mg·kh·kw each).
    fn transposed_packs<T: Real>(&self, weight: &[T], cg: usize) -> Packed<T> {
        let (mg, [kh, kw]) = (self.out_channels / self.group, self.kernel);
        let taps = kh * kw;
        cached(&self.packed.transposed, weight, || {
            (0..self.group)
                .map(|gi| {
                    let mut t = vec![T::zero(); cg * mg * taps];
                    for ci in 0..cg {
                        for mo in 0..mg {
                            let src = &weight[((gi * mg + mo) * cg + ci) * taps..][..taps];
                            let dst = &mut t[(ci * mg + mo) * taps..][..taps];
                            dst.iter_mut().zip(src.iter().rev()).for_each(|(d, s)| *d = *s);
                        }
                    }
                    PackedA::new(MatRef::new(&t, cg, mg * taps))
                })
                .collect()
        })
    }
}

/// Of `run` positions `first + i·step`: the range of i inside `0..len`, and the position of the first.
fn inside(first: isize, step: usize, len: usize, run: usize) -> (std::ops::Range<usize>, usize) {
    let step = step as isize;
    let (lo, hi) = match step {
        // No divisions in the common case.
        1 => ((-first).max(0), (len as isize - first).max(0) as usize),
        _ => (
            if first >= 0 { 0 } else { (-first + step - 1) / step },
            (len as isize - first + step - 1).div_euclid(step).max(0) as usize,
        ),
    };
    let hi = hi.min(run);
    match lo as usize {
        lo if lo < hi => (lo..hi, (first + lo as isize * step) as usize),
        _ => (0..0, 0),
    }
}

/// One group's sizes: what maps an output position and a weight tap to an input pixel.
#[derive(Clone, Copy)]
struct Geometry {
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    /// [top, left]
    pad: [usize; 2],
    cg: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

impl Geometry {
    fn new(conv: &Conv, cg: usize, [h, w]: [usize; 2], [oh, ow]: [usize; 2]) -> Geometry {
        let (kernel, stride, dilation) = (conv.kernel, conv.stride, conv.dilation);
        Geometry { kernel, stride, dilation, pad: [conv.pads[0], conv.pads[1]], cg, h, w, oh, ow }
    }

    /// 1×1, stride 1, no padding: the input planes are already the unfolded matrix.
    fn pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.pad == [0; 2] && self.oh == self.h && self.ow == self.w
    }

    /// The same convolution over the input padded with zeros: (its geometry, the padded size).
    fn padded(&self, [bottom, right]: [usize; 2]) -> Geometry {
        let (h, w) = (self.pad[0] + self.h + bottom, self.pad[1] + self.w + right);
        Geometry { pad: [0, 0], h, w, ..*self }
    }

    /// Copies planes of the input into the middle of zeroed planes of the padded size (`to`).
    fn pad_planes<T: Real>(&self, to: &Geometry, x: &[T], dst: &mut [T]) {
        dst.fill(T::zero());
        for (src, d) in x.chunks_exact(self.h * self.w).zip(dst.chunks_exact_mut(to.h * to.w)) {
            for (row, drow) in src.chunks_exact(self.w).zip(d.chunks_exact_mut(to.w).skip(self.pad[0])) {
                drow[self.pad[1]..self.pad[1] + self.w].copy_from_slice(row);
            }
        }
    }

    /// Row `kk` of the unfolded matrix as (input channel, kernel row, kernel column).
    fn tap(&self, kk: usize) -> (usize, usize, usize) {
        let [kh, kw] = self.kernel;
        (kk / (kh * kw), kk % (kh * kw) / kw, kk % kw)
    }

    /// The tap of the next row.
    fn next_tap(&self, (ci, ki, kj): (usize, usize, usize)) -> (usize, usize, usize) {
        let [kh, kw] = self.kernel;
        match (kj + 1 < kw, ki + 1 < kh) {
            (true, _) => (ci, ki, kj + 1),
            (false, true) => (ci, ki + 1, 0),
            (false, false) => (ci + 1, 0, 0),
        }
    }

    /// A tap's input plane offset and its offsets from an output position scaled by the stride.
    fn offsets(&self, (ci, ki, kj): (usize, usize, usize)) -> (usize, isize, isize) {
        let dy = (ki * self.dilation[0]) as isize - self.pad[0] as isize;
        let dx = (kj * self.dilation[1]) as isize - self.pad[1] as isize;
        (ci * self.h * self.w, dy, dx)
    }

    /// The input row that output row `oy` reads through kernel row `ki`, if inside the image.
    fn input_row(&self, oy: usize, ki: usize) -> Option<usize> {
        let iy = (oy * self.stride[0] + ki * self.dilation[0]) as isize - self.pad[0] as isize;
        (0..self.h as isize).contains(&iy).then_some(iy as usize)
    }

    /// Of `run` outputs from column `ox` through kernel column `kj`: the range whose input column is
    /// inside the image, and the input column of the first of them.
    fn columns(&self, ox: usize, kj: usize, run: usize) -> (std::ops::Range<usize>, usize) {
        let first = (ox * self.stride[1] + kj * self.dilation[1]) as isize - self.pad[1] as isize;
        inside(first, self.stride[1], self.w, run)
    }

    /// Runs `f(output row, first output column, output slice range)` over the output positions
    /// `n0..n0 + len`, one output row at a time.
    fn rows(&self, n0: usize, len: usize, mut f: impl FnMut(usize, usize, std::ops::Range<usize>)) {
        let (mut oy, mut ox, mut at) = (n0 / self.ow, n0 % self.ow, 0);
        while at < len {
            let run = (self.ow - ox).min(len - at);
            f(oy, ox, at..at + run);
            at += run;
            ox = 0;
            oy += 1;
        }
    }
}

/// A group's input seen as its im2col matrix ((cg·kh·kw) × (oh·ow)) without building it.
struct Unfolded<'a, T> {
    geo: Geometry,
    x: &'a [T],
}

impl<T: Real> PackB<T> for Unfolded<'_, T> {
    fn k(&self) -> usize {
        self.geo.cg * self.geo.kernel[0] * self.geo.kernel[1]
    }

    fn n(&self) -> usize {
        self.geo.oh * self.geo.ow
    }

    /// Panel by panel, each tap's NR values at once, over an input with no padding (the caller pads a
    /// copy), so that every window lies inside the image. Small copies go through fixed-size arrays: in
    /// wasm a variable-length copy is a `memory.copy` call into the engine, far slower than 8 floats.
    fn pack(&self, k0: usize, kc: usize, n0: usize, nc: usize, dst: &mut [T]) {
        let g = &self.geo;
        debug_assert_eq!(g.pad, [0, 0]);
        let [sh, sw] = g.stride;
        TAPS.with_borrow_mut(|taps| {
            // Where each tap of the block reads, from an output position's top-left input pixel.
            taps.clear();
            let mut tap = g.tap(k0);
            for _ in 0..kc {
                let (plane, dy, dx) = g.offsets(tap);
                taps.push(plane + dy as usize * g.w + dx as usize);
                tap = g.next_tap(tap);
            }
            for (q, panel) in dst[..kc * nc.next_multiple_of(NR)].chunks_exact_mut(kc * NR).enumerate() {
                let (j0, cols) = (n0 + q * NR, NR.min(nc - q * NR));
                let at: [usize; NR] = std::array::from_fn(|j| {
                    let (oy, ox) = ((j0 + j.min(cols - 1)) / g.ow, (j0 + j.min(cols - 1)) % g.ow);
                    oy * sh * g.w + ox * sw
                });
                // All NR columns real, on one output row, at stride 1: one run of the input.
                let run = cols == NR && sw == 1 && at[NR - 1] == at[0] + NR - 1;
                for (d, &t) in panel.chunks_exact_mut(NR).zip(taps.iter()) {
                    let d: &mut [T; NR] = d.try_into().unwrap();
                    *d = if run {
                        self.x[t + at[0]..t + at[0] + NR].try_into().unwrap()
                    } else {
                        std::array::from_fn(|j| if j < cols { self.x[t + at[j]] } else { T::zero() })
                    };
                }
            }
        });
    }
}

impl Geometry {
    /// Adds row `kk` of an unfolded-matrix gradient (columns `n0..`) back onto the input planes `x`.
    fn fold_row<T: Real>(&self, kk: usize, n0: usize, row: &[T], x: &mut [T]) {
        let (ci, ki, kj) = self.tap(kk);
        let plane = &mut x[ci * self.h * self.w..(ci + 1) * self.h * self.w];
        let sw = self.stride[1];
        let whole_row = self.columns(0, kj, self.ow);
        self.rows(n0, row.len(), |oy, ox, span| {
            let Some(iy) = self.input_row(oy, ki) else { return };
            let dst = &mut plane[iy * self.w..(iy + 1) * self.w];
            let seg = &row[span];
            let (inside, start) =
                if seg.len() == self.ow { whole_row.clone() } else { self.columns(ox, kj, seg.len()) };
            let dst = dst[start..].iter_mut().step_by(sw);
            dst.zip(&seg[inside]).for_each(|(d, v)| *d += *v);
        });
    }

    /// Fills row `kk` of the unfolded matrix (columns `n0..`) from the input planes `x`; zero where the
    /// tap falls in the padding. The inverse of [`Geometry::fold_row`].
    fn unfold_row<T: Real>(&self, kk: usize, n0: usize, row: &mut [T], x: &[T]) {
        let (ci, ki, kj) = self.tap(kk);
        let plane = &x[ci * self.h * self.w..(ci + 1) * self.h * self.w];
        let sw = self.stride[1];
        let whole_row = self.columns(0, kj, self.ow);
        row.fill(T::zero());
        let len = row.len();
        self.rows(n0, len, |oy, ox, span| {
            let Some(iy) = self.input_row(oy, ki) else { return };
            let src = &plane[iy * self.w..(iy + 1) * self.w];
            let seg = &mut row[span];
            let (inside, start) =
                if seg.len() == self.ow { whole_row.clone() } else { self.columns(ox, kj, seg.len()) };
            seg[inside].iter_mut().zip(src[start..].iter().step_by(sw)).for_each(|(d, v)| *d = *v);
        });
    }

    /// Direct convolution for one input channel per group (`mg` outputs each), added onto `out`.
    fn depthwise<T: Real>(&self, x: &[T], weight: &[T], mg: usize, out: &mut [T]) {
        let [kh, kw] = self.kernel;
        let sw = self.stride[1];
        let spans: Vec<_> = (0..kw).map(|kj| self.columns(0, kj, self.ow)).collect();
        for (oc, o) in out.chunks_exact_mut(self.oh * self.ow).enumerate() {
            let plane = &x[oc / mg * self.h * self.w..(oc / mg + 1) * self.h * self.w];
            let taps = &weight[oc * kh * kw..(oc + 1) * kh * kw];
            for (oy, orow) in o.chunks_exact_mut(self.ow).enumerate() {
                for ki in 0..kh {
                    let Some(iy) = self.input_row(oy, ki) else { continue };
                    let src = &plane[iy * self.w..(iy + 1) * self.w];
                    for kj in 0..kw {
                        let t = taps[ki * kw + kj];
                        let (inside, start) = spans[kj].clone();
                        let dst = &mut orow[inside];
                        if sw == 1 {
                            dst.iter_mut().zip(&src[start..]).for_each(|(d, v)| *d += t * *v);
                        } else {
                            dst.iter_mut().zip(src[start..].iter().step_by(sw)).for_each(|(d, v)| *d += t * *v);
                        }
                    }
                }
            }
        }
    }

    /// The depthwise convolution's input gradient, added onto `dx`.
    fn depthwise_backward<T: Real>(&self, g: &[T], weight: &[T], mg: usize, dx: &mut [T]) {
        let [kh, kw] = self.kernel;
        let sw = self.stride[1];
        let spans: Vec<_> = (0..kw).map(|kj| self.columns(0, kj, self.ow)).collect();
        for (oc, go) in g.chunks_exact(self.oh * self.ow).enumerate() {
            let plane = &mut dx[oc / mg * self.h * self.w..(oc / mg + 1) * self.h * self.w];
            let taps = &weight[oc * kh * kw..(oc + 1) * kh * kw];
            for (oy, grow) in go.chunks_exact(self.ow).enumerate() {
                for ki in 0..kh {
                    let Some(iy) = self.input_row(oy, ki) else { continue };
                    let dst = &mut plane[iy * self.w..(iy + 1) * self.w];
                    for kj in 0..kw {
                        let t = taps[ki * kw + kj];
                        let (inside, start) = spans[kj].clone();
                        let dst = dst[start..].iter_mut().step_by(sw);
                        dst.zip(&grow[inside]).for_each(|(d, v)| *d += t * *v);
                    }
                }
            }
        }
    }
}

/// Columns of the unfolded gradient computed at a time in the backward pass (bounds its buffer).
const FOLD_VALUES: usize = 1 << 20;

impl Conv {
    /// The gradient with respect to the input: a transposed convolution of `g` with the same filters.
    pub fn backward<T: Real>(&self, x_shape: &[usize], g: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Tensor<T>> {
        let [n, c, h, w] = nchw(x_shape)?;
        let out = self.output_shape(x_shape)?;
        let (m, oh, ow) = (out[1], out[2], out[3]);
        let (cg, mg) = (c / self.group, m / self.group);
        let k = cg * self.kernel[0] * self.kernel[1];
        let weight = contiguous(&weights[0]);
        let gs = contiguous(g);
        let mut dx = vec![T::zero(); n * c * h * w];
        // The transposed convolution also multiplies the zeros around the gradient: worth it only where the
        // output is about as large as the input ("same" padding).
        let transposed = if 4 * h * w <= 5 * oh * ow { self.transposed(c) } else { None };
        if let Some(t) = transposed {
            if t.output_shape(&[n, m, oh, ow]).is_ok_and(|s| s == [n, c, h, w]) {
                t.gemm_into(&gs, [n, m, oh, ow], &self.transposed_packs(&weight, cg).1, &mut dx);
                return Ok(tensor(x_shape, dx));
            }
        }
        let geo = Geometry::new(self, cg, [h, w], [oh, ow]);
        let np = oh * ow;
        for b in 0..n {
            let dxb = &mut dx[b * c * h * w..(b + 1) * c * h * w];
            let gb = &gs[b * m * np..(b + 1) * m * np];
            if cg == 1 && self.group > 1 {
                geo.depthwise_backward(gb, &weight, mg, dxb);
                continue;
            }
            for gi in 0..self.group {
                let wt = MatRef::new(&weight[gi * mg * k..(gi + 1) * mg * k], mg, k).t();
                let gg = &gb[gi * mg * np..(gi + 1) * mg * np];
                let plane = &mut dxb[gi * cg * h * w..(gi + 1) * cg * h * w];
                if geo.pointwise() {
                    gemm(wt, &MatRef::new(gg, mg, np), plane, np, false);
                    continue;
                }
                // Wᵀ·g a block of columns at a time, each folded back before the next.
                let cols = (FOLD_VALUES / k).clamp(1, np);
                with_scratch(Scratch::Fold, k * cols, |col: &mut [T]| {
                    for n0 in (0..np).step_by(cols) {
                        let nb = cols.min(np - n0);
                        let gm = MatRef { data: &gg[n0..], rows: mg, cols: nb, rs: np, cs: 1 };
                        gemm(wt, &gm, &mut col[..k * nb], nb, false);
                        for (kk, row) in col[..k * nb].chunks_exact(nb).enumerate() {
                            geo.fold_row(kk, n0, row, plane);
                        }
                    }
                });
            }
        }
        Ok(tensor(x_shape, dx))
    }
}

impl Conv {
    /// Gradients for the filters (Σ over images of g · unfolded inputᵀ, per group) and the bias (g summed
    /// over images and positions).
    pub fn weight_backward<T: Real>(&self, x: &Tensor<T>, g: &Tensor<T>, weights: &[Tensor<T>]) -> Result<Vec<Option<Tensor<T>>>> {
        let [n, c, h, w] = nchw(x.shape())?;
        let out = self.output_shape(x.shape())?;
        let (m, oh, ow) = (out[1], out[2], out[3]);
        let (cg, mg) = (c / self.group, m / self.group);
        let k = cg * self.kernel[0] * self.kernel[1];
        let (xs, gs) = (contiguous(x), contiguous(g));
        let geo = Geometry::new(self, cg, [h, w], [oh, ow]);
        let np = oh * ow;
        let mut dw = vec![T::zero(); m * k];
        let cols = (FOLD_VALUES / k).clamp(1, np);
        with_scratch(Scratch::Fold, k * cols, |col: &mut [T]| {
            for b in 0..n {
                for gi in 0..self.group {
                    let planes = &xs[(b * c + gi * cg) * h * w..(b * c + (gi + 1) * cg) * h * w];
                    let gg = &gs[(b * m + gi * mg) * np..(b * m + (gi + 1) * mg) * np];
                    let dwg = &mut dw[gi * mg * k..(gi + 1) * mg * k];
                    for n0 in (0..np).step_by(cols) {
                        let nb = cols.min(np - n0);
                        for (kk, row) in col[..k * nb].chunks_exact_mut(nb).enumerate() {
                            geo.unfold_row(kk, n0, row, planes);
                        }
                        let gm = MatRef { data: &gg[n0..], rows: mg, cols: nb, rs: np, cs: 1 };
                        gemm(gm, &MatRef::new(&col[..k * nb], k, nb).t(), dwg, k, true);
                    }
                }
            }
        });
        let mut grads = vec![Some(tensor(weights[0].shape(), dw))];
        if self.bias {
            let mut db = vec![T::zero(); m];
            for (i, plane) in gs.chunks_exact(np).enumerate() {
                db[i % m] += plane.iter().copied().sum::<T>();
            }
            grads.push(Some(tensor(weights[1].shape(), db)));
        }
        Ok(grads)
    }
}

thread_local! {
    static TAPS: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}
