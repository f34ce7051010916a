//! The streaming readers (.onnx, .caffemodel): any chunking gives the same weights as one read, and every
//! truncation or stray byte gives an error, never a panic.

mod common;
use common::*;
use prost::Message;
use zfvis_core::formats::onnx::{self, proto, stream::Reader};
use zfvis_core::formats::{caffe, Model};

fn chunked(bytes: &[u8], size: usize) -> zfvis_core::Result<Model> {
    chunked_of(bytes, size, bytes.len())
}

/// Reads `bytes` in chunks of `size`, told the file has `total` bytes.
fn chunked_of(bytes: &[u8], size: usize, total: usize) -> zfvis_core::Result<Model> {
    let mut r = Reader::new(Some(total as u64));
    for c in bytes.chunks(size) {
        r.push(c)?;
    }
    r.finish()
}

fn weights(m: &Model) -> Vec<Vec<f32>> {
    m.graph.nodes.iter().flat_map(|n| n.weights().iter().map(|w| w.iter().copied().collect())).collect()
}

/// A small conv net whose weights sit in raw_data, float_data and a Constant node.
fn small_model() -> Vec<u8> {
    use proto::*;
    let tensor = |name: &str, dims: &[i64], raw: bool| {
        let n: i64 = dims.iter().product();
        let v: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        TensorProto {
            name: Some(name.into()),
            dims: dims.to_vec(),
            data_type: Some(tensor_proto::DataType::Float as i32),
            raw_data: raw.then(|| v.iter().flat_map(|f| f.to_le_bytes()).collect()),
            float_data: if raw { vec![] } else { v },
            ..Default::default()
        }
    };
    let node = |op: &str, ins: &[&str], out: &str| NodeProto {
        op_type: Some(op.into()),
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: vec![out.into()],
        ..Default::default()
    };
    let input = ValueInfoProto {
        name: Some("x".into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(TensorShapeProto {
                    dim: [1, 2, 6, 6]
                        .iter()
                        .map(|&d| tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    ModelProto {
        ir_version: Some(7),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(13) }],
        graph: Some(GraphProto {
            name: Some("small".into()),
            node: vec![node("Conv", &["x", "w", "b"], "c"), node("Relu", &["c"], "r"), node("Add", &["r", "k"], "y")],
            initializer: vec![
                tensor("w", &[3, 2, 3, 3], true),
                tensor("b", &[3], false),
                tensor("k", &[3, 1, 1], true),
            ],
            input: vec![input],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn any_chunking_reads_the_same_model() {
    let mut files = vec![small_model()];
    if let Some(sh) = shared() {
        files.push(read(&sh.join("fixtures/onnx/mnist-8.onnx")));
    }
    for bytes in files {
        let whole = onnx::load(&bytes).unwrap();
        assert!(!weights(&whole).is_empty());
        for size in [1, 2, 3, 7, 64, 4096] {
            let m = chunked(&bytes, size).unwrap();
            assert_eq!(weights(&m), weights(&whole), "chunks of {size}");
            assert_eq!(m.graph.nodes.len(), whole.graph.nodes.len());
        }
    }
}

#[test]
fn truncations_and_damage_are_errors() {
    // The size is known up front (a File, a Content-Length), so a cut is an error even where the
    // protobuf would still parse.
    let bytes = small_model();
    for cut in 0..bytes.len() {
        let e = chunked_of(&bytes[..cut], 5, bytes.len())
            .err()
            .unwrap_or_else(|| panic!("a file cut at byte {cut} loaded"));
        assert!(!e.message.is_empty());
    }
    let mut flipped = 0;
    for i in 0..bytes.len() {
        for bit in [0x01, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= bit;
            flipped += chunked(&b, 13).is_err() as usize;
        }
    }
    assert!(flipped > 0);
    let html = b"<!doctype html><html><body>Not found</body></html>";
    let e = onnx::load(html).unwrap_err();
    assert_eq!(e.message, "the file is a web page (HTML), not an .onnx model");
}

#[test]
fn absurd_lengths_fail_before_allocating() {
    // graph (field 7) declaring 2^60 bytes, in a file of 12 bytes.
    let mut b = vec![0x3a];
    let mut len = 1u64 << 60;
    while len >= 0x80 {
        b.push(len as u8 | 0x80);
        len >>= 7;
    }
    b.push(len as u8);
    let e = onnx::load(&b).unwrap_err();
    assert!(e.message.contains("file ends at byte 10"), "{}", e.message);
    // Without a known total, a sunk field of 2^40 bytes must not abort the process.
    let mut r = Reader::new(None);
    let mut f = vec![0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x2a, 0x80, 0x80, 0x80, 0x80, 0x20, 0x4a];
    f.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    assert!(r.push(&f).is_err() || r.finish().is_err());
}

fn caffe_chunked(bytes: &[u8], size: usize, total: usize) -> zfvis_core::Result<caffe::weights::BlobMap> {
    let mut r = caffe::weights::Reader::new(Some(total as u64));
    for c in bytes.chunks(size) {
        r.push(c)?;
    }
    Ok(r.finish()?.0)
}

#[test]
fn caffemodel_chunks_and_cuts() {
    let Some(sh) = shared() else { return };
    let dir = sh.join("fixtures/caffe/cifar10_quick");
    for file in ["cifar10_quick_iter_4000.caffemodel", "cifar10_quick_iter_5000_v1.caffemodel"] {
        let bytes = read(&dir.join(file));
        let whole = caffe::weights::read(&bytes).unwrap().0;
        for size in [1, 7, 511, 4096] {
            assert_eq!(caffe_chunked(&bytes, size, bytes.len()).unwrap(), whole, "{file} in chunks of {size}");
        }
        for cut in (0..bytes.len()).step_by(997) {
            let e = caffe_chunked(&bytes[..cut], 4096, bytes.len()).unwrap_err();
            assert!(e.message.contains("truncated") || e.message.contains("empty"), "{file} cut at {cut}: {e}");
        }
    }
}
