//! Caffe's HDF5 snapshots: one group per layer under `/data`, blobs as datasets named 0, 1, ...

use super::weights::{Blob, BlobMap};
use crate::{Error, Result};

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::format(format!("the .caffemodel.h5 file could not be read ({what}): {e}"))
}

pub fn read(bytes: &[u8]) -> Result<BlobMap> {
    let file = hdf5_pure::File::from_bytes(bytes.to_vec()).map_err(|e| err("not a readable HDF5 file", e))?;
    let data = file.group("data").map_err(|e| err("no /data group, so not a Caffe snapshot", e))?;
    let mut map = BlobMap::new();
    for layer in data.groups().map_err(|e| err("listing /data", e))? {
        let group = data.group(&layer).map_err(|e| err(&layer, e))?;
        let mut names = group.datasets().map_err(|e| err(&layer, e))?;
        if names.is_empty() {
            continue;
        }
        // Blobs are named by their index; order them numerically.
        names.sort_by_key(|n| n.parse::<usize>().unwrap_or(usize::MAX));
        let mut blobs = Vec::with_capacity(names.len());
        for name in names {
            let path = format!("data/{layer}/{name}");
            let ds = file.dataset(&path).map_err(|e| err(&path, e))?;
            let dims = ds.shape().map_err(|e| err(&path, e))?;
            // Refuse a shape the file cannot hold before reading allocates it (an unwritten chunked
            // dataset is filled in): its values' bytes (and their f32 copies) are at most the file's
            // size, or 1032 times that when deflated.
            let room = bytes.len() as u64 * if ds.filters().is_empty() { 1 } else { 1032 };
            let size = ds.element_size().map_err(|e| err(&path, e))?.max(4);
            let fits = |dims: &[u64]| dims.iter().try_fold(size, |a, &d| a.checked_mul(d)).is_some_and(|n| n <= room);
            let refuse = |what: &str, dims: &[u64]| {
                let holds = bytes.len();
                Err(err(&path, format!("its {what} {dims:?} of {size}-byte values needs more than the {holds}-byte file holds")))
            };
            if !fits(&dims) {
                return refuse("shape", &dims);
            }
            // A chunk is stored whole, so the same bound holds for it (reading walks all its rows).
            if let Some(chunk) = ds.chunk_shape().map_err(|e| err(&path, e))?.filter(|c| !fits(c)) {
                return refuse("chunk shape", &chunk);
            }
            let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
            let values = ds.read_f32().map_err(|e| err(&path, e))?;
            if values.len() != shape.iter().product::<usize>() {
                return Err(err(&path, format!("{} values for shape {:?}", values.len(), shape)));
            }
            blobs.push(Blob { shape, legacy: false, data: values });
        }
        map.insert(layer, blobs);
    }
    if map.is_empty() {
        return Err(Error::format("the .caffemodel.h5 file holds no learned blobs under /data"));
    }
    Ok(map)
}
