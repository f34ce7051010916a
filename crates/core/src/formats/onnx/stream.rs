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
        bail!(format, "holds {} values but its shape {:?} needs {count}", values.len(), dims);
    }
    Ok(ops::tensor(&dims, values))
}

/// Reads an .onnx model from chunks of bytes.
pub struct Reader(Splitter<Initializers>);

impl Reader {
    /// `total` is the file size when known; it bounds every length before anything is allocated.
    pub fn new(total: Option<u64>) -> Self {
        Reader(Splitter::new(LEVELS, Initializers::default(), total))
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        self.0.push(chunk).map_err(unreadable)
    }

    pub fn finish(self) -> Result<Model> {
        if self.0.position() == 0 {
            bail!(format, "the .onnx file is empty");
        }
        let (skeleton, tensors) = self.0.finish().map_err(unreadable)?;
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
