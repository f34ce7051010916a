//! Reads the files named on the command line and tells the prototxt from the weights.

use ndarray::ArrayD;
use std::io::Read;
use std::path::{Path, PathBuf};
use zfvis_core::formats::{caffe, onnx, Model};
use zfvis_core::{Error, Result, Tensor};

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| Error::input(format!("{}: {e}", p.display())))
}

/// The first 4 KiB of a file: enough to tell a prototxt from weights.
fn head(p: &Path) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::input(format!("{}: {e}", p.display()));
    let mut bytes = Vec::new();
    std::fs::File::open(p).map_err(io)?.take(4096).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// Feeds a file to a streaming reader in 1 MiB chunks, as the page does: the file is never held whole.
fn stream(p: &Path, mut push: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
    let io = |e: std::io::Error| Error::input(format!("{}: {e}", p.display()));
    let mut file = std::fs::File::open(p).map_err(io)?;
    let mut chunk = vec![0; 1 << 20];
    loop {
        match file.read(&mut chunk).map_err(io)? {
            0 => return Ok(()),
            n => push(&chunk[..n])?,
        }
    }
}

fn size(p: &Path) -> Result<u64> {
    std::fs::metadata(p).map(|m| m.len()).map_err(|e| Error::input(format!("{}: {e}", p.display())))
}

/// A prototxt is text; the weights are binary or HDF5.
fn is_text(bytes: &[u8]) -> bool {
    !caffe::weights::is_hdf5(bytes)
        && std::str::from_utf8(&bytes[..bytes.len().min(4096)]).is_ok_and(|s| !s.contains('\0'))
}

/// One .onnx file, or a prototxt and its weights in either order.
pub fn load_model(files: &[PathBuf]) -> Result<Model> {
    if let [one] = files {
        let mut reader = onnx::stream::Reader::new(Some(size(one)?));
        stream(one, |c| reader.push(c)).and_then(|()| reader.finish()).map_err(|e| e.context(one.display()))
    } else if let [a, b] = files {
        let (proto, weights) = if is_text(&head(a)?) || !is_text(&head(b)?) { (a, b) } else { (b, a) };
        let net = read(proto)?;
        let mut reader = caffe::weights::Reader::new(Some(size(weights)?));
        stream(weights, |c| reader.push(c))
            .and_then(|()| caffe::load_read(&net, reader))
            .map_err(|e| e.context(format!("{} + {}", proto.display(), weights.display())))
    } else {
        Err(Error::input(format!("MODEL is a .onnx file, or net.prototxt and its weights; {} files given", files.len())))
    }
}

/// A mean image from a mean.binaryproto or a C×H×W float32 .npy.
pub fn load_mean(p: &Path) -> Result<Tensor> {
    if p.extension().is_some_and(|e| e == "npy") {
        let m: ArrayD<f32> = ndarray_npy::read_npy(p).map_err(|e| Error::input(format!("{}: {e}", p.display())))?;
        return Ok(m);
    }
    caffe::read_mean(&read(p)?).map_err(|e| e.context(p.display()))
}
