//! Filter and feature-map grids in the manner of Caffe's `vis_square`: normalise to [0, 1], lay the tiles
//! out in an ⌈√N⌉ square with padding after each tile, then zoom by pixel repetition.

use super::{to_byte, ChannelOrder, Rgba};
use crate::ops::fmt_shape;
use crate::{bail, Result, Tensor};
use ndarray::{s, Array3, Array4, Axis, Ix4};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// One min/max over all shown tiles (vis_square).
    Global,
    /// Each tile stretched to its own min/max.
    Tile,
    /// Zero at mid grey, for signed values such as the change between two weight snapshots:
    /// x ← ½ + x / (2·max|x|) over all shown tiles (all zero: all mid grey).
    Symmetric,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileMode {
    /// RGB when the kernels have 3 input channels, grey otherwise.
    Auto,
    /// One colour tile per filter (first-layer filters).
    Rgb,
    /// One grey tile per (output, input) kernel.
    Grey,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TileOptions {
    pub norm: Norm,
    /// Pixels after each tile, before zoom.
    pub pad: usize,
    /// Padding value in normalised units (1 = white).
    pub pad_value: f32,
    pub zoom: usize,
    /// First tile shown.
    pub start: usize,
    /// How many tiles; None = all from `start`.
    pub count: Option<usize>,
    pub mode: TileMode,
    /// Order of the weights' input channels, for colour tiles.
    pub channel_order: ChannelOrder,
}

impl Default for TileOptions {
    fn default() -> Self {
        TileOptions {
            norm: Norm::Global,
            pad: 1,
            pad_value: 1.0,
            zoom: 1,
            start: 0,
            count: None,
            mode: TileMode::Auto,
            channel_order: ChannelOrder::Bgr,
        }
    }
}

/// A rendered grid and its layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub image: Rgba,
    pub tiles: usize,
    /// Tiles per row and column.
    pub side: usize,
}

/// Tiles convolution weights (out × in × kh × kw).
pub fn tile_filters(weights: &Tensor, opts: &TileOptions) -> Result<Grid> {
    let w = match weights.view().into_dimensionality::<Ix4>() {
        Ok(w) => w,
        Err(_) => bail!(input, "filters must be 4-D (out×in×h×w), got {}", fmt_shape(weights.shape())),
    };
    let (m, c, kh, kw) = w.dim();
    let rgb = match opts.mode {
        TileMode::Auto => c == 3,
        TileMode::Rgb if c != 3 => bail!(input, "colour tiles need 3 input channels, these filters have {c}"),
        TileMode::Rgb => true,
        TileMode::Grey => false,
    };
    let total = if rgb { m } else { m * c };
    let (start, end) = range(total, opts)?;
    let tiles: Array4<f32> = if rgb {
        let mut t = w.slice(s![start..end, .., .., ..]).permuted_axes([0, 2, 3, 1]).to_owned();
        if opts.channel_order == ChannelOrder::Bgr {
            t.invert_axis(Axis(3));
        }
        t
    } else {
        let flat = w.as_standard_layout().into_owned().into_shape_with_order((m * c, kh, kw)).unwrap();
        flat.slice(s![start..end, .., ..]).to_owned().insert_axis(Axis(3))
    };
    Ok(vis_square(tiles, opts))
}

/// Tiles feature maps (channels × h × w) as grey tiles.
pub fn tile_maps(maps: &Tensor, opts: &TileOptions) -> Result<Grid> {
    let m = match maps.view().into_dimensionality::<ndarray::Ix3>() {
        Ok(m) => m,
        Err(_) => bail!(input, "feature maps must be 3-D (channels×h×w), got {}", fmt_shape(maps.shape())),
    };
    let (start, end) = range(m.dim().0, opts)?;
    let t: Array3<f32> = m.slice(s![start..end, .., ..]).to_owned();
    Ok(vis_square(t.insert_axis(Axis(3)), opts))
}

fn range(total: usize, opts: &TileOptions) -> Result<(usize, usize)> {
    let end = opts.count.map_or(total, |c| opts.start.saturating_add(c).min(total));
    if opts.start >= total || end <= opts.start {
        bail!(input, "tile range starting at {} is empty: there are {total} tiles", opts.start);
    }
    if opts.zoom == 0 {
        bail!(input, "zoom must be at least 1");
    }
    Ok((opts.start, end))
}

/// Lays out N × h × w × channels (1 or 3) tiles.
pub fn vis_square(mut tiles: Array4<f32>, opts: &TileOptions) -> Grid {
    let (n, h, w, ch) = tiles.dim();
    match opts.norm {
        Norm::Global => normalise(tiles.view_mut()),
        Norm::Tile => tiles.outer_iter_mut().for_each(|t| normalise(t.into_dyn())),
        Norm::Symmetric => {
            let max = tiles.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { 0.5 / max } else { 0.0 };
            tiles.mapv_inplace(|v| 0.5 + v * scale);
        }
    }
    let side = (n as f64).sqrt().ceil() as usize;
    let (th, tw) = (h + opts.pad, w + opts.pad);
    let (gh, gw) = (side * th, side * tw);
    let z = opts.zoom;
    let pad = to_byte(opts.pad_value);
    let mut data = vec![255u8; gh * z * gw * z * 4];
    for gy in 0..gh {
        for gx in 0..gw {
            let (i, y, x) = ((gy / th) * side + gx / tw, gy % th, gx % tw);
            let px = if i < n && y < h && x < w {
                let t = tiles.slice(s![i, y, x, ..]);
                if ch == 3 {
                    [to_byte(t[0]), to_byte(t[1]), to_byte(t[2])]
                } else {
                    [to_byte(t[0]); 3]
                }
            } else {
                [pad; 3]
            };
            for zy in 0..z {
                let row = (gy * z + zy) * gw * z;
                for zx in 0..z {
                    let o = (row + gx * z + zx) * 4;
                    data[o..o + 3].copy_from_slice(&px);
                }
            }
        }
    }
    Grid { image: Rgba { width: gw * z, height: gh * z, data }, tiles: n, side }
}

/// x ← (x − min) / max(x − min); a constant input becomes 0.
fn normalise<D: ndarray::Dimension>(mut a: ndarray::ArrayViewMut<f32, D>) {
    let min = a.iter().copied().fold(f32::INFINITY, f32::min);
    a.mapv_inplace(|v| v - min);
    let max = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max > 0.0 {
        a.mapv_inplace(|v| v / max);
    } else {
        a.fill(0.0);
    }
}

/// `after − before`, element by element: the change between two snapshots of the same weights (tile it
/// with [`Norm::Symmetric`]).
pub fn difference(before: &Tensor, after: &Tensor) -> Result<Tensor> {
    if before.shape() != after.shape() {
        bail!(
            input,
            "cannot subtract weights of shape {} from {}",
            fmt_shape(before.shape()),
            fmt_shape(after.shape())
        );
    }
    Ok(after - before)
}

/// The relative change ‖after − before‖ / ‖before‖ of a layer's parameters (all its blobs together,
/// Frobenius norms summed in f64), with ‖before‖ and ‖after − before‖: `(change, norm, distance)`. The
/// change is None when ‖before‖ is 0.
pub fn relative_change(before: &[Tensor], after: &[Tensor]) -> Result<(Option<f64>, f64, f64)> {
    if before.len() != after.len() {
        bail!(input, "{} parameter blobs against {}", before.len(), after.len());
    }
    let (mut norm, mut dist) = (0.0f64, 0.0f64);
    for (a, b) in before.iter().zip(after) {
        if a.shape() != b.shape() {
            bail!(input, "parameter blob of shape {} against {}", fmt_shape(a.shape()), fmt_shape(b.shape()));
        }
        for (&x, &y) in a.iter().zip(b.iter()) {
            norm += f64::from(x) * f64::from(x);
            dist += (f64::from(y) - f64::from(x)).powi(2);
        }
    }
    let (norm, dist) = (norm.sqrt(), dist.sqrt());
    Ok(((norm > 0.0).then(|| dist / norm), norm, dist))
}
