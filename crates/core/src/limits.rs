//! Sizes past which a model or an input is refused before anything is allocated.

use crate::ops::fmt_shape;
use crate::{bail, Result};

/// Elements of one tensor: 2^30, 4 GiB as f32 (a wasm page has 4 GiB in all).
pub const MAX_ELEMENTS: usize = 1 << 30;

/// Bytes of all the values of one forward pass, which are kept for the views. The page's wasm memory
/// ends at 4 GiB; natively only the per-tensor limit applies.
pub const MAX_ACTIVATION_BYTES: u64 = if usize::BITS == 32 { 2 << 30 } else { u64::MAX };

/// Pixels of one image: 2^27 (a 134-megapixel photo; 512 MiB as RGBA).
pub const MAX_IMAGE_PIXELS: u64 = 1 << 27;

/// Refuses an image too large to decode, from the size its header declares.
pub fn check_image(width: u64, height: u64) -> Result<()> {
    if width.saturating_mul(height) > MAX_IMAGE_PIXELS {
        bail!(input, "the image is {width}×{height} pixels, past the limit of 2^27 (134 megapixels)");
    }
    Ok(())
}

/// Elements of a shape, or `None` when the product overflows.
pub fn elements(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// The shape's element count, refused past [`MAX_ELEMENTS`]; `what` names the tensor.
/// Zero-length axes count as 1 here too: an empty tensor's other axes must still fit (ndarray's rule).
pub fn check_shape(shape: &[usize], what: impl std::fmt::Display) -> Result<usize> {
    let span: Vec<usize> = shape.iter().map(|&d| d.max(1)).collect();
    match elements(&span) {
        Some(n) if n <= MAX_ELEMENTS => Ok(elements(shape).unwrap_or(0)),
        _ => {
            let count = format!("{:.3e} elements", span.iter().map(|&d| d as f64).product::<f64>());
            bail!(
                model,
                "{what} has shape {} ({count}), past the limit of 2^30 elements (4 GiB as f32)",
                fmt_shape(shape)
            )
        }
    }
}

/// Refuses a forward pass whose values would not fit in memory together.
pub fn check_activations(shapes: &[Vec<usize>]) -> Result<()> {
    let bytes: u64 = shapes.iter().map(|s| elements(s).unwrap_or(usize::MAX) as u64 * 4).fold(0, u64::saturating_add);
    if bytes > MAX_ACTIVATION_BYTES {
        bail!(
            input,
            "a forward pass at this input size keeps {:.1} GiB of activations, more than the {} GiB this build can hold",
            bytes as f64 / (1u64 << 30) as f64,
            MAX_ACTIVATION_BYTES >> 30
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_shapes_are_refused_with_their_size() {
        assert_eq!(check_shape(&[1, 3, 224, 224], "x").unwrap(), 150_528);
        let e = check_shape(&[1, 3, 100_000, 100_000], "input 'data'").unwrap_err().message;
        assert!(e.starts_with("input 'data' has shape 1×3×100000×100000 (3.000e10 elements), past"), "{e}");
        let e = check_shape(&[usize::MAX, 4], "blob").unwrap_err().message;
        assert!(e.starts_with("blob has shape") && e.contains("past the limit"), "{e}");
        assert!(check_shape(&[1 << 30], "x").is_ok() && check_shape(&[(1 << 30) + 1], "x").is_err());
        assert!(check_shape(&[0, usize::MAX, 2], "x").is_err());
        assert_eq!(check_shape(&[0, 3], "x").unwrap(), 0);
        assert!(check_image(12_000, 8_000).is_ok());
        assert!(check_image(100_000, 100_000).unwrap_err().message.starts_with("the image is 100000×100000 pixels"));
    }
}
