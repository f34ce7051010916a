//! The ONNX cases of tests/data/onnx_node and tests/data/onnx_opsets (tests/reference/onnx_node_tests.py):
//! reading their .npy files of any dtype and loading their models the way the engine needs them.
#![allow(dead_code)]

use prost::Message;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use zfvis_core::formats::onnx::{self, proto};
use zfvis_core::formats::Model;
use zfvis_core::{ndarray, Tensor};

pub fn data_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

pub fn manifest(folder: &str) -> serde_json::Value {
    serde_json::from_slice(&read(&data_dir(folder).join("manifest.json"))).unwrap()
}

pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// An .npy file of any numeric or bool dtype, as a shape and f64 values.
pub fn npy_values(path: &Path) -> (Vec<usize>, Vec<f64>) {
    let bytes = read(path);
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{}", path.display());
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
    };
    let header = std::str::from_utf8(&bytes[start..start + len]).unwrap();
    let field = |key: &str| header.split(key).nth(1).unwrap().to_string();
    let descr = field("'descr':").split('\'').nth(1).unwrap().to_string();
    assert!(field("'fortran_order':").trim_start().starts_with("False"), "{}", path.display());
    let shape_text = field("'shape':");
    let shape: Vec<usize> = shape_text[shape_text.find('(').unwrap() + 1..shape_text.find(')').unwrap()]
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let body = &bytes[start + len..];
    fn le<const N: usize>(body: &[u8], f: fn([u8; N]) -> f64) -> Vec<f64> {
        body.chunks_exact(N).map(|b| f(b.try_into().unwrap())).collect()
    }
    let values: Vec<f64> = match descr.trim_start_matches(['<', '|', '=']) {
        "f4" => le(body, |b| f32::from_le_bytes(b) as f64),
        "f8" => le(body, f64::from_le_bytes),
        "b1" | "u1" => body.iter().map(|&b| b as f64).collect(),
        "i1" => body.iter().map(|&b| b as i8 as f64).collect(),
        "i2" => le(body, |b| i16::from_le_bytes(b) as f64),
        "u2" => le(body, |b| u16::from_le_bytes(b) as f64),
        "i4" => le(body, |b| i32::from_le_bytes(b) as f64),
        "u4" => le(body, |b| u32::from_le_bytes(b) as f64),
        "i8" => le(body, |b| i64::from_le_bytes(b) as f64),
        "u8" => le(body, |b| u64::from_le_bytes(b) as f64),
        other => panic!("{}: dtype {other}", path.display()),
    };
    assert_eq!(values.len(), shape.iter().product::<usize>(), "{}", path.display());
    (shape, values)
}

pub fn as_tensor((shape, values): &(Vec<usize>, Vec<f64>)) -> Tensor {
    Tensor::from_shape_vec(ndarray::IxDyn(shape), values.iter().map(|&v| v as f32).collect()).unwrap()
}

/// A graph input's name and its stored values.
type Named = (String, (Vec<usize>, Vec<f64>));

/// The inputs after the first as float initializers, still listed as graph inputs.
fn bind_constants(model: &mut proto::ModelProto, inputs: &[Named]) {
    let graph = model.graph.as_mut().unwrap();
    for (name, (shape, values)) in &inputs[1..] {
        graph.initializer.push(proto::TensorProto {
            name: Some(name.clone()),
            dims: shape.iter().map(|&d| d as i64).collect(),
            data_type: Some(proto::tensor_proto::DataType::Float as i32),
            float_data: values.iter().map(|&v| v as f32).collect(),
            ..Default::default()
        });
    }
}

/// A loaded case: the model, its feeds in the graph's input order, and the names of its outputs.
pub struct Case {
    pub model: Model,
    pub feeds: Vec<Tensor>,
    pub outputs: Vec<String>,
}

/// Loads a case with every graph input fed at run time, or, when the reader needs some of them constant,
/// with the inputs after the first bound as initializers.
pub fn load_case(dir: &Path) -> Result<Case, String> {
    let model = proto::ModelProto::decode(read(&dir.join("model.onnx")).as_slice()).unwrap();
    let graph = model.graph.as_ref().unwrap();
    let initialized: Vec<&str> = graph.initializer.iter().map(|t| t.name()).collect();
    let inputs: Vec<Named> = graph
        .input
        .iter()
        .filter(|i| !initialized.contains(&i.name()))
        .enumerate()
        .map(|(k, i)| (i.name().to_string(), npy_values(&dir.join(format!("input_{k}.npy")))))
        .collect();
    let outputs = graph.output.iter().map(|o| o.name().to_string()).collect();
    let loaded = match onnx::from_proto(model.clone(), HashMap::new()) {
        Err(first) if inputs.len() > 1 => {
            let mut bound = model;
            bind_constants(&mut bound, &inputs);
            onnx::from_proto(bound, HashMap::new()).map_err(|e| format!("{e} (all fed: {first})"))
        }
        other => other.map_err(|e| e.to_string()),
    };
    let model = loaded.map_err(|e| format!("load: {e}"))?;
    let feeds = model
        .graph
        .inputs
        .iter()
        .map(|(id, _)| {
            let name = &model.graph.values[*id].name;
            as_tensor(&inputs.iter().find(|(n, _)| n == name).expect("a fed input").1)
        })
        .collect();
    Ok(Case { model, feeds, outputs })
}
