//! Types generated from the vendored `proto/caffe.proto`, and its descriptors for text parsing.
#![allow(clippy::all)]
include!(concat!(env!("OUT_DIR"), "/caffe.rs"));

/// The encoded FileDescriptorSet of caffe.proto.
pub const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/caffe.fds"));
