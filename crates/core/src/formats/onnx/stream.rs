//! Streaming .onnx reader: initializer data goes straight into f32 tensors as the bytes arrive, so a model
//! of hundreds of MB is never held twice (once as file bytes, once as tensors).

use super::proto::{tensor_proto::DataType, ModelProto, TensorProto};
use crate::formats::stream::{Handler, Level, Payload, Splitter};
use crate::formats::Model;
use crate::{bail, ops, Error, Result, Tensor};
use prost::Message;
use std::collections::HashMap;

// ModelProto.graph = 7 → GraphProto.initializer = 5 → TensorProto.float_data = 4, raw_data = 9.
const LEVELS: &[Level] = &[
    Level { descend: &[(7, 1)], sink: &[], skip: &[] },
    Level { descend: &[(5, 2)], sink: &[], skip: &[] },
    Level { descend: &[], sink: &[4, 9], skip: &[] },
];

#[derive(Default)]
struct Initializers(HashMap<String, Tensor>);

impl Handler for Initializers {
    fn message(&mut self, level: usize, skeleton: Vec<u8>, payloads: Vec<Payload>) -> Result<Vec<u8>> {
        let Some(payload) = payloads.into_iter().last().filter(|_| level == 2) else { return Ok(skeleton) };
        let t = TensorProto::decode(skeleton.as_slice())
            .map_err(|e| Error::format(format!("an initializer is not a readable TensorProto: {e}")))?;
        let name = t.name().to_string();
        let tensor = to_tensor(&t, payload).map_err(|e| e.context(format!("initializer '{name}'")))?;
        if self.0.insert(name.clone(), tensor).is_some() {
            bail!(model, "two initializers are named '{name}'");
        }
        Ok(skeleton)
    }
}

/// The tensor a TensorProto's sunk data (raw_data, or packed float_data) stands for.
fn to_tensor(t: &TensorProto, payload: Payload) -> Result<Tensor> {
    let dims = super::dims(t)?;
    let count: usize = dims.iter().product();
    let kind = DataType::try_from(t.data_type()).unwrap_or(DataType::Undefined);
    let values = match (payload.field, kind) {
        (4, _) | (9, DataType::Float) => payload.into_f32()?,
        (9, _) => super::raw_values(t, payload.bytes())?,
        (f, _) => bail!(format, "unexpected data field {f}"),
    };
    if values.len() != count {
        bail!(format, "holds {} values but its shape {} needs {count}", values.len(), ops::fmt_shape(&dims));
    }
    Ok(ops::tensor(&dims, values))
}

/// Reads an .onnx model from chunks of bytes.
pub struct Reader {
    splitter: Splitter<Initializers>,
    /// The first bytes, to name a file that is something else entirely.
    head: Vec<u8>,
}

const HEAD: usize = 16;

impl Reader {
    /// `total` is the file size when known; it bounds every length before anything is allocated.
    pub fn new(total: Option<u64>) -> Self {
        Reader { splitter: Splitter::new(LEVELS, Initializers::default(), total), head: Vec::new() }
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        if self.head.len() < HEAD {
            let more = &chunk[..chunk.len().min(HEAD - self.head.len())];
            self.head.extend_from_slice(more);
            if self.head.len() == HEAD {
                self.check_kind()?;
            }
        }
        self.splitter.push(chunk).map_err(unreadable)
    }

    fn check_kind(&self) -> Result<()> {
        match crate::formats::sniff::other_kind(&self.head) {
            Some(kind) => bail!(format, "the file is {kind}, not an .onnx model"),
            None if crate::formats::caffe::weights::is_hdf5(&self.head) => {
                bail!(format, "the file is HDF5 (a Keras .h5 or a Caffe .caffemodel.h5?), not an .onnx model")
            }
            None => Ok(()),
        }
    }

    pub fn finish(self) -> Result<Model> {
        if self.splitter.received() == 0 {
            bail!(format, "the .onnx file is empty");
        }
        if self.head.len() < HEAD {
            self.check_kind()?;
        }
        let (skeleton, tensors) = self.splitter.finish().map_err(unreadable)?;
        let model = ModelProto::decode(skeleton.as_slice()).map_err(|e| unreadable(Error::format(e.to_string())))?;
        super::from_proto(model, tensors.0)
    }
}

fn unreadable(e: Error) -> Error {
    match e.kind {
        crate::error::ErrorKind::Format => {
            e.context("not a readable .onnx model (truncated, damaged or another kind of file)")
        }
        _ => e,
    }
}
