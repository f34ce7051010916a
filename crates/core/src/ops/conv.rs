//! 2-D convolution as im2col + GEMM.

use super::{contiguous, fmt_shape, nchw, tensor};
use crate::{bail, Result, Tensor};
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

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
        if !self.out_channels.is_multiple_of(self.group) {
            bail!(model, "{} outputs cannot be split into {} groups", self.out_channels, self.group);
        }
        Ok(())
    }

    pub fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.check()?;
        let [n, c, h, w] = nchw(input)?;
        if c % self.group != 0 {
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

    pub fn forward(&self, x: &Tensor, weights: &[Tensor]) -> Result<Tensor> {
        let out_shape = self.output_shape(x.shape())?;
        let [n, c, h, w] = nchw(x.shape())?;
        let [_, m, oh, ow] = [out_shape[0], out_shape[1], out_shape[2], out_shape[3]];
        let g = self.group;
        let (cg, mg) = (c / g, m / g);
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
        let mut out = vec![0f32; n * m * oh * ow];
        let pointwise = self.kernel == [1, 1] && self.stride == [1, 1] && self.pads == [0; 4];
        let mut col = if pointwise { Vec::new() } else { vec![0f32; k * oh * ow] };
        for b in 0..n {
            for gi in 0..g {
                let plane = &xs[(b * c + gi * cg) * h * w..(b * c + (gi + 1) * cg) * h * w];
                let cols: &[f32] = if pointwise {
                    plane
                } else {
                    self.im2col(plane, cg, h, w, oh, ow, &mut col);
                    &col
                };
                let a = ArrayView2::from_shape((mg, k), &weight[gi * mg * k..(gi + 1) * mg * k]).unwrap();
                let bm = ArrayView2::from_shape((k, oh * ow), cols).unwrap();
                let start = (b * m + gi * mg) * oh * ow;
                let mut cm = ArrayViewMut2::from_shape((mg, oh * ow), &mut out[start..start + mg * oh * ow]).unwrap();
                general_mat_mul(1.0, &a, &bm, 0.0, &mut cm);
            }
            if self.bias {
                let bias = contiguous(&weights[1]);
                for (oc, bv) in bias.iter().enumerate() {
                    let s = (b * m + oc) * oh * ow;
                    out[s..s + oh * ow].iter_mut().for_each(|v| *v += bv);
                }
            }
        }
        Ok(tensor(&out_shape, out))
    }

    /// Unfolds one group's input planes into a (cg·kh·kw) × (oh·ow) matrix.
    #[allow(clippy::too_many_arguments)]
    fn im2col(&self, x: &[f32], cg: usize, h: usize, w: usize, oh: usize, ow: usize, col: &mut [f32]) {
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.stride;
        let [dh, dw] = self.dilation;
        let (pt, pl) = (self.pads[0] as isize, self.pads[1] as isize);
        let mut row = 0;
        for ci in 0..cg {
            let plane = &x[ci * h * w..(ci + 1) * h * w];
            for ki in 0..kh {
                for kj in 0..kw {
                    let dst = &mut col[row * oh * ow..(row + 1) * oh * ow];
                    for oy in 0..oh {
                        let iy = (oy * sh + ki * dh) as isize - pt;
                        let line = &mut dst[oy * ow..(oy + 1) * ow];
                        if iy < 0 || iy >= h as isize {
                            line.fill(0.0);
                            continue;
                        }
                        let src = &plane[iy as usize * w..(iy as usize + 1) * w];
                        for (ox, d) in line.iter_mut().enumerate() {
                            let ix = (ox * sw + kj * dw) as isize - pl;
                            *d = if ix >= 0 && ix < w as isize { src[ix as usize] } else { 0.0 };
                        }
                    }
                    row += 1;
                }
            }
        }
    }
}

impl Conv {
    /// The gradient with respect to the input: a transposed convolution of `g` with the same filters.
    pub fn backward(&self, x_shape: &[usize], g: &Tensor, weights: &[Tensor]) -> Result<Tensor> {
        let [n, c, h, w] = nchw(x_shape)?;
        let out = self.output_shape(x_shape)?;
        let (m, oh, ow) = (out[1], out[2], out[3]);
        let grp = self.group;
        let (cg, mg) = (c / grp, m / grp);
        let k = cg * self.kernel[0] * self.kernel[1];
        let weight = contiguous(&weights[0]);
        let gs = contiguous(g);
        let mut dx = vec![0f32; n * c * h * w];
        let mut col = vec![0f32; k * oh * ow];
        for b in 0..n {
            for gi in 0..grp {
                let a = ArrayView2::from_shape((mg, k), &weight[gi * mg * k..(gi + 1) * mg * k]).unwrap();
                let start = (b * m + gi * mg) * oh * ow;
                let gm = ArrayView2::from_shape((mg, oh * ow), &gs[start..start + mg * oh * ow]).unwrap();
                let mut cm = ArrayViewMut2::from_shape((k, oh * ow), &mut col[..]).unwrap();
                general_mat_mul(1.0, &a.t(), &gm, 0.0, &mut cm);
                let plane = &mut dx[(b * c + gi * cg) * h * w..(b * c + (gi + 1) * cg) * h * w];
                self.col2im(&col, cg, h, w, oh, ow, plane);
            }
        }
        Ok(tensor(x_shape, dx))
    }

    /// Adds a (cg·kh·kw) × (oh·ow) matrix back onto the input planes it was unfolded from.
    #[allow(clippy::too_many_arguments)]
    fn col2im(&self, col: &[f32], cg: usize, h: usize, w: usize, oh: usize, ow: usize, x: &mut [f32]) {
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.stride;
        let [dh, dw] = self.dilation;
        let (pt, pl) = (self.pads[0] as isize, self.pads[1] as isize);
        let mut row = 0;
        for ci in 0..cg {
            let plane = &mut x[ci * h * w..(ci + 1) * h * w];
            for ki in 0..kh {
                for kj in 0..kw {
                    let src = &col[row * oh * ow..(row + 1) * oh * ow];
                    for oy in 0..oh {
                        let iy = (oy * sh + ki * dh) as isize - pt;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        let line = &mut plane[iy as usize * w..(iy as usize + 1) * w];
                        for (ox, v) in src[oy * ow..(oy + 1) * ow].iter().enumerate() {
                            let ix = (ox * sw + kj * dw) as isize - pl;
                            if ix >= 0 && ix < w as isize {
                                line[ix as usize] += v;
                            }
                        }
                    }
                    row += 1;
                }
            }
        }
    }
}
