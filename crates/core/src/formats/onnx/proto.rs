//! Types generated from the vendored `proto/onnx.proto`.
#![allow(clippy::all)]
include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
