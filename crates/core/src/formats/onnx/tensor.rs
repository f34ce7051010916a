//! TensorProto → f32 tensor, for every numeric data type a CNN's weights, shapes and flags use.

use super::proto::{self, tensor_proto::DataType, TensorProto};
use crate::{bail, ops, Error, Result, Tensor};

/// The declared shape, checked for negative dimensions and overflow.
pub(super) fn dims(t: &TensorProto) -> Result<Vec<usize>> {
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::format(format!("tensor '{}' has a negative dimension in {:?}", t.name(), t.dims)))?;
    // As ndarray counts: zero-length axes aside, the product must fit an isize.
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d.max(1)))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| Error::format(format!("tensor '{}' is too large: {:?}", t.name(), t.dims)))?;
    Ok(dims)
}

/// `raw_data` bytes decoded by the tensor's data type.
pub(super) fn raw_values(t: &TensorProto, raw: &[u8]) -> Result<Vec<f32>> {
    fn le<const N: usize, T>(raw: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
        raw.chunks_exact(N).map(|b| f(b.try_into().expect("chunk size"))).collect()
    }
    Ok(match data_type(t)? {
        DataType::Float => le(raw, f32::from_le_bytes),
        DataType::Double => le(raw, f64::from_le_bytes).into_iter().map(|v| v as f32).collect(),
        DataType::Int64 => le(raw, i64::from_le_bytes).into_iter().map(|v| v as f32).collect(),
        DataType::Int32 => le(raw, i32::from_le_bytes).into_iter().map(|v| v as f32).collect(),
        DataType::Int16 => le(raw, i16::from_le_bytes).into_iter().map(|v| v as f32).collect(),
        DataType::Uint16 => le(raw, u16::from_le_bytes).into_iter().map(|v| v as f32).collect(),
        DataType::Uint32 => le(raw, u32::from_le_bytes).into_iter().map(|v| v as f32).collect(),
        DataType::Uint64 => le(raw, u64::from_le_bytes).into_iter().map(|v| v as f32).collect(),
        DataType::Int8 => raw.iter().map(|&b| b as i8 as f32).collect(),
        DataType::Uint8 | DataType::Bool => raw.iter().map(|&b| b as f32).collect(),
        _ => unreachable!("data_type checks the type"),
    })
}

fn data_type(t: &TensorProto) -> Result<DataType> {
    match DataType::try_from(t.data_type()).unwrap_or(DataType::Undefined) {
        k @ (DataType::Float
        | DataType::Double
        | DataType::Int64
        | DataType::Int32
        | DataType::Int16
        | DataType::Int8
        | DataType::Uint64
        | DataType::Uint32
        | DataType::Uint16
        | DataType::Uint8
        | DataType::Bool) => Ok(k),
        other => bail!(
            unsupported,
            "tensor '{}' has data type {:?}; float, double, integer and bool tensors are supported",
            t.name(),
            other
        ),
    }
}

/// A tensor's values as f32 (float, double, integer and bool types).
pub(super) fn tensor_values(t: &TensorProto) -> Result<Tensor> {
    let dims = dims(t)?;
    let count: usize = dims.iter().product();
    if t.data_location == Some(proto::tensor_proto::DataLocation::External as i32) {
        bail!(
            unsupported,
            "tensor '{}' keeps its data in an external file, which a single .onnx upload cannot provide",
            t.name()
        );
    }
    let values = match t.raw_data.as_deref() {
        Some(raw) if !raw.is_empty() => raw_values(t, raw)?,
        _ => match data_type(t)? {
            DataType::Float => t.float_data.clone(),
            DataType::Double => t.double_data.iter().map(|&v| v as f32).collect(),
            DataType::Int64 => t.int64_data.iter().map(|&v| v as f32).collect(),
            DataType::Uint64 | DataType::Uint32 => t.uint64_data.iter().map(|&v| v as f32).collect(),
            _ => t.int32_data.iter().map(|&v| v as f32).collect(),
        },
    };
    if values.len() != count {
        bail!(format, "tensor '{}' holds {} values but its shape {:?} needs {count}", t.name(), values.len(), dims);
    }
    Ok(ops::tensor(&dims, values))
}
