//! Learned blobs from a binary .caffemodel (V1 or V2) or a .caffemodel.h5 snapshot.

use super::proto::{BlobProto, LayerParameter, V1LayerParameter};
use crate::formats::stream::{Handler, Level, Payload, Splitter};
use crate::{bail, Error, Result};
use prost::Message;
use std::collections::HashMap;

/// One stored blob.
#[derive(Debug, Clone, PartialEq)]
pub struct Blob {
    pub shape: Vec<usize>,
    /// The shape came from the legacy num/channels/height/width fields.
    pub legacy: bool,
    pub data: Vec<f32>,
}

/// Blobs by layer name, in the order the layer stores them.
pub type BlobMap = HashMap<String, Vec<Blob>>;

const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    /// Binary protobuf NetParameter; `v1` when its layers use the legacy `layers` field.
    Binary {
        v1: bool,
    },
    Hdf5,
}

impl WeightsFormat {
    pub fn describe(&self) -> &'static str {
        match self {
            WeightsFormat::Binary { v1: true } => "binary V1 .caffemodel",
            WeightsFormat::Binary { v1: false } => "binary V2 .caffemodel",
            WeightsFormat::Hdf5 => ".caffemodel.h5",
        }
    }
}

pub fn is_hdf5(bytes: &[u8]) -> bool {
    bytes.starts_with(HDF5_MAGIC)
}

/// Reads the blobs of a .caffemodel or .caffemodel.h5 held in memory, telling them apart by content.
pub fn read(bytes: &[u8]) -> Result<(BlobMap, WeightsFormat)> {
    let mut r = Reader::new(Some(bytes.len() as u64));
    r.push(bytes)?;
    r.finish()
}

// NetParameter.layer = 100 / .layers = 2 (V1) → blobs = 7 / 6 → BlobProto.data = 5, double_data = 8;
// the gradients (diff = 6, double_diff = 9) are dropped unread.
const LEVELS: &[Level] = &[
    Level { descend: &[(100, 1), (2, 2)], sink: &[], skip: &[] },
    Level { descend: &[(7, 3)], sink: &[], skip: &[] },
    Level { descend: &[(6, 3)], sink: &[], skip: &[] },
    Level { descend: &[], sink: &[5, 8], skip: &[6, 9] },
];

/// Collects blobs as their messages complete and files them under their layer's name.
#[derive(Default)]
struct Layers {
    map: BlobMap,
    blobs: Vec<Blob>,
    v1: bool,
    v2: bool,
}

impl Handler for Layers {
    fn message(&mut self, level: usize, skeleton: Vec<u8>, payloads: Vec<Payload>) -> Result<Vec<u8>> {
        let damaged = |e: prost::DecodeError| Error::format(format!("a record is damaged: {e}"));
        let name = match level {
            1 => LayerParameter::decode(skeleton.as_slice()).map_err(damaged)?.name().to_string(),
            2 => V1LayerParameter::decode(skeleton.as_slice()).map_err(damaged)?.name().to_string(),
            _ => {
                let b = BlobProto::decode(skeleton.as_slice()).map_err(damaged)?;
                let data = payloads.into_iter().last().map(|p| match p.field {
                    5 => p.into_f32(),
                    _ => Ok(p
                        .bytes()
                        .chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
                        .collect()),
                });
                let blob = match data.transpose()? {
                    Some(d) => blob_with(&b, d),
                    None => blob(&b),
                };
                self.blobs.push(blob.map_err(|e| e.context(format!("blob {}", self.blobs.len())))?);
                return Ok(Vec::new());
            }
        };
        (self.v1, self.v2) = (self.v1 || level == 2, self.v2 || level == 1);
        if !self.blobs.is_empty() {
            self.map.insert(name, std::mem::take(&mut self.blobs));
        }
        Ok(Vec::new())
    }
}

enum Reading {
    /// Waiting for enough bytes to tell the kind of file.
    Head(Vec<u8>),
    Binary(Splitter<Layers>),
    /// HDF5 needs random access: gathered whole.
    Hdf5(Vec<u8>),
}

/// Reads weights chunk by chunk: a binary .caffemodel's blobs go straight into f32 buffers.
pub struct Reader {
    reading: Reading,
    total: Option<u64>,
}

const HEAD: usize = 512;

impl Reader {
    /// `total`, the file size when known, bounds every length before anything is allocated.
    pub fn new(total: Option<u64>) -> Self {
        Reader { reading: Reading::Head(Vec::new()), total }
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        match &mut self.reading {
            Reading::Head(head) => {
                head.extend_from_slice(chunk);
                if head.len() >= HEAD {
                    self.decide()?;
                }
            }
            Reading::Binary(s) => s.push(chunk).map_err(unreadable)?,
            Reading::Hdf5(all) => all.extend_from_slice(chunk),
        }
        Ok(())
    }

    fn decide(&mut self) -> Result<()> {
        let Reading::Head(head) = &mut self.reading else { return Ok(()) };
        let head = std::mem::take(head);
        if is_hdf5(&head) {
            let mut all = Vec::with_capacity(self.total.map_or(0, |t| t.min(1 << 32) as usize));
            all.extend_from_slice(&head);
            self.reading = Reading::Hdf5(all);
            return Ok(());
        }
        if !head.is_empty() && looks_like_text(&head) {
            bail!(format, "the weights file is text, not a binary .caffemodel (was a .prototxt given as weights?)");
        }
        let mut s = Splitter::new(LEVELS, Layers::default(), self.total);
        s.push(&head).map_err(unreadable)?;
        self.reading = Reading::Binary(s);
        Ok(())
    }

    pub fn finish(mut self) -> Result<(BlobMap, WeightsFormat)> {
        if matches!(&self.reading, Reading::Head(h) if h.is_empty()) {
            bail!(format, "the weights file is empty");
        }
        self.decide()?;
        match self.reading {
            Reading::Hdf5(all) => Ok((super::h5::read(&all)?, WeightsFormat::Hdf5)),
            Reading::Binary(s) => {
                let (_, layers) = s.finish().map_err(unreadable)?;
                if layers.map.is_empty() {
                    bail!(format, "the weights file holds no learned blobs: it is not a trained .caffemodel");
                }
                Ok((layers.map, WeightsFormat::Binary { v1: layers.v1 && !layers.v2 }))
            }
            Reading::Head(_) => unreachable!("decided above"),
        }
    }
}

fn unreadable(e: Error) -> Error {
    if e.kind != crate::error::ErrorKind::Format {
        e
    } else if e.message.contains("truncated") || e.message.contains("expected") {
        Error::format(format!("the weights file is truncated: {}", e.message))
    } else {
        e.context("the weights file is not a binary .caffemodel (or it is damaged)")
    }
}

/// Converts a BlobProto, taking the shape from `shape` or the legacy 4-D fields and the values from
/// `data` or `double_data`.
pub fn blob(b: &BlobProto) -> Result<Blob> {
    let data = if !b.data.is_empty() { b.data.clone() } else { b.double_data.iter().map(|&v| v as f32).collect() };
    blob_with(b, data)
}

/// A blob whose values were read apart from its BlobProto.
fn blob_with(b: &BlobProto, data: Vec<f32>) -> Result<Blob> {
    let (shape, legacy) = if let Some(s) = b.shape.as_ref() {
        (dims(&s.dim)?, false)
    } else {
        (dims(&[b.num() as i64, b.channels() as i64, b.height() as i64, b.width() as i64])?, true)
    };
    // ndarray also needs the product of the non-zero axes to fit an isize (a 0×2^40×2^40 blob holds
    // no values, but no array can have its shape).
    if shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d.max(1))).is_none_or(|n| n > isize::MAX as usize) {
        bail!(format, "its shape {:?} is too large", shape);
    }
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if count != Some(data.len()) {
        bail!(format, "holds {} values but its shape {:?} needs {:?}", data.len(), shape, count);
    }
    Ok(Blob { shape, legacy, data })
}

fn dims(d: &[i64]) -> Result<Vec<usize>> {
    d.iter()
        .map(|&v| usize::try_from(v).map_err(|_| Error::format(format!("negative dimension {v} in blob shape {d:?}"))))
        .collect()
}

/// A mostly printable prefix means a text file.
fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let printable =
        head.iter().filter(|&&c| c == b'\n' || c == b'\t' || c == b'\r' || (0x20..0x7f).contains(&c)).count();
    printable == head.len()
}

impl Blob {
    /// Caffe's Blob::ShapeEquals: the stored shape equals `target`, or the legacy 4-D shape equals
    /// `target` padded with leading 1s.
    pub fn fits(&self, target: &[usize]) -> bool {
        if self.shape == target {
            return true;
        }
        if !self.legacy || target.len() > 4 {
            return false;
        }
        let mut padded = vec![1; 4 - target.len()];
        padded.extend_from_slice(target);
        self.shape == padded
    }
}
