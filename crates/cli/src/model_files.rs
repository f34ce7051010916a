//! Reads the files named on the command line and tells the prototxt from the weights.

use ndarray::ArrayD;
use std::path::{Path, PathBuf};
use zfvis_core::formats::{caffe, onnx, Model};
use zfvis_core::{Error, Result, Tensor};

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| Error::input(format!("{}: {e}", p.display())))
}

/// A prototxt is text; the weights are binary or HDF5.
fn is_text(bytes: &[u8]) -> bool {
    !caffe::weights::is_hdf5(bytes)
        && std::str::from_utf8(&bytes[..bytes.len().min(4096)]).is_ok_and(|s| !s.contains('\0'))
}

pub fn load_model(files: &[PathBuf]) -> Result<Model> {
    if let [one] = files {
        return onnx::load(&read(one)?).map_err(|e| e.context(one.display()));
    }
    let [a, b] = files else {
        return Err(Error::input(format!(
            "MODEL is a .onnx file, or net.prototxt and its weights; {} files given",
            files.len()
        )));
    };
    let (a_bytes, b_bytes) = (read(a)?, read(b)?);
    let (proto, weights, pn, wn) =
        if is_text(&a_bytes) || !is_text(&b_bytes) { (a_bytes, b_bytes, a, b) } else { (b_bytes, a_bytes, b, a) };
    caffe::load(&proto, &weights).map_err(|e| e.context(format!("{} + {}", pn.display(), wn.display())))
}

/// A mean image from a mean.binaryproto or a C×H×W float32 .npy.
pub fn load_mean(p: &Path) -> Result<Tensor> {
    if p.extension().is_some_and(|e| e == "npy") {
        let m: ArrayD<f32> = ndarray_npy::read_npy(p).map_err(|e| Error::input(format!("{}: {e}", p.display())))?;
        return Ok(m);
    }
    caffe::read_mean(&read(p)?).map_err(|e| e.context(p.display()))
}
